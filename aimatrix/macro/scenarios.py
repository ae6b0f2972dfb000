"""MLPerf inference scenarios for the model tier: natively, or through MLCommons LoadGen.

- ``offline``: throughput at the model's batch (the native engine's stopping rule; with
  LoadGen, one query of every sample, run in batches).
- ``single_stream``: one query (one sample) at a time, the next issued when the last
  completes; latency = issue to completion on the host clock, device synchronised.
  MLPerf's rule: at least ``min_queries`` (1024) queries and ``min_duration`` (60 s);
  p50/p90/p99 come from all of them. Smaller minima (tests, quick runs) are allowed
  and recorded; the Result then says the run is not MLPerf-valid.
- ``multi_stream``: queries of ``samples_per_query`` (8) samples one after another,
  the model run at that batch; p99 latency (LoadGen only).
- ``server``: single-sample queries arriving as a Poisson process at ``target_qps``, a
  latency bound ``latency_bound_ms`` on the 99th percentile; without ``target_qps``
  LoadGen searches for the highest QPS that meets the bound (LoadGen only).

With LoadGen (``pip install mlcommons-loadgen``) its summary and detail logs are
written to ``log_dir`` and their paths kept in the Result.
"""

from __future__ import annotations

import importlib
import math
import re
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import _check, _native
from ..errors import UnsupportedError

SCENARIOS = ("offline", "single_stream", "multi_stream", "server")
NATIVE = ("offline", "single_stream")  # run without LoadGen
LOADGEN_PIP = "pip install mlcommons-loadgen"
#: MLPerf inference's minima for a performance run (single_stream, multi_stream, server).
MLPERF_MIN_QUERIES = 1024
MLPERF_MIN_DURATION_S = 60.0
MLPERF_SAMPLES_PER_QUERY = 8  # multi_stream


@dataclass(frozen=True)
class Settings:
    """A scenario and its checked arguments."""

    scenario: str
    min_queries: int = MLPERF_MIN_QUERIES
    min_duration: float = MLPERF_MIN_DURATION_S
    max_duration: float | None = None
    target_qps: float | None = None
    latency_bound_ms: float | None = None
    samples_per_query: int = MLPERF_SAMPLES_PER_QUERY
    loadgen: bool = False
    log_dir: Path | None = None

    @property
    def mlperf_minima(self) -> bool:
        """The run asks for at least MLPerf's query count and duration."""
        return self.min_queries >= MLPERF_MIN_QUERIES and self.min_duration >= MLPERF_MIN_DURATION_S


def loadgen_module() -> Any | None:
    """``mlperf_loadgen`` when installed, else None."""
    try:
        return importlib.import_module("mlperf_loadgen")
    except ImportError:
        return None


def settings(
    scenario: str,
    *,
    min_queries: int | None = None,
    min_duration: float | None = None,
    max_duration: float | None = None,
    target_qps: float | None = None,
    latency_bound_ms: float | None = None,
    samples_per_query: int | None = None,
    loadgen: bool | None = None,
    log_dir: str | Path | None = None,
) -> Settings:
    """Checked scenario arguments. ``loadgen``: None = use LoadGen when installed (required for
    ``multi_stream``/``server``), True = require it, False = native (``offline``/``single_stream`` only)."""
    _check.choice("scenario", scenario, SCENARIOS)
    kw: dict[str, Any] = {"scenario": scenario}
    if min_queries is not None:
        kw["min_queries"] = _check.positive_int("min_queries", min_queries)
    if min_duration is not None:
        kw["min_duration"] = _check.number("min_duration", min_duration, minimum=0.0)
    if max_duration is not None:
        kw["max_duration"] = _check.number("max_duration", max_duration, minimum=0.0)
        if kw["max_duration"] <= 0:
            raise ValueError(f"max_duration={max_duration!r} is not allowed: it must be > 0 seconds")
    if samples_per_query is not None:
        kw["samples_per_query"] = _check.positive_int("samples_per_query", samples_per_query)
    for name, value in (("target_qps", target_qps), ("latency_bound_ms", latency_bound_ms)):
        if value is not None:
            v = _check.number(name, value)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{name}={value!r} is not allowed: it must be a finite number > 0")
            kw[name] = v
    if scenario != "server" and (target_qps is not None or latency_bound_ms is not None):
        raise ValueError(f"target_qps and latency_bound_ms are for scenario='server', not {scenario!r}")
    if scenario == "server" and latency_bound_ms is None:
        raise ValueError("scenario='server' needs latency_bound_ms (the bound on the 99th-percentile latency)")
    if loadgen is not None:
        loadgen = _check.boolean("loadgen", loadgen)
    have = loadgen_module() is not None
    if scenario not in NATIVE and loadgen is False:
        raise ValueError(f"scenario={scenario!r} runs only through LoadGen: loadgen=False is not allowed")
    if (scenario not in NATIVE or loadgen) and not have:
        raise UnsupportedError(f"scenario={scenario!r} with LoadGen needs MLCommons LoadGen: {LOADGEN_PIP}")
    kw["loadgen"] = have if loadgen is None else loadgen
    if log_dir is not None:
        kw["log_dir"] = Path(log_dir)
    return Settings(**kw)


def _stats(samples_ms: list[float], *, met: bool, warmup: int, wall_s: float, timer: str) -> dict:
    stats = dict(_native.core.stats(samples_ms))
    stats.update(converged=met, repeat=1, warmup_samples=warmup, wall_s=wall_s, timer=timer)
    return stats


def percentiles(samples_ms: list[float]) -> dict:
    """latency_p50/p90/p99_ms of query latencies."""
    import numpy as np

    return {f"latency_p{p}_ms": float(np.percentile(samples_ms, p)) for p in (50, 90, 99)}


def warm_up(query: Callable[[], None], seconds: float, minimum: int = 4) -> list[float]:
    """Run ``query()`` for ``seconds`` (and at least ``minimum`` times); each one's latency in ms."""
    clock = time.perf_counter
    t0, lat = clock(), []
    while clock() - t0 < seconds or len(lat) < minimum:
        a = clock()
        query()
        lat.append((clock() - a) * 1e3)
    return lat


def expected_latency_ms(warm: list[float]) -> float:
    """LoadGen plans its query count from this: low rather than high, or it stops before min_duration."""
    return 0.9 * statistics.median(warm[len(warm) // 2 :])


def single_stream(query: Callable[[], None], s: Settings, *, warmup_s: float) -> tuple[dict, dict]:
    """Native single_stream: ``query()`` (run and wait) one at a time; ({stats, samples_ms}, metrics)."""
    clock = time.perf_counter
    warm = len(warm_up(query, warmup_s))
    lat: list[float] = []
    t0 = clock()
    cut = False
    while True:
        elapsed = clock() - t0
        if len(lat) >= s.min_queries and elapsed >= s.min_duration:
            break
        if s.max_duration is not None and elapsed >= s.max_duration and lat:
            cut = True
            break
        a = clock()
        query()
        lat.append((clock() - a) * 1e3)
    wall = clock() - t0
    stats = _stats(lat, met=not cut, warmup=warm, wall_s=wall, timer="wall-clock")
    metrics = {
        **percentiles(lat),
        "queries": len(lat),
        "scenario_source": "native",
        "mlperf_valid": s.mlperf_minima and not cut,
    }
    return {"stats": stats, "samples_ms": lat}, metrics


# -- LoadGen -----------------------------------------------------------------------------------
_SUMMARY = {
    "result": r"Result is\s*:\s*(\w+)",
    "samples_per_s": r"Samples per second\s*:\s*([\d.eE+-]+)",
    "completed_qps": r"Completed samples per second\s*:\s*([\d.eE+-]+)",
    "scheduled_qps": r"Scheduled samples per second\s*:\s*([\d.eE+-]+)",
    "target_qps": r"\ntarget_qps\s*:\s*([\d.eE+-]+)",  # in FindPeakPerformance mode: the peak it found
    "latency_p50_ns": r"50\.00 percentile latency \(ns\)\s*:\s*(\d+)",
    "latency_p90_ns": r"90\.00 percentile latency \(ns\)\s*:\s*(\d+)",
    "latency_p99_ns": r"99\.00 percentile latency \(ns\)\s*:\s*(\d+)",
}


def parse_summary(text: str) -> dict:
    """The figures of a LoadGen ``mlperf_log_summary.txt`` (latencies in ms)."""
    out: dict[str, Any] = {}
    for key, pattern in _SUMMARY.items():
        m = re.search(pattern, text)
        if not m:
            continue
        if key == "result":
            out["loadgen_result"] = m.group(1)
        elif key.endswith("_ns"):
            out[key[:-3] + "_ms"] = int(m.group(1)) / 1e6
        else:
            out["loadgen_" + key] = float(m.group(1))
    return out


def run_loadgen(
    run: Callable[[], None], sync: Callable[[], None], s: Settings, *, batch: int, estimate_ms: float, log_dir: Path
) -> tuple[dict, dict]:
    """Run the scenario under LoadGen; ({stats, samples_ms}, metrics). ``run()`` processes ``batch``
    samples (inputs are the model's fixed synthetic ones), ``sync()`` waits for the device."""
    lg = loadgen_module()
    if lg is None:
        raise UnsupportedError(f"scenario={s.scenario!r} with LoadGen needs MLCommons LoadGen: {LOADGEN_PIP}")
    ts = lg.TestSettings()
    ts.scenario = {
        "offline": lg.TestScenario.Offline,
        "single_stream": lg.TestScenario.SingleStream,
        "multi_stream": lg.TestScenario.MultiStream,
        "server": lg.TestScenario.Server,
    }[s.scenario]
    ts.mode = lg.TestMode.PerformanceOnly
    ts.min_query_count = s.min_queries
    ts.min_duration_ms = int(s.min_duration * 1e3)
    if s.max_duration is not None:
        ts.max_duration_ms = int(s.max_duration * 1e3)
    est_s = max(estimate_ms, 1e-3) / 1e3
    ts.single_stream_expected_latency_ns = int(est_s * 1e9)
    ts.multi_stream_expected_latency_ns = int(est_s * 1e9)
    ts.multi_stream_samples_per_query = s.samples_per_query
    ts.offline_expected_qps = batch / est_s
    if s.scenario == "server":
        ts.server_target_latency_ns = int(s.latency_bound_ms * 1e6)
        if s.target_qps is None:
            ts.mode = lg.TestMode.FindPeakPerformance
            ts.server_target_qps = 0.5 / est_s  # the search's starting point
        else:
            ts.server_target_qps = s.target_qps

    lat: list[float] = []
    lock = threading.Lock()
    pending: list = []
    wake = threading.Condition(lock)
    stop = False

    def serve(samples: list) -> None:
        # One run per `batch` samples, in arrival order; each sample completes with its run.
        for i in range(0, len(samples), batch):
            chunk = samples[i : i + batch]
            a = time.perf_counter()
            run()
            sync()
            lat.append((time.perf_counter() - a) * 1e3)
            lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, 0, 0) for q in chunk])

    def worker() -> None:  # the server's queue: LoadGen's issue thread must not wait for the device
        while True:
            with wake:
                while not pending and not stop:
                    wake.wait()
                if stop and not pending:
                    return
                todo = pending[:]
                pending.clear()
            serve(todo)

    def issue(samples: list) -> None:
        if s.scenario == "server":
            with wake:
                pending.extend(samples)
                wake.notify()
        else:
            serve(list(samples))

    thread = threading.Thread(target=worker, daemon=True) if s.scenario == "server" else None
    if thread:
        thread.start()
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = lg.LogSettings()
    logs.log_output.outdir = str(log_dir)
    logs.log_output.copy_summary_to_stdout = False
    sut = lg.ConstructSUT(issue, lambda: None)
    count = max(batch, s.samples_per_query, 64)
    qsl = lg.ConstructQSL(count, count, lambda idx: None, lambda idx: None)
    t0 = time.perf_counter()
    try:
        lg.StartTestWithLogSettings(sut, qsl, ts, logs)
    finally:
        if thread:
            with wake:
                stop = True
                wake.notify()
            thread.join()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    wall = time.perf_counter() - t0
    summary = log_dir / "mlperf_log_summary.txt"
    metrics = parse_summary(summary.read_text()) if summary.exists() else {}
    metrics.update(
        scenario_source="loadgen",
        queries=len(lat),
        loadgen_summary=str(summary),
        loadgen_detail=str(log_dir / "mlperf_log_detail.txt"),
        mlperf_valid=metrics.get("loadgen_result") == "VALID" and s.mlperf_minima,
    )
    if not lat:
        raise RuntimeError(f"LoadGen issued no query (see {summary})")
    if s.scenario == "server" and s.target_qps is None and "loadgen_target_qps" in metrics:
        metrics["server_peak_qps"] = metrics["loadgen_target_qps"]  # the highest QPS that met the bound
    valid = metrics.get("loadgen_result") == "VALID"
    return {"stats": _stats(lat, met=valid, warmup=0, wall_s=wall, timer="wall-clock"), "samples_ms": lat}, metrics
