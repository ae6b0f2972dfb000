"""Framework backends for the macro (and layer) benchmarks, by name."""

from __future__ import annotations

from .base import DTYPES, Backend, ModelCase, Prepared
from .onnxruntime import OnnxRuntime
from .tensorflow import TensorFlow
from .tensorrt import TensorRT
from .torch_compile import TorchCompile
from .torch_eager import TorchEager
from .torch_graph import TorchGraph

BACKENDS: dict[str, Backend] = {
    b.name: b for b in (TorchEager(), TorchCompile(), TorchGraph(), OnnxRuntime(), TensorRT(), TensorFlow())
}
NAMES = tuple(BACKENDS)


def get(name: str) -> Backend:
    """The backend called ``name``; ValueError listing the known ones otherwise."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not allowed: known backends are {', '.join(NAMES)} (or 'best')")
    return BACKENDS[name]


def installed() -> list[str]:
    """Backends whose framework imports here (a CUDA-only one may still refuse the CPU)."""
    return [n for n, b in BACKENDS.items() if b.installed()]


__all__ = ["BACKENDS", "NAMES", "DTYPES", "Backend", "ModelCase", "Prepared", "get", "installed"]
