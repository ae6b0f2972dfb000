"""aimatrix GEMM vs torch.matmul timed with triton.testing.do_bench, side by side in one run.

    python bench/gemm_vs_torch.py [--out results.jsonl] [--rounds 3] [--quick] [--no-hot]

For each shape and dtype, interleaved rounds of: torch timed by do_bench, torch
timed by aimatrix's engine (cold), and aimatrix `cublaslt`/`cublas` in cold and
(unless --no-hot) hot mode. The median over rounds is reported, so the slow drift
of a power-capped GPU's clock hits every column alike. do_bench zeroes a 256 MB
buffer before every call, so its peer is aimatrix's cold mode (L2 flushed).
do_bench gets the same warm-up and measuring time as aimatrix (its `warmup` and
`rep`, in ms): with its own 25 ms / 100 ms it times a power-capped GPU before the
clock has come down to its sustained value, and the comparison would be of power
states, not of libraries.
Inputs are uniform in [-1, 1) drawn in fp32 and rounded, for torch as for
aimatrix (torch.rand directly in bf16 then *2-1 leaves trailing zero mantissa
bits, which draw less power and run measurably faster). Then our own kernels
against cuBLASLt, and the run-to-run spread of the median at 4096^3 bf16.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Callable

import torch
import triton.testing

import aimatrix as am

SHAPES = [(8192, 8192, 8192), (4096, 4096, 4096), (1024, 1024, 1024), (5124, 700, 2048), (35, 700, 2048)]
DTYPES = ["bf16", "fp16", "tf32", "fp32", "fp8"]
TORCH_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16, "tf32": torch.float32, "fp32": torch.float32}
COLUMNS = ["torch do_bench", "torch am cold", "cublaslt hot", "cublaslt cold", "cublas hot", "cublas cold"]
COLD_COLUMNS = [c for c in COLUMNS if not c.endswith(" hot")]


def torch_fn(m: int, n: int, k: int, dtype: str) -> Callable[[], object]:
    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    g = torch.Generator(device="cuda").manual_seed(0)
    rand = lambda *shape: torch.rand(*shape, device="cuda", generator=g) * 2 - 1  # noqa: E731
    if dtype == "fp8":
        a, b = rand(m, k).to(torch.float8_e4m3fn), rand(n, k).to(torch.float8_e4m3fn)
        one = torch.ones((), device="cuda")
        return lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    a, b = rand(m, k).to(TORCH_DTYPE[dtype]), rand(k, n).to(TORCH_DTYPE[dtype])
    return lambda: torch.matmul(a, b)


def measurements(
    m: int, n: int, k: int, dtype: str, w: am.results.JsonlWriter, timing: dict, modes: tuple[str, ...]
) -> dict[str, Callable]:
    """Each column as a function returning TFLOP/s (or None when the pairing cannot run)."""
    flops = 2.0 * m * n * k
    fn = torch_fn(m, n, k, dtype)
    rule = {**am.timing.DEFAULTS, **timing}
    warm_ms, rep_ms = 1e3 * rule["warmup"], 1e3 * rule["min_time"]
    out: dict[str, Callable] = {
        "torch do_bench": lambda: (
            flops / triton.testing.do_bench(fn, warmup=warm_ms, rep=rep_ms, return_mode="median") / 1e9
        ),
        "torch am cold": lambda: flops / am.timing.measure(fn, device="cuda", mode="cold", **timing).median_ms / 1e9,
    }
    for backend in ("cublaslt", "cublas"):
        for mode in modes:

            def run(backend=backend, mode=mode):
                try:
                    r = am.gemm(m, n, k, dtype=dtype, backend=backend, mode=mode, trans_b=dtype == "fp8", **timing)
                except am.UnsupportedError:
                    return None
                w.write(r)
                return r.tflops

            out[f"{backend} {mode}"] = run
    return out


def interleaved(cols: dict[str, Callable], rounds: int) -> dict[str, tuple]:
    """Median, min and max TFLOP/s over rounds, the columns taking turns within each round."""
    got: dict[str, list] = {c: [] for c in cols}
    for _ in range(rounds):
        for c, f in cols.items():
            got[c].append(f())
    return {c: (None, None, None) if None in v else (statistics.median(v), min(v), max(v)) for c, v in got.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="gemm_vs_torch.jsonl")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="bf16 and fp8 only, square shapes")
    ap.add_argument("--warmup", type=float, default=None, help="warm-up seconds, both sides (default: the library's)")
    ap.add_argument(
        "--min-time", type=float, default=None, help="measuring seconds, both sides (default: the library's)"
    )
    ap.add_argument("--no-hot", action="store_true", help="cold columns only (the ones compared with do_bench)")
    ap.add_argument("--sections", default="compare,own,spread", help="comma list of compare, own, spread")
    ap.add_argument("--shapes", default=None, help="comma list of MxNxK for the comparison (default: all)")
    args = ap.parse_args()
    timing = {k: v for k, v in (("warmup", args.warmup), ("min_time", args.min_time)) if v is not None}
    columns, modes = (COLD_COLUMNS, ("cold",)) if args.no_hot else (COLUMNS, ("hot", "cold"))
    sections = set(args.sections.split(","))
    w = am.results.JsonlWriter(args.out, append=False)
    dev = am.devices()[-1]
    print(
        f"device: {am.system.env.device_info(dev)['name']}, torch {torch.__version__}, triton {triton.__version__}, "
        f"{args.rounds} interleaved rounds, median TFLOP/s (min-max); warm-up and measuring time "
        f"{timing or 'library defaults'} for aimatrix and do_bench alike\n"
    )
    if "compare" in sections:
        shapes, dtypes = (SHAPES[:3], ["bf16", "fp8"]) if args.quick else (SHAPES, DTYPES)
        if args.shapes:
            shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
        compare(shapes, dtypes, columns, modes, args.rounds, w, timing)
    if "own" in sections:
        own_kernels(w, timing)
    if "spread" in sections:
        medians = [am.gemm(4096, 4096, 4096, dtype="bf16", **timing).median_ms for _ in range(5)]
        spread = (max(medians) - min(medians)) / statistics.median(medians)
        print(
            f"\nrun-to-run spread of the median, 4096^3 bf16 cublaslt hot, 5 runs: {100 * spread:.2f}% "
            f"(medians ms: {', '.join(f'{x:.4f}' for x in medians)})"
        )
    w.close()


def compare(shapes: list, dtypes: list, columns: list, modes: tuple, rounds: int, w, timing: dict) -> None:
    """The table of aimatrix vs torch (do_bench and aimatrix's engine), one row per shape and dtype."""
    print("| shape | dtype | " + " | ".join(columns) + " | lt cold / do_bench | blas cold / do_bench |")
    print("|---|---|" + "---|" * (len(columns) + 2))
    f = lambda t: "n/a" if t[0] is None else f"{t[0]:.1f} ({t[1]:.0f}-{t[2]:.0f})"  # noqa: E731
    for m, n, k in shapes:
        for dtype in dtypes:
            if dtype == "fp8" and (m % 16 or n % 16 or k % 16):
                continue  # fp8 tensor-core GEMMs need multiples of 16 (torch and cuBLASLt alike)
            res = interleaved(measurements(m, n, k, dtype, w, timing, modes), rounds)
            ref = res["torch do_bench"][0]
            ratio = lambda c: "n/a" if res[c][0] is None else f"{res[c][0] / ref:.3f}"  # noqa: E731
            print(
                f"| {m}x{n}x{k} | {dtype} | "
                + " | ".join(f(res[c]) for c in columns)
                + f" | {ratio('cublaslt cold')} | {ratio('cublas cold')} |",
                flush=True,
            )


def own_kernels(w, timing: dict) -> None:
    """Our own kernels against cuBLASLt on the square shapes (fp8: the TN layout, the only one both run)."""
    print("\n| own kernel | shape | dtype | TFLOP/s | cuBLASLt TFLOP/s | ratio |")
    print("|---|---|---|---|---|---|")
    for backend, dtype in (("tensorcore", "bf16"), ("tensorcore", "fp16"), ("tensorcore", "fp8"), ("simt", "fp32")):
        layout = {"trans_b": dtype == "fp8"}
        for m, n, k in SHAPES[:3]:
            try:
                own = am.gemm(m, n, k, dtype=dtype, backend=backend, **layout, **timing)
                ref = am.gemm(m, n, k, dtype=dtype, backend="cublaslt", **layout, **timing)
                w.write(own)
                print(
                    f"| {backend} ({own.ran.get('kernel')}) | {m}x{n}x{k} | {dtype} | {own.tflops:.1f} | "
                    f"{ref.tflops:.1f} | {own.tflops / ref.tflops:.3f} |",
                    flush=True,
                )
            except Exception as e:  # keep going: report the failure
                print(f"| {backend} | {m}x{n}x{k} | {dtype} | FAILED {type(e).__name__}: {e} | | |", flush=True)


if __name__ == "__main__":
    main()
