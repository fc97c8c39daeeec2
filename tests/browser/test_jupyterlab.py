"""The course as a reader meets it: each notebook run in JupyterLab in Chromium, its widgets used by hand.

Every notebook must run to the end with no error in the page. Every player
(``rnnlib.player.matrix_player`` / ``scalar_player``) must render and show, for the
``t`` picked by its slider or Play button, the character and ``h_t`` that
the recurrence gives with the notebook's own W, U, b (read from the live
kernel, recomputed here). Every word box (``rnnlib.plot.WordBox``) must
show the model's probabilities of the word typed in it.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
import torch

from labdriver import NOTEBOOKS_DIR, WidgetCall, notebook_names, widget_calls
from rnnlib.player import matrix_player, scalar_player
from rnnlib.plot import WordBox
from rnnlib.vocab import normalize

pytestmark = pytest.mark.browser

PLAYERS = {"matrix_player": matrix_player, "scalar_player": scalar_player}
WORD_BOXES = {"WordBox": WordBox}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
OUTPUT = ".jp-OutputArea-output"
WIDGET_VIEW = ".jp-OutputArea-output:has(> .jupyter-widgets:not(:empty))"   # a drawn widget, one per output
STDERR = '.jp-OutputArea-output [data-mime-type="application/vnd.jupyter.stderr"], ' \
         '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
WIDGET_TIMEOUT_MS = 30_000   # a kernel round trip on a busy 2-core machine
NEW_WORD = "chat"            # typed into the boxes: in the vocabulary of every notebook
UNREADABLE_WORD = "☃"        # in none


def calls_in_notebooks(functions: dict) -> list:
    """``pytest.param(notebook, call)`` for each call to one of ``functions`` in the notebooks' code."""
    params = []
    for name in notebook_names():
        calls = widget_calls(nbformat.read(NOTEBOOKS_DIR / name, as_version=4), functions)
        for call in calls:
            params.append(pytest.param(name, call, id=f"{Path(name).stem}-cell{call.cell}-{call.function}"))
    return params


def nth_in_cell(call: WidgetCall, calls: list[WidgetCall]) -> int:
    """Which of its cell's widgets ``call`` shows: the cell's 2nd player is the 2nd player in its outputs."""
    return [c.position for c in calls if c.cell == call.cell].index(call.position)


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


def assert_widgets_drawn(notebook, cells: list[dict], when: str) -> None:
    """Every widget output of ``cells`` is drawn in the page: none stuck on "Loading widget..." or broken."""
    page = notebook.page.page
    texts = wait_for(page.locator(OUTPUT).all_inner_texts,
                     lambda texts: not any("Loading widget..." in t for t in texts),
                     what=f"every widget to load ({when})")
    broken = [t for t in texts if "Error displaying widget" in t]
    assert not broken, f"{notebook.name} ({when}): {len(broken)} widgets show {broken[0]!r}"
    for cell in cells:
        expected = sum(1 for o in cell["outputs"] if WIDGET_MIME in o.get("data", {}))
        if expected:
            in_page = notebook.page.cell(cell["index"])
            # a cell just scrolled into view draws its widgets a moment later
            wait_for(in_page.locator(WIDGET_VIEW).count, lambda drawn: drawn == expected,
                     what=f"{notebook.name} ({when}): the {expected} widgets of cell {cell['index']} to be drawn "
                          f"(what it shows: {in_page.locator(OUTPUT).all_inner_texts()})")


# ---------------------------------------------------------------- every notebook runs

@pytest.mark.parametrize("notebook", notebook_names(), indirect=True, scope="session")
def test_notebook_runs_to_the_end_without_errors(notebook):
    notebook.run()
    errors = []
    for cell in notebook.cells:
        for output in cell["outputs"]:
            if output["output_type"] == "error":
                errors.append(f"cell {cell['index']}: {output['ename']}: {output['evalue']}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                text = "".join(output["text"])
                if re.search(r"Traceback|Error|Warning", text):
                    errors.append(f"cell {cell['index']} wrote to stderr: {text.strip()[:300]}")
    assert not errors, f"{notebook.name} shows errors:\n" + "\n".join(errors)
    not_run = [c["index"] for c in notebook.cells if c["type"] == "code" and c["count"] is None]
    assert not not_run, f"{notebook.name}: cells {not_run} have no execution count after Run All Cells"

    page = notebook.page.page
    for text in page.locator(STDERR).all_inner_texts():
        assert not re.search(r"Traceback|Error", text), f"{notebook.name}: the page shows an error: {text[:300]}"

    assert_widgets_drawn(notebook, notebook.cells, "after Run All Cells")
    assert not notebook.page_errors, f"{notebook.name}: JavaScript errors in the page: {notebook.page_errors}"
    # JupyterLab's own notifications (a dead kernel, a failed save; the news popup is switched off)
    toasts = page.locator(".Toastify__toast").all_inner_texts()
    assert not toasts, f"{notebook.name}: JupyterLab shows notifications: {toasts}"


# ---------------------------------------------------------------- the players

FRAME_LABEL = re.compile(r"t = (\d+) · x_t = '(.)' · h_t = \[([-\d., ]*)\]")
SCALAR_FRAME_LABEL = re.compile(r"t = (\d+) · x_t = '(.)' \((\d+)\) · h = (-?[\d.]+)")


def tensor_expression(source: str) -> str:
    return f"(None if ({source}) is None else __import__('torch').as_tensor({source}).detach().float().tolist())"


def player_arguments(notebook, call: WidgetCall) -> dict:
    """The values the notebook passed to the player, read from its live kernel."""
    a = call.arguments
    if call.function == "scalar_player":
        expression = f"{{'word': str({a['word']}), 'chars': list(({a['vocab']}).chars), 'weight': {a['weight']}}}"
    else:
        expression = (f"{{'word': str({a['word']}), 'chars': list(({a['vocab']}).chars), "
                      f"'W': {tensor_expression(a['W'])}, 'U': {tensor_expression(a['U'])}, "
                      f"'b': {tensor_expression(a['b'])}, 'nonlinearity': {a['nonlinearity']}}}")
    return notebook.page.kernel_json(expression)


def expected_frames(function: str, word: str, arguments: dict) -> list[tuple]:
    """(t, character, h_t) at every step, straight from the recurrence the player animates."""
    word = normalize(word)
    index = {c: i for i, c in enumerate(arguments["chars"])}
    if function == "scalar_player":
        h, frames = 0, []
        for t, c in enumerate(word, start=1):
            h = arguments["weight"] * h + index[c]   # h = weight*h + x[t]
            frames.append((t, c, index[c], h))
        return frames
    W, U = torch.tensor(arguments["W"]), torch.tensor(arguments["U"])
    b = torch.zeros(W.shape[0], 1) if arguments["b"] is None else torch.tensor(arguments["b"])
    f = {"tanh": torch.tanh, "relu": torch.relu, None: lambda z: z}[arguments["nonlinearity"]]
    h, frames = torch.zeros(W.shape[0], 1), []
    for t, c in enumerate(word, start=1):
        x = torch.zeros(len(index), 1)
        x[index[c]] = 1
        h = f(W @ h + U @ x + b)                    # h_t = f(W @ h_{t-1} + U @ x_t + b)
        frames.append((t, c, h.flatten().tolist()))
    return frames


def parse_label(function: str, text: str) -> tuple | None:
    """The (t, character, h) a frame label shows, or None when it is not a frame label."""
    if function == "scalar_player":
        m = SCALAR_FRAME_LABEL.search(text)
        return m and (int(m[1]), m[2], int(m[3]), float(m[4]))
    m = FRAME_LABEL.search(text)
    return m and (int(m[1]), m[2], [float(v) for v in m[3].split(",")])


def assert_frame_shows(shown: tuple, expected: tuple, where: str) -> None:
    """The label shows the expected t and character, and h to the 2 decimals it prints."""
    assert shown[:-1] == expected[:-1], f"{where}: the label shows {shown[:-1]}, expected {expected[:-1]}"
    h_shown, h_expected = shown[-1], expected[-1]
    if isinstance(h_expected, list):
        assert len(h_shown) == len(h_expected), f"{where}: h_t has {len(h_shown)} values, expected {len(h_expected)}"
        far = [(s, e) for s, e in zip(h_shown, h_expected) if abs(s - e) > 0.005 + 1e-4]
        assert not far, f"{where}: h_t shown {h_shown}, expected {[round(e, 4) for e in h_expected]}"
    else:
        assert abs(h_shown - h_expected) <= 0.005 + 1e-4, f"{where}: h shown {h_shown}, expected {h_expected}"


class PlayerOnPage:
    """A player's controls and its visible frame label, as Playwright locators."""

    def __init__(self, output, function: str):
        self.output, self.function = output, function
        buttons = output.locator(".widget-play button")   # play/pause, stop, repeat
        self.play_button, self.stop_button = buttons.nth(0), buttons.nth(1)
        self.handle = output.locator(".widget-slider .noUi-handle")
        self.track = output.locator(".widget-slider .noUi-target")
        self.word_box = output.locator(".rnn-word-box input")
        self.labels = output.locator(".rnn-frame-label").filter(visible=True)

    def shown(self) -> tuple | str:
        """The visible frame's (t, character, h), or what is there instead."""
        texts = self.labels.all_inner_texts()
        if len(texts) != 1:
            return f"{len(texts)} visible frame labels"
        return parse_label(self.function, texts[0]) or texts[0]

    def drag_slider(self, page, to_end: bool) -> None:
        """Drag the slider's handle with the mouse past the right end (``to_end``) or the left end."""
        handle, track = self.handle.bounding_box(), self.track.bounding_box()
        y = handle["y"] + handle["height"] / 2
        page.mouse.move(handle["x"] + handle["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(track["x"] + track["width"] + 20 if to_end else track["x"] - 20, y, steps=8)
        page.mouse.up()

    def wait_for_t(self, t: int, char: str | None = None, what: str = "") -> tuple:
        def ok(shown):
            return isinstance(shown, tuple) and shown[0] == t and (char is None or shown[1] == char)
        return wait_for(self.shown, ok, what=f"t = {t} {what}".strip())


def find_player(notebook, call: WidgetCall) -> PlayerOnPage:
    """The player that ``call`` displays, under its cell."""
    outputs = notebook.page.cell(call.cell).locator(WIDGET_VIEW).filter(has=notebook.page.page.locator(".widget-play"))
    k = nth_in_cell(call, widget_calls(notebook.source, PLAYERS))
    assert outputs.count() > k, f"{notebook.name}: no player drawn under cell {call.cell}"
    return PlayerOnPage(outputs.nth(k), call.function)


def step_through(page, player: PlayerOnPage, frames: list[tuple], at_t2=None) -> None:
    """Drive a saved or live player through all its frames, checking each against ``frames``.

    The keyboard on the slider (one step right, then End), the mouse (drag back to the
    left end), then Play from the stop position up to the last frame, where it stops by
    itself. ``at_t2`` is called while the slider shows t = 2 (a screenshot, say).
    """
    n = len(frames)
    # as it opens: the first step
    assert_frame_shows(player.wait_for_t(1, what="as the player opens"), frames[0], "first frame")

    # the keyboard on the slider: one step right, then to the end
    player.handle.focus()
    page.keyboard.press("ArrowRight")
    assert_frame_shows(player.wait_for_t(2, what="after ArrowRight on the slider"), frames[1],
                       "slider moved to t = 2")
    if at_t2 is not None:
        player.output.scroll_into_view_if_needed()
        at_t2()
    page.keyboard.press("End")
    assert_frame_shows(player.wait_for_t(n, what="after End on the slider"), frames[-1], f"slider at t = {n}")

    # the mouse: drag the slider's handle back to the left end
    player.drag_slider(page, to_end=False)
    assert_frame_shows(player.wait_for_t(1, what="after dragging the slider to the left"), frames[0],
                       "slider dragged to t = 1")

    # Play: from the stop position, frame after frame, up to the last
    player.stop_button.click()
    player.wait_for_t(1, what="after Stop")
    player.play_button.click()
    seen = []

    def record():
        shown = player.shown()
        if isinstance(shown, tuple) and (not seen or seen[-1][0] != shown[0]):
            seen.append(shown)
        return seen[-1][0] if seen else None

    wait_for(record, lambda t: t == n, timeout_ms=WIDGET_TIMEOUT_MS + n * 1000, what=f"Play to reach t = {n}")
    ts = [s[0] for s in seen]
    # each frame stays 0.8 s: polling sees them all, but a stalled moment on a busy machine may skip one
    assert ts == sorted(set(ts)) and len([t for t in ts if t > 1]) >= min(n - 1, 2), \
        f"Play showed t = {ts}; expected 2, ..., {n} in order"
    for shown in seen:
        assert_frame_shows(shown, frames[shown[0] - 1], f"playing, t = {shown[0]}")
    # at the end Play stops by itself: its button turns back from pause to play
    wait_for(lambda: player.play_button.locator("i").get_attribute("class"), lambda icon: "fa-play" in icon,
             what="Play to stop at the last frame")


@pytest.mark.parametrize(("notebook", "call"), calls_in_notebooks(PLAYERS), indirect=["notebook"],
                         scope="session")
def test_player_shows_the_recurrence_step_by_step(notebook, call, artifacts):
    notebook.run()
    arguments = player_arguments(notebook, call)
    frames = expected_frames(call.function, arguments["word"], arguments)
    n = len(frames)
    assert n >= 2, f"{notebook.name}: the player's word {arguments['word']!r} is too short to animate"

    page = notebook.page.page
    player = find_player(notebook, call)
    stem = f"{Path(notebook.name).stem}_cell{call.cell}"

    step_through(page, player, frames,
                 at_t2=lambda: player.output.screenshot(path=artifacts / f"{stem}_{call.function}_t2.png"))
    player.output.screenshot(path=artifacts / f"{stem}_{call.function}_played.png")

    # a new word in the player's box: the kernel draws its frames
    word = normalize(arguments["word"])
    new_word = NEW_WORD if set(NEW_WORD) <= set(arguments["chars"]) and NEW_WORD != word else word[::-1]
    new_frames = expected_frames(call.function, new_word, arguments)
    player.word_box.fill(new_word)
    player.word_box.press("Enter")
    assert_frame_shows(player.wait_for_t(1, new_word[0], what=f"the frames of {new_word!r}"), new_frames[0],
                       f"{new_word!r}, t = 1")
    # the kernel resets the slider, swaps the frames, then widens the slider: wait for all of it
    wait_for(lambda: float(player.handle.get_attribute("aria-valuemax")), lambda last: last == len(new_word) - 1,
             what=f"the slider to span the {len(new_word)} frames of {new_word!r}")
    # dragged, not End: after the slider widens, End stops at the old last frame (seen in JupyterLab 4.6,
    # ipywidgets 8.1.9), while arrows and the mouse reach the new one
    player.drag_slider(page, to_end=True)
    assert_frame_shows(player.wait_for_t(len(new_word), what=f"the last frame of {new_word!r}"),
                       new_frames[-1], f"{new_word!r}, last frame")
    player.output.screenshot(path=artifacts / f"{stem}_{call.function}_{new_word}.png")


# ---------------------------------------------------------------- the saved outputs, before running

def notebooks_with_saved_widgets() -> list[str]:
    """The notebooks whose committed outputs hold widgets."""
    return [name for name in notebook_names()
            if any(WIDGET_MIME in output.get("data", {})
                   for cell in nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells
                   for output in cell.get("outputs", []))]


@pytest.mark.parametrize("notebook", notebooks_with_saved_widgets(), indirect=True, scope="session")
def test_saved_widgets_work_without_running(notebook, artifacts):
    """As committed and trusted, before any cell runs: widgets drawn from the saved state, players driven by jslink.

    This is what the saved widget state (nbclient's store_widget_state) is
    for; GitHub and nbviewer show the same state.
    """
    assert not notebook.has_run, "this test looks at the saved outputs: it must come before the notebook runs"
    saved_cells = [{"index": i, "outputs": cell.get("outputs", [])} for i, cell in enumerate(notebook.source.cells)]
    assert_widgets_drawn(notebook, saved_cells, "saved, not run")

    page = notebook.page.page
    seen = []
    for call in widget_calls(notebook.source, PLAYERS):
        player = find_player(notebook, call)
        shown = [player.wait_for_t(1, what="in the saved player")]
        player.handle.focus()
        page.keyboard.press("ArrowRight")
        shown.append(player.wait_for_t(2, what="after ArrowRight on the saved player's slider"))
        last = round(float(player.handle.get_attribute("aria-valuemax"))) + 1
        page.keyboard.press("End")
        shown.append(player.wait_for_t(last, what="after End on the saved player's slider"))
        player.output.screenshot(path=artifacts / f"{Path(notebook.name).stem}_cell{call.cell}_{call.function}_saved.png")
        seen.append((call, shown))

    # the numbers they show: the recurrence with the notebook's own W, U, b, which only its kernel knows
    if seen:
        notebook.run()
    for call, shown in seen:
        arguments = player_arguments(notebook, call)
        frames = expected_frames(call.function, arguments["word"], arguments)
        assert shown[-1][0] == len(frames), f"the saved player has {shown[-1][0]} frames, the word {len(frames)}"
        for frame in shown:
            assert_frame_shows(frame, frames[frame[0] - 1], f"saved player under cell {call.cell}, t = {frame[0]}")


# ---------------------------------------------------------------- the word box

PROBABILITY = re.compile(r"(\S+) (\d\.\d\d)")


def parse_probabilities(text: str) -> dict[str, float] | None:
    """``{"English": 0.12, ...}`` from ``English 0.12 · French 0.80 · German 0.08``, or None."""
    parts = [PROBABILITY.fullmatch(part.strip()) for part in text.split("·")]
    if len(parts) < 2 or not all(parts):
        return None
    return {m[1]: float(m[2]) for m in parts}


@pytest.mark.parametrize(("notebook", "call"), calls_in_notebooks(WORD_BOXES), indirect=["notebook"],
                         scope="session")
def test_word_box_shows_the_probabilities_of_the_typed_word(notebook, call, artifacts):
    notebook.run()
    a = call.arguments

    def expected(word: str) -> dict[str, float]:
        p = notebook.page.kernel_json(f"__import__('torch').as_tensor(({a['predict_proba']})([{word!r}])).tolist()")
        classes = notebook.page.kernel_json(f"[str(c) for c in ({a['classes']})]")
        return dict(zip(classes, p[0]))

    def assert_shows(shown: dict, word: str) -> None:
        want = expected(word)
        assert list(shown) == list(want), f"the box shows classes {list(shown)}, expected {list(want)}"
        far = {c: (shown[c], round(want[c], 4)) for c in want if abs(shown[c] - want[c]) > 0.005 + 1e-4}
        assert not far, f"{word!r}: (shown, predicted) probabilities differ: {far}"
        assert abs(sum(shown.values()) - 1) <= 0.005 * len(shown), f"{word!r}: {shown} does not sum to 1"

    page = notebook.page.page
    cell = notebook.page.cell(call.cell)
    boxes = cell.locator(WIDGET_VIEW).filter(has=page.locator(".word-box-input"))
    k = nth_in_cell(call, widget_calls(notebook.source, WORD_BOXES))
    assert boxes.count() > k, f"{notebook.name}: no word box drawn under cell {call.cell}"
    box = boxes.nth(k)
    text_input = box.locator(".word-box-input input")
    probabilities = box.locator(".word-probabilities")

    first_word = text_input.input_value()
    opening_word = notebook.page.kernel_json(f"str({a['value']})")
    assert first_word == opening_word, f"the box opens with {first_word!r}, the notebook says {opening_word!r}"
    first = wait_for(lambda: parse_probabilities(probabilities.inner_text()), bool,
                     what="the first word's probabilities")
    assert_shows(first, first_word)

    new_word = NEW_WORD if first_word != NEW_WORD else "katze"
    text_input.fill(new_word)
    text_input.press("Enter")
    shown = wait_for(lambda: parse_probabilities(probabilities.inner_text()), lambda p: p and p != first,
                     what=f"the probabilities of {new_word!r}")
    assert_shows(shown, new_word)
    best = max(shown, key=shown.get)
    assert probabilities.locator("b").inner_text().startswith(best), "the most probable class is not the bold one"
    box.screenshot(path=artifacts / f"{Path(notebook.name).stem}_cell{call.cell}_word_box_{new_word}.png")

    # a character the model never saw: a one-line message, not numbers and not a traceback
    text_input.fill(UNREADABLE_WORD)
    text_input.press("Enter")
    message = wait_for(probabilities.inner_text, lambda text: parse_probabilities(text) is None,
                       what=f"a message about {UNREADABLE_WORD!r}")
    assert message.strip() and "\n" not in message.strip() and "Traceback" not in message, \
        f"typing {UNREADABLE_WORD!r} shows {message!r}; expected a one-line message"
    box.screenshot(path=artifacts / f"{Path(notebook.name).stem}_cell{call.cell}_word_box_unreadable.png")
