"""``aimatrix collectives``: NCCL/gloo collectives over sizes, one process per GPU (nccl-tests conventions)."""

from __future__ import annotations

import argparse
import json
import os

from .. import _native
from ..suite import outfile, provenance
from .common import Command, console, default_out
from .options import byte_size, csv_list, lazy, positive_int

QUICK_SAMPLES = 5


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nproc", type=positive_int, default=None, help="processes on this host (default: one per GPU, else 2)"
    )
    p.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "nccl", "gloo"],
        help="the process group's backend (default auto: nccl with GPUs, else gloo)",
    )
    p.add_argument(
        "--ops",
        type=csv_list(lazy("aimatrix.dist", "OPS")),
        default=None,
        help="comma list of all_reduce, all_gather, reduce_scatter, broadcast, reduce, all_to_all (default: all)",
    )
    p.add_argument("--min-bytes", type=byte_size, default=8, metavar="SIZE", help="smallest size (default 8)")
    p.add_argument("--max-bytes", type=byte_size, default=4 << 30, metavar="SIZE", help="largest size (default 4G)")
    p.add_argument("--factor", type=positive_int, default=2, help="each size is the last times this (default 2)")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"], help="element type (default fp32)")
    p.add_argument(
        "--samples",
        type=positive_int,
        default=None,
        help=f"timed iterations per size (default 20; --quick {QUICK_SAMPLES})",
    )
    p.add_argument("--nnodes", type=positive_int, default=1, help="hosts taking part (run this command on each)")
    p.add_argument("--node-rank", type=int, default=0, help="this host's rank among --nnodes (node 0 first)")
    p.add_argument("--master-addr", default="127.0.0.1", help="address of node 0 (torchrun static rendezvous)")
    p.add_argument("--master-port", type=positive_int, default=29511, help="node 0's rendezvous port")


def run(args: argparse.Namespace) -> int:
    from ..dist import OPS, sweep_sizes
    from ..dist.launch import torchrun

    nproc = args.nproc
    if nproc is None:
        nproc = _native.cuda().device_count() if _native.cuda_available() else 2
    if nproc * args.nnodes < 2:
        raise ValueError(
            f"--nproc {nproc} x --nnodes {args.nnodes} is not allowed: a collective needs at least 2 processes"
        )
    if not 0 <= args.node_rank < args.nnodes:
        raise ValueError(f"--node-rank {args.node_rank} is not allowed: it must be from 0 to --nnodes - 1")
    sizes = sweep_sizes(args.min_bytes, args.max_bytes, args.factor)
    out = args.out or default_out("collectives")
    outfile.prepare(out, append=args.append)
    samples = args.samples or (QUICK_SAMPLES if args.quick else 20)
    run_info = provenance.new_run(args.argv)
    worker = [
        "--ops",
        ",".join(args.ops or OPS),
        "--sizes",
        ",".join(map(str, sizes)),
        "--dtype",
        args.dtype,
        "--backend",
        args.backend,
        "--samples",
        str(samples),
        "--out",
        os.path.abspath(out),
        "--provenance",
        json.dumps(run_info),
    ]
    rc = torchrun(
        "aimatrix.dist.worker",
        worker,
        nproc=nproc,
        nnodes=args.nnodes,
        node_rank=args.node_rank,
        master_addr=args.master_addr,
        master_port=args.master_port,
    )
    console().print(f"results in {out} (run {run_info['run_id']})")
    return rc


COMMAND = Command(
    "collectives",
    "NCCL/gloo collectives (nccl-tests conventions), one process per GPU",
    """examples:
  aimatrix collectives --ops all_reduce --min-bytes 8 --max-bytes 4G
  aimatrix collectives --backend gloo --nproc 2 --quick --max-bytes 1M""",
    ("out", "quick", "append"),
    add_options,
    run,
)
