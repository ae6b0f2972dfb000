"""GPU x GPU peer-to-peer matrix: bandwidth (copy engine and SM kernel, one way and
both ways at once) and small-copy latency for every ordered pair."""

from __future__ import annotations

from typing import Any

from ..results.result import Result

#: (method, bidirectional) of each bandwidth column, named as in the matrix's entries.
COLUMNS = {"copy_gbps": ("copy", False), "kernel_gbps": ("kernel", False),
           "copy_bidir_gbps": ("copy", True), "kernel_bidir_gbps": ("kernel", True)}


def p2p_matrix(nbytes: int = 1 << 30, *, latency_bytes: int = 8, columns: tuple[str, ...] = tuple(COLUMNS),
               **timing_options: Any) -> dict[tuple[int, int], dict]:
    """For every ordered pair (src, dst) of GPUs: GB/s of ``nbytes`` copies and the time of a tiny one.

    Copies run through ``aimatrix.membw("p2p")``; ``columns`` chooses among
    ``copy_gbps`` (copy engine), ``kernel_gbps`` (an SM kernel on ``src`` writes into
    ``dst``), and their ``*_bidir_gbps`` versions (``dst`` sends back at the same
    time; both directions' bytes counted). ``latency_us`` is the copy engine's time
    for ``latency_bytes``. A column the pair cannot run (no peer access for a
    kernel) holds None and its reason under ``errors``; each entry keeps its Results.
    """
    from .. import _native, membw
    from ..errors import UnsupportedError

    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"columns={unknown!r} are not allowed: expected some of {', '.join(COLUMNS)}")
    n = _native.cuda().device_count()
    out: dict[tuple[int, int], dict] = {}
    for src in range(n):
        for dst in range(n):
            if src == dst:
                continue
            entry: dict[str, Any] = {"errors": {}, "results": {}}
            for col in columns:
                method, both = COLUMNS[col]
                try:
                    r: Result = membw("p2p", nbytes=nbytes, device=f"cuda:{src}", peer=dst, method=method,
                                      bidirectional=both, **timing_options)
                    entry[col], entry["results"][col] = r.gbps, r
                except UnsupportedError as e:
                    entry[col], entry["errors"][col] = None, str(e)
            lat: Result = membw("p2p", nbytes=latency_bytes, device=f"cuda:{src}", peer=dst, **timing_options)
            entry["latency_us"], entry["results"]["latency"] = lat.median_ms * 1e3, lat
            out[src, dst] = entry
    return out
