"""aimatrix GEMM vs torch.matmul timed with triton.testing.do_bench, side by side in one run.

    python bench/gemm_vs_torch.py [--out results.jsonl] [--max-time 2]

For each shape and dtype: aimatrix `cublaslt` and `cublas` TFLOP/s (median, hot
and cold L2), torch's (do_bench median; do_bench zeroes a 256 MB buffer before
every call, so it compares with aimatrix's cold mode), and the ratio. Then our
own kernels against cuBLAS at 8192^3, and the run-to-run spread of the median
at 4096^3 bf16. Prints Markdown.
"""

from __future__ import annotations

import argparse
import statistics

import torch
import triton.testing

import aimatrix as am

SHAPES = [(8192, 8192, 8192), (4096, 4096, 4096), (1024, 1024, 1024), (5124, 700, 2048), (35, 700, 2048)]
DTYPES = ["bf16", "fp16", "tf32", "fp32", "fp8"]
TORCH_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16, "tf32": torch.float32, "fp32": torch.float32}


def torch_tflops(m: int, n: int, k: int, dtype: str) -> tuple[float, float]:
    """torch's TFLOP/s timed by do_bench, and by aimatrix's engine in cold mode (same harness as ours)."""
    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    g = torch.Generator(device="cuda").manual_seed(0)
    # Uniform in [-1, 1) drawn in fp32, then rounded: the same data aimatrix uses.
    # (torch.rand directly in bf16 then *2-1 leaves trailing zero mantissa bits,
    # which draw less power and run measurably faster.)
    rand = lambda *shape: torch.rand(*shape, device="cuda", generator=g) * 2 - 1  # noqa: E731
    if dtype == "fp8":
        a, b = rand(m, k).to(torch.float8_e4m3fn), rand(n, k).to(torch.float8_e4m3fn)
        one = torch.ones((), device="cuda")
        fn = lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)  # noqa: E731
    else:
        a, b = rand(m, k).to(TORCH_DTYPE[dtype]), rand(k, n).to(TORCH_DTYPE[dtype])
        fn = lambda: torch.matmul(a, b)  # noqa: E731
    ms = triton.testing.do_bench(fn, warmup=100, rep=500, return_mode="median")
    am_ms = am.timing.measure(fn, device="cuda", mode="cold", max_time=2.0).median_ms
    return 2 * m * n * k / ms / 1e9, 2 * m * n * k / am_ms / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="gemm_vs_torch.jsonl")
    ap.add_argument("--max-time", type=float, default=2.0)
    args = ap.parse_args()
    w = am.results.JsonlWriter(args.out, append=False)
    dev = am.devices()[-1]
    print(f"device: {am.results.env.device_info(dev)['name']}, torch {torch.__version__}, triton {triton.__version__}\n")
    print("| shape | dtype | torch do_bench | torch am.timing cold | cublaslt hot | cublaslt cold | cublas hot | cublas cold "
          "| lt cold/torch | blas cold/torch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m, n, k in SHAPES:
        for dtype in DTYPES:
            if dtype == "fp8" and (m % 16 or n % 16 or k % 16):
                continue  # fp8 tensor-core GEMMs need multiples of 16 (torch and cuBLASLt alike)
            t, t_am = torch_tflops(m, n, k, dtype)
            row = {}
            for backend in ("cublaslt", "cublas"):
                for mode in ("hot", "cold"):
                    try:
                        r = am.gemm(m, n, k, dtype=dtype, backend=backend, mode=mode, trans_b=dtype == "fp8",
                                    max_time=args.max_time)
                        w.write(r)
                        row[backend, mode] = r.tflops
                    except am.UnsupportedError:
                        row[backend, mode] = None
            f = lambda x: "n/a" if x is None else f"{x:.1f}"  # noqa: E731
            ratio = lambda x: "n/a" if x is None else f"{x / t:.3f}"  # noqa: E731
            print(f"| {m}x{n}x{k} | {dtype} | {t:.1f} | {t_am:.1f} | {f(row['cublaslt', 'hot'])} | {f(row['cublaslt', 'cold'])} | "
                  f"{f(row['cublas', 'hot'])} | {f(row['cublas', 'cold'])} | {ratio(row['cublaslt', 'cold'])} | "
                  f"{ratio(row['cublas', 'cold'])} |", flush=True)

    print("\n| own kernel | shape | dtype | TFLOP/s | cuBLASLt TFLOP/s | ratio |")
    print("|---|---|---|---|---|---|")
    for backend, dtype in (("tensorcore", "bf16"), ("tensorcore", "fp16"), ("simt", "fp32")):
        for m, n, k in SHAPES[:3]:
            try:
                own = am.gemm(m, n, k, dtype=dtype, backend=backend, max_time=args.max_time)
                ref = am.gemm(m, n, k, dtype=dtype, backend="cublaslt", max_time=args.max_time)
                w.write(own)
                print(f"| {backend} ({own.params.get('kernel')}) | {m}x{n}x{k} | {dtype} | {own.tflops:.1f} | "
                      f"{ref.tflops:.1f} | {own.tflops / ref.tflops:.3f} |", flush=True)
            except Exception as e:  # keep going: report the failure
                print(f"| {backend} | {m}x{n}x{k} | {dtype} | FAILED {type(e).__name__}: {e} | | |", flush=True)

    medians = [am.gemm(4096, 4096, 4096, dtype="bf16", max_time=args.max_time).median_ms for _ in range(5)]
    spread = (max(medians) - min(medians)) / statistics.median(medians)
    print(f"\nrun-to-run spread of the median, 4096^3 bf16 cublaslt, 5 runs: {100 * spread:.2f}% "
          f"(medians ms: {', '.join(f'{x:.4f}' for x in medians)})")
    w.close()


if __name__ == "__main__":
    main()
