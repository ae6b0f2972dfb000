"""The command line's shared options, defined once, and the value types every option uses.

A shared option means the same before or after the subcommand (``aimatrix --device cpu
layers`` and ``aimatrix layers --device cpu``); one that a subcommand does not take is
refused with a message naming it, never dropped. Bad values are argparse errors: exit
code 2 and one line naming the option, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Callable, Iterable, Sequence

from ..timing import DEFAULTS, QUICK

# -- value types ---------------------------------------------------------------------------
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def byte_size(text: str) -> int:
    """Bytes with an optional suffix: K M G T and Ki Mi Gi Ti are powers of 1024 (``4G`` is 4 GiB, as
    nccl-tests reads it); KB MB GB TB are powers of 1000."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?)?([bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: expected bytes such as 4096, 64K, 256Mi, 4G, 1GB")
    number, unit, b = m.groups()
    unit = (unit or "").lower()
    if unit and not unit.endswith("i") and not b:
        unit += "i"  # nccl-tests: 4G means 4 GiB
    value = float(number) * _UNITS[unit]
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: a size is a whole number of bytes >= 1")
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: sizes must be below 2^63 bytes")
    return int(value)


def _number(text: str, convert: Callable[[str], float], what: str, ok: Callable[[float], bool], allowed: str):
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: it must be {allowed}")
    return value


def positive_float(text: str) -> float:
    return _number(text, float, "a number", lambda v: v > 0, "a finite number > 0")


def non_negative_float(text: str) -> float:
    return _number(text, float, "a number", lambda v: v >= 0, "a finite number >= 0")


def fraction(text: str) -> float:
    """A fraction in (0, 1), or a percentage such as 1%."""
    pct = text.strip().endswith("%")
    value = positive_float(text.strip().rstrip("%")) / (100 if pct else 1)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: it must be between 0 and 1 (or 0% and 100%)")
    return value


def positive_int(text: str) -> int:
    return int(_number(text, int, "a whole number", lambda v: 1 <= v < 2**31, "a whole number from 1 to 2^31-1"))


def csv_list(
    allowed: Iterable[str] | Callable[[], Iterable[str]] | None = None, *, extra: Sequence[str] = ()
) -> Callable[[str], list[str]]:
    """A comma list whose items must be in ``allowed`` (a list, or a function giving it) or ``extra``."""

    def parse(text: str) -> list[str]:
        items = [v.strip() for v in text.split(",") if v.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"{text!r} is empty: give a comma list")
        if allowed is not None:
            known = list(allowed() if callable(allowed) else allowed) + list(extra)
            for v in items:
                if v not in known:
                    raise argparse.ArgumentTypeError(f"{v!r} is not allowed: expected one of {', '.join(known)}")
        return items

    return parse


def lazy(module: str, attr: str) -> Callable[[], Iterable[str]]:
    """The names ``module.attr`` lists (or returns, for a function), imported when an option is parsed:
    building the parser needs no PyTorch."""

    def get() -> Iterable[str]:
        import importlib

        value = getattr(importlib.import_module(module), attr)
        return value() if callable(value) else value

    return get


def add_framework_dtype(p: argparse.ArgumentParser) -> None:
    """--dtype of the commands that run through the torch backends (layers, macro)."""
    p.add_argument(
        "--dtype",
        type=csv_list(lazy("aimatrix.macro.backends.base", "DTYPES")),
        default=["fp32"],
        help="comma list of fp32, tf32, fp16, bf16 (default fp32)",
    )


def int_list(text: str) -> list[int]:
    return [positive_int(v) for v in csv_list()(text)]


# -- the shared options --------------------------------------------------------------------
#: name -> (flags, argparse keywords). Each is added to the top-level parser and to every
#: subcommand that names it in its ``SHARED`` tuple.
SHARED: dict[str, tuple[tuple[str, ...], dict]] = {
    "device": (("--device",), dict(metavar="DEV", help="auto (the first GPU, else the CPU), cpu, cuda, cuda:N")),
    "out": (
        ("--out",),
        dict(
            metavar="FILE.jsonl",
            help="JSON Lines file for the results (default: aimatrix-DEVICE-TIME.jsonl); a file "
            "holding another run is refused unless --resume or --append",
        ),
    ),
    "quick": (
        ("--quick",),
        dict(
            action="store_true",
            help=f"the same cases with a short time budget each ({QUICK['warmup']} s warm-up, "
            f"{QUICK['min_time']} s of samples, {QUICK['max_time']} s at most): numbers "
            "for a glance, less reproducible",
        ),
    ),
    "max_time": (
        ("--max-time",),
        dict(
            type=positive_float,
            metavar="S",
            help=f"seconds of samples per case at most (default {DEFAULTS['max_time']:g}; "
            f"--quick {QUICK['max_time']:g})",
        ),
    ),
    "target": (
        ("--target",),
        dict(
            type=fraction, metavar="F", help="stop when the median's 95%% CI half-width is below F (default 0.01 = 1%%)"
        ),
    ),
    "timer": (
        ("--timer",),
        dict(
            choices=["events", "cupti", "auto"],
            help="events (CUDA events, default), cupti (the device's kernel durations, the L2 "
            "flush left out), auto (CUPTI for cold samples under 50 us)",
        ),
    ),
    "keep_samples": (
        ("--keep-samples",),
        dict(action="store_true", help="keep every sample's time in the record (compare then uses a rank test)"),
    ),
    "discard_throttled": (
        ("--discard-throttled",),
        dict(
            action="store_true",
            help="drop samples taken while NVML reports a thermal or power-brake slowdown (the count is recorded)",
        ),
    ),
    "pause": (
        ("--pause",),
        dict(
            type=non_negative_float,
            metavar="S",
            help="seconds of idle before each case, so the GPU cools between cases",
        ),
    ),
    "resume": (("--resume",), dict(action="store_true", help="go on with the run in --out: skip its finished cases")),
    "append": (
        ("--append",),
        dict(action="store_true", help="add this run's records to an --out that holds another run"),
    ),
    "retry_failed": (("--retry-failed",), dict(action="store_true", help="with --resume: run failed cases again")),
    "isolate": (
        ("--isolate",),
        dict(action="store_true", help="run cases in a child process: a kernel fault or crash costs one case"),
    ),
    "timeout": (
        ("--timeout",),
        dict(
            type=positive_float,
            metavar="S",
            help="seconds a case may take before its process is ended (implies --isolate)",
        ),
    ),
    "csv": (("--csv",), dict(metavar="FILE", help="also write the results as CSV")),
    "devices": (
        ("--devices",),
        dict(
            metavar="all|LIST",
            help="run on several GPUs at once (one process each, results OUT.DEVICE.jsonl) "
            "and flag a device that is significantly slower than its peers",
        ),
    ),
}

#: The shared options of a suite subcommand (one that runs timed cases through the suite runner).
SUITE = (
    "device",
    "out",
    "quick",
    "max_time",
    "target",
    "timer",
    "keep_samples",
    "discard_throttled",
    "pause",
    "resume",
    "append",
    "retry_failed",
    "isolate",
    "timeout",
    "csv",
    "devices",
)

_TOP = "top_"  # dest prefix of a shared option given before the subcommand


def add_shared(parser: argparse.ArgumentParser, names: Iterable[str], *, top: bool = False) -> None:
    """Add the shared options ``names``; ``top``: on the top-level parser (dest ``top_NAME``)."""
    group = parser.add_argument_group("options shared by the suite commands (before or after the subcommand)")
    for name in names:
        flags, kw = SHARED[name]
        group.add_argument(*flags, dest=_TOP + name if top else name, default=argparse.SUPPRESS, **kw)


def merge_shared(
    args: argparse.Namespace, command: str, takes: Sequence[str], error: Callable[[str], None]
) -> argparse.Namespace:
    """Fold the options given before the subcommand into ``args``; every shared option gets its default.

    ``error`` (argparse's ``parser.error``) is called for an option the subcommand does not
    take, or one given before and after the subcommand with different values.
    """
    for name in SHARED:
        flag = SHARED[name][0][0]
        top = getattr(args, _TOP + name, None)
        if hasattr(args, _TOP + name):
            delattr(args, _TOP + name)
        if top is not None and top is not False:
            if name not in takes:
                error(
                    f"{flag} does not apply to '{command}' (it takes: "
                    f"{', '.join(SHARED[n][0][0] for n in takes) or 'none of the shared options'})"
                )
            here = getattr(args, name, None)
            if here is not None and here != top:
                error(f"{flag} was given twice with different values ({top!r} before '{command}', {here!r} after)")
            setattr(args, name, top)
        if not hasattr(args, name):
            setattr(args, name, False if SHARED[name][1].get("action") == "store_true" else None)
    if getattr(args, "device", None) is None and "device" in takes:
        args.device = "auto"
    return args
