"""The StatsNet pipeline: profile -> cluster -> synthesize -> run, printing the tables; the CLI's ``synth``.

Above the pieces it chains (profile, cluster, synthesize, run), so none of them imports another's caller.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import _check
from ..device import resolve
from ..results.result import Result
from .cluster import cluster, format_table, save_groups
from .profile import profile
from .run import BACKENDS, fidelity, run_model
from .synthesize import SyntheticModel, synthesize


def format_synth_table(model: SyntheticModel, fid: list[dict] | None = None) -> str:
    """Markdown: per group real vs synthetic MACs, warps, fitness error (and times when measured)."""
    head = "| group | real convs | synth convs | GMACs real | GMACs synth | warps real | warps synth | fitness error |"
    sep = "|---:|---:|---:|---:|---:|---:|---:|---:|"
    if fid:
        head += " real ms | synth ms | time error |"
        sep += "---:|---:|---:|"
    lines = [head, sep]
    by = {r["center"]: r for r in fid or []}
    s = model.warps_scale
    for g in model.groups:
        line = (
            f"| {g.center} | {len(g.real_layers)} | {len(g.filters)} | {g.macs_real / 1e9:.4f} | {g.macs / 1e9:.4f} | "
            f"{g.warps_real * s:,.0f} | {g.warps * s:,.0f} | {100 * g.fitness_error:.4f}% |"
        )
        if fid:
            r = by[g.center]
            line += f" {r['real_ms']:.4g} | {r['synth_ms']:.4g} | {100 * r['error']:+.1f}% |"
        lines.append(line)
    if fid:
        r = by["all"]
        real_gmacs = sum(g.macs_real for g in model.groups) / 1e9
        lines.append(
            f"| **all** | {r['real_layers']} | {r['synth_layers']} | {real_gmacs:.4f} | "
            f"{model.macs / 1e9:.4f} | | | | {r['real_ms']:.4g} | {r['synth_ms']:.4g} | {100 * r['error']:+.1f}% |"
        )
    return "\n".join(lines)


def run_synth(
    models: Sequence[str] | str,
    *,
    device: str = "auto",
    dtype: str = "fp32",
    out: str | None = None,
    input_size: int = 224,
    batch: int = 1,
    centers: Any = None,
    bits: int = 10,
    population: int = 5000,
    generations: int = 50,
    seed: int = 0,
    warps: str = "auto",
    warp_model: Any = None,
    run: bool = True,
    with_fidelity: bool = True,
    size: str = "full",
    backends: Sequence[str] = BACKENDS,
    print_fn: Callable[[str], Any] | None = print,
    **timing_options: Any,
) -> dict:
    """profile -> cluster -> synthesize -> run, printing the group table; the CLI's ``synth`` subcommand.

    ``models``: zoo names, ONNX paths or a comma-separated string. Writes to
    ``out`` (a folder) when given: workload.json/.csv, groups.md/.json,
    synthetic.json, synthetic.onnx, results.jsonl. The model runs under each of
    ``backends`` (``torch``: the whole module; ``native``: its convs through the
    native conv runner); one that fails is recorded as a failed Result. Returns a
    dict with the workload, groups, synthetic model, fidelity rows and Results.
    """
    backends = [backends] if isinstance(backends, str) else list(backends)
    for b in backends:  # before the minutes of profiling and synthesis
        _check.choice("backends", b, BACKENDS)
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    dev = resolve(device)
    say = print_fn or (lambda s: None)
    wl = profile(
        list(models),
        input_size=input_size,
        batch=batch,
        device=str(dev),
        warps=warps,
        warp_model=warp_model,
        dtype=dtype,
        size=size,
    )
    groups = cluster(wl, centers)
    say("## Workload groups\n\n" + format_table(groups) + "\n")
    sm = synthesize(groups, bits=bits, population=population, generations=generations, seed=seed, warp_model=warp_model)
    fid = fidelity(sm, wl, device=str(dev), dtype=dtype, seed=seed, **timing_options) if run and with_fidelity else None
    results: list[Result] = []
    for backend in backends if run else ():
        try:
            results.append(run_model(sm, device=str(dev), dtype=dtype, backend=backend, seed=seed, **timing_options))
        except Exception as e:  # a backend that cannot run is recorded; the other still runs
            results.append(
                Result.failed(
                    "synth",
                    {"model": "synthetic", "convs": sm.conv_count},
                    backend=backend,
                    dtype=dtype,
                    device=str(dev),
                    exc=e,
                )
            )
    say("## Synthetic model vs real layers\n\n" + format_synth_table(sm, fid) + "\n")
    for r in results:
        say(repr(r))
    if out is not None:
        o = Path(out)
        o.mkdir(parents=True, exist_ok=True)
        wl.save(o / "workload.json")
        wl.save(o / "workload.csv")
        save_groups(groups, o / "groups.md")
        save_groups(groups, o / "groups.json")
        sm.save(o / "synthetic.json")
        if fid is not None:
            (o / "fidelity.json").write_text(json.dumps(fid, indent=1) + "\n")
        if results:
            from ..results import write_jsonl

            write_jsonl(o / "results.jsonl", results)
        try:
            sm.to_onnx(o / "synthetic.onnx")
        except Exception as e:  # ONNX export needs the onnx package; the rest is saved
            say(f"(ONNX export skipped: {e})")
    return {"workload": wl, "groups": groups, "model": sm, "fidelity": fid, "results": results}
