"""site/build.py loses nothing a user had and publishes no blank page: its refusals, one line each (no browser).

The successful builds here need the site's npm packages (``npm ci``, as the build itself runs).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "site"))
import build  # noqa: E402  (site/build.py)


def write_notebook(path: Path, title: str, executed: bool = True) -> None:
    cell = nbformat.v4.new_code_cell("6 * 7", execution_count=1 if executed else None)
    if executed:
        cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=1)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}"), cell])
    nbformat.write(nb, path)


@pytest.fixture
def books(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_first.ipynb", "First")
    write_notebook(folder / "02_second.ipynb", "Second")
    return folder


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: what a failed build must leave as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "site" / "build.py"), *args],
                          capture_output=True, text=True, timeout=600)


def refusal(result: subprocess.CompletedProcess) -> str:
    """The one line the build printed when it refused; fails on a traceback or a success."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("site/build.py: "), result.stderr
    return lines[0]


def test_refuses_a_folder_it_did_not_make_and_leaves_it_as_it_was(tmp_path, books):
    docs = tmp_path / "my-docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("the user's own notes")
    before = sorted(p.name for p in tmp_path.iterdir())
    line = refusal(run_build("--out", str(docs), "--notebooks", str(books)))
    assert "did not make" in line and str(docs) in line, line
    assert files(docs) == {"notes.txt": b"the user's own notes"}
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # no temporary folder left beside it


def test_refuses_an_out_that_is_a_file(tmp_path, books):
    target = tmp_path / "site.txt"
    target.write_text("a file")
    assert "is not a folder" in refusal(run_build("--out", str(target), "--notebooks", str(books)))
    assert target.read_text() == "a file"


@pytest.mark.parametrize("content", ["{not json", '{"cells": 3}', ""], ids=["not-json", "not-a-notebook", "empty"])
def test_names_a_broken_notebook_and_keeps_the_last_site(tmp_path, books, content):
    out = tmp_path / "_site"
    build.build(out, books)
    before = files(out)
    (books / "03_broken.ipynb").write_text(content)
    line = refusal(run_build("--out", str(out), "--notebooks", str(books)))
    assert "03_broken.ipynb" in line, line
    assert files(out) == before


def test_refuses_an_unexecuted_notebook_by_name(tmp_path, books):
    write_notebook(books / "02_second.ipynb", "Second", executed=False)
    out = tmp_path / "_site"
    line = refusal(run_build("--out", str(out), "--notebooks", str(books)))
    assert "02_second.ipynb is not executed" in line and "cell 2" in line, line
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks"]


def test_a_failure_while_writing_the_pages_leaves_the_old_site_and_no_temporary_folder(tmp_path, books, monkeypatch):
    out = tmp_path / "_site"
    build.build(out, books)
    before = files(out)
    real = build.exporter

    class FailsOnSecond:
        def __init__(self):
            self.exporter, self.calls = real(), 0

        def from_notebook_node(self, nb, resources):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("the template broke\nsecond line of the error")
            return self.exporter.from_notebook_node(nb, resources=resources)

    monkeypatch.setattr(build, "exporter", FailsOnSecond)
    with pytest.raises(build.BuildError) as err:
        build.build(out, books)
    assert str(err.value) == "02_second.ipynb could not be made into a page (RuntimeError: the template broke)"
    assert files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site", "notebooks"]


def test_rebuilds_an_empty_folder_and_a_site_it_made(tmp_path, books):
    out = tmp_path / "_site"
    out.mkdir()
    build.build(out, books)
    assert (out / build.MARKER).is_file() and (out / "02_second.html").is_file()
    (out / "stale.html").write_text("from an older build")
    (books / "02_second.ipynb").unlink()
    figures = build.build(out, books)
    assert figures["pages"] == 1
    assert not (out / "stale.html").exists() and not (out / "02_second.html").exists()
    assert (out / "01_first.html").is_file() and (out / build.MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site", "notebooks"]


def test_the_course_notebooks_are_all_readable_and_executed():
    paths = build.notebooks()
    assert paths, "no notebooks in notebooks/"
    assert len(build.read_notebooks(paths)) == len(paths)
