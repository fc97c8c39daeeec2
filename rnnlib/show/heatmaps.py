"""The heat-map players of notebooks 13 to 15: a word's vectors as one column per step (``h_t`` and the gates
from ``forward``'s trace), and bars of what the model makes of them. One painter, ``Heatmaps``, for all three.
"""
from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle
from matplotlib.transforms import blended_transform_factory

from ..learned import prefix_probabilities
from ..lm import LanguageModel
from ..model import Classifier
from .draw import CMAP, HIGHLIGHT, TO_COME, UNIT_CMAP, Blit, Letters, check_steps, largest_abs, new_figure
from .player import Player, frame

START, BAR = "▸", "#4c72b0"          # the start symbol <L> of a language model's word; a bar's colour
MOST = 200                           # steps: a column each, at least 0.08 inch wide, and a frame each


class Heatmaps:
    """Step ``k``'s frame: ``maps`` (``(title, rows x T values, norm, cmap)``) stacked over the word's
    ``symbols``, the steps to come grey and step k boxed; ``bars`` (``(title, [(names, values, highlighted)
    per step])``) and the ``table`` (``(row names, column names, T x C values)``, row k boxed) beside them."""

    def __init__(self, symbols: list[str], maps: list, bars: tuple, table: tuple | None = None,
                 hide_to_come: bool = False):
        T, steps = len(symbols), bars[1]
        col, heights = min(0.32, max(0.08, 9 / T)), [min(2.0, max(0.9, 0.07 * len(m[1]))) for m in maps]  # inches
        height = max(sum(heights) + 0.45 * (len(maps) - 1), 0.24 * max(len(s[0]) for s in steps),
                     0.24 * T * bool(table), 1.8)
        widths = [0.75, col * T, 0.95, 0.1 * max(len(n) for s in steps for n in s[0]) + 0.35, 2.3]
        widths += [0.1 * T + 0.5, (0.6 if len(table[1]) <= 6 else 0.3) * len(table[1]) + 0.25] if table else []
        bottom = 1.2 if table and len(table[1]) > 6 else 0.6
        fig_width, fig_height = sum(widths), height + bottom + 0.7
        fig = self.fig = new_figure(fig_width, fig_height)

        def axes(x0, y0, w, h):                                      # a rectangle in inches from the bottom left
            return fig.add_axes((x0 / fig_width, y0 / fig_height, w / fig_width, h / fig_height))

        self.title = fig.text(0.1 / fig_width, 1 - 0.25 / fig_height, "", fontsize=12, va="center", animated=True)
        self.maps, self.boxes = [], []
        y, share = bottom + height, (height - 0.45 * (len(maps) - 1)) / sum(heights)
        for (title, values, norm, cmap), h in zip(maps, heights):
            y -= share * h
            ax = axes(widths[0], y, widths[1], share * h)
            image = ax.imshow(np.full(values.shape, np.nan), aspect="auto", interpolation="nearest", norm=norm,
                              cmap=matplotlib.colormaps[cmap].with_extremes(bad=TO_COME), animated=True)
            ax.set(xticks=[], yticks=[0, len(values) - 1], yticklabels=["1", str(len(values))])
            ax.set_title(title, fontsize=11, loc="left")
            fig.colorbar(image, cax=axes(widths[0] + widths[1] + 0.12, y, 0.12, share * h))
            self.maps.append((image, np.asarray(values, dtype=float)))
            self.boxes.append((ax.add_patch(Rectangle((-0.5, -0.5), 1, len(values), fill=False, lw=2.5, clip_on=False,
                                                      animated=True)), "x"))
            y -= 0.45
        self.letters = Letters(ax, symbols, 0, -0.03, 1, fontsize=min(13, 60 * col), hide_to_come=hide_to_come,
                               va="top", transform=ax.get_xaxis_transform())
        ax = axes(sum(widths[:4]), bottom, widths[4], height)        # the bars of step k
        n = max(len(s[0]) for s in steps)
        self.bars = [steps, ax.barh(np.arange(n), np.zeros(n), color=BAR, animated=True),
                     [ax.text(-0.02, i, "", ha="right", va="center", fontsize=10, family="monospace", animated=True,
                              transform=blended_transform_factory(ax.transAxes, ax.transData)) for i in range(n)],
                     [ax.text(0, i, "", va="center", fontsize=9, animated=True) for i in range(n)]]
        ax.set(xlim=(0, 1.2), ylim=(n - 0.5, -0.5), xticks=[0, 0.5, 1], yticks=[])
        ax.set_title(bars[0], fontsize=11)
        if table:                                                    # every prefix x every class, row k boxed
            rows, columns, values = table[0], table[1], np.asarray(table[2], dtype=float)
            ax, few = axes(sum(widths[:6]), bottom, widths[6] - 0.25, height), len(columns) <= 6
            ax.imshow(values, cmap=UNIT_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
            ax.set_yticks(range(len(rows)), rows, fontsize=10, family="monospace")
            ax.set_xticks(range(len(columns)), columns, rotation=0 if few else 90, fontsize=10 if few else 8)
            for (i, j), v in np.ndenumerate(values if few else np.zeros((0, 0))):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=9, color="white" if v > 0.6 else "black")
            ax.set_title("every prefix", fontsize=11)
            self.boxes.append((ax.add_patch(Rectangle((-0.5, -0.5), len(columns), 1, fill=False, lw=2.5, clip_on=False,
                                                      animated=True)), "y"))
        self.blit = Blit(fig, [self.title, *(image for image, _ in self.maps), *(box for box, _ in self.boxes),
                               *self.letters.texts, *self.bars[1], *self.bars[2], *self.bars[3]])

    def png(self, k: int, title: str) -> bytes:
        """The frame of step ``k`` (from 0)."""
        self.title.set_text(title)
        for image, values in self.maps:
            shown = values.copy()
            shown[:, k + 1:] = np.nan                                # NaN: drawn grey, still to come
            image.set_data(shown)
        for box, axis in self.boxes:
            box.set_x(k - 0.5) if axis == "x" else box.set_y(k - 0.5)
        self.letters.show(k)
        steps, bars, names, texts = self.bars
        step_names, values, highlighted = steps[k]
        for i, (bar, name, text) in enumerate(zip(bars, names, texts)):
            shown = i < len(values)                                  # a step with fewer bars: blanks
            bar.set(width=values[i] if shown else 0, color=HIGHLIGHT if i == highlighted else BAR)
            name.set_text(step_names[i] if shown else "")
            text.set(x=(values[i] if shown else 0) + 0.02, text=f"{values[i]:.2f}" if shown else "")
        return self.blit.png()


def _h_map(cell_name: str, H: torch.Tensor) -> tuple:
    vmax = 1.0 if cell_name in ("tanh", "gru") else largest_abs(H)   # tanh and the GRU keep h in -1..1
    return f"$h_t$ ({len(H)} numbers), one column per step", H, Normalize(-vmax, vmax), CMAP


def _prefix_frames(clf: Classifier, word: str, gates: bool = False) -> list:
    """The frames of ``word``: ``h_t`` (and the GRU's gates) as columns, ``softmax(V @ h_t)`` as bars."""
    codes = check_steps(clf.encode([word])[0][0], MOST)
    word = clf.vocab.decode(codes)
    trace = clf.rnn.forward(torch.tensor(codes, device=clf.rnn.device)[:, None])
    (P,) = prefix_probabilities(clf, [word])
    classes, maps = clf.labels.classes, [_h_map(clf.rnn.cell.name, trace.H[1:, 0].T.cpu())]
    if gates:                                    # the GRU keeps (r, z, n, W_n@h) of each step
        r, z = (torch.stack([kept[i][0] for kept in trace.saved]).T.cpu() for i in (0, 1))
        maps += [("update gate $z_t$ (1: keep $h_{t-1}$)", z, Normalize(0, 1), UNIT_CMAP),
                 ("reset gate $r_t$ (0: forget $W_n@h_{t-1}$)", r, Normalize(0, 1), UNIT_CMAP)]
    painter = Heatmaps(list(word), maps, ("softmax($V@h_t$)", [(classes, p.tolist(), None) for p in P]),
                       None if gates else ([word[:k + 1] for k, _ in enumerate(word)], classes, P))
    frames = []
    for k, p in enumerate(P.tolist()):
        shares = " · ".join(f"{c} {v:.2f}" for c, v in zip(classes, p))
        if gates:
            label = f"t = {k + 1} · x_t = '{word[k]}' · mean z_t = {z[:, k].mean():.2f} · mean r_t = {r[:, k].mean():.2f}"
            title = f"t = {k + 1}, x_t = '{word[k]}'"
        else:
            label, title = f"t = {k + 1} · prefix '{word[:k + 1]}'", f"softmax($V@h_{{{k + 1}}}$) after '{word[:k + 1]}'"
        frames.append(frame(f"{label} · {shares}", painter.png(k, title)))
    return frames


def prediction_player(clf: Classifier, word: str) -> Player:
    """The prediction after every character of ``word``: ``h_1 .. h_t``, ``softmax(V @ h_t)``, and the
    table of every prefix. Notebook 13, 'Prefixes'."""
    return Player(word, lambda w: _prefix_frames(clf, w))


def gate_player(model: Classifier, word: str) -> Player:
    """A GRU classifier over ``word``: ``h_t``, the update gate ``z_t`` (1 keeps ``h_{t-1}``) and the reset
    gate ``r_t`` (0 forgets ``W_n @ h_{t-1}``) as columns. Notebook 14, 'The gates at work'."""
    if model.rnn.cell.name != "gru":
        raise ValueError(f"gate_player shows the gates of a 'gru' model; this one's cell is {model.rnn.cell.name!r}")
    return Player(word, lambda w: _prefix_frames(model, w, gates=True))


def sampling_player(lm: LanguageModel, language: str, temperature: float = 1.0, seed: int = 0,
                    max_length: int = 30) -> Player:
    """A word of ``language`` drawn letter by letter by ``lm.sample`` (the same seed, the same word): the
    letters so far, ``h_t``, the bars of the next symbol's distribution (the 10 likeliest letters, ``<end>``
    and the symbol drawn, highlighted), which is fed back as ``x_{t+1}``. The box takes another language.
    Notebook 15, 'Sampling'."""

    def make_frames(language: str) -> list:
        (word,), (P,) = lm.sample(language, 1, temperature, seed, max_length, steps=True)
        codes = check_steps([lm.start(language)] + [lm.vocab.index[c] for c in word], MOST + 1)
        H = lm.rnn.forward(torch.tensor(codes, device=lm.rnn.device)[:, None]).H[1:, 0].T.cpu()
        names = lm.vocab.chars + ["<end>"]
        drawn = [names.index(c) for c in word] + ([lm.end] if len(word) < max_length else [])
        steps = []
        for p, got in zip(P.tolist(), drawn + [None]):
            top = [i for i in np.argsort(p)[::-1].tolist() if i != lm.end][:10] + [lm.end]
            top = sorted(set(top + [got]) - {None}, key=lambda i: (-p[i], i))
            steps.append(([names[i] for i in top], [p[i] for i in top], top.index(got) if got is not None else None))
        painter = Heatmaps([START, *word], [_h_map(lm.rnn.cell.name, H)], ("P(next symbol)", steps), hide_to_come=True)
        frames = []
        for k, (p, got) in enumerate(zip(P, drawn + [None])):
            what = f"drew '{names[got]}' (p = {p[got]:.2f})" if got is not None else f"stops: {max_length} letters"
            frames.append(frame(f"t = {k + 1} · so far '{word[:k]}' · {what}",
                                painter.png(k, f"{language}, temperature {temperature}: after '{word[:k]}', {what}")))
        return frames
    return Player(language, make_frames, description="language")
