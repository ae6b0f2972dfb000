"""Does torch.compile'd AlexNet (Caffe definition, fp32, batch 256, channels-last) fault, and in which kernel?
One process per try (an illegal address ends the CUDA context). Run with CUDA_LAUNCH_BLOCKING=1 so the
failing launch raises where it is made.   python bench/alexnet_compile_probe.py [iterations]"""

import sys
import traceback

import torch

from aimatrix.models.alexnet import build

torch.manual_seed(0)
m = build("full").cuda().eval().to(memory_format=torch.channels_last)
x = torch.randn(256, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
with torch.inference_mode():
    ref = m(x)
    c = torch.compile(m, dynamic=False)
    try:
        for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 30):
            y = c(x)
            torch.cuda.synchronize()
            if not torch.isfinite(y).all():
                print(f"iteration {i}: non-finite output")
                break
        else:
            print("ok, max abs diff vs eager", (y - ref).abs().max().item())
    except Exception as e:  # noqa: BLE001 - the probe reports whatever broke
        tb = traceback.format_exc().splitlines()
        print(f"FAULT at iteration {i}: {type(e).__name__}: {str(e).splitlines()[0]}")
        print(
            "\n".join(
                ln for ln in tb if "File" in ln and ("/tmp/" in ln or "torchinductor" in ln or "output_code" in ln)
            )[-2000:]
        )
        print("\n".join(tb[-12:]))
