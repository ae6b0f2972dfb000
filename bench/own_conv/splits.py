"""The igemm kernel's split count swept on the ResNet-50 3x3 layers (AIMATRIX_IGEMM_KERNEL=wgmma_s<splits>: the
tile the runner picks, the reduction split in that many parts, rounded so that each part gets a whole number of
64-deep stages), against the runner's own choice and cuDNN in the same run; where the runner ran whole tiles first
(bwd_filter, "_whole<n>"), also "<splits> w<n>": n whole tiles, the rest in that many parts. TFLOP/s, cold, NHWC.
What it is for: checking the split model (`wgrad_plan`, `choose` in csrc/cuda/conv_igemm_kernels.cuh) against measurement.

    python bench/own_conv/splits.py bf16 32,256 bwd_filter 1,2,3,4,7,8,14,28,53"""

import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # run as files, also with python -P
from am_layers import cases, run  # noqa: E402


def parts(splits: int, stages: int) -> int:
    """The split count the kernel runs for a requested one: each part a whole number of stages."""
    per = math.ceil(stages / min(splits, stages))
    return math.ceil(stages / per)


def main() -> None:
    dtypes = sys.argv[1].split(",") if len(sys.argv) > 1 else ["bf16"]
    batches = [int(b) for b in sys.argv[2].split(",")] if len(sys.argv) > 2 else [32]
    direction = sys.argv[3] if len(sys.argv) > 3 else "bwd_filter"
    wanted = [int(s) for s in sys.argv[4].split(",")] if len(sys.argv) > 4 else [1, 2, 3, 4, 7, 8, 14, 28, 53]
    print(f"\ndirection {direction}: TFLOP/s per split count (the kernel's count, after rounding)\n")
    print("| layer | batch | dtype | chosen | splits: TFLOP/s | best | chosen / best | cudnn | best / cudnn |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, c, hw, k, stride), batch, dtype, opts in cases(dtypes, batches, direction):
        t_auto, kern = run(name, c, hw, k, stride, dtype, "igemm", **opts)
        p = (hw + 2 - 3) // stride + 1
        # the reduction's stages: output pixels (bwd_filter) or r * s * c (fwd, bwd_data), 64 a stage
        stages = math.ceil((batch * p * p if direction == "bwd_filter" else 9 * c) / 64)
        times = {}
        for s in sorted({parts(s, stages) for s in wanted}):
            times[str(s)] = run(name, c, hw, k, stride, dtype, "igemm", f"wgmma_s{s}", **opts)[0]
        whole = re.search(r"_whole(\d+)", kern)  # the runner ran whole tiles first: sweep the rest's split too
        for s in sorted({parts(s, stages) for s in wanted}) if whole else []:
            force = f"wgmma_s{s}_w{whole.group(1)}"
            times[f"{s} w{whole.group(1)}"] = run(name, c, hw, k, stride, dtype, "igemm", force, **opts)[0]
        t_cudnn = run(name, c, hw, k, stride, dtype, "cudnn", **opts)[0]
        best = max(times, key=times.get)
        row = ", ".join(f"{s}: {t:.1f}" for s, t in times.items())
        print(
            f"| {name} | {batch} | {dtype} | {kern} {t_auto:.1f} | {row} | {best}: {times[best]:.1f} | "
            f"{t_auto / times[best]:.2f} | {t_cudnn:.1f} | {times[best] / t_cudnn:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
