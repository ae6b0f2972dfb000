"""Starts one process per device through torchrun (torch.distributed.run).

Single host: ``nproc`` processes. Several hosts: the same command on each with
``nnodes``, ``node_rank`` and the rendezvous address of node 0 (torchrun's
static rendezvous); every process inherits NCCL_NVLS_ENABLE=0 so NVLink
multicast stays off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Sequence

from .. import _check


def torchrun(module: str, args: Sequence[str], *, nproc: int, nnodes: int = 1, node_rank: int = 0,
             master_addr: str = "127.0.0.1", master_port: int = 29511, timeout_s: float | None = None) -> int:
    """Run ``python -m module args`` in nproc processes per node; returns the exit code (non-zero if any rank failed)."""
    nproc = _check.positive_int("nproc", nproc)
    nnodes = _check.positive_int("nnodes", nnodes)
    node_rank = _check.non_negative_int("node_rank", node_rank)
    if node_rank >= nnodes:
        raise ValueError(f"node_rank={node_rank} is not allowed: it must be below nnodes={nnodes}")
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}", f"--nnodes={nnodes}",
           f"--node-rank={node_rank}", f"--master-addr={master_addr}", f"--master-port={master_port}",
           "--max-restarts=0", "-m", module, *args]
    env = dict(os.environ, NCCL_NVLS_ENABLE="0", TORCH_SYMM_MEM_DISABLE_MULTICAST="1", NVSHMEM_DISABLE_NVLS="1",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               # The installed aimatrix, even when started from a source checkout (Python >= 3.11).
               PYTHONSAFEPATH="1")
    try:
        return subprocess.run(cmd, env=env, timeout=timeout_s).returncode
    except subprocess.TimeoutExpired:
        return 124
