"""Collective benchmarks with the nccl-tests conventions.

``collective(op, nbytes)`` runs inside every process of an initialised
``torch.distributed`` group (``python -m aimatrix.bench collectives`` starts
them with torchrun). ``nbytes`` is the size nccl-tests calls "size": the whole
buffer of one rank (all_gather: the gathered output; reduce_scatter: the input).
Algorithm bandwidth = nbytes / time; bus bandwidth = algbw x the op's factor, so
that it is comparable with the hardware's link bandwidth whatever the rank count.
Every rank runs the same number of launches (a fixed sample count, no adaptive
stop, so no rank waits forever for another); the slowest rank's median is reported.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any, Callable

from .. import _check, timing
from ..errors import UnsupportedError, VerificationError
from ..results.result import Result

OPS = ("all_reduce", "all_gather", "reduce_scatter", "broadcast", "all_to_all", "send_recv")

#: busbw = algbw * factor(n), nccl-tests' PERFORMANCE.md.
BUS_FACTOR: dict[str, Callable[[int], float]] = {
    "all_reduce": lambda n: 2 * (n - 1) / n,
    "all_gather": lambda n: (n - 1) / n,
    "reduce_scatter": lambda n: (n - 1) / n,
    "broadcast": lambda n: 1.0,
    "all_to_all": lambda n: (n - 1) / n,
    "send_recv": lambda n: 1.0,
}

_TORCH_DTYPES = ("fp32", "fp16", "bf16")
_ELEM = {"fp32": 4, "fp16": 2, "bf16": 2}


def bus_bandwidth(op: str, algbw_gbps: float, world: int) -> float:
    """Bus bandwidth (GB/s) of an op from its algorithm bandwidth and the number of ranks."""
    _check.choice("op", op, OPS)
    return algbw_gbps * BUS_FACTOR[op](world)


def sweep_sizes(min_bytes: int = 8, max_bytes: int = 4 << 30, factor: int = 2) -> list[int]:
    """Sizes from min to max bytes, multiplying by factor (nccl-tests -b 8 -e 4G -f 2)."""
    return _check.geometric_sizes(min_bytes, max_bytes, factor, names=("min_bytes", "max_bytes"))


def _dist():
    try:
        import torch
        import torch.distributed as dist
    except ImportError as e:  # pragma: no cover - torch is an optional extra
        raise UnsupportedError("collectives need PyTorch: pip install 'aimatrix[torch]'") from e
    if not dist.is_available():
        raise UnsupportedError("this PyTorch build has no torch.distributed")
    return torch, dist


def init(backend: str = "auto", timeout_s: float = 120.0) -> str:
    """Join the process group torchrun described (env://). Returns the backend in use.

    The timeout makes a rank whose peer died fail with an error instead of hanging.
    """
    torch, dist = _dist()
    _check.choice("backend", backend, ("auto", "nccl", "gloo"))
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise UnsupportedError("a collective needs several processes: launch with "
                               "`python -m aimatrix.bench collectives` or torchrun --nproc-per-node N")
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        if not (torch.cuda.is_available() and dist.is_nccl_available()):
            raise UnsupportedError("backend='nccl' needs CUDA GPUs and a PyTorch built with NCCL; use backend='gloo' on CPUs")
        os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # never NVLink multicast (see README)
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        kw: dict[str, Any] = dict(backend=backend, timeout=_dt.timedelta(seconds=timeout_s))
        if backend == "nccl":
            kw["device_id"] = torch.device("cuda", torch.cuda.current_device())
        dist.init_process_group(**kw)
    return dist.get_backend()


def _buffers(op: str, nbytes: int, dtype: str, world: int, rank: int, device: Any):
    """Input/output tensors of one op, filled with small integers so sums are exact, and the check."""
    torch, _ = _dist()
    tdt = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    count = nbytes // _ELEM[dtype]
    if op in ("all_gather", "reduce_scatter", "all_to_all") and count % world:
        raise ValueError(f"nbytes={nbytes} is not allowed for {op}: the element count {count} must divide by "
                         f"the world size {world}")
    if count < 1:
        raise ValueError(f"nbytes={nbytes} is not allowed: smaller than one {dtype} element")

    def data(r: int, n: int) -> Any:  # rank r's values: small integers, distinct per rank and position
        return ((torch.arange(n, device=device) * 7 + r * 13) % 17 - 8).to(tdt)

    part = count // world
    if op == "all_reduce":
        x = data(rank, count)
        expect = sum(data(r, count).float() for r in range(world))
        return (x,), lambda: x.float(), expect
    if op == "all_gather":
        x, out = data(rank, part), torch.empty(count, device=device, dtype=tdt)
        return (out, x), lambda: out.float(), torch.cat([data(r, part).float() for r in range(world)])
    if op == "reduce_scatter":
        x, out = data(rank, count), torch.empty(part, device=device, dtype=tdt)
        expect = sum(data(r, count).float() for r in range(world))[rank * part:(rank + 1) * part]
        return (out, x), lambda: out.float(), expect
    if op == "broadcast":
        x = data(rank, count)
        return (x,), lambda: x.float(), data(0, count).float()
    if op == "all_to_all":
        x, out = data(rank, count), torch.empty(count, device=device, dtype=tdt)
        expect = torch.cat([data(r, count).float()[rank * part:(rank + 1) * part] for r in range(world)])
        return (out, x), lambda: out.float(), expect
    # send_recv: a ring, each rank sends to rank+1 and receives from rank-1 (nccl-tests sendrecv).
    x, out = data(rank, count), torch.empty(count, device=device, dtype=tdt)
    return (out, x), lambda: out.float(), data((rank - 1) % world, count).float()


def _call(op: str, bufs: tuple, world: int, rank: int) -> Callable[[], None]:
    _, dist = _dist()
    if op == "all_reduce":
        return lambda: dist.all_reduce(bufs[0])
    if op == "all_gather":
        return lambda: dist.all_gather_into_tensor(bufs[0], bufs[1])
    if op == "reduce_scatter":
        return lambda: dist.reduce_scatter_tensor(bufs[0], bufs[1])
    if op == "broadcast":
        return lambda: dist.broadcast(bufs[0], src=0)
    if op == "all_to_all":
        return lambda: dist.all_to_all_single(bufs[0], bufs[1])

    def send_recv() -> None:
        reqs = dist.batch_isend_irecv([dist.P2POp(dist.isend, bufs[1], (rank + 1) % world),
                                       dist.P2POp(dist.irecv, bufs[0], (rank - 1) % world)])
        for r in reqs:
            r.wait()
    return send_recv


def collective(op: str, nbytes: int, *, dtype: str = "fp32", samples: int = 20, repeat: int = 1,
               warmup: int = 5) -> Result:
    """Benchmark one collective of ``nbytes`` (per rank, nccl-tests "size") in the current process group.

    Call it in every rank with the same arguments (torchrun starts them). The
    result (the same on every rank) carries ``metrics.algbw_gbps`` and
    ``metrics.busbw_gbps``; its ``params.op`` names the collective.
    """
    torch, dist = _dist()
    _check.choice("op", op, OPS)
    nbytes = _check.positive_int("nbytes", nbytes)
    _check.choice("dtype", dtype, _TORCH_DTYPES)
    samples, repeat = _check.positive_int("samples", samples), _check.positive_int("repeat", repeat)
    warmup = _check.non_negative_int("warmup", warmup)
    if not dist.is_initialized():
        raise UnsupportedError("no process group: call aimatrix.dist.collectives.init() in each of several processes "
                               "(python -m aimatrix.bench collectives launches them)")
    world, rank = dist.get_world_size(), dist.get_rank()
    if world < 2:
        raise UnsupportedError(f"a collective needs at least 2 processes, this group has {world}")
    backend = dist.get_backend()
    cuda = backend == "nccl"
    device = torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu")
    bufs, result_of, expect = _buffers(op, nbytes, dtype, world, rank, device)
    fn = _call(op, bufs, world, rank)

    # Verify first: one call, compared with what every rank can compute itself.
    fn()
    if cuda:
        torch.cuda.synchronize()
    tol = 0.0 if dtype == "fp32" else 1e-2
    err = float((result_of() - expect).abs().max() / expect.abs().max().clamp(min=1))
    ok = torch.tensor([1.0 if err <= tol else 0.0], device=device)
    dist.all_reduce(ok, op=dist.ReduceOp.MIN)  # every rank fails together, none waits for the others
    if ok.item() < 1.0:
        raise VerificationError(f"{op} of {nbytes} bytes ({dtype}) gave wrong values on some rank "
                                f"(this rank's max relative error {err:.3g}, tolerance {tol})")

    for _ in range(warmup):
        fn()
    dist.barrier()
    # Fixed sample count on every rank (see module doc); CUDA events on the current stream.
    stream = torch.cuda.current_stream().cuda_stream if cuda else None
    m = timing.measure(fn, device=f"cuda:{device.index}" if cuda else "cpu", stream=stream, warmup=0.0,
                       min_samples=samples, max_samples=samples, min_time=0.0, max_time=1e6, repeat=repeat)
    slowest = torch.tensor([m.median_ms], dtype=torch.float64, device=device if cuda else "cpu")
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    median_ms = float(slowest.item())
    stats = dict(m.stats, median_ms=median_ms, rank_median_ms=m.median_ms)
    algbw = nbytes / (median_ms / 1e3) / 1e9
    params = {"op": op, "nbytes": nbytes, "world_size": world, "samples": samples, "repeat": repeat}
    return Result.from_measurement(
        "collective", params, backend=backend, dtype=dtype, device=str(device) if cuda else "cpu",
        measurement={"stats": stats}, bytes=float(nbytes),
        verify={"rel_error": err, "tolerance": tol, "passed": err <= tol},
        extra_metrics={"algbw_gbps": algbw, "busbw_gbps": bus_bandwidth(op, algbw, world)})
