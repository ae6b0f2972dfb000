"""NVML, the one place it is opened: whether it can be used here, a device's handle, its static facts.

Both the environment record (``system/env.py``) and the telemetry sampler (``system/telemetry.py``) use it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_nvml_state: dict[str, Any] = {}


class TelemetryUnavailable(Exception):
    """NVML cannot be used here; the message says why."""


def nvml_module():
    """The initialised pynvml module, or TelemetryUnavailable saying why not."""
    with _lock:
        if "module" in _nvml_state:
            return _nvml_state["module"]
        if "reason" in _nvml_state:
            raise TelemetryUnavailable(_nvml_state["reason"])
        try:
            import pynvml  # type: ignore
        except ImportError:
            _nvml_state["reason"] = "nvidia-ml-py is not installed (pip install nvidia-ml-py, or aimatrix[nvml])"
            raise TelemetryUnavailable(_nvml_state["reason"]) from None
        try:
            pynvml.nvmlInit()
        except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            _nvml_state["reason"] = f"NVML could not start: {e}"
            raise TelemetryUnavailable(_nvml_state["reason"]) from None
        _nvml_state["module"] = pynvml
        return pynvml


def nvml_unavailable_reason() -> str | None:
    """Why NVML telemetry cannot be taken on this machine, or None when it can."""
    switch = os.environ.get("AIMATRIX_TELEMETRY", "")
    if switch not in ("", "0", "1"):
        raise ValueError(f"AIMATRIX_TELEMETRY={switch!r} is not allowed: 0 (off) or 1 (on, the default)")
    if switch == "0":
        return "turned off (AIMATRIX_TELEMETRY=0)"
    try:
        nvml_module()
    except TelemetryUnavailable as e:
        return str(e)
    return None


def device_handle(info: dict):
    """The NVML handle of a CUDA device, found by UUID, else by PCI bus id (CUDA and NVML indices may differ)."""
    nv = nvml_module()
    errors = []
    if info.get("uuid"):
        try:
            return nv.nvmlDeviceGetHandleByUUID(info["uuid"])
        except Exception as e:
            errors.append(f"UUID {info['uuid']}: {e}")
    if info.get("pci_bus_id"):
        try:
            return nv.nvmlDeviceGetHandleByPciBusId(info["pci_bus_id"])
        except Exception as e:
            errors.append(f"PCI {info['pci_bus_id']}: {e}")
    raise TelemetryUnavailable("NVML does not know this GPU (" + "; ".join(errors or ["no UUID or PCI id"]) + ")")


def read(fn, *args, scale: float = 1.0):
    """``fn(*args)`` (an NVML query) times ``scale``, or None where the device does not support it."""
    try:
        v = fn(*args)
    except Exception:  # NotSupported, NoPermission, ... : the figure is simply absent
        return None
    return v * scale if scale != 1.0 else v


def nvml_device_facts(info: dict) -> dict:
    """Static NVML facts of a device for the environment record (driver, limits); {} without NVML."""
    try:
        nv = nvml_module()
        h = device_handle(info)
    except TelemetryUnavailable:
        return {}
    facts = {
        "nvml_driver_version": read(nv.nvmlSystemGetDriverVersion),
        "power_limit_w": read(nv.nvmlDeviceGetEnforcedPowerLimit, h, scale=1e-3),
        "max_sm_clock_mhz": read(nv.nvmlDeviceGetMaxClockInfo, h, nv.NVML_CLOCK_SM),
        "max_mem_clock_mhz": read(nv.nvmlDeviceGetMaxClockInfo, h, nv.NVML_CLOCK_MEM),
        "persistence_mode": read(nv.nvmlDeviceGetPersistenceMode, h),
        "vbios_version": read(nv.nvmlDeviceGetVbiosVersion, h),
    }
    for k, v in list(facts.items()):
        if isinstance(v, bytes):
            facts[k] = v.decode(errors="replace")
    return facts
