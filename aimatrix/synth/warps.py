"""Warps of conv layers: the analytic estimator, and the GPU measurement from the torch profiler.

A layer's warps are the warps launched to execute it: Σ over its kernels of
``grid size * ceil(block size / 32)``. :func:`estimate` applies the launch-shape
model of :mod:`aimatrix.synth.model`; :func:`measure_torch` runs a module on a CUDA
device under ``torch.profiler`` with one ``record_function`` range per conv/linear
module and sums the kernels launched inside each range (grid and block come from
the profiler's trace). :func:`calibrate` gives the scale between the two.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from bisect import bisect_right
from typing import Any, Iterable, Sequence

from .model import DEFAULT_WARP_MODEL, WarpModel, conv_warps

RANGE_PREFIX = "am_synth_layer#"


def estimate(layer: Any, warp_model: Any = None) -> int:
    """Analytic warps of a :class:`~aimatrix.synth.workload.Layer` (or anything with its fields)."""
    m = WarpModel.of(warp_model) if warp_model is not None else DEFAULT_WARP_MODEL
    return conv_warps(
        m,
        layer.batch,
        layer.out_h,
        layer.out_w,
        layer.cout,
        layer.groups,
        cin=layer.cin,
        kh=layer.kh,
        kw=layer.kw,
        stride=layer.stride_h,
    )


def kernel_warps(grid: Sequence[int], block: Sequence[int]) -> int:
    """grid size * ceil(block size / 32)."""
    g = math.prod(int(x) for x in grid)
    b = math.prod(int(x) for x in block)
    return g * -(-b // 32)


def warps_from_trace(trace: dict, prefix: str = RANGE_PREFIX) -> dict[int, dict]:
    """Per-range warps from a Kineto/Chrome trace dict (``torch.profiler`` ``export_chrome_trace``).

    Returns ``{range index: {"warps": int, "kernels": [names]}}``. A kernel belongs
    to the innermost ``prefix<N>`` user annotation that contains the CPU-side launch
    (runtime/driver event with the same correlation id) on the launching thread.
    """
    events = trace.get("traceEvents", trace if isinstance(trace, list) else [])
    ranges: dict[tuple, list[tuple[float, float, int]]] = {}
    launches: dict[int, tuple[tuple, float]] = {}
    kernels = []
    for e in events:
        if not isinstance(e, dict) or e.get("ph") != "X":
            continue
        cat = str(e.get("cat", "")).lower()
        name = str(e.get("name", ""))
        args = e.get("args") or {}
        if cat in ("user_annotation", "cpu_op") and name.startswith(prefix):
            try:
                idx = int(name[len(prefix) :])
            except ValueError:
                continue
            ranges.setdefault((e.get("pid"), e.get("tid")), []).append(
                (float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0)), idx)
            )
        elif cat in ("cuda_runtime", "cuda_driver") and "correlation" in args:
            launches[int(args["correlation"])] = ((e.get("pid"), e.get("tid")), float(e["ts"]))
        elif cat == "kernel" and "grid" in args and "block" in args:
            kernels.append((int(args.get("correlation", -1)), name, args["grid"], args["block"]))
    for v in ranges.values():
        v.sort()
    out: dict[int, dict] = {}
    for corr, name, grid, block in kernels:
        if corr not in launches:
            continue
        thread, ts = launches[corr]
        spans = ranges.get(thread, [])
        # innermost containing range: the latest-starting span that still contains ts
        pos = bisect_right(spans, (ts, math.inf, math.inf))
        hit = None
        for j in range(pos - 1, -1, -1):
            s, t, idx = spans[j]
            if s <= ts <= t:
                hit = idx
                break
        if hit is None:
            continue
        rec = out.setdefault(hit, {"warps": 0, "kernels": []})
        rec["warps"] += kernel_warps(grid, block)
        rec["kernels"].append(name)
    return out


def measure_torch(module: Any, x: Any, *, kinds: Iterable[type] | None = None, warmup: int = 2) -> list[dict]:
    """Run ``module(x)`` on its CUDA device under the torch profiler; per conv/linear call (in call order):
    ``{"name", "warps", "kernels"}``. Needs a CUDA build of torch and a GPU."""
    import torch
    from torch import nn
    from torch.profiler import ProfilerActivity, profile, record_function

    kinds = tuple(kinds or (nn.Conv2d, nn.Linear))
    names = {m: n for n, m in module.named_modules()}
    with torch.no_grad():
        for _ in range(warmup):  # lazy initialisation, cuDNN plans: kept out of the profile
            module(x)
    torch.cuda.synchronize()
    calls: list[str] = []
    open_ranges: list[Any] = []

    def pre(m, args):
        cm = record_function(f"{RANGE_PREFIX}{len(calls)}")
        calls.append(names.get(m, type(m).__name__))
        cm.__enter__()
        open_ranges.append(cm)

    def post(m, args, out):
        open_ranges.pop().__exit__(None, None, None)

    handles = []
    for m in module.modules():
        if isinstance(m, kinds):
            handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    try:
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof, torch.no_grad():
            module(x)
            torch.cuda.synchronize()
    finally:
        for h in handles:
            h.remove()
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        prof.export_chrome_trace(path)
        with open(path) as f:
            trace = json.load(f)
    finally:
        os.unlink(path)
    per = warps_from_trace(trace)
    return [
        {"name": calls[i], "warps": per.get(i, {}).get("warps", 0), "kernels": per.get(i, {}).get("kernels", [])}
        for i in range(len(calls))
    ]


def calibrate(layers: Iterable[Any], warp_model: Any = None) -> dict:
    """Scale and error of the estimator against measured warps of ``layers`` (those with warps_source 'measured').

    Returns ``{"scale": Σ measured / Σ estimated, "layers": n, "mean_abs_rel_error": ...,
    "median_abs_rel_error": ..., "errors": [per-layer (scaled estimate - measured) / measured]}``.
    """
    pairs = [
        (x.warps, estimate(x, warp_model))
        for x in layers
        if getattr(x, "warps_source", "") == "measured" and x.warps > 0
    ]
    if not pairs:
        raise ValueError("no layer has measured warps: profile on a CUDA device with warps='measure' first")
    scale = sum(m for m, _ in pairs) / sum(e for _, e in pairs)
    errs = [(scale * e - m) / m for m, e in pairs]
    a = sorted(abs(v) for v in errs)
    return {
        "scale": scale,
        "layers": len(pairs),
        "mean_abs_rel_error": sum(a) / len(a),
        "median_abs_rel_error": a[len(a) // 2],
        "errors": errs,
    }


def estimator_error(layers: Iterable[Any], warp_model: Any = None, *, warps: str = "warps", centers=None) -> dict:
    """The estimator's error against measured warps, unscaled: per layer (estimate - measured) / measured,
    its median / mean / max magnitude, and per input-size group (nearest centre in log2, as :func:`cluster`)
    the error of the group's total. ``warps``: the attribute (or dict key) holding the measured warps."""
    import statistics

    layers = list(layers)
    get = (lambda x, k: x[k]) if layers and isinstance(layers[0], dict) else getattr
    est = [estimate(x if not isinstance(x, dict) else _Rec(x), warp_model) for x in layers]
    meas = [int(get(x, warps)) for x in layers]
    errs = [(e - m) / m for e, m in zip(est, meas)]
    a = [abs(v) for v in errs]
    centers = centers or [224, 112, 56, 28, 14, 7]
    groups: dict = {}
    for x, e, m in zip(layers, est, meas):
        size = math.sqrt(int(get(x, "in_h")) * int(get(x, "in_w")))
        c = min(centers, key=lambda c: (abs(math.log2(size) - math.log2(c)), -c))
        ge, gm = groups.get(c, (0, 0))
        groups[c] = (ge + e, gm + m)
    return {
        "layers": len(a),
        "median_abs_rel_error": statistics.median(a),
        "mean_abs_rel_error": sum(a) / len(a),
        "max_abs_rel_error": max(a),
        "errors": errs,
        "groups": {c: (ge - gm) / gm for c, (ge, gm) in sorted(groups.items(), reverse=True)},
    }


class _Rec:
    """Attribute access to a measured-table row (CSV strings to ints)."""

    def __init__(self, d: dict) -> None:
        for k in ("batch", "out_h", "out_w", "cout", "groups", "cin", "kh", "kw"):
            setattr(self, k, int(d[k]))
        self.stride_h = int(d.get("stride_h", d.get("stride", 1)))


def load_measured(path: str | os.PathLike | None = None) -> list[dict]:
    """The checked-in H100 measurements (``data/h100_measured_warps.csv``): one dict per conv layer."""
    import csv

    p = path or os.path.join(os.path.dirname(__file__), "data", "h100_measured_warps.csv")
    with open(p, newline="") as f:
        return list(csv.DictReader(f))
