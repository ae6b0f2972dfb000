"""Size catalogues for the micro benchmarks: ``aimatrix.micro.catalog(name)``.

- ``deepbench-{train,inference-server,inference-device}-{gemm,conv}``: Baidu DeepBench's
  problem sets, as published in https://github.com/baidu-research/DeepBench
  (code/kernels/gemm_problems.h and conv_problems.h; copied into the repository's
  third_party/deepbench/, with DeepBench's licence and origin). ``deepbench-inference-gemm``/``-conv``
  are the server sets.
- ``resnet50-conv``: the distinct convolution layers of ResNet-50 v1.5 (torchvision's
  ``resnet50``: stride on the 3x3 convolution) at 224x224 input, with how often each
  occurs in the network (``count``), He et al., "Deep Residual Learning for Image
  Recognition", CVPR 2016, table 1.
- ``llm-gemm``: the projections of 1B-, 8B- and 70B-class Llama decoders (data/llm_decoders.csv):
  fused q/k/v, attention output, fused gate/up, down, and the vocabulary head, at 1, 16,
  128, 2048 and 8192 tokens. ``m`` = tokens, weights stored [out, in] as ``nn.Linear``
  keeps them (``trans_b=True``, the layout cuBLASLt's fp8 kernels take): run with
  ``--dtype bf16,fp8``. ``count``: how often the product occurs in one forward.
- ``quick``: a handful of GEMM, convolution, memory and launch cases for a smoke run.

Each entry is a dict: ``op`` (gemm, conv, membw, launch), ``name``, and the keyword
arguments of that aimatrix function.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .._data import installed

_DATA = Path(__file__).with_name("data")

_DEEPBENCH_SETS = {"train": "train", "inference-server": "server", "inference-device": "device", "inference": "server"}


def _rows(file: str, which: str) -> list[dict[str, str]]:
    with open(installed("third_party", "deepbench", file), encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    return [row for row in csv.DictReader(lines) if row["set"] == which]


def _deepbench_gemm(which: str) -> list[dict]:
    out = []
    for i, row in enumerate(_rows("gemm_problems.csv", which)):
        m, n, k = int(row["m"]), int(row["n"]), int(row["k"])
        ta, tb = row["a_t"] == "1", row["b_t"] == "1"
        out.append(
            {"op": "gemm", "name": f"deepbench-{which}-gemm-{i}", "m": m, "n": n, "k": k, "trans_a": ta, "trans_b": tb}
        )
    return out


def _deepbench_conv(which: str) -> list[dict]:
    out = []
    for i, row in enumerate(_rows("conv_problems.csv", which)):
        v = {key: int(val) for key, val in row.items() if key != "set"}
        out.append(
            {
                "op": "conv",
                "name": f"deepbench-{which}-conv-{i}",
                "n": v["n"],
                "c": v["c"],
                "h": v["h"],
                "w": v["w"],
                "k": v["k"],
                "r": v["r"],
                "s": v["s"],
                "stride": (v["stride_h"], v["stride_w"]),
                "pad": (v["pad_h"], v["pad_w"]),
            }
        )
    return out


# ResNet-50 v1.5 convolutions at 224x224: (name, c, h, k, r, stride, pad, count).
_RESNET50 = [
    ("conv1", 3, 224, 64, 7, 2, 3, 1),
    ("layer1.conv1.first", 64, 56, 64, 1, 1, 0, 1),
    ("layer1.conv1", 256, 56, 64, 1, 1, 0, 2),
    ("layer1.conv2", 64, 56, 64, 3, 1, 1, 3),
    ("layer1.conv3", 64, 56, 256, 1, 1, 0, 3),
    ("layer1.downsample", 64, 56, 256, 1, 1, 0, 1),
    ("layer2.conv1.first", 256, 56, 128, 1, 1, 0, 1),
    ("layer2.conv2.stride2", 128, 56, 128, 3, 2, 1, 1),
    ("layer2.downsample", 256, 56, 512, 1, 2, 0, 1),
    ("layer2.conv1", 512, 28, 128, 1, 1, 0, 3),
    ("layer2.conv2", 128, 28, 128, 3, 1, 1, 3),
    ("layer2.conv3", 128, 28, 512, 1, 1, 0, 4),
    ("layer3.conv1.first", 512, 28, 256, 1, 1, 0, 1),
    ("layer3.conv2.stride2", 256, 28, 256, 3, 2, 1, 1),
    ("layer3.downsample", 512, 28, 1024, 1, 2, 0, 1),
    ("layer3.conv1", 1024, 14, 256, 1, 1, 0, 5),
    ("layer3.conv2", 256, 14, 256, 3, 1, 1, 5),
    ("layer3.conv3", 256, 14, 1024, 1, 1, 0, 6),
    ("layer4.conv1.first", 1024, 14, 512, 1, 1, 0, 1),
    ("layer4.conv2.stride2", 512, 14, 512, 3, 2, 1, 1),
    ("layer4.downsample", 1024, 14, 2048, 1, 2, 0, 1),
    ("layer4.conv1", 2048, 7, 512, 1, 1, 0, 2),
    ("layer4.conv2", 512, 7, 512, 3, 1, 1, 2),
    ("layer4.conv3", 512, 7, 2048, 1, 1, 0, 3),
]


def resnet50_conv(batch: int = 32) -> list[dict]:
    """ResNet-50's distinct convolution layers at batch ``batch`` (``count``: occurrences in the network)."""
    return [
        {
            "op": "conv",
            "name": f"resnet50.{name}",
            "n": batch,
            "c": c,
            "h": h,
            "w": h,
            "k": k,
            "r": r,
            "s": r,
            "stride": stride,
            "pad": pad,
            "count": count,
        }
        for name, c, h, k, r, stride, pad, count in _RESNET50
    ]


LLM_TOKENS = (1, 16, 128, 2048, 8192)


def llm_gemm() -> list[dict]:
    """The decoder projections of data/llm_decoders.csv at each of ``LLM_TOKENS`` tokens."""
    with open(_DATA / "llm_decoders.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    out = []
    for row in rows:
        v = {k: int(x) for k, x in row.items() if k != "model"}
        layers = v["layers"]
        proj = [
            ("qkv", (v["heads"] + 2 * v["kv_heads"]) * v["head_dim"], v["hidden"], layers),
            ("o", v["hidden"], v["heads"] * v["head_dim"], layers),
            ("gate_up", 2 * v["intermediate"], v["hidden"], layers),
            ("down", v["hidden"], v["intermediate"], layers),
            ("lm_head", v["vocab"], v["hidden"], 1),
        ]
        for tokens in LLM_TOKENS:
            for name, n, k, count in proj:
                out.append(
                    {
                        "op": "gemm",
                        "name": f"llm-{row['model']}-{name}-t{tokens}",
                        "m": tokens,
                        "n": n,
                        "k": k,
                        "trans_a": False,
                        "trans_b": True,
                        "count": count,
                    }
                )
    return out


def _quick() -> list[dict]:
    return [
        {"op": "gemm", "name": "quick-gemm-512", "m": 512, "n": 512, "k": 512, "trans_a": False, "trans_b": False},
        {
            "op": "gemm",
            "name": "quick-gemm-deepbench",
            "m": 35,
            "n": 700,
            "k": 2048,
            "trans_a": False,
            "trans_b": False,
        },
        {
            "op": "conv",
            "name": "quick-conv-3x3",
            "n": 2,
            "c": 64,
            "h": 28,
            "w": 28,
            "k": 64,
            "r": 3,
            "s": 3,
            "stride": 1,
            "pad": 1,
        },
        {
            "op": "conv",
            "name": "quick-conv-1x1-s2",
            "n": 2,
            "c": 64,
            "h": 28,
            "w": 28,
            "k": 128,
            "r": 1,
            "s": 1,
            "stride": 2,
            "pad": 0,
        },
        {"op": "membw", "name": "quick-membw-triad", "kind": "triad", "nbytes": 16 << 20},
        {"op": "membw", "name": "quick-membw-copy", "kind": "copy", "nbytes": 16 << 20},
        {"op": "launch", "name": "quick-launch-empty", "kind": "empty"},
    ]


def names() -> list[str]:
    """Every catalogue name."""
    out = [f"deepbench-{s}-{op}" for s in _DEEPBENCH_SETS for op in ("gemm", "conv")]
    return out + ["resnet50-conv", "llm-gemm", "quick"]


def catalog(name: str, *, batch: int = 32) -> list[dict]:
    """The entries of catalogue ``name`` (see the module doc); ``batch`` is for ``resnet50-conv``."""
    if not isinstance(name, str) or name not in names():
        raise ValueError(f"catalogue {name!r} is not known: expected one of {', '.join(names())}")
    if name == "resnet50-conv":
        from .. import _check

        return resnet50_conv(_check.positive_int("batch", batch))
    if name == "quick":
        return _quick()
    if name == "llm-gemm":
        return llm_gemm()
    which, op = name[len("deepbench-") :].rsplit("-", 1)
    return (_deepbench_gemm if op == "gemm" else _deepbench_conv)(_DEEPBENCH_SETS[which])
