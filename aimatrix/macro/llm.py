"""LLM serving benchmarks of the Llama-style decoder: prefill, decode with a KV cache, and generate.

Measured as the serving world measures it (vLLM, TensorRT-LLM, MLPerf's LLM benchmarks):

- ``prefill``: a batch of prompts through the model, keys and values written to the KV
  cache, the first token's logits: ``ttft_ms`` (time to first token) and
  ``tokens_per_s`` (prompt tokens per second).
- ``decode``: one decode step of every sequence in the batch at a context of ``prompt``
  cached tokens: ``tpot_ms`` (time per output token) and ``tokens_per_s`` = batch / TPOT.
  Under ``torch-graph`` the step is one CUDA graph replay.
- ``generate``: prefill plus ``new_tokens - 1`` greedy decode steps with no host sync
  (``torch-graph``: the whole loop is one graph): ``e2e_ms`` and output ``tokens_per_s``.

Every Result carries the model's FLOPs and bytes per token (``flops_per_token``,
``bytes_per_token``; counting in ``models.llama.flops``/``bytes_moved``) and, on a GPU,
both ``pct_of_peak_flops`` and ``pct_of_peak_bandwidth``, with ``bound`` saying which is
higher: decode at small batch reads every weight and the whole cache per token, and is
bandwidth-bound. Before timing, the output logits are compared with the eager fp32
model's on the same inputs (``Result.verify``). Weights are random, fixed by the seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

import torch

from .. import _check, run_options
from ..device import resolve
from ..errors import VerificationError
from ..models import _transformer as tf
from ..models import llama
from ..results.result import Result
from ..system.peaks import device_peak_gbps, device_peak_tflops
from . import _guard, _memory, backends, verify
from .backends.base import DTYPES, bare_case, flat, torch_result

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..run_options import RunOptions

PHASES = ("prefill", "decode", "generate")
LLM_BACKENDS = ("torch", "torch-compile", "torch-graph")
_WIDTH = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2}
_DEFAULTS = {"tiny": (16, 8)}  # (prompt, new_tokens); full-size configurations: (1024, 128)


def _need_bytes(c: llama.Config, phase: str, batch: int, prompt: int, new: int) -> float:
    """Bytes a case allocates: fp32 weights and cache (the reference runs fp32), activations of the widest step."""
    length = prompt + (new if phase == "generate" else 1)
    tokens = batch * (1 if phase == "decode" else prompt)
    act = 4.0 * tokens * (6 * c.hidden + 3 * c.intermediate) + 8.0 * batch * c.vocab
    if phase != "decode":  # the fp32 reference's grouped-query prefill may take the math kernel: the whole scores
        act += 4.0 * batch * c.heads * prompt * prompt
    return 4.0 * llama.params(c)["total"] + llama.kv_cache_bytes(c, batch, length, 4) + act


def llm(
    phase: str = "decode",
    *,
    config: str = "1b",
    batch: int = 1,
    prompt: int | None = None,
    new_tokens: int | None = None,
    dtype: str = "bf16",
    backend: str = "torch",
    sdpa_backend: str = "auto",
    strict: bool = False,
    **options: Unpack[RunOptions],
) -> Result:
    """Benchmark one serving phase (``prefill``, ``decode``, ``generate``) of the Llama-style decoder.

    ``config``: ``1b`` (Llama 3.2 1B), ``8b`` (Llama 3.1 8B) or ``tiny`` (tests).
    ``prompt``: prompt tokens per sequence, also decode's context (default 1024; tiny 16);
    ``new_tokens``: tokens ``generate`` produces (default 128; tiny 8). ``backend``: torch,
    torch-compile or torch-graph (CUDA graphs). ``sdpa_backend`` pins the attention kernel
    (see ``models._transformer``). A case that cannot fit in the device's free memory is
    refused before anything is allocated (OutOfMemoryError with the size needed).
    ``options``: the run options (``device``, ``mode``, ``seed``, ``telemetry``, the timing
    options), see ``aimatrix.RunOptions``. Metrics: see the module doc.
    """
    how = run_options.check(options)
    _check.choice("phase", phase, PHASES)
    _check.choice("config", config, llama.CONFIGS)
    _check.choice("dtype", dtype, DTYPES)
    _check.choice("backend", backend, LLM_BACKENDS)
    _check.choice("sdpa_backend", sdpa_backend, tf.SDPA_BACKENDS)
    batch = _check.positive_int("batch", batch)
    dp, dn = _DEFAULTS.get(config, (1024, 128))
    prompt = _check.positive_int("prompt", dp if prompt is None else prompt)
    new = _check.positive_int("new_tokens", dn if new_tokens is None else new_tokens)
    strict = _check.boolean("strict", strict)
    c = llama.CONFIGS[config]
    length = prompt + (new if phase == "generate" else 1)
    if length > c.max_pos:
        raise ValueError(
            f"prompt={prompt} + new_tokens={new} is not allowed: config {config!r} has {c.max_pos} positions"
        )
    dev = resolve(how.device)
    tdev = torch.device(str(dev))
    be = backends.get(backend)
    name = f"llama_{config}"
    what = f"{name} {phase} (batch {batch}, prompt {prompt}, {dtype}, {backend})"
    need = _need_bytes(c, phase, batch, prompt, new)
    _memory.require(need, tdev, what)
    if dev.is_cuda:
        torch.cuda.reset_peak_memory_stats(dev.index)
    with _guard.errors(what, dev), _guard.precision(dtype, dev):
        sdpa_ran = check_phase(c, phase, prompt, new, sdpa_backend, tdev, dtype)
        module, inputs = build_phase(c, phase, batch, prompt, new, sdpa_backend, how.seed, tdev)
        with _guard.precision("fp32", dev, autotune=False), torch.inference_mode():
            ref = _view(phase, flat(module(*inputs)))
        parts = ("model",) if phase == "generate" else ()  # torch-compile: the model, not the unrolled loop
        case = bare_case(name, module, inputs, dtype=dtype, device=dev, batch=batch, size=config, parts=parts)
        be.check(case)
        prep = be.prepare(case)
        ver = verify.compare([_view(phase, o) for o in prep.collect()], [ref], dtype)
        if not ver["passed"] and strict:
            raise VerificationError(
                f"{what}: logits differ from the eager fp32 reference: rel_error "
                f"{ver['rel_error']:.3g} > tolerance {ver['tolerance']:.3g}"
            )
        m = how.measure(prep.run, dev, prep.stream)
        peak_mem = torch.cuda.max_memory_allocated(dev.index) if dev.is_cuda else None
    flops, nbytes, tokens = _counts(c, phase, batch, prompt, new, _WIDTH[dtype])
    sec = m.median_ms / 1e3
    extra: dict[str, Any] = {
        "unit": "tokens",
        "tokens_per_s": tokens / sec,
        "flops_per_token": flops / tokens,
        "bytes_per_token": nbytes / tokens,
        "kv_cache_bytes": llama.kv_cache_bytes(c, batch, length, _WIDTH[dtype]),
        "params": llama.params(c)["total"],
        **prep.metrics,
    }
    extra[{"prefill": "ttft_ms", "decode": "tpot_ms", "generate": "e2e_ms"}[phase]] = m.median_ms
    if peak_mem is not None:
        extra["peak_memory_bytes"] = peak_mem
    if dev.is_cuda:
        extra.update(_roofline(flops, nbytes, sec, device_peak_tflops(dev, dtype), device_peak_gbps(dev)))
    params = {
        "model": name,
        "phase": phase,
        "config": config,
        "batch": batch,
        "prompt": prompt,
        "context": prompt if phase == "decode" else 0,
        "new_tokens": new if phase == "generate" else 1,
        "sdpa_backend": sdpa_backend,
        "sdpa_ran": sdpa_ran,
        "seed": how.seed,
        "mode": how.mode,
        **{k: v for k, v in prep.info.items() if isinstance(v, (str, int, float, bool))},
    }
    return torch_result(
        "model",
        params,
        dev,
        m,
        backend=backend,
        dtype=dtype,
        flops=flops,
        bytes=nbytes,
        items=tokens,
        verify=ver,
        extra_metrics=extra,
    )


def run_llm(
    config: str = "1b",
    *,
    phases: Iterable[str] = ("prefill", "decode"),
    batches: Iterable[int] = (1, 8, 64),
    backends_: Iterable[str] = ("torch-graph",),
    **options: Any,
) -> Iterator[Result]:
    """Yield one Result per (phase, batch, backend) of :func:`llm`, through the suite runner; a failure is a
    failed Result.

    The serving sweep: e.g. prefill (TTFT) and decode (TPOT) of the 1B decoder at batch 1, 8
    and 64 under CUDA graphs. Other keyword options go to :func:`llm` (``prompt``, ``dtype``,
    ``device``, timing options, ...).
    """
    from ..suite.case import Case
    from ..suite.runner import iter_results

    cases = [
        Case("model", llm, (phase,), dict(options, config=config, batch=batch, backend=be), arg_names=("phase",))
        for phase in phases
        for batch in batches
        for be in backends_
    ]
    yield from iter_results(cases, device=str(options.get("device", "auto")))


def check_phase(
    c: llama.Config, phase: str, prompt: int, new: int, sdpa_backend: str, dev: torch.device, dtype: str
) -> str:
    """The attention kernels the phase runs (``"prefill flash, decode efficient"``); UnsupportedError
    when ``sdpa_backend`` cannot run one of its attention shapes."""
    shapes: list[tuple[str, dict[str, Any]]] = []
    if phase != "decode":  # prefill: causal over the prompt, grouped-query
        shapes.append(("prefill", dict(heads=c.heads, kv_heads=c.kv_heads, seq=prompt, kv_seq=prompt, causal=True)))
    if phase != "prefill":  # decode: a group's queries as one block over its KV head's cache (generate: masked)
        g = c.heads // c.kv_heads
        length = prompt + (new if phase == "generate" else 1)
        shapes.append(
            ("decode", dict(heads=g, kv_heads=g, seq=g, kv_seq=length, causal=False, masked=phase == "generate"))
        )
    tdt = backends.base.TORCH_DTYPE[dtype]
    return ", ".join(
        f"{name} {tf.check_sdpa(sdpa_backend, dim=c.head_dim, dtype=tdt, device=dev, **shape)}"
        for name, shape in shapes
    )


def build_phase(
    c: llama.Config, phase: str, batch: int, prompt: int, new: int, sdpa_backend: str, seed: int, dev: torch.device
) -> tuple[torch.nn.Module, tuple]:
    """The phase's module (fp32, eval) and its inputs, made on ``dev`` (random weights from its generator)."""
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []), torch.device(dev):
        torch.manual_seed(seed)
        model = llama.Llama(c, max_pos=prompt + new, sdpa_backend=sdpa_backend)
        if phase == "prefill":
            module = llama.Prefill(model, batch, prompt)
        elif phase == "decode":
            module = llama.DecodeStep(model, batch, prompt, seed)
        else:
            module = llama.Generate(model, batch, prompt, new)
    gen = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, c.vocab, (batch, 1 if phase == "decode" else prompt), generator=gen)
    return module.eval(), (tokens.to(dev),)


def _view(phase: str, out: list[torch.Tensor]) -> list[torch.Tensor]:
    """The compared outputs: the logits (generate: the first token's; greedy tokens of a random model differ
    between precisions as soon as two logits are close, so they are not compared)."""
    return [out[1].float()] if phase == "generate" else [t.float() for t in out]


def _counts(c: llama.Config, phase: str, batch: int, prompt: int, new: int, width: int) -> tuple[float, float, float]:
    """(FLOPs, bytes, tokens) of one timed run: prompt tokens for prefill, output tokens otherwise."""
    if phase == "prefill":
        return llama.flops(c, batch, prompt, 0), llama.bytes_moved(c, batch, prompt, 0, width), float(batch * prompt)
    if phase == "decode":
        return llama.flops(c, batch, 1, prompt), llama.bytes_moved(c, batch, 1, prompt, width), float(batch)
    fl = llama.flops(c, batch, prompt, 0) + sum(llama.flops(c, batch, 1, prompt + j) for j in range(new - 1))
    by = llama.bytes_moved(c, batch, prompt, 0, width) + sum(
        llama.bytes_moved(c, batch, 1, prompt + j, width) for j in range(new - 1)
    )
    return fl, by, float(batch * new)


def _roofline(flops: float, nbytes: float, sec: float, pt: float | None, pg: float | None) -> dict:
    """% of peak compute and of peak memory bandwidth, and which one the run is closer to."""
    out: dict[str, Any] = {"arithmetic_intensity": flops / nbytes}
    if pt:
        out["pct_of_peak_flops"] = 100.0 * flops / sec / 1e12 / pt
    if pg:
        out["peak_gbps"] = pg
        out["pct_of_peak_bandwidth"] = 100.0 * nbytes / sec / 1e9 / pg
    if pt and pg:
        out["bound"] = "memory" if out["pct_of_peak_bandwidth"] >= out["pct_of_peak_flops"] else "compute"
    return out
