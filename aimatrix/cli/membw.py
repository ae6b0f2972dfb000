"""``aimatrix membw``: memory bandwidth of STREAM kinds and transfers, at one size or over a sweep."""

from __future__ import annotations

import argparse

from ..device import resolve
from ..micro.membw import KERNEL_CHOICES, KINDS, P2P_METHODS, SWEEP_MAX, SWEEP_MIN, sweep_sizes
from ..suite.micro import membw_cases
from .common import Command, run_suite, timing_of
from .options import SUITE, byte_size, csv_list


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kind",
        type=csv_list(KINDS),
        default=["copy", "triad"],
        help=f"comma list of {', '.join(KINDS)} (default copy,triad)",
    )
    p.add_argument(
        "--nbytes",
        type=byte_size,
        default=1 << 30,
        metavar="SIZE",
        help="bytes per array, e.g. 1G, 256Mi, 4096 (default 1 GiB)",
    )
    p.add_argument(
        "--sweep", action="store_true", help="sizes from 4 KiB to --max-bytes, x4 apart: the L1/L2/HBM steps"
    )
    p.add_argument(
        "--max-bytes", type=byte_size, default=SWEEP_MAX, metavar="SIZE", help="largest size of the sweep (default 4G)"
    )
    p.add_argument("--pageable", action="store_true", help="h2d/d2h from pageable instead of pinned host memory")
    p.add_argument(
        "--p2p-method",
        default="copy",
        choices=list(P2P_METHODS),
        help="p2p: the copy engine or an SM kernel writing into the peer (default copy)",
    )
    p.add_argument("--bidirectional", action="store_true", help="p2p: both GPUs send at once")
    p.add_argument("--peer", type=int, default=None, help="p2p: the other GPU (default the next one)")
    p.add_argument(
        "--kernel",
        default="auto",
        choices=list(KERNEL_CHOICES),
        help="device kernels: per-thread loads/stores (ldst, what auto runs) or Hopper bulk copies (tma)",
    )
    p.add_argument("--mode", default="hot", choices=["hot", "cold"], help="cold: the L2 flushed before every sample")


def run(args: argparse.Namespace) -> int:
    dev = resolve(args.device)
    if args.sweep and args.max_bytes < SWEEP_MIN:
        raise ValueError(f"--max-bytes {args.max_bytes} is not allowed: the sweep starts at {SWEEP_MIN}")
    sizes = sweep_sizes(hi=args.max_bytes) if args.sweep else [args.nbytes]
    extra = {"pinned": False} if args.pageable else {}
    if args.mode != "hot":
        extra["mode"] = args.mode
    p2p = dict(method=args.p2p_method, bidirectional=args.bidirectional, peer=args.peer)
    cases = membw_cases(
        dev, args.kind, sizes, sweep=args.sweep, timing=timing_of(args), p2p=p2p, kernel=args.kernel, **extra
    )
    return run_suite(args, cases, device=str(dev), title=f"memory bandwidth on {dev}").code


COMMAND = Command(
    "membw",
    "memory bandwidth: STREAM kinds, transfers, and the size sweep (--sweep)",
    """examples:
  aimatrix membw --kind copy,triad,h2d,d2h --nbytes 1G
  aimatrix membw --sweep --kind read,copy --max-bytes 256Mi
  aimatrix membw --kind p2p --p2p-method kernel --bidirectional""",
    SUITE,
    add_options,
    run,
)
