"""Device names: ``"auto"`` (first CUDA device, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``."""

from __future__ import annotations

from dataclasses import dataclass

from . import _check, _native

KINDS = ("cpu", "cuda")


@dataclass(frozen=True)
class Device:
    """A device by kind and index; only kinds aimatrix runs on (a ``Device("tpu", 0)`` is refused)."""

    kind: str  # "cpu" or "cuda"
    index: int = 0

    def __post_init__(self) -> None:
        _check.choice("Device kind", self.kind, KINDS)
        _check.non_negative_int("Device index", self.index, maximum=0 if self.kind == "cpu" else _check.INT32_MAX)

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"cuda:{self.index}"

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"


def resolve(device: str | Device = "auto") -> Device:
    """Turn a device name into a Device, checking that it exists."""
    if isinstance(device, Device):
        return _exists(device) if device.is_cuda else device
    if not isinstance(device, str):
        raise TypeError(
            f"device must be a string such as 'auto', 'cpu', 'cuda' or 'cuda:0', not {type(device).__name__}"
        )
    name = device.strip().lower()
    if name == "auto":
        return Device("cuda", 0) if _native.cuda_available() else Device("cpu")
    if name == "cpu":
        return Device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        idx_text = name[5:] if name.startswith("cuda:") else "0"
        if not idx_text.isdigit():
            raise ValueError(
                f"device={device!r} is not allowed: expected 'auto', 'cpu', 'cuda' or 'cuda:N' with N a GPU index"
            )
        return _exists(
            Device("cuda", _check.non_negative_int("device index", int(idx_text), maximum=_check.INT32_MAX)), device
        )
    raise ValueError(f"device={device!r} is not allowed: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")


def _exists(dev: Device, name: str | Device | None = None) -> Device:
    """The CUDA device if this machine has it; UnsupportedError saying why CUDA is missing, else ValueError."""
    count = _native.cuda().device_count()
    if dev.index >= count:
        raise ValueError(f"device={name or dev!r} is not allowed: {count} CUDA device(s) found, indices 0..{count - 1}")
    return dev


def devices() -> list[Device]:
    """Every device aimatrix can run on: the CPU, then each CUDA GPU."""
    out = [Device("cpu")]
    if _native.cuda_available():
        out += [Device("cuda", i) for i in range(_native.cuda().device_count())]
    return out
