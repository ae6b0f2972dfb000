"""Does aimatrix's model harness add overhead? And a throughput table of the whole zoo.

1. ResNet-50, bf16, batch 256, ``torch-graph``: ``aimatrix.macro.model`` against the
   same model (same builder, dtype, channels-last, inputs) captured in a CUDA graph
   and timed with ``triton.testing.do_bench`` (median) in the same process. The raw
   figure is taken before and after aimatrix's and averaged; the ratio must be
   within 1%.
2. Every zoo model x installed backend x {bf16, fp32} at its default batch, as
   Markdown rows on stdout and Results in the JSONL file ``--out``. A failing case
   is printed with its reason and the run goes on; ``--budget-s`` stops starting
   new cases once spent (the skipped ones are listed). ``--quick`` times each case
   with ``aimatrix.timing.QUICK`` (0.3 s warm-up, 0.5 s to ``--max-time`` of samples,
   at least 3); ``--precompile-jobs N`` compiles every torch-compile case in N
   processes at once before the (last) torch-compile pass, so that pass finds
   Inductor's on-disk caches warm. Compile and export times are reported, never timed.
   Each precompile gets a fresh process, and a case whose compile may have broken its
   CUDA context (an illegal address is sticky) is reported, not timed: it could end
   every case after it; after such a failure in the timed pass's process, the cases
   after it run each in a fresh process. Cases run through the suites' runner
   (aimatrix.suite.runner.run_cases). ``--isolate
   compile|all`` times each case in a fresh process from the start (about 30 s more
   per torch-compile case). ``--resume`` appends to ``--out`` and skips the cases it
   already holds a successful Result of (failed ones run again).

    python bench/macro_vs_raw.py --out macro.jsonl [--models resnet50,din] [--backends torch,torch-graph]
    python bench/macro_vs_raw.py --out smoke.jsonl --device cpu --size tiny --skip-overhead --quick
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from aimatrix import timing as am_timing
from aimatrix.macro import backends as be_mod
from aimatrix.macro import model, zoo
from aimatrix.results.jsonl import JsonlWriter, load_results
from aimatrix.results.result import Result
from aimatrix.suite.case import Case
from aimatrix.suite.runner import may_poison_context, run_cases

ORDER = ("torch", "torch-graph", "onnxruntime", "tensorrt", "tensorflow", "torch-compile")  # compiles last


def raw_resnet50_graph(batch: int) -> float:
    """Images/s of ResNet-50 bf16 channels-last replayed from a CUDA graph, timed by triton's do_bench."""
    from triton.testing import do_bench

    torch.backends.cudnn.benchmark = True
    m = zoo.build("resnet50", device="cuda").to(torch.bfloat16).to(memory_format=torch.channels_last)
    x = (
        zoo.inputs("resnet50", batch, device="cuda")[0][0]
        .to(torch.bfloat16)
        .contiguous(memory_format=torch.channels_last)
    )
    with torch.inference_mode():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                m(x)
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            m(x)
    ms = do_bench(g.replay, warmup=200, rep=2000, return_mode="median")
    del g, m, x
    torch.cuda.empty_cache()
    return batch / (ms / 1e3)


def overhead_check(batch: int, out: JsonlWriter) -> bool:
    raw1 = raw_resnet50_graph(batch)
    r = model("resnet50", batch=batch, dtype="bf16", backend="torch-graph", device="cuda", max_time=5.0, target=0.002)
    out.write(r)
    raw2 = raw_resnet50_graph(batch)
    raw = (raw1 + raw2) / 2
    ratio = r.items_per_s / raw
    ok = abs(ratio - 1.0) <= 0.01
    print("## ResNet-50 bf16 batch %d torch-graph: aimatrix vs triton do_bench\n" % batch)
    print("| | img/s |\n|---|---:|")
    print(f"| triton do_bench (before) | {raw1:,.0f} |\n| aimatrix.model | {r.items_per_s:,.0f} |")
    print(f"| triton do_bench (after) | {raw2:,.0f} |")
    print(
        f"\nratio aimatrix/raw = {ratio:.4f} ({'PASS' if ok else 'FAIL'}: must be within 1%); "
        f"verify rel_error {r.verify.get('rel_error'):.3g}, n={r.stats.get('n')}, converged={r.stats.get('converged')}\n",
        flush=True,
    )
    return ok


def _precompile_one(task: tuple) -> tuple[str, str, str, bool]:
    """In a fresh worker process: one torch-compile case, compiled (and run once) to fill Inductor's on-disk
    caches. The last field says whether the failure may have broken its CUDA context (the timed pass then leaves
    the case out)."""
    name, dt, device, size = task
    try:
        r = model(
            name,
            dtype=dt,
            backend="torch-compile",
            device=device,
            size=size,
            max_time=0.01,
            min_time=0.0,
            min_samples=1,
            warmup=0.0,
        )
        return name, dt, f"compiled in {r.metrics['compile_s']:.0f} s", False
    except Exception as e:  # noqa: BLE001 - the timed pass compiles it again and reports
        return (
            name,
            dt,
            f"{type(e).__name__}: {str(e).splitlines()[0][:120]}",
            may_poison_context({"type": type(e).__name__}),
        )


def precompile(cases: list[tuple[str, str]], jobs: int, device: str, size: str) -> dict[tuple[str, str], str]:
    """Compile the torch-compile cases in ``jobs`` processes at once, so the timed pass finds warm caches.

    Inductor keeps compiled graphs on disk (FX graph and AOTAutograd caches in
    $TORCHINDUCTOR_CACHE_DIR); the timed pass then re-traces with Dynamo but skips
    lowering and kernel compilation. Nothing else runs meanwhile, so no timing is disturbed.
    Each case gets a fresh process: a CUDA error poisons its process's context (an illegal
    address is sticky), and must not fail the cases after it. Returns the cases whose failure may
    have done so (the suites' rule, aimatrix.suite.runner.may_poison_context), with the error:
    running them in the timed pass's process could end every case after them.
    """
    t0 = time.monotonic()
    broken: dict[tuple[str, str], str] = {}
    saved = os.environ.get("TORCHINDUCTOR_COMPILE_THREADS")
    os.environ["TORCHINDUCTOR_COMPILE_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))  # workers inherit it
    try:
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as pool:
            for name, dt, what, sticky in pool.map(_precompile_one, [(n, d, device, size) for n, d in cases]):
                print(f"precompile {name} {dt}: {what}", file=sys.stderr, flush=True)
                if sticky:
                    broken[(name, dt)] = what
    finally:
        if saved is None:
            os.environ.pop("TORCHINDUCTOR_COMPILE_THREADS", None)
        else:
            os.environ["TORCHINDUCTOR_COMPILE_THREADS"] = saved
    print(
        f"\n(torch-compile cases precompiled in {jobs} processes in {time.monotonic() - t0:.0f} s; "
        "compile_s below is the timed pass's, with warm caches)\n",
        flush=True,
    )
    return broken


def run_case(name: str, dt: str, be: str, device: str, size: str, timing: dict, isolate: bool) -> Result:
    """One table case through the suites' runner: in this process, or in a child process of its own."""
    case = Case("model", model, (name,), dict(dtype=dt, backend=be, device=device, size=size, **timing), ("model",))
    return run_cases([case], device=device, isolate=isolate)[0]


def done_cases(path: str) -> set[tuple[str, str, str]]:
    """(model, backend, dtype) of the successful Results already in a JSONL file (none if it does not exist)."""
    if not os.path.exists(path):
        return set()
    return {(r.params.get("model"), r.backend, r.dtype) for r in load_results(path).results if r.op == "model" and r.ok}


def table(
    models: list[str],
    backends: list[str],
    dtypes: list[str],
    out: JsonlWriter,
    budget_s: float,
    timing: dict,
    device: str = "cuda",
    size: str = "full",
    precompile_jobs: int = 0,
    isolate: str = "compile",
    done: set | None = None,
) -> int:
    print("## Throughput at default batch\n")
    print(
        "| model | backend | dtype | batch | items/s | unit | median ms | TFLOP/s | peak mem GiB | rel_error | "
        "compile/export s | status |"
    )
    print("|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|", flush=True)
    start, failures, skipped, done, poisoned = time.monotonic(), 0, [], done or set(), False
    for be in backends:
        todo = [(n, d) for n in models for d in dtypes if (n, be, d) not in done]
        broken: dict[tuple[str, str], str] = {}
        if be == "torch-compile" and precompile_jobs > 0 and todo and time.monotonic() - start < budget_s:
            broken = precompile(todo, precompile_jobs, device, size)
        for name, dt in todo:
            if time.monotonic() - start > budget_s:
                skipped.append(f"{name}/{be}/{dt}")
                continue
            t0 = time.monotonic()
            isolated = poisoned or isolate == "all" or (isolate == "compile" and be == "torch-compile")
            if (name, dt) in broken:
                r = Result.failed(
                    "model",
                    {"model": name},
                    backend=be,
                    dtype=dt,
                    device=device,
                    exc=RuntimeError(
                        f"not timed: compiling it alone may have broken its CUDA context ({broken[name, dt]})"
                    ),
                )
            else:
                r = run_case(name, dt, be, device, size, timing, isolated)
                if not isolated and r.error and may_poison_context(r.error):
                    # this process's CUDA context is gone: the cases after it each get a fresh process
                    poisoned = True
                    print(
                        f"(a CUDA error in {name}/{be}/{dt} ended this process's context: the remaining cases run "
                        "each in a fresh process)",
                        file=sys.stderr,
                        flush=True,
                    )
            out.write(r)
            took = time.monotonic() - t0
            if r.ok:
                mem = r.metrics.get("peak_memory_bytes", 0) / 2**30
                status = "ok" if r.verify.get("passed") else "VERIFY FAILED"
                err = r.verify.get("rel_error")
                setup = r.metrics.get("compile_s", r.metrics.get("export_s"))
                setup = "" if setup is None else f"{setup:.1f}"
                if r.metrics.get("graph_breaks"):
                    status += f", {r.metrics['graph_breaks']} graph break(s)"
                if r.ran.get("compiled", "whole model") != "whole model":
                    status += ", dense parts compiled"
                print(
                    f"| {name} | {be} | {dt} | {r.params['batch']} | {r.items_per_s:,.1f} | {r.metrics['unit']} | "
                    f"{r.median_ms:.3f} | {r.tflops or 0:.1f} | {mem:.1f} | {'non-finite' if err is None else f'{err:.2g}'} | "
                    f"{setup} | {status} ({took:.0f} s) |",
                    flush=True,
                )
            else:
                failures += 1
                msg = r.error["message"].replace("|", "/").replace("\n", " ")[:200]
                print(f"| {name} | {be} | {dt} | | | | | | | | | {r.error['type']}: {msg} |", flush=True)
    if skipped:
        print(f"\nskipped (time budget of {budget_s:.0f} s spent): {', '.join(skipped)}")
    print(f"\ntable: {time.monotonic() - start:.0f} s")
    return failures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="JSONL file for the Results")
    p.add_argument("--models", default=",".join(zoo.names()))
    p.add_argument("--backends", default=None, help="default: every installed backend")
    p.add_argument("--dtypes", default="bf16,fp32")
    p.add_argument("--batch", type=int, default=256, help="batch of the overhead check")
    p.add_argument("--budget-s", type=float, default=180.0, help="stop starting table cases after this long")
    p.add_argument("--max-time", type=float, default=1.0, help="timing budget per case (s)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="aimatrix.timing.QUICK for the table (0.3 s warm-up, 0.5 s of samples, at least 3 samples)",
    )
    p.add_argument(
        "--precompile-jobs",
        type=int,
        default=0,
        help="compile the torch-compile cases in this many processes first (warm Inductor caches)",
    )
    p.add_argument(
        "--isolate",
        default="none",
        choices=("none", "compile", "all"),
        help="time these cases each in a fresh process (about 30 s more per torch-compile case)",
    )
    p.add_argument(
        "--resume", action="store_true", help="append to --out, skipping the cases it holds a successful Result of"
    )
    p.add_argument("--skip-overhead", action="store_true")
    p.add_argument("--device", default="cuda", help="cpu (with --skip-overhead --size tiny) for a smoke run")
    p.add_argument("--size", default="full", choices=zoo.SIZES)
    a = p.parse_args(argv)
    if a.device != "cpu" and not torch.cuda.is_available():
        print("needs a CUDA GPU (or --device cpu --skip-overhead for a smoke run)", file=sys.stderr)
        return 2
    installed = set(be_mod.installed())
    backends = [b for b in ORDER if b in installed] if a.backends is None else a.backends.split(",")
    if a.device == "cpu":
        backends = [b for b in backends if not be_mod.BACKENDS[b].needs_cuda]
    where = torch.cuda.get_device_name() if a.device != "cpu" else "cpu"
    print(f"# aimatrix macro benchmarks on {where}\n\ninstalled backends: {', '.join(sorted(installed))}\n")
    ok = True
    done = done_cases(a.out) if a.resume else set()
    with JsonlWriter(a.out, append=a.resume) as out:
        if not a.skip_overhead:
            try:
                ok = overhead_check(a.batch, out)
            except Exception as e:  # noqa: BLE001
                print(f"overhead check failed: {type(e).__name__}: {e}\n", flush=True)
                ok = False
        if a.quick:
            timing = am_timing.rule(am_timing.QUICK, max_time=a.max_time, min_samples=3)
        else:
            timing = dict(max_time=a.max_time, min_time=min(0.1, a.max_time), min_samples=3)
        print(f"table timing per case: {timing}\n", flush=True)
        failures = table(
            a.models.split(","),
            backends,
            a.dtypes.split(","),
            out,
            a.budget_s,
            timing,
            a.device,
            a.size,
            a.precompile_jobs,
            a.isolate,
            done,
        )
    print(f"\n{failures} case(s) failed; overhead check {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
