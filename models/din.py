"""Deep Interest Network (Alimama): click-through-rate prediction.

Embeddings of the candidate item (goods id + category) and of the user's
behaviour history; the local activation unit weighs each history item by an MLP
over [query, key, query-key, query*key]; masked softmax over the valid history;
the attention-pooled interest, the candidate and their product go through batch
norm and an MLP with Dice activations to a click probability. Sizes follow the
authors' Amazon-Electronics code (63001 goods, 801 categories, 128-wide item
embedding, 80-40 attention and MLP layers). Items are samples.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._common import calibrate_batchnorm, per_sample, sized

FULL = dict(goods=63001, cats=801, hidden=128, history=100)
TINY = dict(goods=100, cats=10, hidden=16, history=8)


class Dice(nn.Module):
    """Data-adaptive activation: p*x + (1-p)*alpha*x with p = sigmoid(batchnorm(x))."""

    def __init__(self, dim: int, eps: float = 1e-9) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(dim, eps=eps, affine=False)
        self.alpha = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        p = torch.sigmoid(self.bn(x.reshape(-1, shape[-1])).reshape(shape))
        return p * x + (1 - p) * self.alpha * x


class DIN(nn.Module):
    def __init__(self, goods: int, cats: int, hidden: int = 128, history: int = 100) -> None:
        super().__init__()
        half = hidden // 2
        self.goods, self.cats, self.history = goods, cats, history
        self.goods_emb = nn.Embedding(goods, half)
        self.cat_emb = nn.Embedding(cats, half)
        d = 2 * half
        self.att = nn.Sequential(nn.Linear(4 * d, 80), nn.Sigmoid(), nn.Linear(80, 40), nn.Sigmoid(), nn.Linear(40, 1))
        self.bn = nn.BatchNorm1d(3 * d)
        self.mlp = nn.Sequential(nn.Linear(3 * d, 80), Dice(80), nn.Linear(80, 40), Dice(40), nn.Linear(40, 1))

    def forward(self, goods, cat, hist_goods, hist_cats, hist_len):
        """Click probability [B] of candidate (goods, cat) [B] given the history [B, T] of hist_len [B] items."""
        q = torch.cat([self.goods_emb(goods), self.cat_emb(cat)], -1)  # [B, D]
        k = torch.cat([self.goods_emb(hist_goods), self.cat_emb(hist_cats)], -1)  # [B, T, D]
        qe = q.unsqueeze(1).expand_as(k)
        w = self.att(torch.cat([qe, k, qe - k, qe * k], -1)).squeeze(-1)  # [B, T]
        valid = torch.arange(k.shape[1], device=k.device).unsqueeze(0) < hist_len.unsqueeze(1)
        w = w.masked_fill(~valid, torch.finfo(w.dtype).min) * (1.0 / math.sqrt(k.shape[-1]))
        interest = torch.bmm(torch.softmax(w, -1).unsqueeze(1), k).squeeze(1)  # [B, D]
        x = self.bn(torch.cat([interest, q, interest * q], -1))
        return torch.sigmoid(self.mlp(x).squeeze(-1))


def build(size: str = "full", **kw) -> nn.Module:
    c = sized(size, FULL, TINY, kw)
    return DIN(c["goods"], c["cats"], c["hidden"], c["history"])


def make_inputs(batch: int, size: str, seed: int, **kw) -> list[tuple]:
    c = sized(size, FULL, TINY, kw)
    g = torch.Generator().manual_seed(seed)
    t = c["history"]
    return [
        (
            torch.randint(0, c["goods"], (batch,), generator=g),
            torch.randint(0, c["cats"], (batch,), generator=g),
            torch.randint(0, c["goods"], (batch, t), generator=g),
            torch.randint(0, c["cats"], (batch, t), generator=g),
            torch.randint(1, t + 1, (batch,), generator=g),
        )
    ]


def _loss(m: DIN, inputs: tuple, g: torch.Generator) -> torch.Tensor:
    p = m(*inputs)
    clicks = torch.randint(0, 2, p.shape, generator=g).to(p.device).float()
    return nn.functional.binary_cross_entropy(p.float(), clicks)


def specs(ModelSpec) -> list:
    return [
        ModelSpec(
            "din",
            "ctr",
            build,
            make_inputs,
            per_sample,
            "samples",
            1024,
            _loss,
            calibrate=calibrate_batchnorm,
            description="Deep Interest Network: local activation unit, Dice, MLP; samples/s",
        )
    ]
