"""Cases of the micro tier: the GEMM sweep, size catalogues, memory kinds and sizes."""

from __future__ import annotations

from typing import Any, Iterable

from ..device import Device
from ..micro.catalog import catalog
from ..micro.conv import DTYPES as CONV_DTYPES
from ..micro.conv import conv
from ..micro.gemm import gemm
from ..micro.launch import launch
from ..micro.membw import KERNELS as MEMORY_KERNELS
from ..micro.membw import membw, sweep_passes
from ..system.env import device_info
from .case import Case

# Square sizes, then DeepBench shapes (Baidu DeepBench GEMM inference set,
# "speech" kernels: M=5124 N=700 K=2048 and the skinny M=35 N=700 K=2048).
GPU_SHAPES = [(8192, 8192, 8192), (4096, 4096, 4096), (1024, 1024, 1024), (5124, 700, 2048), (35, 700, 2048)]
CPU_SHAPES = [(1024, 1024, 1024), (512, 512, 512), (35, 700, 2048)]
_CONV_ARGS = ("n", "c", "h", "w")


def est_seconds(timing: dict, setup: float = 0.3) -> float:
    """How long a case with these timing options is expected to take: warm-up, samples, and its setup."""
    return min(timing.get("warmup", 0.0) + timing.get("min_time", 0.0), timing.get("max_time", 10.0) * 2) + setup


def device_dtypes(dev: Device) -> list[str]:
    """The GEMM dtypes a device runs: fp32 on the CPU; on a GPU by compute capability."""
    if not dev.is_cuda:
        return ["fp32"]
    info = device_info(dev)
    cc = info["cc_major"] * 10 + info["cc_minor"]
    out = ["fp32", "tf32", "fp16", "bf16", "int8"] if cc >= 80 else ["fp32", "fp16", "int8"]
    if cc >= 89:
        out.append("fp8")
    return out


def gemm_case(
    m: int, n: int, k: int, dev: Device, *, dtype: str, backend: str = "auto", timing: dict | None = None, **extra: Any
) -> Case:
    """One GEMM case; 8-bit tensor-core kernels take C = A @ B^T (both operands K-major, "TN") unless
    ``extra`` says otherwise (``trans_a``, ``trans_b``, ``mode``, ...)."""
    timing = dict(timing or {})
    kw = dict(dtype=dtype, backend=backend, device=str(dev), trans_b=dtype in ("fp8", "int8"))
    kw.update(extra, **timing)
    return Case("gemm", gemm, (m, n, k), kw, arg_names=("m", "n", "k"), est_s=est_seconds(timing))


def gemm_suite(
    dev: Device,
    *,
    dtypes: Iterable[str] | None = None,
    backends: Iterable[str] = ("auto",),
    shapes: Iterable[tuple[int, int, int]] | None = None,
    timing: dict | None = None,
    **extra: Any,
) -> list[Case]:
    """A GEMM sweep: shapes x dtypes x backends on one device (fp8 only where every size is a multiple of 16)."""
    shapes = list(shapes or (GPU_SHAPES if dev.is_cuda else CPU_SHAPES))
    return [
        gemm_case(m, n, k, dev, dtype=dtype, backend=backend, timing=timing, **extra)
        for dtype in (dtypes or device_dtypes(dev))
        for backend in backends
        for m, n, k in shapes
        if not (dtype == "fp8" and (m % 16 or n % 16 or k % 16))
    ]


def conv_case(
    shape: dict,
    dev: Device,
    *,
    dtype: str,
    backend: str = "auto",
    layout: str = "nchw",
    direction: str = "fwd",
    timing: dict | None = None,
    **extra: Any,
) -> Case:
    """One convolution case from a catalogue entry's shape (``n c h w k r`` and optionally ``s stride pad``)."""
    timing = dict(timing or {})
    kw = {key: shape[key] for key in ("k", "r", "s", "stride", "pad", "groups") if key in shape}
    kw.update(dtype=dtype, layout=layout, direction=direction, backend=backend, device=str(dev), **extra, **timing)
    return Case(
        "conv",
        conv,
        tuple(shape[a] for a in _CONV_ARGS),
        kw,
        arg_names=_CONV_ARGS,
        est_s=est_seconds(timing, setup=1.0),
    )


def catalog_cases(
    entries: Iterable[dict],
    dev: Device,
    *,
    dtypes: list[str] | None = None,
    backends: list[str] | None = None,
    layout: str = "nchw",
    mode: str = "hot",
    timing: dict | None = None,
) -> list[Case]:
    """Cases for catalogue entries: each GEMM/conv entry once per dtype and backend, memory/launch entries once.

    ``mode`` (hot or cold L2) goes to the GEMM, conv and memory cases; launches have none.
    """
    dtypes = dtypes or ["fp32"]
    backends = backends or ["auto"]
    timing = dict(timing or {})
    cold = {"mode": mode} if mode != "hot" else {}  # hot is every benchmark's default: ids stay as they were
    cases = []
    for e in entries:
        op = e["op"]
        if op == "gemm":
            cases += [
                gemm_case(
                    e["m"],
                    e["n"],
                    e["k"],
                    dev,
                    dtype=dt,
                    backend=be,
                    timing=timing,
                    trans_a=e["trans_a"],
                    trans_b=e["trans_b"],
                    **cold,
                )
                for dt in dtypes
                for be in backends
            ]
        elif op == "conv":
            cases += [
                conv_case(e, dev, dtype=dt, backend=be, layout=layout, timing=timing, **cold)
                for dt in dtypes
                if dt in CONV_DTYPES
                for be in backends
            ]
        elif op == "membw":
            cases.append(membw_case(e["kind"], e["nbytes"], dev, timing=timing, **cold))
        elif op == "launch":
            cases.append(launch_case(e["kind"], dev, timing=timing))
        else:
            raise ValueError(f"catalogue entry {e.get('name')!r} has an unknown op {op!r}")
    return cases


def membw_case(kind: str, nbytes: int, dev: Device, *, timing: dict | None = None, **kwargs: Any) -> Case:
    timing = dict(timing or {})
    return Case(
        "membw",
        membw,
        (kind,),
        dict(nbytes=nbytes, device=str(dev), **kwargs, **timing),
        arg_names=("kind",),
        est_s=est_seconds(timing),
    )


def launch_case(kind: str, dev: Device, *, timing: dict | None = None) -> Case:
    timing = dict(timing or {})
    return Case(
        "launch", launch, (kind,), dict(device=str(dev), **timing), arg_names=("kind",), est_s=est_seconds(timing)
    )


def membw_cases(
    dev: Device,
    kinds: list[str],
    sizes: list[int],
    *,
    sweep: bool,
    timing: dict | None = None,
    p2p: dict | None = None,
    kernel: str = "auto",
    **kwargs: Any,
) -> list[Case]:
    """One case per kind and size; with ``sweep``, small device arrays get several passes per launch.

    ``p2p`` holds options of the p2p kind alone (``method``, ``bidirectional``, ``peer``); ``kernel``
    (``ldst``/``tma``) goes to the device-kernel kinds alone (a kind or pass count it cannot run fails its case).
    """
    cases = []
    for kind in kinds:
        for nbytes in sizes:
            passes = sweep_passes(nbytes) if sweep and kind in MEMORY_KERNELS else 1
            own = (p2p or {}) if kind == "p2p" else {}
            if kernel != "auto" and kind in MEMORY_KERNELS:
                own = {"kernel": kernel}
            cases.append(membw_case(kind, nbytes, dev, timing=timing, passes=passes, **own, **kwargs))
    return cases


def resnet50_conv_layers(batch: int) -> list[dict]:
    """ResNet-50's distinct conv layers at ``batch`` (the ``resnet50-conv`` catalogue's shapes)."""
    return [e for e in catalog("resnet50-conv", batch=batch) if e["op"] == "conv"]
