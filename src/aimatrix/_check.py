"""Argument checks at the Python boundary: each error names the value and what is allowed."""

from __future__ import annotations

import numbers
from typing import Any, Iterable


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} is not allowed: it must be a positive integer, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}={value!r} is not allowed: it must be a positive integer")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} is not allowed: it must be an integer >= 0, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name}={value!r} is not allowed: it must be an integer >= 0")
    return int(value)


def number(name: str, value: Any, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} is not allowed: it must be a number, not {type(value).__name__}")
    if minimum is not None and not value >= minimum:
        raise ValueError(f"{name}={value!r} is not allowed: it must be >= {minimum}")
    return float(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is not allowed: it must be True or False")
    return value


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed: expected one of {', '.join(allowed)}")
    return value
