"""aimatrix native CUDA back end (hand-written stub: importing _cuda needs a driver)."""

from typing import Any, Callable

def device_count() -> int:
    """Number of CUDA devices; 0 without a driver or device."""

def device_info(device: int) -> dict[str, Any]:
    """Static facts of a device: name, uuid, pci_bus_id, cc_major/minor, sm_count, clocks, memory, versions."""

def cupti_status() -> str:
    """'' when the CUPTI timer can run in this process, else why not."""

def measure(fn: Callable[[], None], device: int, stream: int, cold: bool, rule: dict[str, float]) -> dict[str, Any]:
    """Time a callable that launches work on `stream` with CUDA events."""

def gemm(
    device: int,
    backend: str,
    m: int,
    n: int,
    k: int,
    batch: int,
    trans_a: bool,
    trans_b: bool,
    dtype: str,
    seed: int,
    cold: bool,
    rule: dict[str, float],
) -> dict[str, Any]:
    """GEMM benchmark: fill, verify, time. Returns stats, samples_ms, verify, backend, extra."""

def conv(
    device: int,
    backend: str,
    algo: str,
    spec: dict[str, Any] | list[dict[str, Any]],
    cold: bool,
    rule: dict[str, float],
) -> dict[str, Any]:
    """Convolution benchmark (backends cudnn, igemm): fill, verify, time. spec: n, c, h, w, k, r, s, stride_h/w,
    pad_h/w, dil_h/w, groups, dtype, layout, direction, seed."""

def membw(
    device: int,
    kind: str,
    n: int,
    passes: int,
    pinned: bool,
    peer: int,
    seed: int,
    cold: bool,
    rule: dict[str, float],
    p2p_kernel: bool = False,
    bidirectional: bool = False,
    kernel: str = "auto",
) -> dict[str, Any]:
    """Memory-bandwidth benchmark: STREAM kernels over n fp32 elements per array (kernel: auto, ldst, tma), or a
    transfer (p2p: by the copy engine or an SM kernel, one way or both at once)."""

def launch(device: int, kind: str, rule: dict[str, float]) -> dict[str, Any]:
    """Launch latency (empty, graph, sync): host-side time per launch."""

def cudnn_version() -> int:
    """cuDNN's version (cudnnGetVersion), 0 when built without cuDNN."""
