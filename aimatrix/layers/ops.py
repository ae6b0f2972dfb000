"""The layers: each a small torch module, its inputs, its FLOPs and bytes, from a shape dict.

Every layer has default shapes (``LAYERS[name].defaults``); ``layer(name, **shape)``
overrides any of them. FLOPs count multiply-adds as 2; bytes are the fewest a
layer must move (inputs, weights and outputs once each) at the dtype's width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..models import _transformer as tf
from ..models.din import Dice


@dataclass(frozen=True)
class LayerDef:
    name: str
    defaults: dict
    build: Callable[[dict], nn.Module]
    inputs: Callable[[dict, torch.Generator], tuple]
    flops: Callable[[dict], float | None]
    elements: Callable[[dict], float]  # elements read + written (weights included), for bytes
    description: str = ""
    choices: dict = field(default_factory=dict)  # allowed values of the string shape parameters
    # (shape, torch dtype, device) -> params to record; raises UnsupportedError/OutOfMemoryError first
    check: Callable[[dict, torch.dtype, torch.device], dict] | None = None
    reference: Callable[[nn.Module], nn.Module] | None = None  # the fp32 reference's module (default: the layer)


class ConvBnRelu(nn.Module):
    def __init__(self, c: int, k: int, r: int, stride: int, pad: int, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, k, r, stride, pad, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(k)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Elementwise(nn.Module):
    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _out(size: int, r: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - r) // stride + 1


def _randn(*shape: int):
    return lambda s, g: (torch.randn(*[s[k] if isinstance(k, str) else k for k in shape], generator=g),)


def _conv_flops(s: dict) -> float:
    ho, wo = _out(s["h"], s["r"], s["stride"], s["pad"]), _out(s["w"], s["r"], s["stride"], s["pad"])
    return 2.0 * s["n"] * s["k"] * ho * wo * (s["c"] // s["groups"]) * s["r"] ** 2


def _conv_elems(s: dict) -> float:
    ho, wo = _out(s["h"], s["r"], s["stride"], s["pad"]), _out(s["w"], s["r"], s["stride"], s["pad"])
    return s["n"] * s["c"] * s["h"] * s["w"] + s["k"] * s["c"] // s["groups"] * s["r"] ** 2 + s["n"] * s["k"] * ho * wo


def _rnn(kind: type, gates: int) -> tuple:
    build = lambda s: kind(s["input"], s["hidden"], s["layers"], batch_first=True)  # noqa: E731

    def flops(s):
        per = sum(
            gates * s["hidden"] * ((s["input"] if i == 0 else s["hidden"]) + s["hidden"]) for i in range(s["layers"])
        )
        return 2.0 * s["n"] * s["seq"] * per

    def elems(s):
        w = sum(
            gates * s["hidden"] * ((s["input"] if i == 0 else s["hidden"]) + s["hidden"] + 2)
            for i in range(s["layers"])
        )
        return s["n"] * s["seq"] * (s["input"] + s["hidden"]) + w

    return build, _randn("n", "seq", "input"), flops, elems


def _pool(kind: type) -> tuple:
    build = lambda s: kind(s["r"], s["stride"], s["pad"])  # noqa: E731
    ho = lambda s: _out(s["h"], s["r"], s["stride"], s["pad"]) * _out(s["w"], s["r"], s["stride"], s["pad"])  # noqa: E731
    return (build, _randn("n", "c", "h", "w"), lambda s: None, lambda s: s["n"] * s["c"] * (s["h"] * s["w"] + ho(s)))


def _embedding_inputs(s, g):
    return (torch.randint(0, s["vocab"], (s["n"], s["seq"]), generator=g),)


def _bag_inputs(s, g):
    return (torch.randint(0, s["vocab"], (s["n"], s["bag"]), generator=g),)


def _kv_heads(s: dict) -> int:
    return s["kv_heads"] or s["heads"]


def _attention_inputs(s, g):
    q = torch.randn(s["n"], s["heads"], s["seq"], s["dim"], generator=g)
    kv = [torch.randn(s["n"], _kv_heads(s), s["kv_seq"], s["dim"], generator=g) for _ in range(2)]
    return (q, *kv)


def _attention_check(s: dict, dtype: torch.dtype, device: torch.device) -> dict:
    """The chosen SDPA backend can run the shape (else UnsupportedError), the case fits; which kernel runs."""
    from ..macro import _memory

    kvh = _kv_heads(s)
    if s["heads"] % kvh:
        raise ValueError(f"heads={s['heads']} is not a multiple of kv_heads={kvh} (grouped-query attention)")
    width = torch.finfo(dtype).bits // 8
    tensors = s["n"] * s["dim"] * (2 * s["heads"] * s["seq"] + 2 * kvh * s["kv_seq"])  # q, k, v, output
    need = (width + 4) * tensors + 8 * s["n"] * s["heads"] * s["kv_seq"] * s["dim"]  # + fp32 reference, k/v expanded
    if s["sdpa_backend"] == "math" or device.type == "cpu":  # math materialises the scores (twice: softmax)
        need += 2 * width * s["n"] * s["heads"] * s["seq"] * s["kv_seq"]
    _memory.require(need, device, f"attention {s}")
    return {
        "sdpa_ran": tf.check_sdpa(
            s["sdpa_backend"],
            heads=s["heads"],
            kv_heads=kvh,
            seq=s["seq"],
            kv_seq=s["kv_seq"],
            dim=s["dim"],
            causal=s["causal"],
            dtype=dtype,
            device=device,
        )
    }


class _ExpandedAttention(nn.Module):
    """The reference: k/v repeated to every query head, PyTorch's choice of kernel (no fp32 score matrix on a GPU)."""

    def __init__(self, causal: bool) -> None:
        super().__init__()
        self.causal = causal

    def forward(self, q, k, v):
        g = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
        return tf.sdpa(q, k, v, causal=self.causal)


def _attention_reference(module: nn.Module) -> nn.Module:
    return _ExpandedAttention(module.causal)


NCHW = dict(n=32, c=64, h=56, w=56)
ROWS = dict(n=4096, features=1024)
_rows = lambda s: 2.0 * s["n"] * s["features"]  # noqa: E731  read + write


LAYERS: dict[str, LayerDef] = {
    d.name: d
    for d in [
        LayerDef(
            "conv_bn_relu",
            dict(NCHW, k=64, r=3, stride=1, pad=1, groups=1),
            lambda s: ConvBnRelu(s["c"], s["k"], s["r"], s["stride"], s["pad"], s["groups"]),
            _randn("n", "c", "h", "w"),
            _conv_flops,
            _conv_elems,
            "2-D convolution + batch norm + ReLU",
        ),
        LayerDef(
            "linear",
            dict(n=512, in_features=1024, out_features=1024),
            lambda s: nn.Linear(s["in_features"], s["out_features"]),
            _randn("n", "in_features"),
            lambda s: 2.0 * s["n"] * s["in_features"] * s["out_features"],
            lambda s: s["n"] * (s["in_features"] + s["out_features"]) + s["in_features"] * s["out_features"],
            "fully connected layer",
        ),
        LayerDef("lstm", dict(n=16, seq=50, input=1024, hidden=1024, layers=1), *_rnn(nn.LSTM, 4), "LSTM (cuDNN)"),
        LayerDef("gru", dict(n=16, seq=50, input=1024, hidden=1024, layers=1), *_rnn(nn.GRU, 3), "GRU (cuDNN)"),
        LayerDef(
            "attention",
            dict(n=16, heads=16, kv_heads=0, seq=512, kv_seq=512, dim=64, causal=False, sdpa_backend="auto"),
            lambda s: tf.Attention(s["causal"], s["sdpa_backend"]),
            _attention_inputs,
            lambda s: tf.attention_flops(s["n"], s["heads"], s["seq"], s["kv_seq"], s["dim"], s["causal"]),
            lambda s: s["n"] * s["dim"] * (2 * s["heads"] * s["seq"] + 2 * _kv_heads(s) * s["kv_seq"]),
            "scaled-dot-product attention, multi-head or grouped-query (kv_heads; 0: as many as heads), through "
            "PyTorch's SDPA with sdpa_backend flash, efficient, cudnn, math or auto",
            choices={"sdpa_backend": tuple(tf.SDPA_BACKENDS)},
            check=_attention_check,
            reference=_attention_reference,
        ),
        LayerDef(
            "rmsnorm",
            dict(ROWS),
            lambda s: tf.RMSNorm(s["features"]),
            _randn("n", "features"),
            lambda s: None,
            _rows,
            "RMSNorm over the last dimension (Llama)",
        ),
        LayerDef(
            "rotary",
            dict(n=1, heads=32, seq=2048, dim=128),
            lambda s: tf.Rotary(s["dim"], s["seq"]),
            lambda s, g: _randn("n", "heads", "seq", "dim")(s, g) + _randn("n", "heads", "seq", "dim")(s, g),
            lambda s: None,
            lambda s: 4.0 * s["n"] * s["heads"] * s["seq"] * s["dim"],
            "rotary position embedding of q and k",
        ),
        LayerDef(
            "swiglu",
            dict(n=2048, hidden=2048, intermediate=8192),
            lambda s: tf.SwiGLU(s["hidden"], s["intermediate"]),
            _randn("n", "hidden"),
            lambda s: 6.0 * s["n"] * s["hidden"] * s["intermediate"],
            lambda s: 2.0 * s["n"] * s["hidden"] + 3.0 * s["hidden"] * s["intermediate"],
            "SwiGLU MLP down(silu(gate(x)) * up(x)) (Llama)",
        ),
        LayerDef("maxpool", dict(NCHW, h=112, w=112, r=3, stride=2, pad=1), *_pool(nn.MaxPool2d), "max pooling"),
        LayerDef("avgpool", dict(NCHW, h=112, w=112, r=3, stride=2, pad=1), *_pool(nn.AvgPool2d), "average pooling"),
        LayerDef(
            "batchnorm",
            dict(NCHW),
            lambda s: nn.BatchNorm2d(s["c"]),
            _randn("n", "c", "h", "w"),
            lambda s: None,
            lambda s: 2.0 * s["n"] * s["c"] * s["h"] * s["w"],
            "batch norm (inference: running statistics)",
        ),
        LayerDef(
            "layernorm",
            dict(ROWS),
            lambda s: nn.LayerNorm(s["features"]),
            _randn("n", "features"),
            lambda s: None,
            _rows,
            "layer norm over the last dimension",
        ),
        LayerDef(
            "softmax",
            dict(ROWS),
            lambda s: nn.Softmax(-1),
            _randn("n", "features"),
            lambda s: None,
            _rows,
            "softmax over the last dimension",
        ),
        LayerDef(
            "embedding",
            dict(n=1024, seq=100, vocab=63001, dim=64),
            lambda s: nn.Embedding(s["vocab"], s["dim"]),
            _embedding_inputs,
            lambda s: None,
            lambda s: s["n"] * s["seq"] * (2 * s["dim"]),
            "embedding lookup",
        ),
        LayerDef(
            "embedding_bag",
            dict(n=1024, bag=100, vocab=63001, dim=64),
            lambda s: nn.EmbeddingBag(s["vocab"], s["dim"], mode="sum"),
            _bag_inputs,
            lambda s: s["n"] * s["bag"] * s["dim"],
            lambda s: s["n"] * (s["bag"] * s["dim"] + s["dim"]),
            "embedding bag (sum of each bag's rows)",
        ),
        LayerDef("relu", dict(ROWS), lambda s: nn.ReLU(), _randn("n", "features"), lambda s: None, _rows, "ReLU"),
        LayerDef(
            "clipped_relu",
            dict(ROWS, clip=20.0),
            lambda s: nn.Hardtanh(0.0, s["clip"]),
            _randn("n", "features"),
            lambda s: None,
            _rows,
            "clipped ReLU min(max(x, 0), clip) (DeepSpeech)",
        ),
        LayerDef(
            "dice",
            dict(ROWS),
            lambda s: Dice(s["features"]),
            _randn("n", "features"),
            lambda s: None,
            _rows,
            "Dice activation (DIN)",
        ),
    ]
}

NAMES = tuple(LAYERS)
