"""The course's player: Play and a slider over pre-rendered frames, linked in the browser (``jslink``),
so that a saved notebook animates with no kernel behind it; with a kernel, a word typed in the box
gets its own frames. Widgets only: no notebook writes this code out.
"""
from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
from IPython.display import Image

PLAY_INTERVAL_MS = 800


class Player(widgets.VBox):
    """Play, slider ``t`` and a word box (``description`` names what it holds) above a Stack of the frames
    ``make_frames(word)`` returns. ``make_frames`` raises a one-line ValueError or TypeError for a word it
    cannot show: the first word's error is raised, a typed word's is shown in ``message``, the frames stay."""

    def __init__(self, word: str, make_frames: Callable[[str], list[widgets.Widget]], description: str = "word"):
        frames, self.make_frames = make_frames(word), make_frames
        self.stack = widgets.Stack(frames, selected_index=0)
        last = len(frames) - 1
        self.play = widgets.Play(value=0, min=0, max=last, interval=PLAY_INTERVAL_MS, description="play")
        # the slider runs over frame numbers 0..n-1 while the label says which t: hide its number
        self.slider = widgets.IntSlider(value=0, min=0, max=last, description="t", readout=False)
        self.links = (widgets.jslink((self.play, "value"), (self.stack, "selected_index")),
                      widgets.jslink((self.slider, "value"), (self.stack, "selected_index")))
        self.word_box = widgets.Text(value=word, description=description, continuous_update=False)
        self.word_box.add_class("rnn-word-box")
        self.message = widgets.HTML("")
        self.word_box.observe(self._new_word, names="value")
        super().__init__([widgets.HBox([self.play, self.slider, self.word_box]), self.message, self.stack])

    def __repr__(self) -> str:
        """What a viewer without widgets shows (and nbval compares): the word and its last frame's label."""
        frames = self.stack.children
        return f"Player of {self.word_box.value!r}, {len(frames)} frames; the last: {html.unescape(frames[-1].children[0].value)}"

    def picture(self) -> Image:
        """The last frame's picture alone, for a page without scripts (notebooks 13 and 15 show it)."""
        return Image(self.stack.children[-1].children[1].value)

    def _new_word(self, change: dict) -> None:
        try:
            frames = self.make_frames(change["new"])
        except (ValueError, TypeError) as err:
            line = (str(err).splitlines() or [type(err).__name__])[0]
            self.message.value = f"<span style='color:#b00020'>{html.escape(line)}</span>"
            return
        self.message.value = ""
        self.play.playing = False        # a Play still running would carry on through the new frames
        self.play.value = self.slider.value = self.stack.selected_index = 0
        self.stack.children = frames
        self.play.max = self.slider.max = len(frames) - 1


def frame(label: str, png: bytes) -> widgets.VBox:
    """One frame of a Player: ``label`` (CSS class ``rnn-frame-label``) above the image ``png``."""
    text = widgets.HTML(html.escape(label, quote=False))
    text.add_class("rnn-frame-label")
    # max_width: a wide frame shrinks to the notebook's width instead of overflowing it
    return widgets.VBox([text, widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%"))])
