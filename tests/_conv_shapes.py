"""Convolution shapes as test tables hold them: (n, c, h, w, k, r, s, stride, pad, dilation, groups)."""

import aimatrix as am

DIRECTIONS = ["fwd", "bwd_data", "bwd_filter"]


def conv(shape: tuple, **kw):
    """``am.conv`` of one table row; ``kw``: dtype, layout, direction, backend, timing, ..."""
    n, c, h, w, k, r, s, stride, pad, dil, groups = shape
    return am.conv(n, c, h, w, k=k, r=r, s=s, stride=stride, pad=pad, dilation=dil, groups=groups, **kw)


def cpu_conv_checked(shape: tuple, direction: str, layout: str, backend: str, **timing):
    """One table row through a CPU ``backend``, checked as every CPU backend is: verified against the
    reference to 1e-5, the FLOP count of the output size it reports, and the backend, direction and layout
    it records. Returns the Result for the backend's own checks."""
    n, c, h, w, k, r, s, stride, pad, dil, groups = shape
    res = conv(shape, direction=direction, layout=layout, device="cpu", backend=backend, **timing)
    assert res.ok and res.verify["passed"] and res.rel_error <= 1e-5
    assert res.metrics["flops"] == 2 * n * k * res.params["ho"] * res.params["wo"] * (c // groups) * r * s
    assert res.backend == backend and res.params["direction"] == direction and res.params["layout"] == layout
    return res
