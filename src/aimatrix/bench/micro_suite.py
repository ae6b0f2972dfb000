"""Suites of the micro benchmarks beyond the GEMM sweep: catalogue runs and the memory sweep.

``aimatrix micro --catalog NAME`` runs a size catalogue (aimatrix.micro.catalog) end to end
into JSONL; ``aimatrix membw [--sweep]`` runs memory kinds over sizes. Both are suites
of Cases, so --out/--resume/--isolate/--timeout work as for every suite.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any, Callable, Iterable

from ..device import Device, resolve
from ..micro.catalog import catalog, names
from ..micro.conv import conv
from ..micro.gemm import gemm
from ..micro.launch import launch
from ..micro.membw import membw
from .cases import Case

# The modules (aimatrix.micro exports functions of the same names).
conv_mod = importlib.import_module("aimatrix.micro.conv")
membw_mod = importlib.import_module("aimatrix.micro.membw")

_CONV_ARGS = ("n", "c", "h", "w")


def catalog_cases(entries: Iterable[dict], dev: Device, *, dtypes: list[str] | None = None,
                  backends: list[str] | None = None, layout: str = "nchw", timing: dict | None = None) -> list[Case]:
    """Cases for catalogue entries: each GEMM/conv entry once per dtype and backend, memory/launch entries once."""
    dtypes = dtypes or ["fp32"]
    backends = backends or ["auto"]
    timing = dict(timing or {})
    cases = []
    for e in entries:
        op = e["op"]
        if op == "gemm":
            for dt in dtypes:
                for be in backends:
                    kw = dict(trans_a=e["trans_a"], trans_b=e["trans_b"], dtype=dt, backend=be, device=str(dev), **timing)
                    cases.append(Case("gemm", gemm, (e["m"], e["n"], e["k"]), kw, arg_names=("m", "n", "k")))
        elif op == "conv":
            for dt in dtypes:
                if dt not in conv_mod.DTYPES:
                    continue
                for be in backends:
                    kw = {key: e[key] for key in ("k", "r", "s", "stride", "pad") if key in e}
                    kw.update(dtype=dt, layout=layout, backend=be, device=str(dev), **timing)
                    cases.append(Case("conv", conv, tuple(e[a] for a in _CONV_ARGS), kw, arg_names=_CONV_ARGS))
        elif op == "membw":
            cases.append(Case("membw", membw, (e["kind"],), dict(nbytes=e["nbytes"], device=str(dev), **timing),
                              arg_names=("kind",)))
        elif op == "launch":
            cases.append(Case("launch", launch, (e["kind"],), dict(device=str(dev), **timing), arg_names=("kind",)))
        else:
            raise ValueError(f"catalogue entry {e.get('name')!r} has an unknown op {op!r}")
    return cases


def membw_cases(dev: Device, kinds: list[str], sizes: list[int], *, sweep: bool, timing: dict | None = None,
                p2p: dict | None = None, kernel: str = "auto", **kwargs: Any) -> list[Case]:
    """One case per kind and size; with ``sweep``, small device arrays get several passes per launch.

    ``p2p`` holds options of the p2p kind alone (``method``, ``bidirectional``, ``peer``); ``kernel``
    (``ldst``/``tma``) goes to the device-kernel kinds alone (a kind or pass count it cannot run fails its case).
    """
    cases = []
    for kind in kinds:
        for nbytes in sizes:
            passes = membw_mod.sweep_passes(nbytes) if sweep and kind in membw_mod.KERNELS else 1
            own = (p2p or {}) if kind == "p2p" else {}
            if kernel != "auto" and kind in membw_mod.KERNELS:
                own = {"kernel": kernel}
            kw = dict(nbytes=nbytes, passes=passes, device=str(dev), **own, **kwargs, **(timing or {}))
            cases.append(Case("membw", membw, (kind,), kw, arg_names=("kind",)))
    return cases


# -- CLI ----------------------------------------------------------------------------------
def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _timing(args: argparse.Namespace, default_max: float = 10.0) -> dict:
    from .. import timing

    return timing.rule(max_time=args.max_time if args.max_time is not None else (1.0 if args.quick else default_max),
                       target=args.target)


def _add_micro(p: argparse.ArgumentParser) -> None:
    from .cli import _add_run_options

    _add_run_options(p)
    p.add_argument("--catalog", default=None, metavar="NAME",
                   help=f"run a size catalogue end to end: {', '.join(names())}")
    p.add_argument("--batch", type=int, default=32, help="batch size of the resnet50-conv catalogue (default 32)")
    p.add_argument("--layout", default="nchw", choices=list(conv_mod.LAYOUTS), help="convolution layout (catalogues)")


def _run_micro(args: argparse.Namespace) -> int:
    from .cli import _run_micro as run_gemm_sweep
    from .cli import run_suite

    if not getattr(args, "catalog", None):
        return run_gemm_sweep(args)
    entries = catalog(args.catalog, batch=args.batch)
    dev = resolve(args.device)
    backends = None if args.backend == ["auto"] else args.backend
    cases = catalog_cases(entries, dev, dtypes=args.dtype, backends=backends, layout=args.layout, timing=_timing(args))
    return run_suite(args, cases, device=str(dev), title=f"catalogue {args.catalog} on {dev}")


def _add_membw(p: argparse.ArgumentParser) -> None:
    from .cli import _add_suite_options

    p.add_argument("--device", default="auto")
    p.add_argument("--kind", type=_csv, default=["copy", "triad"],
                   help=f"comma list of {', '.join(membw_mod.KINDS)} (default copy,triad)")
    p.add_argument("--nbytes", type=int, default=1 << 30, help="bytes per array (default 1 GiB)")
    p.add_argument("--sweep", action="store_true", help="sizes from 4 KiB to 4 GiB (x4 apart): shows the L1/L2/HBM steps")
    p.add_argument("--max-bytes", type=int, default=membw_mod.SWEEP_MAX, help="largest size of the sweep")
    p.add_argument("--pageable", action="store_true", help="h2d/d2h from pageable instead of pinned host memory")
    p.add_argument("--p2p-method", default="copy", choices=list(membw_mod.P2P_METHODS),
                   help="p2p: the copy engine or an SM kernel writing into the peer (default copy)")
    p.add_argument("--bidirectional", action="store_true", help="p2p: both GPUs send at once")
    p.add_argument("--peer", type=int, default=None, help="p2p: the other GPU (default the next one)")
    p.add_argument("--kernel", default="auto", choices=list(membw_mod.KERNEL_CHOICES),
                   help="device kernels: per-thread loads/stores (ldst, what auto runs) or Hopper bulk copies (tma)")
    p.add_argument("--mode", default="hot", choices=["hot", "cold"])
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--max-time", type=float, default=None)
    p.add_argument("--target", type=float, default=None)
    _add_suite_options(p)


def _run_membw(args: argparse.Namespace) -> int:
    from .cli import run_suite

    dev = resolve(args.device)
    for k in args.kind:
        if k not in membw_mod.KINDS:
            raise ValueError(f"--kind {k!r} is not allowed: expected one of {', '.join(membw_mod.KINDS)}")
    sizes = membw_mod.sweep_sizes(hi=args.max_bytes) if args.sweep else [args.nbytes]
    extra = {"pinned": False} if args.pageable else {}
    p2p = dict(method=args.p2p_method, bidirectional=args.bidirectional, peer=args.peer)
    cases = membw_cases(dev, args.kind, sizes, sweep=args.sweep, timing=_timing(args, 2.0), mode=args.mode, p2p=p2p,
                        kernel=args.kernel, **extra)
    return run_suite(args, cases, device=str(dev), title=f"memory bandwidth on {dev}")


MICRO_COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "micro": ("GEMM micro benchmarks (the default suite), or a size catalogue (--catalog)", _add_micro, _run_micro),
    "membw": ("memory bandwidth: STREAM kinds, transfers, and the size sweep (--sweep)", _add_membw, _run_membw),
}
