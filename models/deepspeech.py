"""DeepSpeech (Mozilla's architecture): MFCC with a context window -> 3 dense clipped-ReLU
layers -> LSTM -> dense clipped-ReLU -> character logits -> greedy CTC decode.

The features are computed inside the model from raw 16 kHz audio, as in Mozilla's
inference graph: a 32 ms Hann-window DFT every 20 ms (a strided conv1d with fixed
cos/sin kernels, so every backend can run it), a mel filterbank, log and a DCT to
26 coefficients, each frame with 9 frames of context either side. Greedy CTC
keeps the argmax ids and a fixed-shape mask of emitted characters (no host sync).
Items are audio-seconds: batch x seconds.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._common import sized

RATE = 16000
FULL = dict(seconds=5.0, hidden=2048, n_mfcc=26, context=9, chars=29)
TINY = dict(seconds=0.5, hidden=32, n_mfcc=26, context=9, chars=29)


def _mel_filterbank(n_freq: int, n_mels: int, rate: int) -> torch.Tensor:
    """Triangular HTK-mel filters [n_freq, n_mels]."""
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)  # noqa: E731
    pts = torch.linspace(mel(20.0), mel(rate / 2), n_mels + 2)
    hz = 700.0 * (10 ** (pts / 2595.0) - 1.0)
    freqs = torch.linspace(0, rate / 2, n_freq).unsqueeze(1)
    lo, mid, hi = hz[:-2], hz[1:-1], hz[2:]
    return torch.clamp(torch.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), min=0.0)


class DeepSpeech(nn.Module):
    def __init__(
        self,
        hidden: int = 2048,
        n_mfcc: int = 26,
        context: int = 9,
        chars: int = 29,
        win: int = 512,
        hop: int = 320,
        n_mels: int = 40,
        clip: float = 20.0,
    ) -> None:
        super().__init__()
        self.hop, self.context, self.clip = hop, context, clip
        n_freq = win // 2 + 1
        t = torch.arange(win, dtype=torch.float64)
        f = torch.arange(n_freq, dtype=torch.float64).unsqueeze(1)
        window = torch.hann_window(win, periodic=True, dtype=torch.float64)
        ang = 2 * math.pi * f * t / win
        self.register_buffer("dft", torch.cat([torch.cos(ang) * window, -torch.sin(ang) * window]).float().unsqueeze(1))
        self.register_buffer("mel", _mel_filterbank(n_freq, n_mels, RATE))
        k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(0)
        n = torch.arange(n_mels, dtype=torch.float64).unsqueeze(1)
        self.register_buffer("dct", (torch.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)).float())
        width = n_mfcc * (2 * context + 1)
        self.fc1, self.fc2, self.fc3 = nn.Linear(width, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.fc5 = nn.Linear(hidden, hidden)
        self.fc6 = nn.Linear(hidden, chars)  # the last class is CTC's blank, as in Mozilla's alphabet

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """MFCC frames with context: [B, samples] -> [B, T, n_mfcc * (2*context+1)]."""
        spec = F.conv1d(audio.unsqueeze(1), self.dft, stride=self.hop)  # [B, 2F, T]
        re, im = spec.chunk(2, 1)
        power = (re * re + im * im).transpose(1, 2)  # [B, T, F]
        mfcc = torch.log(power @ self.mel + 1e-6) @ self.dct  # [B, T, n_mfcc]
        c = self.context
        padded, t = F.pad(mfcc, (0, 0, c, c)), mfcc.shape[1]
        # Frame-major windows as in Mozilla's graph: [frame t-c, ..., frame t+c], each n_mfcc wide.
        return torch.cat([padded[:, i : i + t] for i in range(2 * c + 1)], -1)

    def logits(self, audio: torch.Tensor) -> torch.Tensor:
        relu = lambda x: F.hardtanh(x, 0.0, self.clip)  # noqa: E731  clipped ReLU min(max(x, 0), 20)
        x = relu(self.fc3(relu(self.fc2(relu(self.fc1(self.features(audio)))))))
        x, _ = self.lstm(x)
        return self.fc6(relu(self.fc5(x)))

    def forward(self, audio: torch.Tensor):
        """Returns (log-probabilities [B, T, chars], greedy ids [B, T], emitted mask [B, T])."""
        logp = F.log_softmax(self.logits(audio).float(), -1)
        ids = logp.argmax(-1)
        prev = F.pad(ids, (1, 0), value=-1)[:, :-1]
        return logp, ids, (ids != logp.shape[-1] - 1) & (ids != prev)  # CTC collapse: drop blanks and repeats


def build(size: str = "full", **kw) -> nn.Module:
    c = sized(size, FULL, TINY, kw)
    return DeepSpeech(c["hidden"], c["n_mfcc"], c["context"], c["chars"])


def make_inputs(batch: int, size: str, seed: int, **kw) -> list[tuple]:
    """Speech-like audio: a few gliding harmonics under an envelope, plus noise."""
    c = sized(size, FULL, TINY, kw)
    g = torch.Generator().manual_seed(seed)
    n = int(c["seconds"] * RATE)
    t = torch.arange(n) / RATE
    f0 = 100 + 150 * torch.rand(batch, 1, generator=g)
    env = 0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t + 6 * torch.rand(batch, 1, generator=g))
    voice = sum(torch.sin(2 * math.pi * h * f0 * t * (1 + 0.1 * t)) / h for h in (1, 2, 3))
    audio = 0.1 * env * voice + 0.01 * torch.randn(batch, n, generator=g)
    return [(audio.float(),)]


def _loss(m: DeepSpeech, inputs: tuple, g: torch.Generator) -> torch.Tensor:
    logp = F.log_softmax(m.logits(inputs[0]).float(), -1)
    b, t, chars = logp.shape
    length = max(1, t // 4)
    labels = torch.randint(0, chars - 1, (b, length), generator=g).to(logp.device)
    return F.ctc_loss(logp.transpose(0, 1), labels, torch.full((b,), t), torch.full((b,), length), blank=chars - 1)


def specs(ModelSpec) -> list:
    return [
        ModelSpec(
            "deepspeech",
            "speech",
            build,
            make_inputs,
            lambda b, size, **kw: b * sized(size, FULL, TINY, kw)["seconds"],
            "audio_seconds",
            16,
            _loss,
            verify_view=lambda flat: [flat[0]],
            description="DeepSpeech (Mozilla): MFCC+context, 3 clipped-ReLU dense, LSTM, greedy CTC",
        )
    ]
