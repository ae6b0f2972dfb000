"""A Llama-style decoder-only LLM: RMSNorm, rotary embedding, grouped-query attention, SwiGLU MLP.

Configurations follow the published ones (layers, hidden size, heads, KV heads,
intermediate size, vocabulary, rotary theta, tied embeddings): ``1b`` is Llama 3.2 1B,
``8b`` Llama 3.1 8B (Meta's model cards and ``config.json``). Weights are random,
fixed by the seed: nothing is downloaded. ``tiny`` is a small configuration for tests.

The model serves two ways (see ``aimatrix.macro.llm``): prefill runs a prompt, writes
its keys and values into a :class:`KVCache` and returns the last position's logits;
decode runs one new token per sequence at a position held in a device tensor (so one
CUDA graph of the step replays at any position), reading the cache. In decode the query
heads of a group attend as one [group x d] block over their KV head's cache, so
grouped-query attention reads each cached key once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ._transformer import RMSNorm, SwiGLU, apply_rope, attention_flops, init_linear_, rope_tables, sdpa


@dataclass(frozen=True)
class Config:
    vocab: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    theta: float = 500000.0
    tied: bool = False
    max_pos: int = 131072

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


CONFIGS = {
    "1b": Config(128256, 2048, 16, 32, 8, 8192, tied=True),  # Llama 3.2 1B
    "8b": Config(128256, 4096, 32, 32, 8, 14336),  # Llama 3.1 8B
    "tiny": Config(256, 64, 2, 4, 2, 128, max_pos=4096),
}


class KVCache(nn.Module):
    """Keys and values of every layer: [layers, batch, kv_heads, length, head_dim] each."""

    def __init__(self, c: Config, batch: int, length: int) -> None:
        super().__init__()
        shape = (c.layers, batch, c.kv_heads, length, c.head_dim)
        self.register_buffer("k", torch.zeros(shape), persistent=False)
        self.register_buffer("v", torch.zeros(shape), persistent=False)


class Block(nn.Module):
    def __init__(self, c: Config) -> None:
        super().__init__()
        self.c = c
        d = c.head_dim
        self.attn_norm = RMSNorm(c.hidden)
        self.wq = nn.Linear(c.hidden, c.heads * d, bias=False)
        self.wk = nn.Linear(c.hidden, c.kv_heads * d, bias=False)
        self.wv = nn.Linear(c.hidden, c.kv_heads * d, bias=False)
        self.wo = nn.Linear(c.heads * d, c.hidden, bias=False)
        self.mlp_norm = RMSNorm(c.hidden)
        self.mlp = SwiGLU(c.hidden, c.intermediate)

    def _qkv(self, x, cos, sin):
        b, t, _ = x.shape
        c = self.c
        h = self.attn_norm(x)
        q = self.wq(h).view(b, t, c.heads, c.head_dim).transpose(1, 2)
        k = self.wk(h).view(b, t, c.kv_heads, c.head_dim).transpose(1, 2)
        v = self.wv(h).view(b, t, c.kv_heads, c.head_dim).transpose(1, 2)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def _out(self, x, attn):
        x = x + self.wo(attn.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1))
        return x + self.mlp(self.mlp_norm(x))

    def prefill(self, x, cos, sin, cache_k, cache_v, backend: str):
        q, k, v = self._qkv(x, cos, sin)
        if cache_k is not None:
            cache_k[:, :, : k.shape[2]] = k
            cache_v[:, :, : v.shape[2]] = v
        return self._out(x, sdpa(q, k, v, causal=True, backend=backend))

    def decode(self, x, cos, sin, cache_k, cache_v, pos, mask, backend: str):
        c = self.c
        q, k, v = self._qkv(x, cos, sin)  # q [B, H, 1, d], k/v [B, Hkv, 1, d]
        cache_k.index_copy_(2, pos, k)
        cache_v.index_copy_(2, pos, v)
        b, g = x.shape[0], c.heads // c.kv_heads
        # The query's heads as rows of their KV head's group. reshape, not view: on a GPU the fused SDPA
        # kernels hand back the output in their own layout, whose (group, KV head) dimensions do not merge.
        o = sdpa(q.reshape(b, c.kv_heads, g, c.head_dim), cache_k, cache_v, backend=backend, mask=mask)
        return self._out(x, o.reshape(b, c.heads, 1, c.head_dim))


class Llama(nn.Module):
    """Token ids [B, T] -> the last position's logits [B, vocab]; without a cache, ``forward`` is a prefill."""

    def __init__(self, c: Config, max_pos: int | None = None, sdpa_backend: str = "auto") -> None:
        super().__init__()
        self.c, self.sdpa_backend = c, sdpa_backend
        self.embed = nn.Embedding(c.vocab, c.hidden)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.hidden)
        self.head = nn.Linear(c.hidden, c.vocab, bias=False)
        init_linear_(self)
        if c.tied:
            self.head.weight = self.embed.weight
        cos, sin = rope_tables(min(max_pos or c.max_pos, c.max_pos), c.head_dim, c.theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(
        self,
        tokens: torch.Tensor,
        cache_k: torch.Tensor | None = None,
        cache_v: torch.Tensor | None = None,
        pos: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Prefill (``pos`` None): tokens [B, T] at positions 0..T-1, their keys/values written to the
        cache [layers, B, kv_heads, length, d] when given. Decode: one token per sequence (tokens
        [B, 1]) at position ``pos`` (a 1-element long tensor on the device), attending to the cache
        positions ``mask`` (bool [1, 1, 1, length]; None: all). Returns the last position's logits [B, vocab]."""
        if pos is None:
            t = tokens.shape[1]
            cos, sin = self.cos[:t], self.sin[:t]
        else:
            cos, sin = self.cos.index_select(0, pos), self.sin.index_select(0, pos)
        x = self.embed(tokens)
        for i, blk in enumerate(self.blocks):
            ck = None if cache_k is None else cache_k[i]
            cv = None if cache_v is None else cache_v[i]
            if pos is None:
                x = blk.prefill(x, cos, sin, ck, cv, self.sdpa_backend)
            else:
                x = blk.decode(x, cos, sin, ck, cv, pos, mask, self.sdpa_backend)
        return self.head(self.norm(x[:, -1]))


# -- the serving phases as modules: what a backend converts, compiles or captures ---------------
class Prefill(nn.Module):
    """The prompt [B, P] through the model, its keys/values written to the cache: last logits [B, vocab]."""

    def __init__(self, model: Llama, batch: int, prompt: int) -> None:
        super().__init__()
        self.model, self.cache = model, KVCache(model.c, batch, prompt)

    def forward(self, tokens):
        return self.model(tokens, self.cache.k, self.cache.v)


class DecodeStep(nn.Module):
    """One decode step at a context of ``context`` cached tokens: the cache holds seeded random keys and values.

    The step's time depends on the cache's size, not on its contents, so it is not
    filled by a prefill. Every call writes the same position: the step is repeatable.
    """

    def __init__(self, model: Llama, batch: int, context: int, seed: int = 0) -> None:
        super().__init__()
        self.model, self.cache = model, KVCache(model.c, batch, context + 1)
        g = torch.Generator(self.cache.k.device).manual_seed(seed)
        self.cache.k.normal_(generator=g)
        self.cache.v.normal_(generator=g)
        self.register_buffer("pos", torch.tensor([context]), persistent=False)

    def forward(self, tokens):
        return self.model(tokens, self.cache.k, self.cache.v, self.pos)


class Generate(nn.Module):
    """Greedy generation of ``new_tokens`` after a prompt [B, P]: prefill, then decode steps, no host sync.

    Returns (tokens [B, new_tokens], the first token's logits [B, vocab]). Decode steps
    attend over the whole cache with a mask of the filled positions, so every step has
    the same shapes (one CUDA graph holds the whole loop).
    """

    def __init__(self, model: Llama, batch: int, prompt: int, new_tokens: int) -> None:
        super().__init__()
        self.model, self.new_tokens, self.prompt = model, new_tokens, prompt
        self.cache = KVCache(model.c, batch, prompt + new_tokens)
        self.register_buffer("pos", torch.tensor([prompt]), persistent=False)
        self.register_buffer("positions", torch.arange(prompt + new_tokens), persistent=False)

    def forward(self, prompt):
        logits = self.model(prompt, self.cache.k, self.cache.v)
        first = logits
        out = [logits.argmax(-1, keepdim=True)]
        self.pos.fill_(self.prompt)
        for _ in range(self.new_tokens - 1):
            mask = (self.positions <= self.pos).view(1, 1, 1, -1)
            logits = self.model(out[-1], self.cache.k, self.cache.v, self.pos, mask)
            out.append(logits.argmax(-1, keepdim=True))
            self.pos.add_(1)
        return torch.cat(out, 1), first


# -- counting ---------------------------------------------------------------------------------
def params(c: Config) -> dict[str, int]:
    """Parameter counts: ``total``, ``embedding`` (the table), ``body`` (blocks + final norm), ``head``."""
    d = c.head_dim
    block = 2 * c.hidden + c.hidden * (2 * c.heads * d + 2 * c.kv_heads * d) + 3 * c.hidden * c.intermediate
    emb = c.vocab * c.hidden
    body = c.layers * block + c.hidden
    head = 0 if c.tied else emb
    return {"total": emb + body + head, "embedding": emb, "body": body, "head": c.vocab * c.hidden}


def flops(c: Config, batch: int, new: int, context: int, logits: int = 1) -> float:
    """FLOPs of ``new`` tokens per sequence after ``context`` cached ones; ``logits`` positions get the vocabulary head.

    Per layer: the q/k/v/o projections 2 x tokens x hidden x (2 heads + 2 kv_heads) x d, the
    SwiGLU MLP 2 x tokens x 3 x hidden x intermediate, attention as FlashAttention counts it
    (prefill: causal over the prompt; decode: one query over context + 1 keys). Norms,
    rotary and activations (a few FLOPs per element) are not counted, as in the FlashAttention
    and Chinchilla counts.
    """
    d, t = c.head_dim, batch * new
    proj = 2.0 * t * c.hidden * (2 * c.heads + 2 * c.kv_heads) * d
    mlp = 2.0 * t * 3 * c.hidden * c.intermediate
    if context == 0:
        attn = attention_flops(batch, c.heads, new, new, d, causal=True)
    else:
        attn = attention_flops(batch, c.heads, new, context + new, d, causal=False)
    return c.layers * (proj + mlp + attn) + 2.0 * batch * logits * c.hidden * c.vocab


def bytes_moved(c: Config, batch: int, new: int, context: int, width: int) -> float:
    """Fewest bytes a step must move at ``width`` bytes per element: every weight once (the embedding
    table only for the rows looked up, unless tied to the head), the cache read (context keys and
    values) and written (the new ones)."""
    p = params(c)
    weights = p["body"] + p["head"] + batch * new * c.hidden
    kv = c.layers * batch * 2 * c.kv_heads * c.head_dim * (context + new)
    return float(width * (weights + kv))


def kv_cache_bytes(c: Config, batch: int, length: int, width: int) -> int:
    return width * c.layers * batch * 2 * c.kv_heads * c.head_dim * length


# -- the zoo entry: the prefill (forward) of a prompt, items = prompt tokens -----------------------
PROMPT = {"1b": 1024, "8b": 1024, "tiny": 16}


def _size(size: str, kw: dict) -> str:
    return "tiny" if size == "tiny" else kw.get("config", "1b")


def build(size: str = "full", **kw) -> nn.Module:
    """The zoo's model, built on the host in fp32 (refused first when its weights do not fit in free host memory)."""
    from ..macro._memory import require

    c = CONFIGS[_size(size, kw)]
    if torch.get_default_device().type != "meta":  # a meta build (counting, shapes) allocates nothing
        require(4.0 * params(c)["total"], torch.device("cpu"), f"building llama_{_size(size, kw)} (fp32 weights)")
    return Llama(c, max_pos=kw.get("prompt") or PROMPT[_size(size, kw)])


def make_inputs(batch: int, size: str, seed: int, **kw) -> list[tuple]:
    c = CONFIGS[_size(size, kw)]
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, c.vocab, (batch, kw.get("prompt") or PROMPT[_size(size, kw)]), generator=g),)]


def _loss(m: Llama, inputs: tuple, g: torch.Generator) -> torch.Tensor:
    tokens = inputs[0]
    return F.cross_entropy(m(tokens[:, :-1]).float(), tokens[:, -1])


def specs(ModelSpec) -> list:
    count = lambda b, size, **kw: float(b * (kw.get("prompt") or PROMPT[_size(size, kw)]))  # noqa: E731
    desc = "Llama-style decoder ({}: {} layers, hidden {}, GQA {}/{}), prefill of a {}-token prompt, tokens/s"
    out = []
    for name in ("1b", "8b"):
        c = CONFIGS[name]
        out.append(
            ModelSpec(
                f"llama_{name}",
                "llm",
                build,
                make_inputs,
                count,
                "tokens",
                1,
                _loss,
                kw={"config": name},
                description=desc.format(name, c.layers, c.hidden, c.heads, c.kv_heads, PROMPT[name]),
            )
        )
    return out
