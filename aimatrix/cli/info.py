"""``aimatrix info``: devices, peaks, versions, and what is available (and why not)."""

from __future__ import annotations

import argparse

from rich.markup import escape

from .. import _native
from ..device import resolve
from ..micro.gemm import DTYPES
from ..system.env import device_info, host_environment
from ..system.peaks import peak_gbps, peak_tflops
from .common import Command, console


def _frameworks_status() -> list[tuple[str, str]]:
    """(framework, what aimatrix can do with it / why not) for the frameworks of the macro benchmarks."""
    import importlib

    from ..system.env import framework_versions

    versions = framework_versions()
    extras = {
        "torch": "torch",
        "torchvision": "torch",
        "onnxruntime": "onnx",
        "tensorrt": "trt",
        "tensorflow": "tf",
        "triton": "torch",
        "nvidia-ml-py": "nvml",
    }
    out = []
    for name, version in versions.items():
        if version is None:
            out.append((name, f"not installed (pip install aimatrix[{extras.get(name, name)}])"))
            continue
        detail = version
        if name in ("torch", "onnxruntime", "tensorrt"):
            try:
                mod = importlib.import_module(name)
                if name == "torch":
                    detail += (
                        f", CUDA {mod.version.cuda}, GPU available"
                        if mod.cuda.is_available()
                        else f", {'CUDA ' + mod.version.cuda if mod.version.cuda else 'CPU-only build'}, "
                        "no GPU visible to it"
                    )
                elif name == "onnxruntime":
                    detail += ", providers " + ", ".join(mod.get_available_providers())
            except Exception as e:  # a broken install: say so, do not fail
                detail += f", but it does not import: {type(e).__name__}: {e}"
        out.append((name, detail))
    return out


def run(args: argparse.Namespace) -> int:
    from ..system.telemetry import nvml_unavailable_reason

    con = console()
    env = host_environment()
    rev = f" ({env['git_revision']})" if env.get("git_revision") else ""
    con.print(
        f"[bold]aimatrix {env['aimatrix']}{escape(rev)}[/bold] on {env['host']}: "
        f"Python {env['python']}, {env['platform']}"
    )
    con.print(
        f"CPU: {env['cpu']} ({env['cpu_count']} logical CPUs, {env['cpu_threads']} OpenMP threads); "
        "backend cpu: fp32 GEMM and convolution (own kernels)"
    )
    from .. import _vendor

    for name, detail in _vendor.status().items():  # the CPU's vendor libraries: version, or how to add them
        con.print(f"  backend {name}: {escape(detail)}")
    con.print(f"  auto on the CPU: gemm {_vendor.auto('gemm')}, conv {_vendor.auto('conv')}")
    nvml = nvml_unavailable_reason()
    con.print(
        "telemetry: NVML"
        + (
            f" not available — {escape(nvml)}"
            if nvml
            else " (clocks, power, temperature, throttling, energy during each GPU measurement)"
        )
    )
    if not _native.cuda_available():
        con.print(
            f"CUDA: not available — {escape(str(_native.cuda_unavailable_reason()))}; "
            "backends cublas, cublaslt, simt, tensorcore need it"
        )
    else:
        for i in range(_native.cuda().device_count()):
            info = device_info(resolve(f"cuda:{i}"))
            cc = (info["cc_major"], info["cc_minor"])
            con.print(
                f"cuda:{i}: {info['name']} (sm_{cc[0]}{cc[1]}, {info['sm_count']} SMs, "
                f"{info['clock_khz'] / 1e6:.2f} GHz, {info['total_mem_bytes'] / 2**30:.1f} GiB, "
                f"L2 {info['l2_bytes'] / 2**20:.0f} MiB) {info['uuid']} PCI {info.get('pci_bus_id', '?')}"
            )
            bw = peak_gbps(info["mem_clock_khz"], info["bus_width_bits"])
            peaks = ", ".join(
                f"{d} {p:.0f}"
                for d in DTYPES
                if (p := peak_tflops(cc, info["sm_count"], info["clock_khz"], d)) is not None
            )
            con.print(f"  peak TFLOP/s: {peaks}; memory bandwidth {bw:.0f} GB/s" if bw else f"  peak TFLOP/s: {peaks}")
            cudnn = info.get("cudnn_version")
            con.print(
                f"  driver {info.get('nvml_driver_version') or info['driver_version']} (CUDA driver API "
                f"{info['driver_version']}), CUDA runtime {info['cuda_runtime_version']}, "
                f"cuBLAS {info['cublas_version']}, cuBLASLt {info['cublaslt_version']}, "
                f"cuDNN {cudnn if cudnn else 'not found'}"
            )
            if info.get("power_limit_w"):
                con.print(
                    f"  power limit {info['power_limit_w']:.0f} W, max SM clock {info.get('max_sm_clock_mhz')} MHz"
                )
            tc = "fp16/bf16/fp8" if tuple(cc) == (9, 0) else "fp16/bf16"  # fp8: the sm_90 wgmma kernel
            con.print(f"  backends: cublas, cublaslt (all dtypes the GPU runs), simt (fp32), tensorcore ({tc})")
    for name, detail in _frameworks_status():
        con.print(f"framework {name}: {escape(detail)}")
    try:  # what `macro --models` and `layers --layers` take (both need PyTorch)
        from ..layers import NAMES
        from ..macro.zoo import names

        con.print(f"models: {', '.join(names())}")
        con.print(f"layers: {', '.join(NAMES)}")
    except ModuleNotFoundError:
        con.print("models, layers: " + escape('need PyTorch (pip install "aimatrix[torch]")'))
    return 0


COMMAND = Command(
    "info",
    "devices, peaks, versions, and which backends and frameworks are available",
    "examples:\n  aimatrix info",
    (),
    lambda p: None,
    run,
)
