"""SGD, RMSProp and Adam, written out once, on one vector holding every parameter (notebook 8, 'The update
by hand', writes the same lines and checks them against these). The constants are ``torch.optim``'s
defaults, but RMSProp's ``RHO``: 0.9, as in Hinton's lecture that introduced it (``RMSprop(alpha=0.9)``).
"""
from __future__ import annotations

import math

import torch

from .checks import check_choice

OPTIMIZERS = ("sgd", "rmsprop", "adam")
RHO, B1, B2, EPS = 0.9, 0.9, 0.999, 1e-8


class Optimizer:
    """``kind`` (one of ``OPTIMIZERS``) moving ``theta`` in place; ``m``, ``v``: what it remembers."""

    def __init__(self, kind: str, theta: torch.Tensor):
        self.kind, self.theta, self.k = check_choice("optimizer", kind, OPTIMIZERS), theta, 0
        self.m, self.v = torch.zeros_like(theta), torch.zeros_like(theta)

    def step(self, g: torch.Tensor, lr: float) -> None:
        """One update of ``theta`` along the gradient ``g``; ``k`` counts the updates (from 1)."""
        self.k += 1
        if self.kind == "sgd":                                            # theta -= lr * g
            self.theta.add_(g, alpha=-lr)
        elif self.kind == "rmsprop":                                      # no bias correction: v starts at 0
            self.v.mul_(RHO).addcmul_(g, g, value=1 - RHO)                # v = RHO * v + (1 - RHO) * g**2
            self.theta.addcdiv_(g, self.v.sqrt().add_(EPS), value=-lr)    # theta -= lr * g / (sqrt(v) + EPS)
        else:                                                             # Adam
            self.m.lerp_(g, 1 - B1)                                       # m = B1 * m + (1 - B1) * g
            self.v.mul_(B2).addcmul_(g, g, value=1 - B2)                  # v = B2 * v + (1 - B2) * g**2
            # m and v corrected for starting at 0: theta -= lr * (m / (1 - B1**k)) / (sqrt(v / (1 - B2**k)) + EPS)
            denominator = (self.v.sqrt() / math.sqrt(1 - B2 ** self.k)).add_(EPS)
            self.theta.addcdiv_(self.m, denominator, value=-lr / (1 - B1 ** self.k))


def clip_norm(g: torch.Tensor, max_norm: float | None) -> torch.Tensor:
    """The norm of ``g`` before clipping; ``g`` shrunk in place to length ``max_norm`` if longer, as
    ``torch.nn.utils.clip_grad_norm_``. (Under Adam, whose step is about ``lr`` whatever the gradient's
    length, clipping changes mostly how much one update counts in ``m`` and ``v``.)"""
    norm = g.norm()
    if max_norm is not None:
        g.mul_(torch.clamp(max_norm / (norm + 1e-6), max=1.0))
    return norm
