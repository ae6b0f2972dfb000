"""aimatrix native CUDA back end (hand-written stub: importing _cuda needs a driver)."""

from typing import Any, Callable

def device_count() -> int:
    """Number of CUDA devices; 0 without a driver or device."""

def device_info(device: int) -> dict[str, Any]:
    """Static facts of a device: name, uuid, pci_bus_id, cc_major/minor, sm_count, clocks, memory, versions."""

def measure(fn: Callable[[], None], device: int, stream: int, cold: bool, rule: dict[str, float]) -> dict[str, Any]:
    """Time a callable that launches work on `stream` with CUDA events."""

def gemm(device: int, backend: str, m: int, n: int, k: int, batch: int, trans_a: bool, trans_b: bool, dtype: str,
         seed: int, cold: bool, rule: dict[str, float]) -> dict[str, Any]:
    """GEMM benchmark: fill, verify, time. Returns stats, samples_ms, verify, backend, extra."""
