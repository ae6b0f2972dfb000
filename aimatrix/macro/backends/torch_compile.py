"""``torch.compile`` (Inductor) of the eager backend's converted module.

- Mode: torch's default (``compile_mode="default"``), i.e. what ``torch.compile(model)``
  gives a user: Inductor's fused kernels, no autotuning, no CUDA graphs (CUDA-graph
  replay is the ``torch-graph`` backend's figure). ``aimatrix.model(...,
  compile_mode=...)`` takes torch's other modes: ``"max-autotune-no-cudagraphs"``
  (benchmarks GEMM/conv templates: the fastest kernels, minutes of compiling per
  model on a GPU), ``"max-autotune"``, ``"reduce-overhead"`` (both add CUDA graphs).
- Shapes are static (``dynamic=False``): each case compiles for its own batch.
- Compile time is not timed: the first calls compile (before verification and the
  timer) and ``metrics.compile_s`` reports how long that took (Inductor's on-disk
  caches make a repeated compile shorter). ``metrics.graph_breaks`` counts where
  Dynamo fell back to Python (those pieces run eager), ``params.graph_break_reasons``
  says why: Dynamo does not trace ``nn.LSTM``/``nn.GRU`` by default (``allow_rnn``
  is off), so NMT's and DeepSpeech's recurrent layers run eager (cuDNN) between
  compiled pieces.
- Dynamo's caches are reset before each case, so a sweep never reaches the
  recompile limit (past which Dynamo silently runs a function eager).
- Models with dense parts (``ModelSpec.parts``: detection) compile those parts only;
  anchors, box decoding, NMS and mask pasting run eager. Compiling the whole forward
  breaks the graph at every data-dependent size and recompiles per box size until
  the recompile limit (Mask R-CNN tiny: 114 s of compiling on 2 CPU cores), so the
  result would mostly time eager code. ``params.compiled`` says which was done.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
from torch import nn

from ...errors import UnsupportedError
from .base import ModelCase, Prepared, parts, replace_parts
from .torch_eager import TorchEager

#: torch.compile's modes ("default" is torch's own default).
MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _graph_breaks() -> dict[str, int]:
    from torch._dynamo.utils import counters

    return dict(counters["graph_break"])


class TorchCompile(TorchEager):
    name = "torch-compile"

    def check(self, case: ModelCase) -> None:
        super().check(case)
        mode = case.options.get("compile_mode", "default")
        if mode not in MODES:
            raise ValueError(f"compile_mode={mode!r} is not allowed: expected one of {', '.join(MODES)}")
        if mode in ("reduce-overhead", "max-autotune") and not case.device.is_cuda:
            raise UnsupportedError(f"compile_mode={mode!r} adds CUDA graphs and needs a CUDA device, not {case.device}")

    def wrap(self, module: nn.Module, case: ModelCase) -> nn.Module:
        mode = case.options.get("compile_mode", "default")
        torch._dynamo.reset()
        compile_ = lambda m: torch.compile(m, mode=mode, dynamic=False)  # noqa: E731
        dense = parts(case)
        if not dense:
            return compile_(module)
        replace_parts(module, dense, compile_)
        return module

    def prepare(self, case: ModelCase) -> Prepared:
        breaks = _graph_breaks()
        t0 = time.perf_counter()
        prep = super().prepare(case)  # the warm-up calls compile
        prep.metrics["compile_s"] = time.perf_counter() - t0
        new = {k: v - breaks.get(k, 0) for k, v in _graph_breaks().items() if v > breaks.get(k, 0)}
        prep.metrics["graph_breaks"] = sum(new.values())
        if new:  # e.g. "Attempted to wrap RNN, GRU, or LSTM (2)": those modules run eager
            prep.info["graph_break_reasons"] = "; ".join(f"{k.strip().splitlines()[0]} ({v})" for k, v in new.items())
        dense = parts(case)
        prep.info["compiled"] = ("parts: " + ", ".join(dense)) if dense else "whole model"
        prep.info["compile_mode"] = case.options.get("compile_mode", "default")
        return prep

    def warm_up(self, run: Callable[[], None]) -> None:
        run()  # compiles; the second call checks no recompilation is pending
        run()
