"""aimatrix on a CPU: its own kernels vs the CPU's vendor libraries, side by side in one process (issue 19).

    python bench/cpu_vs_vendor.py [--rounds 1] [--max-time 0.3] [--settle 0.5] [--layers 3x3,1x1] [--layout nchw]
        [--sizes 512,1024,2048,4096] [--no-bwd] [--out bench/logs/2026-12-06-cpu-cpu_vs_vendor.md]

1. fp32 GEMM n^3: aimatrix `cpu` (own kernel), `openblas` (cblas_sgemm, scipy-openblas32), `onednn`
   (dnnl_sgemm), and numpy's matmul (its own OpenBLAS build).
2. ResNet-50's distinct 3x3 and 1x1 convolution layers at batch 8 (aimatrix.micro.catalog("resnet50-conv")):
   aimatrix `cpu` (im2col + own sgemm) and `onednn` vs torch.nn.functional.conv2d (PyTorch's CPU
   convolution, oneDNN inside), forward; bwd_data and bwd_filter vs aten.convolution_backward (what
   autograd calls) with only that gradient asked for.
aimatrix's columns are verified against the float64 reference before they are timed; numpy's and
torch's are compared with aimatrix's check (relative error of the same product / convolution on the
same inputs, on a sample) before theirs. Every column is timed by aimatrix.timing (the native engine,
steady clock, hot caches), the columns of one case one after the other (interleaved), `--rounds` times;
the table holds median GFLOP/s and the ratios. The CPU load (1-minute load average) is printed before
and after: other processes on the machine lower every column alike only if the load stays flat.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import aimatrix as am
from aimatrix import _vendor
from aimatrix.micro.catalog import catalog
from aimatrix.micro.conv import output_size

GEMM_BACKENDS = ("cpu", "openblas", "onednn")
CONV_BACKENDS = ("cpu", "onednn")
DIRECTIONS = ("fwd", "bwd_data", "bwd_filter")


def rel_error(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm((got - ref).ravel()) / max(np.linalg.norm(ref.ravel()), 1e-30))


def timed_ms(fn, timing: dict) -> float:
    return am.timing.measure(fn, device="cpu", **timing).stats["median_ms"]


def gemm_numpy(n: int, timing: dict) -> float:
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (n, n)).astype(np.float32) for _ in range(2))
    c = np.empty((n, n), np.float32)
    np.matmul(a, b, out=c)
    rows = rng.choice(n, size=min(n, 16), replace=False)  # check a sample of rows in float64
    err = rel_error(c[rows], a[rows].astype(np.float64) @ b.astype(np.float64))
    if err > 1e-5:
        raise RuntimeError(f"numpy matmul {n}^3 failed its check: relative error {err:.2e}")
    return timed_ms(lambda: np.matmul(a, b, out=c), timing)


def conv_torch(e: dict, direction: str, layout: str, timing: dict) -> float:
    g = torch.Generator().manual_seed(0)
    rand = lambda *s: torch.rand(*s, generator=g) * 2 - 1  # noqa: E731
    fmt = torch.channels_last if layout == "nhwc" else torch.contiguous_format
    x = rand(e["n"], e["c"], e["h"], e["w"]).contiguous(memory_format=fmt)
    w = rand(e["k"], e["c"], e["r"], e["s"]).contiguous(memory_format=fmt)
    st, pad = e["stride"], e["pad"]
    y = F.conv2d(x, w, stride=st, padding=pad)
    dy = rand(*y.shape).contiguous(memory_format=fmt)
    mask = {"fwd": None, "bwd_data": [True, False, False], "bwd_filter": [False, True, False]}[direction]
    if mask is None:
        fn = lambda: F.conv2d(x, w, stride=st, padding=pad)  # noqa: E731
    else:
        fn = lambda: torch.ops.aten.convolution_backward(
            dy,
            x,
            w,
            None,
            [st, st],
            [pad, pad],
            [1, 1],
            False,  # noqa
            [0, 0],
            1,
            mask,
        )
    with torch.no_grad():
        out = fn() if mask is None else fn()[0 if direction == "bwd_data" else 1]
        # The same gradient in float64 on a slice of the batch (bwd_filter sums over the batch: one image each side).
        x64, w64, dy64 = x[:1].double(), w.double(), dy[:1].double()
        if direction == "fwd":
            got, ref = out[:1], F.conv2d(x64, w64, stride=st, padding=pad)
        elif direction == "bwd_data":
            got, ref = out[:1], torch.nn.grad.conv2d_input(x64.shape, w64, dy64, stride=st, padding=pad)
        else:
            o1 = torch.ops.aten.convolution_backward(
                dy[:1], x[:1], w, None, [st, st], [pad, pad], [1, 1], False, [0, 0], 1, mask
            )[1]
            got, ref = o1, torch.nn.grad.conv2d_weight(x64, w64.shape, dy64, stride=st, padding=pad)
        err = rel_error(got.double().numpy(), ref.numpy())
    if err > 1e-5:
        raise RuntimeError(f"torch {direction} {e['name']} failed its check: relative error {err:.2e}")
    with torch.no_grad():
        return timed_ms(fn, timing)


def median_or_none(v: list) -> float | None:
    return None if not v or None in v else statistics.median(v)


def run_cases(cases: list[tuple[str, dict]], rounds: int, settle: float) -> dict[str, float | None]:
    """Each column's median ms over the rounds, the columns interleaved within a round; None where one failed.

    ``settle`` seconds of sleep before each column: the thread pools of the column before (OpenBLAS's workers,
    OpenMP's) keep spinning for a while after their last call, and on 2 cores a spinning pool halves the next
    column (seen: own GEMM 1024^3 at 45-68 GFLOP/s right after OpenBLAS, 130 after a 1 s pause).
    """
    got: dict[str, list] = {name: [] for name, _ in cases}
    for _ in range(rounds):
        for name, f in cases:
            time.sleep(settle)
            print(f"  [{name}]", file=sys.stderr, flush=True)
            try:
                got[name].append(f())
            except (am.UnsupportedError, RuntimeError, ValueError) as ex:
                print(f"  {name}: {ex}", file=sys.stderr)
                got[name].append(None)
    return {k: median_or_none(v) for k, v in got.items()}


def fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if not a or not b else f"{a / b:.2f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--max-time", type=float, default=0.3, help="seconds of samples per column (default 0.3)")
    p.add_argument("--sizes", default="512,1024,2048,4096")
    p.add_argument("--layers", default="3x3,1x1", help="filter sizes or substrings of layer names (default 3x3,1x1)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--layout", default="nchw", choices=["nchw", "nhwc"])
    p.add_argument("--no-bwd", action="store_true", help="forward convolutions only")
    p.add_argument("--settle", type=float, default=0.5, help="seconds of sleep before each column (default 0.5)")
    p.add_argument("--out", default="bench/logs/2026-12-06-cpu-cpu_vs_vendor.md")
    args = p.parse_args()
    timing = dict(max_time=args.max_time, min_samples=3, warmup=0.1)
    lines: list[str] = []

    def out(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    start = time.time()
    load0 = os.getloadavg()
    out(f"# aimatrix CPU kernels vs the CPU's vendor libraries ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    out()
    env = am.gemm(8, 8, 8, device="cpu", backend="cpu", max_time=0.01).env
    out(
        f"CPU: {env.get('cpu')}, {os.cpu_count()} logical CPUs; aimatrix OpenMP threads {env.get('cpu_threads')}, "
        f"torch threads {torch.get_num_threads()}; numpy {np.__version__}, torch {torch.__version__}"
    )
    for name, detail in _vendor.status().items():
        out(f"- {name}: {detail}")
    out(f"- numpy's BLAS: {np.show_config(mode='dicts')['Build Dependencies']['blas'].get('version', '?')}")
    out(f"- load average (1, 5, 15 min) before: {load0[0]:.2f}, {load0[1]:.2f}, {load0[2]:.2f}")
    out(
        f"- timing: aimatrix.timing, steady clock, hot, max_time {args.max_time} s per column, {args.rounds} round(s), "
        f"{args.settle} s pause before each column"
    )
    out()

    out("## fp32 GEMM n x n x n, GFLOP/s (median)")
    out()
    out("| n | own cpu | openblas | onednn | numpy | own / openblas | onednn / openblas | openblas / numpy |")
    out("|---|---|---|---|---|---|---|---|")
    gemm_ratios = []
    for n in (int(s) for s in args.sizes.split(",")):

        def am_col(backend, n=n):
            return lambda: am.gemm(n, n, n, device="cpu", backend=backend, **timing).median_ms

        cases = [(b, am_col(b)) for b in GEMM_BACKENDS] + [("numpy", lambda n=n: gemm_numpy(n, timing))]
        ms = run_cases(cases, args.rounds, args.settle)
        gf = {k: (2.0 * n**3 / v / 1e6 if v else None) for k, v in ms.items()}
        if gf["cpu"] and gf["openblas"]:
            gemm_ratios.append((n, gf["cpu"] / gf["openblas"]))
        out(
            f"| {n} | {fmt(gf['cpu'])} | {fmt(gf['openblas'])} | {fmt(gf['onednn'])} | {fmt(gf['numpy'])} | "
            f"{ratio(gf['cpu'], gf['openblas'])} | {ratio(gf['onednn'], gf['openblas'])} | "
            f"{ratio(gf['openblas'], gf['numpy'])} |"
        )

    layers = catalog("resnet50-conv", batch=args.batch)
    want = args.layers.split(",")
    layers = [e for e in layers if any(f"{e['r']}x{e['s']}" == w_ or w_ in e["name"] for w_ in want)]
    layers.sort(key=lambda e: e["r"] != 3)  # the 3x3 layers first
    directions = ("fwd",) if args.no_bwd else DIRECTIONS
    out()
    out(f"## Convolution, ResNet-50 layers, batch {args.batch}, {args.layout.upper()}, fp32, GFLOP/s (median)")
    out()
    out(
        "onednn's kernel: what oneDNN picked (+reorder: tensors moved into and out of its formats inside the timed "
        "call, as a framework call on plain tensors does)"
    )
    out()
    out("| layer | dir | own cpu | onednn | torch | own / onednn | onednn / torch | onednn's kernel |")
    out("|---|---|---|---|---|---|---|---|")
    conv_ratios: dict[str, list] = {d: [] for d in directions}
    for e in layers:
        shape = dict(
            n=e["n"], c=e["c"], h=e["h"], w=e["w"], k=e["k"], r=e["r"], s=e["s"], stride=e["stride"], pad=e["pad"]
        )
        for d in directions:
            info: dict[str, str] = {}
            flops = (
                2.0
                * e["n"]
                * e["k"]
                * e["c"]
                * e["r"]
                * e["s"]
                * output_size(e["h"], e["r"], e["stride"], e["pad"], 1) ** 2
            )

            def am_col(backend, d=d, shape=shape, info=info):
                def run():
                    res = am.conv(**shape, direction=d, layout=args.layout, device="cpu", backend=backend, **timing)
                    info[backend] = res.ran.get("algo", "")
                    return res.median_ms

                return run

            cases = [(b, am_col(b)) for b in CONV_BACKENDS] + [
                ("torch", lambda d=d, e=e: conv_torch(e, d, args.layout, timing))
            ]
            ms = run_cases(cases, args.rounds, args.settle)
            gf = {k: (flops / v / 1e6 if v else None) for k, v in ms.items()}
            if gf["cpu"] and gf["onednn"]:
                conv_ratios[d].append(gf["cpu"] / gf["onednn"])
            out(
                f"| {e['name'].removeprefix('resnet50.')} {e['r']}x{e['s']}/{e['stride']} | {d} | {fmt(gf['cpu'])} | "
                f"{fmt(gf['onednn'])} | {fmt(gf['torch'])} | {ratio(gf['cpu'], gf['onednn'])} | "
                f"{ratio(gf['onednn'], gf['torch'])} | {info.get('onednn', '')} |"
            )

    out()
    out("## Summary")
    out()
    for n, r in gemm_ratios:
        out(f"- GEMM {n}^3: own / openblas {r:.2f}")
    for d, rs in conv_ratios.items():
        if rs:
            out(
                f"- conv {d}: own / onednn median {statistics.median(rs):.2f}, min {min(rs):.2f}, max {max(rs):.2f} "
                f"over {len(rs)} layers"
            )
    load1 = os.getloadavg()
    out(
        f"- load average (1, 5, 15 min) after: {load1[0]:.2f}, {load1[1]:.2f}, {load1[2]:.2f}; "
        f"run took {time.time() - start:.0f} s"
    )
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
