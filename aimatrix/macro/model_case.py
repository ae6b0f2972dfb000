"""``model()``: one macro benchmark case, verified then timed, as a Result."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .. import _check, run_options, timing
from ..device import Device, resolve
from ..errors import VerificationError
from ..results.result import Result
from . import _guard, backends, scenarios, verify, zoo
from .backends.base import DTYPES, ModelCase, flat, torch_result
from .flops import run_counting
from .scenarios import SCENARIOS

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..run_options import RunOptions


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """Where exports (ONNX files, TensorRT engines) are kept: ``path``, ``$AIMATRIX_CACHE_DIR`` or ~/.cache/aimatrix."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("AIMATRIX_CACHE_DIR") or Path.home() / ".cache" / "aimatrix")


def warm_start(
    module: torch.nn.Module, spec: zoo.ModelSpec, steps: list[tuple], iters: int, seed: int, lr: float = 1e-3
) -> None:
    """Train ``iters`` SGD iterations on synthetic data (the original suite's random-data checkpoint)."""
    g = torch.Generator().manual_seed(seed)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
    module.train()
    for i in range(iters):
        loss = spec.loss(module, steps[i % len(steps)], g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)  # random labels give large, noisy gradients
        opt.step()
    module.eval()


def _reference(
    module: torch.nn.Module, spec: zoo.ModelSpec, steps: list[tuple], device: Device
) -> tuple[list, int | None]:
    """Eager fp32 outputs (the compared views) of every step, and the MACs of the run (None: not countable).

    PyTorch's FLOP counter rides along the reference pass (a pass fewer: Mask R-CNN's is 28 images),
    switched on only inside the model's dense parts where it has them (the detection models' products
    are all there; their host-side post-processing then runs at full speed), except in models with RNNs:
    under the counter (a dispatch mode) cuDNN's LSTM handed NMT's decoder 4-D states on an H100
    (PyTorch 2.11), so those are counted in a pass of their own. A model the
    counter cannot run gets None, and its Result no FLOP rates, rather than no Result.
    """
    apart = any(isinstance(m, torch.nn.RNNBase) for m in module.modules())
    views, macs = [], 0
    with _guard.precision("fp32", device, autotune=False), torch.inference_mode():
        for s in steps:
            if apart or macs is None:
                out = module(*s)
            else:
                try:
                    n, _, out = run_counting(module, *s, within=tuple(spec.parts or ()))
                    macs += n
                except RuntimeError:
                    macs, out = None, module(*s)
            out = flat(out)
            views.append(spec.verify_view(out) if spec.verify_view else out)
        return views, (_count(module, steps) if apart else macs)


def _count(module: torch.nn.Module, steps: list[tuple]) -> int | None:
    """The run's MACs under PyTorch's FLOP counter, in a pass of its own (None: not countable)."""
    try:
        return sum(run_counting(module, *s)[0] for s in steps)
    except RuntimeError:
        return None


def model(
    name: str,
    *,
    batch: int | None = None,
    dtype: str = "fp32",
    backend: str = "torch",
    scenario: str = "offline",
    size: str = "full",
    warm_start_iters: int = 0,
    channels_last: bool | None = None,
    strict: bool = False,
    cache_dir: str | os.PathLike | None = None,
    model_kw: dict | None = None,
    compile_mode: str = "default",
    min_queries: int | None = None,
    min_duration: float | None = None,
    max_duration: float | None = None,
    target_qps: float | None = None,
    latency_bound_ms: float | None = None,
    loadgen: bool | None = None,
    log_dir: str | os.PathLike | None = None,
    **options: Unpack[RunOptions],
) -> Result | list[Result]:
    """Benchmark the zoo model ``name`` (see ``aimatrix.macro.zoo.names()``) under one backend.

    ``batch``: samples per step (default: the model's own, 1 for ``single_stream``);
    Mask R-CNN runs 28 steps (images) per run, so items = 28 x batch. ``dtype``:
    fp32 (TF32 off), tf32, fp16, bf16. ``backend``: torch, torch-compile,
    torch-graph, onnxruntime, tensorrt, tensorflow, or ``"best"``. ``scenario`` (MLPerf's;
    see ``aimatrix.macro.scenarios``): ``offline`` (throughput at the batch, the native
    engine's stopping rule), ``single_stream`` (batch 1, one query at a time until
    ``min_queries`` (1024) and ``min_duration`` (60 s) are both reached, or
    ``max_duration``; latency p50/p90/p99 in metrics; smaller minima make a run that is
    not ``mlperf_valid``), ``multi_stream`` (queries of 8 samples) and ``server``
    (Poisson arrivals at ``target_qps``, 99th-percentile ``latency_bound_ms``; no
    ``target_qps``: LoadGen finds the highest that meets the bound). The last two need
    MLCommons LoadGen; single_stream uses it when installed (``loadgen=False``: never,
    ``True``: also for offline), its logs going to ``log_dir`` (default: under the cache
    directory). ``metrics.scenario_source`` says which ran. ``size="tiny"`` is a small
    configuration for tests. ``channels_last`` (default: on for CNNs).
    ``warm_start_iters`` trains that many SGD iterations on synthetic data first.
    ``compile_mode`` is torch.compile's mode for ``backend="torch-compile"``
    (default: torch's default mode; compile time is not timed but reported as
    ``metrics.compile_s``; see ``aimatrix.macro.backends.torch_compile``).
    ``backend="onnxruntime"`` exports once to ``cache_dir`` (default
    ``$AIMATRIX_CACHE_DIR`` or ~/.cache/aimatrix), the exporter's output going to a
    ``.log`` file next to the ``.onnx`` one.

    Before timing, the backend's output is compared with the eager fp32 output on
    the same inputs (``Result.verify``); ``strict=True`` raises VerificationError
    on a mismatch instead of recording it. Peak device memory allocated through
    PyTorch is in ``metrics.peak_memory_bytes`` on a GPU.

    ``backend="best"`` returns a list of Results, one per installed backend that
    can run on the device, the fastest first with ``metrics["best"] = True``
    (failures are recorded as failed Results at the end); otherwise one Result.
    ``options``: the run options (``device``, ``mode``, ``seed``, ``telemetry``, the timing options), see
    ``aimatrix.RunOptions``.
    """
    how = run_options.check(options)
    spec = zoo.spec(name)
    _check.choice("dtype", dtype, DTYPES)
    _check.choice("scenario", scenario, SCENARIOS)
    _check.choice("size", size, zoo.SIZES)
    _check.choice("compile_mode", compile_mode, backends.torch_compile.MODES)
    warm_start_iters = _check.non_negative_int("warm_start_iters", warm_start_iters)
    strict = _check.boolean("strict", strict)
    if batch is not None:
        batch = _check.positive_int("batch", batch)
    fixed = {"single_stream": 1, "server": 1, "multi_stream": scenarios.MLPERF_SAMPLES_PER_QUERY}.get(scenario)
    if fixed is not None:
        if batch not in (None, fixed):
            raise ValueError(f"batch={batch!r} is not allowed with scenario={scenario!r}: it runs batch {fixed}")
        batch = fixed
    sc = scenarios.settings(
        scenario,
        min_queries=min_queries,
        min_duration=min_duration,
        max_duration=max_duration,
        target_qps=target_qps,
        latency_bound_ms=latency_bound_ms,
        loadgen=loadgen,
        log_dir=log_dir,
    )
    if scenario == "offline" and loadgen is None:  # offline stays the native engine's unless LoadGen is asked for
        sc = dataclasses.replace(sc, loadgen=False)
    if not sc.loadgen and scenario == "offline" and (min_queries, min_duration, max_duration) != (None,) * 3:
        raise ValueError(
            "min_queries, min_duration and max_duration are for the latency scenarios (or offline with "
            "loadgen=True): native offline runs the timing options' stopping rule"
        )
    batch = batch or spec.default_batch
    if channels_last is not None:
        channels_last = _check.boolean("channels_last", channels_last)
    kw = dict(model_kw or {})
    opts = how.timing
    args = dict(
        name=spec.name,
        batch=batch,
        dtype=dtype,
        scenario=scenario,
        scenario_settings=sc,
        size=size,
        device=how.device,
        warm_start_iters=warm_start_iters,
        seed=how.seed,
        channels_last=channels_last,
        strict=strict,
        cache_dir=cache_dir,
        mode=how.mode,
        telemetry=how.telemetry,
        model_kw=kw,
        compile_mode=compile_mode,
    )
    if backend == "best":
        return _best(spec.name, args, opts)
    be = backends.get(backend)
    be.import_module()  # UnsupportedError naming the pip package, before any work
    return _run(spec, be, args, opts)


def _run(spec: zoo.ModelSpec, be: backends.Backend, a: dict, opts: dict) -> Result:
    dev = resolve(a["device"])
    cl = spec.cnn if a["channels_last"] is None else a["channels_last"]
    what = f"{spec.name} (size={a['size']}, batch={a['batch']}, {a['dtype']}, {be.name})"
    tdev = torch.device(str(dev))
    if dev.is_cuda:
        torch.cuda.set_device(dev.index)
    with _guard.errors(what, dev), _guard.precision(a["dtype"], dev):
        options = {"compile_mode": a["compile_mode"]}
        # Refusals that depend only on the spec, device and dtype come before building anything.
        be.check(
            ModelCase(
                spec, None, [], a["dtype"], dev, a["size"], a["batch"], cl, "", cache_dir(a["cache_dir"]), options
            )
        )
        if dev.is_cuda:
            torch.cuda.reset_peak_memory_stats(dev.index)
        t0 = time.perf_counter()
        module = zoo.build(spec.name, a["size"], seed=a["seed"], device=tdev, **a["model_kw"])
        steps = zoo.inputs(spec.name, a["batch"], a["size"], seed=a["seed"], device=tdev, **a["model_kw"])
        if a["warm_start_iters"]:
            train = zoo.inputs(
                spec.name, min(a["batch"], 8), a["size"], seed=a["seed"] + 1, device=tdev, **a["model_kw"]
            )
            warm_start(module, spec, train, a["warm_start_iters"], a["seed"])
        key = "|".join(
            map(
                str,
                (
                    spec.name,
                    a["size"],
                    a["batch"],
                    a["dtype"],
                    a["seed"],
                    sorted(a["model_kw"].items()),
                    a["warm_start_iters"],
                    torch.__version__,
                    _tv_version(),
                    _version(),
                    _source_digest(module),
                ),
            )
        )
        case = ModelCase(
            spec,
            module,
            steps,
            a["dtype"],
            dev,
            a["size"],
            a["batch"],
            cl,
            key,
            cache_dir(a["cache_dir"]),
            options=options,
        )
        be.check(case)
        t1 = time.perf_counter()
        ref, macs = _reference(module, spec, steps, dev)
        t2 = time.perf_counter()
        prep = be.prepare(case)
        got = [spec.verify_view(o) if spec.verify_view else o for o in prep.collect()]
        if "reference" in prep.info:  # a framework with its own weights verifies against itself in fp32
            ref = [[prep.info.pop("reference")]]
        ver = verify.compare(got, ref, a["dtype"])
        if not ver["passed"] and a["strict"]:
            raise VerificationError(
                f"{what}: output differs from the eager fp32 reference: rel_error "
                f"{ver['rel_error']:.3g} > tolerance {ver['tolerance']:.3g}"
            )
        t3 = time.perf_counter()
        m, scenario_metrics = _measure(prep, dev, a, opts)
        # Where a case's time goes before timing starts: building, the fp32 reference, the backend's preparation.
        phases = {"build_s": t1 - t0, "reference_s": t2 - t1, "prepare_s": t3 - t2}
        extra: dict[str, Any] = {"macs": macs, "unit": spec.unit, **phases, **prep.metrics, **scenario_metrics}
        if dev.is_cuda:
            extra["peak_memory_bytes"] = torch.cuda.max_memory_allocated(dev.index)
    params = {
        "model": spec.name,
        "batch": a["batch"],
        "size": a["size"],
        "scenario": a["scenario"],
        "steps": len(steps),
        "seed": a["seed"],
        "warm_start_iters": a["warm_start_iters"],
        "channels_last": cl,
        "precision": spec.precision if a["dtype"] in ("fp16", "bf16") else "fp32",
        "mode": a["mode"],
        "model_kw": a["model_kw"],
        **_scenario_params(a["scenario_settings"]),
        **{k: v for k, v in prep.info.items() if not k.startswith("_") and isinstance(v, (str, int, float, bool))},
    }
    return torch_result(
        "model",
        params,
        dev,
        m,
        backend=be.name,
        dtype=a["dtype"],
        flops=None if macs is None else 2.0 * macs,
        items=zoo.items(spec.name, a["batch"], a["size"], **a["model_kw"]),
        verify=ver,
        extra_metrics=extra,
    )


def _measure(prep: Any, dev: Device, a: dict, opts: dict) -> tuple[Any, dict]:
    """Time the prepared model under its scenario: (measurement, scenario metrics)."""
    sc: scenarios.Settings = a["scenario_settings"]
    if sc.scenario == "offline" and not sc.loadgen:
        return (
            timing.measure(prep.run, device=dev, stream=prep.stream, mode=a["mode"], telemetry=a["telemetry"], **opts),
            {},
        )
    from ..system.telemetry import sampling

    def sync() -> None:
        if dev.is_cuda:
            torch.cuda.synchronize(dev.index)

    def query() -> None:
        prep.run()
        sync()

    if opts["pause"]:
        time.sleep(opts["pause"])
    with sampling(dev, enabled=a["telemetry"]) as tel:
        if not sc.loadgen:
            raw, metrics = scenarios.single_stream(query, sc, warmup_s=opts["warmup"])
        else:
            warm = scenarios.warm_up(query, opts["warmup"])
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            name = f"{a['name']}-{sc.scenario}-{stamp}-{os.getpid()}"
            log = sc.log_dir or cache_dir(a["cache_dir"]) / "loadgen" / name
            raw, metrics = scenarios.run_loadgen(
                prep.run, sync, sc, batch=a["batch"], estimate_ms=scenarios.expected_latency_ms(warm), log_dir=Path(log)
            )
            raw["stats"]["warmup_samples"] = len(warm)
        raw["telemetry"] = tel.data
    st = raw["stats"]
    st["timer_requested"] = opts["timer"]
    if opts["timer"] != "events":
        st["timer_note"] = "a latency scenario times each query on the host clock, issue to completion"
    if opts["pause"]:
        st["pause_s"] = opts["pause"]
    if opts["keep_samples"]:
        st["samples_ms"] = list(raw["samples_ms"])
    if opts["discard_throttled"]:
        st.update(discarded_throttled=0, throttle_note="a latency scenario keeps every query (MLPerf's rule)")
    return raw, metrics


def _scenario_params(sc: scenarios.Settings) -> dict:
    """What a latency scenario was asked for (offline's rule is the timing options')."""
    if sc.scenario == "offline" and not sc.loadgen:
        return {}
    out = {"min_queries": sc.min_queries, "min_duration": sc.min_duration, "loadgen": sc.loadgen}
    if sc.max_duration is not None:
        out["max_duration"] = sc.max_duration
    if sc.scenario == "server":
        out.update(target_qps=sc.target_qps, latency_bound_ms=sc.latency_bound_ms)
    return out


def _version() -> str:
    from .. import __version__

    return __version__


def _source_digest(module: torch.nn.Module) -> str:
    """Hash of the aimatrix files defining ``module``'s classes, so an edited model never reuses a stale export."""
    files = sorted(
        {inspect.getsourcefile(type(m)) or "" for m in module.modules() if type(m).__module__.startswith("aimatrix")}
    )
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:12]


def _best(name: str, args: dict, opts: dict) -> list[Result]:
    dev = resolve(args["device"])
    ok, failed = [], []
    for bname in backends.NAMES:
        be = backends.BACKENDS[bname]
        if not be.installed() or (be.needs_cuda and not dev.is_cuda):
            continue
        try:
            ok.append(_run(zoo.spec(name), be, args, opts))
        except Exception as e:  # noqa: BLE001 - recorded, the others still run
            failed.append(
                Result.failed(
                    "model",
                    {"model": name, "batch": args["batch"], "size": args["size"], "scenario": args["scenario"]},
                    backend=bname,
                    dtype=args["dtype"],
                    device=str(dev),
                    exc=e,
                )
            )
    ok.sort(key=lambda r: r.median_ms)
    tried = [r.backend for r in ok + failed]
    out = [r.with_(params={**r.params, "best_of": tried}) for r in ok + failed]
    if ok:
        out[0] = out[0].with_(metrics={**out[0].metrics, "best": True})
    return out


def _tv_version() -> str:
    import torchvision

    return torchvision.__version__
