"""``torch.compile`` (Inductor) of the eager backend's converted module."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .base import Case
from .torch_eager import TorchEager


class TorchCompile(TorchEager):
    name = "torch-compile"
    compile_mode: str | None = None  # torch's default mode; Inductor's own CUDA graphs stay off

    def wrap(self, module: nn.Module, case: Case) -> nn.Module:
        return torch.compile(module, mode=self.compile_mode, dynamic=False)

    def warm_up(self, run: Callable[[], None]) -> None:
        run()  # compiles; the second call checks no recompilation is pending
        run()
