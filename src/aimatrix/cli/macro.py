"""``aimatrix macro``: whole models over backends, dtypes and batch sizes."""

from __future__ import annotations

import argparse

from ..device import resolve
from ..suite.case import Case
from ..suite.micro import est_seconds
from .common import Command, run_suite, timing_of
from .options import SUITE, csv_list, int_list, lazy


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", type=csv_list(lazy("aimatrix.macro.zoo", "names")), default=None,
                   help="comma list of zoo models (default: all; `aimatrix info` lists them)")
    p.add_argument("--batch", type=int_list, default=None, help="comma list of batch sizes (default: each model's)")
    p.add_argument("--dtype", type=csv_list(lazy("aimatrix.macro.backends.base", "DTYPES")), default=["fp32"],
                   help="comma list of fp32, tf32, fp16, bf16 (default fp32)")
    p.add_argument("--backend", type=csv_list(lazy("aimatrix.macro.backends", "NAMES"), extra=("installed",)),
                   default=["torch"], help="torch, torch-compile, torch-graph, onnxruntime, tensorrt, tensorflow, or "
                                           "installed for every installed backend (default torch)")
    p.add_argument("--scenario", default="offline", choices=["offline", "single_stream"],
                   help="offline: throughput at the batch; single_stream: batch 1, latency percentiles")
    p.add_argument("--size", default="full", choices=["full", "tiny"], help="tiny: small configurations for tests")


def run(args: argparse.Namespace) -> int:
    from ..macro import backends, model, zoo

    dev = resolve(args.device)
    bes = args.backend
    if bes == ["installed"]:
        bes = [b for b in backends.installed() if dev.is_cuda or not backends.BACKENDS[b].needs_cuda]
    timing = timing_of(args)
    cases = [Case("model", model, (n,), {"batch": b, "dtype": dt, "backend": be, "scenario": args.scenario,
                                         "size": args.size, "device": str(dev), **timing},
                  arg_names=("name",), est_s=est_seconds(timing, 5.0))
             for n in (args.models or zoo.names()) for b in (args.batch or [None]) for dt in args.dtype for be in bes]
    return run_suite(args, cases, device=str(dev), title=f"models on {dev}").code


COMMAND = Command(
    "macro", "whole-model benchmarks over backends, dtypes and batch sizes",
    """examples:
  aimatrix macro --models resnet50,ssd --batch 1,32,256 --dtype bf16 --backend torch-graph
  aimatrix macro --models bert_base --backend installed --quick
  aimatrix macro --models resnet50 --scenario single_stream""",
    SUITE, add_options, run)
