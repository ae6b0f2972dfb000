"""bench/timer_vs_ncu.py's arithmetic (issue 16): ncu's fixed cost per kernel taken off in each cache mode."""

import pytest
from _bench_scripts import load


def _row(case, mode, ncu, cupti, kernels=1.0, mhz=(1980.0, 1980.0)):
    return {"case": case, "mode": mode, "ncu": ncu, "cupti": cupti, "events": cupti * 1.1, "kernels_per_call": kernels,
            "cupti_mhz": mhz[0], "ncu_mhz": mhz[1], "cupti_ran": "cupti"}  # fmt: skip


def test_each_cache_mode_has_its_floor():
    bench = load("timer_vs_ncu")
    floors: dict = {}
    hot, cold = _row("neg-4B-hot", "hot", 2.4, 1.15), _row("neg-4B-cold", "cold", 3.0, 1.2)
    bench.compare(hot, floors)
    # before the cold floor is known, a cold row takes the hot one
    early = _row("add-1MiB-cold", "cold", 3.7, 2.2)
    assert bench.compare(early, floors) == pytest.approx(3.7 - 1.25)
    bench.compare(cold, floors)
    assert floors == pytest.approx({"hot": 1.25, "cold": 1.8})
    assert hot["cupti_delta_floor"] == pytest.approx(0) and cold["cupti_delta_floor"] == pytest.approx(0)
    gemm = _row("gemm-35x700x2048-fp16-cold", "cold", 13.2, 9.5, kernels=2.0, mhz=(1980.0, 1800.0))
    assert bench.compare(gemm, floors) == pytest.approx(13.2 - 2 * 1.8)  # one floor per kernel
    assert gemm["cupti_delta"] == pytest.approx(9.5 / 13.2 - 1) and not gemm["ok"]
    assert gemm["cupti_delta_floor"] == pytest.approx(9.5 / 9.6 - 1)
    assert gemm["cupti_delta_cycles"] == pytest.approx(9.5 * 1980 / (9.6 * 1800) - 1)


def test_summary_counts_the_timed_rows_apart_from_the_floors():
    bench = load("timer_vs_ncu")
    floors: dict = {}
    failed = {"case": "conv-r50-3x3-b1-cold", "mode": "cold", "ok": False}  # a row whose case raised
    rows = [_row("neg-4B-hot", "hot", 2.4, 1.15), _row("neg-2GiB-hot", "hot", 1420.0, 1419.8),
            _row("neg-4MiB-hot", "hot", 3.5, 2.0), failed]  # fmt: skip
    for r in rows[:3]:
        bench.compare(r, floors)
    assert bench.summary(rows) == (
        "1 of 4 CUPTI rows within 2% of ncu; without the floors, 1 of 2 with the floor removed, 1 of 2 by cycles."
    )
