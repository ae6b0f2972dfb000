"""GEMM: CPU correctness on odd shapes, transposes and batches; bad inputs; CUDA backends (marked)."""

import itertools

import pytest

import aimatrix as am
from aimatrix import _native


@pytest.mark.parametrize(
    "m, n, k", [(1, 1, 1), (7, 33, 129), (129, 7, 33), (33, 129, 7), (65, 17, 300), (250, 4100, 300)]
)  # the last crosses every cache block (MC, NC, KC)
@pytest.mark.parametrize("trans_a, trans_b", list(itertools.product([False, True], repeat=2)))
def test_cpu_gemm_odd_shapes_and_transposes(m, n, k, trans_a, trans_b, fast):
    r = am.gemm(m, n, k, trans_a=trans_a, trans_b=trans_b, device="cpu", backend="cpu", **fast)
    assert r.ok and r.verify["passed"]
    assert r.rel_error <= 1e-5
    assert r.verify["checked"] == min(m, 32) * min(n, 32)
    assert r.metrics["flops"] == 2 * m * n * k
    assert r.median_ms > 0 and r.tflops > 0


def test_cpu_gemm_batched(fast):
    r = am.gemm(17, 9, 31, batch=5, trans_b=True, device="cpu", backend="cpu", **fast)
    assert r.verify["passed"] and r.params["batch"] == 5
    assert r.metrics["flops"] == 2 * 17 * 9 * 31 * 5


def test_cpu_gemm_crosses_cache_blocks(fast):
    # k > 256 and n > 2048 exercise the accumulation across K blocks and N panels.
    r = am.gemm(5, 2100, 600, device="cpu", backend="cpu", **fast)
    assert r.verify["passed"]


def test_cpu_gemm_seed_changes_data_not_correctness(fast):
    a = am.gemm(31, 31, 31, seed=1, device="cpu", backend="cpu", **fast)
    b = am.gemm(31, 31, 31, seed=2, device="cpu", backend="cpu", **fast)
    assert a.verify["passed"] and b.verify["passed"]
    assert a.rel_error != b.rel_error  # different random inputs


def test_result_carries_environment_and_params(fast):
    r = am.gemm(8, 8, 8, device="cpu", backend="cpu", **fast)
    assert r.env["aimatrix"] == am.__version__
    assert r.device == "cpu" and r.backend == "cpu" and r.dtype == "fp32"
    assert r.ran["timer"] == "steady-clock"
    assert "median" in repr(r) and "TFLOP/s" in repr(r)


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [
        (dict(m=0, n=1, k=1), ValueError, "m=0 is not allowed: it must be a positive integer"),
        (dict(m=1, n=-3, k=1), ValueError, "n=-3 is not allowed"),
        (dict(m=1, n=1, k=2.5), TypeError, "k=2.5 is not allowed"),
        (dict(m=True, n=1, k=1), TypeError, "m=True is not allowed"),
        (dict(m=1, n=1, k=1, batch=0), ValueError, "batch=0 is not allowed"),
        (dict(m=1, n=1, k=1, dtype="fp64"), ValueError, "dtype='fp64' is not allowed: expected one of fp32, tf32"),
        (dict(m=1, n=1, k=1, backend="magma"), ValueError, "backend='magma' is not allowed: expected one of auto, cpu"),
        (dict(m=1, n=1, k=1, device="tpu"), ValueError, "device='tpu' is not allowed"),
        (dict(m=1, n=1, k=1, device="cuda:x"), ValueError, "device='cuda:x' is not allowed"),
        (dict(m=1, n=1, k=1, mode="warm"), ValueError, "mode='warm' is not allowed"),
        (dict(m=1, n=1, k=1, trans_a="yes"), TypeError, "trans_a='yes' is not allowed"),
        (dict(m=1, n=1, k=1, seed=-1), ValueError, "seed=-1 is not allowed"),
    ],
)
def test_gemm_bad_arguments(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        am.gemm(**kwargs)


def test_cpu_backend_rejects_other_dtypes():
    with pytest.raises(am.UnsupportedError, match="cpu backend runs dtype fp32 only, not bf16"):
        am.gemm(8, 8, 8, dtype="bf16", device="cpu", backend="cpu")


def test_cuda_backend_on_cpu_device_is_unsupported():
    with pytest.raises(am.UnsupportedError, match="backend='cublas' needs a CUDA device"):
        am.gemm(8, 8, 8, backend="cublas", device="cpu")


def test_cpu_out_of_memory_is_an_exception(fast):
    with pytest.raises(am.OutOfMemoryError, match="host memory"):
        am.gemm(1 << 20, 1 << 20, 1 << 20, device="cpu")
    assert am.gemm(8, 8, 8, device="cpu", **fast).ok  # still usable


@pytest.mark.skipif(_native.cuda_available(), reason="checks the message shown where CUDA is missing")
def test_cuda_device_without_cuda_says_why():
    with pytest.raises(am.UnsupportedError, match="CUDA is not available"):
        am.gemm(8, 8, 8, device="cuda")


# ---------------------------------------------------------------- CUDA ----
CUDA_COMBOS = (
    [("cublas", d) for d in ("fp32", "tf32", "fp16", "bf16")]
    + [("cublaslt", d) for d in ("fp32", "tf32", "fp16", "bf16")]
    + [("simt", "fp32"), ("tensorcore", "fp16"), ("tensorcore", "bf16")]
)


@pytest.mark.cuda
@pytest.mark.parametrize("backend, dtype", CUDA_COMBOS)
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (7, 33, 129), (129, 7, 33), (257, 129, 72), (512, 256, 128)])
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_cuda_gemm_verified(backend, dtype, m, n, k, trans_a, trans_b, fast):
    r = am.gemm(m, n, k, dtype=dtype, backend=backend, trans_a=trans_a, trans_b=trans_b, device="cuda", **fast)
    assert r.ok and r.verify["passed"], r
    assert r.verify["nonfinite"] == 0
    assert r.pct_of_peak is not None and 0 < r.pct_of_peak < 100


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
@pytest.mark.parametrize(
    "m, n, k, tile", [(512, 264, 136, "128x64"), (2048, 2056, 72, "128x128"), (4096, 4104, 72, "128x256")]
)
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("cluster", ["0", "1"])
def test_cuda_tensorcore_each_tile_width_verified(dtype, m, n, k, tile, trans_a, trans_b, cluster, fast, monkeypatch):
    """The Hopper kernel picks its tile width by the number of tiles (gemm_tc.cu): one shape for each width; alone
    and in pairs of CTAs sharing an operand by TMA multicast (odd tile counts: the pair's second tile is empty)."""
    monkeypatch.setenv("AIMATRIX_WGMMA_CLUSTER", cluster)
    r = am.gemm(m, n, k, dtype=dtype, backend="tensorcore", trans_a=trans_a, trans_b=trans_b, device="cuda", **fast)
    assert r.verify["passed"] and r.verify["nonfinite"] == 0, r
    if "wgmma" in r.ran["kernel"]:  # sm_90a; other GPUs run the mma.sync kernel
        assert f"_{tile}x64_" in r.ran["kernel"], r.ran["kernel"]
        assert ("_mcast" in r.ran["kernel"]) == (cluster == "1"), r.ran["kernel"]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
@pytest.mark.parametrize("m, n, k, batch", [(200, 136, 72, 1), (72, 264, 40, 3), (1000, 8, 64, 2), (64, 36, 40, 2)])
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_cuda_tensorcore_tma_store_epilogue_at_the_edges(dtype, m, n, k, batch, trans_a, trans_b, fast):
    """n a multiple of 8: the Hopper kernel stores C through shared memory and TMA, in 64 x 64 boxes that run past
    m's and n's edges and across a batch (else from registers); the output is NaN-poisoned first, so an unwritten
    element fails too."""
    r = am.gemm(
        m, n, k, batch=batch, dtype=dtype, backend="tensorcore", trans_a=trans_a, trans_b=trans_b, device="cuda", **fast
    )
    assert r.verify["passed"] and r.verify["nonfinite"] == 0, r
    if "wgmma" in r.ran["kernel"]:
        assert ("_tmastore" in r.ran["kernel"]) == (n % 8 == 0), r.ran["kernel"]


@pytest.mark.cuda
def test_cuda_wgmma_cluster_setting_checked(monkeypatch):
    monkeypatch.setenv("AIMATRIX_WGMMA_CLUSTER", "2")
    with pytest.raises(ValueError, match="AIMATRIX_WGMMA_CLUSTER='2': expected 0 or 1"):
        am.gemm(256, 256, 256, dtype="bf16", backend="tensorcore", device="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("backend, dtype", CUDA_COMBOS)
def test_cuda_gemm_batched(backend, dtype, fast):
    r = am.gemm(65, 33, 40, batch=3, dtype=dtype, backend=backend, trans_b=True, device="cuda", **fast)
    assert r.verify["passed"], r


@pytest.mark.cuda
@pytest.mark.parametrize("m, n, k", [(16, 16, 16), (64, 48, 32), (1024, 1024, 1024)])
def test_cuda_fp8_cublaslt(m, n, k, fast):
    info = am.system.env.device_info(am.device.resolve("cuda"))
    if info["cc_major"] * 10 + info["cc_minor"] < 89:
        with pytest.raises(am.UnsupportedError, match="fp8 needs compute capability 8.9"):
            am.gemm(m, n, k, dtype="fp8", backend="cublaslt", trans_b=True, device="cuda")
        return
    r = am.gemm(m, n, k, dtype="fp8", backend="cublaslt", trans_b=True, device="cuda", **fast)
    assert r.verify["passed"], r


@pytest.mark.cuda
@pytest.mark.parametrize(
    "m, n, k, tile",
    [(16, 16, 16, "128x64"), (7, 33, 48, "128x64"), (512, 264, 144, "128x64"), (2048, 2056, 128, "128x128")]
    + [(4096, 4104, 128, "128x256")],
)
@pytest.mark.parametrize("cluster", ["0", "1"])
def test_cuda_fp8_tensorcore(m, n, k, tile, cluster, fast, monkeypatch):
    """Our fp8 wgmma kernel (e4m3 in, bf16 out, TN), verified, at each tile width, alone and in CTA pairs; sm_90
    only."""
    monkeypatch.setenv("AIMATRIX_WGMMA_CLUSTER", cluster)
    info = am.system.env.device_info(am.device.resolve("cuda"))
    if (info["cc_major"], info["cc_minor"]) != (9, 0):
        with pytest.raises(am.UnsupportedError, match="fp8 runs on sm_90"):
            am.gemm(m, n, k, dtype="fp8", backend="tensorcore", trans_b=True, device="cuda")
        return
    r = am.gemm(m, n, k, dtype="fp8", backend="tensorcore", trans_b=True, device="cuda", **fast)
    assert r.verify["passed"] and r.verify["nonfinite"] == 0, r
    assert f"_{tile}x64_" in r.ran["kernel"] and r.ran["kernel"].endswith("_fp8_nt"), r.ran["kernel"]


@pytest.mark.cuda
def test_cuda_fp8_needs_tn_layout():
    with pytest.raises(am.UnsupportedError, match="trans_b=True"):
        am.gemm(64, 64, 64, dtype="fp8", backend="cublaslt", device="cuda")
    with pytest.raises(am.UnsupportedError, match="multiples of 16, got m=64 n=700 k=64"):
        am.gemm(64, 700, 64, dtype="fp8", backend="cublaslt", trans_b=True, device="cuda")
    with pytest.raises(am.UnsupportedError, match="no fp8 path"):
        am.gemm(64, 64, 64, dtype="fp8", backend="cublas", trans_b=True, device="cuda")
    with pytest.raises(am.UnsupportedError, match="fp8 needs trans_a=False, trans_b=True"):
        am.gemm(64, 64, 64, dtype="fp8", backend="tensorcore", device="cuda")
    with pytest.raises(
        am.UnsupportedError, match=r"fp8 needs k to be a multiple of 16 \(16-byte rows for TMA\), got k=40"
    ):
        am.gemm(64, 64, 40, dtype="fp8", backend="tensorcore", trans_b=True, device="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("backend", ["cublas", "cublaslt"])
def test_cuda_int8(backend, fast):
    try:
        r = am.gemm(128, 64, 256, dtype="int8", backend=backend, trans_b=True, device="cuda", **fast)
    except am.UnsupportedError as e:  # allowed, but must say why
        assert "int8" in str(e) or "CUBLAS_STATUS_NOT_SUPPORTED" in str(e)
        return
    assert r.verify["passed"] and r.rel_error == 0.0


@pytest.mark.cuda
@pytest.mark.parametrize("backend, dtype", [("simt", "bf16"), ("tensorcore", "fp32"), ("tensorcore", "tf32")])
def test_cuda_own_kernels_reject_other_dtypes(backend, dtype):
    with pytest.raises(am.UnsupportedError, match=f"backend '{backend}' runs dtype"):
        am.gemm(8, 8, 8, dtype=dtype, backend=backend, device="cuda")


@pytest.mark.cuda
def test_cuda_out_of_memory_then_usable(fast):
    with pytest.raises(am.OutOfMemoryError, match="out of GPU memory"):
        am.gemm(1 << 19, 1 << 19, 1 << 10, dtype="fp32", device="cuda")
    assert am.gemm(64, 64, 64, device="cuda", **fast).verify["passed"]


@pytest.mark.cuda
def test_cuda_cold_mode_and_graph_batching(fast):
    cold = am.gemm(256, 256, 256, dtype="bf16", mode="cold", device="cuda", **fast)
    assert cold.ran["repeat"] == 1 and cold.ran["timer"] == "cuda-event"
    hot = am.gemm(64, 64, 64, dtype="bf16", device="cuda", max_time=0.2)
    assert hot.ran["repeat"] > 1 and hot.ran["timer"] == "cuda-graph"


@pytest.mark.cuda
def test_cuda_result_environment(fast):
    r = am.gemm(64, 64, 64, device="cuda", **fast)
    gpu = r.env["gpu"]
    assert gpu["name"] and gpu["uuid"].startswith("GPU-")
    assert gpu["driver_version"] > 0 and gpu["cublas_version"] > 0
    assert r.ran["api"] in ("cublasLtMatmul",)


@pytest.mark.cuda
def test_cuda_measure_callable():
    import torch

    x = torch.randn(2048, 2048, device="cuda")
    m = am.timing.measure(lambda: x @ x, device="cuda", max_time=0.5)
    assert m.stats["timer"] == "cuda-event" and m.median_ms > 0
