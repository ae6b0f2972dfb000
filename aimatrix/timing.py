"""The native timing engine's Python face.

``measure(fn)`` times any callable with the same warm-up, statistics and stopping
rule as the native benchmarks: on a CUDA device with events recorded on the
stream around each sample, on the CPU with a steady clock. Layer and model
benchmarks use it; native micro benchmarks call the engine directly.

Fidelity options (every benchmark takes them, like the stopping rule's):

- ``timer``: ``"events"`` (CUDA events around each sample), ``"cupti"`` (CUPTI's
  device start/end of every kernel, memset and memcpy the sample's launches enqueued,
  summed: what Nsight reports; the L2 flush and the gap after it are left out) or
  ``"auto"`` (CUPTI for cold samples under ``auto_cupti_below_ms``, 50 µs, when CUPTI
  can run, events otherwise). ``stats.timer`` says which ran, ``stats.timer_note`` why the
  requested one did not, and under CUPTI ``stats.event_median_ms`` keeps the event time.
- ``keep_samples``: every timed sample in ``stats.samples_ms`` (and
  ``stats.event_samples_ms`` under CUPTI), to recompute or test the statistics.
- ``discard_throttled``: drop the samples taken while NVML reported a thermal or
  power-brake slowdown (``stats.discarded_throttled`` counts them).
- ``pause``: seconds of idle before the case (a settle pause between cases), in
  ``stats.pause_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import _check, _native
from .device import Device, resolve
from .errors import UnsupportedError

MODES = ("hot", "cold")
TIMERS = ("events", "cupti", "auto")

#: Timing options every benchmark accepts, with their defaults: the native stopping rule's own
#: (``StopRule`` in csrc/timing/measure.hpp, the one copy, with the reasons for each).
DEFAULTS: dict[str, Any] = dict(_native.core.timing_defaults())

#: ``--quick``: the same cases with a short budget each (0.15 s of warm-up, 0.2-1 s of samples): the
#: whole suite in under 2 minutes on an H100, at the price of a clock not yet settled under the
#: power cap (quick GEMMs read ~1-2% faster than full ones, bench/RESULTS.md). One warm-up sample
#: suffices where one sample outlasts the warm-up: a detection model's pass over its 28 images is
#: seconds, and its verification pass has just run.
QUICK = {"warmup": 0.15, "min_time": 0.2, "max_time": 1.0, "min_warmup_samples": 1}


#: What each option allows (checked by ``rule``): numbers finite, counts within the native engine's ``int``.
MAX_REPEAT = 10000  # the native engine's cap on launches per sample (StopRule::max_repeat)
_NUMBER_BOUNDS: dict[str, dict] = {
    "target": {"above": 0.0, "below": 1.0},
    "min_time": {"minimum": 0.0},
    "max_time": {"above": 0.0},
    "warmup": {"minimum": 0.0},
    "warmup_max": {"minimum": 0.0},
    "settle": {"above": 0.0},
    "auto_cupti_below_ms": {"minimum": 0.0},
    "pause": {"minimum": 0.0},
    "min_sample_ms": {"above": 0.0},
}
_SECONDS = ("warmup", "warmup_max", "min_time", "max_time")
_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "min_samples": (1, _check.INT32_MAX),
    "max_samples": (1, _check.INT32_MAX),
    "repeat": (0, MAX_REPEAT),
    "min_warmup_samples": (1, _check.INT32_MAX),
}


def rule(preset: dict | None = None, **options: Any) -> dict:
    """Checked native stopping-rule options from keyword arguments (unknown names are errors).

    The one place timing options are checked, for every benchmark: each number finite and in
    range, each count within the native engine's ``int``, and ``min_time <= max_time``,
    ``warmup <= warmup_max``, ``min_samples <= max_samples`` once the defaults are filled in.
    ``preset`` (e.g. ``QUICK``) supplies values the options do not set, shortened to fit ``max_time``.
    """
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in DEFAULTS:
            raise TypeError(f"unknown timing option {key!r}: expected one of {', '.join(DEFAULTS)}")
        if value is None:
            continue
        if key in _INT_BOUNDS:
            lo, hi = _INT_BOUNDS[key]
            out[key] = _check.integer(key, value, minimum=lo, maximum=hi)
        elif key in _FIDELITY:
            out[key] = _FIDELITY[key](key, value)
        else:
            out[key] = _check.number(key, value, **_NUMBER_BOUNDS[key])
    given = set(out)
    if preset:
        for key, value in preset.items():
            if key not in out:  # its times shortened to fit a max_time the caller set
                out[key] = min(value, out["max_time"]) if "max_time" in out and key in _SECONDS else value
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
    for first, second in (("min_time", "max_time"), ("warmup", "warmup_max"), ("min_samples", "max_samples")):
        if out[first] > out[second]:
            bad, other = (first, second) if first in given else (second, first)
            origin = "" if other in given else " (its default)"
            raise ValueError(
                f"{bad}={out[bad]!r} is not allowed: {first} must be <= {second}, and {other}={out[other]!r}{origin}"
            )
    return out


_FIDELITY: dict[str, Callable[[str, Any], Any]] = {
    "timer": lambda k, v: _check.choice(k, v, TIMERS),
    "keep_samples": _check.boolean,
    "discard_throttled": _check.boolean,
}


def cupti_unavailable_reason(device: str | Device = "auto") -> str | None:
    """Why ``timer="cupti"`` cannot run on ``device`` in this process, or None when it can."""
    dev = resolve(device)
    if not dev.is_cuda:
        return "timer='cupti' times GPU kernels: it needs a CUDA device"
    return _native.cuda().cupti_status() or None


def check_timer(opts: dict, device: str | Device) -> None:
    """UnsupportedError, before any work, when ``timer="cupti"`` is asked for and cannot run."""
    if opts.get("timer") == "cupti":
        why = cupti_unavailable_reason(device)
        if why:
            raise UnsupportedError(f"timer='cupti' cannot run: {why}")


def discard_throttled(raw: dict, timeline: list[tuple[float, int | None]], interval_s: float) -> dict:
    """``raw`` (the engine's dict) without the samples whose host-clock window came within one NVML
    interval of a reading that reported a thermal or power-brake slowdown; stats recomputed.

    ``stats.discarded_throttled`` counts what was dropped; when every sample was throttled none is
    dropped and ``stats.throttle_note`` says so.
    """
    from .system.telemetry import REASONS, SLOWDOWNS  # thermal, hardware and power-brake slowdowns

    t0s, t1s = raw.pop("sample_t0_s", None), raw.pop("sample_t1_s", None)
    stats = dict(raw["stats"])
    if t0s is None or not timeline:
        stats["discarded_throttled"] = 0
        stats["throttle_note"] = "no NVML timeline: nothing discarded"
        return {**raw, "stats": stats}
    mask = 0
    for name in SLOWDOWNS:
        mask |= REASONS.get(name, 0)
    hot = [t for t, reasons in timeline if reasons and reasons & mask]
    samples = raw["samples_ms"]
    keep = [i for i, (a, b) in enumerate(zip(t0s, t1s)) if not any(a - interval_s <= t <= b + interval_s for t in hot)]
    dropped = len(samples) - len(keep)
    if dropped and not keep:
        stats.update(discarded_throttled=0, throttle_note="every sample was taken while throttled: none discarded")
        return {**raw, "stats": stats}
    if dropped:
        kept = [samples[i] for i in keep]
        fresh = dict(_native.core.stats(kept))
        stats.update(
            {
                k: fresh[k]
                for k in (
                    "n",
                    "median_ms",
                    "mean_ms",
                    "min_ms",
                    "max_ms",
                    "stdev_ms",
                    "p10_ms",
                    "p90_ms",
                    "ci_lo_ms",
                    "ci_hi_ms",
                    "rel_ci",
                )
            }
        )
        if "samples_ms" in stats:
            stats["samples_ms"] = kept
        if "event_samples_ms" in stats:
            stats["event_samples_ms"] = [stats["event_samples_ms"][i] for i in keep]
        raw = {**raw, "samples_ms": kept}
    stats["discarded_throttled"] = dropped
    return {**raw, "stats": stats}


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


def measure(
    fn: Callable[[], Any],
    *,
    device: str | Device = "auto",
    mode: str = "hot",
    stream: int | None = None,
    telemetry: bool = True,
    **timing: Any,
) -> Measurement:
    """Time ``fn()`` (no arguments) with the native engine.

    On a CUDA device, ``fn`` must launch its work on ``stream`` (a ``cudaStream_t``
    as an int; default the legacy default stream, which is also PyTorch's default):
    events are recorded there around each sample. ``mode="cold"`` flushes the GPU's L2
    (on the CPU: the caches) before each sample. Options: see ``DEFAULTS``. On a GPU,
    NVML telemetry is sampled while it runs (``telemetry=False`` turns that off) and
    kept in ``Measurement.telemetry``; ``Result.from_measurement`` picks it up. The
    fidelity options (``timer``, ``keep_samples``, ``discard_throttled``, ``pause``) are
    described in the module doc; ``timer="cupti"`` where CUPTI cannot run raises
    UnsupportedError saying why.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    _check.choice("mode", mode, MODES)
    dev = resolve(device)
    opts = rule(**timing)
    check_timer(opts, dev)
    from .system.telemetry import TURNED_OFF, sampling

    # discard_throttled needs NVML's readings, so it samples even when the record is not wanted.
    with sampling(dev, enabled=telemetry or opts["discard_throttled"]) as tel:
        if dev.is_cuda:
            raw = _native.cuda().measure(fn, dev.index, int(stream or 0), mode == "cold", opts)
        else:
            raw = _native.core.measure(fn, mode == "cold", opts)
    if opts["discard_throttled"]:
        raw = discard_throttled(raw, tel.timeline, tel.interval_s)
    off = dict(TURNED_OFF) if dev.is_cuda else {}  # as the native benchmarks record it
    return Measurement(raw["stats"], raw["samples_ms"], str(dev), tel.data if telemetry else off)
