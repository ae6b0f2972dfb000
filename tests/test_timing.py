"""The native timing engine: statistics, the stopping rule, batching, bad options."""

import math
import time

import numpy as np
import pytest

import aimatrix as am
from aimatrix import _native


def test_stats_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.lognormal(0.0, 0.3, size=101).tolist()
    s = _native.core.stats(x)
    assert s["n"] == 101
    assert s["median_ms"] == pytest.approx(np.median(x))
    assert s["mean_ms"] == pytest.approx(np.mean(x))
    assert s["stdev_ms"] == pytest.approx(np.std(x, ddof=1))
    assert s["p10_ms"] == pytest.approx(np.percentile(x, 10))
    assert s["p90_ms"] == pytest.approx(np.percentile(x, 90))
    assert s["min_ms"] == min(x) and s["max_ms"] == max(x)


def test_median_ci_uses_order_statistics():
    x = list(range(1, 101))  # median 50.5
    s = _native.core.stats([float(v) for v in x])
    h = 1.959963984540054 * math.sqrt(100) / 2
    lo, hi = math.floor(50 - h), math.ceil(50 + h + 1)
    assert (s["ci_lo_ms"], s["ci_hi_ms"]) == (float(lo), float(hi))
    assert s["ci_lo_ms"] < s["median_ms"] < s["ci_hi_ms"]
    assert s["rel_ci"] == pytest.approx((hi - lo) / 2 / 50.5)


def test_ci_is_infinite_with_few_samples():
    assert math.isinf(_native.core.stats([1.0, 2.0, 3.0])["rel_ci"])
    assert _native.core.stats([]) ["n"] == 0


def _busy(ms):
    def fn():
        end = time.perf_counter() + ms / 1e3
        while time.perf_counter() < end:
            pass
    return fn


def test_measure_converges_on_steady_work():
    m = am.timing.measure(_busy(0.3), device="cpu", target=0.05, max_time=2.0, min_time=0.0, warmup=0.0)
    assert m.stats["converged"]
    assert m.stats["rel_ci"] <= 0.05
    assert 0.25 < m.median_ms < 1.0
    assert m.stats["n"] >= 10 and len(m.samples_ms) == m.stats["n"]
    assert m.stats["timer"] == "steady-clock"


def test_measure_stops_at_time_budget_when_target_unreachable():
    # Alternating 0.1 / 0.3 ms work: the median's CI can never shrink to 1e-9.
    fns, calls = [_busy(0.1), _busy(0.3)], []

    def bimodal():
        calls.append(1)
        fns[len(calls) % 2]()

    t0 = time.perf_counter()
    m = am.timing.measure(bimodal, device="cpu", target=1e-9, max_time=0.3, min_time=0.0, warmup=0.0)
    assert not m.stats["converged"]
    assert time.perf_counter() - t0 < 2.0


def test_min_and_max_samples_are_honoured():
    m = am.timing.measure(_busy(0.05), device="cpu", min_samples=40, target=0.5, min_time=0.0, warmup=0.0)
    assert m.stats["n"] >= 40
    m = am.timing.measure(_busy(0.05), device="cpu", min_samples=5, max_samples=7, target=1e-9, min_time=0.0, warmup=0.0)
    assert m.stats["n"] == 7


def test_tiny_callables_are_batched():
    calls = []
    m = am.timing.measure(lambda: calls.append(1), device="cpu", max_time=0.2, min_time=0.0)
    assert m.stats["repeat"] > 1  # samples hold several launches, time reported per launch
    assert m.median_ms < 0.05
    m = am.timing.measure(lambda: None, device="cpu", repeat=3, max_time=0.05, min_time=0.0)
    assert m.stats["repeat"] == 3


def test_cold_mode_runs_one_launch_per_sample():
    m = am.timing.measure(lambda: None, device="cpu", mode="cold", max_time=0.05, min_time=0.0, max_samples=20)
    assert m.stats["repeat"] == 1


def test_callable_exceptions_propagate():
    def boom():
        raise RuntimeError("kaboom")
    with pytest.raises(RuntimeError, match="kaboom"):
        am.timing.measure(boom, device="cpu")


@pytest.mark.parametrize("opts, exc, text", [
    (dict(target=0), ValueError, "target=0"),
    (dict(target=2.0), ValueError, "target=2"),
    (dict(min_samples=0), ValueError, "min_samples=0"),
    (dict(max_time=-1), ValueError, "max_time=-1"),
    (dict(min_time=5, max_time=1), ValueError, "max_time=1"),
    (dict(repeat=-1), ValueError, "repeat=-1"),
    (dict(min_samples="ten"), TypeError, "min_samples='ten'"),
    (dict(bogus=1), TypeError, "unknown timing option 'bogus'"),
])
def test_bad_timing_options(opts, exc, text):
    with pytest.raises(exc, match=text):
        am.timing.measure(lambda: None, device="cpu", **opts)


def test_bad_measure_arguments():
    with pytest.raises(TypeError, match="fn must be callable"):
        am.timing.measure(42, device="cpu")
    with pytest.raises(ValueError, match="mode='lukewarm'"):
        am.timing.measure(lambda: None, device="cpu", mode="lukewarm")


def test_warmup_runs_until_times_settle():
    # From 0.6 ms per call down to 0.2 ms over the first 0.4 s, then steady: a clock ramping up.
    t_start = []

    def ramp():
        if not t_start:
            t_start.append(time.perf_counter())
        _busy(max(0.2, 0.6 - (time.perf_counter() - t_start[0])))()

    m = am.timing.measure(ramp, device="cpu", warmup=0.05, warmup_max=3.0, min_time=0.05, max_time=1.0)
    assert m.stats["settled"]
    assert 0.4 <= m.stats["warmup_s"] < 3.0
    assert m.median_ms < 0.4  # the slow start stayed out of the samples


def test_warmup_is_bounded_when_times_never_settle():
    calls = []

    def drifting():  # every call a bit slower: never settles
        calls.append(1)
        _busy(0.1 + 0.0005 * len(calls))()

    m = am.timing.measure(drifting, device="cpu", warmup=0.0, warmup_max=0.3, settle=0.001, min_time=0.0,
                          max_time=0.05)
    assert not m.stats["settled"]
    assert 0.3 <= m.stats["warmup_s"] < 1.0


def test_explicit_warmup_is_fixed():
    m = am.timing.measure(lambda: None, device="cpu", warmup=0.0, min_time=0.0, max_time=0.02)
    assert m.stats["warmup_samples"] == 2 and not m.stats["settled"]


def test_rule_fills_in_every_default():
    # The engine gets every option from Python: DEFAULTS are the ones in force, not the native struct's.
    assert am.timing.rule() == am.timing.DEFAULTS
    r = am.timing.rule(warmup=0.5)
    assert r["warmup"] == r["warmup_max"] == 0.5 and r["min_time"] == am.timing.DEFAULTS["min_time"]
    r = am.timing.rule(warmup_max=1.0)
    assert r["warmup"] == 1.0 and r["warmup_max"] == 1.0
    r = am.timing.rule(max_time=0.5)
    assert r["min_time"] == 0.5 and r["warmup"] == 0.5
    assert am.timing.rule(**r) == r  # suites check options once, benchmarks again: same rule


def test_default_measuring_time_reaches_the_engine():
    m = am.timing.measure(lambda: time.sleep(0.001), device="cpu", warmup=0.0)  # well below max_samples
    assert m.stats["wall_s"] >= am.timing.DEFAULTS["min_time"]
