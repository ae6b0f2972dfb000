"""PyTorch eager: the module converted to the dtype (or run under autocast) and channels-last.

The other torch backends (compile, CUDA graph) reuse this conversion and differ
only in how the converted module is called.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
from torch import nn

from .base import TORCH_DTYPE, Backend, ModelCase, Prepared, cast_floats, step_calls


class TorchEager(Backend):
    name = "torch"
    module_name = "torch"
    package = "torch"

    def convert(
        self, case: ModelCase
    ) -> tuple[nn.Module, list[tuple], Callable[[], contextlib.AbstractContextManager]]:
        """The module and inputs in the case's dtype and memory format, and the context to call them in."""
        dt = TORCH_DTYPE[case.dtype]
        module = case.module
        autocast = case.spec.precision == "autocast" and dt != torch.float32
        if not autocast:
            module = module.to(dt)
        if case.channels_last:
            module = module.to(memory_format=torch.channels_last)
        steps = [
            tuple(cast_floats(t, torch.float32 if autocast else dt, case.channels_last) for t in s) for s in case.steps
        ]
        kind = case.torch_device.type

        def ctx() -> contextlib.AbstractContextManager:
            stack = contextlib.ExitStack()
            stack.enter_context(torch.inference_mode())
            if autocast:  # cache off: required for CUDA-graph capture, harmless otherwise
                stack.enter_context(torch.autocast(kind, dtype=dt, cache_enabled=False))
            return stack

        return module, steps, ctx

    def wrap(self, module: nn.Module, case: ModelCase) -> nn.Module:
        """Hook for subclasses (torch.compile); eager calls the module as is."""
        return module

    def prepare(self, case: ModelCase) -> Prepared:
        module, steps, ctx = self.convert(case)
        fn = self.wrap(module, case)

        run, collect = step_calls(fn, steps, ctx)
        self.warm_up(run)
        return Prepared(run, collect, info={"torch": torch.__version__})

    def warm_up(self, run: Callable[[], None]) -> None:
        """Nothing for eager (the timer warms up); compile and graph capture need calls first."""
