"""The built-in suites: which cases run for `python -m aimatrix.bench`."""

from __future__ import annotations

from typing import Iterable

from .. import _native
from ..device import Device
from ..micro.gemm import gemm
from ..results.env import device_info
from .cases import Case

# Square sizes, then DeepBench shapes (Baidu DeepBench GEMM inference set,
# "speech" kernels: M=5124 N=700 K=2048 and the skinny M=35 N=700 K=2048).
GPU_SHAPES = [(8192, 8192, 8192), (4096, 4096, 4096), (1024, 1024, 1024), (5124, 700, 2048), (35, 700, 2048)]
GPU_SHAPES_QUICK = [(4096, 4096, 4096), (1024, 1024, 1024), (5124, 700, 2048)]
CPU_SHAPES = [(1024, 1024, 1024), (512, 512, 512), (35, 700, 2048)]
CPU_SHAPES_QUICK = [(256, 256, 256), (35, 700, 512)]


def device_dtypes(dev: Device) -> list[str]:
    """The GEMM dtypes a device runs: fp32 on the CPU; on a GPU by compute capability."""
    if not dev.is_cuda:
        return ["fp32"]
    info = device_info(dev)
    cc = info["cc_major"] * 10 + info["cc_minor"]
    out = ["fp32", "tf32", "fp16", "bf16", "int8"] if cc >= 80 else ["fp32", "fp16", "int8"]
    if cc >= 89:
        out.append("fp8")
    return out


def gemm_suite(dev: Device, *, dtypes: Iterable[str] | None = None, backends: Iterable[str] = ("auto",),
               quick: bool = False, timing: dict | None = None) -> list[Case]:
    """A GEMM sweep: shapes x dtypes x backends on one device."""
    shapes = (GPU_SHAPES_QUICK if quick else GPU_SHAPES) if dev.is_cuda else (CPU_SHAPES_QUICK if quick else CPU_SHAPES)
    cases = []
    for dtype in dtypes or device_dtypes(dev):
        for backend in backends:
            for m, n, k in shapes:
                if dtype == "fp8" and (m % 16 or n % 16 or k % 16):
                    continue  # fp8 tensor-core GEMMs need multiples of 16
                # 8-bit tensor-core kernels take C = A @ B^T (both operands K-major, "TN").
                kw = dict(dtype=dtype, backend=backend, device=str(dev), trans_b=dtype in ("fp8", "int8"),
                          **(timing or {}))
                cases.append(Case("gemm", gemm, (m, n, k), kw, arg_names=("m", "n", "k")))
    return cases


def cuda_ok() -> bool:
    return _native.cuda_available()
