"""GEMM micro benchmark: argument checks and dispatch to the native runners."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _check, _vendor, run_options
from ..device import resolve
from ..errors import UnsupportedError
from ..results.result import Result
from ..system.peaks import device_peak_tflops
from . import _run

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..run_options import RunOptions

DTYPES = ("fp32", "tf32", "fp16", "bf16", "fp8", "int8")
CUDA_BACKENDS = ("cublas", "cublaslt", "simt", "tensorcore")
CPU_BACKENDS = ("cpu", "openblas", "onednn")
BACKENDS = ("auto",) + CPU_BACKENDS + CUDA_BACKENDS


def default_backend(device_is_cuda: bool, dtype: str) -> str:
    """cuBLASLt on a GPU (cuBLAS for int8); on the CPU the first vendor library installed that runs the dtype (fp32:
    OpenBLAS, oneDNN; bf16: oneDNN where the CPU has AVX-512 BF16 or AMX), else our kernel."""
    if not device_is_cuda:
        return _vendor.auto("gemm", dtype)
    return "cublas" if dtype == "int8" else "cublaslt"


def _check_cpu_dtype(backend: str, dtype: str) -> None:
    """UnsupportedError, before any work, when CPU backend `backend` does not run `dtype` here."""
    runs = _vendor.gemm_dtypes(backend)
    if dtype in runs:
        return
    msg = f"the {backend} backend runs dtype {' or '.join(runs)} only, not {dtype}"
    if dtype == "bf16" and "bf16" in _vendor.gemm_dtypes(_vendor.BF16_GEMM):
        msg += f"; bf16 GEMM on the CPU runs on backend={_vendor.BF16_GEMM!r} (oneDNN's matmul)"
    elif dtype == "bf16":
        msg += (
            f"; bf16 GEMM on the CPU needs backend={_vendor.BF16_GEMM!r} (oneDNN's matmul) on a CPU with AVX-512 BF16"
            f" or AMX: {_vendor.why_no_bf16_gemm()}"
        )
    raise UnsupportedError(msg)


def gemm(
    m: int,
    n: int,
    k: int,
    *,
    dtype: str = "fp32",
    trans_a: bool = False,
    trans_b: bool = False,
    batch: int = 1,
    backend: str = "auto",
    **options: Unpack[RunOptions],
) -> Result:
    """Benchmark C[m,n] = op(A)[m,k] @ op(B)[k,n] (row-major, ``batch`` independent products).

    Inputs are random (seeded), the output is checked against a float64 reference
    on sampled elements (and for NaN/unwritten values everywhere) before timing.
    Backends: ``cublas``, ``cublaslt``, ``simt`` (our fp32 kernel), ``tensorcore``
    (our fp16/bf16 kernel, and fp8 on an H100: e4m3 in, bf16 out, ``trans_b=True``) on a GPU;
    ``cpu`` (our blocked OpenMP fp32 kernel), ``openblas``
    (cblas_sgemm, fp32) and ``onednn`` (dnnl_sgemm for fp32; its matmul primitive for bf16,
    bf16 in and out, on CPUs with AVX-512 BF16 or AMX) on the CPU; the last two need their
    wheels (``pip install "aimatrix[cpu]"``) and ``auto`` picks them when installed and they
    run the dtype. bf16 results are checked against float64 from the same bf16 inputs.
    ``options``: the run options (``device``, ``mode``, ``seed``, ``telemetry``, the timing
    options), see ``aimatrix.RunOptions``.
    """
    how = run_options.check(options)
    m, n, k = (_check.positive_int(name, v) for name, v in (("m", m), ("n", n), ("k", k)))
    batch = _check.positive_int("batch", batch)
    _check.choice("dtype", dtype, DTYPES)
    _check.choice("backend", backend, BACKENDS)
    trans_a, trans_b = _check.boolean("trans_a", trans_a), _check.boolean("trans_b", trans_b)
    # Every operand's element and byte count fits 64 bits (the native runners' arithmetic), on any device.
    for expr, a, b, size in (
        ("m*k*batch", m, k, _IN_BYTES[dtype]),
        ("k*n*batch", k, n, _IN_BYTES[dtype]),
        ("m*n*batch", m, n, _OUT_BYTES[dtype]),
    ):
        _check.count(expr, a, b, batch, itemsize=size)
    dev = resolve(how.device)
    if not dev.is_cuda:
        _check.host_memory(f"cpu gemm m={m} n={n} k={k} batch={batch}", _gemm_bytes(m, n, k, batch, dtype))
    if backend == "auto":  # per dtype (int8: cuBLAS; bf16 on a CPU: oneDNN), unlike the other micro ops
        backend = default_backend(dev.is_cuda, dtype)
    dev, backend = _run.resolve_backend("gemm", backend, dev, CUDA_BACKENDS, "cublaslt", CPU_BACKENDS)
    if not dev.is_cuda:
        _check_cpu_dtype(backend, dtype)
    library = "" if dev.is_cuda or backend == "cpu" else _vendor.path(backend)
    seed, cold, opts = how.seed, how.cold, how.timing
    ran = _run.run(
        dev,
        how,
        cuda_call=lambda cuda: cuda.gemm(dev.index, backend, m, n, k, batch, trans_a, trans_b, dtype, seed, cold, opts),
        cpu_call=lambda core: core.gemm(
            m, n, k, batch, trans_a, trans_b, dtype, seed, cold, opts, backend=backend, library=library
        ),
        what="gemm",
    )
    params: dict[str, Any] = {"m": m, "n": n, "k": k, "batch": batch, "trans_a": trans_a, "trans_b": trans_b}
    return ran.result(
        "gemm",
        params,
        dtype=dtype,
        flops=2.0 * m * n * k * batch,
        bytes=_gemm_bytes(m, n, k, batch, dtype),
        peak_tflops=device_peak_tflops(dev, dtype),
    )


_IN_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1}
_OUT_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 2, "int8": 4}


def _gemm_bytes(m: int, n: int, k: int, batch: int, dtype: str) -> float:
    """Fewest bytes moved: each input read once, the output written once."""
    return float(batch * (_IN_BYTES[dtype] * (m * k + k * n) + _OUT_BYTES[dtype] * m * n))
