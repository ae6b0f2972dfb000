"""Launch-latency micro benchmark: ``aimatrix.launch``.

The host-side cost, in microseconds, of
- ``empty``: one launch of an empty kernel (cudaLaunchKernel returning; the GPU
  is synchronised between samples, outside the timed region, so the queue never fills);
- ``graph``: one cudaGraphLaunch of a graph holding one empty kernel;
- ``sync``: a launch followed by cudaStreamSynchronize (the round trip).
Timed on the host with a steady clock; several launches per sample when one is too short.
"""

from __future__ import annotations

from typing import Any

from .. import _check
from ..results.result import Result
from . import _run

KINDS = ("empty", "graph", "sync")


def launch(kind: str = "empty", *, device: str = "auto", telemetry: bool = False, **timing_options: Any) -> Result:
    """Measure one launch kind; ``Result.metrics['latency_us']`` is the median per launch in microseconds."""
    _check.choice("kind", kind, KINDS)
    opts = _run.timing_rule(timing_options)
    dev, _ = _run.resolve_backend("launch", "auto", device, ("cuda",), "cuda")
    raw, tel = _run.run(
        dev,
        telemetry=telemetry,
        what="launch latency",
        cuda_call=lambda m: m.launch(dev.index, kind, opts),
        cpu_call=None,
    )
    return _run.result(
        "launch",
        {"kind": kind},
        raw,
        dev=dev,
        dtype="",
        tel=tel,
        mode="hot",
        seed=0,
        items=1.0,
        extra_metrics={"latency_us": raw["stats"]["median_ms"] * 1e3},
    )
