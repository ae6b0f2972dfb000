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

from .. import _check, run_options
from ..results.result import Result
from . import _run

KINDS = ("empty", "graph", "sync")


def launch(kind: str = "empty", *, device: str = "auto", telemetry: bool = False, **timing_options: Any) -> Result:
    """Measure one launch kind; ``Result.metrics['latency_us']`` is the median per launch in microseconds.

    The run options (``aimatrix.RunOptions``) but ``mode`` and ``seed``: a launch reads no data; ``telemetry`` is off
    unless asked for.
    """
    _check.choice("kind", kind, KINDS)
    how = run_options.check(dict(timing_options, device=device, telemetry=telemetry), exclude=("mode", "seed"))
    dev, _ = _run.resolve_backend("launch", "auto", how.device, ("cuda",), "cuda")
    ran = _run.run(
        dev,
        how,
        what="launch latency",
        cuda_call=lambda m: m.launch(dev.index, kind, how.timing),
        cpu_call=None,
    )
    return ran.result(
        "launch",
        {"kind": kind},
        dtype="",
        items=1.0,
        extra_metrics={"latency_us": ran.raw["stats"]["median_ms"] * 1e3},
    )
