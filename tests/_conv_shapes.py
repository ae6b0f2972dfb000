"""Convolution shapes as test tables hold them: (n, c, h, w, k, r, s, stride, pad, dilation, groups)."""

import aimatrix as am

DIRECTIONS = ["fwd", "bwd_data", "bwd_filter"]


def conv(shape: tuple, **kw):
    """``am.conv`` of one table row; ``kw``: dtype, layout, direction, backend, timing, ..."""
    n, c, h, w, k, r, s, stride, pad, dil, groups = shape
    return am.conv(n, c, h, w, k=k, r=r, s=s, stride=stride, pad=pad, dilation=dil, groups=groups, **kw)
