"""Convolution: CPU correctness in every direction/layout on odd shapes, bad inputs; CUDA backends (marked)."""

import re

import pytest
from _conv_shapes import DIRECTIONS, conv, cpu_conv_checked

import aimatrix as am

# (n, c, h, w, k, r, s, stride, pad, dilation, groups): odd sizes, rectangular filters, strides, dilation, groups.
ODD = [
    (1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1),
    (2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1),
    (3, 5, 9, 11, 7, 3, 2, (2, 1), (1, 2), 1, 1),
    (2, 6, 10, 9, 4, 3, 3, 2, 0, (2, 1), 2),
    (1, 4, 8, 8, 8, 5, 5, 3, 2, 1, 4),  # depthwise-like groups
    (2, 3, 13, 6, 5, 1, 1, 2, 0, 1, 1),  # 1x1, stride 2
    (3, 5, 6, 7, 4, 1, 1, 1, 0, 1, 1),  # 1x1, stride 1: the GEMM reads x as it is stored (NCHW)
    (2, 6, 5, 3, 4, 1, 1, 1, 0, 1, 2),  # the same with groups
    (2, 3, 33, 32, 4, 3, 3, 1, 1, 1, 1),  # >= 1024 output pixels: one image per GEMM (NCHW)
    (2, 3, 32, 33, 4, 1, 1, 1, 0, 1, 1),  # the same, 1x1 stride 1: x read in place
    (3, 700, 31, 31, 2, 3, 3, 1, 1, 1, 1),  # a 64 MiB im2col buffer holds 2 images: GEMMs of 2 + 1 (NCHW)
    (1, 2, 5, 5, 3, 5, 5, 1, 0, 1, 1),  # filter as large as the input: 1x1 output
]


@pytest.mark.parametrize("shape", ODD)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_cpu_conv_odd_shapes(shape, direction, layout, fast):
    res = cpu_conv_checked(shape, direction, layout, "cpu", **fast)
    assert res.median_ms > 0


def test_cpu_conv_output_size_and_default_s(fast):
    r = am.conv(2, 3, 32, 30, k=8, r=3, stride=2, pad=1, device="cpu", **fast)
    assert (r.params["ho"], r.params["wo"], r.params["s"]) == (16, 15, 3)


def test_cpu_conv_checks_every_output_of_small_problems(fast):
    r = am.conv(1, 2, 4, 4, k=3, r=3, pad=1, device="cpu", **fast)
    assert r.verify["checked"] == 1 * 3 * 4 * 4


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [
        (dict(n=0), ValueError, "n=0 is not allowed"),
        (dict(k=-1), ValueError, "k=-1 is not allowed"),
        (dict(c=2.5), TypeError, "c=2.5 is not allowed"),
        (dict(stride=0), ValueError, "stride=0 is not allowed"),
        (dict(stride=(1, -2)), ValueError, r"stride=\(1, -2\) is not allowed"),
        (dict(pad=-1), ValueError, "pad=-1 is not allowed"),
        (dict(pad=(1, 2, 3)), ValueError, "expected an integer or a pair"),
        (dict(dilation=0), ValueError, "dilation=0 is not allowed"),
        (dict(groups=3), ValueError, "groups=3 is not allowed: it must divide both c=4 and k=8"),
        (dict(r=9), ValueError, "larger than the padded input 8x8"),
        (dict(r=3, dilation=4), ValueError, "larger than the padded input"),
        (dict(dtype="fp8"), ValueError, "dtype='fp8' is not allowed"),
        (dict(layout="chwn"), ValueError, "layout='chwn' is not allowed"),
        (dict(direction="bwd"), ValueError, "direction='bwd' is not allowed"),
        (dict(mode="warm"), ValueError, "mode='warm' is not allowed"),
        (dict(backend="winograd"), ValueError, "backend='winograd' is not allowed"),
        (dict(algo=3), TypeError, "algo=3 is not allowed"),
    ],
)
def test_conv_bad_arguments(kwargs, exc, text):
    args = dict(n=1, c=4, h=8, w=8, k=8, r=3, device="cpu")
    args.update(kwargs)
    with pytest.raises(exc, match=text):
        am.conv(args.pop("n"), args.pop("c"), args.pop("h"), args.pop("w"), **args)


def test_cpu_conv_rejects_half_precision():
    with pytest.raises(am.UnsupportedError, match="cpu backend runs dtype fp32 only, not bf16"):
        am.conv(1, 4, 8, 8, k=4, r=3, dtype="bf16", device="cpu", backend="cpu")


def test_cuda_conv_backend_on_cpu_is_unsupported():
    with pytest.raises(am.UnsupportedError, match="conv backend='cudnn' needs a CUDA device"):
        am.conv(1, 4, 8, 8, k=4, r=3, backend="cudnn", device="cpu")


def test_cpu_conv_out_of_memory_is_an_exception():
    with pytest.raises(am.OutOfMemoryError, match="host memory"):
        am.conv(1 << 12, 1 << 12, 1 << 12, 1 << 12, k=1, r=1, device="cpu")


# A small network's convs: 3x3, a strided 3x3, a 1x1.
CHAIN = [
    dict(n=2, c=8, h=12, w=12, k=16, r=3, pad=1),
    dict(n=2, c=16, h=12, w=12, k=16, r=3, stride=2, pad=1),
    dict(n=2, c=16, h=6, w=6, k=24, r=1),
]


def _chain_flops(layers):
    return sum(am.conv(**x, device="cpu", max_time=0.01, min_time=0.0, min_samples=1).metrics["flops"] for x in layers)


def test_cpu_conv_chain(fast):
    r = am.micro.conv_chain(CHAIN, device="cpu", layout="nhwc", **fast)
    assert r.ok and r.verify["passed"] and r.verify["checked"] > 0
    assert r.params["layers"] == 3 and r.params["shapes"][1] == "2x16x12x12 k16 3x3/2"
    assert r.metrics["flops"] == _chain_flops(CHAIN)
    one = am.micro.conv_chain(CHAIN[:1], device="cpu", **fast)
    assert one.metrics["flops"] == _chain_flops(CHAIN[:1])


@pytest.mark.parametrize(
    "layers, exc, text",
    [
        ([], ValueError, "non-empty list"),
        (CHAIN[0], ValueError, "non-empty list"),
        ([CHAIN[0], 3], TypeError, r"layers\[1\]=3"),
        ([dict(CHAIN[0], kernel=3)], ValueError, r"unknown key\(s\) \['kernel'\]"),
        ([dict(n=1, c=2, h=4, w=4, k=2)], ValueError, r"lacks \['r'\]"),
        ([CHAIN[0], dict(n=1, c=2, h=2, w=2, k=2, r=5)], ValueError, r"layers\[1\]: filter 5x5"),
        ([dict(CHAIN[0], groups=3)], ValueError, r"layers\[0\]: groups=3"),
    ],
)
def test_conv_chain_bad_arguments(layers, exc, text):
    with pytest.raises(exc, match=text):
        am.micro.conv_chain(layers, device="cpu")


# -- CUDA ---------------------------------------------------------------------------------
CUDA_SHAPES = [
    (2, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1),
    (3, 24, 9, 7, 40, 3, 3, 2, 1, 1, 1),
    (2, 32, 10, 10, 48, 1, 1, 1, 0, 1, 1),
    (2, 16, 12, 12, 32, 5, 5, 1, 2, 1, 2),
    (1, 8, 11, 13, 16, 3, 3, 1, 2, 2, 1),
]
QUICK = dict(max_time=0.2, min_time=0.0, min_samples=3, warmup=0.01)  # correctness, not timing: a short warm-up


@pytest.mark.cuda
@pytest.mark.parametrize("shape", CUDA_SHAPES)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(
    "dtype, layout",
    [
        ("fp32", "nchw"),
        ("fp32", "nhwc"),
        ("tf32", "nhwc"),
        ("fp16", "nchw"),
        ("fp16", "nhwc"),
        ("bf16", "nchw"),
        ("bf16", "nhwc"),
    ],
)
def test_cudnn_conv(shape, direction, dtype, layout):
    res = conv(shape, dtype=dtype, layout=layout, direction=direction, backend="cudnn", **QUICK)
    assert res.ok and res.verify["passed"], res.verify
    assert res.backend == "cudnn" and res.params["algo_choice"] == "find"
    p = res.ran  # what cuDNN's find chose
    assert p["api"] == "graph" and p["algo"] == f"engine:{p['engine']}" and int(p["engine"]) >= 0, p
    assert float(p["algo_find_ms"]) > 0 and int(p["algo_find_count"]) >= 1 and int(p["workspace_bytes"]) >= 0
    assert p["heur"] in ("A", "FALLBACK") and p["algo_find_mode"] == "hot"
    if dtype == "fp32":  # true fp32: never a tensor-core (TF32) engine
        assert "TENSOR_CORE" not in p["notes"].split(","), p
    assert "DOWN_CONVERT_INPUTS" not in p["notes"].split(",")
    assert res.metrics["tflops"] > 0 and res.metrics["pct_of_peak"] > 0


@pytest.mark.cuda
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_cudnn_find_in_cold_mode_times_cold_launches(direction):
    res = am.conv(
        8,
        64,
        28,
        28,
        k=64,
        r=3,
        pad=1,
        dtype="bf16",
        layout="nhwc",
        direction=direction,
        backend="cudnn",
        mode="cold",
        **QUICK,
    )
    assert res.verify["passed"] and res.ran["algo_find_mode"] == "cold" and float(res.ran["algo_find_ms"]) > 0


@pytest.mark.cuda
@pytest.mark.parametrize(
    "algo, api",
    [("heuristic", "graph"), ("legacy-find", "legacy"), ("legacy-heuristic", "legacy"), ("IMPLICIT_GEMM", "legacy")],
)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_cudnn_algo_choice(algo, api, direction):
    if algo == "IMPLICIT_GEMM" and direction != "fwd":
        algo = "ALGO_1"
    res = am.conv(2, 16, 8, 8, k=16, r=3, pad=1, direction=direction, backend="cudnn", algo=algo, **QUICK)
    assert res.verify["passed"] and res.params["algo_choice"] == algo and res.ran["api"] == api
    if api == "legacy" and not algo.startswith("legacy-"):
        assert res.ran["algo"] == algo
    if api == "graph":
        assert "algo_find_ms" not in res.ran and res.ran["engine"]


def _cudnn_found(**shape):
    """A cudnn conv's arguments (NHWC, QUICK timing) and the Result of its find."""
    args = dict(**shape, layout="nhwc", backend="cudnn", **QUICK)
    return args, am.conv(**args)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_cudnn_engine_by_number(dtype):
    args, found = _cudnn_found(n=2, c=32, h=10, w=10, k=32, r=3, pad=1, dtype=dtype)
    engine = found.ran["engine"]
    res = am.conv(**args, algo=f"engine:{engine}")
    assert res.verify["passed"] and res.ran["engine"] == engine and res.ran["api"] == "graph"
    with pytest.raises(am.UnsupportedError, match="engine 99999"):
        am.conv(**dict(args, algo="engine:99999"))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_cudnn_exact_config_runs_again(dtype):
    args, found = _cudnn_found(n=4, c=64, h=14, w=14, k=64, r=3, pad=1, dtype=dtype)
    exact = found.ran["algo_exact"]
    assert exact.startswith(f"engine:{found.ran['engine']}") and found.ran["knobs"] in exact
    again = am.conv(**args, algo=exact)
    assert again.verify["passed"] and again.params["algo_choice"] == exact
    assert (again.ran["engine"], again.ran["knobs"]) == (found.ran["engine"], found.ran["knobs"])
    if found.ran["knobs"]:  # one knob, by name: only configs that make that choice
        first = found.ran["knobs"].split(",")[0]
        some = am.conv(**args, algo=f"engine:{found.ran['engine']}({first})")
        assert some.verify["passed"] and first in some.ran["knobs"].split(",")


@pytest.mark.cuda
def test_cudnn_knobs_by_number_as_in_frontend_tags():
    args, found = _cudnn_found(n=4, c=64, h=14, w=14, k=64, r=1, dtype="bf16")
    if "WORKSPACE=" not in found.ran["knobs"]:
        pytest.skip(f"the config found has no WORKSPACE knob: {found.ran['algo_exact']}")
    value = found.ran["knobs"].split("WORKSPACE=")[1].split(",")[0]
    res = am.conv(**args, algo=f"engine:{found.ran['engine']}(25={value})")  # CUDNN_KNOB_TYPE_WORKSPACE is 25
    assert res.verify["passed"] and f"WORKSPACE={value}" in res.ran["knobs"].split(",")


@pytest.mark.cuda
@pytest.mark.parametrize(
    "algo, match",
    [
        ("engine:0(NOT_A_KNOB=1)", "knob 'NOT_A_KNOB=1' is not allowed"),
        ("engine:0(TILE_SIZE)", "knob 'TILE_SIZE' is not allowed"),
        ("engine:0(TILE_SIZE=x)", "knob 'TILE_SIZE=x' is not allowed"),
        ("engine:0(TILE_SIZE=1,TILE_SIZE=2)", "given twice"),
        ("engine:0()", r"algo='engine:0\(\)' is not allowed"),
        ("engine:0(TILE_SIZE=1", "is not allowed"),
    ],
)
def test_cudnn_bad_knobs_are_value_errors(algo, match):
    with pytest.raises(ValueError, match=match):
        am.conv(1, 4, 8, 8, k=4, r=3, backend="cudnn", algo=algo, **QUICK)


@pytest.mark.cuda
def test_cudnn_knob_choice_no_config_makes_is_unsupported():
    with pytest.raises(am.UnsupportedError, match=r"engine 0 \(SPLIT_K=987654\)"):
        am.conv(2, 16, 8, 8, k=16, r=3, pad=1, backend="cudnn", algo="engine:0(SPLIT_K=987654)", **QUICK)


@pytest.mark.cuda
@pytest.mark.parametrize("algo", ["MAGIC", "engine:", "engine:x1", "WINOGRAD_NONFUSED_PLUS"])
def test_cudnn_unknown_algo_is_a_value_error(algo):
    with pytest.raises(ValueError, match=f"algo='{algo}' is not allowed") as e:
        am.conv(1, 4, 8, 8, k=4, r=3, backend="cudnn", algo=algo, **QUICK)
    if not algo.startswith("engine"):
        for name in ("find", "heuristic", "engine:N", "legacy-find", "legacy-heuristic", "IMPLICIT_GEMM"):
            assert name in str(e.value)


@pytest.mark.cuda
@pytest.mark.parametrize(
    "shape", CUDA_SHAPES + [(2, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1), (1, 8, 7, 7, 136, 3, 3, 2, 1, 1, 1)]
)
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_igemm_conv(shape, dtype):
    if shape[-1] != 1:
        with pytest.raises(am.UnsupportedError, match="groups"):
            conv(shape, dtype=dtype, layout="nhwc", backend="igemm", **QUICK)
        return
    res = conv(shape, dtype=dtype, layout="nhwc", backend="igemm", **QUICK)
    assert res.ok and res.verify["passed"], res.verify
    assert res.backend == "igemm"


def igemm(shape: tuple, **kw):
    """``conv`` of one table row on backend igemm (NHWC, quick timing), skipped where a wgmma kernel it needs cannot
    run (no compute capability 9.0 or no sm_90a build)."""
    try:
        return conv(shape, layout="nhwc", backend="igemm", **QUICK, **kw)
    except am.UnsupportedError as e:
        if "sm_90a" in str(e):
            pytest.skip("the wgmma kernel needs compute capability 9.0 and an sm_90a build")
        raise


def parts(want: int, stages: int) -> int:
    """The split count an igemm kernel runs for a requested one: each part a whole number of stages."""
    per = -(-stages // min(want, stages))
    return -(-stages // per)


def splits_of(kernel: str) -> int:
    """The split count in an igemm kernel's name (``_splitk<n>``; none: 1)."""
    m = re.search(r"_splitk(\d+)(_|$)", kernel)
    return int(m.group(1)) if m else 1


# Shapes for every tensor-core kernel choice: C a multiple of 8 but not of 64, odd M,
# K not a multiple of the tile (nor of 8: y stored from registers), padding / stride / dilation,
# layer4-like (few tiles), and more tiles than the persistent wgmma grid has blocks (392-588
# units, each block loops over several). Where C % 64 == 0 the wgmma kernels load x by TMA in
# im2col mode: those shapes add a stride of 2 on an odd output, and r != s with dilation (the
# map's corners differ along h and w).
IGEMM_TC_SHAPES = [
    (3, 128, 15, 13, 72, 3, 3, 2, 1, 1, 1),
    (2, 64, 12, 10, 64, 3, 1, 1, 1, 2, 1),
    (5, 40, 13, 11, 200, 3, 3, 1, 1, 1, 1),
    (8, 64, 56, 56, 136, 3, 3, 1, 1, 1, 1),
    (3, 136, 9, 9, 72, 3, 3, 2, 1, 1, 1),
    (4, 72, 15, 15, 96, 3, 3, 1, 0, 1, 1),
    (1, 8, 11, 13, 16, 3, 3, 1, 2, 2, 1),
    (2, 16, 5, 5, 8, 5, 5, 1, 2, 1, 1),
    (7, 512, 7, 7, 520, 3, 3, 1, 1, 1, 1),
    (2, 16, 9, 9, 100, 3, 3, 1, 1, 1, 1),
]


@pytest.mark.cuda
@pytest.mark.parametrize(
    "kernel",
    [
        "mma",
        "wgmma",
        "wgmma_256",
        "wgmma_128",
        "wgmma_64",
        "wgmma_256_s2",
        "wgmma_128_s3",
        "wgmma_64_s2",
        "wgmma_s3",
        "wgmma_gather",
        "wgmma_64_s2_gather",
    ],
)
@pytest.mark.parametrize("shape", IGEMM_TC_SHAPES)
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_igemm_tensor_core_kernels(kernel, shape, dtype, monkeypatch):
    monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", kernel)
    res = igemm(shape, dtype=dtype)
    assert res.ok and res.verify["passed"], res.verify
    name = res.ran["kernel"]
    assert name.startswith("igemm_mma16816" if kernel == "mma" else "igemm_wgmma"), name
    if kernel.split("_")[1:2] != [] and kernel.split("_")[1].isdigit():  # wgmma_<bn>[_s<splits>]
        assert name.startswith("igemm_wgmma_128x" + kernel.split("_")[1] + "x64"), name
    if kernel == "wgmma_s3":  # the chosen tile, the reduction (r * s * c) in 3 parts of whole 64-deep stages
        assert splits_of(name) == parts(3, -(-shape[1] * shape[5] * shape[6] // 64)), name
    if kernel in ("wgmma_256", "wgmma_128"):  # unsplit: y through TMA stores where its rows are 16-byte multiples
        assert name.endswith("_tmastore") == (shape[4] % 8 == 0), name
    if kernel != "mma":  # x by TMA's im2col mode where a 64-wide slice is one tap's channels, unless told to gather
        assert ("_im2col" in name) == (shape[1] % 64 == 0 and not kernel.endswith("_gather")), name


# bwd_data at stride 1: odd sizes, c not a multiple of 8 (dx is the forward form's output: stored from registers),
# dilation, no padding, 1x1, 5x5, and more tiles than the persistent grid.
IGEMM_BWD_DATA_SHAPES = [
    (3, 40, 13, 11, 72, 3, 3, 1, 1, 1, 1),
    (2, 20, 9, 9, 16, 3, 3, 1, 1, 1, 1),
    (2, 64, 12, 12, 64, 3, 3, 1, 2, 2, 1),
    (4, 24, 10, 10, 32, 3, 3, 1, 0, 1, 1),
    (2, 32, 7, 7, 48, 1, 1, 1, 0, 1, 1),
    (2, 16, 11, 11, 8, 5, 5, 1, 2, 1, 1),
    (8, 136, 56, 56, 64, 3, 3, 1, 1, 1, 1),
    (2, 20, 9, 9, 128, 3, 3, 1, 1, 1, 1),
    (2, 192, 9, 7, 128, 3, 1, 1, 0, 2, 1),
]


@pytest.mark.cuda
@pytest.mark.parametrize("kernel", ["auto", "mma", "wgmma_128", "wgmma_64_s2"])
@pytest.mark.parametrize("shape", IGEMM_BWD_DATA_SHAPES)
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_igemm_bwd_data(kernel, shape, dtype, monkeypatch):
    """dx from dy and the filter, as the forward kernels' convolution of dy with the flipped filter: every kernel
    verified against the float64 reference (fp32 runs the CUDA-core kernel whatever the override)."""
    if dtype == "fp32" and kernel != "auto":
        pytest.skip("fp32 has one kernel")
    if kernel != "auto":
        monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", kernel)
    res = igemm(shape, dtype=dtype, direction="bwd_data")
    c, k = shape[1], shape[4]
    assert res.ok and res.verify["passed"] and res.verify["nonfinite"] == 0, res.verify
    # The wgmma kernel reads the filter in place where a k-slice is one tap's channels (k % 64 == 0) and the rows
    # of c channels are 16-byte multiples; elsewhere a flipped copy is made first.
    name = res.ran["kernel"]
    wgmma = kernel.startswith("wgmma") or (kernel == "auto" and "wgmma" in name)  # auto: wgmma on Hopper only
    in_place = dtype != "fp32" and wgmma and k % 64 == 0 and c % 8 == 0
    assert name.startswith("igemm_wgmma_" if in_place else "flip_filter+igemm_"), name
    assert ("_wkrsc" in name) == in_place, name


# bwd_filter: c a multiple of 64 (of 128: the 128-wide tile); k below, at and past the 128-row tile; stride,
# dilation with r != s, 1x1, and enough pixels for the reduction to be split across many blocks.
IGEMM_BWD_FILTER_SHAPES = [
    (2, 64, 9, 9, 72, 3, 3, 1, 1, 1, 1),
    (3, 128, 13, 11, 136, 3, 3, 2, 1, 1, 1),
    (2, 64, 12, 12, 16, 3, 3, 1, 2, 2, 1),
    (4, 64, 7, 7, 200, 1, 1, 1, 0, 1, 1),
    (8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1),
    (2, 64, 10, 12, 72, 3, 1, 1, 1, 2, 1),
    (2, 128, 10, 12, 40, 3, 1, 1, 1, 2, 1),
    (4, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1),
    (3, 128, 9, 11, 24, 3, 3, 2, 1, 1, 1),
]


@pytest.mark.cuda
@pytest.mark.parametrize(
    "kernel",
    ["auto", "wgmma_64", "wgmma_gather", "wgmma_s1", "wgmma_64_s3", "wgmma_s100000", "wgmma_s3_w1", "wgmma_s2_w999"],
)
@pytest.mark.parametrize("shape", IGEMM_BWD_FILTER_SHAPES)
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_igemm_bwd_filter(shape, dtype, kernel, monkeypatch):
    """dW as dy^T times the input (loaded by TMA in im2col mode, or gathered by the producer threads) on Hopper's
    wgmma, 128 x 128 tiles where c % 128 == 0 (else, or forced, 128 x 64; k <= 64: dW^T's 128 x 64), the pixels
    split across blocks (in as many parts as the model of the runner chooses, or as _s<splits> asks, each part a
    whole number of 64-pixel stages: one stage each at most; _w<whole>: that many tiles first over all the pixels,
    the rest split) and summed: verified against the float64 reference."""
    if kernel != "auto":
        monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", kernel)
    res = igemm(shape, dtype=dtype, direction="bwd_filter")
    n, c, h, w, k, r, s, stride, pad, dil = shape[:10]
    assert res.ok and res.verify["passed"] and res.verify["nonfinite"] == 0, res.verify
    name = res.ran["kernel"]
    # the roles turned: 128 rows of r*s*c, not k's and padding (the chosen tile only, x by TMA)
    swap = (kernel == "auto" or kernel.startswith("wgmma_s")) and k <= 64
    bn = 128 if c % 128 == 0 and not kernel.startswith("wgmma_64") and not swap else 64
    assert name.startswith(f"igemm_wgrad_wgmma_128x{bn}x64_"), name
    assert ("_im2col" in name) != (kernel == "wgmma_gather"), name
    assert name.endswith("_swapped") == swap, name
    if "_s" in kernel:
        p, q = ((e + 2 * pad - dil * (f - 1) - 1) // stride + 1 for e, f in ((h, r), (w, s)))
        pixels = n * p * q
        assert splits_of(name) == parts(int(kernel.split("_s")[1].split("_")[0]), -(-pixels // 64)), name
        assert ("_whole" in name) == ("_w" in kernel), name
        if kernel.endswith("_w1"):
            assert "_whole1_" in name, name


@pytest.mark.cuda
def test_igemm_bwd_filter_tile_override_is_checked(monkeypatch):
    monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", "wgmma_256")
    with pytest.raises(ValueError, match="wgmma_64 or wgmma_128"):
        am.conv(2, 128, 8, 8, k=64, r=3, pad=1, dtype="bf16", layout="nhwc", direction="bwd_filter", backend="igemm")
    monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", "wgmma_128")
    with pytest.raises(am.UnsupportedError, match="multiple of 128, not 64"):
        am.conv(2, 64, 8, 8, k=64, r=3, pad=1, dtype="bf16", layout="nhwc", direction="bwd_filter", backend="igemm")
    for bad, why in (
        ("wgmma_s0", "the split count after _s is 1 or more"),
        ("wgmma_64_s0", "the split count after _s is 1 or more"),
        ("wgmma_w3", "_w<whole tiles> \\(0 or more\\) follows _s<splits>"),
        ("wgmma_s2_w-1", "_w<whole tiles> \\(0 or more\\) follows _s<splits>"),
    ):
        monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", bad)
        with pytest.raises(ValueError, match=f"'{bad}': {why}"):
            am.conv(2, 64, 8, 8, k=64, r=3, pad=1, dtype="bf16", layout="nhwc", direction="bwd_filter", backend="igemm")


@pytest.mark.cuda
def test_igemm_kernel_override_is_checked(monkeypatch):
    for bad in ("magic", "wgmma_s0", "wgmma_96", "wgmma_128_s0", "wgmma_s", "wgmma_s2_w1", "mma_gather"):
        monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", bad)
        with pytest.raises(ValueError, match=f"AIMATRIX_IGEMM_KERNEL='{bad}'"):
            igemm((1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1), dtype="bf16")
    # a kernel the case cannot run on is refused, not ignored
    monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", "wgmma")
    with pytest.raises(ValueError, match="'wgmma': fp32 runs on the SIMT kernel only"):
        igemm((1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1), dtype="fp32")
    monkeypatch.setenv("AIMATRIX_IGEMM_KERNEL", "mma")
    with pytest.raises(ValueError, match="'mma': bwd_filter runs on the wgmma kernel only"):
        igemm((2, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1), dtype="bf16", direction="bwd_filter")


@pytest.mark.cuda
def test_igemm_limits_are_unsupported_errors():
    with pytest.raises(am.UnsupportedError, match="nhwc"):
        am.conv(1, 8, 8, 8, k=8, r=3, layout="nchw", backend="igemm", **QUICK)
    with pytest.raises(am.UnsupportedError, match="bwd_filter in fp16 and bf16 only, not fp32"):
        am.conv(1, 64, 8, 8, k=8, r=3, layout="nhwc", direction="bwd_filter", backend="igemm", **QUICK)
    with pytest.raises(am.UnsupportedError, match="bwd_filter needs c to be a multiple of 64"):
        am.conv(1, 32, 8, 8, k=8, r=3, layout="nhwc", dtype="bf16", direction="bwd_filter", backend="igemm", **QUICK)
    with pytest.raises(am.UnsupportedError, match=r"bwd_data at stride 1 only, not stride \(2, 2\)"):
        am.conv(1, 8, 8, 8, k=8, r=3, stride=2, layout="nhwc", direction="bwd_data", backend="igemm", **QUICK)
    with pytest.raises(am.UnsupportedError, match="k to be a multiple of 8"):
        am.conv(1, 8, 8, 8, k=12, r=3, layout="nhwc", dtype="bf16", direction="bwd_data", backend="igemm", **QUICK)
    with pytest.raises(am.UnsupportedError, match=r"padding up to dilation \* \(filter size - 1\), not pad \(3, 3\)"):
        am.conv(1, 8, 8, 8, k=8, r=3, pad=3, layout="nhwc", direction="bwd_data", backend="igemm", **QUICK)
    with pytest.raises(am.UnsupportedError, match="bwd_filter needs k to be a multiple of 8 .*, not 12"):
        am.conv(1, 64, 8, 8, k=12, r=3, layout="nhwc", dtype="bf16", direction="bwd_filter", backend="igemm", **QUICK)
    with pytest.raises(am.UnsupportedError, match="multiple of 8"):
        am.conv(1, 3, 8, 8, k=8, r=3, layout="nhwc", dtype="bf16", backend="igemm", **QUICK)


@pytest.mark.cuda
def test_cuda_conv_out_of_memory_is_an_exception_and_device_stays_usable():
    with pytest.raises(am.OutOfMemoryError, match="GPU memory"):
        am.conv(1 << 14, 1 << 10, 1 << 8, 1 << 8, k=64, r=1, dtype="bf16", backend="cudnn", **QUICK)
    assert am.conv(1, 8, 8, 8, k=8, r=3, backend="cudnn", **QUICK).verify["passed"]


@pytest.mark.cuda
@pytest.mark.parametrize(
    "backend, dtype, layout", [("cudnn", "fp32", "nchw"), ("cudnn", "bf16", "nhwc"), ("igemm", "fp16", "nhwc")]
)
def test_cuda_conv_chain(backend, dtype, layout):
    r = am.micro.conv_chain(CHAIN, dtype=dtype, layout=layout, backend=backend, **QUICK)
    assert r.ok and r.verify["passed"] and r.backend == backend
    assert len(r.ran["algo"].split(";")) == 3 and r.metrics["flops"] == _chain_flops(CHAIN)
    singles = [am.conv(**x, dtype=dtype, layout=layout, backend=backend, **QUICK).median_ms for x in CHAIN]
    assert r.median_ms > max(singles) / 2  # the chain runs every layer, not just one


@pytest.mark.cuda
@pytest.mark.parametrize("backend", ["cudnn", "igemm"])
def test_cuda_conv_after_torch_is_imported_first(backend):
    # PyTorch loads its libraries with RTLD_GLOBAL; aimatrix's module must not bind to their C++ runtime.
    import subprocess
    import sys

    pytest.importorskip("torch")
    code = (
        "import torch, aimatrix as am; r = am.conv(2, 8, 12, 12, k=16, r=3, pad=1, dtype='fp16', layout='nhwc', "
        f"backend={backend!r}, max_time=0.1); assert r.verify['passed'], r"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
