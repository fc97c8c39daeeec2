"""Open the committed notebooks in JupyterLab the way a reader does, and read what the page shows.

    server = JupyterLab.start(notebooks_dir, workdir)      a private server on a free port
    nb = NotebookPage.open(page, server, "05_x.ipynb")     a notebook open in the page's JupyterLab, not run
    saved_players(notebook_json)                           each player's cell and its saved frame labels

Nothing is run in the page: nbval executes every notebook once and compares its outputs; these tests
check what a reader sees of the committed ones (widgets drawn from the saved state, players stepped
by jslink, live boxes answering in JavaScript). The page is driven through ``window.jupyterapp``
(the server runs with ``expose_app_in_browser``); what the tests check is read from the page's DOM.
"""
from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = ROOT / "notebooks"
# The news popup ("Would you like to get notified about official Jupyter news?")
# would cover the notebook; readers dismiss it once, the tests switch it off.
DISABLED_EXTENSIONS = {"@jupyterlab/apputils-extension:announcements": True}
# Nothing the tests do is to be saved into the served copy; and no kernel is needed to look.
# Windowing "none": every cell stays in the page. With JupyterLab's default ("full") a cell leaves the
# page when late-drawn images above it push it out of view, and a busy machine saw a player vanish mid-test.
USER_SETTINGS = {"@jupyterlab/docmanager-extension:plugin": {"autosave": False},
                 "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# nbformat's NotebookNotary: the signatures of trusted notebooks, and the key that signs them
TRUST_FILES = ["nbsignatures.db", "notebook_secret"]
SERVER_START_TIMEOUT_S = 90
# JupyterLab's own note when the tests stop a kernel that still had a request out (the debugger's
# debug_request, ipykernel's create_subshell_request): it comes from the tests' closing, not from the page
KERNEL_STOPPED_NOTE = re.compile(r"Canceled future for \w+ message before replies were done")
PAGE_READY_TIMEOUT_MS = 120_000


# ---------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readers_trust_database(data_dir: Path, readers: Path | None = None) -> None:
    """Copy the reader's own trust database (what ``jupyter trust`` wrote) into the server's ``data_dir``.

    JupyterLab draws the saved outputs of a trusted notebook as they were,
    widgets included; an untrusted one shows each widget's text repr until run.
    The tests trust nothing themselves: the README's setup command does
    (``jupyter trust notebooks/*.ipynb``), and a notebook is trusted by its
    signature, wherever its copy lies. Without that step the tests fail.
    """
    from jupyter_core.paths import jupyter_data_dir

    data_dir.mkdir(parents=True, exist_ok=True)
    readers = Path(jupyter_data_dir()) if readers is None else readers
    for name in TRUST_FILES:
        if (readers / name).is_file():
            shutil.copy2(readers / name, data_dir / name)


@dataclass
class JupyterLab:
    """A JupyterLab server serving a copy of the notebooks, with its own config, settings and token."""

    process: subprocess.Popen
    url: str
    token: str
    root_dir: Path
    log_path: Path

    @classmethod
    def start(cls, notebooks_dir: Path, workdir: Path, python: str = sys.executable,
              readers_data_dir: Path | None = None, env: dict[str, str] | None = None) -> "JupyterLab":
        """Copy ``notebooks_dir`` under ``workdir`` and serve it; wait until the server answers.

        ``python`` runs ``jupyter lab`` (another environment's, for the Binder test),
        ``readers_data_dir`` holds the reader's trust database (default: this user's
        Jupyter data folder), ``env`` replaces the environment (default: this one's).

        Everything the server reads or writes lives under ``workdir``: its
        config, settings and workspaces; the trust database is a copy of the user's.
        """
        root_dir = workdir / "notebooks"
        shutil.copytree(notebooks_dir, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        config_dir = workdir / "jupyter-config"
        (config_dir / "labconfig").mkdir(parents=True)
        (config_dir / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": DISABLED_EXTENSIONS}))
        settings_dir = workdir / "lab-settings"
        for plugin, settings in USER_SETTINGS.items():
            path = settings_dir / f"{plugin.replace(':', '/')}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        data_dir = workdir / "jupyter-data"
        readers_trust_database(data_dir, readers_data_dir)
        env = dict(os.environ if env is None else env,
                   JUPYTER_CONFIG_DIR=str(config_dir),
                   JUPYTER_DATA_DIR=str(data_dir),
                   JUPYTER_RUNTIME_DIR=str(workdir / "jupyter-runtime"),
                   IPYTHONDIR=str(workdir / "ipython"))
        token, port = secrets.token_hex(16), free_port()
        log_path = workdir / "jupyterlab.log"
        command = [python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--allow-root",
                   "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root_dir}",
                   f"--LabApp.user_settings_dir={settings_dir}",
                   f"--LabApp.workspaces_dir={workdir / 'lab-workspaces'}"]
        with open(log_path, "wb") as log:
            # its own process group: stopping the server stops its kernels too
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server = cls(process, f"http://127.0.0.1:{port}", token, root_dir, log_path)
        server._wait_until_up()
        return server

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S} s:\n{self.log()}")

    def log(self, last_chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-last_chars:]

    def notebook_url(self, name: str) -> str:
        # a workspace of its own per notebook: no tab restored from another test's page
        workspace = Path(name).stem.replace("_", "-")
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ---------------------------------------------------------------- a notebook in the page

def is_kernel_stopped_note(error: str) -> bool:
    """Whether an uncaught error of a JupyterLab page is only KERNEL_STOPPED_NOTE."""
    return KERNEL_STOPPED_NOTE.fullmatch(error) is not None


class NotebookError(AssertionError):
    """A notebook did not run to the end in JupyterLab."""


class NotebookPage:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page, name: str):
        self.page, self.name = page, name

    @classmethod
    def open(cls, page, server: JupyterLab, name: str) -> "NotebookPage":
        """Open ``name`` in ``page``: in the JupyterLab already running there (one app start for all
        notebooks, as a reader opens one notebook after another), else by loading its URL."""
        if page.evaluate("() => !!(window.jupyterapp && window.jupyterapp.started)"):
            page.evaluate("async name => { await window.jupyterapp.commands.execute('docmanager:open', {path: name}); }",
                          name)
        else:
            page.goto(server.notebook_url(name))
        try:
            page.wait_for_function(
                """name => {
                    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                    return !!(panel && panel.context && panel.context.path === name && panel.context.isReady
                              && panel.content && panel.content.widgets.length > 0);
                }""", arg=name, timeout=PAGE_READY_TIMEOUT_MS, polling=250)
        except Exception as err:  # Playwright's TimeoutError, with the server's side of the story
            raise NotebookError(f"{name}: JupyterLab did not show it within {PAGE_READY_TIMEOUT_MS / 1000:.0f} s. "
                                f"Server log:\n{server.log()}") from err
        return cls(page, name)

    def wait_for_kernel(self, timeout_s: float) -> None:
        """Wait, at most ``timeout_s``, until the kernel JupyterLab starts on opening is up."""
        self.page.evaluate("""async ms => {
                const ready = window.jupyterapp.shell.currentWidget.sessionContext.ready;
                await Promise.race([ready, new Promise(done => setTimeout(done, ms))]);
            }""", timeout_s * 1000)

    def run_all(self, timeout_s: float) -> None:
        """Clear every output, then Run All Cells; wait until it finished and the kernel is idle
        (the Binder image's test runs notebook 1 so).

        Clearing first makes "every code cell has an execution count" mean
        "every code cell ran in this page", not "was saved with a count".
        """
        self.wait_for_kernel(timeout_s)   # Run All before it makes JupyterLab ask "Select Kernel" and wait
        self.page.evaluate(
            """() => {
                const app = window.jupyterapp;
                window.__runAll = {done: false, result: null, error: null};
                app.commands.execute('notebook:clear-all-cell-outputs')
                    .then(() => app.commands.execute('notebook:run-all-cells'))
                    .then(result => { window.__runAll.result = result; },
                          error => { window.__runAll.error = String(error); })
                    .finally(() => { window.__runAll.done = true; });
            }""")
        try:
            self.page.wait_for_function("() => window.__runAll.done", timeout=timeout_s * 1000, polling=500)
        except Exception as err:  # Playwright's TimeoutError: say which cell was still running
            running = [c["index"] for c in self.cells() if c["type"] == "code" and c["count"] is None]
            raise NotebookError(f"{self.name}: Run All Cells did not finish within {timeout_s:.0f} s; "
                                f"cells not run yet: {running}") from err
        state = self.page.evaluate("() => window.__runAll")
        if state["error"]:
            raise NotebookError(f"{self.name}: Run All Cells failed in the page: {state['error']}")
        # run-all resolves once the last reply came; outputs and the idle status follow it
        self.page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=30_000, polling=250)

    def cells(self) -> list[dict[str, Any]]:
        """Every cell as the page's model holds it: index, type, source, execution count, outputs (nbformat JSON)."""
        return self.page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets.map((cell, index) => ({
                index, type: cell.model.type, source: cell.model.sharedModel.getSource(),
                count: cell.model.type === 'code' ? cell.model.executionCount : null,
                outputs: cell.model.type === 'code' ? cell.model.outputs.toJSON() : [],
            }))""")

    def cell(self, index: int):
        """The Locator of cell ``index`` (markdown cells count too), scrolled into view."""
        # into view first, as a reader would scroll to it (and as JupyterLab's default windowing would need)
        self.page.evaluate(
            """async index => {
                const notebook = window.jupyterapp.shell.currentWidget.content;
                if (notebook.scrollToItem) { await notebook.scrollToItem(index, 'start'); }
                notebook.widgets[index].node.setAttribute('data-test-cell', String(index));
            }""", index)
        locator = self.page.locator(f'[data-test-cell="{index}"]')
        locator.scroll_into_view_if_needed()
        return locator

    def close(self) -> None:
        """Stop its kernel and close the notebook, unsaved: the page is left for the next notebook."""
        # a kernel shut down mid-start makes JupyterLab's own code throw in the page
        # ("Cannot read properties of null (reading 'kernel')")
        self.wait_for_kernel(60)
        self.page.evaluate(
            """async () => {
                const panel = window.jupyterapp.shell.currentWidget;
                await panel.sessionContext.shutdown();
                panel.context.model.dirty = false;      // the tests' runs are not saved
                panel.dispose();
            }""")


# ---------------------------------------------------------------- reading the notebook's source

def notebook_names() -> list[str]:
    """The course's notebooks, in order: every ``notebooks/[0-9]*.ipynb``, so new ones are covered."""
    return [path.name for path in sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))]


@dataclass
class SavedPlayer:
    """A player (``rnnlib.show.player.Player``) in a committed notebook, read from its saved widget state."""

    cell: int                  # index among all cells, markdown included
    nth: int                   # which of that cell's players
    labels: list[str]          # the text above each frame, as saved: what the page must show, frame by frame


def saved_players(notebook: dict) -> list[SavedPlayer]:
    """Every player of ``notebook`` (nbformat JSON): a VBox of [controls, message, Stack of frames]."""
    state = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})

    def children(model_id: str) -> list[str]:
        return [c.removeprefix("IPY_MODEL_") for c in state.get(model_id, {}).get("state", {}).get("children", [])]

    found = []
    for index, cell in enumerate(notebook["cells"]):
        nth = 0
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            parts = children(view["model_id"]) if view else []
            if len(parts) == 3 and state.get(parts[2], {}).get("model_name") == "StackModel":
                labels = [html.unescape(state[children(f)[0]]["state"]["value"]) for f in children(parts[2])]
                found.append(SavedPlayer(index, nth, labels))
                nth += 1
    return found
