"""``aimatrix micro``: the GEMM sweep, custom GEMM shapes, or a size catalogue."""

from __future__ import annotations

import argparse
import re

from .. import _vendor
from ..device import resolve
from ..micro.catalog import catalog, names
from ..micro.conv import LAYOUTS
from ..micro.gemm import BACKENDS, DTYPES, default_backend
from ..suite.micro import catalog_cases, device_dtypes, gemm_suite
from .common import Command, run_suite, timing_of
from .options import SUITE, csv_list, positive_int


def gemm_shapes(text: str) -> list[tuple[int, int, int]]:
    """``4096x4096x4096,35x700x2048``: M x N x K per GEMM."""
    shapes = []
    for item in csv_list()(text):
        m = re.fullmatch(r"(\d+)[xX](\d+)[xX](\d+)", item)
        if not m or not all(0 < int(g) < 2**31 for g in m.groups()):
            raise argparse.ArgumentTypeError(
                f"{item!r} is not a GEMM shape: expected MxNxK with whole numbers from 1 to 2^31-1, e.g. 4096x4096x4096"
            )
        shapes.append(tuple(int(g) for g in m.groups()))
    return shapes  # type: ignore[return-value]


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dtype",
        type=csv_list(DTYPES),
        default=None,
        help=f"comma list of {', '.join(DTYPES)} (default: every dtype the device runs)",
    )
    p.add_argument(
        "--backend",
        type=csv_list(BACKENDS, extra=("all",)),
        default=["auto"],
        help=f"comma list of {', '.join(BACKENDS)}, or all (default auto: cuBLASLt on a GPU, "
        "OpenBLAS or oneDNN on a CPU when installed, else the own kernel)",
    )
    p.add_argument(
        "--shapes",
        type=gemm_shapes,
        default=None,
        metavar="MxNxK,...",
        help="GEMM shapes to run instead of the sweep's (e.g. 4096x4096x4096,35x700x2048)",
    )
    p.add_argument(
        "--mode",
        default="hot",
        choices=["hot", "cold"],
        help="hot: back-to-back launches; cold: the L2 cache flushed before every sample",
    )
    p.add_argument(
        "--catalog",
        default=None,
        choices=names(),
        metavar="NAME",
        help=f"run a size catalogue end to end: {', '.join(names())}",
    )
    p.add_argument("--batch", type=positive_int, default=32, help="batch of the resnet50-conv catalogue (default 32)")
    p.add_argument("--layout", default="nchw", choices=list(LAYOUTS), help="convolution layout (catalogues)")


def _backend_runs(backend: str, dtype: str, cuda: bool) -> bool:
    """With --backend all: skip pairings that cannot run by design (own kernels cover one dtype family each)."""
    if backend == "auto":
        backend = default_backend(cuda, dtype)
    return {
        "simt": dtype == "fp32",
        "tensorcore": dtype in ("fp16", "bf16"),
        "cublas": dtype != "fp8",
        "cpu": dtype == "fp32",
        "openblas": dtype == "fp32",
        "onednn": dtype == "fp32",
    }.get(backend, True)


def run(args: argparse.Namespace) -> int:
    dev = resolve(args.device)
    timing = timing_of(args)
    if args.catalog:
        if args.shapes:
            raise ValueError("--shapes and --catalog are not allowed together: a catalogue has its own shapes")
        backends = None if args.backend == ["auto"] else args.backend
        cases = catalog_cases(
            catalog(args.catalog, batch=args.batch),
            dev,
            dtypes=args.dtype,
            backends=backends,
            layout=args.layout,
            mode=args.mode,
            timing=timing,
        )
        return run_suite(args, cases, device=str(dev), title=f"catalogue {args.catalog} on {dev}").code
    expand = args.backend == ["all"]
    cpu_all = ["cpu"] + [b for b in _vendor.LIBRARIES if _vendor.available(b)]  # the vendor libraries installed
    backends = (["cublaslt", "cublas", "simt", "tensorcore"] if dev.is_cuda else cpu_all) if expand else args.backend
    cases = [
        c
        for c in gemm_suite(
            dev,
            dtypes=args.dtype or device_dtypes(dev),
            backends=backends,
            shapes=args.shapes,
            timing=timing,
            **({"mode": args.mode} if args.mode != "hot" else {}),
        )
        if not expand or _backend_runs(c.kwargs["backend"], c.kwargs["dtype"], dev.is_cuda)
    ]
    return run_suite(args, cases, device=str(dev), title=f"GEMM on {dev}").code


COMMAND = Command(
    "micro",
    "GEMM micro benchmarks (a sweep, your shapes, or a size catalogue)",
    """examples:
  aimatrix micro --dtype bf16,fp8 --shapes 8192x8192x8192,35x700x2048
  aimatrix micro --backend all --quick --out gemm.jsonl
  aimatrix micro --catalog deepbench-inference-server-conv --dtype bf16 --layout nhwc --mode cold""",
    SUITE,
    add_options,
    run,
)
