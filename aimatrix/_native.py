"""Loading of the native modules: ``_core`` (always) and the CUDA back end (optional).

The CUDA back end lives in ``aimatrix/_backends/cuXY/_cuda*.so``. Before importing
it, cuBLAS/cuBLASLt/cuDNN are preloaded from the ``nvidia-*`` wheels when
``cuda.pathfinder`` is available, so a wheel install and a system toolkit both work.
Why the back end is unavailable is kept and reported, never raised at import.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from . import _core as core  # noqa: F401  (re-exported)
from .errors import UnsupportedError

_cuda: ModuleType | None = None
_cuda_reason: str | None = None
_loaded = False


def _preload_cupti_from_wheels() -> None:
    """Without cuda.pathfinder: load CUPTI from an nvidia-* wheel, so timer="cupti" finds it by soname."""
    import ctypes
    import glob
    import os

    try:
        import nvidia  # type: ignore
    except ImportError:
        return
    for root in nvidia.__path__:
        for path in sorted(glob.glob(os.path.join(root, "*", "lib", "libcupti.so.*"))):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return
            except OSError:
                continue


def _preload_libraries() -> None:
    try:
        from cuda.pathfinder import load_nvidia_dynamic_lib  # type: ignore
    except Exception:
        _preload_cupti_from_wheels()
        return  # rely on RPATH and the system loader path
    for lib in ("cudart", "cublasLt", "cublas", "cudnn", "cupti"):  # cupti: timer="cupti" dlopens it by soname
        try:
            load_nvidia_dynamic_lib(lib)
        except Exception:
            pass  # an absent library is reported by the import below, naming it


def _load() -> None:
    global _cuda, _cuda_reason, _loaded
    if _loaded:
        return
    _loaded = True
    from . import _backends

    names = sorted((m.name for m in pkgutil.iter_modules(_backends.__path__) if m.name.startswith("cu")), reverse=True)
    if not names:
        _cuda_reason = f"this aimatrix build has no CUDA back end; to add it: {cuda_install_hint()}"
        return
    _preload_libraries()
    errors = []
    for name in names:  # newest CUDA major first
        try:
            _cuda = importlib.import_module(f"aimatrix._backends.{name}._cuda")
            break
        except ImportError as e:
            msg = str(e)
            hint = ""
            for lib, pkg in (
                ("libcublas", "nvidia-cublas"),
                ("libcudnn", "nvidia-cudnn-cu13"),
                ("libcudart", "nvidia-cuda-runtime"),
            ):
                if lib in msg:
                    hint = f" (install {pkg}, or a CUDA toolkit that provides {lib})"
            errors.append(f"{name}: {msg}{hint}")
    if _cuda is None:
        _cuda_reason = "the CUDA back end could not be loaded: " + "; ".join(errors)
        return
    try:
        n = _cuda.device_count()
    except Exception as e:  # no driver
        _cuda, _cuda_reason = None, f"no usable CUDA driver: {e}"
        return
    if n == 0:
        _cuda, _cuda_reason = None, "no CUDA device found"


def cuda_install_hint() -> str:
    """The one command that adds the CUDA back end to this install.

    A released front-end wheel's ``[cu13]`` extra pulls the ``aimatrix-cu13`` back end; an
    install from the source tree has no such wheel behind its extra, so it is rebuilt with
    cuBLAS and cuDNN present (the ``nvidia-*`` wheels carry their headers and libraries).
    """
    import importlib.metadata as md

    try:
        wheel_extra = any(req.startswith("aimatrix-cu") for req in (md.requires("aimatrix") or []))
    except md.PackageNotFoundError:
        wheel_extra = False
    if wheel_extra:
        return 'pip install "aimatrix[cu13]"'
    return (
        "pip install nvidia-cublas nvidia-cuda-runtime nvidia-cudnn-cu13 nanobind scikit-build-core cmake ninja "
        "&& AIMATRIX_CUDA=ON pip install --no-build-isolation --force-reinstall --no-deps . "
        "(in the source tree, with nvcc on PATH)"
    )


def cuda_available() -> bool:
    """True when the CUDA back end loaded and sees at least one GPU."""
    _load()
    return _cuda is not None


def cuda_unavailable_reason() -> str | None:
    """Why CUDA cannot be used, or None when it can."""
    _load()
    return _cuda_reason


def cuda() -> ModuleType:
    """The loaded CUDA back end; raises UnsupportedError saying why it is missing."""
    _load()
    if _cuda is None:
        raise UnsupportedError(f"CUDA is not available: {_cuda_reason}")
    return _cuda
