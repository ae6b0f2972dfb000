"""One rank of a collectives sweep; started by torchrun (see launch.py). Rank 0 writes the results."""

from __future__ import annotations

import argparse
import json
import sys

from ..results.jsonl import JsonlWriter
from ..results.result import Result
from .collectives import OPS, collective, init


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="aimatrix.dist.worker")
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--sizes", required=True, help="comma list of byte counts")
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--provenance", type=json.loads, default=None, help="the run's provenance (JSON), stamped on every record")
    args = ap.parse_args(argv)
    backend = init(args.backend, args.timeout)
    import torch.distributed as dist

    rank = dist.get_rank()
    writer = JsonlWriter(args.out) if (args.out and rank == 0) else None
    failed = 0
    for op in args.ops.split(","):
        for nbytes in (int(s) for s in args.sizes.split(",")):
            try:
                r = collective(op, nbytes, dtype=args.dtype, samples=args.samples)
            except (ValueError, TypeError) as e:  # same on every rank: record and go on
                r = Result.failed("collective", {"op": op, "nbytes": nbytes}, backend=backend, dtype=args.dtype,
                                  device="cpu" if backend == "gloo" else "cuda", exc=e)
            if args.provenance is not None:
                r = r.with_(run=args.provenance)
            failed += r.error is not None
            if rank == 0:
                if writer:
                    writer.write(r)
                m = r.metrics
                line = (f"{op:>14} {nbytes:>12} B  {r.median_ms * 1e3:10.1f} us  algbw {m['algbw_gbps']:8.2f} GB/s  "
                        f"busbw {m['busbw_gbps']:8.2f} GB/s" if r.ok else f"{op:>14} {nbytes:>12} B  FAILED {r.error}")
                print(line, flush=True)
    if writer:
        writer.close()
    dist.destroy_process_group()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
