"""The committed notebooks as a reader opens them in JupyterLab, in Chromium: trusted, nothing run.

nbval runs every notebook once and compares its outputs; a second Run All here would only repeat it.
What the page must do by itself: draw every widget from the saved state (no "Loading widget...", no
widget shown as its text), step each player through its saved frames by keyboard, mouse and Play
(``jslink``, no kernel), and answer in each live box (``rnnlib.show.live``, JavaScript) with
rnnlib's numbers for the weights the box carries. That the frames are the recurrence's numbers is
checked by tests/test_show.py; that they are fresh, by nbval (a player's text names its last frame).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from labdriver import NOTEBOOKS_DIR, WIDGET_VIEW, notebook_names, saved_players
from test_live_page import classifier_of, type_and_compare

pytestmark = pytest.mark.browser

OUTPUT = ".jp-OutputArea-output"
DRAWN = ".jp-OutputArea-output:has(> .jupyter-widgets:not(:empty))"   # a drawn widget, one per output
WIDGET_TIMEOUT_MS = 30_000


def wait_for(read, ok, timeout_ms: int = WIDGET_TIMEOUT_MS, what: str = "the page to change"):
    """Call ``read()`` until ``ok(value)``; return the value, or fail saying what was last seen."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_ms / 1000:.0f} s waiting for {what}; "
                                 f"the page shows {value!r}")
        time.sleep(0.1)


def source(name: str) -> dict:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def with_widgets(name: str) -> bool:
    return any(WIDGET_VIEW in o.get("data", {}) for c in source(name).cells for o in c.get("outputs", []))


def with_live_boxes(name: str) -> bool:
    return any('data-rnn-live="classifier"' in o.get("data", {}).get("text/html", "")
               for c in source(name).cells for o in c.get("outputs", []))


class PlayerOnPage:
    """A player's controls and its visible frame label, as Playwright locators."""

    def __init__(self, output):
        self.output = output
        buttons = output.locator(".widget-play button")   # play/pause, stop, repeat
        self.play_button, self.stop_button = buttons.nth(0), buttons.nth(1)
        self.handle = output.locator(".widget-slider .noUi-handle")
        self.track = output.locator(".widget-slider .noUi-target")
        self.labels = output.locator(".rnn-frame-label").filter(visible=True)

    def shown(self) -> str:
        texts = self.labels.all_inner_texts()
        return texts[0].strip() if len(texts) == 1 else f"{len(texts)} visible frame labels"

    def wait_for_frame(self, labels: list[str], k: int, what: str) -> None:
        wait_for(self.shown, lambda shown: shown == labels[k].strip(), what=f"frame {k + 1} ({what})")

    def drag_slider(self, page, to_end: bool) -> None:
        """Drag the slider's handle with the mouse past the right end (``to_end``) or the left end."""
        handle, track = self.handle.bounding_box(), self.track.bounding_box()
        y = handle["y"] + handle["height"] / 2
        page.mouse.move(handle["x"] + handle["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(track["x"] + track["width"] + 20 if to_end else track["x"] - 20, y, steps=8)
        page.mouse.up()


def step_through(page, player: PlayerOnPage, labels: list[str]) -> None:
    """Drive a player through its frames by keyboard, mouse and Play, each frame checked against ``labels``."""
    n = len(labels)
    player.wait_for_frame(labels, 0, "as the player opens")
    player.handle.focus()
    page.keyboard.press("ArrowRight")
    player.wait_for_frame(labels, 1, "after ArrowRight on the slider")
    page.keyboard.press("End")
    player.wait_for_frame(labels, n - 1, "after End on the slider")
    player.drag_slider(page, to_end=False)
    player.wait_for_frame(labels, 0, "after dragging the slider to the left")
    player.stop_button.click()
    player.play_button.click()
    seen = []

    def record():
        shown = player.shown()
        if shown in labels and (not seen or seen[-1] != shown):
            seen.append(shown)
        return seen[-1] if seen else None

    wait_for(record, lambda last: last == labels[-1].strip(), timeout_ms=WIDGET_TIMEOUT_MS + n * 1000,
             what="Play to reach the last frame")
    order = [labels.index(shown) for shown in seen]
    # each frame stays 0.8 s: polling sees them all, but a stalled moment on a busy machine may skip one
    assert order == sorted(set(order)) and len([k for k in order if k > 0]) >= min(n - 1, 2), \
        f"Play showed frames {order} of {n}"
    wait_for(lambda: player.play_button.locator("i").get_attribute("class"), lambda icon: "fa-play" in icon,
             what="Play to stop at the last frame")


@pytest.mark.parametrize("notebook", [n for n in notebook_names() if with_widgets(n)], indirect=True,
                         scope="session")
def test_saved_widgets_are_drawn_before_anything_runs(notebook, artifacts):
    """Trusted and not run: every widget output is drawn from the saved state, none as text or broken."""
    page = notebook.page.page
    texts = wait_for(page.locator(OUTPUT).all_inner_texts,
                     lambda texts: not any("Loading widget..." in t for t in texts), what="every widget to load")
    broken = [t for t in texts if "Error displaying widget" in t or t.startswith("Player of ")]
    assert not broken, f"{notebook.name}: widgets shown broken or as text: {broken[:2]}"
    for index, cell in enumerate(notebook.source.cells):
        expected = sum(1 for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {}))
        if expected:
            in_page = notebook.page.cell(index)
            wait_for(in_page.locator(DRAWN).count, lambda drawn: drawn == expected,
                     what=f"{notebook.name}: the {expected} widgets of cell {index} to be drawn")
    assert not notebook.page_errors, f"{notebook.name}: JavaScript errors in the page: {notebook.page_errors}"


def players() -> list:
    return [pytest.param(name, player, id=f"{Path(name).stem}-cell{player.cell}-{player.nth}")
            for name in notebook_names() for player in saved_players(source(name))]


@pytest.mark.parametrize(("notebook", "saved"), players(), indirect=["notebook"], scope="session")
def test_saved_player_steps_through_its_frames(notebook, saved, artifacts):
    assert len(saved.labels) >= 2, f"{notebook.name}: the player of cell {saved.cell} has one frame"
    page = notebook.page.page
    outputs = notebook.page.cell(saved.cell).locator(DRAWN).filter(has=page.locator(".widget-play"))
    wait_for(outputs.count, lambda count: count > saved.nth, what=f"the player of cell {saved.cell}")
    player = PlayerOnPage(outputs.nth(saved.nth))
    step_through(page, player, saved.labels)
    player.output.screenshot(path=artifacts / f"{Path(notebook.name).stem}_cell{saved.cell}_player{saved.nth}.png")
    assert not notebook.page_errors, f"{notebook.name}: JavaScript errors in the page: {notebook.page_errors}"


@pytest.mark.parametrize("notebook", [n for n in notebook_names() if with_live_boxes(n)], indirect=True,
                         scope="session")
def test_live_boxes_answer_with_no_kernel(notebook, artifacts):
    """Each live box of the committed notebook, typed into: rnnlib's numbers for the weights it carries."""
    page = notebook.page.page
    for index, cell in enumerate(notebook.source.cells):
        count = sum('data-rnn-live="classifier"' in o.get("data", {}).get("text/html", "") for o in cell.get("outputs", []))
        if not count:
            continue
        boxes = notebook.page.cell(index).locator('[data-rnn-live="classifier"][data-booted]')
        wait_for(boxes.count, lambda n: n == count, what=f"the live boxes of cell {index} to start")
        for k in range(count):
            box = boxes.nth(k)
            clf = classifier_of(json.loads(box.locator("script.rnn-live-model").text_content()))
            type_and_compare(clf, box, "Straße", f"{notebook.name}, cell {index}")
            box.screenshot(path=artifacts / f"{Path(notebook.name).stem}_cell{index}_live{k}.png")
    assert not notebook.page_errors, f"{notebook.name}: JavaScript errors in the page: {notebook.page_errors}"
