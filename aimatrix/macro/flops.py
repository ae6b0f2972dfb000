"""Multiply-accumulate counts of a forward pass, from PyTorch's own FLOP counter plus rules for what it misses.

``torch.utils.flop_counter.FlopCounterMode`` sees every matrix product and
convolution the pass dispatches, whether a module or a functional call makes it
(DeepSpeech's MFCC ``conv1d``, NMT's attention ``bmm``), and counts a transposed
convolution by its input, as it should. It does not know the fused RNN kernels
(``aten.mkldnn_rnn_layer`` on the CPU, ``aten._cudnn_rnn`` on a GPU: an
``nn.LSTM``/``nn.GRU`` there counts 0), ``embedding_bag`` or the fused attention
kernels of the CPU and of ``nn.MultiheadAttention``'s inference path; ``RULES``
adds them. Counts are MACs (FLOPs / 2), the convention of torchvision's published
"GFLOPS" figures. Run it on the ``meta`` device to count a full-size model without
computing anything.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
from torch import nn
from torch.utils import flop_counter as fc
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten


def _rnn_flops(input_shape: Any, weights: list) -> int:
    # Every step of every row multiplies its input and state by each 2-D weight (w_ih, w_hh, w_hr) once.
    rows = math.prod(input_shape[:-1])
    return 2 * rows * sum(math.prod(w) for w in weights if w is not None and len(w) == 2)


def _mkldnn_rnn_layer(input: Any, w_ih: Any, w_hh: Any, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    return _rnn_flops(input, [w_ih, w_hh])


def _cudnn_rnn(input: Any, weight: list, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    return _rnn_flops(input, list(weight))


def _embedding_bag(weight: Any, indices: Any, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    # Each looked-up row is accumulated into its bag: one multiply-add per element (a weighted sum's
    # multiply, or the mean's scaling, is folded into it).
    return 2 * math.prod(indices) * weight[-1]


def _cpu_flash_attention(q: Any, k: Any, v: Any, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    return fc.sdpa_flop_count(q, k, v)


def _native_mha(q: Any, k: Any, v: Any, embed_dim: int, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    # nn.MultiheadAttention's fused inference path: q, k, v and output projections, q @ k^T and scores @ v.
    *lead, lq, e = q
    lk = k[-2]
    rows = math.prod(lead)
    return 2 * rows * (e * embed_dim * (2 * lq + 2 * lk) + 2 * lq * lk * embed_dim)


#: FLOP formulas (taking shapes, like FlopCounterMode's own) for the ops FlopCounterMode does not know.
RULES = {
    aten.mkldnn_rnn_layer: _mkldnn_rnn_layer,
    aten._cudnn_rnn: _cudnn_rnn,
    aten._embedding_bag: _embedding_bag,
    aten._embedding_bag_forward_only: _embedding_bag,
    aten._scaled_dot_product_flash_attention_for_cpu: _cpu_flash_attention,
    aten._native_multi_head_attention: _native_mha,
}

#: Modules that get a per-layer record.
LAYER_TYPES = (nn.modules.conv._ConvNd, nn.Linear, nn.LSTM, nn.GRU, nn.RNN, nn.EmbeddingBag)


#: Queries of a tensor's layout that FlopCounterMode passes over (they are not computations).
_SKIP = {
    torch.ops.aten.sym_is_contiguous.default,
    torch.ops.aten.is_contiguous.default,
    torch.ops.aten.is_contiguous.memory_format,
    torch.ops.aten.is_strides_like_format.default,
    torch.ops.aten.is_non_overlapping_and_dense.default,
    torch.ops.aten.size.default,
    torch.ops.aten.sym_size.default,
    torch.ops.aten.stride.default,
    torch.ops.aten.sym_stride.default,
    torch.ops.aten.storage_offset.default,
    torch.ops.aten.sym_storage_offset.default,
    torch.ops.aten.numel.default,
    torch.ops.aten.sym_numel.default,
    torch.ops.aten.dim.default,
    torch.ops.prim.layout.default,
}


class Counter(TorchDispatchMode):
    """FlopCounterMode's count (its formulas, its decompositions, plus ``RULES``) as one running total.

    FlopCounterMode's dispatch without its per-module accounting: cheaper, and it keeps its total
    when entered again, so it can be switched on around parts of a forward (``run_counting``'s ``within``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.formulas = {**fc.flop_registry, **{op: fc.shape_wrapper(f) for op, f in RULES.items()}}

    def get_total_flops(self) -> int:
        return self.total

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - the dispatch protocol
        kwargs = kwargs or {}
        if func in _SKIP:
            return NotImplemented
        formula = self.formulas.get(func._overloadpacket)
        if formula is None and func is not torch.ops.prim.device.default:
            with self:  # a composite op (conv2d, linear, ...) counts as what it decomposes into
                out = func.decompose(*args, **kwargs)
                if out is not NotImplemented:
                    return out
        out = func(*args, **kwargs)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def run_counting(module: nn.Module, *inputs: Any, within: tuple[str, ...] = ()) -> tuple[int, list[dict], Any]:
    """Call ``module(*inputs)`` under the counter; (total MACs, one record per layer call, the output).

    A record (conv, linear, RNN and embedding-bag modules) holds name, type, the MACs
    counted while it ran, and its first input's and output's shapes. ``within``: count only
    inside these submodules (dotted paths; the zoo's ``parts``, where a model's products are),
    so the host-side rest of a detection model (box decoding, NMS, mask pasting: tens of
    thousands of small ops) runs at full speed.
    """
    names = {m: n for n, m in module.named_modules()}
    records: list[dict] = []
    starts: dict[int, list[int]] = {}
    mode = Counter()

    def pre(m: nn.Module, args: tuple) -> None:
        starts.setdefault(id(m), []).append(mode.get_total_flops())

    def post(m: nn.Module, args: tuple, out: Any) -> None:
        first = out[0] if isinstance(out, tuple) else out
        flops = mode.get_total_flops() - starts[id(m)].pop()
        records.append(
            {
                "name": names.get(m, ""),
                "type": type(m).__name__,
                "macs": flops // 2,
                "input": tuple(args[0].shape),
                "output": tuple(first.shape),
            }
        )

    handles = []
    for m in module.modules():
        if isinstance(m, LAYER_TYPES):
            handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    entered = []  # the parts being counted now (a failure inside one must not leave the counter on)

    def count_on(m: nn.Module, args: tuple) -> None:
        entered.append(mode.__enter__())

    def count_off(m: nn.Module, args: tuple, out: Any) -> None:
        entered.pop().__exit__(None, None, None)

    for path in within:
        part = module.get_submodule(path)
        handles += [part.register_forward_pre_hook(count_on), part.register_forward_hook(count_off)]
    try:
        with torch.no_grad(), contextlib.nullcontext() if within else mode:
            out = module(*inputs)
    finally:
        for h in handles:
            h.remove()
        while entered:
            entered.pop().__exit__(None, None, None)
    return mode.get_total_flops() // 2, records, out


def count_macs(module: nn.Module, *inputs: Any, per_layer: bool = False) -> int | tuple[int, list[dict]]:
    """MACs of one forward pass of ``module(*inputs)`` (every matrix product, convolution and RNN, the whole batch).

    With ``per_layer=True`` also returns one record per conv/linear/RNN/embedding-bag
    call: name, type, MACs, input and output shapes.
    """
    total, records, _ = run_counting(module, *inputs)
    return (total, records) if per_layer else total
