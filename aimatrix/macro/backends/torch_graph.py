"""CUDA graph capture of the eager backend's converted module; the timed call is ``graph.replay()``.

Models whose forward synchronises with the host (detection: box filtering and NMS have
data-dependent sizes) cannot be captured whole. Their dense parts (``ModelSpec.parts``:
backbone, heads) are captured each as a graph of its own and replayed from inside the
eager forward, which runs the rest (anchors, box decoding, NMS, mask pasting) as
``torch`` does; ``params.graph`` says which was done.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten, tree_unflatten

from ...errors import UnsupportedError
from .base import ModelCase, Prepared, flat, parts, replace_parts, step_calls
from .torch_eager import TorchEager

#: Eager calls before capture: cuDNN/cuBLAS pick algorithms and allocate workspaces outside the graph.
WARMUP_CALLS = 2
#: The same for a model captured in parts: a pass over a detection model's 28 images takes seconds,
#: and the one pass that picks the algorithms for every image shape is warm-up enough.
PARTS_WARMUP_CALLS = 1


def _signature(leaves: list) -> tuple:
    """What a captured graph depends on: each tensor's shape, dtype and strides; other values as they are."""
    return tuple((tuple(t.shape), t.dtype, t.stride()) if isinstance(t, torch.Tensor) else t for t in leaves)


class GraphedPart(nn.Module):
    """A dense submodule replayed as CUDA graphs, one per input signature.

    Calls run eager until ``capturing`` is set; while it is, a call with a new signature
    captures a graph (inputs copied into static buffers). Afterwards a call copies its
    inputs into the buffers of its signature's graph, replays it and returns the graph's
    static outputs, valid until that graph's next replay (the eager code after the part
    consumes them within the same forward).
    """

    def __init__(self, module: nn.Module, pool: Any) -> None:
        super().__init__()
        self.module, self.pool = module, pool
        self.training = module.training
        self.capturing = False
        self.graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, list, Any]] = {}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not self.graphs and not self.capturing:
            return self.module(*args, **kwargs)
        leaves, spec = tree_flatten((args, kwargs))
        key = (str(spec), _signature(leaves))
        if key not in self.graphs:
            if not self.capturing:
                raise UnsupportedError(
                    "backend='torch-graph': a captured part was called with inputs of a shape it "
                    "was not captured for (its shapes depend on the data)"
                )
            static = [t.clone() if isinstance(t, torch.Tensor) else t for t in leaves]
            a, kw = tree_unflatten(static, spec)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):
                out = self.module(*a, **kw)
            self.graphs[key] = (graph, static, out)
        graph, static, out = self.graphs[key]
        for s, t in zip(static, leaves):
            if isinstance(t, torch.Tensor) and s is not t:
                s.copy_(t)
        graph.replay()
        return out


class TorchGraph(TorchEager):
    name = "torch-graph"
    needs_cuda = True

    def check(self, case: ModelCase) -> None:
        if not case.device.is_cuda:
            raise UnsupportedError(
                f"backend='torch-graph' captures a CUDA graph and needs a CUDA device, not {case.device}"
            )
        super().check(case)
        if not case.spec.graph_capturable and not parts(case):
            raise UnsupportedError(
                f"backend='torch-graph' cannot capture {case.spec.name!r}: its forward synchronises with the host, "
                "which CUDA graphs forbid; use backend='torch' or 'torch-compile'"
            )

    def prepare(self, case: ModelCase) -> Prepared:
        if not case.spec.graph_capturable:
            return self._prepare_parts(case)
        module, steps, ctx = self.convert(case)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), ctx():  # warm-up off the capture
            for _ in range(WARMUP_CALLS):
                for s in steps:
                    module(*s)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with ctx():
            try:
                with torch.cuda.graph(graph):
                    outs = [module(*s) for s in steps]
            except RuntimeError as e:
                raise UnsupportedError(f"CUDA graph capture of {case.spec.name!r} failed: {e}") from e

        def collect():
            graph.replay()
            torch.cuda.synchronize()
            return [[t.clone() for t in flat(o)] for o in outs]

        # The graph replays on the stream current at replay time: torch's default (legacy) stream.
        return Prepared(graph.replay, collect, info={"torch": torch.__version__, "graph": "whole model"})

    def _prepare_parts(self, case: ModelCase) -> Prepared:
        """The dense parts captured, each replayed from the eager forward (see the module's docstring)."""
        module, steps, ctx = self.convert(case)
        pool = torch.cuda.graph_pool_handle()  # one memory pool for all the parts' graphs
        graphed: list[GraphedPart] = []

        def graph_part(m: nn.Module) -> nn.Module:
            graphed.append(GraphedPart(m, pool))
            return graphed[-1]

        replace_parts(module, parts(case), graph_part)

        run, outputs = step_calls(module, steps, ctx, clone=True)

        for _ in range(PARTS_WARMUP_CALLS):
            run()
        for g in graphed:
            g.capturing = True
        try:
            # Each part's graph replays right after its capture, so this pass's outputs are the
            # captured path's: the first collect() (the verification) returns them, a pass fewer.
            first = [outputs()]
        except RuntimeError as e:
            raise UnsupportedError(f"CUDA graph capture of {case.spec.name!r}'s dense parts failed: {e}") from e
        finally:
            for g in graphed:
                g.capturing = False

        def collect() -> list[list[torch.Tensor]]:
            return first.pop() if first else outputs()

        info = {
            "torch": torch.__version__,
            "graph": "parts: " + ", ".join(parts(case)),
            "graphs": sum(len(g.graphs) for g in graphed),
        }
        return Prepared(run, collect, info=info)
