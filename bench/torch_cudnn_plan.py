"""Which cuDNN engine config PyTorch's benchmark mode chose for a convolution.

PyTorch times its candidate plans with the cuDNN frontend's ``time_sorted_plan``, which logs
"Plan <tag> took <ms>" per plan when the frontend's log is on; the tag names the engine and its
knobs (``eng58_k25=0_k…``). The fastest logged plan is the one PyTorch runs. ``as_algo`` turns it
into aimatrix's ``algo="engine:N(knob=value,…)"``, so aimatrix can time the very same plan.

The frontend reads its environment once: call ``enable`` before torch runs its first convolution.
    python bench/torch_cudnn_plan.py     # on a GPU machine: print the plans of one ResNet-50 layer
"""

from __future__ import annotations

import os
import re

_PLAN = re.compile(r"Plan \S*?eng(\d+)((?:_k\d+=-?\d+)*)\s+took\s+([0-9.eE+-]+)")


def enable(log_path: str) -> None:
    """Turn the cuDNN frontend's log on, into ``log_path`` (a file left by an earlier run is removed)."""
    if os.path.exists(log_path):
        os.remove(log_path)
    os.environ["CUDNN_FRONTEND_LOG_INFO"] = "1"
    os.environ["CUDNN_FRONTEND_LOG_FILE"] = log_path


def as_algo(engine: int, knobs: str) -> str:
    """``engine:N(type=value,…)`` from a tag's engine and ``_kT=V`` knob suffix."""
    pairs = [k for k in knobs.split("_k") if k]
    return f"engine:{engine}({','.join(pairs)})" if pairs else f"engine:{engine}"


class PlanLog:
    """Reads the plans timed since the last call from the frontend's log file."""

    def __init__(self, log_path: str):
        self.path = log_path
        self.offset = 0

    def new_plans(self) -> list[tuple[str, float]]:
        """(aimatrix algo, PyTorch's ms) of each plan timed since the last call, in log order."""
        if not os.path.exists(self.path):
            return []
        if os.path.getsize(self.path) < self.offset:  # the frontend truncates the file when it opens it
            self.offset = 0
        with open(self.path, errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
            self.offset = f.tell()
        return [(as_algo(int(m[1]), m[2]), float(m[3])) for m in _PLAN.finditer(text)]

    def chosen(self) -> tuple[str | None, int]:
        """The fastest new plan (PyTorch's choice) as an aimatrix algo, and how many plans were timed."""
        plans = self.new_plans()
        if not plans:
            return None, 0
        return min(plans, key=lambda p: p[1])[0], len(plans)


def main() -> None:
    log = "/tmp/cudnn_frontend.log"
    enable(log)
    import torch

    torch.backends.cudnn.benchmark = True
    x = torch.randn(32, 256, 56, 56, device="cuda", dtype=torch.bfloat16).to(memory_format=torch.channels_last)
    w = torch.randn(64, 256, 1, 1, device="cuda", dtype=torch.bfloat16).to(memory_format=torch.channels_last)
    torch.nn.functional.conv2d(x, w)
    torch.cuda.synchronize()
    pl = PlanLog(log)
    plans = pl.new_plans()
    for algo, ms in plans:
        print(f"{algo}  {ms:.4f} ms")
    print("chosen:", min(plans, key=lambda p: p[1])[0] if plans else None, f"({len(plans)} plans)")
    with open(log, errors="replace") as f:
        lines = f.read().splitlines()
    print(f"log: {len(lines)} lines; first plan lines:")
    print("\n".join([ln for ln in lines if "Plan" in ln][:5]))


if __name__ == "__main__":
    main()
