"""What the micro benchmarks share: device/backend resolution, the native call, peaks and the Result."""

from __future__ import annotations

from typing import Any, Callable

from .. import _check, _vendor, timing
from ..device import Device, resolve
from ..errors import UnsupportedError
from ..results.result import Result
from ..system.env import environment
from ..system.telemetry import sampling


def resolve_backend(
    op: str,
    backend: str,
    device: str | Device,
    cuda_backends: tuple[str, ...],
    default_cuda: str,
    cpu_backends: tuple[str, ...] = ("cpu",),
) -> tuple[Device, str]:
    """The device and the concrete backend; UnsupportedError for a CPU/GPU mismatch.

    ``auto`` on the CPU: the first of ``cpu_backends``' vendor libraries installed (see aimatrix/_vendor.py), else
    "cpu" (our own kernels).
    """
    _check.choice("backend", backend, ("auto",) + cpu_backends + cuda_backends)
    dev = resolve(device)
    if backend == "auto":
        backend = default_cuda if dev.is_cuda else next((b for b in cpu_backends[1:] if _vendor.available(b)), "cpu")
    if dev.is_cuda and backend in cpu_backends:
        raise UnsupportedError(f"backend={backend!r} runs on device='cpu', not {dev}")
    if not dev.is_cuda and backend not in cpu_backends:
        raise UnsupportedError(
            f"{op} backend={backend!r} needs a CUDA device; on the CPU use one of {', '.join(cpu_backends)}"
        )
    return dev, backend


def run(
    dev: Device, *, telemetry: bool, cuda_call: Callable[[Any], dict], cpu_call: Callable[[Any], dict] | None, what: str
) -> tuple[dict, dict]:
    """Call the native runner of the device (GIL released inside); (raw dict, telemetry)."""
    from .. import _native

    telemetry = _check.boolean("telemetry", telemetry)  # on every device: a bad value is refused on a CPU too
    if dev.is_cuda:
        with sampling(dev, enabled=telemetry) as tel:
            raw = cuda_call(_native.cuda())
        if "sample_t0_s" in raw:  # discard_throttled was asked for
            raw = timing.discard_throttled(raw, tel.timeline, tel.interval_s)
        return raw, tel.data
    if cpu_call is None:
        raise UnsupportedError(f"{what} needs a CUDA device")
    return cpu_call(_native.core), {}


def result(
    op: str, params: dict, raw: dict, *, dev: Device, dtype: str, tel: dict, mode: str, seed: int, **metrics: Any
) -> Result:
    """A Result from a native runner's dict: params gain mode, seed, the batching and what the runner chose."""
    params = dict(
        params, mode=mode, seed=seed, repeat=raw["stats"]["repeat"], timer=raw["stats"]["timer"], **raw.get("extra", {})
    )
    return Result.from_measurement(
        op,
        params,
        backend=raw["backend"],
        dtype=dtype,
        device=str(dev),
        measurement=raw,
        verify=raw["verify"],
        env=environment(dev),
        telemetry=tel,
        **metrics,
    )


def timing_rule(timing_options: dict) -> dict:
    return timing.rule(**timing_options)
