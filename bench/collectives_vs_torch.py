"""On several GPUs (torchrun, one process per GPU): aimatrix collectives vs raw torch.distributed.

    torchrun --nproc-per-node 2 bench/collectives_vs_torch.py [--max-bytes 4G] [--out coll.jsonl]

1. all_reduce of 1 GiB: aimatrix's bus bandwidth against a raw torch.distributed.all_reduce
   timed with CUDA events in the same processes, interleaved rounds; the ratio must be within 3%.
2. The sweep 8 B - 4 GiB of every op (algbw, busbw), nccl-tests conventions.
3. Rank 0 then prints the GPU x GPU P2P matrix (copy engine, uni-directional) and latency.
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.distributed as dist

from aimatrix.dist import OPS, bus_bandwidth, collective, sweep_sizes
from aimatrix.dist.collectives import init
from aimatrix.results.jsonl import JsonlWriter


def raw_all_reduce_busbw(nbytes: int, samples: int = 20, warmup: int = 5) -> float:
    """torch.distributed.all_reduce timed with CUDA events, slowest rank's median, as bus bandwidth."""
    x = torch.ones(nbytes // 4, device="cuda")
    for _ in range(warmup):
        dist.all_reduce(x)
    dist.barrier()
    times = []
    for _ in range(samples):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        dist.all_reduce(x)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    med = torch.tensor([statistics.median(times)], device="cuda", dtype=torch.float64)
    dist.all_reduce(med, op=dist.ReduceOp.MAX)
    return bus_bandwidth("all_reduce", nbytes / (med.item() / 1e3) / 1e9, dist.get_world_size())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-bytes", type=int, default=4 << 30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="collectives.jsonl")
    args = ap.parse_args()
    init("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    say = print if rank == 0 else (lambda *a, **k: None)
    w = JsonlWriter(args.out, append=False) if rank == 0 else None

    gib = 1 << 30
    ours, raw = [], []
    for _ in range(args.rounds):
        r = collective("all_reduce", gib, samples=20)
        ours.append(r.metrics["busbw_gbps"])
        raw.append(raw_all_reduce_busbw(gib))
    o, t = statistics.median(ours), statistics.median(raw)
    say(f"## all_reduce 1 GiB fp32, {world} GPUs ({torch.cuda.get_device_name()}), {args.rounds} interleaved rounds\n")
    say(
        f"aimatrix busbw {o:.1f} GB/s (rounds {', '.join(f'{x:.1f}' for x in ours)}); raw torch.distributed "
        f"{t:.1f} GB/s (rounds {', '.join(f'{x:.1f}' for x in raw)}); ratio {o / t:.4f} "
        f"({'PASS' if abs(o / t - 1) <= 0.03 else 'FAIL'}: within 3%)\n"
    )

    say("## Sweep (nccl-tests conventions: size = one rank's whole buffer)\n")
    say("| op | size | time us | algbw GB/s | busbw GB/s |\n|---|---:|---:|---:|---:|")
    for op in OPS:
        for nbytes in sweep_sizes(8, args.max_bytes, 2):
            if op in ("all_gather", "reduce_scatter", "all_to_all") and (nbytes // 4) % world:
                continue
            r = collective(op, nbytes, samples=10 if nbytes >= 1 << 28 else 20)
            if w:
                w.write(r)
            if nbytes in (8, 1 << 10, 1 << 20, 1 << 24, 1 << 28, 1 << 30, args.max_bytes):
                say(
                    f"| {op} | {nbytes} | {r.median_ms * 1e3:.1f} | {r.metrics['algbw_gbps']:.2f} | "
                    f"{r.metrics['busbw_gbps']:.2f} |",
                    flush=True,
                )
    dist.barrier()
    if rank == 0:
        from aimatrix.dist.p2p import COLUMNS, p2p_matrix

        say(
            "\n## P2P matrix (1 GiB: GB/s by the copy engine and an SM kernel, one way and both ways; "
            "8 B: copy-engine latency us)\n"
        )
        m = p2p_matrix(1 << 30, max_time=1.0)
        cols = list(COLUMNS)
        say("| src -> dst | " + " | ".join(cols) + " | latency us |\n|---|" + "---:|" * (len(cols) + 1))
        for (s, d), e in sorted(m.items()):
            cell = lambda c: "n/a" if e[c] is None else f"{e[c]:.1f}"  # noqa: E731
            say(f"| {s} -> {d} | " + " | ".join(cell(c) for c in cols) + f" | {e['latency_us']:.2f} |")
            for why in e["errors"].values():
                say(f"  ({why})")
            for r in e["results"].values():
                w.write(r)
        w.close()
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
