"""How long the players take to render one frame.

    python benchmarks/bench_anim.py     # prints anim_ms_per_frame=<median> (and _min, _max over seeds)

anim_ms_per_frame: one frame of notebook 5's matrix player (nhidden=8, the 7-character vocabulary
"acehktz"), the figure already laid out as in ``matrix_player``: the target is well under 50 ms,
so that a player for a typed word appears at once. The ``*_word_ms`` lines: all the frames of
"katze", layout and numbers included, for the matrix player, notebook 8's backward player and
notebook 13's prediction player (nhidden 64, 3 classes). Medians over 5 seeds of the matrices.
"""
from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from rnnlib.model import Classifier  # noqa: E402
from rnnlib.show.frames import StepPainter, backward_player, loop_frames  # noqa: E402
from rnnlib.show.heatmaps import prediction_player  # noqa: E402
from rnnlib.text import Labels, Vocab  # noqa: E402

VOCAB, WORD, SEEDS = Vocab("acehktz"), "katze", range(5)


def matrices(seed: int, nhidden: int = 8):
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(*shape, generator=gen) - 0.5 for shape in ((nhidden, nhidden), (nhidden, len(VOCAB)),
                                                                  (nhidden, 1), (3, nhidden))]


def ms(render) -> float:
    render()                                             # warm up: fonts and glyphs load on first use
    start = time.perf_counter()
    render()
    return (time.perf_counter() - start) * 1000


def ms_per_frame(seed: int) -> float:
    """The median time of one frame of the laid-out painter (the numbers need not be the step's)."""
    W, U, b, _ = matrices(seed)
    painter, h = StepPainter(WORD, VOCAB, W, U, b, "tanh", 1.0), torch.rand(8)
    return statistics.median(ms(lambda: painter.png(t, t, h, h, torch.eye(len(VOCAB))[t], h, h, h)) for t in range(1, 6))


def report(name: str, values: list[float]) -> None:
    print(f"{name}={statistics.median(values):.1f} {name}_min={min(values):.1f} {name}_max={max(values):.1f}")


if __name__ == "__main__":
    report("anim_ms_per_frame", [ms_per_frame(s) for s in SEEDS])
    report("matrix_word_ms", [ms(lambda: loop_frames(WORD, VOCAB, *matrices(s)[:3], "tanh")) for s in SEEDS])
    report("backward_word_ms", [ms(lambda: backward_player(WORD, VOCAB, *matrices(s), 0)) for s in SEEDS])
    clfs = [Classifier(VOCAB, Labels(["English", "French", "German"]), nhidden=64, seed=s) for s in SEEDS]
    report("prediction_word_ms", [ms(lambda: prediction_player(c, WORD)) for c in clfs])
