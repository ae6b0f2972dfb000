"""The timer option (events, cupti, auto), raw samples, throttled-sample discarding and the settle pause."""

import math
import time

import numpy as np
import pytest

import aimatrix as am
from aimatrix import UnsupportedError, _native
from aimatrix.results.compare import compare, mann_whitney_p
from aimatrix.results.jsonl import read_jsonl, write_jsonl
from aimatrix.results.result import Result
from aimatrix.system.telemetry import REASONS

QUICK = dict(max_time=0.15, min_time=0.05, warmup=0.02)


def _work(n=2000):
    return lambda: sum(range(n))


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(timer="ncu"), ValueError, ["timer='ncu'", "events", "cupti", "auto"]),
        (dict(timer=None), None, []),
        (dict(keep_samples=1), TypeError, ["keep_samples=1"]),
        (dict(keep_samples="yes"), TypeError, ["keep_samples='yes'"]),
        (dict(discard_throttled=0), TypeError, ["discard_throttled=0"]),
        (dict(pause=-1), ValueError, ["pause=-1"]),
        (dict(timer="cupti"), UnsupportedError, ["cupti", "CUDA device"]),
    ],
)
def test_bad_timer_options(kwargs, exc, words):
    if exc is None:  # None means "the default", like every other timing option
        assert am.timing.rule(**kwargs)["timer"] == "events"
        return
    with pytest.raises(exc) as e:
        am.timing.measure(_work(), device="cpu", **QUICK, **kwargs)
    for w in words:
        assert w in str(e.value)


def test_micro_benchmarks_take_the_timer_option():
    with pytest.raises(ValueError, match="events, cupti, auto"):
        am.gemm(32, 32, 32, device="cpu", timer="kernel", **QUICK)
    with pytest.raises(UnsupportedError, match="host clock"):  # the native engine refuses it on the host
        am.gemm(32, 32, 32, device="cpu", timer="cupti", **QUICK)
    r = am.gemm(32, 32, 32, device="cpu", timer="auto", **QUICK)
    assert r.stats["timer"] == "steady-clock" and r.stats["timer_requested"] == "auto" and "timer_note" not in r.stats


def test_keep_samples_holds_every_sample_and_recomputes_the_median():
    m = am.timing.measure(_work(), device="cpu", keep_samples=True, **QUICK)
    s = m.stats["samples_ms"]
    assert len(s) == m.stats["n"] >= 3 and m.stats["warmup_samples"] >= 1
    assert np.median(s) == pytest.approx(m.median_ms, rel=1e-12)
    assert "samples_ms" not in am.timing.measure(_work(), device="cpu", **QUICK).stats  # off by default


def test_samples_round_trip_through_jsonl(tmp_path):
    r = am.gemm(48, 40, 32, device="cpu", keep_samples=True, **QUICK)
    assert len(r.stats["samples_ms"]) == r.stats["n"]
    path = tmp_path / "run.jsonl"
    write_jsonl(path, [r])
    (back,) = list(read_jsonl(path))
    assert back.stats["samples_ms"] == r.stats["samples_ms"] and back.stats["repeat"] == r.stats["repeat"]


def _result(fn, **kw):
    m = am.timing.measure(fn, device="cpu", keep_samples=True, min_samples=30, **QUICK, **kw)
    return Result.from_measurement(
        "layer", {"name": "sum"}, backend="python", dtype="fp32", device="cpu", measurement=m
    )


def test_compare_ranks_kept_samples():
    # Live samples of 16x the work (a shared CPU's noise stays far below that); "same" is checked on crafted ones.
    base, slow = _result(_work(3000)), _result(_work(48000))
    assert compare([base], [slow], threshold=0.05).rows[0].verdict == "slower"


def _crafted(center, with_samples):
    samples = [center + 0.001 * i for i in range(30)]
    stats = {"median_ms": float(np.median(samples)), "rel_ci": 0.5, "n": 30}  # a CI too wide to call anything
    if with_samples:
        stats["samples_ms"] = samples
    return Result("layer", {"name": "x"}, "python", "fp32", "cpu", stats=stats)


def test_the_rank_test_replaces_the_ci_overlap_when_both_kept_samples():
    # 10% apart with no overlap at all: the ranks see it; the wide CIs alone cannot.
    assert compare([_crafted(1.0, True)], [_crafted(1.1, True)], threshold=0.03).rows[0].verdict == "slower"
    assert compare([_crafted(1.0, False)], [_crafted(1.1, True)], threshold=0.03).rows[0].verdict == "ambiguous"
    same = compare([_crafted(1.0, True)], [_crafted(1.0, True)], threshold=0.03).rows[0]
    assert same.verdict == "ambiguous"  # p = 1, but a CI of +-50% is no evidence of sameness
    narrow = [dict(r.stats, rel_ci=0.001) for r in (_crafted(1.0, True), _crafted(1.0, True))]
    rows = compare(*[[Result("layer", {"name": "x"}, "python", "fp32", "cpu", stats=st)] for st in narrow]).rows
    assert rows[0].verdict == "same"


def test_mann_whitney_against_a_hand_count():
    # x's mean ranks: 1 + 2 + 4.5 + 4.5 + 7 = 19, U = 4 of 30; ties (four 3s) shrink the variance to 28.64.
    z = (abs(4 - 15) - 0.5) / math.sqrt(30 / 12 * (12 - 60 / 110))
    assert mann_whitney_p([1, 2, 3, 3, 4], [3, 3, 5, 6, 7, 8]) == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert mann_whitney_p([5, 5, 5], [5, 5]) == 1.0
    with pytest.raises(ValueError, match="both sides"):
        mann_whitney_p([], [1.0])


def _raw_with_windows():
    opts = am.timing.rule(discard_throttled=True, min_samples=40, **QUICK)
    raw = _native.core.measure(_work(), False, opts)
    assert len(raw["sample_t0_s"]) == len(raw["samples_ms"]) == raw["stats"]["n"]
    return raw


def test_throttled_samples_are_discarded_and_counted():
    raw = _raw_with_windows()
    t0, t1 = raw["sample_t0_s"], raw["sample_t1_s"]
    mid = len(t0) // 2
    hit = (t0[mid] + t1[mid]) / 2
    timeline = [(t0[0] - 1.0, 0), (hit, REASONS["hw_thermal_slowdown"]), (t1[-1] + 1.0, REASONS["sw_power_cap"])]
    out = am.timing.discard_throttled(dict(raw), timeline, interval_s=0.0)
    expect = [s for s, a, b in zip(raw["samples_ms"], t0, t1) if not a <= hit <= b]
    assert out["stats"]["discarded_throttled"] == len(raw["samples_ms"]) - len(expect) >= 1
    assert out["samples_ms"] == expect and out["stats"]["n"] == len(expect)
    assert out["stats"]["median_ms"] == pytest.approx(float(np.median(expect)), rel=1e-12)


def test_power_cap_alone_discards_nothing_and_all_throttled_keeps_all():
    raw = _raw_with_windows()
    cap = [(t, REASONS["sw_power_cap"]) for t in raw["sample_t0_s"]]
    assert am.timing.discard_throttled(dict(raw), cap, interval_s=0.05)["stats"]["discarded_throttled"] == 0
    brake = [(t, REASONS["hw_power_brake_slowdown"]) for t in raw["sample_t0_s"]]
    out = am.timing.discard_throttled(dict(raw), brake, interval_s=0.05)
    assert out["stats"]["discarded_throttled"] == 0 and "every sample" in out["stats"]["throttle_note"]
    assert out["stats"]["n"] == raw["stats"]["n"]


def test_settle_pause_idles_before_the_case():
    t = time.perf_counter()
    m = am.timing.measure(_work(), device="cpu", pause=0.3, **QUICK)
    assert time.perf_counter() - t >= 0.3 + QUICK["min_time"] and m.stats["pause_s"] == 0.3


# -- on a GPU --------------------------------------------------------------------------------------
def _cupti_ok():
    return am.timing.cupti_unavailable_reason("cuda") is None


def test_cupti_sum_gives_each_moment_of_a_stream_once():
    """The CUPTI timer's sum (csrc/timing/busy_time.hpp), from records as CUPTI gives them: (context, stream,
    correlation id, start ns, end ns), and our tag per correlation id."""
    busy = _native.core.busy_time_ns
    flush, copy = (1, 7, 90, 0, 1000), (1, 7, 10, 1000, 1400)
    assert busy([flush, copy], {10: 1}) == {1: 400}  # the untagged L2 flush ahead is left out
    assert busy([copy, copy], {10: 1}) == {1: 400}  # the same record reported twice counts once
    early = (1, 7, 10, 600, 1400)  # stamped while the flush still ran: counts from the flush's end
    assert busy([early, flush], {10: 1}) == {1: 400}
    overlap = [(1, 7, 10, 0, 300), (1, 7, 11, 200, 500)]  # two kernels overlapping (dependent launch)
    assert busy(overlap, {10: 1, 11: 1}) == {1: 500}
    assert busy(overlap, {10: 1, 11: 2}) == {1: 300, 2: 200}
    streams = [(1, 7, 10, 0, 300), (1, 8, 11, 0, 300), (2, 7, 12, 0, 300)]  # other streams, other contexts: apart
    assert busy(streams, {10: 1, 11: 1, 12: 1}) == {1: 900}
    assert busy([flush, (1, 7, 10, 100, 900)], {10: 1}) == {1: 0}  # covered: its tag is there, with 0
    with pytest.raises(ValueError, match=r"a span ends \(5\) before it starts \(9\)"):
        busy([(1, 7, 10, 9, 5)], {10: 1})


@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["cold", "hot"])
def test_cupti_times_a_short_gemm_without_the_flush_gap(mode):
    if not _cupti_ok():
        pytest.skip(f"CUPTI cannot run here: {am.timing.cupti_unavailable_reason('cuda')}")
    r = am.gemm(
        256,
        256,
        256,
        dtype="bf16",
        device="cuda",
        mode=mode,
        timer="cupti",
        keep_samples=True,
        max_time=1.0,
        min_time=0.3,
    )
    s = r.stats
    assert r.ok and r.verify["passed"] and s["timer"] == "cupti" and s["timer_requested"] == "cupti"
    assert len(s["samples_ms"]) == len(s["event_samples_ms"]) == s["n"]
    # A kernel's own duration is inside the events around it; a cold sample's events also hold the gap.
    assert 0 < s["median_ms"] <= s["event_median_ms"] * 1.02
    assert sum(a <= b * 1.02 for a, b in zip(s["samples_ms"], s["event_samples_ms"])) >= 0.95 * s["n"]


@pytest.mark.cuda
def test_auto_picks_cupti_only_for_short_cold_samples():
    short = am.membw("copy", nbytes=1 << 20, device="cuda", mode="cold", timer="auto", max_time=0.5)
    long_ = am.membw("copy", nbytes=1 << 30, device="cuda", mode="cold", timer="auto", max_time=0.5)
    hot = am.membw("copy", nbytes=1 << 20, device="cuda", mode="hot", timer="auto", max_time=0.5)
    assert long_.stats["timer"] != "cupti" and hot.stats["timer"] != "cupti"
    if _cupti_ok():
        assert short.stats["timer"] == "cupti" and short.stats["event_median_ms"] >= short.median_ms
    else:
        assert short.stats["timer"] != "cupti" and "CUPTI" in short.stats["timer_note"]


@pytest.mark.cuda
def test_the_cold_icache_trial_switch_is_checked(monkeypatch):
    """AIMATRIX_COLD_ICACHE (design section 4's trial): 0 or 1; anything else is a clear error, not silently off."""
    monkeypatch.setenv("AIMATRIX_COLD_ICACHE", "1")
    on = am.membw("copy", nbytes=1 << 20, device="cuda", mode="cold", max_time=0.2)
    assert on.ok and on.verify["passed"]
    monkeypatch.setenv("AIMATRIX_COLD_ICACHE", "yes")
    with pytest.raises(ValueError, match="AIMATRIX_COLD_ICACHE='yes' is not allowed: 0 .off, the default. or 1"):
        am.membw("copy", nbytes=1 << 20, device="cuda", mode="cold", max_time=0.2)


@pytest.mark.cuda
def test_cupti_sums_every_kernel_a_callable_launches():
    torch = pytest.importorskip("torch")
    if not _cupti_ok():
        pytest.skip("CUPTI cannot run here")
    a = torch.randn(1024, 1024, device="cuda")
    one = am.timing.measure(lambda: a @ a, device="cuda", timer="cupti", max_time=0.5, min_time=0.2)
    three = am.timing.measure(lambda: (a @ a, a @ a, a @ a), device="cuda", timer="cupti", max_time=0.5, min_time=0.2)
    assert one.stats["timer"] == three.stats["timer"] == "cupti"
    assert three.median_ms == pytest.approx(3 * one.median_ms, rel=0.1)


@pytest.mark.cuda
def test_cupti_keeps_nanoseconds_after_torch_profiler():
    """After torch.profiler had run in the process, every CUPTI duration read 2.1x (a 256 MiB copy 0.376 ms against
    0.179 ms before and 0.181 ms by events, hot or cold; H100, 2026-12-07): kineto leaves its own timestamp clock,
    in TSC ticks, registered with CUPTI. The timer registers a nanosecond clock at every start."""
    torch = pytest.importorskip("torch")
    if not _cupti_ok():
        pytest.skip("CUPTI cannot run here")
    a = torch.rand(1 << 26, device="cuda")  # 256 MiB
    b = torch.empty_like(a)
    timing = dict(device="cuda", mode="cold", max_time=0.5, min_time=0.2)
    before = am.timing.measure(lambda: b.copy_(a), timer="cupti", **timing)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]):
        b.copy_(a)
        torch.cuda.synchronize()
    after = am.timing.measure(lambda: b.copy_(a), timer="cupti", **timing)
    events = am.timing.measure(lambda: b.copy_(a), timer="events", **timing)
    assert after.stats["timer"] == "cupti"
    assert after.median_ms == pytest.approx(before.median_ms, rel=0.1)
    assert after.median_ms <= events.median_ms * 1.05


@pytest.mark.cuda
def test_models_take_the_cupti_timer():
    pytest.importorskip("torch")
    if not _cupti_ok():
        pytest.skip("CUPTI cannot run here")
    from aimatrix.macro import model

    r = model(
        "resnet50",
        size="tiny",
        batch=2,
        device="cuda",
        timer="cupti",
        keep_samples=True,
        max_time=0.5,
        min_time=0.1,
        warmup=0.1,
    )
    assert r.ok and r.stats["timer"] == "cupti" and len(r.stats["samples_ms"]) == r.stats["n"]
    # The kernels' summed durations: no more than the events' span around them (launch gaps left out).
    assert 0 < r.median_ms <= r.stats["event_median_ms"] * 1.02
