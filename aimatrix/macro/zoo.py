"""The model zoo: every macro model's builder, example inputs, item count and loss.

``build(name, size)`` gives a ``torch.nn.Module`` in eval mode with random weights
fixed by ``seed``; ``inputs(name, batch)`` gives the deterministic inputs of one
benchmark run as a list of *steps* (each a tuple of tensors: most models have one
step; Mask R-CNN has 28, one per synthetic image repeated ``batch`` times);
``items(name, batch)`` counts what a run processes (images, tokens,
audio-seconds, samples) for ``metrics.items_per_s``.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from .. import _check
from ..models import _common
from ..models import classification as cls

SIZES = _common.SIZES


@dataclass(frozen=True)
class ModelSpec:
    """How to build, feed, count and train one model."""

    name: str
    family: str  # classification, detection, translation, speech, ctr
    builder: Callable[..., nn.Module]  # (size, **kw) -> module
    make_inputs: Callable[..., list[tuple]]  # (batch, size, seed, **kw) -> steps
    count_items: Callable[..., float]  # (batch, size, **kw) -> items per run
    unit: str  # what items are
    default_batch: int
    loss: Callable[[nn.Module, tuple, torch.Generator], torch.Tensor]
    cnn: bool = False  # channels-last applies
    precision: str = "cast"  # "cast" the module, or "autocast" (ops with fp32-only kernels)
    graph_capturable: bool = True  # no host synchronisation inside forward
    # Dotted paths of the submodules that hold the dense compute, for models whose forward also has
    # data-dependent control flow (detection: box decoding, NMS, mask pasting). When set, torch-compile
    # compiles only these, torch-graph captures only these (when the whole forward is not capturable), and a
    # low-precision ONNX export casts only these (the rest stays fp32, as autocast).
    parts: tuple[str, ...] = ()
    verify_view: Callable[[list], list] | None = None  # flat outputs -> tensors to compare
    calibrate: Callable[[nn.Module, tuple], None] | None = None
    kw: dict = field(default_factory=dict)  # builder keyword arguments
    description: str = ""


def _classifier(name: str, build: Callable[..., nn.Module], batch: int, desc: str, **kw: Any) -> ModelSpec:
    return ModelSpec(
        name,
        "classification",
        lambda size, **k: build(size, **{**kw, **k}),
        lambda b, size, seed, **k: [(cls.images(b, cls.edge(name, size), seed),)],
        _common.per_sample,
        "images",
        batch,
        cls.loss,
        cnn=True,
        calibrate=lambda m, x: _common.calibrate_batchnorm(m, x),
        description=desc,
    )


def _registry() -> dict[str, ModelSpec]:
    from ..models import alexnet, densenet, googlenet, resnet, vgg

    specs = [
        _classifier("alexnet", alexnet.build, 256, "AlexNet, Caffe reference definition (grouped convs, LRN)"),
        _classifier("googlenet", googlenet.build, 256, "GoogLeNet, BVLC Caffe definition (true 5x5 branches, LRN)"),
        _classifier("vgg16", vgg.build, 128, "VGG16 (torchvision definition)"),
        _classifier("resnet50", resnet.build, 256, "ResNet-50 v1.5 (torchvision definition)", depth="resnet50"),
        _classifier("resnet152", resnet.build, 128, "ResNet-152 v1.5 (torchvision definition)", depth="resnet152"),
        _classifier("densenet121", densenet.build, 128, "DenseNet-121 (torchvision definition)"),
    ]
    specs += _more_specs()
    return {s.name: s for s in specs}


def _more_specs() -> list[ModelSpec]:
    """Detection and sequence models (their files import lazily)."""
    out = []
    for mod in ("maskrcnn", "ssd", "nmt", "deepspeech", "din", "bert", "llama", "statsnet"):
        try:
            module = __import__(f"aimatrix.models.{mod}", fromlist=["SPECS"])
        except ImportError:  # a family not written yet
            continue
        out += module.specs(ModelSpec)
    return out


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, ModelSpec]:
    return _registry()


def names() -> list[str]:
    """Every model name the zoo knows."""
    return list(registry())


def spec(name: str) -> ModelSpec:
    """The ModelSpec of ``name``; ValueError listing the known names otherwise."""
    reg = registry()
    if not isinstance(name, str) or name.lower() not in reg:
        raise ValueError(f"model={name!r} is not allowed: known models are {', '.join(reg)}")
    return reg[name.lower()]


def _check_size(size: str) -> str:
    return _check.choice("size", size, SIZES)


def build(
    name: str,
    size: str = "full",
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    calibrate: bool = True,
    **kw: Any,
) -> nn.Module:
    """The model ``name`` as an eval-mode ``torch.nn.Module`` with random weights fixed by ``seed``.

    ``size="tiny"`` is a small configuration of the same family for CPU tests.
    Batch-norm statistics are set from one deterministic batch (see
    ``models._common.calibrate_batchnorm``) unless ``calibrate=False`` or the
    device is ``meta`` (shape-only, for counting MACs). ``kw`` goes to the model
    builder (e.g. ``num_classes``, NMT's ``hidden``).
    """
    s = spec(name)
    _check_size(size)
    seed = _check.non_negative_int("seed", seed)
    dev = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.device(dev) if dev.type == "meta" else contextlib.nullcontext():
            m = s.builder(size, **{**s.kw, **kw})
    m = m.to(dev).eval()
    if calibrate and s.calibrate is not None and dev.type != "meta":
        steps = s.make_inputs(min(4, s.default_batch), size, seed + 7919, **{**s.kw, **kw})
        s.calibrate(m, tuple(t.to(dev) for t in steps[0]))
    return m


def inputs(
    name: str,
    batch: int | None = None,
    size: str = "full",
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    **kw: Any,
) -> list[tuple]:
    """Deterministic inputs of one run of ``name``: a list of steps, each a tuple of tensors."""
    s = spec(name)
    batch = s.default_batch if batch is None else _check.positive_int("batch", batch)
    steps = s.make_inputs(batch, _check_size(size), seed, **{**s.kw, **kw})
    return [tuple(t.to(device) for t in step) for step in steps]


def items(name: str, batch: int | None = None, size: str = "full", **kw: Any) -> float:
    """What one run of ``name`` processes (images, tokens, audio-seconds, samples)."""
    s = spec(name)
    batch = s.default_batch if batch is None else _check.positive_int("batch", batch)
    return float(s.count_items(batch, _check_size(size), **{**s.kw, **kw}))


def macs(name: str, size: str = "full", batch: int = 1, **kw: Any) -> int:
    """Conv + linear MACs of one run of ``name`` (counted on the meta device: nothing is computed)."""
    from .flops import count_macs

    m = build(name, size, device="meta", **kw)
    return sum(count_macs(m, *(t.to("meta") for t in step)) for step in inputs(name, batch, size, **kw))
