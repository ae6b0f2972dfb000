"""NVML telemetry sampled while a measurement runs: clocks, power, temperature, throttling, energy.

``sampling(device)`` is a context manager: a background thread reads NVML every
``interval`` seconds (default 50 ms, ``AIMATRIX_TELEMETRY_INTERVAL_MS``) while the
block runs, and the total-energy counter is read at both ends. The timed region
is device work, so the thread costs the measurement nothing it can see (the
overhead is measured by ``bench/gpu_results.sh``)::

    with sampling(dev) as tel:
        raw = run_the_benchmark()
    Result.from_measurement(..., telemetry=tel.data)

``tel.data`` is the telemetry record (see docs/results-schema.md); where NVML or
a GPU is missing it is ``{}`` (CPU) or ``{"unavailable": "why"}`` and nothing
fails. ``AIMATRIX_TELEMETRY=0`` turns sampling off.

A result is flagged ``throttled`` when, while the GPU was busy, NVML reported a
thermal or hardware slowdown or power brake, or the SM clock fell below 75% of
its maximum (nvbench's threshold). Running at the power cap (``sw_power_cap``)
is recorded in ``throttle_reasons`` but is the normal state of a busy large GPU,
so it alone does not flag a result.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from .nvml import TelemetryUnavailable, device_handle, nvml_module, nvml_unavailable_reason, read

#: NVML clock event ("throttle") reason bits, by the name used in the records.
REASONS = {
    "gpu_idle": 0x1,
    "applications_clocks_setting": 0x2,
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sync_boost": 0x10,
    "sw_thermal_slowdown": 0x20,
    "hw_thermal_slowdown": 0x40,
    "hw_power_brake_slowdown": 0x80,
    "display_clock_setting": 0x100,
}
#: Reasons that mean the GPU ran slower than it should: a result measured under them is flagged.
SLOWDOWNS = ("hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown")
CLOCK_THRESHOLD = 0.75  # flag a result whose busy SM clock dropped below this fraction of the maximum
DEFAULT_INTERVAL_S = 0.05
#: The record of a GPU measurement whose telemetry was turned off (``telemetry=False``).
TURNED_OFF = {"unavailable": "turned off for this measurement"}


@dataclass
class _Sample:
    t: float
    sm_mhz: float | None
    mem_mhz: float | None
    power_w: float | None
    temp_c: float | None
    reasons: int | None
    energy_mj: float | None


class _Sampler:
    def __init__(self, handle, interval_s: float) -> None:
        self.nv = nvml_module()
        self.h = handle
        self.interval_s = interval_s
        self.samples: list[_Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aimatrix-nvml", daemon=True)
        reasons = (
            getattr(self.nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
            or self.nv.nvmlDeviceGetCurrentClocksThrottleReasons
        )
        self._reasons = reasons
        self.max_sm_mhz = read(self.nv.nvmlDeviceGetMaxClockInfo, handle, self.nv.NVML_CLOCK_SM)
        self.power_limit_w = read(self.nv.nvmlDeviceGetEnforcedPowerLimit, handle, scale=1e-3)

    def read(self) -> _Sample:
        nv, h = self.nv, self.h
        return _Sample(
            time.perf_counter(),
            read(nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_SM),
            read(nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_MEM),
            read(nv.nvmlDeviceGetPowerUsage, h, scale=1e-3),
            read(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU),
            read(self._reasons, h),
            read(nv.nvmlDeviceGetTotalEnergyConsumption, h),
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.samples.append(self.read())

    def start(self) -> None:
        self.samples.append(self.read())
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.read())
        return summarize(
            self.samples, interval_s=self.interval_s, max_sm_mhz=self.max_sm_mhz, power_limit_w=self.power_limit_w
        )


def _spread(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def summarize(
    samples: list[_Sample], *, interval_s: float, max_sm_mhz: float | None, power_limit_w: float | None
) -> dict:
    """The telemetry record from raw samples (the first at the start, the last at the end of the block)."""

    def busy(s: _Sample) -> bool:
        return s.reasons is None or not (s.reasons & REASONS["gpu_idle"])

    active = [s for s in samples if busy(s)] or samples
    seen = 0
    for s in active:
        seen |= s.reasons or 0
    reasons = [name for name, bit in REASONS.items() if seen & bit and name != "gpu_idle"]
    sm = [s.sm_mhz for s in active if s.sm_mhz is not None]
    mem = [s.mem_mhz for s in active if s.mem_mhz is not None]
    power = [s.power_w for s in active if s.power_w is not None]
    temps = [s.temp_c for s in samples if s.temp_c is not None]
    window_s = samples[-1].t - samples[0].t
    out: dict[str, Any] = {
        "source": "nvml",
        "interval_ms": 1e3 * interval_s,
        "samples": len(samples),
        "busy_samples": len(active),
        "window_s": window_s,
        "sm_clock_mhz": _spread(sm),
        "mem_clock_mhz": _spread(mem),
        "max_sm_clock_mhz": max_sm_mhz,
        "power_w": ({"mean": statistics.fmean(power), "max": max(power)} if power else None),
        "power_limit_w": power_limit_w,
        "temperature_c": ({"start": temps[0], "max": max(temps), "end": temps[-1]} if temps else None),
        "throttle_reasons": reasons,
    }
    # Energy: the counter's delta over the whole block, and the average power over the
    # intervals in which the GPU was busy (leaving out setup while it idled).
    e0, e1 = samples[0].energy_mj, samples[-1].energy_mj
    if e0 is not None and e1 is not None and window_s > 0:
        out["energy_j"] = (e1 - e0) / 1e3
        de = dt = 0.0
        for a, b in zip(samples, samples[1:]):
            if busy(a) and busy(b) and a.energy_mj is not None and b.energy_mj is not None and b.t > a.t:
                de += b.energy_mj - a.energy_mj
                dt += b.t - a.t
        out["avg_power_w"] = (de / 1e3 / dt) if dt > 0 and de > 0 else out["energy_j"] / window_s
        out["avg_power_source"] = "energy_counter"
    elif power:
        out["energy_j"] = None
        out["avg_power_w"] = statistics.fmean(power)
        out["avg_power_source"] = "power_samples"
    why = [r for r in reasons if r in SLOWDOWNS]
    if sm and max_sm_mhz and min(sm) < CLOCK_THRESHOLD * max_sm_mhz:
        why.append(f"sm_clock {min(sm):.0f} MHz < {CLOCK_THRESHOLD:.0%} of max {max_sm_mhz:.0f} MHz")
    out["throttled"] = bool(why)
    if why:
        out["throttle_detail"] = "; ".join(why)
    return out


@dataclass
class Recording:
    """Filled when the ``sampling`` block ends: ``data`` is the telemetry record."""

    data: dict = field(default_factory=dict)
    #: (time.perf_counter(), clock-event reason bits) of every NVML reading (timing.discard_throttled uses it).
    timeline: list = field(default_factory=list)
    interval_s: float = DEFAULT_INTERVAL_S


def _interval() -> float:
    """AIMATRIX_TELEMETRY_INTERVAL_MS in seconds (at least 1 ms), the default where unset."""
    v = os.environ.get("AIMATRIX_TELEMETRY_INTERVAL_MS", "")
    if not v:
        return DEFAULT_INTERVAL_S
    try:
        ms = float(v)
    except ValueError:
        ms = math.nan
    if not (math.isfinite(ms) and ms > 0):
        raise ValueError(f"AIMATRIX_TELEMETRY_INTERVAL_MS={v!r} is not allowed: a number of milliseconds > 0")
    return max(0.001, ms / 1e3)


@contextmanager
def sampling(device, *, enabled: bool = True, interval: float | None = None) -> Iterator[Recording]:
    """Sample NVML telemetry of ``device`` (a Device or name) while the block runs; see the module doc."""
    from ..device import resolve

    rec = Recording()
    dev = resolve(device)
    if not dev.is_cuda:
        yield rec
        return
    if not enabled:
        rec.data = dict(TURNED_OFF)
        yield rec
        return
    reason = nvml_unavailable_reason()
    sampler = None
    if reason is None:
        from .env import device_info

        try:
            sampler = _Sampler(device_handle(device_info(dev)), interval or _interval())
            sampler.start()
        except TelemetryUnavailable as e:
            reason = str(e)
    if sampler is None:
        rec.data = {"unavailable": reason}
        yield rec
        return
    try:
        yield rec
    finally:
        rec.data = sampler.stop()
        rec.timeline = [(s.t, s.reasons) for s in sampler.samples]
        rec.interval_s = sampler.interval_s
