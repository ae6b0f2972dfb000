"""Reproduce a conv_chain case in its own process: python bench/debug/chain_crash.py BACKEND DTYPE LAYOUT NLAYERS [--cold] [--tel] [--torch]."""
import sys

if "--torch" in sys.argv:
    import torch  # noqa: F401
import aimatrix as am

L = [dict(n=2, c=8, h=12, w=12, k=16, r=3, pad=1), dict(n=2, c=16, h=12, w=12, k=16, r=3, stride=2, pad=1),
     dict(n=2, c=16, h=6, w=6, k=24, r=1)]
b, d, lay, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
layers = L[:n] if n <= 3 else [L[0]] * n
print("start", b, d, lay, n, flush=True)
r = am.micro.conv_chain(layers, dtype=d, layout=lay, backend=b, max_time=0.2, telemetry="--tel" in sys.argv,
                        mode="cold" if "--cold" in sys.argv else "hot")
print("ok", b, d, lay, n, r.median_ms, r.params["algo"], r.params["repeat"], flush=True)
