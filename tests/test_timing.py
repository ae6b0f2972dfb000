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
    assert _native.core.stats([])["n"] == 0


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


@pytest.mark.parametrize(
    "opts, exc, text",
    [
        (dict(target=0), ValueError, "target=0"),
        (dict(target=2.0), ValueError, "target=2"),
        (dict(min_samples=0), ValueError, "min_samples=0"),
        (dict(max_time=-1), ValueError, "max_time=-1"),
        (dict(min_time=5, max_time=1), ValueError, "max_time=1"),
        (dict(repeat=-1), ValueError, "repeat=-1"),
        (dict(min_samples="ten"), TypeError, "min_samples='ten'"),
        (dict(bogus=1), TypeError, "unknown timing option 'bogus'"),
    ],
)
def test_bad_timing_options(opts, exc, text):
    with pytest.raises(exc, match=text):
        am.timing.measure(lambda: None, device="cpu", **opts)


def test_bad_measure_arguments():
    with pytest.raises(TypeError, match="fn must be callable"):
        am.timing.measure(42, device="cpu")
    with pytest.raises(ValueError, match="mode='lukewarm'"):
        am.timing.measure(lambda: None, device="cpu", mode="lukewarm")


def test_explicit_warmup_is_fixed():
    m = am.timing.measure(lambda: None, device="cpu", warmup=0.0, min_time=0.0, max_time=0.02)
    assert m.stats["warmup_samples"] == 2 and not m.stats["settled"]


def test_rule_fills_in_every_default():
    # The defaults are the native stopping rule's own (one copy), and every option reaches the engine.
    assert am.timing.DEFAULTS == _native.core.timing_defaults()
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


# -- the stopping rule, driven by scripted times on a virtual clock (no wall clock) --------------------------
def _scripted(times_ms, **options):
    raw = _native.core.measure_scripted(list(times_ms), am.timing.rule(**options))
    return raw["stats"], raw["taken"]


def test_rule_stops_at_min_time_once_the_target_is_met():
    st, taken = _scripted([1.0])  # defaults: 2 s of warm-up, then at least 2 s and 10 samples
    assert st["converged"] and st["settled"] and st["median_ms"] == 1.0 and st["repeat"] == 1
    assert 2.0 <= st["warmup_s"] <= 2.0 + 0.11  # settled within one 0.1 s window after the minimum
    assert 2000 <= st["n"] <= 2000 + 20  # checks come between chunks of <= 20 ms
    assert taken == st["n"] + st["warmup_samples"]


def test_rule_stops_at_max_time_when_the_target_is_out_of_reach():
    st, _ = _scripted([1.0, 3.0], target=1e-6, max_time=3.0, warmup=0.0)
    assert not st["converged"] and 3.0 <= st["wall_s"] <= 3.0 + 0.03


def test_rule_honours_min_and_max_samples():
    st, _ = _scripted([50.0], min_samples=40, target=0.5, min_time=0.0, warmup=0.0)
    assert st["n"] == 40  # 50 ms samples: one per chunk, so the count stops exactly at the minimum
    st, _ = _scripted([1.0, 2.0], min_samples=5, max_samples=7, target=1e-9, min_time=0.0, warmup=0.0)
    assert st["n"] == 7


def test_rule_batches_launches_shorter_than_a_sample():
    st, _ = _scripted([0.001], max_time=0.5, warmup=0.0)  # 1 us: 100 launches make a 0.1 ms sample
    assert st["repeat"] == 100 and st["median_ms"] == 0.001
    st, _ = _scripted([0.001], repeat=3, max_time=0.5, warmup=0.0)
    assert st["repeat"] == 3


def test_warmup_runs_until_the_times_settle():
    ramp = [2.0 - 1.0 * min(i, 600) / 600 for i in range(600)] + [1.0] * 20000  # a clock ramping up for 0.9 s
    st, _ = _scripted(ramp, warmup=0.2, warmup_max=3.0, min_time=0.5, max_time=1.0)
    assert st["settled"] and 0.9 <= st["warmup_s"] <= 1.2
    assert st["median_ms"] == 1.0  # the slow start stayed out of the samples


def test_warmup_is_bounded_when_the_times_never_settle():
    drift = [1.0 + 0.01 * i for i in range(5000)]  # every launch slower than the last
    st, _ = _scripted(drift, warmup=0.0, warmup_max=0.3, settle=0.001, min_time=0.0, max_time=0.05)
    assert not st["settled"] and 0.3 <= st["warmup_s"] <= 0.3 + 0.01


def test_an_explicit_warmup_is_fixed_and_takes_two_samples_at_least():
    st, _ = _scripted([5.0], warmup=0.0, min_time=0.0, max_time=0.05)
    assert st["warmup_samples"] == 2 and not st["settled"]


def test_quick_warms_up_a_sample_longer_than_its_warmup_once():
    # A 3 s sample (a detection model's pass over its images): --quick's 0.15 s warm-up ends after one.
    raw = _native.core.measure_scripted([3000.0], am.timing.rule(am.timing.QUICK))
    assert raw["stats"]["warmup_samples"] == 1 and raw["stats"]["n"] == 1 and raw["taken"] == 2
    assert _scripted([3000.0], max_time=1.0)[0]["warmup_samples"] == 2  # the default minimum
    assert am.timing.rule(am.timing.QUICK, max_time=0.5)["min_warmup_samples"] == 1  # a count, not shortened


def test_min_warmup_samples_must_be_at_least_one():
    with pytest.raises(ValueError, match=r"min_warmup_samples=0 is not allowed"):
        am.timing.rule(min_warmup_samples=0)


@pytest.mark.parametrize("script, text", [([], r"samples_ms=\[\] is not allowed"), ([1.0, 0.0], "must be > 0 ms")])
def test_a_bad_script_is_refused(script, text):
    with pytest.raises(ValueError, match=text):
        _native.core.measure_scripted(script, am.timing.rule())
