"""The static site (python site/build.py) as a reader meets it: no Jupyter server, no network.

The site is built into a temporary folder and served by a plain HTTP server
on 127.0.0.1; Chromium may load nothing from anywhere else. Every page loads
without a console error, its widgets are drawn from the saved state, the
Play button's icons are drawn with their font, each player steps by
slider and by Play through its saved frames, and each live box
(rnnlib.show.live) answers a typed word with rnnlib's numbers.
"""
from __future__ import annotations

import functools
import http.server
import json
import re
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from labdriver import ROOT, notebook_names, saved_players
from test_live_page import classifier_of, type_and_compare
from test_jupyterlab import PlayerOnPage, players, step_through, wait_for

pytestmark = pytest.mark.browser

sys.path.insert(0, str(ROOT / "site"))
import build  # noqa: E402  (site/build.py)

WIDGET_VIEW_SCRIPT = 'script[type="application/vnd.jupyter.widget-view+json"]'
PAGE_TIMEOUT_MS = 60_000
# Chromium's own warning of the widget manager's JSON-schema checker, not an error of the page.
HARMLESS_CONSOLE = re.compile(r"strict mode: use allowUnionTypes")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The site, built by site/build.py into a temporary folder and served on 127.0.0.1: (base URL, folder, pages)."""
    out = tmp_path_factory.mktemp("site") / "_site"
    figures = build.build(out)
    pages = json.loads((out / "pages.json").read_text())
    assert figures["pages"] == len(pages)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out, pages
    server.shutdown()
    server.server_close()


class SitePage:
    """A page of the site open in its own browser context, with everything that went wrong while it loaded."""

    def __init__(self, chromium, base: str, href: str):
        self.context = chromium.new_context(viewport={"width": 1300, "height": 1000})
        self.errors: list[str] = []
        self.outside: list[str] = []

        def route(r):
            if r.request.url.startswith(base) or r.request.url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text} {m.location}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        self.page.goto(f"{base}/{href}", wait_until="load", timeout=PAGE_TIMEOUT_MS)

    def wait_for_widgets(self) -> None:
        """Until every widget view of the page is drawn (the widget manager replaces each script by a view)."""
        self.page.wait_for_function(
            """selector => [...document.querySelectorAll(selector)].every(
                   s => s.parentElement.querySelector('.jupyter-widgets, .widget-box, .widget-inline-hbox'))""",
            arg=WIDGET_VIEW_SCRIPT, timeout=PAGE_TIMEOUT_MS, polling=250)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_page(chromium, site):
    opened = []

    def open_(href: str) -> SitePage:
        opened.append(SitePage(chromium, site[0], href))
        return opened[-1]

    yield open_
    for page in opened:
        page.close()


# ---------------------------------------------------------------- the pages

def test_site_has_an_index_and_a_page_per_notebook_in_order(site):
    base, out, pages = site
    assert [p["notebook"] for p in pages] == notebook_names()
    index = (out / "index.html").read_text()
    assert re.findall(r'<li><a href="([^"]+)"', index) == [p["href"] for p in pages]
    for i, p in enumerate(pages):
        html = (out / p["href"]).read_text()
        nav = [(re.search(r'rel="(prev|next)"', a)[1], re.search(r'href="([^"]+)"', a)[1])
               for a in re.findall(r'<a [^>]*rel="(?:prev|next)"[^>]*>', html)]
        want = ([("prev", pages[i - 1]["href"])] if i else []) + ([("next", pages[i + 1]["href"])] if i + 1 < len(pages) else [])
        assert nav == want * 2, f"{p['href']}: previous/next links {nav}, expected {want} at the top and bottom"
        # nothing from outside the site: no script, style or font from a CDN
        assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html), f"{p['href']} loads from outside"
        local = [h for h in re.findall(r'href="([^"]+)"', html) if not re.match(r"[a-z]+:", h)]  # not https:, mailto:
        assert not [h for h in local if re.search(r"\.ipynb(#|$)|README\.md", h)], \
            f"{p['href']} links a notebook file or the README, not its page: {local}"


def test_the_build_marks_its_site_and_leaves_nothing_beside_it(site):
    _, out, _ = site
    assert (out / build.MARKER).is_file()
    assert [p.name for p in out.parent.iterdir()] == [out.name]     # no temporary folder left behind


def test_site_pins_and_ships_its_scripts(site):
    _, out, _ = site
    lock = json.loads((ROOT / "site" / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/@jupyter-widgets/html-manager"]["version"].startswith("1.0.")
    assert lock["node_modules/requirejs"]["version"].startswith("2.3.")
    for asset in ["assets/require.js", "assets/embed-amd.js", "assets/mathjax/MathJax.js"]:
        assert (out / asset).is_file(), asset
    assert list((out / "@jupyter-widgets").glob("*.woff2")), "the icon font is not shipped"


@pytest.mark.parametrize("href", ["index.html"] + [f"{Path(n).stem}.html" for n in notebook_names()])
def test_every_page_loads_without_errors_and_draws_its_widgets(open_page, href):
    page = open_page(href)
    page.wait_for_widgets()
    texts = page.page.locator(".jp-OutputArea-output").all_inner_texts()
    assert not [t for t in texts if "Error displaying widget" in t or "Loading widget" in t], texts
    page.page.wait_for_timeout(500)   # late requests (fonts, MathJax's pieces)
    page.page.evaluate("() => document.fonts.ready.then(() => true)")
    errors = [e for e in page.errors if not HARMLESS_CONSOLE.search(e)]
    assert not errors, f"{href}: {errors}"
    assert not page.outside, f"{href} asked for something outside the site: {page.outside}"


def pages_with_players() -> list[str]:
    return sorted({p.values[0] for p in players()})


@pytest.mark.parametrize("notebook_name", pages_with_players())
def test_play_icons_are_drawn_with_their_font(open_page, notebook_name):
    page = open_page(f"{Path(notebook_name).stem}.html")
    page.wait_for_widgets()
    icon = page.page.locator(".widget-play button i").first
    icon.scroll_into_view_if_needed()
    family = icon.evaluate("i => getComputedStyle(i, '::before').fontFamily")
    assert "Font Awesome" in family, f"the Play icon's font is {family!r}"
    loaded = wait_for(lambda: page.page.evaluate(
        """() => [...document.fonts].some(f => f.family.includes('Font Awesome') && f.status === 'loaded')"""),
        bool, what="the icon font to load")
    assert loaded
    width = icon.evaluate("i => i.getBoundingClientRect().width")
    assert width > 4, f"the Play icon is {width}px wide: no glyph drawn"
    assert not [e for e in page.errors if not HARMLESS_CONSOLE.search(e)], page.errors


def test_each_player_has_its_static_picture_beside_it(site):
    """In case scripts are off: within two cells after each player, a picture (a PNG output)."""
    _, out, pages = site
    for p in pages:
        nb = nbformat.read(ROOT / "notebooks" / p["notebook"], as_version=4)
        for player in saved_players(nb):
            after = nb.cells[player.cell:player.cell + 3]
            pictures = [o for c in after for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
            assert pictures, f"{p['notebook']}: the player of cell {player.cell} has no static picture beside it"


# ---------------------------------------------------------------- the players, with no kernel

@pytest.mark.parametrize(("name", "saved"), players())
def test_site_player_steps_by_slider_and_play_through_its_frames(name, saved, open_page, artifacts):
    site_page = open_page(f"{Path(name).stem}.html")
    site_page.wait_for_widgets()
    page = site_page.page
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    code_index = sum(1 for c in nb.cells[:saved.cell] if c.cell_type == "code")   # the page's cells are code cells
    cell = page.locator(".jp-CodeCell").nth(code_index)
    output = cell.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-play")).nth(saved.nth)
    output.scroll_into_view_if_needed()
    step_through(page, PlayerOnPage(output), saved.labels)
    output.screenshot(path=artifacts / f"site_{Path(name).stem}_cell{saved.cell}_player{saved.nth}.png")
    assert not [e for e in site_page.errors if not HARMLESS_CONSOLE.search(e)], site_page.errors
    assert not site_page.outside, site_page.outside


# ---------------------------------------------------------------- the live boxes, with no kernel

def notebooks_with_live_boxes() -> list[str]:
    """The notebooks whose saved outputs hold a live word box (``rnnlib.show.live.live_box``)."""
    def has_box(name: str) -> bool:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        return any('data-rnn-live="classifier"' in output.get("data", {}).get("text/html", "")
                   for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)
    return [name for name in notebook_names() if has_box(name)]


@pytest.mark.parametrize("notebook_name", notebooks_with_live_boxes())
def test_live_boxes_answer_with_rnnlibs_numbers_with_no_kernel(open_page, notebook_name, artifacts):
    """Each live box of the page, typed into: its numbers are rnnlib's for the weights the page carries."""
    site_page = open_page(f"{Path(notebook_name).stem}.html")
    boxes = site_page.page.locator('[data-rnn-live="classifier"][data-booted]')
    boxes.first.wait_for(timeout=PAGE_TIMEOUT_MS)
    for k in range(boxes.count()):
        box = boxes.nth(k)
        clf = classifier_of(json.loads(box.locator("script.rnn-live-model").text_content()))
        type_and_compare(clf, box, "Straße", f"{notebook_name}, live box {k}")
        box.screenshot(path=artifacts / f"site_{Path(notebook_name).stem}_live_box{k}.png")
    assert not [e for e in site_page.errors if not HARMLESS_CONSOLE.search(e)], site_page.errors
    assert not site_page.outside, site_page.outside
