"""Neural machine translation: an encoder-decoder LSTM with attention (TensorFlow NMT / GNMT style).

Encoder: embedding and a stack of LSTMs. Decoder: an LSTM stack fed the previous
token's embedding and the previous attentional state ("input feeding"), Luong
(multiplicative) or Bahdanau (additive) attention over the encoder outputs, and a
vocabulary projection. Decoding runs a fixed ``max_len`` steps (no early stop), so
the work is fixed and no step waits on the host: greedy (``beam=1``) or beam search.
Items are generated target tokens: batch x max_len.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ._common import sized

FULL = dict(vocab=32000, hidden=1024, layers=4, src_len=50, max_len=50, attention="luong")
TINY = dict(vocab=64, hidden=16, layers=1, src_len=6, max_len=5, attention="luong")
SOS = 1


class NMT(nn.Module):
    def __init__(
        self,
        vocab: int,
        hidden: int,
        layers: int,
        *,
        attention: str = "luong",
        beam: int = 1,
        max_len: int = 50,
        src_len: int = 50,
    ) -> None:
        super().__init__()
        if attention not in ("luong", "bahdanau"):
            raise ValueError(f"attention={attention!r} is not allowed: expected one of luong, bahdanau")
        self.vocab, self.hidden, self.beam, self.max_len, self.attention = vocab, hidden, beam, max_len, attention
        self.src_emb = nn.Embedding(vocab, hidden)
        self.tgt_emb = nn.Embedding(vocab, hidden)
        self.encoder = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.decoder = nn.LSTM(2 * hidden, hidden, layers, batch_first=True)
        self.w_key = nn.Linear(hidden, hidden, bias=False)  # Luong "general" W_a, or Bahdanau W_1
        if attention == "bahdanau":
            self.w_query = nn.Linear(hidden, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)
        self.w_out = nn.Linear(2 * hidden, hidden, bias=False)  # attentional state tanh(W_c [c; h])
        self.proj = nn.Linear(hidden, vocab)

    def encode(self, src: torch.Tensor):
        memory, state = self.encoder(self.src_emb(src))
        return memory, self.w_key(memory), state

    def step(self, y, feed, state, memory, keys):
        """One decoder step: logits of the next token, the attentional state, the LSTM state."""
        out, state = self.decoder(torch.cat([self.tgt_emb(y), feed], -1).unsqueeze(1), state)
        if self.attention == "luong":
            score = torch.bmm(keys, out.transpose(1, 2)).squeeze(2)  # [B, S]
        else:
            score = self.v(torch.tanh(keys + self.w_query(out))).squeeze(2)
        ctx = torch.bmm(torch.softmax(score, -1).unsqueeze(1), memory).squeeze(1)  # [B, H]
        feed = torch.tanh(self.w_out(torch.cat([ctx, out.squeeze(1)], -1)))
        return self.proj(feed), feed, state

    def forward(self, src: torch.Tensor):
        """Translate ``src`` [B, S] token ids: returns (tokens [B, max_len], log-probability [B])."""
        return self._greedy(src) if self.beam == 1 else self._beam(src)

    def _greedy(self, src):
        memory, keys, state = self.encode(src)
        b = src.shape[0]
        y = torch.full((b,), SOS, dtype=torch.long, device=src.device)
        feed = memory.new_zeros(b, self.hidden)
        score = torch.zeros(b, device=src.device)
        tokens = []
        for _ in range(self.max_len):
            logits, feed, state = self.step(y, feed, state, memory, keys)
            logp, y = F.log_softmax(logits.float(), -1).max(-1)
            score = score + logp
            tokens.append(y)
        return torch.stack(tokens, 1), score

    def _beam(self, src):
        k, v = self.beam, self.vocab
        memory, keys, state = self.encode(src)
        b = src.shape[0]
        tile = lambda t, dim: t.repeat_interleave(k, dim)  # noqa: E731  [B..] -> [B*K..]
        memory, keys = tile(memory, 0), tile(keys, 0)
        state = tuple(tile(s, 1) for s in state)
        y = torch.full((b * k,), SOS, dtype=torch.long, device=src.device)
        feed = memory.new_zeros(b * k, self.hidden)
        # Only beam 0 is live at the start, so the first top-k does not pick K copies of one token.
        scores = torch.full((b, k), -1e9, device=src.device)
        scores[:, 0] = 0.0
        history = torch.zeros(b * k, 0, dtype=torch.long, device=src.device)
        base = (torch.arange(b, device=src.device) * k).unsqueeze(1)
        for _ in range(self.max_len):
            logits, feed, state = self.step(y, feed, state, memory, keys)
            total = scores.unsqueeze(2) + F.log_softmax(logits.float(), -1).view(b, k, v)
            scores, idx = total.view(b, k * v).topk(k, -1)  # sorted: beam 0 is the best
            origin = (base + torch.div(idx, v, rounding_mode="floor")).view(-1)
            y = (idx % v).view(-1)
            feed, state = feed[origin], tuple(s[:, origin] for s in state)
            history = torch.cat([history[origin], y.unsqueeze(1)], 1)
        return history.view(b, k, -1)[:, 0], scores[:, 0]

    def teacher_forcing_loss(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of ``tgt`` [B, T] given the previous gold token (training)."""
        memory, keys, state = self.encode(src)
        y = torch.full((src.shape[0],), SOS, dtype=torch.long, device=src.device)
        feed = memory.new_zeros(src.shape[0], self.hidden)
        loss = 0.0
        for t in range(tgt.shape[1]):
            logits, feed, state = self.step(y, feed, state, memory, keys)
            loss = loss + F.cross_entropy(logits.float(), tgt[:, t])
            y = tgt[:, t]
        return loss / tgt.shape[1]


def build(size: str = "full", **kw) -> nn.Module:
    c = sized(size, FULL, TINY, kw)
    return NMT(
        c["vocab"],
        c["hidden"],
        c["layers"],
        attention=c["attention"],
        beam=c.get("beam", 1),
        max_len=c["max_len"],
        src_len=c["src_len"],
    )


def make_inputs(batch: int, size: str, seed: int, **kw) -> list[tuple]:
    c = sized(size, FULL, TINY, kw)
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(3, c["vocab"], (batch, c["src_len"]), generator=g),)]


def _loss(m: NMT, inputs: tuple, g: torch.Generator) -> torch.Tensor:
    src = inputs[0]
    tgt = torch.randint(3, m.vocab, (src.shape[0], m.max_len), generator=g).to(src.device)
    return m.teacher_forcing_loss(src, tgt)


def specs(ModelSpec) -> list:
    count = lambda b, size, **kw: float(b * sized(size, FULL, TINY, kw)["max_len"])  # noqa: E731
    view = lambda flat: [flat[1].float()]  # noqa: E731  sequence log-probabilities
    desc = "NMT: {}-layer LSTM encoder-decoder with attention, {} decoding, tokens/s"
    return [
        ModelSpec(
            name,
            "translation",
            build,
            make_inputs,
            count,
            "tokens",
            batch,
            _loss,
            verify_view=view,
            kw={"beam": beam},
            description=desc.format(FULL["layers"], decoding),
        )
        for name, batch, beam, decoding in (("nmt", 128, 1, "greedy"), ("nmt_beam", 32, 10, "beam-search (width 10)"))
    ]
