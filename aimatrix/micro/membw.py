"""Memory-bandwidth micro benchmark: ``aimatrix.membw`` and the size sweep.

Device kernels (vectorised 16-byte accesses, grid-stride): ``read``, ``write``,
``copy``, ``scale``, ``add``, ``triad``, ``dot`` — bytes counted as read + written.
Transfers: ``h2d``, ``d2h`` (pinned or pageable host memory), ``d2d``
(cudaMemcpyAsync; read + written) and ``p2p`` (to another GPU, by the copy engine
or an SM kernel, one way or both) — bytes counted once, as they cross the link.
On the CPU: the STREAM kernels with OpenMP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from .. import _check, run_options
from ..errors import UnsupportedError
from ..results.result import Result
from ..system.peaks import device_peak_gbps
from . import _run

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..run_options import RunOptions

KERNELS = ("read", "write", "copy", "scale", "add", "triad", "dot")
TRANSFERS = ("h2d", "d2h", "d2d", "p2p")
KINDS = KERNELS + TRANSFERS
#: Arrays read and written per pass (STREAM's accounting); transfers count the bytes that cross once.
TRAFFIC = {
    "read": (1, 0),
    "write": (0, 1),
    "copy": (1, 1),
    "scale": (1, 1),
    "add": (2, 1),
    "triad": (2, 1),
    "dot": (2, 0),
    "h2d": (1, 0),
    "d2h": (1, 0),
    "d2d": (1, 1),
    "p2p": (1, 0),
}
DTYPES = ("fp32",)
P2P_METHODS = ("copy", "kernel")
#: How the CUDA device kernels move data: per-thread 16-byte loads/stores, or Hopper's bulk async copies.
KERNEL_CHOICES = ("auto", "ldst", "tma")
TMA_KINDS = ("copy", "scale", "add", "triad")


#: The most ``passes`` per launch: the sweep's own (256 MB a launch from 4 KiB arrays). More passes only lengthen a
#: launch (the timing engine already repeats launches to make samples long enough), up to minutes in one launch.
MAX_PASSES = 1 << 16
#: A bandwidth no device reaches (B/s; HBM3e ~8e12, an H100's L1 all together ~3e13): the bytes one launch moves are
#: refused beyond max_time x this, since that launch would last longer than the whole measurement may.
MAX_BANDWIDTH = 50e12


def membw(
    kind: str = "triad",
    *,
    nbytes: int = 1 << 30,
    dtype: str = "fp32",
    pinned: bool = True,
    passes: int = 1,
    peer: int | None = None,
    method: str = "copy",
    bidirectional: bool = False,
    kernel: str = "auto",
    **options: Unpack[RunOptions],
) -> Result:
    """Benchmark one memory kind on arrays of ``nbytes`` bytes each.

    ``passes`` sweeps over the arrays per launch (device kernels and the CPU): small
    arrays then measure the caches rather than the launch. ``pinned`` chooses
    page-locked or pageable host memory for ``h2d``/``d2h``; ``peer`` the other GPU
    for ``p2p`` (default: the next one), ``method`` how it copies (``copy``: the copy
    engine, cudaMemcpyPeerAsync; ``kernel``: an SM kernel on the sending GPU writes
    into the peer's memory) and ``bidirectional`` whether the peer sends the same
    amount back at the same time (the bytes of both directions counted). ``kernel``
    picks how a CUDA device kernel moves data: ``ldst`` (each thread's 16-byte loads
    and stores), ``tma`` (Hopper's bulk asynchronous copies through shared memory,
    compute capability 9.0+, for copy/scale/add/triad in one pass) or ``auto``
    (``ldst``). GB/s =
    bytes / median time; % of peak is against memory clock x bus width x 2 for the
    device kernels and ``d2d``. ``options``: the run options (``device``, ``mode``, ``seed``,
    ``telemetry``, the timing options), see ``aimatrix.RunOptions``.
    """
    how = run_options.check(options)
    _check.choice("kind", kind, KINDS)
    _check.choice("dtype", dtype, DTYPES)
    nbytes = _check.positive_int("nbytes", nbytes)
    if nbytes % 4:
        raise ValueError(f"nbytes={nbytes} is not allowed: it must be a multiple of 4 (whole fp32 elements)")
    passes = _check.positive_int("passes", passes, maximum=MAX_PASSES)
    if passes > 1 and kind in TRANSFERS:
        raise ValueError(f"passes={passes} is not allowed for kind {kind!r}: a transfer is one copy per launch")
    pinned = _check.boolean("pinned", pinned)
    _check.choice("method", method, P2P_METHODS)
    bidirectional = _check.boolean("bidirectional", bidirectional)
    if kind != "p2p" and (method != "copy" or bidirectional):
        raise ValueError(
            f"method={method!r}, bidirectional={bidirectional!r} is not allowed for kind {kind!r}: "
            "only p2p has a kernel-based or bidirectional copy"
        )
    _check.choice("kernel", kernel, KERNEL_CHOICES)
    if kernel != "auto" and kind in TRANSFERS:
        raise ValueError(f"kernel={kernel!r} is not allowed for kind {kind!r}: a transfer runs no kernel of ours")
    if kernel == "tma" and (kind not in TMA_KINDS or passes > 1):
        raise ValueError(
            f"kernel='tma' is not allowed for kind {kind!r} with passes={passes}: it runs "
            f"{', '.join(TMA_KINDS)} in one pass"
        )
    opts = how.timing
    reads, writes = TRAFFIC[kind]
    per_pass = nbytes * (reads + writes)
    most = max(1, int(opts["max_time"] * MAX_BANDWIDTH // per_pass))
    if passes > most:  # one pass is bounded by the arrays' memory; passes multiply it
        raise ValueError(
            f"passes={passes} is not allowed with nbytes={nbytes}: one launch of {kind!r} would move "
            f"{passes * per_pass} bytes, more than max_time={opts['max_time']} s allows even at "
            f"{MAX_BANDWIDTH:.0e} B/s (faster than any memory); it must be in 1..{most}"
        )
    dev, backend = _run.resolve_backend("membw", "auto", how.device, ("cuda",), "cuda")
    if not dev.is_cuda:
        _check.host_memory(f"cpu membw {kind!r} of {reads + writes} arrays", nbytes * (reads + writes))
    if kernel != "auto" and not dev.is_cuda:
        raise UnsupportedError(
            f"membw kernel={kernel!r} names a CUDA kernel; the CPU runs its STREAM loops (leave kernel='auto')"
        )
    if kind == "p2p":
        peer = _peer(dev, peer)
    elif peer is not None:
        raise ValueError(f"peer={peer!r} is not allowed for kind {kind!r}: only p2p copies to another GPU")
    n, seed, cold = nbytes // 4, how.seed, how.cold
    ran = _run.run(
        dev,
        how,
        what=f"membw kind {kind!r}",
        cuda_call=lambda m: m.membw(
            dev.index,
            kind,
            n,
            passes,
            pinned,
            -1 if peer is None else peer,
            seed,
            cold,
            opts,
            method == "kernel",
            bidirectional,
            kernel,
        ),
        cpu_call=None if kind in TRANSFERS else lambda m: m.membw(kind, n, passes, seed, cold, opts),
    )
    params: dict[str, Any] = {
        "kind": kind,
        "nbytes": nbytes,
        "passes": passes,
        "bytes_counted": "transferred once" if kind in ("h2d", "d2h", "p2p") else "read + written",
    }
    if kind in ("h2d", "d2h"):
        params["pinned"] = pinned
    if kind == "p2p":
        params.update(peer=peer, method=method, bidirectional=bidirectional)
    if kernel != "auto":
        params["kernel_choice"] = kernel
    peak = device_peak_gbps(dev) if kind not in ("h2d", "d2h", "p2p") else None
    return ran.result(
        "membw",
        params,
        dtype=dtype,
        bytes=float(nbytes) * (reads + writes) * passes * (2 if bidirectional else 1),
        peak_gbps=peak,
    )


def _peer(dev, peer: int | None) -> int:
    from .. import _native

    if not dev.is_cuda:
        raise UnsupportedError("membw kind 'p2p' needs two CUDA devices")
    count = _native.cuda().device_count()
    if peer is None:
        if count < 2:
            raise UnsupportedError(f"membw kind 'p2p' needs two CUDA devices; {count} found")
        peer = (dev.index + 1) % count
    peer = _check.non_negative_int("peer", peer)
    if peer >= count or peer == dev.index:
        raise ValueError(f"peer={peer} is not allowed: expected another GPU index than {dev.index}, below {count}")
    return peer


#: The size sweep: 4 KiB to 4 GiB, a factor of 4 apart (what `aimatrix membw --sweep` runs).
SWEEP_MIN, SWEEP_MAX = 4 << 10, 4 << 30


def sweep_sizes(lo: int = SWEEP_MIN, hi: int = SWEEP_MAX, factor: int = 4) -> list[int]:
    """Buffer sizes of a bandwidth sweep: lo, lo * factor, ... up to hi bytes."""
    return _check.geometric_sizes(lo, hi, factor)


def sweep_passes(nbytes: int, *, min_traffic: int = 256 << 20) -> int:
    """Passes per launch so each launch moves at least ``min_traffic`` bytes per array (1 for large arrays)."""
    return max(1, min(MAX_PASSES, min_traffic // max(nbytes, 1)))


def sweep(kind: str = "copy", sizes: list[int] | None = None, **kwargs: Any) -> Iterator[Result]:
    """membw over a range of sizes (default 4 KiB .. 4 GiB), small sizes with several passes a launch."""
    for nbytes in sizes or sweep_sizes():
        passes = sweep_passes(nbytes) if kind in KERNELS else 1
        yield membw(kind, nbytes=nbytes, passes=passes, **kwargs)
