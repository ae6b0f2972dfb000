"""aimatrix.conv on the ResNet-50 3x3 layers (batch 32, or the batches of argv[2]; direction fwd, or those of argv[3]; NHWC,
cold mode: L2 flushed before every sample): backend igemm (the kernel the runner picks, and the same kernel with x
gathered by its producer threads instead of TMA's im2col mode, AIMATRIX_IGEMM_KERNEL=wgmma_gather) and backend
cudnn, TFLOP/s per layer and dtype. igemm's bwd_data runs at stride 1: the strided layers are left out of that
table.

    python bench/own_conv/am_layers.py bf16,fp16 32,256 fwd,bwd_data,bwd_filter"""

import os
import sys

import aimatrix as am

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # run as files, also with python -P
from layers import LAYERS  # noqa: E402

# Half a second of warm-up, not 2 s: the layers run back to back, so the clock has settled after the first, and
# the warm-up still goes on until the median settles.
OPTS = dict(layout="nhwc", mode="cold", max_time=0.5, min_time=0.1, warmup=0.5)


def run(name, c, hw, k, stride, dtype, backend, kernel=None, batch=32, direction="fwd"):
    if kernel:
        os.environ["AIMATRIX_IGEMM_KERNEL"] = kernel
    else:
        os.environ.pop("AIMATRIX_IGEMM_KERNEL", None)
    res = am.conv(
        batch, c, hw, hw, k=k, r=3, stride=stride, pad=1, dtype=dtype, backend=backend, direction=direction, **OPTS
    )
    label = res.ran.get("kernel") or res.ran.get("algo")
    return res.metrics["tflops"], label


def main():
    dtypes = sys.argv[1].split(",") if len(sys.argv) > 1 else ["bf16", "fp16"]
    batches = [int(b) for b in sys.argv[2].split(",")] if len(sys.argv) > 2 else [32]
    for direction in sys.argv[3].split(",") if len(sys.argv) > 3 else ["fwd"]:
        table(dtypes, batches, direction)


def cases(dtypes, batches, direction):
    """(layer, batch, dtype, run's options) of every case a table times: igemm's bwd_data runs at stride 1 only."""
    for batch, dtype in ((b, d) for b in batches for d in dtypes):
        for layer in LAYERS:
            if direction != "bwd_data" or layer[4] == 1:
                yield layer, batch, dtype, dict(batch=batch, direction=direction)


def table(dtypes, batches, direction):
    print(f"\ndirection {direction}\n")
    print("| layer | batch | dtype | igemm (auto) | kernel | igemm, x gathered | cudnn | auto/cudnn |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, c, hw, k, stride), batch, dtype, opts in cases(dtypes, batches, direction):
        t_auto, kern = run(name, c, hw, k, stride, dtype, "igemm", **opts)
        t_gather = run(name, c, hw, k, stride, dtype, "igemm", "wgmma_gather", **opts)[0]
        t_cudnn, _ = run(name, c, hw, k, stride, dtype, "cudnn", **opts)
        print(
            f"| {name} | {batch} | {dtype} | {t_auto:.1f} | {kern} | {t_gather:.1f} | {t_cudnn:.1f} | {t_auto / t_cudnn:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
