"""The checks of what a user passes in, one copy each: a bad argument is refused before any work, in one
line (a ``ValueError``) naming the argument, what is allowed and (cut by ``quote``) what was given.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch

SEED_MAX = 2**64 - 1  # torch.Generator.manual_seed takes 0 .. 2**64 - 1


def quote(value: object, limit: int = 40) -> str:
    """``repr(value)`` (which escapes tabs, newlines, bidi marks) cut to about ``limit`` characters.

    >>> quote("a\\tb"), quote("x" * 1000, 4), quote(10**5000)
    ("'a\\\\tb'", "'xxxx'... (1,000 characters)", 'an integer of about 5,000 digits')
    """
    if isinstance(value, int) and value.bit_length() > 256:    # repr refuses past 4,300 digits
        return f"an integer of about {value.bit_length() * 0.30103:,.0f} digits"
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + f"... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


def one_line(text: str, limit: int = 400) -> str:
    """A message as one printable line: unprintable characters escaped, the middle cut past ``limit`` characters."""
    if len(text) > limit:
        text = f"{text[:limit // 2]} [... {len(text) - limit:,} characters cut ...] {text[-limit // 2:]}"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def check_int(name: str, value: object, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` if it is a whole number from ``minimum`` to ``maximum`` (no bound if None)."""
    if (not isinstance(value, int) or isinstance(value, bool) or value < minimum
            or (maximum is not None and value > maximum)):
        allowed = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        if maximum is not None:
            allowed = f"an integer from {minimum:,} to {maximum:,}"
        raise ValueError(f"{name} must be {allowed}, got {quote(value)}")
    return value


def check_seed(name: str, value: object) -> int:
    """A seed torch and ``random`` both take: a whole number from 0 to 2**64 - 1."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SEED_MAX:
        raise ValueError(f"{name} must be a whole number from 0 to 2**64 - 1, got {quote(value)}")
    return value


def check_positive(name: str, value: object, maximum: float | None = None, minimum: float | None = None) -> float:
    """``value`` if it is a finite number above 0 (from ``minimum``, to ``maximum``, where given)."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
            and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)):
        allowed = "above 0" if minimum is None else f"from {minimum:g}"
        if maximum is not None:
            allowed += f" to {maximum:g}" if minimum is not None else f" and at most {maximum:g}"
        raise ValueError(f"{name} must be a finite number {allowed}, got {quote(value)}")
    return value


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={quote(value)}; allowed: {', '.join(allowed)}")
    return value


def check_device(device: object):
    """``device`` as a ``torch.device`` if this machine has it (``"cpu"``, ``"cuda"``, ``"mps"``)."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device={quote(device)}; allowed: 'cpu', or 'cuda' / 'mps' where the machine has one"
                         ) from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device.type, False) or (device.type == "cuda" and device.index is not None
                                                   and device.index >= torch.cuda.device_count()):
        raise ValueError(f"device={str(device)!r} is not available on this machine; "
                         f"available: {', '.join(k for k, v in available.items() if v)}")
    return device
