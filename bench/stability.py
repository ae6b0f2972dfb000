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
    {},  # the library's defaults (warm-up until settled, 0.5 s)
    {"min_time": 2.0},
    {"warmup": 2.0, "min_time": 2.0},
    {"warmup": 2.0, "min_time": 5.0},
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shape", type=int, default=4096)
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--mode", default="hot")
    args = ap.parse_args()
    n = args.shape
    print(
        "| settings | medians ms | spread | within-run ±CI | SM clock MHz per run (NVML median) | "
        "clock-normalised spread | s per run |"
    )
    print("|---|---|---|---|---|---|---|")
    for s in SETTINGS:
        meds, cis, clocks, t0 = [], [], [], time.perf_counter()
        for _ in range(args.runs):
            r = am.gemm(n, n, n, dtype=args.dtype, mode=args.mode, max_time=max(10.0, s.get("min_time", 0)), **s)
            meds.append(r.median_ms)
            cis.append(r.stats["rel_ci"])
            clocks.append((r.telemetry.get("sm_clock_mhz") or {}).get("median"))
        per_run = (time.perf_counter() - t0) / args.runs
        spread = (max(meds) - min(meds)) / statistics.median(meds)
        # Time x clock: what the median would be at one fixed clock (cycles per GEMM).
        cyc = [m * c for m, c in zip(meds, clocks) if c]
        cspread = f"{100 * (max(cyc) - min(cyc)) / statistics.median(cyc):.2f}%" if len(cyc) == len(meds) else "n/a"
        name = ", ".join(f"{k}={v}" for k, v in s.items()) or "defaults"
        print(
            f"| {name} | {', '.join(f'{m:.4f}' for m in meds)} | {100 * spread:.2f}% | {100 * max(cis):.2f}% | "
            f"{', '.join(str(c) for c in clocks)} | {cspread} | {per_run:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
