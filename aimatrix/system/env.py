"""The environment a Result was measured in: software versions, host, device."""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata as _md
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from .. import _native
from ..device import Device

#: Frameworks and runtimes whose versions go into every Result's env (read from the
#: installed package metadata: nothing is imported).
FRAMEWORKS = {
    "torch": ("torch",),
    "torchvision": ("torchvision",),
    "onnxruntime": ("onnxruntime-gpu", "onnxruntime"),
    "tensorrt": ("tensorrt", "tensorrt-cu13", "tensorrt-cu12"),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "triton": ("triton",),
    "nvidia-ml-py": ("nvidia-ml-py",),
}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _dist_version(*names: str) -> str | None:
    for name in names:
        try:
            return _md.version(name)
        except _md.PackageNotFoundError:
            continue
    return None


def framework_versions() -> dict[str, str | None]:
    """Installed versions of the frameworks aimatrix can drive (None: not installed)."""
    return {name: _dist_version(*dists) for name, dists in FRAMEWORKS.items()}


@functools.lru_cache(maxsize=None)
def git_revision() -> str | None:
    """The git commit aimatrix was built from: $AIMATRIX_GIT_REVISION, else the checkout it runs from.

    An installed wheel has no checkout; set AIMATRIX_GIT_REVISION when benchmarking
    a build whose revision matters (bench/gpu_results.sh does).
    """
    rev = os.environ.get("AIMATRIX_GIT_REVISION")
    if rev:
        return rev.strip()
    here = Path(__file__).resolve().parent.parent
    if not any((p / ".git").exists() for p in (here, *here.parents)):
        return None
    try:
        p = subprocess.run(
            ["git", "-C", str(here), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() or None if p.returncode == 0 else None


@functools.lru_cache(maxsize=None)
def host_environment() -> dict:
    from .. import __version__

    return {
        "aimatrix": __version__,
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_threads": _native.core.cpu_threads(),
        "numpy": sys.modules["numpy"].__version__ if "numpy" in sys.modules else _dist_version("numpy"),
        "frameworks": framework_versions(),
    }


def cudnn_version() -> int | None:
    """cuDNN's version number (e.g. 91002) from the loaded or loadable library, or None."""
    for name in ("libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            lib.cudnnGetVersion.restype = ctypes.c_size_t
            return int(lib.cudnnGetVersion())
        except AttributeError:
            continue
    return None


@functools.lru_cache(maxsize=None)
def device_info(device: Device) -> dict:
    """Static facts of a CUDA device (name, UUID, PCI id, compute capability, SMs, clocks, memory, versions)."""
    if not device.is_cuda:
        return {}
    info = dict(_native.cuda().device_info(device.index))
    info["cudnn_version"] = cudnn_version()
    from .nvml import nvml_device_facts

    info.update(nvml_device_facts(info))
    return info


def environment(device: Device) -> dict:
    """Host facts plus, for a GPU, its device facts and the driver/CUDA/cuBLAS/cuDNN versions."""
    env = dict(host_environment())
    if device.is_cuda:
        env["gpu"] = device_info(device)
    return env
