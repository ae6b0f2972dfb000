"""The whole suite's pieces that need no device: the score card's arithmetic and the shipped reference."""

import math

import pytest

from aimatrix.results.jsonl import load_results
from aimatrix.results.result import Result
from aimatrix.suite import score
from aimatrix.suite.case import TIERS, tier_of


def _r(op, params, median_ms, case, error=None):
    stats = {} if error else {"median_ms": median_ms, "ci_lo_ms": median_ms * 0.999, "ci_hi_ms": median_ms * 1.001}
    return Result(op, params, "auto", "bf16", "cuda:0", stats=stats, error=error, case=case)


def test_the_score_is_the_geometric_mean_of_each_case_speed_over_the_reference():
    ref = [
        _r("gemm", {"m": 1}, 2.0, "g1"),
        _r("gemm", {"m": 2}, 1.0, "g2"),
        _r("layer", {"layer": "lstm"}, 3.0, "l1"),
        _r("model", {"model": "resnet50"}, 10.0, "m1"),
    ]
    run = [
        _r("gemm", {"m": 1}, 1.0, "g1"),  # 2x faster
        _r("gemm", {"m": 2}, 2.0, "g2"),  # 2x slower
        _r("layer", {"layer": "lstm"}, 1.0, "l1"),  # 3x faster
        _r("model", {"model": "resnet50"}, 1.0, "m1", error={"type": "CudaError", "message": "x"}),
        _r("synth", {"model": "synthetic"}, 5.0, "s1"),
    ]  # no reference
    card = score.scorecard(run, ref, name="ref")
    tiers = {t["tier"]: t for t in card["tiers"]}
    assert tiers["micro"]["score"] == pytest.approx(1.0) and tiers["micro"]["scored"] == 2
    assert tiers["layers"]["score"] == pytest.approx(3.0)
    assert tiers["macro"]["score"] is None and len(tiers["macro"]["failed"]) == 1
    assert tiers["synthetic"]["score"] is None and len(tiers["synthetic"]["no_reference"]) == 1
    assert card["overall"]["score"] == pytest.approx(math.exp((math.log(2) + math.log(0.5) + math.log(3)) / 3))
    assert (card["overall"]["cases"], card["overall"]["scored"]) == (5, 3)


def test_tiers_follow_the_op():
    assert [
        tier_of(op, p)
        for op, p in [
            ("gemm", {}),
            ("layer", {}),
            ("model", {"model": "ssd"}),
            ("synth", {}),
            ("model", {"model": "statsnet"}),
        ]
    ] == ["micro", "layers", "macro", "synthetic", "synthetic"]


def test_the_shipped_reference_is_a_whole_h100_run_with_its_provenance():
    (path,) = score.shipped_references()
    loaded = load_results(path)
    assert loaded.problems == [] and len(loaded.results) >= 50
    assert {tier_of(r.op, r.params) for r in loaded.results} == set(TIERS)
    prov = score.provenance(loaded.results, path.stem)
    assert "H100" in prov["device"] and prov["driver"] and prov["date"] and "aimatrix.bench" in prov["command"]
    assert len({r.run["run_id"] for r in loaded.results}) == 1  # one run
    assert score.pick_reference(loaded.results[:5])[0] == path.stem
