"""How long the player takes to render one frame of the matrix recurrence.

    python benchmarks/bench_anim.py          # prints anim_ms_per_frame=<float>

The target is well under 50 ms a frame (nhidden=8, the 7-character vocabulary
"acehktz"), so that a player for a typed word appears at once.
"""
from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from rnnlib.cells import FramePainter  # noqa: E402
from rnnlib.steps import unroll  # noqa: E402
from rnnlib.vocab import Vocab  # noqa: E402


def ms_per_frame(nhidden: int = 8, word: str = "katze", repeats: int = 5) -> float:
    """Median milliseconds to render one frame, the figure already laid out (as in ``player``)."""
    vocab = Vocab("acehktz")
    gen = torch.Generator().manual_seed(0)
    W = torch.rand(nhidden, nhidden, generator=gen) - 0.5
    U = torch.rand(nhidden, len(vocab), generator=gen) - 0.5
    steps = unroll(word, vocab, W, U)
    painter = FramePainter(word, vocab, W, U)
    painter.png(steps[0])  # warm up: fonts and glyphs load on first use
    times = []
    for _ in range(repeats):
        for step in steps:
            start = time.perf_counter()
            painter.png(step)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    print(f"anim_ms_per_frame={ms_per_frame():.1f}")
