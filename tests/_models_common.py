"""Helpers shared by the layer/model/backend tests (tiny sizes, short timing)."""

import pytest

torch = pytest.importorskip("torch")

from aimatrix import _native  # noqa: E402

#: Timing options that keep each case to a fraction of a second on 2 cores.
FAST = dict(max_time=0.1, min_time=0.01, min_samples=3, warmup=0.01)

HAS_CUDA = _native.cuda_available() and torch.cuda.is_available()
cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU (aimatrix CUDA back end and torch.cuda)")
