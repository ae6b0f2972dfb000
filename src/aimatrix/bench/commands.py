"""Subcommands beyond the GEMM sweep: layers, macro, synth, collectives.

Each is one COMMANDS entry: (help, add_options(parser), run(args) -> exit code).
Suites build Cases of module-level functions, so --isolate/--resume/--timeout work.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Callable

from .. import _check, timing
from ..device import resolve
from .cases import Case


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _ints(value: str) -> list[int]:
    return [int(v) for v in _csv(value)]


def _timing(args: argparse.Namespace) -> dict:
    return timing.rule(max_time=args.max_time if args.max_time is not None else (1.0 if args.quick else 10.0),
                       target=args.target, preset=timing.QUICK if args.quick else None)


# -- layers -------------------------------------------------------------------------------
def _add_layers(p: argparse.ArgumentParser) -> None:
    from .cli import _add_suite_options

    p.add_argument("--device", default="auto")
    p.add_argument("--layers", type=_csv, default=None,
                   help="layer names (default shapes), or a model's catalogue name (e.g. deepspeech); default: the whole catalogue")
    p.add_argument("--dtype", type=_csv, default=["fp32"])
    p.add_argument("--backend", type=_csv, default=["torch"])
    p.add_argument("--train", action="store_true", help="time forward + backward")
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--max-time", type=float, default=None)
    p.add_argument("--target", type=float, default=None)
    _add_suite_options(p)


def _run_layers(args: argparse.Namespace) -> int:
    from ..layers import catalog, layer
    from .cli import run_suite

    dev = resolve(args.device)
    entries = catalog()
    if args.layers:
        models = {e["model"] for e in entries}
        entries = [e for name in args.layers for e in (catalog(name) if name in models else [{"layer": name, "shape": {}}])]
    cases = [Case("layer", layer, (e["layer"],), {**e["shape"], "dtype": dt, "backend": be, "device": str(dev),
                                                  "train": args.train, **_timing(args)}, arg_names=("layer",))
             for e in entries for dt in args.dtype for be in args.backend]
    return run_suite(args, cases, device=str(dev), title=f"layers on {dev}")


# -- macro -----------------------------------------------------------------------------------
def _add_macro(p: argparse.ArgumentParser) -> None:
    from .cli import _add_suite_options

    p.add_argument("--device", default="auto")
    p.add_argument("--models", type=_csv, default=None, help="comma list of zoo models (default: all)")
    p.add_argument("--batch", type=_ints, default=None, help="comma list of batch sizes (default: each model's)")
    p.add_argument("--dtype", type=_csv, default=["fp32"])
    p.add_argument("--backend", type=_csv, default=["torch"], help="torch, torch-compile, torch-graph, onnxruntime, "
                   "tensorrt, tensorflow, or 'installed' for every installed backend")
    p.add_argument("--scenario", default="offline", choices=["offline", "single_stream"])
    p.add_argument("--size", default="full", choices=["full", "tiny"])
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--max-time", type=float, default=None)
    p.add_argument("--target", type=float, default=None)
    _add_suite_options(p)


def _run_macro(args: argparse.Namespace) -> int:
    from ..macro import backends, model, zoo
    from .cli import run_suite

    dev = resolve(args.device)
    names = args.models or zoo.names()
    for n in names:
        zoo.spec(n)  # unknown model: ValueError listing the known ones, before any work
    bes = args.backend
    if bes == ["installed"]:
        bes = [b for b in backends.installed() if dev.is_cuda or not backends.BACKENDS[b].needs_cuda]
    for b in args.batch or []:
        _check.positive_int("--batch", b)
    cases = [Case("model", model, (n,), {"batch": b, "dtype": dt, "backend": be, "scenario": args.scenario,
                                         "size": args.size, "device": str(dev), **_timing(args)}, arg_names=("name",))
             for n in names for b in (args.batch or [None]) for dt in args.dtype for be in bes]
    return run_suite(args, cases, device=str(dev), title=f"models on {dev}")


# -- synth -----------------------------------------------------------------------------------
def _add_synth(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto")
    p.add_argument("--models", type=_csv, default=["alexnet", "vgg16", "googlenet"])
    p.add_argument("--dtype", default="fp32")
    p.add_argument("--size", default="full", help="the models' configuration: full or tiny")
    p.add_argument("--out", default=None, help="folder for workload, groups, synthetic model (JSON, ONNX) and results")
    p.add_argument("--bits", type=int, default=10)
    p.add_argument("--population", type=int, default=5000)
    p.add_argument("--generations", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-run", action="store_true", help="profile, cluster and synthesize only")
    p.add_argument("--backends", type=_csv, default=["torch", "native"],
                   help="run the synthetic model under: torch (the whole module), native (its convs alone)")
    p.add_argument("--max-time", type=float, default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--target", type=float, default=None)


def _run_synth(args: argparse.Namespace) -> int:
    from ..synth import run_synth

    run_synth(args.models, device=args.device, dtype=args.dtype, out=args.out, bits=args.bits,
              population=args.population, generations=args.generations, seed=args.seed, run=not args.no_run,
              backends=args.backends, size=args.size, **_timing(args))
    return 0


# -- collectives --------------------------------------------------------------------------------
def _add_collectives(p: argparse.ArgumentParser) -> None:
    from ..dist import OPS

    p.add_argument("--nproc", type=int, default=None, help="processes on this host (default: one per GPU, else 2)")
    p.add_argument("--backend", default="auto", choices=["auto", "nccl", "gloo"])
    p.add_argument("--ops", default=",".join(OPS), help=f"comma list of {', '.join(OPS)}")
    p.add_argument("--min-bytes", type=int, default=8)
    p.add_argument("--max-bytes", type=int, default=4 << 30)
    p.add_argument("--factor", type=int, default=2)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--out", default=None)
    p.add_argument("--nnodes", type=int, default=1, help="hosts taking part (run this command on each)")
    p.add_argument("--node-rank", type=int, default=0)
    p.add_argument("--master-addr", default="127.0.0.1", help="address of node 0 (torchrun static rendezvous)")
    p.add_argument("--master-port", type=int, default=29511)


def _run_collectives(args: argparse.Namespace) -> int:
    from ..dist import OPS, sweep_sizes
    from ..dist.launch import torchrun

    for op in _csv(args.ops):
        _check.choice("--ops", op, OPS)
    nproc = args.nproc
    if nproc is None:
        from .. import _native

        nproc = _native.cuda().device_count() if _native.cuda_available() else 2
    if nproc * args.nnodes < 2:
        raise ValueError(f"--nproc {nproc} x --nnodes {args.nnodes} is not allowed: a collective needs at least 2 processes")
    sizes = sweep_sizes(args.min_bytes, args.max_bytes, args.factor)
    out = args.out or os.path.join(tempfile.gettempdir(), "aimatrix-collectives.jsonl")
    worker = ["--ops", args.ops, "--sizes", ",".join(map(str, sizes)), "--dtype", args.dtype, "--backend",
              args.backend, "--samples", str(args.samples), "--out", os.path.abspath(out)]
    rc = torchrun("aimatrix.dist.worker", worker, nproc=nproc, nnodes=args.nnodes, node_rank=args.node_rank,
                  master_addr=args.master_addr, master_port=args.master_port)
    print(f"results in {out}")
    return rc


EXTRA_COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "layers": ("single-layer benchmarks (the shapes the macro models use)", _add_layers, _run_layers),
    "macro": ("whole-model benchmarks over backends, dtypes and batch sizes", _add_macro, _run_macro),
    "synth": ("StatsNet: profile, cluster, synthesize and run a synthetic proxy model", _add_synth, _run_synth),
    "collectives": ("NCCL/gloo collectives (nccl-tests conventions), one process per GPU", _add_collectives,
                    _run_collectives),
}
