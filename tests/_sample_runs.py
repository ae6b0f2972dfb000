"""Realistic Results of every op the report draws, for report/compare tests (no GPU needed).

The figures are shaped like an H100 SXM run: an env with the GPU's facts, GEMMs
with flops/bytes/peaks, membw over sizes, a model over batch sizes, a synthetic
model's group table, NVML telemetry, and one failed case.
"""

from __future__ import annotations

import math
import random

from aimatrix.results import Result

H100 = {
    "name": "NVIDIA H100 80GB HBM3",
    "uuid": "GPU-5f1c2d3e-0000-1111-2222-333344445555",
    "pci_bus_id": "0000:19:00.0",
    "cc_major": 9,
    "cc_minor": 0,
    "sm_count": 132,
    "clock_khz": 1980000,
    "mem_clock_khz": 2619000,
    "bus_width_bits": 5120,
    "l2_bytes": 52428800,
    "total_mem_bytes": 85045624832,
    "driver_version": 13000,
    "cuda_runtime_version": 13000,
    "cublas_version": 130100,
    "cublaslt_version": 130100,
    "cudnn_version": 91300,
    "nvml_driver_version": "580.65.06",
    "power_limit_w": 700.0,
    "max_sm_clock_mhz": 1980,
}
ENV = {
    "aimatrix": "0.1.0",
    "git_revision": "abc123",
    "python": "3.12.3",
    "platform": "Linux",
    "host": "gpu-node-1",
    "cpu": "Intel Xeon Platinum 8480+",
    "cpu_count": 16,
    "cpu_threads": 16,
    "numpy": "2.1.0",
    "frameworks": {"torch": "2.9.0", "onnxruntime": None},
}


def _stats(median: float, rel_ci: float, rng: random.Random) -> dict:
    return {
        "median_ms": median,
        "mean_ms": median * 1.002,
        "min_ms": median * 0.99,
        "max_ms": median * 1.05,
        "stdev_ms": median * 0.01,
        "p10_ms": median * 0.995,
        "p90_ms": median * 1.01,
        "p99_ms": median * 1.03,
        "ci_lo_ms": median * (1 - rel_ci),
        "ci_hi_ms": median * (1 + rel_ci),
        "rel_ci": rel_ci,
        "n": 200,
        "converged": True,
        "repeat": 1,
        "timer": "cuda-graph",
    }


def telemetry(power: float = 640.0, throttled: bool = False) -> dict:
    t = {
        "source": "nvml",
        "interval_ms": 50.0,
        "samples": 30,
        "busy_samples": 28,
        "window_s": 1.5,
        "sm_clock_mhz": {"min": 1710 if not throttled else 1200, "median": 1755, "max": 1980},
        "mem_clock_mhz": {"min": 2619, "median": 2619, "max": 2619},
        "max_sm_clock_mhz": 1980,
        "power_w": {"mean": power, "max": power + 40},
        "power_limit_w": 700.0,
        "temperature_c": {"start": 41, "max": 62, "end": 61},
        "throttle_reasons": ["sw_power_cap"],
        "energy_j": power * 1.5,
        "avg_power_w": power,
        "avg_power_source": "energy_counter",
        "throttled": throttled,
    }
    if throttled:
        t["throttle_reasons"].append("hw_thermal_slowdown")
        t["throttle_detail"] = "hw_thermal_slowdown; sm_clock 1200 MHz < 75% of max 1980 MHz"
    return t


def h100_run(seed: int = 0, *, slow: dict | None = None, noise: float = 0.004, fail: bool = True) -> list[Result]:
    """Results of one H100-like run; ``slow`` maps a case label fragment to a time factor (a regression)."""
    rng = random.Random(seed)
    env = {**ENV, "gpu": H100}
    out: list[Result] = []
    peak = {"fp32": 67.0, "tf32": 535.0, "fp16": 1070.0, "bf16": 1070.0, "fp8": 2141.0}
    eff = {"fp32": 0.75, "tf32": 0.55, "fp16": 0.68, "bf16": 0.70, "fp8": 0.62}
    size = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1}
    for dtype in ("fp32", "tf32", "fp16", "bf16", "fp8"):
        for m, n, k in ((8192, 8192, 8192), (4096, 4096, 4096), (1024, 1024, 1024), (5120, 704, 2048)):
            flops = 2.0 * m * n * k
            nbytes = float(size[dtype] * (m * k + k * n) + 2 * m * n)
            shape_eff = eff[dtype] * min(1.0, (m * n * k) ** (1 / 3) / 4096) ** 0.5
            t_ms = flops / (peak[dtype] * 1e12 * shape_eff) * 1e3
            key = f"{m}x{n}x{k} {dtype}"
            t_ms *= (slow or {}).get(key, 1.0) * (1 + rng.gauss(0, noise / 3))
            meas = {"stats": _stats(t_ms, noise, rng)}
            params = {
                "m": m,
                "n": n,
                "k": k,
                "batch": 1,
                "trans_a": False,
                "trans_b": dtype == "fp8",
                "mode": "hot",
                "seed": 0,
                "repeat": 8,
                "timer": "cuda-graph",
                "algo_id": str(rng.randint(0, 60)),
            }
            trans_b = str(dtype == "fp8").lower()
            case = f'{{"backend":"auto","dtype":"{dtype}","k":{k},"m":{m},"n":{n},"op":"gemm","trans_b":{trans_b}}}'
            r = Result.from_measurement(
                "gemm",
                params,
                backend="cublaslt",
                dtype=dtype,
                device="cuda:0",
                measurement=meas,
                flops=flops,
                bytes=nbytes,
                peak_tflops=peak[dtype],
                verify={"rel_error": 1e-3, "tolerance": 1e-2, "passed": True},
                env=env,
                telemetry=telemetry(600 + 20 * rng.random(), throttled=(dtype == "fp8" and m == 8192)),
            )
            out.append(r.with_(case=case))
    for kind in ("copy", "triad"):
        for e in range(20, 32, 2):
            nbytes = float(1 << e)
            gbps = 3350 * (0.9 if kind == "copy" else 0.8) * (1 - math.exp(-nbytes / 2**25))
            t_ms = nbytes / gbps / 1e6
            r = Result.from_measurement(
                "membw",
                {"kind": kind, "nbytes": int(nbytes)},
                backend="own",
                dtype="fp32",
                device="cuda:0",
                measurement={"stats": _stats(t_ms, noise, rng)},
                bytes=nbytes,
                peak_gbps=3352.0,
                env=env,
            )
            out.append(r)
    for model in ("resnet50", "bert-base"):
        for batch in (1, 8, 32, 128):
            t_ms = (1.2 if model == "resnet50" else 2.0) + batch * (0.35 if model == "resnet50" else 0.5)
            r = Result.from_measurement(
                "model",
                {"model": model, "batch": batch},
                backend="torch-graph",
                dtype="bf16",
                device="cuda:0",
                measurement={"stats": _stats(t_ms, noise, rng)},
                items=float(batch),
                env=env,
            )
            out.append(r)
    groups = [
        {
            "center": c,
            "layers": n,
            "macs": 1.1e9 * n,
            "warps": 2.0e6 * n,
            "macs_real": 1.09e9 * n,
            "warps_real": 2.02e6 * n,
            "fitness_error": 0.0123,
        }
        for c, n in ((224, 2), (112, 8), (56, 16), (28, 20), (14, 12), (7, 4))
    ]
    out.append(
        Result.from_measurement(
            "synth",
            {"name": "statsnet", "groups": groups},
            backend="native",
            dtype="fp32",
            device="cuda:0",
            measurement={"stats": _stats(12.5, noise, rng)},
            items=1.0,
            env=env,
        )
    )
    if fail:
        out.append(
            Result(
                "gemm",
                {"m": 35, "n": 700, "k": 2048, "trans_b": True},
                "auto",
                "fp8",
                "cuda:0",
                env=env,
                error={"type": "UnsupportedError", "message": "fp8 GEMMs need m, n, k multiples of 16"},
                case='{"backend":"auto","dtype":"fp8","k":2048,"m":35,"n":700,"op":"gemm","trans_b":true}',
            )
        )
    return out
