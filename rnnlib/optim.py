"""SGD, RMSProp and Adam, written out once, on one vector holding every parameter.

Notebook 8, 'The update by hand', writes the same lines and checks them against these.
With ``g`` the gradient and ``k`` the update's number (from 1):

* SGD:     ``theta -= lr * g``
* RMSProp: ``v = RHO * v + (1 - RHO) * g**2``; ``theta -= lr * g / (sqrt(v) + EPS)``
  (no bias correction: ``v`` starts at zero and is too small for the first few updates)
* Adam:    ``m = B1 * m + (1 - B1) * g``, ``v = B2 * v + (1 - B2) * g**2``, both corrected
  for starting at zero: ``theta -= lr * (m / (1 - B1**k)) / (sqrt(v / (1 - B2**k)) + EPS)``

The constants are ``torch.optim``'s defaults, but for RMSProp's ``RHO``: 0.9, as Hinton's
lecture that introduced it (``torch.optim.RMSprop(alpha=0.9)`` makes the same steps).
"""
from __future__ import annotations

import math

import torch

OPTIMIZERS = ("sgd", "rmsprop", "adam")
RHO, B1, B2, EPS = 0.9, 0.9, 0.999, 1e-8


class Optimizer:
    """``kind`` (one of ``OPTIMIZERS``) moving ``theta`` in place; ``m``, ``v``: what it remembers."""

    def __init__(self, kind: str, theta: torch.Tensor):
        if kind not in OPTIMIZERS:
            raise ValueError(f"optimizer={kind!r}; allowed: {', '.join(OPTIMIZERS)}")
        self.kind, self.theta, self.k = kind, theta, 0
        self.m, self.v = torch.zeros_like(theta), torch.zeros_like(theta)

    def step(self, g: torch.Tensor, lr: float) -> None:
        """One update of ``theta`` along the gradient ``g``."""
        self.k += 1
        if self.kind == "sgd":
            self.theta.add_(g, alpha=-lr)
        elif self.kind == "rmsprop":
            self.v.mul_(RHO).addcmul_(g, g, value=1 - RHO)
            self.theta.addcdiv_(g, self.v.sqrt().add_(EPS), value=-lr)
        else:
            self.m.lerp_(g, 1 - B1)
            self.v.mul_(B2).addcmul_(g, g, value=1 - B2)
            denominator = (self.v.sqrt() / math.sqrt(1 - B2 ** self.k)).add_(EPS)
            self.theta.addcdiv_(self.m, denominator, value=-lr / (1 - B1 ** self.k))


def clip_norm(g: torch.Tensor, max_norm: float | None) -> torch.Tensor:
    """The norm of ``g`` before clipping; ``g`` shrunk in place to length ``max_norm`` if longer.

    As ``torch.nn.utils.clip_grad_norm_``. Under Adam, whose step is about ``lr`` whatever the
    gradient's length, clipping changes mostly how much one update counts in ``m`` and ``v``.
    """
    norm = g.norm()
    if max_norm is not None:
        g.mul_(torch.clamp(max_norm / (norm + 1e-6), max=1.0))
    return norm
