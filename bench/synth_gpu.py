"""StatsNet on a GPU: measured warps, the estimator's error, the synthetic model under torch, fidelity.

For the lead to run on the H100 (about 2-3 minutes):

    python bench/synth_gpu.py [--dtype fp32] [--out bench/synth_gpu_out]

Prints Markdown:
1. measured warps (torch profiler: Σ grid * ceil(block / 32) of each conv's kernels) of AlexNet, VGG16,
   GoogLeNet at 224, batch 1, and the analytic estimator's error against them for each warp-model preset
   (after one global scale factor, which the GA's relative fitness ignores);
2. the paper experiment (224/112/56/28/14/7, 10-bit genes, 5000 x 50) synthesized against the measured warps;
3. the synthetic model's own measured warps per group vs the GA's prediction;
4. the synthetic model timed under torch and natively (its convs through the native conv runner), fp32 /
   bf16 channels-last, next to the three real models;
5. fidelity: per group, time of the synthetic convs vs the real convs they stand for.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def md_table(head: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main() -> None:
    import torch

    import aimatrix.synth as S
    from aimatrix.macro import zoo
    from aimatrix.synth.model import PRESETS
    from aimatrix.synth.warps import calibrate, estimator_error, measure_torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--models", default="alexnet,vgg16,googlenet")
    ap.add_argument("--out", default="bench/synth_gpu_out")
    ap.add_argument("--max-time", type=float, default=0.3)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    t0 = time.time()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    models = a.models.split(",")
    timing = {"max_time": a.max_time, "min_time": 0.05, "warmup": 0.05}
    print(
        f"# StatsNet on {torch.cuda.get_device_name(0)} ({a.dtype}, torch {torch.__version__}, "
        f"cuDNN {torch.backends.cudnn.version()})\n"
    )

    # 1. measured warps and the estimator
    wl = S.profile(models, device="cuda", warps="measure", dtype=a.dtype)
    wl.save(out / "workload_measured.json")
    wl.save(out / "workload_measured.csv")
    convs = [x for x in wl if x.type == "conv"]
    print("## 1. Measured warps vs the analytic estimator (conv layers)\n")
    rows = []
    for name, wm in PRESETS.items():
        c = calibrate(convs, wm)
        rows.append(
            [
                name,
                str(wm.to_json()),
                f"{c['scale']:.4g}",
                f"{100 * c['median_abs_rel_error']:.1f}%",
                f"{100 * c['mean_abs_rel_error']:.1f}%",
            ]
        )
    print(md_table(["preset", "model", "scale (measured / estimated)", "median |error|", "mean |error|"], rows))
    rows = []
    for name, wm in PRESETS.items():
        e = estimator_error(convs, wm)
        rows.append(
            [
                name,
                f"{100 * e['median_abs_rel_error']:.1f}%",
                f"{100 * e['max_abs_rel_error']:.0f}%",
                ", ".join(f"{c}: {100 * v:+.1f}%" for c, v in e["groups"].items()),
            ]
        )
    print("\nUnscaled (the estimate as the GA uses it):\n")
    print(md_table(["preset", "median |error|", "max |error|", "per-group total error"], rows))
    print("\nPer layer (default launch model h100, scaled):\n")
    c = calibrate(convs, PRESETS["h100"])
    lrows = [
        [
            x.model,
            x.name,
            f"{x.cin}->{x.cout} {x.kh}x{x.kw}/{x.stride_h} g{x.groups} @{x.in_h}",
            f"{x.warps:,}",
            f"{100 * e:+.0f}%",
        ]
        for x, e in zip(convs, c["errors"])
    ]
    print(md_table(["model", "layer", "shape", "measured warps", "estimate error"], lrows))

    # 2. the paper experiment against measured warps
    groups = S.cluster(wl, [224, 112, 56, 28, 14, 7])
    print("\n## 2. Groups (measured warps)\n\n" + S.format_table(groups))
    t = time.time()
    sm = S.synthesize(groups, bits=10, population=5000, generations=50, seed=0)
    print(f"\nsynthesized in {time.time() - t:.2f} s; warps scale {sm.warps_scale:.4g}\n")
    sm.save(out / "synthetic.json")

    # 3. the synthetic model's own warps
    net = sm.to_torch().cuda()
    x = torch.randn(1, 3, 224, 224, device="cuda")
    if a.dtype != "fp32":
        dt = {"bf16": torch.bfloat16, "fp16": torch.float16}[a.dtype]
        net, x = net.to(dt), x.to(dt)
    meas = measure_torch(net, x, kinds=(torch.nn.Conv2d,))
    i = 0
    rows = []
    for g in sm.groups:
        w = sum(m["warps"] for m in meas[i : i + len(g.filters)])
        i += len(g.filters)
        pred = g.warps * sm.warps_scale
        rows.append(
            [
                g.center,
                f"{g.warps_real * sm.warps_scale:,.0f}",
                f"{pred:,.0f}",
                f"{w:,}",
                f"{100 * (w - pred) / pred:+.1f}%",
                f"{100 * g.fitness_error:.4f}%",
            ]
        )
    print("## 3. Synthetic model: GA-predicted vs measured warps\n")
    print(
        md_table(
            [
                "group",
                "real warps (measured)",
                "synthetic warps (GA, scaled)",
                "synthetic warps (measured)",
                "prediction error",
                "fitness error",
            ],
            rows,
        )
    )

    # 4. the synthetic model and the real models under torch
    print("\n## 4. Forward time under torch (batch 1)\n")
    rows = []
    for dtype, cl in ((a.dtype, False), ("bf16", True)):
        r = sm.run(device="cuda", dtype=dtype, channels_last=cl, **timing)
        rows.append(["synthetic (torch)", dtype, cl, f"{r.median_ms:.4g}", f"{r.tflops:.4g}"])
        r = sm.run(device="cuda", backend="native", dtype=dtype, channels_last=cl, **timing)
        rows.append(
            [
                "synthetic (native: its convs through cuDNN, one graph)",
                dtype,
                cl,
                f"{r.median_ms:.4g}",
                f"{r.tflops:.4g}",
            ]
        )
        tot = 0.0
        for m in models:
            mod = zoo.build(m, device="cuda").to(
                {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
            )
            xi = torch.randn(1, 3, 224, 224, device="cuda", dtype=next(mod.parameters()).dtype)
            if cl:
                mod, xi = mod.to(memory_format=torch.channels_last), xi.contiguous(memory_format=torch.channels_last)

            def fwd(mod=mod, xi=xi):
                with torch.inference_mode():
                    mod(xi)

            from aimatrix import timing as T

            ms = T.measure(fwd, device="cuda", **timing).median_ms
            tot += ms
            rows.append([m, dtype, cl, f"{ms:.4g}", ""])
        rows.append(["sum of real models", dtype, cl, f"{tot:.4g}", ""])
    print(md_table(["model", "dtype", "channels_last", "median ms", "TFLOP/s"], rows))

    # 5. fidelity
    print("\n## 5. Fidelity: synthetic convs vs the real convs they stand for (each conv alone)\n")
    fid = S.fidelity(sm, wl, device="cuda", dtype=a.dtype, **timing)
    (out / "fidelity.json").write_text(json.dumps(fid, indent=1))
    print(S.format_synth_table(sm, fid))
    print(f"\n(total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
