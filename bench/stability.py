"""Run-to-run stability of aimatrix's median under different warm-up / measuring times.

    python bench/stability.py [--runs 5] [--shape 4096] [--dtype bf16]

For each setting, `runs` back-to-back measurements of the same GEMM; prints the
spread (max - min) / median of their medians, the within-run CI, and the SM clock
and power NVML reports after each run: which settings give a reproducible number
on a power-managed GPU, and what it costs in time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import aimatrix as am

SETTINGS = [
    {"warmup": 0.05, "min_time": 0.1},
    {"warmup": 0.5, "min_time": 0.5},
    {"warmup": 1.0, "min_time": 1.0},
    {"warmup": 2.0, "min_time": 1.0},
]


def nvml_reader():
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        return lambda: (pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
                        pynvml.nvmlDeviceGetPowerUsage(h) / 1000, pynvml.nvmlDeviceGetTemperature(h, 0))
    except Exception:
        return lambda: (None, None, None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shape", type=int, default=4096)
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--mode", default="hot")
    args = ap.parse_args()
    read = nvml_reader()
    n = args.shape
    print(f"| warmup s | min_time s | medians ms | spread | within-run ±CI | SM MHz / W / °C after | s per run |")
    print("|---|---|---|---|---|---|---|")
    for s in SETTINGS:
        meds, cis, t0 = [], [], time.perf_counter()
        for _ in range(args.runs):
            r = am.gemm(n, n, n, dtype=args.dtype, mode=args.mode, max_time=max(10.0, s["min_time"]), **s)
            meds.append(r.median_ms)
            cis.append(r.stats["rel_ci"])
        per_run = (time.perf_counter() - t0) / args.runs
        spread = (max(meds) - min(meds)) / statistics.median(meds)
        clk, pw, temp = read()
        print(f"| {s['warmup']} | {s['min_time']} | {', '.join(f'{m:.4f}' for m in meds)} | {100 * spread:.2f}% | "
              f"{100 * max(cis):.2f}% | {clk} / {pw} / {temp} | {per_run:.2f} |", flush=True)


if __name__ == "__main__":
    main()
