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

from labdriver import NOTEBOOKS_DIR, ROOT, JupyterLab, NotebookError, NotebookPage, is_kernel_stopped_note

ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1300, "height": 1000}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: opens the notebooks in JupyterLab and the site in Chromium")


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
    """A committed notebook open in JupyterLab, as saved (trusted by the README's setup, not run)."""

    def __init__(self, name: str, page: NotebookPage, page_errors: list[str]):
        self.name, self.page = name, page
        self.source = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)  # the committed notebook
        self.page_errors = page_errors     # uncaught JavaScript errors in the page, as they happen


@pytest.fixture(scope="session")
def lab_page(chromium):
    """One page for every notebook: JupyterLab starts in it once, and each notebook opens there in turn.

    ``errors`` collects the uncaught JavaScript errors of the page; each notebook looks at its own.
    """
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.errors = []

    def record(error) -> None:
        if not is_kernel_stopped_note(str(error)):
            page.errors.append(str(error))
    page.on("pageerror", record)
    yield page
    context.close()


@pytest.fixture(scope="session")
def notebook(request, lab_page, jupyterlab, artifacts):
    """The notebook named by the test's parameter, open in the page's JupyterLab (never run).

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
    yield NotebookInLab(name, lab, page_errors)
    lab.close()


TEST_ORDER = ["test_saved_widgets_are_drawn_before_anything_runs", "test_saved_player_steps_through_its_frames",
              "test_live_boxes_answer_with_no_kernel"]


def _notebook_of(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("notebook") if callspec else None
    return name if isinstance(name, str) else None       # an empty parametrization holds a NOTSET


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Report notebook by notebook, in the course's order: its saved widgets, its players, its live boxes.

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

