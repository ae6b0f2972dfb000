"""aimatrix micro benchmarks vs PyTorch, side by side in one run (issue 3's targets).

    python bench/micro_vs_torch.py [--out results.jsonl] [--batch 256] [--rounds 1] [--quick]
        [--sections conv,memory,launch] [--dtypes bf16,fp16,fp32] [--layers 1x1,3x3,NAME] [--no-igemm] [--algo find]

1. Convolution, ResNet-50 layers (aimatrix.micro.catalog("resnet50-conv")) at batch 256 (at 32 the short
   layers run 11-40 us, where the 3-4 us that event timing adds varies by more than 3% between
   harnesses timing the same call: bench/kernel_time_probe.py), NHWC
   (torch: channels_last), bf16/fp16/fp32: torch.nn.functional.conv2d with
   cudnn.benchmark on and benchmark_limit 24, the configs aimatrix's find times (fp32 with TF32
   off, as aimatrix's fp32), timed by
   triton.testing.do_bench (median; it zeroes a 256 MB buffer before every call),
   against aimatrix `cudnn` in cold mode (L2 flushed before every sample: the same
   condition), twice: with the engine config PyTorch's benchmark mode chose (read from the
   cuDNN frontend's log, bench/torch_cudnn_plan.py: the same kernels, so the ratio is the
   harnesses' difference) and with aimatrix's own search (`--algo`, default find: the ratio
   adds the difference between the two searches' choices); and aimatrix's own implicit GEMM
   (`igemm`, cold) against `cudnn`.
   Inputs: uniform [-1, 1) drawn in fp32 and rounded, for torch as for aimatrix.
2. Memory: aimatrix copy/triad (and the other kinds) vs torch copy_ / torch.add(b, c,
   alpha=3, out=a) (one kernel, 2 reads + 1 write, as triad), bytes counted read + written;
   h2d/d2h from pinned memory vs torch .copy_(non_blocking=True).
3. Launch latency (empty, graph, sync) and the membw size sweep (copy, 4 KiB .. 4 GiB).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable

import torch_cudnn_plan

import aimatrix as am
from aimatrix.micro.catalog import catalog

#: Where the cuDNN frontend logs PyTorch's timed plans (set before torch's first convolution).
PLAN_LOG = "/tmp/aimatrix-torch-cudnn-plans.log"

# PyTorch is imported after aimatrix has loaded its CUDA back end (and cuDNN): one
# libcudnn in the process. --no-torch never imports it (aimatrix's columns only).
torch = F = triton = None


def import_torch() -> None:
    global torch, F, triton
    import torch as _torch
    import torch.nn.functional as _F
    import triton as _triton
    import triton.testing  # noqa: F401

    torch, F, triton = _torch, _F, _triton


def loaded_cudnn() -> list[str]:
    """The libcudnn files mapped into this process (two different ones would be trouble)."""
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if "libcudnn.so" in line})


def rand(*shape, dtype: str, gen):
    dt = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
    return (torch.rand(*shape, device="cuda", generator=gen) * 2 - 1).to(dt)


def do_bench_ms(fn: Callable) -> float:
    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


def conv_section(args, w, timing) -> None:
    if not args.no_torch:
        torch.backends.cudnn.benchmark = True
        # As many engine configs as aimatrix's find times (PyTorch's default is 10): the same search on both sides.
        torch.backends.cudnn.benchmark_limit = args.benchmark_limit
        print(f"torch.backends.cudnn.benchmark_limit = {args.benchmark_limit} (aimatrix find: up to 24 configs)")
        torch.backends.cudnn.allow_tf32 = False
        gen = torch.Generator(device="cuda").manual_seed(0)
        plans = torch_cudnn_plan.PlanLog(PLAN_LOG)
        plans.new_plans()  # what was logged before this section
    torch_choice: dict[tuple, str] = {}  # PyTorch benchmarks a shape once: its choice, by shape
    layers = catalog("resnet50-conv", batch=args.batch)
    # The 3x3 layers (the igemm target) first, the 3-channel stem last.
    layers.sort(key=lambda e: (e["r"] != 3, e["c"] < 8))
    if args.quick:
        layers = [e for e in layers if e["r"] == 3][:4]
    if args.layers:
        # "1x1" / "3x3" / "7x7" pick by filter size, anything else by a substring of the name.
        want = args.layers.split(",")
        layers = [e for e in layers if any(f"{e['r']}x{e['s']}" == w_ or w_ in e["name"] for w_ in want)]
    print(
        f"\n## Convolution: ResNet-50 layers, batch {args.batch}, NHWC, median TFLOP/s "
        f"(torch: do_bench; aimatrix: cold mode, L2 flushed every sample)\n"
    )
    print(
        "torch's config: the one PyTorch's benchmark mode chose (cuDNN frontend log); same: aimatrix cudnn with it; "
        f"{args.algo}: aimatrix cudnn, algo={args.algo!r}\n"
    )
    print(
        f"| layer | dtype | torch do_bench | same config | same / torch | torch's config | {args.algo} | "
        f"{args.algo} / torch | {args.algo} config | igemm cold | igemm / cudnn |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    summary: dict[str, list] = {"ratio": [], "same": [], "igemm3x3": []}
    for dtype in args.dtypes:
        for e in layers:
            n, c, h, k, r, st, pad = e["n"], e["c"], e["h"], e["k"], e["r"], e["stride"], e["pad"]
            flops = None
            torch_algo = None

            def torch_col():
                nonlocal torch_algo
                x = rand(n, c, h, h, dtype=dtype, gen=gen).contiguous(memory_format=torch.channels_last)
                wt = rand(k, c, r, r, dtype=dtype, gen=gen).contiguous(memory_format=torch.channels_last)
                ms_ = do_bench_ms(lambda: F.conv2d(x, wt, stride=st, padding=pad))
                key = (dtype, n, c, h, k, r, st, pad)
                torch_algo = torch_choice[key] = plans.chosen()[0] or torch_choice.get(key)
                if not getattr(conv_section, "shown", False):
                    conv_section.shown = True
                    print(f"(after torch's first conv, libcudnn mapped: {', '.join(loaded_cudnn())})\n", flush=True)
                return ms_

            def am_col(backend, algo: Callable[[], str | None] | None = None):
                def run():
                    nonlocal flops
                    try:
                        choice = {} if algo is None else {"algo": algo()}
                        if choice and choice["algo"] is None:
                            return None, "PyTorch's choice was not logged"
                        res = am.conv(
                            n,
                            c,
                            h,
                            h,
                            k=k,
                            r=r,
                            stride=st,
                            pad=pad,
                            dtype=dtype,
                            layout="nhwc",
                            backend=backend,
                            mode="cold",
                            **choice,
                            **timing,
                        )
                    except (am.UnsupportedError, ValueError) as ex:
                        return None, str(ex)
                    w.write(res)
                    flops = res.metrics["flops"]
                    return res.median_ms, res.ran.get("algo_exact") or res.ran.get("algo", "")

                return run

            cols = {"torch": torch_col, "same": am_col("cudnn", lambda: torch_algo)}
            cols["cudnn"] = am_col("cudnn", lambda: args.algo)
            if args.no_torch:
                cols = {"cudnn": cols["cudnn"]}
            if not args.no_igemm and (dtype != "fp32" or r == 3):
                cols["igemm"] = am_col("igemm")
            got: dict[str, list] = {c_: [] for c_ in cols}
            info: dict[str, str] = {}
            for _ in range(args.rounds):
                for name, f in cols.items():
                    print(f"  [{e['name']} {dtype}: {name}]", file=sys.stderr, flush=True)
                    v = f()
                    if isinstance(v, tuple):
                        v, info[name] = v
                    got[name].append(v)
            ms = {k_: (None if None in v else statistics.median(v)) for k_, v in got.items()}
            tf = {k_: (flops / v / 1e9 if v and flops else None) for k_, v in ms.items()}
            tf.setdefault("torch", None)
            tf.setdefault("same", None)
            fmt = lambda t: "n/a" if t is None else f"{t:.1f}"  # noqa: E731
            fmt_r = lambda v, d=3: "n/a" if not v else f"{v:.{d}f}"  # noqa: E731
            ratio = tf["torch"] and tf["cudnn"] and tf["cudnn"] / tf["torch"]
            same = tf["torch"] and tf["same"] and tf["same"] / tf["torch"]
            ig = tf.get("igemm") and tf["cudnn"] and tf["igemm"] / tf["cudnn"]
            if ratio:
                summary["ratio"].append((dtype, ratio))
            if same:
                summary["same"].append((dtype, same))
            if ig and r == 3:
                summary["igemm3x3"].append((dtype, ig))
            print(
                f"| {e['name']} | {dtype} | {fmt(tf['torch'])} | {fmt(tf['same'])} | {fmt_r(same)} | "
                f"{info.get('same', '')} | {fmt(tf['cudnn'])} | {fmt_r(ratio)} | {info.get('cudnn', '')} | "
                f"{fmt(tf.get('igemm'))} | {fmt_r(ig, 2)} |",
                flush=True,
            )
    for dtype in args.dtypes:
        ig = [v for d, v in summary["igemm3x3"] if d == dtype]
        print(f"\n{dtype}:", end="")
        for key, label in (("same", "same config / torch"), ("ratio", f"{args.algo} / torch")):
            rs = [v for d, v in summary[key] if d == dtype]
            if rs:
                print(
                    f" {label}: median {statistics.median(rs):.3f}, min {min(rs):.3f}, max {max(rs):.3f}, "
                    f"within ±3%: {sum(abs(v - 1) <= 0.03 for v in rs)}/{len(rs)};",
                    end="",
                )
        if ig:
            print(f"; igemm/cudnn on 3x3 layers: median {statistics.median(ig):.2f}, min {min(ig):.2f}", end="")
    print()


def memory_section(args, w, timing) -> None:
    nbytes = args.nbytes
    n = nbytes // 4
    a, b, c = (torch.rand(n, device="cuda") for _ in range(3))
    torch_cols = {
        "copy": (lambda a=a, c=c: c.copy_(a), 2 * nbytes),
        "triad": (lambda a=a, b=b, c=c: torch.add(b, c, alpha=3.0, out=a), 3 * nbytes),
    }
    print(f"\n## Memory bandwidth, {nbytes >> 20} MiB arrays, GB/s (bytes read + written)\n")
    print("| kind | torch do_bench | aimatrix hot | aimatrix cold | aimatrix / torch | % of peak |")
    print("|---|---|---|---|---|---|")
    # Hopper's bulk-copy kernels (kernel="tma") next to the per-thread loads/stores, where the GPU has them.
    tma = torch.cuda.get_device_capability()[0] >= 9
    rows = [(k, "auto") for k in ("copy", "triad", "read", "write", "scale", "add", "dot", "d2d")]
    if tma:
        rows[2:2] = [("copy", "tma"), ("triad", "tma")]
        rows += [("scale", "tma"), ("add", "tma")]
    for kind, kernel in rows:
        opt = {} if kernel == "auto" else {"kernel": kernel}
        hot = am.membw(kind, nbytes=nbytes, **opt, **timing)
        cold = am.membw(kind, nbytes=nbytes, mode="cold", **opt, **timing)
        w.write(hot)
        w.write(cold)
        t = None
        if kind in torch_cols:
            fn, moved = torch_cols[kind]
            t = moved / do_bench_ms(fn) / 1e6
        ratio = f"{cold.metrics['gbps'] / t:.3f}" if t else "n/a"
        label = kind if kernel == "auto" else f"{kind} ({kernel})"
        torch_gbps = "n/a" if t is None else f"{t:.0f}"
        print(
            f"| {label} | {torch_gbps} | {hot.metrics['gbps']:.0f} | {cold.metrics['gbps']:.0f} | "
            f"{ratio} | {cold.metrics.get('pct_of_peak', 0):.1f} |",
            flush=True,
        )
    del a, b, c, torch_cols  # free the arrays before the transfer rows
    tb = 256 << 20
    host = torch.empty(tb // 4, pin_memory=True)
    host.uniform_()
    dev = torch.empty(tb // 4, device="cuda")
    print(f"\n## Transfers, {tb >> 20} MiB, GB/s (bytes crossing once)\n")
    print("| kind | torch (pinned) | aimatrix pinned | aimatrix pageable | aimatrix pinned / torch |")
    print("|---|---|---|---|---|")
    for kind, fn in (
        ("h2d", lambda: dev.copy_(host, non_blocking=True)),
        ("d2h", lambda: host.copy_(dev, non_blocking=True)),
    ):
        t = tb / do_bench_ms(fn) / 1e6
        pin = am.membw(kind, nbytes=tb, **timing)
        page = am.membw(kind, nbytes=tb, pinned=False, **timing)
        w.write(pin)
        w.write(page)
        print(
            f"| {kind} | {t:.1f} | {pin.metrics['gbps']:.1f} | {page.metrics['gbps']:.1f} | {pin.metrics['gbps'] / t:.3f} |",
            flush=True,
        )


def launch_and_sweep(args, w, timing) -> None:
    print("\n## Launch latency (host side, µs per launch)\n")
    print("| kind | median µs | p10 | p90 |")
    print("|---|---|---|---|")
    for kind in ("empty", "graph", "sync"):
        r = am.launch(kind, **timing)
        w.write(r)
        s = r.stats
        print(
            f"| {kind} | {r.metrics['latency_us']:.2f} | {s['p10_ms'] * 1e3:.2f} | {s['p90_ms'] * 1e3:.2f} |",
            flush=True,
        )
    if args.quick:
        return
    print("\n## membw sweep: read, hot, GB/s (small sizes: many passes per launch; every SM reads the whole array)\n")
    print("| bytes per array | passes | GB/s |")
    print("|---|---|---|")
    sweep = __import__("importlib").import_module("aimatrix.micro.membw").sweep
    for r in sweep("read", **timing):
        w.write(r)
        print(f"| {r.params['nbytes']:,} | {r.params['passes']} | {r.metrics['gbps']:.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="micro_vs_torch.jsonl")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--dtypes", default="bf16,fp16,fp32")
    ap.add_argument("--nbytes", type=int, default=1 << 30)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--layers", default="", help="conv layers: 1x1, 3x3, 7x7 or substrings of names, comma-separated")
    ap.add_argument("--no-igemm", action="store_true", help="conv: leave out the igemm column")
    ap.add_argument("--algo", default="find", help="conv: aimatrix cudnn's algo= (find, heuristic, legacy-find, ...)")
    ap.add_argument(
        "--benchmark-limit",
        type=int,
        default=24,
        help="conv: torch.backends.cudnn.benchmark_limit (configs PyTorch's benchmark mode tries; 0: all)",
    )
    ap.add_argument("--sections", default="conv,memory,launch")
    ap.add_argument("--no-torch", action="store_true", help="aimatrix only: PyTorch is never imported")
    args = ap.parse_args()
    args.dtypes = args.dtypes.split(",")
    timing = dict(warmup=0.05, warmup_max=0.5, min_time=0.15, max_time=0.5)
    w = am.results.JsonlWriter(args.out, append=False)
    info = am.system.env.device_info(am.devices()[-1])
    cudnn = am._native.cuda().cudnn_version()
    if args.no_torch:
        print(f"device: {info['name']}, aimatrix cuDNN {cudnn} (PyTorch not imported)")
    else:
        torch_cudnn_plan.enable(PLAN_LOG)  # before torch's first convolution: the frontend reads it once
        import_torch()
        print(
            f"device: {info['name']}, torch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}), "
            f"aimatrix cuDNN {cudnn}, triton {triton.__version__}"
        )
    print(f"libcudnn mapped: {', '.join(loaded_cudnn()) or 'none yet'}")
    t0 = time.time()
    for section in args.sections.split(","):
        try:
            {"conv": conv_section, "memory": memory_section, "launch": launch_and_sweep}[section](args, w, timing)
        except Exception as e:  # report and go on with the next section
            print(f"\n{section} section FAILED: {type(e).__name__}: {e}", flush=True)
    print(f"\n({time.time() - t0:.0f} s)")
    w.close()


if __name__ == "__main__":
    main()
