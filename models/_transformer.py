"""Transformer building blocks shared by BERT, the Llama-style decoder and the layer benchmarks.

Attention goes through PyTorch's ``scaled_dot_product_attention``; ``sdpa_backend``
picks one of its kernels explicitly (``flash``, ``efficient`` = memory-efficient,
``cudnn``, ``math``) or leaves the choice to PyTorch (``auto``). :func:`check_sdpa`
refuses a backend that cannot run a shape before anything is timed, naming those that can.
FLOPs are counted as the FlashAttention papers count them: 4 x L x S x d per head
(the QK^T and PV products), half of it when causal.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from ..errors import UnsupportedError

SDPA_BACKENDS: dict[str, SDPBackend | None] = {
    "auto": None,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "math": SDPBackend.MATH,
}
_NAME_OF = {int(b): name for name, b in SDPA_BACKENDS.items() if b is not None}


def sdpa(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    backend: str = "auto",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """SDPA of q [N, H, L, d] over k, v [N, Hkv, S, d] (grouped-query when Hkv < H) with one backend or ``auto``."""
    gqa = q.shape[1] != k.shape[1]
    if backend == "auto":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=gqa)
    with sdpa_kernel([SDPA_BACKENDS[backend]]):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=gqa)


def chosen_backend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, mask: torch.Tensor | None = None
) -> str:
    """The kernel PyTorch's ``auto`` picks for these tensors (its own dispatcher's answer)."""
    try:
        choice = torch._fused_sdp_choice(q, k, v, mask, 0.0, causal, scale=None, enable_gqa=q.shape[1] != k.shape[1])
    except (AttributeError, TypeError, RuntimeError):  # a PyTorch without this entry point
        return "auto"
    return _NAME_OF.get(int(choice), "auto")


def _runs(backend: str, q, k, v, causal: bool, mask) -> str | None:
    """None when ``backend`` runs these tensors, else PyTorch's reason."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            sdpa(q, k, v, causal=causal, backend=backend, mask=mask)
            return None
        except RuntimeError as e:  # PyTorch warns why each kernel was not used ("... not used because:", then why)
            reasons = "; ".join(str(w.message).split(" (Triggered internally")[0].strip() for w in caught)
            return (reasons or str(e).splitlines()[0])[:400]


def check_sdpa(
    backend: str,
    *,
    heads: int,
    kv_heads: int,
    seq: int,
    kv_seq: int,
    dim: int,
    causal: bool,
    dtype: torch.dtype,
    device: torch.device,
    masked: bool = False,
) -> str:
    """The kernel that will run this shape: ``backend`` itself, or PyTorch's pick for ``auto``.

    UnsupportedError when ``backend`` cannot run it, naming the backends that can. Probes
    each kernel with one sequence and one KV head (a group of ``heads // kv_heads`` query
    heads) at the real lengths, head dim and dtype, with a boolean mask when ``masked``:
    what decides whether a kernel applies, without the memory of the whole batch.
    """
    if backend not in SDPA_BACKENDS:
        raise ValueError(f"sdpa_backend={backend!r} is not allowed: expected one of {', '.join(SDPA_BACKENDS)}")
    if heads % kv_heads:
        raise ValueError(f"heads={heads} is not a multiple of kv_heads={kv_heads} (grouped-query attention)")
    if backend == "math":
        return backend
    group = heads // kv_heads
    g = torch.Generator(device=device).manual_seed(0)
    q = torch.randn(1, group, seq, dim, generator=g, device=device, dtype=dtype)
    k = torch.randn(1, 1, kv_seq, dim, generator=g, device=device, dtype=dtype)
    mask = torch.ones(1, 1, 1, kv_seq, dtype=torch.bool, device=device) if masked else None
    if backend == "auto":
        return chosen_backend(q, k, k, causal, mask)
    why = _runs(backend, q, k, k, causal, mask)
    if why is None:
        return backend
    others = [b for b in SDPA_BACKENDS if b not in ("auto", backend)]
    can = [b for b in others if b == "math" or _runs(b, q, k, k, causal, mask) is None]
    raise UnsupportedError(
        f"sdpa_backend={backend!r} cannot run heads={heads}, kv_heads={kv_heads}, seq={seq}, "
        f"kv_seq={kv_seq}, dim={dim}, causal={causal}{', masked' if masked else ''}, {dtype} on "
        f"{device} ({why}); backends that can: {', '.join(can)}"
    )


def attention_flops(n: int, heads: int, seq: int, kv_seq: int, dim: int, causal: bool) -> float:
    """FlashAttention's count: QK^T and PV, 2 x L x S x d each per head; causal halves it (square L = S)."""
    return 4.0 * n * heads * seq * kv_seq * dim * (0.5 if causal else 1.0)


class Attention(nn.Module):
    """SDPA over given q [N, H, L, d], k, v [N, Hkv, S, d]: the attention kernel alone."""

    def __init__(self, causal: bool = False, backend: str = "auto") -> None:
        super().__init__()
        self.causal, self.backend = causal, backend

    def forward(self, q, k, v):
        return sdpa(q, k, v, causal=self.causal, backend=self.backend)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight, computed in fp32 as Llama's reference code does."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(dim))  # random, not all ones: the scale is exercised

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def rope_tables(max_pos: int, dim: int, theta: float = 500000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [max_pos, dim/2] of the rotary embedding (Su et al., RoFormer)."""
    inv = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    ang = torch.outer(torch.arange(max_pos, dtype=torch.float64), inv)
    return ang.cos().float(), ang.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x [N, H, L, d] by cos/sin [L, d/2] (half-split layout, as Hugging Face's Llama)."""
    x1, x2 = x.chunk(2, -1)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


class Rotary(nn.Module):
    """Rotary position embedding of q and k [N, H, L, d] at positions 0..L-1 (the layer benchmark's form)."""

    def __init__(self, dim: int, max_pos: int, theta: float = 500000.0) -> None:
        super().__init__()
        cos, sin = rope_tables(max_pos, dim, theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, q, k):
        n = q.shape[2]
        return apply_rope(q, self.cos[:n], self.sin[:n]), apply_rope(k, self.cos[:n], self.sin[:n])


class SwiGLU(nn.Module):
    """Llama's MLP: down(silu(gate(x)) * up(x)), no biases (Shazeer, "GLU Variants Improve Transformer")."""

    def __init__(self, hidden: int, intermediate: int) -> None:
        super().__init__()
        self.gate = nn.Linear(hidden, intermediate, bias=False)
        self.up = nn.Linear(hidden, intermediate, bias=False)
        self.down = nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


def init_linear_(module: nn.Module, std: float = 0.02) -> None:
    """Normal(0, std) weights on every Linear/Embedding (GPT-2/BERT's initialiser), zero biases.

    PyTorch's default Linear initialiser keeps activations near unit scale only for
    shallow nets; deep random transformers need a small std to stay finite in fp16.
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
