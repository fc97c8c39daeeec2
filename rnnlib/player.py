"""The loop as an animation: a Play button and a slider over one pre-rendered frame per step.

    Player(word, make_frames)             the widget: Play, slider t, word box, a Stack of frames
    frame(label, png)                     one frame: a text label above a PNG
    matrix_player(word, vocab, W, U, b)   the loop h_t = f(W @ h_{t-1} + U @ x_t + b) of notebook 05
    scalar_player(word, vocab, weight)    the integer loop h = weight*h + x[t] of notebooks 02 and 03

A new player is a function that renders one PNG per step, wrapped in
``frame`` with its label, and ``Player``. The frames are pre-rendered and the
Play button and slider are linked to the Stack in the browser (``jslink``):
a saved notebook keeps its animations even with no kernel behind it. With a
kernel, typing a word in the word box renders that word's frames.
"""
from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from .cells import render_frames
from .pictures import format_number, render_scalar_frames
from .steps import Step, check_matrices, unroll, unroll_scalar
from .vocab import Vocab, normalize

PLAY_INTERVAL_MS = 800


class Player(widgets.VBox):
    """Play button, slider ``t`` and word box above a Stack of pre-rendered frames.

    ``make_frames(word)`` returns the list of frame widgets of a word (see
    ``frame``); it raises ValueError or TypeError for a word it cannot show.
    The parts stay reachable as attributes: ``stack``, ``play``, ``slider``,
    ``word_box``, ``message`` (the error of a bad word) and ``links``.
    Not written out in a notebook (widgets only); seen in notebook 05, 'Watch it run'.
    """

    def __init__(self, word: str, make_frames: Callable[[str], list[widgets.Widget]]):
        frames = make_frames(word)  # a bad first word is the caller's mistake: let it raise
        self.make_frames = make_frames
        self.stack = widgets.Stack(frames, selected_index=0)
        last = len(frames) - 1
        self.play = widgets.Play(value=0, min=0, max=last, interval=PLAY_INTERVAL_MS, description="play")
        # the slider runs over frame indexes 0..n-1 while the label says t = 1..n: hide its number
        self.slider = widgets.IntSlider(value=0, min=0, max=last, description="t", readout=False)
        # linked in the browser, so the animation plays without a kernel
        self.links = (widgets.jslink((self.play, "value"), (self.stack, "selected_index")),
                      widgets.jslink((self.slider, "value"), (self.stack, "selected_index")))
        self.word_box = widgets.Text(value=normalize(word), description="word", continuous_update=False)
        self.word_box.add_class("rnn-word-box")
        self.message = widgets.HTML("")
        self.word_box.observe(self._new_word, names="value")
        super().__init__([widgets.HBox([self.play, self.slider, self.word_box]), self.message, self.stack])

    def _new_word(self, change: dict) -> None:
        try:
            frames = self.make_frames(change["new"])
        except (ValueError, TypeError) as err:
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(err))}</span>"
            return
        self.message.value = ""
        self.play.playing = False  # a Play still running would carry on through the new word's frames
        for control in (self.play, self.slider):
            control.value = 0
        self.stack.selected_index = 0
        self.stack.children = frames
        for control in (self.play, self.slider):
            control.max = len(frames) - 1


def frame(label: str, png: bytes) -> widgets.VBox:
    """One frame of a Player: ``label`` (HTML, CSS class ``rnn-frame-label``) above the image ``png``."""
    text = widgets.HTML(html.escape(label, quote=False))
    text.add_class("rnn-frame-label")
    # max_width: a wide frame shrinks to the notebook's width instead of overflowing it
    image = widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%"))
    return widgets.VBox([text, image])


def frame_label(step: Step) -> str:
    """``t = 2 · x_t = 'a' · h_t = [0.12, -0.30, 0.05]``: the text above a frame.

    As printed in notebook 05, 'A nonlinearity and a bias' (h for katze).
    """
    h = ", ".join(f"{v:.2f}" for v in step.h.flatten().tolist())
    return f"t = {step.t} · x_t = '{step.char}' · h_t = [{h}]"


def scalar_frame_label(step: Step) -> str:
    """``t = 2 · x_t = 'a' (0) · h = 2``: the text above a frame of the integer loop.

    As printed step by step in notebook 02, 'The loop' and notebook 03, 'The recurrence'.
    """
    return f"t = {step.t} · x_t = '{step.char}' ({int(step.x.argmax())}) · h = {format_number(step.h.item())}"


def matrix_player(word: str, vocab: Vocab, W, U, b=None, nonlinearity: str | None = "tanh") -> Player:
    """The animated loop ``h_t = f(W @ h_{t-1} + U @ x_t + b)`` over ``word``, one frame per step.

    The loop is written out in notebook 05, 'A nonlinearity and a bias'; the player shows in
    notebook 05, 'Watch it run'.
    """
    check_matrices(vocab, W, U, b)

    def make_frames(word: str) -> list[widgets.Widget]:
        steps = unroll(word, vocab, W, U, b, nonlinearity)
        pngs = render_frames(steps, vocab, W, U, b, nonlinearity)
        return [frame(frame_label(s), png) for s, png in zip(steps, pngs)]

    return Player(word, make_frames)


def scalar_player(word: str, vocab: Vocab, weight: float = 1) -> Player:
    """The animated integer loop ``h = weight*h + x[t]`` over ``word``.

    Written out in notebook 02, 'The loop' (weight 1) and notebook 03, 'The recurrence' (weight 2).
    """

    def make_frames(word: str) -> list[widgets.Widget]:
        steps = unroll_scalar(word, vocab, weight)
        pngs = render_scalar_frames(steps, vocab, weight)
        return [frame(scalar_frame_label(s), png) for s, png in zip(steps, pngs)]

    return Player(word, make_frames)
