"""Telemetry records (NVML summaries, derived energy figures, graceful absence) and the environment record."""

import pytest

from aimatrix import timing
from aimatrix.results import Result
from aimatrix.results.result import energy_metrics
from aimatrix.system import env as envmod
from aimatrix.system.telemetry import REASONS, _Sample, nvml_unavailable_reason, sampling, summarize

IDLE, CAP, THERMAL = REASONS["gpu_idle"], REASONS["sw_power_cap"], REASONS["hw_thermal_slowdown"]


def _samples(busy_clock=1755.0, reasons=CAP, n=20, power=650.0):
    # First sample idle (before the work started), then busy samples every 50 ms, energy rising at `power` watts.
    out = [_Sample(0.0, 345.0, 2619.0, 80.0, 40.0, IDLE, 1_000_000.0)]
    for i in range(1, n + 1):
        t = 0.05 * i
        out.append(
            _Sample(t, busy_clock, 2619.0, power, 40.0 + i, reasons, 1_000_000.0 + 80.0 * 50 + power * (t - 0.05) * 1e3)
        )
    return out


def test_summary_leaves_out_idle_samples_and_reads_energy():
    t = summarize(_samples(), interval_s=0.05, max_sm_mhz=1980.0, power_limit_w=700.0)
    assert t["source"] == "nvml" and t["samples"] == 21 and t["busy_samples"] == 20
    assert t["sm_clock_mhz"]["min"] == 1755.0  # the idle 345 MHz sample is not a throttle
    assert t["throttle_reasons"] == ["sw_power_cap"]
    assert t["throttled"] is False  # running at the power cap is normal for a busy GPU
    assert t["avg_power_w"] == pytest.approx(650.0)  # from the energy counter over busy intervals
    assert t["energy_j"] > 0 and t["temperature_c"]["max"] == 60.0


def test_thermal_slowdown_or_low_clock_flags_the_result():
    t = summarize(_samples(reasons=CAP | THERMAL), interval_s=0.05, max_sm_mhz=1980.0, power_limit_w=700.0)
    assert t["throttled"] and "hw_thermal_slowdown" in t["throttle_detail"]
    t = summarize(_samples(busy_clock=1200.0), interval_s=0.05, max_sm_mhz=1980.0, power_limit_w=700.0)
    assert t["throttled"] and "sm_clock 1200 MHz < 75%" in t["throttle_detail"]


def test_energy_figures_join_the_metrics():
    tel = summarize(_samples(), interval_s=0.05, max_sm_mhz=1980.0, power_limit_w=700.0)
    r = Result.from_measurement(
        "gemm",
        {"m": 1},
        backend="cublaslt",
        dtype="bf16",
        device="cuda:0",
        measurement={"stats": {"median_ms": 0.2}},
        flops=1.4e11,
        telemetry=tel,
    )
    assert r.metrics["joules_per_op"] == pytest.approx(650.0 * 0.2e-3)
    assert r.metrics["tflops_per_watt"] == pytest.approx(r.tflops / 650.0)
    assert not r.throttled and r.telemetry["source"] == "nvml"
    assert energy_metrics({"unavailable": "x"}, median_ms=1.0) == {}


def test_cpu_measurement_has_no_telemetry_and_nothing_fails(fast):
    with sampling("cpu") as tel:
        pass
    assert tel.data == {}
    m = timing.measure(lambda: sum(range(100)), device="cpu", **fast)
    assert m.telemetry == {}
    r = Result.from_measurement("model", {}, backend="cpu", dtype="fp32", device="cpu", measurement=m, items=1)
    assert r.telemetry == {} and "joules_per_op" not in r.metrics


def test_nvml_reason_is_a_sentence_or_none(monkeypatch):
    reason = nvml_unavailable_reason()
    assert reason is None or len(reason) > 10
    monkeypatch.setenv("AIMATRIX_TELEMETRY", "0")
    assert "AIMATRIX_TELEMETRY=0" in nvml_unavailable_reason()


@pytest.mark.parametrize("value", ["yes", "off", "2", " 1"])
def test_a_bad_telemetry_switch_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("AIMATRIX_TELEMETRY", value)
    with pytest.raises(ValueError, match=f"AIMATRIX_TELEMETRY='{value}' is not allowed: 0 .off. or 1"):
        nvml_unavailable_reason()


def test_telemetry_interval_from_the_environment(monkeypatch):
    from aimatrix.system.telemetry import DEFAULT_INTERVAL_S, _interval

    monkeypatch.delenv("AIMATRIX_TELEMETRY_INTERVAL_MS", raising=False)
    assert _interval() == DEFAULT_INTERVAL_S
    monkeypatch.setenv("AIMATRIX_TELEMETRY_INTERVAL_MS", "20")
    assert _interval() == pytest.approx(0.02)
    for bad in ("fast", "0", "-5", "nan", "inf"):
        monkeypatch.setenv("AIMATRIX_TELEMETRY_INTERVAL_MS", bad)
        with pytest.raises(ValueError, match=f"AIMATRIX_TELEMETRY_INTERVAL_MS='{bad}' is not allowed"):
            _interval()


@pytest.mark.cuda
def test_gpu_gemm_carries_telemetry(fast):
    import aimatrix as am

    # Long enough for several 50 ms NVML readings while the GPU is busy (energy needs them; with `fast`
    # alone, 50 ms, it failed once on an H100 after other GPU tests).
    r = am.gemm(2048, 2048, 2048, dtype="bf16", device="cuda", **dict(fast, min_time=0.3, max_time=0.5))
    if nvml_unavailable_reason():
        assert r.telemetry.get("unavailable")
    else:
        assert r.telemetry["source"] == "nvml" and r.telemetry["samples"] >= 2
        assert "throttled" in r.telemetry and r.metrics.get("tflops_per_watt", 0) > 0
    off = am.gemm(2048, 2048, 2048, dtype="bf16", device="cuda", telemetry=False, **fast)
    assert off.telemetry == {"unavailable": "turned off for this measurement"}


def test_environment_record(monkeypatch):
    env = envmod.host_environment()
    for key in ("aimatrix", "git_revision", "python", "host", "cpu", "frameworks"):
        assert key in env
    assert set(env["frameworks"]) >= {"torch", "onnxruntime", "tensorrt", "tensorflow"}
    monkeypatch.setenv("AIMATRIX_GIT_REVISION", "deadbeef")
    envmod.git_revision.cache_clear()
    try:
        assert envmod.git_revision() == "deadbeef"
    finally:
        envmod.git_revision.cache_clear()
