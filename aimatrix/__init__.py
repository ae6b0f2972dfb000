"""aimatrix: how fast is this AI accelerator, really?

    >>> import aimatrix as am
    >>> r = am.gemm(1024, 1024, 1024, dtype="fp32")
    >>> r.median_ms, r.tflops, r.rel_error

Every benchmark returns a :class:`Result`; bad arguments raise ``ValueError`` /
``TypeError``; native failures raise the classes in :mod:`aimatrix.errors`.
"""

from __future__ import annotations

from pkgutil import extend_path

# Run inside a checkout after `pip install .`, the checkout's aimatrix/ comes first on sys.path; the package then
# also spans the installed one, which holds what the build made: the compiled modules and the zoo (aimatrix/models).
__path__ = extend_path(__path__, __name__)

from . import dist, micro, synth, timing
from ._version import __version__
from .device import Device, devices
from .errors import AimatrixError, CudaError, OutOfMemoryError, UnsupportedError, VerificationError
from .micro import conv, gemm, launch, membw
from .results import Result, read_jsonl, write_jsonl
from .run_options import RunOptions


def __getattr__(name: str):
    """Layer and model benchmarks need PyTorch: imported on first use, so ``import aimatrix`` does not.

    ``importlib`` and not ``from . import macro``: the latter asks this module for the
    attribute first, which would call this function again, without end.
    """
    import importlib

    lazy = {
        "model": ("macro", "model"),
        "macro": ("macro", None),
        "layer": ("layers", "layer"),
        "layers": ("layers", None),
        "llm": ("macro.llm", "llm"),
    }
    if name not in lazy:
        raise AttributeError(f"module 'aimatrix' has no attribute {name!r}")
    module_name, attr = lazy[name]
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in ("torch", "torchvision"):
            raise UnsupportedError(
                f'aimatrix.{name} needs PyTorch, which is not installed: pip install "aimatrix[torch]"'
            ) from e
        raise
    return module if attr is None else getattr(module, attr)


__all__ = [
    "__version__",
    "gemm",
    "conv",
    "membw",
    "launch",
    "micro",
    "model",
    "layer",
    "llm",
    "timing",
    "synth",
    "dist",
    "devices",
    "Device",
    "Result",
    "RunOptions",
    "read_jsonl",
    "write_jsonl",
    "AimatrixError",
    "CudaError",
    "OutOfMemoryError",
    "UnsupportedError",
    "VerificationError",
]
