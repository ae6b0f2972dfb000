"""What every backend shares: the case it is given, what it hands back, and the helpers.

A backend turns a :class:`ModelCase` (an fp32 eval-mode module already on the device,
its input steps, a dtype) into a :class:`Prepared`: ``run()`` launches one whole
benchmark run (every step) for the timer, ``collect()`` runs once and returns each
step's outputs as a flat list of torch tensors for verification. Backends that
need something not installed raise UnsupportedError naming the pip package.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch
from torch import nn

from ...device import Device
from ...errors import UnsupportedError
from ...results.result import Result
from ...system.peaks import device_peak_tflops

DTYPES = ("fp32", "tf32", "fp16", "bf16")
TORCH_DTYPE = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class ModelCase:
    """One model at one batch, dtype and device, ready for a backend to prepare."""

    spec: Any  # zoo.ModelSpec
    module: nn.Module  # fp32, eval mode, on the device; a backend may convert it in place
    steps: list[tuple]  # fp32 inputs on the device, one tuple per step
    dtype: str
    device: Device
    size: str
    batch: int
    channels_last: bool
    cache_key: str  # identifies the weights and shapes (model, size, batch, seed, kw, ...)
    cache_dir: Path
    options: dict = field(default_factory=dict)  # backend options (e.g. torch-compile's compile_mode)

    @property
    def torch_device(self) -> torch.device:
        return torch.device(str(self.device))


@dataclass(frozen=True)
class ModuleSpec:
    """What the torch backends read of a zoo ModelSpec, for a bare module (a layer, a synthetic CNN)."""

    name: str
    parts: tuple[str, ...] = ()  # dense submodules torch-compile compiles instead of the whole forward
    precision: str = "cast"
    graph_capturable: bool = True


def bare_case(
    name: str,
    module: nn.Module,
    inputs: tuple,
    *,
    dtype: str,
    device: Device,
    batch: int,
    channels_last: bool = False,
    size: str = "",
    parts: tuple[str, ...] = (),
) -> ModelCase:
    """A ModelCase for a module that is not in the zoo: one step, no cache (nothing is exported)."""
    return ModelCase(
        ModuleSpec(name, parts), module, [inputs], dtype, device, size or name, batch, channels_last, "", Path(".")
    )


@dataclass
class Prepared:
    """A backend's runnable form of a ModelCase."""

    run: Callable[[], Any]  # one benchmark run (all steps), launched on ``stream``
    collect: Callable[[], list[list[torch.Tensor]]]  # per step, the flat outputs
    stream: int | None = None  # cudaStream_t the work is launched on (None: legacy default)
    info: dict = field(default_factory=dict)  # e.g. the execution provider actually used
    metrics: dict = field(default_factory=dict)  # extra figures for Result.metrics (e.g. compile_s, export_s)


class Backend:
    """Base class: a name, the Python module it needs, and ``prepare``."""

    name: str = ""
    module_name: str | None = None  # what must be importable
    package: str | None = None  # the pip package that provides it
    needs_cuda: bool = False

    def import_module(self) -> ModuleType | None:
        """The backend's framework module; UnsupportedError naming the pip package if missing."""
        if self.module_name is None:
            return None
        try:
            return importlib.import_module(self.module_name)
        except ImportError as e:
            raise UnsupportedError(
                f"backend={self.name!r} needs the {self.module_name!r} module, which is not "
                f"installed: pip install {self.package} ({e})"
            ) from e

    def installed(self) -> bool:
        try:
            self.import_module()
            return True
        except UnsupportedError:
            return False

    def check(self, case: ModelCase) -> None:
        """Raise UnsupportedError when this backend cannot run ``case``."""
        self.import_module()
        if self.needs_cuda and not case.device.is_cuda:
            raise UnsupportedError(f"backend={self.name!r} needs a CUDA device, not {case.device}")
        if case.dtype == "tf32" and not case.device.is_cuda:
            raise UnsupportedError("dtype='tf32' is a CUDA tensor-core mode; on the CPU use dtype='fp32'")

    def prepare(self, case: ModelCase) -> Prepared:  # pragma: no cover - abstract
        raise NotImplementedError


def torch_environment(device: Device) -> dict:
    """The environment record of a case run through PyTorch: the system's, plus torch's version."""
    from ...system.env import environment

    return {**environment(device), "torch": torch.__version__}


def torch_result(
    op: str, params: dict, device: Device, measurement: Any, *, backend: str, dtype: str, **metrics: Any
) -> Result:
    """The Result of a case timed through PyTorch on ``device``: with its environment record (torch's version
    included) and the device's peak TFLOP/s at ``dtype`` for "% of peak"."""
    return Result.from_measurement(
        op,
        params,
        backend=backend,
        dtype=dtype,
        device=str(device),
        measurement=measurement,
        peak_tflops=device_peak_tflops(device, dtype),
        env=torch_environment(device),
        **metrics,
    )


def parts(case: ModelCase) -> tuple[str, ...]:
    """The spec's dense submodules (``ModelSpec.parts``); empty when the whole forward is dense."""
    return tuple(getattr(case.spec, "parts", ()) or ())


def replace_parts(module: nn.Module, paths: tuple[str, ...], fn: Callable[[nn.Module], nn.Module]) -> None:
    """Replace each submodule at a dotted path of ``module`` by ``fn(submodule)``, in place."""
    for path in paths:
        parent_path, _, attr = path.rpartition(".")
        parent = module.get_submodule(parent_path) if parent_path else module
        setattr(parent, attr, fn(getattr(parent, attr)))


def flat(out: Any) -> list[torch.Tensor]:
    """A model output (tensor, tuple, list, dict) as a flat list of tensors, in ONNX's order."""
    return [t for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]


def step_calls(
    fn: Callable, steps: list, ctx: Callable, *, clone: bool = False
) -> tuple[Callable[[], None], Callable[[], list[list[torch.Tensor]]]]:
    """(run, collect) of a model over a sample's steps, each under ``ctx()``: ``run`` calls every step,
    ``collect`` returns each step's outputs flattened (``clone``: copied, where the next call overwrites them)."""

    def run() -> None:
        with ctx():
            for s in steps:
                fn(*s)

    def collect() -> list[list[torch.Tensor]]:
        with ctx():
            return [[t.clone() if clone else t for t in flat(fn(*s))] for s in steps]

    return run, collect


def cast_floats(t: torch.Tensor, dtype: torch.dtype, channels_last: bool = False) -> torch.Tensor:
    """Floating tensors to ``dtype`` (integers, e.g. token ids, stay); 4-D ones channels-last if asked."""
    if t.is_floating_point():
        t = t.to(dtype)
    if channels_last and t.dim() == 4:
        t = t.contiguous(memory_format=torch.channels_last)
    return t


def _tree_cast(tree: Any, dtype: torch.dtype) -> Any:
    return torch.utils._pytree.tree_map(
        lambda t: t.to(dtype) if isinstance(t, torch.Tensor) and t.is_floating_point() else t, tree
    )


class InPrecision(nn.Module):
    """``module`` converted to ``dtype``; floating inputs are cast in and floating outputs back to fp32.

    Keeps the output's structure (dicts, lists), so it can stand in for a submodule
    (see :func:`replace_parts`): the rest of the model then runs in fp32.
    """

    def __init__(self, module: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.module, self.dtype = module.to(dtype), dtype
        self.training = module.training  # a new Module starts in train mode; an exporter would restore that

    def forward(self, *args):
        return _tree_cast(self.module(*_tree_cast(args, self.dtype)), torch.float32)


class CastIO(nn.Module):
    """Casts floating inputs to ``dtype`` and floating outputs back to fp32, inside the graph.

    Used for exported (ONNX, TensorRT) low-precision models so their I/O is always
    fp32/int and callers never need a bf16 host type.
    """

    def __init__(self, module: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.module, self.dtype = module, dtype
        self.training = module.training  # a new Module starts in train mode; an exporter would restore that

    def forward(self, *args):
        out = self.module(*(cast_floats(a, self.dtype) for a in args))
        leaves = flat(out)
        return tuple(t.float() if t.is_floating_point() else t for t in leaves)
