"""The checks of what a user passes in: one copy each, one-line messages.

Every public function and the command line refuse a bad argument with these,
before any work, and the message names the argument and what is allowed.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

SEED_MAX = 2**64 - 1  # torch.Generator.manual_seed takes 0 .. 2**64 - 1


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` if it is a whole number of at least ``minimum``, else a ``ValueError``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        allowed = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_seed(name: str, value: object) -> int:
    """A seed torch and ``random`` both take: a whole number from 0 to 2**64 - 1."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SEED_MAX:
        raise ValueError(f"{name} must be a whole number from 0 to 2**64 - 1, got {value!r}")
    return value


def check_positive(name: str, value: object) -> float:
    """``value`` if it is a finite number above 0 (not nan, not inf), else a ``ValueError``."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number above 0, got {value!r}")
    return value


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``, else a ``ValueError`` listing them."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r}; allowed: {', '.join(allowed)}")
    return value


def check_device(device: object):
    """``device`` as a ``torch.device`` if this machine has it (``"cpu"``, ``"cuda"``, ``"mps"``), else a ``ValueError``."""
    import torch

    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r}; allowed: 'cpu', or 'cuda' / 'mps' where the machine has one") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device.type, False) or (device.type == "cuda" and device.index is not None
                                                   and device.index >= torch.cuda.device_count()):
        raise ValueError(f"device={str(device)!r} is not available on this machine; "
                         f"available: {', '.join(k for k, v in available.items() if v)}")
    return device
