"""Theoretical peak rates of a device, for "% of peak".

Dense throughput per SM per clock cycle, by compute capability and dtype, times
the SM count and the maximum SM clock the device reports. Figures are the
vendors' dense (no sparsity) rates; fp32 is the CUDA-core rate (FFMA = 2 FLOPs).
"""

from __future__ import annotations

from ..device import Device
from .env import device_info

# FLOP (or int op) per SM per clock, dense. Sources: NVIDIA architecture
# whitepapers (V100, A100, GA102, AD102, H100, B200). E.g. the H100 SXM's
# 989.4 bf16 TFLOP/s = 4096 FLOP/clk x 132 SMs x 1.83 GHz. We multiply by the
# maximum SM clock the device reports (1.98 GHz on an H100 SXM, so 1070 TFLOP/s):
# the ceiling the chip could reach, not the datasheet's sustained-clock figure.
_PER_SM_CLK: dict[tuple[int, int], dict[str, int]] = {
    (7, 0): {"fp32": 128, "fp16": 1024},
    (7, 5): {"fp32": 128, "fp16": 512, "int8": 1024},
    (8, 0): {"fp32": 128, "tf32": 512, "fp16": 1024, "bf16": 1024, "int8": 2048},
    (8, 6): {"fp32": 256, "tf32": 256, "fp16": 512, "bf16": 512, "int8": 1024},
    (8, 7): {"fp32": 256, "tf32": 256, "fp16": 512, "bf16": 512, "int8": 1024},
    (8, 9): {"fp32": 256, "tf32": 256, "fp16": 512, "bf16": 512, "fp8": 1024, "int8": 1024},
    (9, 0): {"fp32": 256, "tf32": 2048, "fp16": 4096, "bf16": 4096, "fp8": 8192, "int8": 8192},
    (10, 0): {"fp32": 256, "tf32": 4096, "fp16": 8192, "bf16": 8192, "fp8": 16384, "int8": 16384},
    (12, 0): {"fp32": 256, "tf32": 512, "fp16": 1024, "bf16": 1024, "fp8": 2048, "int8": 2048},
}


def peak_tflops(cc: tuple[int, int], sm_count: int, clock_khz: float, dtype: str) -> float | None:
    """Peak dense TFLOP/s (TOP/s for int8) for dtype, or None when unknown."""
    table = _PER_SM_CLK.get(tuple(cc)) or _PER_SM_CLK.get((cc[0], 0))
    if not table or dtype not in table or sm_count <= 0 or clock_khz <= 0:
        return None
    return table[dtype] * sm_count * clock_khz * 1e3 / 1e12


def peak_gbps(mem_clock_khz: float, bus_width_bits: int) -> float | None:
    """Theoretical DRAM bandwidth: memory clock x bus width x 2 (double data rate)."""
    if mem_clock_khz <= 0 or bus_width_bits <= 0:
        return None
    return mem_clock_khz * 1e3 * (bus_width_bits / 8) * 2 / 1e9


def device_peak_tflops(dev: Device, dtype: str) -> float | None:
    """``peak_tflops`` of a device from its facts; None on the CPU."""
    if not dev.is_cuda:
        return None
    info = device_info(dev)
    return peak_tflops((info["cc_major"], info["cc_minor"]), info["sm_count"], info["clock_khz"], dtype)


def device_peak_gbps(dev: Device) -> float | None:
    """``peak_gbps`` of a device from its facts; None on the CPU."""
    if not dev.is_cuda:
        return None
    info = device_info(dev)
    return peak_gbps(info.get("mem_clock_khz", 0), info.get("bus_width_bits", 0))
