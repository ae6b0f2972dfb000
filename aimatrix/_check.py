"""Argument checks at the Python boundary: each error names the value and what is allowed.

Integers are refused past 64 bits (the native core's ``int64_t``) unless a smaller ``maximum``
is given, numbers when not finite, so no value reaches the C++ bindings that they would
misread or refuse with a conversion error. Size products are checked here too, in Python's
exact integers, before anything is allocated.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any, Iterable

from .errors import OutOfMemoryError

INT32_MAX = 2**31 - 1  # the native core's `int` options (sample counts, passes, GA sizes)
INT64_MAX = 2**63 - 1  # the native core's sizes and counts


def _bound(value: int) -> str:
    """A limit as written in messages: 2^31 - 1 and 2^63 - 1 by name, others as numbers."""
    named = {INT32_MAX: "2^31 - 1", INT64_MAX: "2^63 - 1"}
    return f"{value} ({named[value]})" if value in named else str(value)


def integer(name: str, value: Any, *, minimum: int, maximum: int = INT64_MAX) -> int:
    """An integer in minimum..maximum (TypeError for bools and non-integers, ValueError outside the range)."""
    allowed = (
        f"a positive integer, at most {_bound(maximum)}"
        if minimum == 1
        else f"an integer >= 0, at most {_bound(maximum)}"
        if minimum == 0
        else f"an integer in {minimum}..{_bound(maximum)}"
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} is not allowed: it must be {allowed}, not {type(value).__name__}")
    if not minimum <= int(value) <= maximum:
        raise ValueError(f"{name}={value!r} is not allowed: it must be {allowed}")
    return int(value)


def positive_int(name: str, value: Any, *, maximum: int = INT64_MAX) -> int:
    return integer(name, value, minimum=1, maximum=maximum)


def non_negative_int(name: str, value: Any, *, maximum: int = INT64_MAX) -> int:
    return integer(name, value, minimum=0, maximum=maximum)


def number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> float:
    """A finite number within the bounds given (``minimum``/``maximum`` inclusive, ``above``/``below`` exclusive)."""
    bounds = [f"{op} {b}" for op, b in ((">=", minimum), (">", above), ("<=", maximum), ("<", below)) if b is not None]
    allowed = " ".join(["a finite number", " and ".join(bounds)]).strip()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} is not allowed: it must be {allowed}, not {type(value).__name__}")
    v = float(value)
    if (
        not math.isfinite(v)
        or (minimum is not None and v < minimum)
        or (maximum is not None and v > maximum)
        or (above is not None and v <= above)
        or (below is not None and v >= below)
    ):
        raise ValueError(f"{name}={value!r} is not allowed: it must be {allowed}")
    return v


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is not allowed: it must be True or False")
    return value


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed: expected one of {', '.join(allowed)}")
    return value


def count(expr: str, *factors: int, itemsize: int = 1) -> int:
    """The product of sizes named by ``expr`` (e.g. ``"m*k*batch"``), refused when it, in bytes, passes 2^63 - 1.

    Native code computes these products in 64 bits; past that they would wrap (to 0 for m=k=2^31, batch=4).
    """
    total = math.prod(factors)
    if total * itemsize > INT64_MAX:
        why = (
            f"{INT64_MAX // itemsize} ({itemsize}-byte elements: 2^63 - 1 bytes)" if itemsize > 1 else _bound(INT64_MAX)
        )
        raise ValueError(f"{expr}={'*'.join(map(str, factors))}={total} is not allowed: it must be at most {why}")
    return total


def physical_memory() -> int | None:
    """This machine's physical memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def host_memory(what: str, nbytes: int | float) -> None:
    """OutOfMemoryError, before any allocation, when ``what`` needs more host memory than the machine has."""
    total = physical_memory()
    if total and nbytes > total:
        raise OutOfMemoryError(
            f"{what} needs {nbytes:.0f} bytes ({nbytes / 1e9:.3g} GB) of host memory, more than "
            f"this machine's {total} bytes ({total / 1e9:.3g} GB) of physical memory"
        )


def geometric_sizes(lo: int, hi: int, factor: int, names: tuple[str, str] = ("lo", "hi")) -> list[int]:
    """lo, lo * factor, ... up to hi (a bandwidth sweep, as nccl-tests' -b -e -f); ``names`` name lo and hi
    in the messages, as the caller's arguments are called."""
    lo, hi, factor = positive_int(names[0], lo), positive_int(names[1], hi), positive_int("factor", factor)
    if factor < 2 or hi < lo:
        raise ValueError(
            f"sizes {names[0]}={lo} to {names[1]}={hi} by x{factor} are not allowed: need "
            f"{names[1]} >= {names[0]} and factor >= 2"
        )
    out, size = [], lo
    while size <= hi:
        out.append(size)
        size *= factor
    return out
