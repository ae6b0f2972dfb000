"""BERT (Devlin et al., 2019) encoders for question answering, as MLPerf Inference's BERT benchmark runs them.

``bert_base`` (12 layers, hidden 768, 12 heads, intermediate 3072) and ``bert_large``
(24, 1024, 16, 4096), vocabulary 30522 (uncased WordPiece), 512 positions, 2 token
types; post-layer-norm blocks with GELU, and a SQuAD span head (start and end logits
per token), the head MLPerf's BERT-large SQuAD v1.1 task uses. Sequences are full
length (no padding), 384 tokens by default as in MLPerf (``model_kw={"seq": 128}``
for the shorter setting). Weights are random, fixed by the seed (no download).
Attention is PyTorch's ``scaled_dot_product_attention``. Items are sequences.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ._common import per_sample
from ._transformer import init_linear_, sdpa

CONFIGS = {
    "base": dict(layers=12, hidden=768, heads=12, intermediate=3072),
    "large": dict(layers=24, hidden=1024, heads=16, intermediate=4096),
    "tiny": dict(layers=2, hidden=32, heads=4, intermediate=64),
}
VOCAB, POSITIONS, TYPES, SEQ = 30522, 512, 2, 384
TINY_VOCAB, TINY_SEQ = 100, 16


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = nn.Linear(hidden, intermediate)
        self.ff2 = nn.Linear(intermediate, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x):
        b, t, h = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        a = sdpa(q, k, v).transpose(1, 2).reshape(b, t, h)
        x = self.norm1(x + self.out(a))
        return self.norm2(x + self.ff2(F.gelu(self.ff1(x))))


class Bert(nn.Module):
    """(input ids, token type ids) [B, T] -> (start logits, end logits) [B, T]."""

    def __init__(self, layers: int, hidden: int, heads: int, intermediate: int, vocab: int = VOCAB) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(POSITIONS, hidden)
        self.token_type = nn.Embedding(TYPES, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(Layer(hidden, heads, intermediate) for _ in range(layers))
        self.qa = nn.Linear(hidden, 2)
        init_linear_(self)

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.norm(self.word(ids) + self.position(pos) + self.token_type(types))
        for layer in self.layers:
            x = layer(x)
        start, end = self.qa(x).unbind(-1)
        return start, end


def flops(cfg: dict, batch: int, seq: int) -> float:
    """Per forward: linear layers 2 x tokens x (4 h^2 + 2 h i) per layer plus attention 4 x B x T^2 x h
    (FlashAttention's count), plus the span head; embeddings, norms and GELU not counted."""
    h, i, t = cfg["hidden"], cfg["intermediate"], batch * seq
    per_layer = 2.0 * t * (4 * h * h + 2 * h * i) + 4.0 * batch * seq * seq * h
    return cfg["layers"] * per_layer + 2.0 * t * h * 2


def _cfg(size: str, kw: dict) -> tuple[dict, int, int]:
    """(layer sizes, vocabulary, sequence length)."""
    if size == "tiny":
        return CONFIGS["tiny"], TINY_VOCAB, kw.get("seq", TINY_SEQ)
    return CONFIGS[kw["config"]], VOCAB, kw.get("seq", SEQ)


def build(size: str = "full", **kw) -> nn.Module:
    cfg, vocab, _ = _cfg(size, kw)
    return Bert(**cfg, vocab=vocab)


def make_inputs(batch: int, size: str, seed: int, **kw) -> list[tuple]:
    _, vocab, seq = _cfg(size, kw)
    if not isinstance(seq, int) or not 1 <= seq <= POSITIONS:
        raise ValueError(f"seq={seq!r} is not allowed: BERT takes 1 to {POSITIONS} tokens")
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, seq), generator=g)
    types = (torch.arange(seq) >= seq // 3).long().expand(batch, seq).contiguous()  # question, then context
    return [(ids, types)]


def _loss(m: Bert, inputs: tuple, g: torch.Generator) -> torch.Tensor:
    start, end = m(*inputs)
    seq = start.shape[1]
    s = torch.randint(0, seq, (start.shape[0],), generator=g).to(start.device)
    e = torch.randint(0, seq, (start.shape[0],), generator=g).to(start.device)
    return F.cross_entropy(start.float(), s) + F.cross_entropy(end.float(), e)


def specs(ModelSpec) -> list:
    desc = (
        "BERT-{} (SQuAD span head, MLPerf's BERT), {} layers, hidden {}, sequence 384 (model_kw seq=128), sequences/s"
    )
    return [
        ModelSpec(
            f"bert_{name}",
            "nlp",
            build,
            make_inputs,
            per_sample,
            "sequences",
            256 if name == "base" else 64,
            _loss,
            kw={"config": name},
            description=desc.format(name, CONFIGS[name]["layers"], CONFIGS[name]["hidden"]),
        )
        for name in ("base", "large")
    ]
