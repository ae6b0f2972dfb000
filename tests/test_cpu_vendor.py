"""The CPU's vendor libraries as backends: OpenBLAS (fp32 GEMM) and oneDNN (fp32 GEMM, bf16 GEMM where the CPU has
AVX-512 BF16 or AMX, convolution in every direction), each verified on odd shapes through the public path; auto's
choice; bad and missing backends."""

import itertools
import sys

import pytest
from _conv_shapes import DIRECTIONS, cpu_conv_checked

import aimatrix as am
from aimatrix import _vendor

needs = {
    name: pytest.mark.skipif(not _vendor.available(name), reason=f"{name} not installed: {_vendor.install_hint(name)}")
    for name in _vendor.LIBRARIES
}
VENDOR_GEMM = [pytest.param(b, marks=needs[b]) for b in ("openblas", "onednn")]
HAS_BF16 = "bf16" in _vendor.gemm_dtypes("onednn")
needs_bf16 = pytest.mark.skipif(not HAS_BF16, reason="oneDNN with AVX-512 BF16 or AMX is not available here")

# (n, c, h, w, k, r, s, stride, pad, dilation, groups): odd channel counts, rectangular filters, strides, padding,
# dilation, groups, a 1x1 output.
ODD_CONV = [
    (1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1),
    (2, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1),
    (3, 5, 9, 11, 7, 3, 2, (2, 1), (1, 2), 1, 1),
    (2, 6, 10, 9, 4, 3, 3, 2, 0, (2, 1), 2),
    (2, 3, 13, 6, 5, 1, 1, 2, 0, 1, 1),
    (1, 2, 5, 5, 3, 5, 5, 1, 0, 1, 1),
]


@pytest.mark.parametrize("backend", VENDOR_GEMM)
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (7, 33, 129), (129, 7, 33), (65, 17, 300)])
@pytest.mark.parametrize("trans_a, trans_b", list(itertools.product([False, True], repeat=2)))
def test_vendor_gemm_odd_shapes_and_transposes(backend, m, n, k, trans_a, trans_b, fast):
    r = am.gemm(m, n, k, trans_a=trans_a, trans_b=trans_b, device="cpu", backend=backend, **fast)
    assert r.ok and r.verify["passed"] and r.rel_error <= 1e-5 and r.verify["nonfinite"] == 0
    assert r.backend == backend and r.median_ms > 0
    assert ("cblas_sgemm" if backend == "openblas" else "dnnl_sgemm") in r.ran["kernel"]


@pytest.mark.parametrize("backend", VENDOR_GEMM)
def test_vendor_gemm_batches(backend, fast):
    r = am.gemm(17, 9, 31, batch=5, trans_b=True, device="cpu", backend=backend, **fast)
    assert r.verify["passed"] and r.params["batch"] == 5 and r.verify["checked"] > 0
    assert r.metrics["flops"] == 2 * 17 * 9 * 31 * 5


@needs["onednn"]
@pytest.mark.parametrize("shape", ODD_CONV)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_onednn_conv_odd_shapes(shape, direction, layout, fast):
    res = cpu_conv_checked(shape, direction, layout, "onednn", **fast)
    assert res.verify["nonfinite"] == 0
    assert res.ran["algo"]  # the kernel oneDNN chose, e.g. "brg_conv_fwd:avx512_core +reorder(w)"


@needs["onednn"]
def test_onednn_conv_chain(fast):
    layers = [dict(n=2, c=3, h=9, w=9, k=5, r=3, pad=1), dict(n=2, c=5, h=9, w=9, k=7, r=1, stride=2)]
    res = am.micro.conv_chain(layers, device="cpu", backend="onednn", **fast)
    assert res.verify["passed"] and res.backend == "onednn" and res.ran["algo"].count(";") == 1


def test_auto_picks_the_vendor_library_on_a_cpu(fast):
    g = am.gemm(16, 16, 16, device="cpu", **fast)
    c = am.conv(1, 3, 8, 8, k=4, r=3, device="cpu", **fast)
    assert g.backend == _vendor.auto("gemm") and c.backend == _vendor.auto("conv")
    assert g.backend == next((b for b in ("openblas", "onednn") if _vendor.available(b)), "cpu")
    assert c.backend == ("onednn" if _vendor.available("onednn") else "cpu")
    # bf16 goes to oneDNN's matmul where it runs; elsewhere the own kernel says what it runs and what bf16 needs.
    if HAS_BF16:
        assert am.gemm(8, 8, 8, dtype="bf16", device="cpu", **fast).backend == "onednn"
    else:
        with pytest.raises(am.UnsupportedError, match="cpu backend runs dtype fp32 only, not bf16; .*AVX-512 BF16"):
            am.gemm(8, 8, 8, dtype="bf16", device="cpu")


@pytest.mark.parametrize("backend", VENDOR_GEMM)
def test_vendor_gemm_refuses_other_dtypes(backend):
    runs = "fp32 or bf16" if backend == "onednn" and HAS_BF16 else "fp32"
    with pytest.raises(am.UnsupportedError, match=f"{backend} backend runs dtype {runs} only, not fp16"):
        am.gemm(8, 8, 8, dtype="fp16", device="cpu", backend=backend)


@needs_bf16
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (33, 17, 65), (127, 255, 63), (7, 300, 1)])
@pytest.mark.parametrize("trans_a, trans_b", list(itertools.product([False, True], repeat=2)))
def test_onednn_bf16_gemm_odd_shapes_and_transposes(m, n, k, trans_a, trans_b, fast):
    r = am.gemm(m, n, k, dtype="bf16", trans_a=trans_a, trans_b=trans_b, device="cpu", backend="onednn", **fast)
    # Checked against float64 from the same bf16 inputs: what is left is fp32 accumulation and the bf16 output.
    assert r.ok and r.verify["passed"] and r.verify["tolerance"] == 1e-2 and r.verify["nonfinite"] == 0
    assert r.rel_error <= 1e-2 and (k == 1 or r.rel_error > 0)  # a bf16 output of sums is rounded: never exact
    assert r.backend == "onednn" and r.dtype == "bf16" and "matmul" in r.ran["kernel"]
    assert r.metrics["bytes"] == 2 * (m * k + k * n + m * n)  # bf16 in and out


@needs_bf16
def test_onednn_bf16_gemm_batches_and_auto(fast):
    r = am.gemm(17, 9, 31, batch=5, trans_a=True, dtype="bf16", device="cpu", **fast)
    assert r.verify["passed"] and r.backend == "onednn" and r.params["batch"] == 5 and r.verify["checked"] > 0


@needs_bf16
@pytest.mark.parametrize("backend", ["cpu", pytest.param("openblas", marks=needs["openblas"])])
def test_bf16_gemm_on_an_fp32_backend_names_onednn(backend):
    with pytest.raises(am.UnsupportedError, match=f"{backend} backend runs dtype fp32 only, not bf16; .*'onednn'"):
        am.gemm(8, 8, 8, dtype="bf16", device="cpu", backend=backend)


@needs["onednn"]
def test_bf16_gemm_without_the_isa_is_refused_before_work(tmp_path):
    # ONEDNN_MAX_CPU_ISA caps what oneDNN uses: below AVX-512 BF16 its bf16 GEMM is off, auto included.
    import os
    import subprocess

    code = (
        "import aimatrix as am\n"
        "from aimatrix import _vendor\n"
        "assert _vendor.gemm_dtypes('onednn') == ('fp32',), _vendor.gemm_dtypes('onednn')\n"
        "assert 'no bf16 GEMM' in _vendor.status()['onednn']\n"
        "for b in ('auto', 'onednn'):\n"
        "    try:\n"
        "        am.gemm(8, 8, 8, dtype='bf16', device='cpu', backend=b)\n"
        "    except am.UnsupportedError as e:\n"
        "        print(e)\n"
    )
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX512_CORE")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 2 and all("neither AVX-512 BF16 nor AMX" in ln for ln in lines), p.stdout
    assert lines[1].startswith("the onednn backend runs dtype fp32 only, not bf16")


@pytest.mark.parametrize(
    "kw, text",
    [
        (dict(m=0), "m=0 is not allowed"),
        (dict(dtype="bfloat16"), "dtype='bfloat16' is not allowed"),
        (dict(batch=-1), "batch=-1 is not allowed"),
    ],
)
def test_bf16_gemm_bad_inputs(kw, text):
    args = dict(m=8, n=8, k=8, dtype="bf16", device="cpu", backend="onednn") | kw
    with pytest.raises(ValueError, match=text):
        am.gemm(args.pop("m"), args.pop("n"), args.pop("k"), **args)


@pytest.mark.parametrize(
    "call, text",
    [
        (lambda: am.gemm(8, 8, 8, device="cpu", backend="mkl"), "backend='mkl' is not allowed"),
        (lambda: am.conv(1, 3, 8, 8, k=4, r=3, device="cpu", backend="openblas"), "backend='openblas' is not allowed"),
    ],
)
def test_unknown_backend_is_refused(call, text):
    with pytest.raises(ValueError, match=text) as e:
        call()
    assert "onednn" in str(e.value)  # the allowed list names the vendor backends


def test_cuda_backend_on_cpu_names_the_cpu_backends():
    with pytest.raises(am.UnsupportedError, match="needs a CUDA device; on the CPU use one of cpu, openblas, onednn"):
        am.gemm(8, 8, 8, device="cpu", backend="cublas")


@pytest.fixture
def without(monkeypatch):
    """Make a vendor wheel look uninstalled: its module unimportable / its distribution unknown."""
    import importlib.metadata as md

    def hide(name):
        if name == "openblas":
            monkeypatch.setitem(sys.modules, "scipy_openblas32", None)  # import fails as when not installed
        else:

            def files(dist):
                if dist == "onednn":
                    raise md.PackageNotFoundError(dist)
                return md.files(dist)

            monkeypatch.setattr(_vendor.md, "files", files)
        _vendor._find.cache_clear()

    yield hide
    _vendor._find.cache_clear()


@pytest.mark.parametrize("name, package", [("openblas", "scipy-openblas32"), ("onednn", "onednn")])
def test_missing_library_raises_with_the_pip_hint(without, name, package, fast):
    without(name)
    with pytest.raises(am.UnsupportedError, match=f"{package} is not installed; to add it: pip install {package}"):
        am.gemm(8, 8, 8, device="cpu", backend=name)
    if name == "onednn":
        with pytest.raises(am.UnsupportedError, match="pip install onednn"):
            am.conv(1, 3, 8, 8, k=4, r=3, device="cpu", backend="onednn", direction="bwd_filter")
        assert am.conv(1, 3, 8, 8, k=4, r=3, device="cpu", **fast).backend == "cpu"  # auto falls back
    assert f"pip install {package}" in _vendor.status()[name]


def test_status_reports_each_library():
    st = _vendor.status()
    assert set(st) == {"openblas", "onednn"}
    for name, text in st.items():
        if _vendor.available(name):
            assert text.startswith({"openblas": "OpenBLAS", "onednn": "oneDNN 3."}[name]), text
        else:
            assert "not available" in text and "pip install" in text


def test_info_lists_the_vendor_libraries(tmp_path):
    import subprocess

    p = subprocess.run(
        [sys.executable, "-m", "aimatrix.bench", "info"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    for name in ("openblas", "onednn"):
        line = next(ln for ln in p.stdout.splitlines() if ln.strip().startswith(f"backend {name}:"))
        assert ("pip install" in line) != _vendor.available(name), line
        if name == "onednn" and _vendor.available(name):
            assert ("; bf16 GEMM (matmul" in line) == HAS_BF16, line
    assert f"auto on the CPU: gemm {_vendor.auto('gemm')}, conv {_vendor.auto('conv')}" in p.stdout
