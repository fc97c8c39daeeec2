"""Notebook 12's prediction player, driven in JupyterLab: per-prefix probabilities and the h heatmap.

For each ``prediction_player(clf, word)`` of the notebook: the slider (keys
and mouse) moves the frames; each frame's label shows ``softmax(V@h_t)`` of
the prefix, recomputed here from the kernel's ``W``, ``U``, ``b``, ``V``; the
left panel (``h_1 ... h_t`` as heatmap columns) loses one grey column to come
per step; a word typed in the box gets its own frames. The saved player (no
kernel) moves through the same frames.
"""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import PIL.Image
import pytest
import torch

from labdriver import NOTEBOOKS_DIR, widget_calls
from rnnlib.prefixes import prediction_player
from rnnlib.vocab import normalize
from test_jupyterlab import WIDGET_VIEW, PlayerOnPage, wait_for

pytestmark = pytest.mark.browser

NOTEBOOK = "12_what_it_learned.ipynb"
PLAYERS = {"prediction_player": prediction_player}
LABEL = re.compile(r"t = (\d+) · prefix '([^']*)' · (.*)")
SHARE = re.compile(r"(\S+) (\d\.\d\d)")
TOLERANCE = 0.005 + 1e-4            # the label prints 2 decimals
GREY = (227, 231)                   # the colour of the steps still to come, "0.9" (229 or 230)
NEW_WORD = "chat"


def calls() -> list:
    source = nbformat.read(NOTEBOOKS_DIR / NOTEBOOK, as_version=4)
    return [pytest.param(NOTEBOOK, call, id=f"{Path(NOTEBOOK).stem}-cell{call.cell}")
            for call in widget_calls(source, PLAYERS)]


def parse(text: str) -> tuple | None:
    """``(t, prefix, {class: probability})`` from a frame label, or None."""
    m = LABEL.fullmatch(text.strip())
    if not m:
        return None
    shares = [SHARE.fullmatch(part.strip()) for part in m[3].split("·")]
    return (int(m[1]), m[2], {s[1]: float(s[2]) for s in shares}) if all(shares) else None


class PredictionPlayerOnPage(PlayerOnPage):
    """The course's player controls, with this player's labels and frame images."""

    def shown(self) -> tuple | str:
        texts = self.labels.all_inner_texts()
        if len(texts) != 1:
            return f"{len(texts)} visible frame labels"
        return parse(texts[0]) or texts[0]

    def image(self) -> PIL.Image.Image:
        """The visible frame's picture, as the page has it."""
        img = self.output.locator(".widget-vbox:has(> .rnn-frame-label)").filter(visible=True).locator("img")
        data = img.evaluate("""async img => {
            const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
            let s = '';
            for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
            return btoa(s);
        }""")
        return PIL.Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def grey_pixels(image: PIL.Image.Image) -> int:
    """How many pixels have the grey of the steps still to come."""
    return sum(n for n, rgb in image.getcolors(maxcolors=1 << 20)
               if max(rgb) - min(rgb) <= 2 and GREY[0] <= min(rgb) and max(rgb) <= GREY[1])


def model_of(notebook, call) -> dict:
    """The word and the matrices of the model the call animates, from the live kernel."""
    clf, word = call.arguments["clf"], call.arguments["word"]
    tensor = "__import__('torch').as_tensor(({})).detach().float().tolist()"
    return notebook.page.kernel_json(
        f"{{'word': str({word}), 'chars': list(({clf}).vocab.chars), 'classes': list(({clf}).labels.classes), "
        f"'nonlinearity': ({clf}).rnn.nonlinearity, "
        + ", ".join(f"'{m}': {tensor.format(f'({clf}).rnn.{m}')}" for m in "WUbV") + "}")


def expected_frames(word: str, model: dict) -> list[tuple]:
    """``(t, prefix, {class: softmax(V@h_t)})`` at every step, from the recurrence itself."""
    word = normalize(word)
    W, U, b, V = (torch.tensor(model[m]) for m in "WUbV")
    f = {"tanh": torch.tanh, "relu": torch.relu}[model["nonlinearity"]]
    index = {c: i for i, c in enumerate(model["chars"])}
    h, frames = torch.zeros(W.shape[0], 1), []
    for t, c in enumerate(word, start=1):
        x = torch.zeros(len(index), 1)
        x[index[c]] = 1
        h = f(W @ h + U @ x + b)
        o = V @ h
        p = torch.exp(o - o.max()) / torch.exp(o - o.max()).sum()
        frames.append((t, word[:t], dict(zip(model["classes"], p.flatten().tolist()))))
    return frames


def assert_shows(shown: tuple, expected: tuple, where: str) -> None:
    assert shown[:2] == expected[:2], f"{where}: the label shows {shown[:2]}, expected {expected[:2]}"
    assert list(shown[2]) == list(expected[2]), f"{where}: classes {list(shown[2])}, expected {list(expected[2])}"
    far = {c: (shown[2][c], round(v, 4)) for c, v in expected[2].items() if abs(shown[2][c] - v) > TOLERANCE}
    assert not far, f"{where}: (shown, softmax(V@h_t)) differ: {far}"


def find(notebook, call) -> PredictionPlayerOnPage:
    page = notebook.page.page
    outputs = notebook.page.cell(call.cell).locator(WIDGET_VIEW).filter(has=page.locator(".widget-play"))
    assert outputs.count() >= 1, f"{NOTEBOOK}: no player drawn under cell {call.cell}"
    return PredictionPlayerOnPage(outputs.first, "prediction_player")


def walk(player: PredictionPlayerOnPage, page, n: int, what: str) -> dict[int, tuple]:
    """Slider by keys (t = 1, 2, n) and by mouse (back to 1): what each shows, with its grey pixels."""
    seen = {}
    shown = player.wait_for_t(1, what=f"{what}, as it opens")
    seen[1] = (shown, grey_pixels(player.image()))
    player.handle.focus()
    page.keyboard.press("ArrowRight")
    seen[2] = (player.wait_for_t(2, what=f"{what}, after ArrowRight"), grey_pixels(player.image()))
    page.keyboard.press("End")
    seen[n] = (player.wait_for_t(n, what=f"{what}, after End"), grey_pixels(player.image()))
    player.drag_slider(page, to_end=False)
    assert player.wait_for_t(1, what=f"{what}, after dragging to the left")[:2] == seen[1][0][:2]
    return seen


def assert_heatmap_fills(seen: dict[int, tuple], n: int, where: str) -> None:
    """One grey column to come fewer per step; none at the last step (a few grey pixels of text edges stay)."""
    grey = {t: g for t, (_, g) in seen.items()}
    assert grey[1] > grey[2] > grey[n], f"{where}: grey pixels by step {grey}: the h heatmap does not fill up"
    assert grey[n] < 0.05 * grey[1], f"{where}: at the last step {grey[n]} grey pixels remain (step 1: {grey[1]})"
    per_column = (grey[1] - grey[n]) / (n - 1)
    assert abs((grey[1] - grey[2]) - per_column) < 0.15 * per_column, \
        f"{where}: step 2 coloured {grey[1] - grey[2]} grey pixels, one column is about {per_column:.0f}"


@pytest.mark.parametrize("notebook", [NOTEBOOK], indirect=True, scope="session")
def test_saved_prediction_players_move_without_a_kernel(notebook, artifacts):
    """As committed, before Run All: the saved frames move with the slider and show the right numbers."""
    assert not notebook.has_run, "this test looks at the saved outputs: it must come before the notebook runs"
    page = notebook.page.page
    saved = []
    for param in calls():
        call = param.values[1]
        player = find(notebook, call)
        player.wait_for_t(1, what="in the saved player")
        n = round(float(player.handle.get_attribute("aria-valuemax"))) + 1
        seen = walk(player, page, n, f"saved player under cell {call.cell}")
        assert_heatmap_fills(seen, n, f"saved player under cell {call.cell}")
        player.output.screenshot(path=artifacts / f"{Path(NOTEBOOK).stem}_cell{call.cell}_saved.png")
        saved.append((call, n, seen))
    assert len(saved) >= 3, f"{NOTEBOOK} should show at least 3 prediction players, found {len(saved)}"

    notebook.run()   # the numbers: only the kernel knows the trained matrices
    for call, n, seen in saved:
        model = model_of(notebook, call)
        frames = expected_frames(model["word"], model)
        assert n == len(frames), f"the saved player under cell {call.cell} has {n} frames, the word {len(frames)}"
        for t, (shown, _) in seen.items():
            assert_shows(shown, frames[t - 1], f"saved player under cell {call.cell}, t = {t}")


@pytest.mark.parametrize(("notebook", "call"), calls(), indirect=["notebook"], scope="session")
def test_prediction_player_shows_softmax_of_every_prefix(notebook, call, artifacts):
    notebook.run()
    model = model_of(notebook, call)
    frames = expected_frames(model["word"], model)
    n = len(frames)
    page = notebook.page.page
    player = find(notebook, call)
    where = f"player under cell {call.cell} ({model['word']!r})"

    seen = walk(player, page, n, where)
    for t, (shown, _) in seen.items():
        assert_shows(shown, frames[t - 1], f"{where}, t = {t}")
    assert_heatmap_fills(seen, n, where)
    stem = f"{Path(NOTEBOOK).stem}_cell{call.cell}"
    player.output.screenshot(path=artifacts / f"{stem}_t1.png")

    # a new word: the kernel draws its frames
    new_word = NEW_WORD if set(NEW_WORD) <= set(model["chars"]) else normalize(model["word"])[::-1]
    new_frames = expected_frames(new_word, model)
    player.word_box.fill(new_word)
    player.word_box.press("Enter")
    shown = wait_for(player.shown, lambda s: isinstance(s, tuple) and s[:2] == (1, new_word[0]),
                     what=f"the first frame of {new_word!r}")
    assert_shows(shown, new_frames[0], f"{where}, {new_word!r}, t = 1")
    wait_for(lambda: float(player.handle.get_attribute("aria-valuemax")), lambda last: last == len(new_word) - 1,
             what=f"the slider to span the {len(new_word)} frames of {new_word!r}")
    player.drag_slider(page, to_end=True)
    shown = player.wait_for_t(len(new_word), what=f"the last frame of {new_word!r}")
    assert_shows(shown, new_frames[-1], f"{where}, {new_word!r}, last frame")
    player.output.screenshot(path=artifacts / f"{stem}_{new_word}.png")
