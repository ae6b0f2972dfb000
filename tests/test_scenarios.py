"""MLPerf scenarios of the model tier (aimatrix.macro.scenarios) on the CPU, with tiny models."""

import importlib.util

import pytest

from aimatrix import UnsupportedError
from aimatrix.macro import model, scenarios

HAS_LOADGEN = importlib.util.find_spec("mlperf_loadgen") is not None
loadgen = pytest.mark.skipif(
    not HAS_LOADGEN, reason="MLCommons LoadGen is not installed (pip install mlcommons-loadgen)"
)
SHORT = dict(min_queries=40, min_duration=0.05, warmup=0.02)


def test_native_single_stream_runs_one_query_at_a_time_until_both_minima():
    r = model("din", size="tiny", scenario="single_stream", device="cpu", loadgen=False, **SHORT)
    assert r.ok and r.params["batch"] == 1 and r.stats["repeat"] == 1
    assert r.stats["n"] == r.metrics["queries"] >= 40 and r.stats["wall_s"] >= 0.05
    assert r.metrics["scenario_source"] == "native" and r.stats["timer"] == "wall-clock"
    p = [r.metrics[f"latency_p{q}_ms"] for q in (50, 90, 99)]
    assert 0 < p[0] <= p[1] <= p[2] <= r.stats["max_ms"]
    assert r.metrics["mlperf_valid"] is False  # fewer than 1024 queries and 60 s: not an MLPerf run
    assert r.stats["converged"] is True and r.params["min_queries"] == 40


def test_max_duration_cuts_a_run_short_and_says_so():
    r = model(
        "din",
        size="tiny",
        scenario="single_stream",
        device="cpu",
        loadgen=False,
        min_queries=10**6,
        min_duration=0.0,
        max_duration=0.1,
        warmup=0.01,
    )
    assert 1 <= r.stats["n"] < 10**6 and r.stats["converged"] is False and "noisy" in r.warnings


def test_mlperf_minima_are_the_defaults():
    s = scenarios.settings("single_stream", loadgen=False)
    assert (s.min_queries, s.min_duration) == (1024, 60.0) and s.mlperf_minima
    assert not scenarios.settings("single_stream", loadgen=False, min_queries=10).mlperf_minima


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(scenario="server", target_qps=0, latency_bound_ms=10), ValueError, ["target_qps=0", "> 0"]),
        (dict(scenario="server", target_qps=-5.0, latency_bound_ms=10), ValueError, ["target_qps=-5.0"]),
        (dict(scenario="server", target_qps=10, latency_bound_ms=0), ValueError, ["latency_bound_ms=0"]),
        (dict(scenario="server", target_qps=float("inf"), latency_bound_ms=5), ValueError, ["target_qps=inf"]),
        (dict(scenario="server", target_qps=10), ValueError, ["latency_bound_ms"]),
        (dict(scenario="single_stream", target_qps=10), ValueError, ["target_qps", "server"]),
        (dict(scenario="server", latency_bound_ms=5, loadgen=False), ValueError, ["LoadGen", "loadgen=False"]),
        (dict(scenario="single_stream", min_queries=0), ValueError, ["min_queries=0"]),
        (dict(scenario="single_stream", min_duration=-1), ValueError, ["min_duration=-1"]),
        (dict(scenario="single_stream", max_duration=0), ValueError, ["max_duration=0"]),
        (dict(scenario="single_stream", loadgen="yes"), TypeError, ["loadgen"]),
        (dict(scenario="burst"), ValueError, ["burst", "multi_stream", "server"]),
    ],
)
def test_bad_scenario_arguments(kwargs, exc, words):
    with pytest.raises(exc) as e:
        scenarios.settings(**kwargs)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scenario="server", latency_bound_ms=10),
        dict(scenario="multi_stream"),
        dict(scenario="single_stream", loadgen=True),
    ],
)
def test_loadgen_scenarios_without_loadgen_name_the_pip_command(monkeypatch, kwargs):
    monkeypatch.setattr(scenarios, "loadgen_module", lambda: None)  # as where the package is not installed
    with pytest.raises(UnsupportedError, match="pip install mlcommons-loadgen"):
        scenarios.settings(**kwargs)


def test_without_loadgen_single_stream_and_offline_still_run_natively(monkeypatch):
    monkeypatch.setattr(scenarios, "loadgen_module", lambda: None)
    assert scenarios.settings("single_stream").loadgen is False
    assert scenarios.settings("offline").loadgen is False


def test_native_offline_refuses_the_query_minima():
    with pytest.raises(ValueError, match="latency scenarios"):
        model("din", size="tiny", device="cpu", min_queries=100)


def test_multi_stream_runs_its_query_size():
    with pytest.raises(ValueError, match="batch 8"):
        model("din", size="tiny", scenario="multi_stream", batch=4, device="cpu")


def test_summary_parser_reads_loadgen_figures():
    text = (
        "Result is : VALID\nCompleted samples per second    : 48.72\n"
        "50.00 percentile latency (ns)   : 1400590\n99.00 percentile latency (ns)   : 7066416\n"
        "samples_per_query : 1\ntarget_qps : 877.568\n"
    )
    got = scenarios.parse_summary(text)
    assert got == {
        "loadgen_result": "VALID",
        "loadgen_completed_qps": 48.72,
        "latency_p50_ms": 1.40059,
        "latency_p99_ms": 7.066416,
        "loadgen_target_qps": 877.568,
    }


@loadgen
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scenario="single_stream"),
        dict(scenario="multi_stream"),
        dict(scenario="server", target_qps=40, latency_bound_ms=500),
    ],
)
def test_loadgen_scenarios_keep_their_logs(tmp_path, kwargs):
    r = model(
        "din", size="tiny", device="cpu", min_queries=32, min_duration=0.3, warmup=0.02, log_dir=tmp_path, **kwargs
    )
    assert r.ok and r.metrics["scenario_source"] == "loadgen" and r.params["loadgen"] is True
    summary = tmp_path / "mlperf_log_summary.txt"
    assert r.metrics["loadgen_summary"] == str(summary) and summary.stat().st_size > 0
    assert (tmp_path / "mlperf_log_detail.txt").stat().st_size > 0
    assert r.metrics["loadgen_result"] in ("VALID", "INVALID")
    assert r.metrics["queries"] >= 32 and r.metrics["latency_p99_ms"] >= r.metrics["latency_p50_ms"] > 0
    if kwargs["scenario"] == "server":
        assert r.metrics["loadgen_scheduled_qps"] == pytest.approx(40, rel=0.5)
        assert r.metrics["loadgen_target_qps"] == 40 and "server_peak_qps" not in r.metrics


@loadgen
def test_server_without_a_target_finds_the_peak_qps(tmp_path):
    r = model(
        "din",
        size="tiny",
        device="cpu",
        scenario="server",
        latency_bound_ms=50,
        min_queries=32,
        min_duration=0.2,
        warmup=0.05,
        log_dir=tmp_path,
    )
    assert r.metrics["server_peak_qps"] > 0
    assert "FindPeakPerformance" in (tmp_path / "mlperf_log_summary.txt").read_text()


@pytest.mark.parametrize("scenario", ["offline", "single_stream"])
def test_model_keeps_its_samples_on_request(tmp_path, scenario):
    from aimatrix.results.jsonl import read_jsonl, write_jsonl

    rule = dict(min_queries=20, min_duration=0.01) if scenario == "single_stream" else dict(batch=4, max_time=0.1)
    r = model(
        "din",
        size="tiny",
        device="cpu",
        scenario=scenario,
        loadgen=False,
        keep_samples=True,
        min_time=0.02,
        warmup=0.01,
        **rule,
    )
    assert len(r.stats["samples_ms"]) == r.stats["n"] and r.stats["warmup_samples"] >= 1
    write_jsonl(tmp_path / "r.jsonl", [r])
    assert next(read_jsonl(tmp_path / "r.jsonl")).stats["samples_ms"] == r.stats["samples_ms"]
