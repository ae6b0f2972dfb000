"""What the micro benchmarks share: device/backend resolution, the native call, peaks and the Result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .. import _check, _vendor, timing
from ..device import Device, resolve
from ..errors import UnsupportedError
from ..results.result import Result
from ..run_options import Run
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


@dataclass(frozen=True)
class Ran:
    """What a native runner returned (``raw``), the telemetry sampled meanwhile, and where and how it ran."""

    raw: dict
    telemetry: dict
    dev: Device
    how: Run

    def result(self, op: str, params: dict, *, dtype: str, **metrics: Any) -> Result:
        """The Result: ``params`` gain mode, seed, the batching and what the runner chose; ``metrics`` go to
        ``Result.from_measurement`` (flops, bytes, peaks, ...)."""
        raw, stats = self.raw, self.raw["stats"]
        params = dict(
            params,
            mode=self.how.mode,
            seed=self.how.seed,
            repeat=stats["repeat"],
            timer=stats["timer"],
            **raw.get("extra", {}),
        )
        return Result.from_measurement(
            op,
            params,
            backend=raw["backend"],
            dtype=dtype,
            device=str(self.dev),
            measurement=raw,
            verify=raw["verify"],
            env=environment(self.dev),
            telemetry=self.telemetry,
            **metrics,
        )


def run(
    dev: Device, how: Run, *, cuda_call: Callable[[Any], dict], cpu_call: Callable[[Any], dict] | None, what: str
) -> Ran:
    """Call the native runner of the device (GIL released inside)."""
    from .. import _native

    if dev.is_cuda:
        with sampling(dev, enabled=how.telemetry) as tel:
            raw = cuda_call(_native.cuda())
        if "sample_t0_s" in raw:  # discard_throttled was asked for
            raw = timing.discard_throttled(raw, tel.timeline, tel.interval_s)
        return Ran(raw, tel.data, dev, how)
    if cpu_call is None:
        raise UnsupportedError(f"{what} needs a CUDA device")
    return Ran(cpu_call(_native.core), {}, dev, how)
