"""Which harness is right where aimatrix and PyTorch disagree on the same kernels? (issue 3)

For ResNet-50 conv layers, PyTorch's conv2d (cudnn.benchmark on) and aimatrix's `cudnn` conv with
the engine config PyTorch chose, and for a 1 GiB copy, torch's copy_ and aimatrix's membw copy,
four times side by side, in microseconds:
  - torch timed by triton.testing.do_bench (as bench/micro_vs_torch.py),
  - the same torch call timed by aimatrix.timing.measure (cold: L2 flushed before each sample),
  - aimatrix's own figure (cold),
  - the device's own kernel durations (CUPTI, through torch.profiler) of both, median per call
    (kernels and copies; memsets left out on both sides).
The last pair is the ground truth the two harnesses' figures should agree with; in the time columns
lower is faster.

    python bench/kernel_time_probe.py [--layers NAME,...] [--dtypes bf16,fp16] [--batch 32] [--timer cupti]

``--timer`` (issue 16): the timer of both aimatrix columns (events by default; cupti sums the kernels' own
durations, the L2 flush left out); the profiled run that lists aimatrix's kernels always uses events.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from collections import defaultdict

import micro_vs_torch as mvt
import torch_cudnn_plan

import aimatrix as am
from aimatrix.micro.catalog import catalog

TIMING = dict(warmup=0.05, warmup_max=0.5, min_time=0.15, max_time=0.5)
PROFILED = 100  # calls under the profiler


def device_ops(prof) -> list[tuple[str, str, float]]:
    """(category, name, µs) of every kernel, memcpy and memset the profiler saw, in order."""
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    finally:
        os.remove(path)
    ops = [e for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset") and "dur" in e]
    ops.sort(key=lambda e: e["ts"])
    return [(e["cat"], e["name"], float(e["dur"])) for e in ops]


def profiled(fn, calls: int) -> list[tuple[str, str, float]]:
    from torch.profiler import ProfilerActivity, profile

    torch = mvt.torch
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as p:
        fn(calls)
        torch.cuda.synchronize()
    return device_ops(p)


def per_call_us(ops, names: set[str]) -> tuple[float, int]:
    """Median µs per call of the ops named ``names`` (summed over a call's kernels) and how many ran."""
    by_name = defaultdict(list)
    for _, name, dur in ops:
        if name in names:
            by_name[name].append(dur)
    return sum(statistics.median(v) for v in by_name.values()), sum(len(v) for v in by_name.values())


def torch_side(fn, flush, calls: int):
    """torch's ops per call (flush excluded) and their names."""

    def run(k):
        for _ in range(k):
            flush.zero_()
            fn()

    ops = profiled(run, calls)
    flush_names = {n for _, n, _ in profiled(lambda k: [flush.zero_() for _ in range(k)], 3)}
    # Memsets are left out on both sides: torch's flush (zero_()) runs as one, not told apart from a cuDNN memset.
    names = {n for c, n, _ in ops if c != "gpu_memset" and n not in flush_names}
    return ops, names


def timed_kernels(ops) -> set[str]:
    """The kernels aimatrix timed: those run (at least half) as often as its most frequent one, its cold
    mode's L2 flush (csrc/cuda/l2_flush.cu) left out."""
    counts = defaultdict(int)
    for cat, name, _ in ops:
        if cat == "kernel" and "l2_flush_read" not in name:
            counts[name] += 1
    top = max(counts.values(), default=0)
    return {n for n, k in counts.items() if 2 * k >= top}


def row(label: str, fn, aimatrix_run, flush, w, timer: str = "events") -> None:
    t_do = mvt.do_bench_ms(fn) * 1e3
    t_amt = am.timing.measure(lambda: fn(), mode="cold", timer=timer, **TIMING).median_ms * 1e3
    res = aimatrix_run(timer)
    w.write(res)
    t_am = res.median_ms * 1e3
    tops, tnames = torch_side(fn, flush, PROFILED)
    k_torch, n_torch = per_call_us(tops, tnames)
    aops = profiled(lambda k: aimatrix_run("events"), 1)  # the profiler holds CUPTI
    anames = timed_kernels(aops)
    k_am, n_am = per_call_us(aops, anames)
    same = "same kernels" if anames == tnames else f"aimatrix: {', '.join(sorted(anames))[:80]}"
    print(
        f"| {label} | {t_do:.2f} | {t_amt:.2f} | {t_am:.2f} | {k_torch:.2f} | {k_am:.2f} | "
        f"{t_am / t_do:.3f} | {k_am / k_torch:.3f} | torch: {', '.join(sorted(tnames))[:80]} ({n_torch} runs); "
        f"{same} ({n_am} runs) |",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dtypes", default="bf16,fp16")
    ap.add_argument(
        "--layers",
        default="layer1.conv1.first,layer4.conv3,layer3.conv2,layer4.conv2,layer2.conv3,layer4.downsample,layer1.conv2",
    )
    ap.add_argument("--nbytes", type=int, default=1 << 30)
    ap.add_argument("--out", default="kernel_time_probe.jsonl")
    ap.add_argument("--timer", default="events", choices=["events", "cupti", "auto"])
    args = ap.parse_args()
    torch_cudnn_plan.enable(mvt.PLAN_LOG)
    mvt.import_torch()
    torch = mvt.torch
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.benchmark_limit = 24
    torch.backends.cudnn.allow_tf32 = False
    plans = torch_cudnn_plan.PlanLog(mvt.PLAN_LOG)
    gen = torch.Generator(device="cuda").manual_seed(0)
    flush = torch.empty(256 << 20, dtype=torch.int8, device="cuda")
    w = am.results.JsonlWriter(args.out, append=False)
    print(
        "| case | torch do_bench µs | torch, aimatrix timer µs | aimatrix µs | torch kernels µs (CUPTI) | "
        "aimatrix kernels µs (CUPTI) | aimatrix / do_bench (time) | aimatrix / torch (kernels) | kernels (torch/aimatrix runs) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    want = args.layers.split(",")
    layers = [e for e in catalog("resnet50-conv", batch=args.batch) if any(s in e["name"] for s in want)]
    for dtype in args.dtypes.split(","):
        for e in layers:
            n, c, h, k, r, st, pad = e["n"], e["c"], e["h"], e["k"], e["r"], e["stride"], e["pad"]
            x = mvt.rand(n, c, h, h, dtype=dtype, gen=gen).contiguous(memory_format=torch.channels_last)
            wt = mvt.rand(k, c, r, r, dtype=dtype, gen=gen).contiguous(memory_format=torch.channels_last)
            fn = lambda: mvt.F.conv2d(x, wt, stride=st, padding=pad)  # noqa: E731
            plans.new_plans()
            fn()  # PyTorch's benchmark mode times its plans here
            torch.cuda.synchronize()
            algo = plans.chosen()[0]
            if algo is None:
                print(f"| {e['name']} {dtype} | PyTorch's choice was not logged |")
                continue
            run = lambda timer: am.conv(
                n,
                c,
                h,
                h,
                k=k,
                r=r,
                stride=st,
                pad=pad,
                dtype=dtype,
                layout="nhwc",  # noqa: E731
                backend="cudnn",
                algo=algo,
                mode="cold",
                timer=timer,
                **TIMING,
            )
            try:
                row(f"{e['name']} {dtype} conv {algo}", fn, run, flush, w, args.timer)
            except Exception as ex:  # noqa: BLE001 - a probe row reports and goes on
                print(f"| {e['name']} {dtype} | FAILED: {type(ex).__name__}: {ex} |", flush=True)
    nb = args.nbytes
    a, c_ = (torch.rand(nb // 4, device="cuda") for _ in range(2))
    row(
        f"copy {nb >> 20} MiB",
        lambda: c_.copy_(a),
        lambda timer: am.membw("copy", nbytes=nb, mode="cold", timer=timer, **TIMING),
        flush,
        w,
        args.timer,
    )
    w.close()


if __name__ == "__main__":
    main()
