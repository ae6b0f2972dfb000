"""Device names: ``"auto"`` (first CUDA device, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``."""

from __future__ import annotations

from dataclasses import dataclass

from . import _native


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "cuda"
    index: int = 0

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"cuda:{self.index}"

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"


def resolve(device: str | Device = "auto") -> Device:
    """Turn a device name into a Device, checking that it exists."""
    if isinstance(device, Device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu', 'cuda' or 'cuda:0', not {type(device).__name__}")
    name = device.strip().lower()
    if name == "auto":
        return Device("cuda", 0) if _native.cuda_available() else Device("cpu")
    if name == "cpu":
        return Device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        idx_text = name[5:] if name.startswith("cuda:") else "0"
        if not idx_text.isdigit():
            raise ValueError(f"device={device!r} is not allowed: expected 'auto', 'cpu', 'cuda' or 'cuda:N' with N a GPU index")
        idx = int(idx_text)
        count = _native.cuda().device_count()  # raises UnsupportedError saying why CUDA is missing
        if idx >= count:
            raise ValueError(f"device={device!r} is not allowed: {count} CUDA device(s) found, indices 0..{count - 1}")
        return Device("cuda", idx)
    raise ValueError(f"device={device!r} is not allowed: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")


def devices() -> list[Device]:
    """Every device aimatrix can run on: the CPU, then each CUDA GPU."""
    out = [Device("cpu")]
    if _native.cuda_available():
        out += [Device("cuda", i) for i in range(_native.cuda().device_count())]
    return out
