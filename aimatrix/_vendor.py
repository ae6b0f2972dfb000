"""The CPU's vendor libraries, optional backends found at run time: OpenBLAS and oneDNN.

As the CUDA libraries come from the ``nvidia-*`` wheels, these come from the ``scipy-openblas32``
wheel (headers and ``libscipy_openblas.so``) and the ``onednn`` wheel (``libdnnl.so.3`` only, with
its runtime's libraries beside it), installed with ``pip install "aimatrix[cpu]"``. Nothing is
linked at build time: the library is found in its wheel, its dependencies are loaded first, and the
native core opens it by path (csrc/cpu/backend.hpp). Without a wheel, its backend raises
UnsupportedError naming the package to install; the rest of aimatrix is unaffected.
"""

from __future__ import annotations

import ctypes
import importlib.metadata as md
import os
import re
from dataclasses import dataclass
from functools import cache

from .errors import UnsupportedError


@dataclass(frozen=True)
class Library:
    """A vendor library: its backend name, its wheel and what it runs."""

    name: str
    package: str
    runs: str


LIBRARIES = {
    lib.name: lib
    for lib in (
        Library("openblas", "scipy-openblas32", "fp32 GEMM"),
        Library("onednn", "onednn", "fp32 GEMM and convolution (fwd, bwd_data, bwd_filter)"),
    )
}
#: What ``backend="auto"`` picks on a CPU, per operation, in this order, among those that run the dtype; the own
#: kernels when none is installed.
PREFERRED = {"gemm": ("openblas", "onednn"), "conv": ("onednn",)}
#: Where bf16 GEMM runs on a CPU: oneDNN's matmul, on a CPU with AVX-512 BF16 or AMX.
BF16_GEMM = "onednn"


def install_hint(name: str) -> str:
    return f'pip install {LIBRARIES[name].package} (or pip install "aimatrix[cpu]")'


def _openblas_path() -> str | None:
    try:
        import scipy_openblas32  # type: ignore
    except ImportError:
        return None
    lib_dir, stem = scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library()
    return next((os.path.join(lib_dir, f) for f in sorted(os.listdir(lib_dir)) if f.startswith(f"lib{stem}.so")), None)


def _onednn_path() -> str | None:
    try:
        files = md.files("onednn") or []
    except md.PackageNotFoundError:
        return None
    # The wheel puts libdnnl.so.3 in the environment's lib/ (its RECORD says where), not in a package.
    return next((str(f.locate()) for f in files if f.name == "libdnnl.so.3"), None)


def _load_with_siblings(path: str) -> None:
    """ctypes-load `path`, first loading each library it needs that sits in the same folder.

    The onednn wheel's libdnnl.so.3 needs libtbb, libsvml, libsycl, ... from the same lib/ but carries
    no RPATH to find them; once loaded by path, the loader finds them by soname.
    """
    for _ in range(64):  # one missing dependency per round
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            return
        except OSError as e:
            m = re.search(r"(lib[^\s:/]+\.so[.\d]*): cannot open shared object file", str(e))
            dep = os.path.join(os.path.dirname(path), m.group(1)) if m else ""
            if not m or not os.path.exists(dep) or dep == path:
                raise
            _load_with_siblings(dep)
    raise OSError(f"{path}: too many missing dependencies")


@cache
def _find(name: str) -> tuple[str | None, str | None]:
    """(the loaded library's path, None), or (None, why it is unavailable)."""
    path = {"openblas": _openblas_path, "onednn": _onednn_path}[name]()
    if path is None or not os.path.exists(path):
        return None, f"{LIBRARIES[name].package} is not installed"
    if name == "onednn":
        # The wheel's oneDNN runs its CPU engine on SYCL's OpenCL CPU device: point the OpenCL loader at the
        # intel-opencl-rt wheel's driver beside it, unless the user chose drivers already.
        driver = os.path.join(os.path.dirname(path), "libintelocl.so")
        if os.path.exists(driver) and not os.environ.get("OCL_ICD_FILENAMES"):
            os.environ["OCL_ICD_FILENAMES"] = driver
    try:
        _load_with_siblings(path)
    except OSError as e:
        return None, f"{LIBRARIES[name].package} is installed but {os.path.basename(path)} does not load: {e}"
    return path, None


def path(name: str) -> str:
    """The path of vendor library `name`, loaded; UnsupportedError naming the wheel to install."""
    found, reason = _find(name)
    if found is None:
        raise UnsupportedError(
            f"backend={name!r} ({LIBRARIES[name].runs}) needs the {name} library: {reason}; "
            f"to add it: {install_hint(name)}"
        )
    return found


def available(name: str) -> bool:
    return _find(name)[0] is not None


@cache
def gemm_dtypes(name: str) -> tuple[str, ...]:
    """The dtypes CPU GEMM backend `name` runs here, as the native core reports them (oneDNN's bf16 needs the CPU's
    AVX-512 BF16 or AMX); empty for a vendor library that is not available."""
    from . import _native

    if name == "cpu":
        return tuple(_native.core.gemm_dtypes("cpu"))
    found, _ = _find(name)
    return tuple(_native.core.gemm_dtypes(name, found)) if found else ()


def auto(op: str, dtype: str = "fp32") -> str:
    """The backend ``backend="auto"`` runs `op` ("gemm" or "conv") with on a CPU: the first vendor library that runs
    it (for GEMM: in that dtype), else "cpu"."""
    runs = (lambda n: dtype in gemm_dtypes(n)) if op == "gemm" else (lambda n: True)
    return next((n for n in PREFERRED[op] if available(n) and runs(n)), "cpu")


def why_no_bf16_gemm() -> str:
    """Why bf16 GEMM cannot run on this CPU, with what would add it."""
    found, reason = _find(BF16_GEMM)
    if found is None:
        return f"{reason}; to add it: {install_hint(BF16_GEMM)}"
    return "this CPU (as oneDNN sees it) has neither AVX-512 BF16 nor AMX"


def status() -> dict[str, str]:
    """Per library: its version as it reports itself, or why it is unavailable and how to add it."""
    from . import _native

    out = {}
    for name, lib in LIBRARIES.items():
        found, reason = _find(name)
        if found is None:
            out[name] = f"not available — {reason}; {install_hint(name)}"
            continue
        try:
            out[name] = f"{_native.core.vendor_version(name, found)}: {lib.runs}"
            if name == BF16_GEMM:
                out[name] += (
                    "; bf16 GEMM (matmul, AVX-512 BF16/AMX)"
                    if "bf16" in gemm_dtypes(name)
                    else "; no bf16 GEMM (the CPU lacks AVX-512 BF16 and AMX)"
                )
        except UnsupportedError as e:
            out[name] = f"not usable — {e}"
    return out
