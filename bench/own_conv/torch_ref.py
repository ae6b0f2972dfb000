"""cuDNN through PyTorch on the ResNet-50 3x3 layers (batch 32): F.conv2d, channels_last,
cudnn.benchmark=True, triton.testing.do_bench (median; it zeroes a 256 MB buffer before
each call, like the harness's L2 flush). Prints TFLOP/s per layer and dtype."""

import os
import sys

import torch
import torch.nn.functional as F

try:
    from triton.testing import do_bench
except ImportError:  # pragma: no cover - fallback without triton
    do_bench = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # run as files, also with python -P
from layers import LAYERS  # noqa: E402


def bench(fn):
    if do_bench is not None:
        return do_bench(fn, warmup=25, rep=100, return_mode="median")
    fn()
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    e0.record()
    for _ in range(50):
        fn()
    e1.record()
    torch.cuda.synchronize()
    return e0.elapsed_time(e1) / 50


def main():
    torch.backends.cudnn.benchmark = True
    print(f"torch {torch.__version__}, cudnn {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}")
    for dtype in (torch.bfloat16, torch.float16):
        for name, c, hw, k, stride in LAYERS:
            x = (torch.rand(32, c, hw, hw, device="cuda") * 2 - 1).to(dtype).to(memory_format=torch.channels_last)
            w = (torch.rand(k, c, 3, 3, device="cuda") * 2 - 1).to(dtype).to(memory_format=torch.channels_last)
            fn = lambda: F.conv2d(x, w, stride=stride, padding=1)
            y = fn()
            p, q = y.shape[2], y.shape[3]
            flops = 2.0 * 32 * p * q * k * c * 9
            ms = bench(fn)
            print(f"{name:<18} {str(dtype).split('.')[-1]:<9} {ms * 1e3:8.1f} us {flops / ms / 1e9:7.1f} TFLOP/s")


if __name__ == "__main__":
    main()
