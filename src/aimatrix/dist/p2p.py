"""GPU x GPU peer-to-peer matrix: copy-engine bandwidth and small-copy latency for every ordered pair."""

from __future__ import annotations

from typing import Any

from ..results.result import Result


def p2p_matrix(nbytes: int = 1 << 30, *, latency_bytes: int = 8, **timing_options: Any) -> dict[tuple[int, int], dict]:
    """For every ordered pair (src, dst) of GPUs: GB/s of an ``nbytes`` copy and the time of a tiny one.

    Copies run through ``aimatrix.membw("p2p")`` (cudaMemcpyPeerAsync on the copy
    engine, peer access enabled where the pair supports it); each entry also holds
    both Results.
    """
    from .. import _native, membw

    n = _native.cuda().device_count()
    out: dict[tuple[int, int], dict] = {}
    for src in range(n):
        for dst in range(n):
            if src == dst:
                continue
            bw: Result = membw("p2p", nbytes=nbytes, device=f"cuda:{src}", peer=dst, **timing_options)
            lat: Result = membw("p2p", nbytes=latency_bytes, device=f"cuda:{src}", peer=dst, **timing_options)
            out[src, dst] = {"gbps": bw.gbps, "latency_us": lat.median_ms * 1e3, "results": (bw, lat)}
    return out
