"""Where NMT under torch-graph fails on the GPU (the suite recorded "hx and cx should also be 3-D"): a traceback."""

import traceback

import aimatrix as am

for backend in ("torch", "torch-graph"):
    try:
        print(backend, am.model("nmt", dtype="bf16", backend=backend, device="cuda", max_time=0.2, warmup=0.1))
    except Exception:
        print(backend, "FAILED")
        traceback.print_exc()
