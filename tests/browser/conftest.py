"""Fixtures of the browser tests: one JupyterLab server and one Chromium for the session, a page per notebook.

Without Chromium or the playwright package the tests are skipped, except in
CI (the environment variable CI set), where that is a failure.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from labdriver import NOTEBOOKS_DIR, ROOT, JupyterLab, NotebookError, NotebookPage

ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1300, "height": 1000}
RUN_ALL_TIMEOUT_S = 300


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs the notebooks in JupyterLab in Chromium (pytest tests/browser)")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM to its path)"
    return None


@pytest.fixture(scope="session")
def chromium():
    """Playwright's Chromium (Debian's binary: Playwright cannot download its own here)."""
    reason = missing_browser()
    if reason and os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def jupyterlab(chromium, tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of notebooks/ (the committed ones stay as they are)."""
    server = JupyterLab.start(NOTEBOOKS_DIR, tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


def pytest_sessionstart(session):
    """Empty test-artifacts/browser/ of the last session's screenshots, once (not in each xdist worker)."""
    if not hasattr(session.config, "workerinput") and ARTIFACTS.is_dir():
        shutil.rmtree(ARTIFACTS)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/browser/, where the tests save screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class NotebookInLab:
    """A notebook open in JupyterLab: first as saved (trusted by the README's setup, not run), then after Run All Cells.

    ``run()`` runs it once, on the first test that needs its kernel; the
    tests of the saved outputs come first and look before that.
    """

    def __init__(self, name: str, page: NotebookPage, page_errors: list[str], failure_screenshot: Path):
        self.name, self.page = name, page
        self.source = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)  # the committed notebook
        self.page_errors = page_errors     # uncaught JavaScript errors in the page, as they happen
        self.failure_screenshot = failure_screenshot
        self.has_run = False
        self.run_error: str | None = None  # why Run All Cells did not finish, if it did not
        self.cells: list[dict] = []        # the page's cells after the run (see NotebookPage.cells)

    def run(self) -> None:
        """Run All Cells, once; raise NotebookError if it did not run to the end."""
        if not self.has_run:
            self.has_run = True
            try:
                self.page.run_all(timeout_s=RUN_ALL_TIMEOUT_S)
            except NotebookError as err:
                self.run_error = f"{err} (screenshot: {self.failure_screenshot.relative_to(ROOT)})"
                self.page.page.screenshot(path=self.failure_screenshot)
            self.cells = self.page.cells()
        if self.run_error:
            raise NotebookError(self.run_error)


@pytest.fixture(scope="session")
def lab_page(chromium):
    """One page for every notebook: JupyterLab starts in it once, and each notebook opens there in turn.

    ``errors`` collects the uncaught JavaScript errors of the page; each notebook looks at its own.
    """
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture(scope="session")
def notebook(request, lab_page, jupyterlab, artifacts):
    """The notebook named by the test's parameter, open in the page's JupyterLab (run on demand, once per session).

    Session-scoped and parametrized: pytest runs every test of one notebook
    together, then stops its kernel and closes it before the next opens.
    """
    name = request.param
    page_errors = lab_page.errors = []
    failure_screenshot = artifacts / f"{Path(name).stem}_failed.png"
    try:
        lab = NotebookPage.open(lab_page, jupyterlab, name)
    except NotebookError:
        lab_page.screenshot(path=failure_screenshot)
        raise
    yield NotebookInLab(name, lab, page_errors, failure_screenshot)
    lab.close()


TEST_ORDER = ["test_saved_widgets_work_without_running", "test_saved_prediction_players_move_without_a_kernel",
              "test_notebook_runs_to_the_end_without_errors",
              "test_player_shows_the_recurrence_step_by_step",
              "test_word_box_shows_the_probabilities_of_the_typed_word"]


def _notebook_of(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("notebook") if callspec else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Report notebook by notebook, in the course's order: its saved widgets, that it runs, its live widgets.

    pytest already keeps the tests of one notebook together (the ``notebook``
    fixture is session-scoped); this orders the groups by name, and stably,
    so each notebook is still opened once. Other tests keep their places.
    """
    slots = [i for i, item in enumerate(items) if _notebook_of(item)]

    def order(item):
        rank = TEST_ORDER.index(item.originalname) if item.originalname in TEST_ORDER else len(TEST_ORDER)
        return _notebook_of(item), rank

    ordered = sorted((items[i] for i in slots), key=order)
    for i, item in zip(slots, ordered):
        items[i] = item

