"""Test settings shared by every test, the notebooks' (nbval) included."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# CI and maintainers keep the surnames data in ../shared/data; the notebooks'
# kernels inherit this variable, so they read it from there too.
if SHARED_DATA.is_dir():
    os.environ.setdefault("RNNLIB_DATA", str(SHARED_DATA))


def _xdist_group(item) -> str | None:
    """Which tests must share one pytest-xdist worker (``--dist loadgroup``), by what they share.

    The cells of one notebook (nbval) share its kernel; the browser tests of
    one notebook share its JupyterLab page and kernel. Each notebook is its
    own group, so the two workers take whole notebooks side by side.
    """
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb":
        return f"nbval-{path.stem}"
    callspec = getattr(item, "callspec", None)
    notebook = callspec.params.get("notebook") if callspec else None
    if isinstance(notebook, str):
        return f"lab-{Path(notebook).stem}"
    return None


def pytest_itemcollected(item):
    """Mark each test with its group as it is collected: before xdist reads the marks (in collection_modifyitems)."""
    group = _xdist_group(item)
    if group and not item.get_closest_marker("xdist_group"):
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config):
    config.addinivalue_line("markers", "binder_image: builds the Binder environment in a fresh venv (pytest --binder-image)")


def pytest_addoption(parser):
    parser.addoption("--binder-image", action="store_true",
                     help="also run tests/binder_image: build the Binder environment in a fresh venv (minutes)")


def pytest_ignore_collect(collection_path, config):
    """tests/binder_image is a separate step of .ci/run (pytest --binder-image tests/binder_image), not in pytest."""
    if collection_path.name == "binder_image" and not config.getoption("--binder-image"):
        return True
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup``, with the cells of one notebook (nbval) kept together.

    nbval's cells keep their own node ids, without xdist's ``@group`` suffix,
    so here the scope of a cell is its notebook file.
    """
    from xdist.scheduler import LoadGroupScheduling

    class CourseScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if "@" not in nodeid and "::Cell " in nodeid:
                return nodeid.split("::Cell ")[0]
            return super()._split_scope(nodeid)

    return CourseScheduling(config, log)
