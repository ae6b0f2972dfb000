"""CUDA graph capture of the eager backend's converted module; the timed call is ``graph.replay()``."""

from __future__ import annotations

import torch

from ...errors import UnsupportedError
from .base import Case, Prepared, flat
from .torch_eager import TorchEager


class TorchGraph(TorchEager):
    name = "torch-graph"
    needs_cuda = True

    def check(self, case: Case) -> None:
        if not case.device.is_cuda:
            raise UnsupportedError(f"backend='torch-graph' captures a CUDA graph and needs a CUDA device, not {case.device}")
        super().check(case)
        if not case.spec.graph_capturable:
            raise UnsupportedError(
                f"backend='torch-graph' cannot capture {case.spec.name!r}: its forward synchronises with the host "
                "(data-dependent shapes in box filtering and NMS), which CUDA graphs forbid; "
                "use backend='torch' or 'torch-compile'")

    def prepare(self, case: Case) -> Prepared:
        module, steps, ctx = self.convert(case)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), ctx():  # warm-up off the capture: cuDNN/cuBLAS pick algorithms, allocate workspaces
            for _ in range(3):
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
        return Prepared(graph.replay, collect, info={"torch": torch.__version__, "graph": True})
