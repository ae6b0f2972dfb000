"""The environment a Result was measured in: software versions, host, device."""

from __future__ import annotations

import functools
import os
import platform
import socket
import sys

from .. import _native
from ..device import Device


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=None)
def host_environment() -> dict:
    from .. import __version__

    return {
        "aimatrix": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_threads": _native.core.cpu_threads(),
        "numpy": sys.modules["numpy"].__version__ if "numpy" in sys.modules else None,
    }


@functools.lru_cache(maxsize=None)
def device_info(device: Device) -> dict:
    """Static facts of a CUDA device (name, UUID, compute capability, SMs, clocks, memory, versions)."""
    if not device.is_cuda:
        return {}
    return dict(_native.cuda().device_info(device.index))


def environment(device: Device) -> dict:
    """Host facts plus, for a GPU, its device facts and the driver/CUDA/cuBLAS versions."""
    env = dict(host_environment())
    if device.is_cuda:
        env["gpu"] = device_info(device)
    return env
