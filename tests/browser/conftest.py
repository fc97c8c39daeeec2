"""Fixtures of the browser tests: one JupyterLab server and one Chromium for the session, a page per notebook.

Without Chromium or the playwright package the tests are skipped, except in
CI (the environment variable CI set), where that is a failure.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/browser/, emptied of the last session's screenshots."""
    if ARTIFACTS.is_dir():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@dataclass
class RanNotebook:
    """A notebook after Run All Cells in JupyterLab: the page, the committed source, what the run left."""

    name: str
    page: NotebookPage
    source: dict                       # the committed notebook (nbformat JSON)
    cells: list[dict]                  # the page's cells after the run (see NotebookPage.cells)
    run_error: str | None = None       # why Run All Cells did not finish, if it did not
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors in the page

    def assert_ran(self) -> None:
        if self.run_error:
            raise NotebookError(self.run_error)


@pytest.fixture(scope="session")
def notebook(request, chromium, jupyterlab, artifacts):
    """The notebook named by the test's parameter, opened in its own page and run (once per session).

    Session-scoped and parametrized: pytest runs every test of one notebook
    together, then closes its page and stops its kernel before the next.
    """
    name = request.param
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    failure_screenshot = artifacts / f"{Path(name).stem}_run_failed.png"
    try:
        lab = NotebookPage.open(page, jupyterlab, name)
    except NotebookError:
        page.screenshot(path=failure_screenshot)
        context.close()
        raise
    run_error = None
    try:
        lab.run_all(timeout_s=RUN_ALL_TIMEOUT_S)
    except NotebookError as err:
        run_error = f"{err} (screenshot: {failure_screenshot.relative_to(ROOT)})"
        page.screenshot(path=failure_screenshot)
    ran = RanNotebook(name, lab, nbformat.read(NOTEBOOKS_DIR / name, as_version=4), lab.cells(),
                      run_error, page_errors)
    yield ran
    lab.shutdown_kernel()
    context.close()



def _notebook_of(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("notebook") if callspec else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Report notebook by notebook, in the course's order: first that it runs, then its widgets.

    pytest already keeps the tests of one notebook together (the ``notebook``
    fixture is session-scoped); this orders the groups by name, and stably,
    so each notebook is still opened once. Other tests keep their places.
    """
    slots = [i for i, item in enumerate(items) if _notebook_of(item)]
    ordered = sorted((items[i] for i in slots), key=lambda item: (_notebook_of(item), item.originalname != TEST_RUNS))
    for i, item in zip(slots, ordered):
        items[i] = item


TEST_RUNS = "test_notebook_runs_to_the_end_without_errors"
