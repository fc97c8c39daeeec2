"""The Binder image, simulated: a fresh venv built as repo2docker builds it, then notebook 1 in JupyterLab.

A separate step of .ci/run, after the README's ``pytest`` (which does not
collect it: run ``pytest --binder-image tests/binder_image``). It takes a few
minutes, most of them in pip.

What repo2docker does (see ``jupyter-repo2docker --no-build .``), and how it is done here:
1. the base environment of runtime.txt's Python, with its notebook, jupyterlab and
   jupyter_server: the same versions, from PyPI instead of conda-forge;
2. ``pip install -r binder/requirements.txt``: the same file, except that the CPU wheel
   index of PyTorch cannot be reached from here, so its line is dropped and torch is pinned
   to the build installed in this environment (PIP_RETRIES=0: no retry of what is unreachable);
3. the repository copied in, then ``binder/postBuild`` run in it as the user;
4. ``pip check``: no conflict between our pins and the base environment;
5. JupyterLab from that venv, with that user's home (and so its trust database), opening
   the first notebook in Chromium: drawn, an idle kernel, every cell run without error;
   and the first notebook with players: drawn from their saved state before anything runs.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "tests"))

from labdriver import JupyterLab, NotebookPage, notebook_names  # noqa: E402
from test_binder import base_environment  # noqa: E402

pytestmark = pytest.mark.binder_image
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PIP_TIMEOUT_S = 1200


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> dict:
    """The simulated image: its venv's python, its repository folder, its user's environment."""
    import torch

    python_version = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == python_version, \
        f"this test needs Python {python_version} (runtime.txt), it runs on {sys.version.split()[0]}"
    top = tmp_path_factory.mktemp("binder")
    home, venv, repo = top / "home", top / "venv", top / "repo"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_PATH"}}
    env.update(HOME=str(home), PIP_RETRIES="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]

    base = base_environment(python_version)
    run(pip + [f"notebook=={base['notebook']}", f"jupyterlab=={base['jupyterlab']}",
               f"jupyter-server=={base['jupyter-server']}"], env=env, timeout=PIP_TIMEOUT_S)

    requirements = []
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        if line.startswith("--extra-index-url") and "download.pytorch.org" in line:
            continue                                      # unreachable from here
        if re.match(r"torch==", line):
            line = f"torch=={torch.__version__}"          # the build installed here
        requirements.append(line)
    substituted = top / "requirements.txt"
    substituted.write_text("\n".join(requirements) + "\n")
    run(pip + ["-r", str(substituted)], env=env, timeout=PIP_TIMEOUT_S)

    ignore = shutil.ignore_patterns(".git", ".venv", "node_modules", "_site", "test-artifacts", "__pycache__",
                                    "*.egg-info", ".ipynb_checkpoints", ".hypothesis", ".pytest_cache")
    shutil.copytree(ROOT, repo, ignore=ignore)
    run(["bash", str(repo / "binder" / "postBuild")], cwd=repo, env=env, timeout=PIP_TIMEOUT_S)
    return {"python": str(venv / "bin" / "python"), "repo": repo, "home": home, "env": env, "top": top}


def test_the_image_has_no_pip_conflict(image):
    done = subprocess.run([image["python"], "-m", "pip", "check"], capture_output=True, text=True, env=image["env"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_our_rnnlib_and_python(image):
    done = run([image["python"], "-c", "import sys, rnnlib, torch, jupyterlab; "
                "print(sys.version_info[:2], rnnlib.__file__, torch.__version__, jupyterlab.__version__)"],
               cwd=image["home"], env=image["env"])
    assert str(image["repo"]) in done.stdout, done.stdout


def test_postbuild_leaves_every_notebook_trusted(image):
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary(data_dir=str(image["home"] / ".local" / "share" / "jupyter"))
    for name in notebook_names():
        nb = nbformat.read(image["repo"] / "notebooks" / name, as_version=4)
        assert notary.check_signature(nb), f"{name} is not trusted in the image"


@pytest.fixture(scope="module")
def lab_in_image(image):
    server = JupyterLab.start(image["repo"] / "notebooks", image["top"] / "lab", python=image["python"],
                              readers_data_dir=image["home"] / ".local" / "share" / "jupyter", env=image["env"])
    yield server
    server.stop()


def test_notebook_1_opens_and_runs_in_jupyterlab(chromium, lab_in_image):
    first = notebook_names()[0]
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        lab = NotebookPage.open(page, lab_in_image, first)
        lab.run_all(timeout_s=300)
        cells = lab.cells()
        failed = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
        assert not failed, f"{first}: {failed}"
        assert all(c["count"] is not None for c in cells if c["type"] == "code"), f"{first}: not every cell ran"
        assert not errors, errors
    finally:
        context.close()


def test_saved_players_are_drawn_on_opening_in_the_image(chromium, lab_in_image):
    """Trusted by postBuild: the first notebook with widgets shows them drawn before anything runs."""
    with_widgets = [n for n in notebook_names()
                    if any(WIDGET_MIME in o.get("data", {})
                           for c in nbformat.read(ROOT / "notebooks" / n, as_version=4).cells for o in c.get("outputs", []))]
    name = with_widgets[0]
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    try:
        NotebookPage.open(page, lab_in_image, name)
        page.wait_for_function(
            """() => document.querySelectorAll('.jp-OutputArea-output .widget-play').length > 0
                     && ![...document.querySelectorAll('.jp-OutputArea-output')].some(
                            o => o.innerText.includes('Loading widget') || o.innerText.startsWith('Player('))""",
            timeout=60_000, polling=250)
    finally:
        context.close()
