"""The prediction after every character, with ``h_t`` drawn as one heatmap column per step.

Notebook 12 ("What the RNN learned"), sections 3 and 4, writes these out:

    hidden_steps(clf, words)           h_1 ... h_T of each word: an nhidden x T matrix, column t is h_t
    prefix_probabilities(clf, words)   softmax(V @ h_t) for every prefix: a T x nclasses matrix
    PredictionPainter(clf, word)       one PNG per step: the h_t so far as a heatmap (nhidden x T),
                                       the bars of the classes' probabilities, the prefix x class heatmap
    prediction_player(clf, word)       those frames in the course's Player (slider, Play, word box)

``V @ h_t`` is what the model would answer if the word stopped after its
``t``-th character: the classifier is only trained on the last ``h``, so these
are the model's guesses on prefixes, not something it was taught to give.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import PIL.Image
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .model import NONLINEARITIES, Classifier
from .vocab import normalize

from .player import Player, frame

H_CMAP = "RdBu_r"        # h: blue below zero, white at zero, red above (as in the other players)
P_CMAP = "Greens"        # probabilities, 0 to 1
HIGHLIGHT = "#ffd54f"    # the current character / prefix
DPI = 80


@torch.no_grad()
def hidden_steps(clf: Classifier, words: Sequence[str]) -> list[torch.Tensor]:
    """``[h_1 ... h_T]`` of each word, as an ``nhidden x T`` matrix (column ``t-1`` is ``h_t``).

    One batch, left-padded, through ``h_t = f(W @ h_{t-1} + U @ x_t + b)``,
    keeping every step's ``H`` instead of only the last.
    """
    if isinstance(words, str):
        words = [words]
    rnn = clf.rnn
    X = clf.encode(list(words))                              # T x nvocab x B
    f = NONLINEARITIES[rnn.nonlinearity]
    H = torch.zeros(rnn.nhidden, X.shape[2], device=X.device, dtype=X.dtype)
    steps = []
    for t in range(X.shape[0]):
        started = X[t].sum(dim=0, keepdim=True) > 0          # False on left padding
        H = torch.where(started, f(rnn.W @ H + rnn.U @ X[t] + rnn.b), H)
        steps.append(H)
    steps = torch.stack(steps).cpu()                         # T x nhidden x B
    lengths = (X.sum(dim=1) > 0).sum(dim=0).tolist()         # characters of each word
    T = X.shape[0]
    return [steps[T - n:, :, b].T.contiguous() for b, n in enumerate(lengths)]


@torch.no_grad()
def prefix_probabilities(clf: Classifier, words: Sequence[str]) -> list[torch.Tensor]:
    """``softmax(V @ h_t)`` after each prefix of each word: a ``T x nclasses`` matrix per word."""
    V = clf.rnn.V.detach().cpu()
    return [torch.softmax(V @ H, dim=0).T for H in hidden_steps(clf, words)]


def prediction_label(word: str, t: int, p: Sequence[float], classes: Sequence[str]) -> str:
    """The text above frame ``t``: ``t = 3 · prefix 'kat' · English 0.20 · French 0.09 · German 0.71``."""
    shares = " · ".join(f"{c} {float(v):.2f}" for c, v in zip(classes, p))
    return f"t = {t} · prefix '{word[:t]}' · {shares}"


class PredictionPainter:
    """Draws the frames of one word: h so far | bars of ``softmax(V @ h_t)`` | prefix x class heatmap.

    The figure is laid out once; ``png(t)`` moves what changes (the columns
    of ``h`` shown, the bars, the boxed row) and renders it.
    """

    def __init__(self, clf: Classifier, word: str):
        self.word = normalize(word)
        self.classes = list(clf.labels.classes)
        (self.H,) = hidden_steps(clf, [self.word])
        self.P = torch.softmax(clf.rnn.V.detach().cpu() @ self.H, dim=0).T        # T x nclasses
        nh, T = self.H.shape
        C = len(self.classes)
        vmax = 1.0 if clf.rnn.nonlinearity == "tanh" else max(float(self.H.abs().max()), 1e-6)
        class_width = 0.6 if C <= 6 else 0.3
        # inches: the h panel, its colour bar and the class names, the bars, the prefixes, the table
        panels = [0.3 * max(T, 4) + 0.6, 1.6, 3.0, 0.35 + 0.085 * T, class_width * C]
        left, right = 0.8, 0.2
        width, height = left + sum(panels) + right, max(4.2, 0.22 * C + 2.2, 0.26 * T + 2.2)
        self.fig = Figure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(self.fig)
        grid = self.fig.add_gridspec(1, 5, width_ratios=panels, wspace=0, left=left / width,
                                     right=1 - right / width, top=1 - 0.5 / height,
                                     bottom=(1.3 if C > 6 else 0.6) / height)
        ax_h, ax_bar, ax_p = (self.fig.add_subplot(grid[0, i]) for i in (0, 2, 4))

        # h_1 ... h_T as columns; the columns after t are NaN (grey); the column of step t boxed
        self.h_image = ax_h.imshow(np.full((nh, T), np.nan), cmap=self._cmap(H_CMAP), aspect="auto",
                                   norm=Normalize(-vmax, vmax), interpolation="nearest", animated=True)
        ax_h.set_xticks(range(T), list(self.word), fontsize=12, family="monospace")
        ax_h.set_ylabel(f"h  ({nh} numbers)")
        ax_h.set_yticks([0, nh - 1], ["1", str(nh)])
        ax_h.set_title("$h_t$, one column per step", fontsize=11)
        self.fig.colorbar(self.h_image, ax=ax_h, fraction=0.5 / panels[0], pad=0.1 / panels[0])
        self.column_box = ax_h.add_patch(Rectangle((-0.5, -0.5), 1, nh, fill=False, edgecolor="black",
                                                   linewidth=2.5, animated=True, clip_on=False))

        # the bars of step t
        ys = np.arange(C)
        self.bars = ax_bar.barh(ys, np.zeros(C), color="#4c72b0", animated=True)
        self.bar_texts = [ax_bar.text(0, y, "", va="center", fontsize=9, animated=True) for y in ys]
        ax_bar.set_yticks(ys, self.classes, fontsize=10 if C <= 6 else 8)
        ax_bar.set_xlim(0, 1.18)
        ax_bar.set_xticks([0, 0.5, 1])
        ax_bar.invert_yaxis()
        self.bar_title = ax_bar.set_title("", fontsize=11, animated=True)

        # every prefix x every class; the row of step t boxed
        ax_p.imshow(self.P.numpy(), cmap=P_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        ax_p.set_yticks(range(T), [self.word[:t + 1] for t in range(T)], fontsize=10, family="monospace")
        ax_p.set_xticks(range(C), self.classes, rotation=90 if C > 6 else 0, fontsize=10 if C <= 6 else 8)
        if C <= 6:
            for (t, c), v in np.ndenumerate(self.P.numpy()):
                ax_p.text(c, t, f"{v:.2f}", ha="center", va="center", fontsize=9,
                          color="white" if v > 0.6 else "black")
        ax_p.set_title("every prefix", fontsize=11)
        self.row_box = ax_p.add_patch(Rectangle((-0.5, -0.5), C, 1, fill=False, edgecolor="black",
                                                linewidth=2.5, animated=True, clip_on=False))

        # what stays the same from frame to frame is drawn once, as a background
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.changing = [self.h_image, self.column_box, *self.bars, *self.bar_texts, self.bar_title,
                         self.row_box]

    @staticmethod
    def _cmap(name: str):
        import matplotlib

        return matplotlib.colormaps[name].with_extremes(bad="0.9")   # grey: the steps still to come

    def png(self, t: int) -> bytes:
        """Frame ``t`` (1 to T) as PNG bytes."""
        T = self.H.shape[1]
        if not 1 <= t <= T:
            raise ValueError(f"t must be between 1 and {T}, got {t}")
        shown = np.full(self.H.shape, np.nan)        # NaN: drawn grey
        shown[:, :t] = self.H[:, :t].numpy()
        self.h_image.set_data(shown)
        self.column_box.set_x(t - 1.5)
        for bar, text, v in zip(self.bars, self.bar_texts, self.P[t - 1].tolist()):
            bar.set_width(v)
            text.set_x(v + 0.02)
            text.set_text(f"{v:.2f}")
        self.bar_title.set_text(f"softmax($V@h_{{{t}}}$) after '{self.word[:t]}'")
        self.row_box.set_y(t - 1.5)
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for artist in self.changing:
            self.fig.draw_artist(artist)
        image = PIL.Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
        buffer = io.BytesIO()   # 256 colours: a third of the bytes, so the saved notebook stays small
        image.quantize(colors=256, method=PIL.Image.Quantize.FASTOCTREE).save(buffer, format="png")
        return buffer.getvalue()

    def label(self, t: int) -> str:
        return prediction_label(self.word, t, self.P[t - 1].tolist(), self.classes)


def prediction_frames(clf: Classifier, word: str) -> list[widgets.Widget]:
    """One labelled frame per character of ``word``."""
    painter = PredictionPainter(clf, word)
    return [frame(painter.label(t), painter.png(t)) for t in range(1, len(painter.word) + 1)]


def prediction_player(clf: Classifier, word: str) -> Player:
    """The prediction after every character of ``word``, step by step; type another word in its box."""
    return Player(word, lambda w: prediction_frames(clf, w))
