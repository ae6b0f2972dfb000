"""Native GA vs the numpy reference on the paper experiment's groups (5000 x 50, 10-bit genes).

Prints per group the wall time of the native GA (incl. refinement) and of the
numpy reference on the same problem, their ratio, and checks they agree.
Target: native <= 0.2 s per group on 2 cores and >= 30x faster than numpy. The numpy
reference runs --repeat-numpy times per group, the native GA --repeat times; the best of each is taken
(the least disturbed run on a shared machine, for both sides).

    python bench/ga_native_vs_python.py [--population 5000 --generations 50]
"""

from __future__ import annotations

import argparse
import os
import time

from aimatrix import _native
from aimatrix.synth import cluster, profile
from aimatrix.synth import reference as R
from aimatrix.synth.model import DEFAULT_WARP_MODEL
from aimatrix.synth.synthesize import _problem, synthetic_layers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", type=int, default=5000)
    ap.add_argument("--generations", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--repeat-numpy", type=int, default=3)
    a = ap.parse_args()
    groups = cluster(profile(["alexnet", "vgg16", "googlenet"]), [224, 112, 56, 28, 14, 7])
    opts = {"population": a.population, "generations": a.generations, "seed": 0}
    print(
        f"threads: {_native.core.cpu_threads()} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; from 2^14 genes "
        f"per generation the GA times generations on one thread and on all and keeps the faster, from 2^17 uses all), AVX-512 passes: {'yes' if _native.core.synth_vectorized() else 'no'}, "
        f"population {a.population} x {a.generations} generations, 10-bit genes\n"
    )
    print(
        f"| group | genes | native s (best of {a.repeat}) | numpy s (best of {a.repeat_numpy}) | speed-up | same result |"
    )
    print("|---:|---:|---:|---:|---:|:---:|")
    tn_all = tp_all = 0.0
    for k, g in enumerate(groups):
        kernels, strides = synthetic_layers(g)  # as synthesize() builds them (group 224 ends with a stride-2 conv)
        p = _problem(
            g,
            kernels,
            10,
            DEFAULT_WARP_MODEL,
            1.0,
            cin0=3 if k == 0 else 64,
            cin0_max=0 if k == 0 else 128,
            min_filters=8,
            strides=strides,
        )
        tn = float("inf")
        for _ in range(a.repeat):
            t = time.perf_counter()
            rn = _native.core.synth_ga(p, opts)
            tn = min(tn, time.perf_counter() - t)
        tp = float("inf")
        for _ in range(a.repeat_numpy):
            t = time.perf_counter()
            rp = R.run_ga(p, opts)
            tp = min(tp, time.perf_counter() - t)
        tn_all += tn
        tp_all += tp
        same = rn["chain"] == rp["chain"] and rn["history"] == rp["history"]
        print(f"| {g.center} | {len(kernels) + 1} | {tn:.3f} | {tp:.2f} | {tp / tn:.0f}x | {'yes' if same else 'NO'} |")
    print(f"| **all** | | {tn_all:.3f} | {tp_all:.2f} | {tp_all / tn_all:.0f}x | |")


if __name__ == "__main__":
    main()
