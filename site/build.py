"""Build the course as a static website in _site/: python site/build.py

Every executed notebook ``notebooks/[0-9]*.ipynb`` becomes one page, made by
nbconvert's ``lab`` HTML template (site/templates/course adds the
previous / next links), plus ``index.html`` listing them in order.

nbconvert embeds each notebook's saved widget state, so the players step
through their frames by slider and Play with no kernel (``jslink`` runs in
the browser). Its pages would load require.js, the widget manager and MathJax
from public CDNs, the widget manager with an unpinned ``@*`` version; here
they come from npm instead, pinned in site/package-lock.json, installed with
``npm ci`` and copied into ``_site/assets/``. The site loads nothing from
outside itself and works offline, from any static file server.

The build never loses what a user had: it refuses (in one line, naming the reason) a ``--out``
that is a file or a folder holding anything it did not make (a site it made holds the file
``.rnn-course-site``), a notebook it cannot read and an unexecuted one (a code cell without an
execution count: its page would be blank). It writes the new site into a temporary folder beside
``--out`` and puts it in place only once every page is written.

Prints ``pages=``, ``site_bytes=`` and ``build_seconds=`` at the end.
"""
from __future__ import annotations

import argparse
import fcntl
import html
import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

SITE_SRC = Path(__file__).resolve().parent
ROOT = SITE_SRC.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
NODE_MODULES = SITE_SRC / "node_modules"
HTML_MANAGER = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist"
MATHJAX = NODE_MODULES / "mathjax"
# The parts of MathJax 2.7 that its TeX-AMS_CHTML-full configuration loads (73 MB -> about 3 MB).
MATHJAX_PARTS = ["MathJax.js", "config/TeX-AMS_CHTML-full.js", "config/Safe.js", "extensions",
                 "jax/input/TeX", "jax/output/CommonHTML", "jax/element", "fonts/HTML-CSS/TeX/woff",
                 "localization/en", "LICENSE"]
FONT_FOLDER = "@jupyter-widgets"
FONT_SUFFIXES = {".woff2", ".woff", ".ttf", ".eot", ".svg"}
MARKER = ".rnn-course-site"     # in every site this script writes: the only folders it replaces


class BuildError(Exception):
    """Why the site was not built, in one line; nothing was replaced."""


def first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The course's notebooks, in order (by their number)."""
    return sorted(folder.glob("[0-9]*.ipynb"))


def check_out(out: Path) -> None:
    """Refuse an ``out`` whose contents the build would destroy without having made them."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildError(f"--out {out} is not a folder: give a new folder, or one that site/build.py made")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BuildError(f"--out {out} holds files that site/build.py did not make (it has no {MARKER}): "
                         f"they would be deleted; give a new or empty folder")


def read_notebooks(paths: list[Path]) -> list:
    """Every notebook, read and checked: valid, and executed (each code cell has an execution count)."""
    books = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
        except Exception as err:  # invalid JSON, not a notebook, unreadable: name the file, in one line
            raise BuildError(f"{path.name} is not a notebook this build can read ({first_line(err)})") from None
        unrun = [i for i, c in enumerate(nb.cells, start=1)
                 if c.cell_type == "code" and c.source.strip() and c.get("execution_count") is None]
        if unrun:
            more = f" and {len(unrun) - 1} more" if len(unrun) > 1 else ""
            raise BuildError(f"{path.name} is not executed: its cell {unrun[0]}{more} has no execution "
                             f"count, so its page would be blank; run it first (python benchmarks/run_notebooks.py)")
        books.append(nb)
    return books


def title_of(nb) -> str:
    """The notebook's first Markdown heading, without its #s and backticks."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip().replace("`", "")
    return ""


def link_pages(page: str, stems: set[str]) -> str:
    """Links between notebooks (``05_x.ipynb``, ``../notebooks/05_x.ipynb#part``) point to their pages, the README to the index."""
    def to_page(match: re.Match) -> str:
        stem = match["stem"]
        return f'href="{stem}.html{match["anchor"] or ""}"' if stem in stems else match[0]
    page = re.sub(r'href="(?:\.\./notebooks/|\./)?(?P<stem>[^"/#]+)\.ipynb(?P<anchor>#[^"]*)?"', to_page, page)
    return page.replace('href="../README.md"', 'href="index.html"')  # the course's front page on the site


def npm_ci() -> None:
    """Install the pinned scripts and fonts (site/package-lock.json) unless that exact lock is installed."""
    installed = NODE_MODULES / ".package-lock.json"
    lock = SITE_SRC / "package-lock.json"
    # one npm ci at a time (the tests build the site in two processes at once)
    with open(SITE_SRC / ".npm-ci.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime and HTML_MANAGER.is_dir():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError("it needs npm (Node.js) to fetch the pinned widget manager: apt-get install npm")
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=SITE_SRC)
        if done.returncode:
            raise BuildError(f"npm ci failed in {SITE_SRC} (exit code {done.returncode}, its output above)")


def copy_assets(out: Path) -> None:
    assets = out / "assets"
    assets.mkdir(parents=True)
    shutil.copy2(NODE_MODULES / "requirejs" / "require.js", assets / "require.js")
    shutil.copy2(HTML_MANAGER / "embed-amd.js", assets / "embed-amd.js")
    # The widget manager's bundle carries Font Awesome's CSS (the Play button's icons); it asks for
    # the fonts relative to the page, under @jupyter-widgets/ (seen in Chromium's requests).
    (out / FONT_FOLDER).mkdir(parents=True)
    for font in HTML_MANAGER.iterdir():
        if font.suffix in FONT_SUFFIXES:
            shutil.copy2(font, out / FONT_FOLDER / font.name)
    for part in MATHJAX_PARTS:
        src, dst = MATHJAX / part, assets / "mathjax" / part
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    for package in ["@jupyter-widgets/html-manager", "requirejs", "mathjax"]:
        licence = next((p for p in (NODE_MODULES / package).glob("LICENSE*")), None)
        if licence:
            shutil.copy2(licence, assets / f"LICENSE.{package.replace('/', '_').lstrip('@')}")


def exporter() -> HTMLExporter:
    return HTMLExporter(
        template_name="course", extra_template_basedirs=[str(SITE_SRC / "templates")],
        require_js_url="assets/require.js",
        widget_renderer_url="assets/embed-amd.js",
        mathjax_url="assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    )


def index_page(entries: list[dict]) -> str:
    items = "\n".join(f'  <li><a href="{e["href"]}">{html.escape(e["title"])}</a></li>' for e in entries)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>RNNs with nothing but matrices and vectors</title>
<link rel="icon" href="data:,">
<style>body {{ font-family: system-ui, sans-serif; max-width: 50em; margin: 2em auto; padding: 0 1em;
line-height: 1.5; }} li {{ margin: 0.3em 0; }}</style>
</head>
<body>
<h1>Recurrent neural networks with nothing but matrices and vectors</h1>
<p>An open course in Jupyter notebooks. These pages show each notebook as it was last run, with its
players: press Play or drag a slider to step through the loop (no Python needed). To change and run
the code, open the notebooks in JupyterLab (see the repository's README).</p>
<ol class="notebooks">
{items}
</ol>
</body>
</html>
"""


def write_site(out: Path, paths: list[Path], books: list) -> None:
    """The pages, the index and the assets, into the empty folder ``out``."""
    copy_assets(out)
    entries = []
    for i, (path, nb) in enumerate(zip(paths, books), start=1):
        title = title_of(nb) or path.stem
        entries.append({"href": f"{path.stem}.html", "notebook": path.name,
                        "title": title if title[:1].isdigit() else f"{i}. {title}"})
    stems = {path.stem for path in paths}
    html_exporter = exporter()
    for i, (path, nb) in enumerate(zip(paths, books)):
        course = {"prev": entries[i - 1] if i > 0 else None,
                  "next": entries[i + 1] if i + 1 < len(entries) else None}
        try:
            body, _ = html_exporter.from_notebook_node(
                nb, resources={"metadata": {"name": entries[i]["title"]}, "course": course})
        except Exception as err:
            raise BuildError(f"{path.name} could not be made into a page ({first_line(err)})") from None
        (out / entries[i]["href"]).write_text(link_pages(body, stems), encoding="utf-8")
    (out / "index.html").write_text(index_page(entries), encoding="utf-8")
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve the @jupyter-widgets folder as it is
    (out / "pages.json").write_text(json.dumps(entries, indent=1), encoding="utf-8")
    (out / MARKER).write_text("made by site/build.py, which replaces this folder when it builds again\n")


def build(out: Path, notebooks_dir: Path = NOTEBOOKS_DIR) -> dict:
    """Build the site into ``out`` (checked first; replaced only when every page is written)."""
    started, out = time.perf_counter(), Path(out).absolute()
    check_out(out)
    paths = notebooks(notebooks_dir)
    if not paths:
        raise BuildError(f"no notebooks (NN_name.ipynb) in {notebooks_dir}")
    books = read_notebooks(paths)
    npm_ci()
    building = out.parent / f".{out.name}.building-{secrets.token_hex(4)}"
    old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        building.mkdir()
        write_site(building, paths, books)
        check_out(out)                    # once more: someone may have written there meanwhile
        if out.exists():
            out.rename(old)
        try:
            building.rename(out)
        except OSError:
            if old.exists():
                old.rename(out)           # the site that was there, back in its place
            raise
    except OSError as err:
        raise BuildError(f"could not write the site at {out} ({first_line(err)}); nothing was replaced") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"pages": len(paths), "site_bytes": size, "build_seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_site",
                        help="where to write the site (default _site/): a new or empty folder, or a site it made")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="the notebooks' folder (default notebooks/)")
    args = parser.parse_args(argv)
    try:
        figures = build(args.out, args.notebooks)
    except BuildError as err:
        sys.exit(f"site/build.py: {err}")
    except KeyboardInterrupt:
        sys.exit("site/build.py: interrupted; nothing was replaced")
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
