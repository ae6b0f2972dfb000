"""The native timing engine's Python face.

``measure(fn)`` times any callable with the same warm-up, statistics and stopping
rule as the native benchmarks: on a CUDA device with events recorded on the
stream around each sample, on the CPU with a steady clock. Layer and model
benchmarks use it; native micro benchmarks call the engine directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import _check, _native
from .device import Device, resolve

MODES = ("hot", "cold")

#: Timing options every benchmark accepts, with their defaults. ``QUICK`` trades
#: reproducibility for time (the CLI's --quick).
DEFAULTS: dict[str, float] = {
    "target": 0.01,       # stop when the 95% CI half-width of the median is below 1% of it
    "min_samples": 10,
    "max_samples": 100000,
    # Measured on an H100 at its 700 W cap (bench/stability.py, bench/RESULTS.md): a 4096^3
    # bf16 GEMM's median moved 5% run to run with 0.3 s of warm-up and 0.5 s of samples,
    # 0.2% with 2 s of each, as the clock settles under the power cap.
    "min_time": 2.0,      # seconds of timed samples at least
    "max_time": 10.0,     # and at most
    "warmup": 2.0,        # seconds of warm-up at least, then on until the times settle ...
    "warmup_max": 4.0,    # ... but no longer than this
    "settle": 0.01,       # settled: the median of a 0.1 s window moved less than this fraction
    "repeat": 0,          # launches per sample, 0 = auto (samples of >= 0.1 ms)
}

QUICK = {"warmup": 0.3, "min_time": 0.5}


#: What each option allows (checked by ``rule``): numbers finite, counts within the native engine's ``int``.
MAX_REPEAT = 10000  # the native engine's cap on launches per sample (StopRule::max_repeat)
_NUMBER_BOUNDS: dict[str, dict] = {"target": {"above": 0.0, "below": 1.0}, "min_time": {"minimum": 0.0},
                                   "max_time": {"above": 0.0}, "warmup": {"minimum": 0.0},
                                   "warmup_max": {"minimum": 0.0}, "settle": {"above": 0.0}}
_INT_BOUNDS: dict[str, tuple[int, int]] = {"min_samples": (1, _check.INT32_MAX), "max_samples": (1, _check.INT32_MAX),
                                           "repeat": (0, MAX_REPEAT)}


def rule(preset: dict | None = None, **options: Any) -> dict:
    """Checked native stopping-rule options from keyword arguments (unknown names are errors).

    The one place timing options are checked, for every benchmark: each number finite and in
    range, each count within the native engine's ``int``, and ``min_time <= max_time``,
    ``warmup <= warmup_max``, ``min_samples <= max_samples`` once the defaults are filled in.
    ``preset`` (e.g. ``QUICK``) supplies values the options do not set, shortened to fit ``max_time``.
    """
    out = {}
    for key, value in options.items():
        if key not in DEFAULTS:
            raise TypeError(f"unknown timing option {key!r}: expected one of {', '.join(DEFAULTS)}")
        if value is None:
            continue
        if key in _INT_BOUNDS:
            lo, hi = _INT_BOUNDS[key]
            out[key] = _check.integer(key, value, minimum=lo, maximum=hi)
        else:
            out[key] = _check.number(key, value, **_NUMBER_BOUNDS[key])
    given = set(out)
    if preset:
        for key, value in preset.items():
            if key not in out:
                out[key] = value if "max_time" not in out else min(value, out["max_time"])
    # A short budget shortens the minimum too, unless the caller set both.
    if "max_time" in out and "min_time" not in out:
        out["min_time"] = min(DEFAULTS["min_time"], out["max_time"])
        if "warmup" not in out and out["max_time"] < DEFAULTS["warmup"]:
            out["warmup"] = out["max_time"]
    # An explicit warm-up time is a fixed warm-up, unless its maximum is given too.
    if "warmup" in out and "warmup_max" not in out:
        out["warmup_max"] = out["warmup"]
    if "warmup_max" in out and "warmup" not in out:
        out["warmup"] = min(DEFAULTS["warmup"], out["warmup_max"])
    # Every option is passed on: these defaults, not the native engine's, are the ones in force.
    out = {**DEFAULTS, **out}
    for lo, hi in (("min_time", "max_time"), ("warmup", "warmup_max"), ("min_samples", "max_samples")):
        if out[lo] > out[hi]:
            bad, other = (lo, hi) if lo in given else (hi, lo)
            origin = "" if other in given else " (its default)"
            raise ValueError(f"{bad}={out[bad]!r} is not allowed: {lo} must be <= {hi}, and {other}={out[other]!r}"
                             f"{origin}")
    return out


@dataclass(frozen=True)
class Measurement:
    """Timing of a callable: per-launch samples (ms) and their statistics."""

    stats: dict
    samples_ms: list = field(repr=False)
    device: str = "cpu"
    telemetry: dict = field(default_factory=dict, repr=False)  # NVML record sampled during the measurement

    @property
    def median_ms(self) -> float:
        return self.stats["median_ms"]

    def __getitem__(self, key: str) -> Any:  # lets Result.from_measurement take it like the native dict
        return {"stats": self.stats, "samples_ms": self.samples_ms}[key]


def measure(fn: Callable[[], Any], *, device: str | Device = "auto", mode: str = "hot",
            stream: int | None = None, telemetry: bool = True, **timing: Any) -> Measurement:
    """Time ``fn()`` (no arguments) with the native engine.

    On a CUDA device, ``fn`` must launch its work on ``stream`` (a ``cudaStream_t``
    as an int; default the legacy default stream, which is also PyTorch's default):
    events are recorded there around each sample. ``mode="cold"`` flushes the GPU's L2
    (on the CPU: the caches) before each sample. Options: see ``DEFAULTS``. On a GPU,
    NVML telemetry is sampled while it runs (``telemetry=False`` turns that off) and
    kept in ``Measurement.telemetry``; ``Result.from_measurement`` picks it up.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    _check.choice("mode", mode, MODES)
    dev = resolve(device)
    opts = rule(**timing)
    from .results.telemetry import sampling

    with sampling(dev, enabled=telemetry) as tel:
        if dev.is_cuda:
            raw = _native.cuda().measure(fn, dev.index, int(stream or 0), mode == "cold", opts)
        else:
            raw = _native.core.measure(fn, mode == "cold", opts)
    return Measurement(raw["stats"], raw["samples_ms"], str(dev), tel.data)
