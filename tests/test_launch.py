"""Launch latency: needs a GPU (the CPU gives a clear error); CUDA measurements marked."""

import pytest

import aimatrix as am


def test_launch_on_cpu_is_unsupported():
    with pytest.raises(am.UnsupportedError, match="launch latency needs a CUDA device"):
        am.launch("empty", device="cpu")


def test_launch_bad_kind():
    with pytest.raises(ValueError, match="kind='kernel' is not allowed: expected one of empty, graph, sync"):
        am.launch("kernel", device="cpu")


@pytest.mark.cuda
@pytest.mark.parametrize("kind", ["empty", "graph", "sync"])
def test_launch_kinds(kind):
    r = am.launch(kind, max_time=0.3, min_time=0.0)
    assert r.ok and r.op == "launch" and r.params["kind"] == kind
    assert 0.1 < r.metrics["latency_us"] < 1000
    assert r.ran["timer"] == "steady-clock"
