"""Do aimatrix's timers agree with Nsight Compute? (issue 16)

Ten kernels from ~5 µs to ~5 ms and a one-element floor, hot and cold (GEMM, conv, memory; hot and cold), each a PyTorch call,
are timed in this process by ``aimatrix.timing.measure`` with ``timer="events"``,
``timer="cupti"`` and ``timer="auto"``, then launched again in a child process under

    ncu --clock-control none --cache-control none|all --metrics gpu__time_duration.sum

(``none`` against hot, ``all`` against cold), inside an NVTX range that ncu's filter
keeps to the timed calls. ncu's figure per call is the sum of the durations of the
kernels one call ran, the mean over the calls; each aimatrix column is the median.
ncu profiles kernels only, while the CUPTI timer also sums memsets and memcpys: a
child process counts each call's device operations with torch.profiler, so a row
whose call enqueues one shows it. Target: every CUPTI row within 2% of ncu's.

Two things ncu's figure holds that a kernel's own time does not, each measured here and shown in a column
of its own (the raw Δ stays in the table):

- a fixed cost per kernel: the first two cases, a one-element kernel hot and cold, read a floor in ncu and in
  CUPTI in each cache mode; their difference, times the kernels of a call, is taken off ncu's figure in the
  same mode ("floor removed": ncu's cold replays start after it invalidated every cache, so its cold floor
  may not be its hot one);
- the clock: ncu launches each kernel alone, on a cool GPU; a sustained run of a power-hungry kernel runs at
  a lower SM clock. ncu reports its kernels' clock (``sm__cycles_elapsed.avg.per_second``) and aimatrix its
  own (NVML, median while busy); "cycles" compares CUPTI's time x its clock with ncu's (for kernels bound by
  the SMs' clock; a memory-bound kernel's time does not follow it).

    python bench/timer_vs_ncu.py [--cases NAME,...] [--calls 20] [--ncu PATH] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys

import torch
import torch.nn.functional as F

import aimatrix as am

TIMING = dict(warmup=0.2, warmup_max=0.5, min_time=0.3, max_time=0.8)
RANGE = "aimatrix_timed"
TARGET = 0.02


def _randn(*shape, dtype=torch.bfloat16):
    g = torch.Generator(device="cuda").manual_seed(0)
    return torch.randn(*shape, device="cuda", generator=g, dtype=torch.float32).to(dtype)


def _gemm(m, n, k, dtype=torch.bfloat16):
    a, b = _randn(m, k, dtype=dtype), _randn(k, n, dtype=dtype)
    out = torch.empty(m, n, device="cuda", dtype=dtype)
    return lambda: torch.mm(a, b, out=out)


def _conv(n, c, hw, k, r, dtype=torch.bfloat16):
    x = _randn(n, c, hw, hw, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = _randn(k, c, r, r, dtype=dtype).contiguous(memory_format=torch.channels_last)
    return lambda: F.conv2d(x, w, padding=r // 2)


def _neg(nbytes):
    # A copy through the SMs (one read, one write): torch's copy_ would be a DMA memcpy, which ncu does not profile.
    src = _randn(nbytes // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    return lambda: torch.neg(src, out=dst)


def _add(nbytes):
    a, b = _randn(nbytes // 4, dtype=torch.float32), _randn(nbytes // 4, dtype=torch.float32)
    out = torch.empty_like(a)
    return lambda: torch.add(a, b, alpha=2.0, out=out)


#: name -> (mode, builder): from a few µs to a few ms on an H100.
CASES = {
    "neg-4B-hot": ("hot", lambda: _neg(4)),  # the floors: a one-element kernel in each cache mode
    "neg-4B-cold": ("cold", lambda: _neg(4)),
    "add-1MiB-cold": ("cold", lambda: _add(1 << 20)),
    "neg-4MiB-hot": ("hot", lambda: _neg(4 << 20)),
    "gemm-35x700x2048-fp16-cold": ("cold", lambda: _gemm(35, 700, 2048, torch.float16)),  # DeepBench inference
    "conv-r50-3x3-b1-cold": ("cold", lambda: _conv(1, 64, 56, 64, 3)),  # ResNet-50 layer, batch 1
    "gemm-1024-bf16-hot": ("hot", lambda: _gemm(1024, 1024, 1024)),
    "conv-r50-3x3-b32-hot": ("hot", lambda: _conv(32, 64, 56, 64, 3)),
    "neg-256MiB-cold": ("cold", lambda: _neg(256 << 20)),
    "gemm-4096-bf16-hot": ("hot", lambda: _gemm(4096, 4096, 4096)),
    "neg-2GiB-hot": ("hot", lambda: _neg(2 << 30)),
    "gemm-8192x8192x16384-bf16-cold": ("cold", lambda: _gemm(8192, 8192, 16384)),
}


def launch(name: str, calls: int) -> None:
    """Child under ncu: warm up, then ``calls`` calls inside the NVTX range ncu keeps."""
    fn = CASES[name][1]()
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    torch.cuda.nvtx.range_push(RANGE)
    for _ in range(calls):
        fn()
    torch.cuda.synchronize()
    torch.cuda.nvtx.range_pop()


def count_ops(names: list[str], calls: int = 5) -> dict:
    """Child: device operations per call of each case, by kind (kernel, memset, memcpy), from torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    out = {}
    for name in names:
        fn = CASES[name][1]()
        fn()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as p:
            for _ in range(calls):
                fn()
            torch.cuda.synchronize()
        kinds = {"kernel": 0, "memset": 0, "memcpy": 0}
        for e in p.events():
            if e.device_type == torch.autograd.DeviceType.CUDA:
                n = e.name.lower()
                kinds["memset" if "memset" in n else "memcpy" if "memcpy" in n else "kernel"] += 1
        out[name] = {k: v / calls for k, v in kinds.items()}
        del fn
    return out


def ops_per_call(names: list[str]) -> dict:
    """count_ops in a child process (torch.profiler holds CUPTI while it runs; this process times with it)."""
    p = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--count-ops", ",".join(names)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (p.stderr or p.stdout)[-300:]}


_UNIT_US = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3, "second": 1e6, "s": 1e6}


def _per_unit_mhz(unit: str) -> float:
    """MHz per unit of a frequency as ncu prints it: "hz", "Mhz", "cycle/second", "cycle/nsecond"..."""
    u = unit.lower().replace("cycle", "")
    for name, mhz in (("ghz", 1e3), ("mhz", 1.0), ("khz", 1e-3), ("hz", 1e-6)):
        if u.endswith(name):
            return mhz
    if u.startswith("/"):
        return 1e-6 / (_UNIT_US[u[1:]] * 1e-6)
    raise RuntimeError(f"unknown ncu clock unit {unit!r}")


DURATION, CLOCK = "gpu__time_duration.sum", "sm__cycles_elapsed.avg.per_second"


def ncu_us_per_call(ncu: str, name: str, calls: int) -> tuple[float, int, float]:
    """(µs per call, kernels profiled, SM clock in MHz weighted by duration) from ncu for the case ``name``."""
    cache = "all" if CASES[name][0] == "cold" else "none"
    cmd = [
        ncu,
        "--clock-control",
        "none",
        "--cache-control",
        cache,
        "--metrics",
        f"{DURATION},{CLOCK}",
        "--csv",
        "--print-units",
        "base",
        "--nvtx",
        "--nvtx-include",
        f"{RANGE}/",
        "--target-processes",
        "all",
        sys.executable,
        os.path.abspath(__file__),
        "--launch",
        name,
        "--calls",
        str(calls),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    if p.returncode != 0:
        raise RuntimeError(f"ncu failed ({p.returncode}): {(p.stderr or p.stdout)[-800:]}")
    text = p.stdout[p.stdout.find('"ID"') :] if '"ID"' in p.stdout else ""
    per_kernel: dict = {}  # ID -> {metric: value in µs or MHz}
    for row in csv.DictReader(io.StringIO(text)):
        metric, unit = row.get("Metric Name"), row.get("Metric Unit", "").strip()
        value = float(row["Metric Value"].replace(",", ""))
        if metric == DURATION:
            if unit not in _UNIT_US:
                raise RuntimeError(f"unknown ncu unit {unit!r}")
            per_kernel.setdefault(row["ID"], {})["us"] = value * _UNIT_US[unit]
        elif metric == CLOCK:
            per_kernel.setdefault(row["ID"], {})["mhz"] = value * _per_unit_mhz(unit)
    kernels = [k for k in per_kernel.values() if "us" in k]
    if not kernels:
        raise RuntimeError(f"ncu profiled no kernel in the NVTX range {RANGE!r}: {p.stdout[-800:]}")
    total = sum(k["us"] for k in kernels)
    mhz = sum(k["us"] * k.get("mhz", float("nan")) for k in kernels) / total
    return total / calls, len(kernels), mhz


def aimatrix_us(name: str) -> dict:
    mode, build = CASES[name]
    fn = build()
    out = {}
    for timer in ("events", "cupti", "auto"):
        m = am.timing.measure(fn, device="cuda", mode=mode, timer=timer, telemetry=True, **TIMING)
        out[timer] = m.median_ms * 1e3
        out[f"{timer}_mhz"] = ((m.telemetry or {}).get("sm_clock_mhz") or {}).get("median", float("nan"))
        out[f"{timer}_ran"] = m.stats["timer"]
        out[f"{timer}_rel_ci"] = m.stats["rel_ci"]
        if timer == "cupti":
            out["cupti_event_us"] = m.stats.get("event_median_ms", float("nan")) * 1e3
    if mode == "cold":  # trial: the cold flush also evicts the instruction caches, as ncu's `all` does
        os.environ["AIMATRIX_COLD_ICACHE"] = "1"
        try:
            m = am.timing.measure(fn, device="cuda", mode=mode, timer="cupti", **TIMING)
            out["cupti_icache"] = m.median_ms * 1e3
        finally:
            del os.environ["AIMATRIX_COLD_ICACHE"]
    del fn
    torch.cuda.empty_cache()
    return out


def is_floor(case: str) -> bool:
    return case.startswith("neg-4B-")


def compare(row: dict, floors: dict[str, float]) -> float:
    """Add the Δ columns to a row holding ncu's and aimatrix's figures; ncu's µs per call with its floor removed.

    A floor row (the one-element kernel) first sets ``floors[mode]``: ncu's fixed cost per kernel over CUPTI's in
    its cache mode. A row's floor is its own mode's, the hot one where its mode has none yet."""
    if is_floor(row["case"]):
        floors[row["mode"]] = row["ncu_floor_over_cupti_us"] = row["ncu"] / row["kernels_per_call"] - row["cupti"]
    ncu_kernel = row["ncu"] - row["kernels_per_call"] * floors.get(row["mode"], floors.get("hot", 0.0))
    row["cupti_delta"] = row["cupti"] / row["ncu"] - 1
    row["events_delta"] = row["events"] / row["ncu"] - 1
    row["cupti_delta_floor"] = row["cupti"] / ncu_kernel - 1
    row["cupti_delta_cycles"] = row["cupti"] * row["cupti_mhz"] / (ncu_kernel * row["ncu_mhz"]) - 1
    row["ok"] = abs(row["cupti_delta"]) <= TARGET and row["cupti_ran"] == "cupti"
    return ncu_kernel


def summary(rows: list[dict]) -> str:
    """How many rows meet the target as measured, and (the timed kernels, not the floors) after each correction."""
    timed = [r for r in rows if "cupti_delta_floor" in r and not is_floor(r["case"])]
    within = {k: sum(abs(r[k]) <= TARGET for r in timed) for k in ("cupti_delta_floor", "cupti_delta_cycles")}
    return (
        f"{sum(r['ok'] for r in rows)} of {len(rows)} CUPTI rows within {100 * TARGET:.0f}% of ncu; without the "
        f"floors, {within['cupti_delta_floor']} of {len(timed)} with the floor removed, "
        f"{within['cupti_delta_cycles']} of {len(timed)} by cycles."
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--ncu", default=os.environ.get("NCU") or shutil.which("ncu") or "/usr/local/cuda/bin/ncu")
    ap.add_argument("--out", default=None, help="JSON file for the rows")
    ap.add_argument("--launch", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--count-ops", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.launch:
        launch(a.launch, a.calls)
        return 0
    if a.count_ops:
        print(json.dumps(count_ops(a.count_ops.split(","))))
        return 0
    names = a.cases.split(",")
    for n in names:
        if n not in CASES:
            raise SystemExit(f"unknown case {n!r}: expected one of {', '.join(CASES)}")
    why = am.timing.cupti_unavailable_reason("cuda")
    print(f"# timers vs Nsight Compute on {torch.cuda.get_device_name()}\n")
    print(
        f"CUPTI: {'available' if why is None else why}; ncu: {a.ncu}; {a.calls} calls per case under ncu; "
        f"aimatrix medians with {TIMING}\n"
    )
    ops = ops_per_call(names)
    if "error" in ops:
        print(f"(torch.profiler count failed: {ops['error']})\n")
    print(
        "| case | mode | ncu µs | kernels/call (ncu) | memsets+memcpys/call | CUPTI µs | Δ | events µs | Δ "
        "| auto µs (ran) | SM MHz CUPTI / ncu | CUPTI Δ, floor removed | CUPTI Δ, cycles | CUPTI ≤ 2% "
        "| CUPTI µs, i-cache evicted too (Δ floor removed) |"
    )
    print("| --- | --- |" + " ---: |" * 11 + " :---: | ---: |")
    rows, failed, floors = [], 0, {}  # floors: cache mode -> ncu's fixed cost per kernel over CUPTI's
    for n in names:
        row = {"case": n, "mode": CASES[n][0]}
        try:
            row.update(aimatrix_us(n))
            row["ncu"], k, row["ncu_mhz"] = ncu_us_per_call(a.ncu, n, a.calls)
            row["kernels_per_call"] = k / a.calls
            row["ops"] = ops.get(n, {})
            other = row["ops"].get("memset", 0) + row["ops"].get("memcpy", 0) if row["ops"] else float("nan")
            ncu_kernel = compare(row, floors)
            icache = ""
            if "cupti_icache" in row:
                icache = f"{row['cupti_icache']:.2f} ({100 * (row['cupti_icache'] / ncu_kernel - 1):+.1f}%)"
            print(
                f"| {n} | {row['mode']} | {row['ncu']:.2f} | {row['kernels_per_call']:.1f} | {other:.1f} | "
                f"{row['cupti']:.2f} | "
                f"{100 * row['cupti_delta']:+.1f}% | {row['events']:.2f} | {100 * row['events_delta']:+.1f}% | "
                f"{row['auto']:.2f} ({row['auto_ran']}) | {row['cupti_mhz']:.0f} / {row['ncu_mhz']:.0f} | "
                f"{100 * row['cupti_delta_floor']:+.1f}% | {100 * row['cupti_delta_cycles']:+.1f}% | "
                f"{'yes' if row['ok'] else '**no**'} | {icache} |",
                flush=True,
            )
        except Exception as e:  # noqa: BLE001 - one case's failure is a row, the others still run
            row["error"] = f"{type(e).__name__}: {e}"
            row["ok"] = False
            print(f"| {n} | {row['mode']} | failed: {row['error'][:300]} ||||||||||||| **no** |", flush=True)
        failed += not row["ok"]
        rows.append(row)
    for mode, us in floors.items():
        print(f"\nncu's floor over CUPTI's, per kernel (one-element kernel, {mode}): {us:.2f} µs")
    print(f"\n{summary(rows)}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
