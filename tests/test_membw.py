"""Memory bandwidth: CPU STREAM kinds, the sweep, bad inputs; CUDA kernels and transfers (marked)."""

import importlib

import pytest

import aimatrix as am

mb = importlib.import_module("aimatrix.micro.membw")

KERNELS = ["read", "write", "copy", "scale", "add", "triad", "dot"]


@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("nbytes", [4, 4 * 1001, 1 << 20])
def test_cpu_stream_kinds(kind, nbytes, fast):
    r = am.membw(kind, nbytes=nbytes, device="cpu", **fast)
    assert r.ok and r.verify["passed"]
    reads, writes = mb.TRAFFIC[kind]
    assert r.metrics["bytes"] == nbytes * (reads + writes)
    assert r.metrics["gbps"] > 0 and r.params["bytes_counted"] == "read + written"


def test_cpu_passes_multiply_the_bytes(fast):
    r = am.membw("triad", nbytes=4096, passes=8, device="cpu", **fast)
    assert r.verify["passed"] and r.metrics["bytes"] == 4096 * 3 * 8


@pytest.mark.parametrize("kind", ["h2d", "d2h", "d2d", "p2p"])
def test_transfers_need_cuda(kind):
    with pytest.raises(am.UnsupportedError, match="CUDA"):
        am.membw(kind, nbytes=1 << 20, device="cpu")


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [
        (dict(kind="stream"), ValueError, "kind='stream' is not allowed"),
        (dict(nbytes=0), ValueError, "nbytes=0 is not allowed"),
        (dict(nbytes=6), ValueError, "nbytes=6 is not allowed: it must be a multiple of 4"),
        (dict(nbytes="1G"), TypeError, "nbytes='1G' is not allowed"),
        (dict(passes=0), ValueError, "passes=0 is not allowed"),
        (dict(kind="h2d", passes=2), ValueError, "passes=2 is not allowed for kind 'h2d'"),
        (dict(dtype="fp16"), ValueError, "dtype='fp16' is not allowed"),
        (dict(pinned="yes"), TypeError, "pinned='yes' is not allowed"),
        (dict(peer=1), ValueError, "peer=1 is not allowed for kind 'triad'"),
        (dict(method="kernel"), ValueError, "method='kernel', bidirectional=False is not allowed for kind 'triad'"),
        (dict(kind="d2d", bidirectional=True), ValueError, "is not allowed for kind 'd2d': only p2p"),
        (dict(kind="p2p", method="sm"), ValueError, "method='sm' is not allowed"),
        (dict(kernel="wgmma"), ValueError, "kernel='wgmma' is not allowed: expected one of auto, ldst, tma"),
        (dict(kind="d2d", kernel="ldst"), ValueError, "kernel='ldst' is not allowed for kind 'd2d': a transfer"),
        (dict(kind="dot", kernel="tma"), ValueError, "kernel='tma' is not allowed for kind 'dot' with passes=1"),
        (dict(kernel="tma", passes=4), ValueError, "kernel='tma' is not allowed for kind 'triad' with passes=4"),
    ],
)
def test_membw_bad_arguments(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        am.membw(**{"device": "cpu", **kwargs})


@pytest.mark.parametrize("kernel", ["ldst", "tma"])
def test_cpu_runs_no_cuda_kernel_choice(kernel):
    with pytest.raises(am.UnsupportedError, match=f"kernel='{kernel}' names a CUDA kernel"):
        am.membw("copy", nbytes=1 << 20, kernel=kernel, device="cpu")


def test_cpu_out_of_memory_is_an_exception():
    with pytest.raises(am.OutOfMemoryError, match="host memory"):
        am.membw("copy", nbytes=1 << 50, device="cpu")


def test_sweep_sizes_and_passes():
    sizes = mb.sweep_sizes()
    assert sizes[0] == 4 << 10 and sizes[-1] == 4 << 30 and all(b == 4 * a for a, b in zip(sizes, sizes[1:]))
    assert mb.sweep_passes(4 << 10) == 1 << 16 and mb.sweep_passes(1 << 30) == 1
    with pytest.raises(ValueError, match="factor >= 2"):
        mb.sweep_sizes(factor=1)


def test_cpu_sweep_runs(fast):
    results = list(mb.sweep("copy", sizes=[4 << 10, 64 << 10], device="cpu", **fast))
    assert [r.params["nbytes"] for r in results] == [4 << 10, 64 << 10]
    assert all(r.verify["passed"] for r in results)
    assert results[0].params["passes"] > results[1].params["passes"]


# -- CUDA ---------------------------------------------------------------------------------
QUICK = dict(max_time=0.2, min_time=0.0, min_samples=3, warmup=0.01)  # correctness, not timing: a short warm-up


@pytest.mark.cuda
@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("nbytes, passes", [(4, 1), (4 * 1001, 3), (64 << 20, 1)])
def test_cuda_kernels(kind, nbytes, passes):
    r = am.membw(kind, nbytes=nbytes, passes=passes, **QUICK)
    assert r.ok and r.verify["passed"], r.verify
    assert r.metrics["gbps"] > 0 and r.metrics["peak_gbps"] > 1000


@pytest.mark.cuda
@pytest.mark.parametrize("kind", mb.TMA_KINDS)
# one float, a tail of 3 floats past a partial 16 KB chunk, and more chunks than the grid has blocks
@pytest.mark.parametrize("nbytes", [4, 4 * 4099 + 12, (96 << 20) + 4 * 3])
def test_cuda_tma_kernels(kind, nbytes):
    from aimatrix import _native

    if _native.cuda().device_info(0)["cc_major"] < 9:
        with pytest.raises(am.UnsupportedError, match="compute capability 9.0"):
            am.membw(kind, nbytes=nbytes, kernel="tma", **QUICK)
        return
    r = am.membw(kind, nbytes=nbytes, kernel="tma", **QUICK)
    assert r.ok and r.verify["passed"], r.verify
    assert r.ran["kernel"] == f"tma_{kind}" and r.params["kernel_choice"] == "tma"
    assert am.membw(kind, nbytes=nbytes, kernel="ldst", **QUICK).ran["kernel"] == f"stream_{kind}"


@pytest.mark.cuda
@pytest.mark.parametrize("kind, pinned", [("h2d", True), ("h2d", False), ("d2h", True), ("d2h", False), ("d2d", True)])
def test_cuda_transfers(kind, pinned):
    r = am.membw(kind, nbytes=(16 << 20) + 12, pinned=pinned, **QUICK)
    assert r.ok and r.verify["passed"]
    if kind in ("h2d", "d2h"):
        assert r.params["pinned"] is pinned and r.params["bytes_counted"] == "transferred once"


@pytest.mark.cuda
def test_cuda_large_copy_is_near_peak():
    r = am.membw("copy", nbytes=1 << 30, **QUICK)
    assert r.metrics["pct_of_peak"] > 50


@pytest.mark.cuda
@pytest.mark.parametrize("method", ["copy", "kernel"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("nbytes", [4 * 1001, 1 << 30])  # 1 GiB once lost data to a racing poison fill
def test_cuda_p2p_needs_two_gpus(method, bidirectional, nbytes):
    from aimatrix import _native

    if _native.cuda().device_count() >= 2:
        r = am.membw("p2p", nbytes=nbytes, method=method, bidirectional=bidirectional, **QUICK)
        assert r.verify["passed"] and r.params["method"] == method
        assert r.metrics["bytes"] == nbytes * (2 if bidirectional else 1)
    else:
        with pytest.raises(am.UnsupportedError, match="two CUDA devices"):
            am.membw("p2p", nbytes=nbytes, method=method, bidirectional=bidirectional)


def test_p2p_matrix_rejects_unknown_columns():
    from aimatrix.dist.p2p import p2p_matrix

    with pytest.raises(ValueError, match="columns=\\['nvlink'\\] are not allowed"):
        p2p_matrix(columns=("copy_gbps", "nvlink"))


@pytest.mark.cuda
def test_cuda_out_of_memory_is_an_exception_and_device_stays_usable():
    with pytest.raises(am.OutOfMemoryError, match="GPU memory"):
        am.membw("triad", nbytes=1 << 40)
    assert am.membw("triad", nbytes=1 << 20, **QUICK).verify["passed"]
