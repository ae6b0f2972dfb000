"""The whole suite: what ``python -m aimatrix.bench`` runs, tier by tier, on one device.

Each tier is a function of the device and the timing options giving Cases; ``--quick``
changes only the timing options, never which cases run, so a quick run compares with a
full one case by case. The choices (which sizes, which layers, which backend) are here,
once; the reasoning behind each is in its comment.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from .. import run_options
from ..device import Device
from ..micro.launch import KINDS as LAUNCH_KINDS
from .case import TIERS, Case
from .micro import conv_case, device_dtypes, est_seconds, gemm_suite, launch_case, membw_case, resnet50_conv_layers

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..results.result import Result
    from ..run_options import RunOptions

# GEMM: a large square (peak), a medium one, and DeepBench's speech-recognition GEMM (a real
# inference shape; fp8 skips it: its tensor-core kernels need multiples of 16).
GPU_GEMMS = [(8192, 8192, 8192), (2048, 2048, 2048), (5124, 700, 2048)]
CPU_GEMMS = [(1024, 1024, 1024), (256, 256, 256), (35, 700, 2048)]
# ResNet-50 convolutions: its stem, a 3x3 of each of the first and last stages, a 1x1 of the third.
CONV_LAYERS = ("resnet50.conv1", "resnet50.layer1.conv2", "resnet50.layer3.conv1", "resnet50.layer4.conv2")
GPU_CONV_BATCH, CPU_CONV_BATCH = 256, 1
MEMORY_GPU = [("copy", 1 << 30), ("triad", 1 << 30), ("h2d", 256 << 20), ("d2h", 256 << 20)]
MEMORY_CPU = [("copy", 256 << 20), ("triad", 256 << 20)]  # beyond the caches of a server CPU
# Layers: (name, catalogue model, where) from aimatrix.layers.catalog — one of each family.
LAYERS = [
    ("conv_bn_relu", "resnet50", "layer1 3x3"),
    ("linear", "vgg16", "fc6"),
    ("lstm", "nmt", "encoder"),
    ("attention", "nmt", "attention per decoder step"),
    ("layernorm", "nmt", "(GNMT-with-layer-norm variant)"),
    ("embedding_bag", "din", "history pooled as a bag (sum)"),
]
# On the CPU: batch 1 at full size where a forward takes at most ~1 s on two cores; the
# detection and sequence models at their "tiny" size (full Mask R-CNN is 28 images of 800 px).
CPU_MACRO_TINY = ("maskrcnn", "ssd", "nmt", "nmt_beam", "deepspeech", "vgg16", "resnet152")
# The original AI Matrix suite's models, and BERT-base (MLPerf's: sequence 128), as AI Matrix added it.
MACRO_MODELS = ("alexnet", "googlenet", "vgg16", "resnet50", "resnet152", "densenet121", "maskrcnn", "ssd", "nmt",
                "nmt_beam", "deepspeech", "din", "bert_base")  # fmt: skip
# The ~1B Llama-style decoder as LLM serving is measured: prefill (time to first token, compute-bound)
# and decode with a KV cache (time per output token, bandwidth-bound), one user and a full batch.
# The CPU runs the "tiny" configuration: the 1B one's prefill alone is ~2.5 TFLOP.
LLM_PHASES = [(phase, batch) for phase in ("prefill", "decode") for batch in (1, 64)]
SYNTH_MODELS = ("alexnet", "vgg16", "googlenet")


def _gpu_dtype(dev: Device) -> str:
    return "bf16" if "bf16" in device_dtypes(dev) else "fp16"


def _torch_backend(dev: Device) -> str:
    """CUDA graphs on a GPU: a layer or a small CNN launched eagerly measures the host's launch
    rate as much as the GPU (two H100 hosts read 1.6-1.9x apart on eager layers); replayed as
    one graph, it measures the GPU. Eager on the CPU, where there is nothing to capture."""
    return "torch-graph" if dev.is_cuda else "torch"


def micro_cases(dev: Device, timing: dict) -> list[Case]:
    """GEMM per dtype the device runs, ResNet-50 convolutions in each direction, memory bandwidth, launch latency."""
    cases = gemm_suite(dev, shapes=GPU_GEMMS if dev.is_cuda else CPU_GEMMS, timing=timing)
    layers = {e["name"]: e for e in resnet50_conv_layers(GPU_CONV_BATCH if dev.is_cuda else CPU_CONV_BATCH)}
    if dev.is_cuda:
        cases += [
            conv_case(layers[name], dev, dtype=_gpu_dtype(dev), layout="nhwc", direction=d, timing=timing)
            for name in CONV_LAYERS
            for d in ("fwd", "bwd_data", "bwd_filter")
        ]
        cases += [membw_case(kind, nbytes, dev, timing=timing) for kind, nbytes in MEMORY_GPU]
        cases += [launch_case(kind, dev, timing=timing) for kind in LAUNCH_KINDS]
    else:  # the CPU back end runs forward convolutions; transfers and launches are GPU notions
        cases += [conv_case(layers[name], dev, dtype="fp32", timing=timing) for name in CONV_LAYERS]
        cases += [membw_case(kind, nbytes, dev, timing=timing) for kind, nbytes in MEMORY_CPU]
    return cases


def layer_cases(dev: Device, timing: dict) -> list[Case]:
    """One layer of each family at the shape its model runs (on the CPU: batch 1), each a CUDA graph on a GPU."""
    from ..layers import catalog, layer

    entries = {(e["layer"], e["model"], e["where"]): e for e in catalog()}
    dtype = _gpu_dtype(dev) if dev.is_cuda else "fp32"
    cases = []
    for key in LAYERS:
        shape = dict(entries[key]["shape"])
        if not dev.is_cuda:
            shape["n"] = 1
        kw = dict(shape, dtype=dtype, backend=_torch_backend(dev), device=str(dev), **timing)
        cases.append(Case("layer", layer, (key[0],), kw, arg_names=("layer",), est_s=est_seconds(timing, 1.0)))
    return cases


def macro_cases(dev: Device, timing: dict) -> list[Case]:
    """The AI Matrix models and BERT-base at their standard batch, bf16 under CUDA graphs on a GPU (fp32 eager at
    batch 1 on the CPU), then the decoder's prefill and decode.

    torch-graph rather than torch-compile: compiling the zoo takes longer than the whole
    suite's budget, and replaying graphs removes the launch overhead that eager mode adds.
    """
    from ..macro import model
    from ..macro.llm import llm

    cases = []
    for name in MACRO_MODELS:
        if dev.is_cuda:
            kw = dict(dtype=_gpu_dtype(dev), backend=_torch_backend(dev))
        else:
            kw = dict(batch=1, dtype="fp32", backend="torch", size="tiny" if name in CPU_MACRO_TINY else "full")
        cases.append(
            Case(
                "model",
                model,
                (name,),
                dict(kw, device=str(dev), **timing),
                arg_names=("model",),
                est_s=est_seconds(timing, 8.0 if dev.is_cuda else 3.0),
            )
        )
    for phase, batch in LLM_PHASES:
        kw = dict(config="1b", dtype=_gpu_dtype(dev)) if dev.is_cuda else dict(config="tiny", dtype="fp32")
        kw.update(batch=batch, backend=_torch_backend(dev), device=str(dev), **timing)
        cases.append(
            Case(
                "model", llm, (phase,), kw, arg_names=("phase",), est_s=est_seconds(timing, 8.0 if dev.is_cuda else 1.0)
            )
        )
    return cases


def statsnet_proxy(
    models: str,
    *,
    dtype: str,
    backend: str = "torch",
    size: str = "full",
    bits: int = 10,
    population: int = 5000,
    generations: int = 50,
    **options: Unpack[RunOptions],
) -> Result:
    """Profile ``models`` (comma list), cluster their convolutions, synthesize the proxy (native GA), run it.

    The synthesis is seeded and its warps estimated, so every run on every device builds the same
    proxy; its Result is op ``synth``
    with the real models' names in ``params["models"]``; ``backend`` is ``torch`` (the whole
    module), ``torch-graph`` (the module as one CUDA graph) or ``native`` (its convolutions alone).
    ``options``: the run options (``aimatrix.RunOptions``); ``seed`` seeds the GA too.
    """
    from ..synth.cluster import cluster
    from ..synth.profile import profile
    from ..synth.run import run_model
    from ..synth.synthesize import synthesize

    names = [m for m in models.split(",") if m]
    seed = run_options.check(options).seed  # bad options refused before the minutes of profiling and synthesis
    t0 = time.perf_counter()
    # Warps from the analytic estimator, not measured: the same proxy network on every device and run.
    groups = cluster(profile(names, device="cpu", warps="estimate", size=size), None)
    proxy = synthesize(groups, bits=bits, population=population, generations=generations, seed=seed)
    synthesize_s = time.perf_counter() - t0
    r = run_model(proxy, dtype=dtype, backend=backend, **options)
    # Profiling, clustering and the GA: where the case's time goes, beside the run's own phases.
    return r.with_(metrics={**r.metrics, "synthesize_s": synthesize_s})


def synthetic_cases(dev: Device, timing: dict) -> list[Case]:
    """The StatsNet proxy of AlexNet + VGG16 + GoogLeNet: profiled, clustered, synthesized here, then run
    (a CUDA graph on a GPU)."""
    proxy = statsnet_proxy
    dtype = _gpu_dtype(dev) if dev.is_cuda else "fp32"
    kw = dict(dtype=dtype, backend=_torch_backend(dev), device=str(dev), **timing)
    return [Case("synth", proxy, (",".join(SYNTH_MODELS),), kw, arg_names=("models",), est_s=est_seconds(timing, 10.0))]


BUILDERS: dict[str, Callable[[Device, dict], list[Case]]] = {
    "micro": micro_cases,
    "layers": layer_cases,
    "macro": macro_cases,
    "synthetic": synthetic_cases,
}
assert tuple(BUILDERS) == TIERS


def cases(dev: Device, timing: dict, tiers: tuple[str, ...] = TIERS) -> list[Case]:
    """The whole suite's cases for ``tiers``, in the suite's order."""
    return [c for t in TIERS if t in tiers for c in BUILDERS[t](dev, timing)]
