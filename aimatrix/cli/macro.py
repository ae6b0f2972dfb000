"""``aimatrix macro``: whole models over backends, dtypes and batch sizes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..device import resolve
from ..suite.case import Case
from ..suite.micro import est_seconds
from .common import Command, run_suite, timing_of
from .options import SUITE, add_framework_dtype, csv_list, int_list, lazy, positive_float, positive_int


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--models",
        type=csv_list(lazy("aimatrix.macro.zoo", "names")),
        default=None,
        help="comma list of zoo models (default: all; `aimatrix info` lists them)",
    )
    p.add_argument("--batch", type=int_list, default=None, help="comma list of batch sizes (default: each model's)")
    add_framework_dtype(p)
    p.add_argument(
        "--backend",
        type=csv_list(lazy("aimatrix.macro.backends", "NAMES"), extra=("installed",)),
        default=["torch"],
        help="torch, torch-compile, torch-graph, onnxruntime, tensorrt, tensorflow, or "
        "installed for every installed backend (default torch)",
    )
    p.add_argument(
        "--scenario",
        default="offline",
        choices=["offline", "single_stream", "multi_stream", "server"],
        help="MLPerf's scenarios: offline (throughput at the batch), single_stream (one query at a time, "
        "1024 queries and 60 s, latency percentiles); multi_stream and server need "
        "pip install mlcommons-loadgen",
    )
    p.add_argument(
        "--min-queries",
        type=positive_int,
        default=None,
        help="single_stream/multi_stream: fewer queries than MLPerf's rule (the record says not valid)",
    )
    p.add_argument("--target-qps", type=positive_float, default=None, help="server: the arrival rate (default: search)")
    p.add_argument("--latency-bound-ms", type=positive_float, default=None, help="server: the latency bound")
    p.add_argument("--size", default="full", choices=["full", "tiny"], help="tiny: small configurations for tests")


def run(args: argparse.Namespace) -> int:
    from ..macro import backends, model, zoo

    dev = resolve(args.device)
    bes = args.backend
    if bes == ["installed"]:
        bes = [b for b in backends.installed() if dev.is_cuda or not backends.BACKENDS[b].needs_cuda]
    timing = timing_of(args)
    scenario = {"scenario": args.scenario}
    if args.scenario != "offline":
        quick = {"min_queries": 64, "min_duration": 1.0} if args.quick else {}  # --quick: a short budget, not MLPerf's
        given = {
            "min_queries": args.min_queries,
            "target_qps": args.target_qps,
            "latency_bound_ms": args.latency_bound_ms,
        }
        scenario.update(quick, **{k: v for k, v in given.items() if v is not None})
        scenario["log_dir"] = str(Path(args.out or ".").resolve().parent / "loadgen")  # LoadGen's logs by the JSONL
    cases = [
        Case(
            "model",
            model,
            (n,),
            {"batch": b, "dtype": dt, "backend": be, **scenario, "size": args.size, "device": str(dev), **timing},
            arg_names=("model",),
            est_s=est_seconds(timing, 5.0),
        )
        for n in (args.models or zoo.names())
        for b in (args.batch or [None])
        for dt in args.dtype
        for be in bes
    ]
    return run_suite(args, cases, device=str(dev), title=f"models on {dev}").code


COMMAND = Command(
    "macro",
    "whole-model benchmarks over backends, dtypes and batch sizes",
    """examples:
  aimatrix macro --models resnet50,ssd --batch 1,32,256 --dtype bf16 --backend torch-graph
  aimatrix macro --models bert_base --backend installed --quick
  aimatrix macro --models resnet50 --scenario single_stream""",
    SUITE,
    add_options,
    run,
)
