"""Refusing a case that cannot fit before allocating it: the bytes it needs against what is free."""

from __future__ import annotations

import os

import torch

from ..errors import OutOfMemoryError

_GIB = float(1 << 30)


def free_bytes(device: torch.device) -> int:
    """Bytes a new allocation can get: free device memory plus PyTorch's cached blocks; MemAvailable on the host."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        idx = device.index if device.index is not None else torch.cuda.current_device()
        return int(free + torch.cuda.memory_reserved(idx) - torch.cuda.memory_allocated(idx))
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def require(need: float, device: torch.device, what: str) -> None:
    """OutOfMemoryError naming the size ``what`` needs when more than the free memory of ``device``."""
    have = free_bytes(device)
    if need > have:
        raise OutOfMemoryError(f"{what} needs about {need / _GIB:.2f} GiB, but {device} has {have / _GIB:.2f} GiB free")
