"""Notebook 8's backward player, driven in JupyterLab: each frame shows the gradient computed by hand here.

The test reads the notebook's own W, U, b, V and target from its live kernel,
runs backpropagation through time itself (the lines of the notebook's
section 2, independent of rnnlib.backprop), and checks that the player,
stepping from t = T down to 1, shows that dL/dh_t, its norm and the column
of U that receives gradient, to the 3 decimals it prints.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from labdriver import widget_calls
from rnnlib.backprop_pictures import backward_player
from rnnlib.vocab import normalize
from test_jupyterlab import WIDGET_VIEW, PlayerOnPage, tensor_expression, wait_for

pytestmark = pytest.mark.browser

NOTEBOOK = "08_how_it_learns.ipynb"
LABEL = re.compile(r"t = (\d+) · x_t = '(.)' · dL/dh_t = \[([-\d., ]*)\] · \|dL/dh_t\| = ([\d.]+) · U column '(.)'")
NEW_WORD = "chat"


def hand_bptt(word: str, a: dict) -> list[tuple]:
    """(t, x_t, dL/dh_t, |dL/dh_t|, U column) for t = T down to 1, by hand."""
    W, U, b, V = (torch.tensor(a[k]) for k in "WUbV")
    f = {"tanh": torch.tanh, "relu": torch.relu}[a["nonlinearity"]]
    index = {c: i for i, c in enumerate(a["chars"])}
    xs, hs, zs = [torch.eye(len(index))[:, [index[c]]] for c in word], [torch.zeros(W.shape[0], 1)], []
    for x in xs:
        zs.append(W @ hs[-1] + U @ x + b)
        hs.append(f(zs[-1]))
    o = V @ hs[-1]
    dh = V.T @ (torch.softmax(o, dim=0) - torch.eye(len(o))[:, [a["target"]]])
    frames = []
    for t in range(len(word), 0, -1):
        frames.append((t, word[t - 1], dh.flatten().tolist(), dh.norm().item(), word[t - 1]))
        fprime = 1 - hs[t] ** 2 if a["nonlinearity"] == "tanh" else (zs[t - 1] > 0).float()
        dh = W.T @ (dh * fprime)
    return frames


class BackwardPlayerOnPage(PlayerOnPage):
    def shown(self):
        texts = self.labels.all_inner_texts()
        if len(texts) != 1:
            return f"{len(texts)} visible frame labels"
        m = LABEL.search(texts[0])
        if not m:
            return texts[0]
        return int(m[1]), m[2], [float(v) for v in m[3].split(",")], float(m[4]), m[5]


def assert_shows(shown: tuple, expected: tuple, where: str) -> None:
    t, char, dh, norm, column = expected
    assert (shown[0], shown[1], shown[4]) == (t, char, column), \
        f"{where}: the label shows t, x_t, U column = {shown[0], shown[1], shown[4]}, expected {t, char, column}"
    assert len(shown[2]) == len(dh), f"{where}: dL/dh_t has {len(shown[2])} values, expected {len(dh)}"
    far = [(s, round(e, 4)) for s, e in zip(shown[2], dh) if abs(s - e) > 0.0005 + 1e-5]
    assert not far, f"{where}: dL/dh_t shown {shown[2]}, computed by hand {[round(e, 4) for e in dh]}"
    assert abs(shown[3] - norm) <= 0.0005 + 1e-5, f"{where}: |dL/dh_t| shown {shown[3]}, computed {norm:.4f}"


@pytest.mark.parametrize("notebook", [NOTEBOOK], indirect=True, scope="session")
def test_backward_player_shows_the_hand_computed_gradients(notebook, artifacts):
    notebook.run()
    (call,) = widget_calls(notebook.source, {"backward_player": backward_player})
    a = call.arguments
    arguments = notebook.page.kernel_json(
        f"{{'word': str({a['word']}), 'chars': list(({a['vocab']}).chars), "
        + ", ".join(f"'{k}': {tensor_expression(a[k])}" for k in "WUbV")
        + f", 'target': int({a['target']}), 'nonlinearity': {a['nonlinearity']}}}")
    word = normalize(arguments["word"])
    frames = hand_bptt(word, arguments)
    T = len(word)

    page = notebook.page.page
    outputs = notebook.page.cell(call.cell).locator(WIDGET_VIEW).filter(has=page.locator(".widget-play"))
    assert outputs.count() == 1, f"{NOTEBOOK}: no backward player drawn under cell {call.cell}"
    player = BackwardPlayerOnPage(outputs.nth(0), "backward_player")
    stem = Path(NOTEBOOK).stem

    # it opens at the last step, t = T, where the gradient comes in from V
    assert_shows(player.wait_for_t(T, what="as the backward player opens"), frames[0], f"first frame, t = {T}")
    # the slider moves backwards through time: one step right is t = T - 1, the end is t = 1
    player.handle.focus()
    page.keyboard.press("ArrowRight")
    assert_shows(player.wait_for_t(T - 1, what="after ArrowRight"), frames[1], f"t = {T - 1}")
    player.output.scroll_into_view_if_needed()
    player.output.screenshot(path=artifacts / f"{stem}_backward_t{T - 1}.png")
    page.keyboard.press("End")
    assert_shows(player.wait_for_t(1, what="after End"), frames[-1], "t = 1")
    player.drag_slider(page, to_end=False)
    assert_shows(player.wait_for_t(T, what="after dragging the slider to the left"), frames[0], f"back to t = {T}")

    # Play runs t = T down to 1 and shows every frame's gradient
    player.stop_button.click()
    player.play_button.click()
    seen = {}

    def record():
        shown = player.shown()
        if isinstance(shown, tuple):
            seen[shown[0]] = shown
        return min(seen, default=T + 1)

    wait_for(record, lambda t: t == 1, timeout_ms=30_000 + T * 1000, what="Play to reach t = 1")
    for t, shown in seen.items():
        assert_shows(shown, frames[T - t], f"playing, t = {t}")

    # a new word typed in the box: the kernel computes its backward pass
    player.word_box.fill(NEW_WORD)
    player.word_box.press("Enter")
    new_frames = hand_bptt(NEW_WORD, arguments)
    assert_shows(player.wait_for_t(len(NEW_WORD), NEW_WORD[-1], what=f"the frames of {NEW_WORD!r}"), new_frames[0],
                 f"{NEW_WORD!r}, t = {len(NEW_WORD)}")
    wait_for(lambda: float(player.handle.get_attribute("aria-valuemax")), lambda last: last == len(NEW_WORD) - 1,
             what=f"the slider to span the {len(NEW_WORD)} frames of {NEW_WORD!r}")
    player.drag_slider(page, to_end=True)
    assert_shows(player.wait_for_t(1, what=f"the last frame of {NEW_WORD!r}"), new_frames[-1], f"{NEW_WORD!r}, t = 1")
    player.output.screenshot(path=artifacts / f"{stem}_backward_{NEW_WORD}.png")
