"""Checks that a record read from a results file has the types compare, report and export rely on.

Results files come from elsewhere (shared by colleagues, downloaded from CI). A record
with a wrongly typed field (``"op": 42``, ``"device": null``, a string where a time
belongs, ``"telemetry": {"sm_clock_mhz": 5}``, ``median_ms: 1e308``, nesting hundreds
of levels deep, a string that is not valid Unicode) would otherwise fail far from its
cause, in a chart's scale or a CSV writer. ``check_record`` raises ValueError naming
the first bad field, and the loader skips that line with a warning.

Fields the readers do not use are only checked for depth, valid strings and finite
numbers; the known fields below are checked for their type and a sane range.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping

#: The record's schema name and version, and the operations a record may be of.
SCHEMA_NAME, SCHEMA_VERSION = "aimatrix.result", 1
SCHEMA = f"{SCHEMA_NAME}/{SCHEMA_VERSION}"
OPS = ("gemm", "conv", "membw", "launch", "layer", "model", "synth", "collective")

MAX_DEPTH = 32  # levels of objects and arrays in one record (real records use 4)
MAX_TIME_MS = 1e12  # 30 years: a longer "time" is a broken record
MAX_FIGURE = 1e30  # rates, counts and sizes: larger is a broken record
MIN_FIGURE = 1e-30  # smallest non-zero magnitude, so that ratios of two figures stay finite
_OP = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON "\ud800" escapes decode to strings no file can hold

Check = Callable[[Any], bool]


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except OverflowError:  # an integer beyond the float range
        return False


def _figure(x: Any) -> bool:
    return _is_number(x) and _finite(x) and (x == 0 or MIN_FIGURE <= x <= MAX_FIGURE)


def _time(x: Any) -> bool:
    return _figure(x) and x < MAX_TIME_MS


# What each kind of field may hold (null is always allowed), and how the message says so.
KINDS: dict[str, tuple[Check, str]] = {
    "str": (lambda x: isinstance(x, str), "a string"),
    "bool": (lambda x: isinstance(x, bool), "true or false"),
    "number": (lambda x: _is_number(x) and _finite(x) and abs(x) <= MAX_FIGURE, "a finite number"),
    "figure": (_figure, f"a number from 0 to {MAX_FIGURE:g}"),
    "nonneg": (lambda x: _is_number(x) and _finite(x) and x >= 0, "a finite number >= 0"),
    "time": (_time, f"a time in ms from 0 to {MAX_TIME_MS:g}"),
    "positive time": (lambda x: _time(x) and x > 0, f"a time in ms above 0 and below {MAX_TIME_MS:g}"),
    "object": (lambda x: isinstance(x, Mapping), "an object"),
    "strings": (lambda x: isinstance(x, list) and all(isinstance(s, str) for s in x), "a list of strings"),
    "command": (
        lambda x: isinstance(x, str) or (isinstance(x, list) and all(isinstance(s, str) for s in x)),
        "a string or a list of strings",
    ),
    "spread": (
        lambda x: isinstance(x, Mapping) and all(v is None or KINDS["number"][0](v) for v in x.values()),
        "an object of numbers (min, median, max, ...)",
    ),
}

_TIMES = ("mean_ms", "min_ms", "max_ms", "stdev_ms", "p10_ms", "p50_ms", "p90_ms", "p99_ms", "ci_lo_ms", "ci_hi_ms")
#: The known fields of each section and their kind.
FIELDS: dict[str, dict[str, str]] = {
    "params": {"m": "number", "n": "number", "k": "number", "batch": "number"},
    "ran": {"algo": "str", "kernel": "str", "timer": "str"},
    "stats": {
        "median_ms": "positive time",
        **{k: "time" for k in _TIMES},
        "rel_ci": "figure",
        "n": "figure",
        "repeat": "figure",
        "warmup_samples": "figure",
        "wall_s": "figure",
        "converged": "bool",
        "timer": "str",
    },
    "metrics": {
        k: "figure"
        for k in (
            "flops",
            "bytes",
            "items",
            "tflops",
            "gbps",
            "items_per_s",
            "pct_of_peak",
            "peak_tflops",
            "peak_gbps",
            "avg_power_w",
            "joules_per_op",
            "tflops_per_watt",
            "items_per_joule",
            "latency_us",
            "algbw_gbps",
            "busbw_gbps",
            "macs",
            "peak_memory_bytes",
        )
    },
    "verify": {"rel_error": "nonneg", "tolerance": "nonneg", "passed": "bool"},
    "telemetry": {
        "unavailable": "str",
        "source": "str",
        "throttle_detail": "str",
        "avg_power_source": "str",
        "throttled": "bool",
        "throttle_reasons": "strings",
        "sm_clock_mhz": "spread",
        "mem_clock_mhz": "spread",
        "power_w": "spread",
        "temperature_c": "spread",
        **{
            k: "number"
            for k in (
                "interval_ms",
                "samples",
                "busy_samples",
                "window_s",
                "max_sm_clock_mhz",
                "power_limit_w",
                "energy_j",
                "avg_power_w",
            )
        },
    },
    "env": {
        "gpu": "object",
        "frameworks": "object",
        "cpu_count": "figure",
        "cpu_threads": "figure",
        **{k: "str" for k in ("aimatrix", "git_revision", "python", "platform", "host", "cpu", "numpy")},
    },
    "env.gpu": {
        "name": "str",
        "uuid": "str",
        "pci_bus_id": "str",
        "nvml_driver_version": "str",
        **{
            k: "figure"
            for k in (
                "cc_major",
                "cc_minor",
                "sm_count",
                "clock_khz",
                "mem_clock_khz",
                "bus_width_bits",
                "total_mem_bytes",
                "power_limit_w",
                "max_sm_clock_mhz",
            )
        },
    },
    "error": {"type": "str", "message": "str", "status": "str"},
    "run": {
        "run_id": "str",
        "started_utc": "str",
        "command": "command",
        "aimatrix": "str",
        "git_revision": "str",
        "host": "str",
    },
}


def _show(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(where: str, value: Any, kind: str) -> None:
    ok, allowed = KINDS[kind]
    if value is not None and not ok(value):
        raise ValueError(f"field {where!r} must be {allowed}, not {_show(value)}")


def _section(name: str, obj: Mapping) -> None:
    for key, kind in FIELDS[name].items():
        _check(f"{name}.{key}", obj.get(key), kind)


def _walk(record: Any) -> None:
    """Depth, strings that are valid Unicode, numbers that are finite: everywhere, without recursion."""
    stack = [(record, 0, "")]
    while stack:
        x, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"the record is nested deeper than {MAX_DEPTH} levels (in field {where.split('.')[0]!r})")
        if isinstance(x, str):
            if _SURROGATE.search(x):
                raise ValueError(f"field {where!r} holds a lone surrogate (\\ud800-\\udfff): not valid Unicode")
        elif isinstance(x, Mapping):
            for k, v in x.items():
                if not isinstance(k, str) or _SURROGATE.search(k):
                    raise ValueError(f"a key in field {where or 'the record'!r} is not a valid string: {_show(k)}")
                stack.append((v, depth + 1, f"{where}.{k}" if where else k))
        elif isinstance(x, list):
            stack.extend((v, depth + 1, where) for v in x)
        elif _is_number(x) and not _finite(x):
            raise ValueError(f"field {where!r} must be a finite number, not {_show(x)}")


def check_record(d: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first field of a result record with the wrong type or an absurd value."""
    _walk(d)
    missing = [k for k in ("op", "params", "backend", "dtype", "device") if k not in d]
    if missing:
        raise ValueError(f"result record is missing field(s) {', '.join(missing)}")
    for name in ("op", "backend", "dtype", "device"):
        if not isinstance(d[name], str):
            raise ValueError(f"field {name!r} must be a string, not {_show(d[name])}")
    if not _OP.fullmatch(d["op"]):  # a name, not a closed list: suites may add ops (the runner's tests do)
        raise ValueError(
            f"field 'op' is {_show(d['op'])}: not an op name (lower-case letters, digits, '_'; "
            f"aimatrix's own: {', '.join(OPS)})"
        )
    _check("case", d.get("case"), "str")
    if not isinstance(d["params"], Mapping):
        raise ValueError(f"field 'params' must be an object, not {_show(d['params'])}")
    for name in ("ran", "stats", "metrics", "verify", "telemetry", "env", "error", "run"):
        _check(name, d.get(name), "object")
    for name in ("params", "ran", "stats", "metrics", "verify", "telemetry", "env", "run"):
        _section(name, d.get(name) or {})
    if isinstance((d.get("env") or {}).get("gpu"), Mapping):
        _section("env.gpu", d["env"]["gpu"])
    if d.get("error") is not None:
        for key in ("type", "message"):
            if not isinstance(d["error"].get(key), str):
                raise ValueError(f"field 'error.{key}' must be a string, not {_show(d['error'].get(key))}")
        _section("error", d["error"])
