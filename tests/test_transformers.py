"""Transformers: attention/RMSNorm/rotary/SwiGLU layers, BERT, the Llama-style decoder and LLM serving metrics.

CPU tests run the tiny configurations; GPU checks are marked cuda.
"""

import math

import pytest
from _models_common import FAST, cuda, torch

from aimatrix import OutOfMemoryError, UnsupportedError
from aimatrix.layers import layer
from aimatrix.macro import model, zoo
from aimatrix.macro.llm import llm, run_llm
from aimatrix.micro import catalog as micro_catalog
from aimatrix.models import bert, llama

TINY = llama.CONFIGS["tiny"]


# -- layers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape",
    [
        dict(heads=4, kv_heads=0, causal=False),  # multi-head
        dict(heads=4, kv_heads=2, causal=True),  # grouped-query, causal
        dict(heads=4, kv_heads=1, causal=False, sdpa_backend="math"),
    ],
)
def test_attention_layer_runs_verified(shape):
    r = layer("attention", n=2, seq=8, kv_seq=8, dim=16, device="cpu", **shape, **FAST)
    assert r.ok and r.verify["passed"]
    assert r.ran["sdpa_ran"] in ("flash", "efficient", "cudnn", "math")
    if "sdpa_backend" in shape:
        assert r.ran["sdpa_ran"] == shape["sdpa_backend"]


def test_attention_flops_by_hand():
    """4 x n x heads x L x S x d (QK^T and PV), half of it causal: 4*2*4*8*8*16 = 32768."""
    full = layer("attention", n=2, heads=4, kv_heads=2, seq=8, kv_seq=8, dim=16, device="cpu", **FAST)
    causal = layer("attention", n=2, heads=4, kv_heads=2, seq=8, kv_seq=8, dim=16, causal=True, device="cpu", **FAST)
    assert full.metrics["flops"] == 32768 and causal.metrics["flops"] == 16384


@pytest.mark.parametrize(
    "name, shape, flops",
    [
        ("rmsnorm", dict(n=4, features=8), None),
        ("rotary", dict(n=1, heads=2, seq=4, dim=8), None),
        ("swiglu", dict(n=4, hidden=8, intermediate=16), 6 * 4 * 8 * 16),
    ],
)
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_transformer_layers(name, shape, flops, dtype):
    r = layer(name, dtype=dtype, device="cpu", **shape, **FAST)
    assert r.ok and r.verify["passed"] and r.metrics.get("flops") == flops


def test_rotary_is_a_rotation():
    """Norms are kept per pair and position 0 is left as is."""
    from aimatrix.models._transformer import Rotary

    q, k = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    rq, rk = Rotary(8, 5)(q, k)
    assert torch.allclose(rq.norm(dim=-1), q.norm(dim=-1), atol=1e-5)
    assert torch.equal(rq[:, :, 0], q[:, :, 0]) and not torch.allclose(rk[:, :, 1:], k[:, :, 1:])


def test_sdpa_backend_that_cannot_run_names_those_that_can():
    # On the CPU only the math and flash kernels exist.
    with pytest.raises(UnsupportedError, match=r"sdpa_backend='efficient'.*backends that can: .*math"):
        layer("attention", n=1, heads=2, seq=4, kv_seq=4, dim=8, sdpa_backend="efficient", device="cpu", **FAST)
    with pytest.raises(ValueError, match=r"sdpa_backend='fast'.*flash, efficient, cudnn, math"):
        layer("attention", sdpa_backend="fast", device="cpu")
    with pytest.raises(ValueError, match=r"kv_heads=3"):
        layer("attention", n=1, heads=4, kv_heads=3, seq=4, kv_seq=4, dim=8, device="cpu")


def test_attention_too_big_is_refused_before_allocating():
    with pytest.raises(OutOfMemoryError, match=r"needs about [\d.]+ GiB"):
        layer("attention", n=512, heads=64, seq=65536, kv_seq=65536, dim=128, device="cpu")


# -- BERT ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_bert_tiny(backend):
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
    r = model("bert_base", size="tiny", batch=2, backend=backend, device="cpu", **FAST)
    assert r.ok and r.verify["passed"] and r.metrics["items"] == 2 and r.metrics["unit"] == "sequences"


def test_bert_configurations_and_flops():
    assert {"bert_base", "bert_large", "llama_1b", "llama_8b"} <= set(zoo.names())
    m = zoo.build("bert_large", device="meta")
    assert len(m.layers) == 24 and m.word.weight.shape == (30522, 1024)
    base = zoo.build("bert_base", device="meta")
    assert sum(p.numel() for p in base.parameters()) == pytest.approx(109.5e6, rel=0.01)  # BERT-base: 110M
    steps = zoo.inputs("bert_base", 2, seq=128)
    assert steps[0][0].shape == (2, 128)
    # One layer by hand at hidden 32, intermediate 64, batch 1, sequence 16: 2*16*(4*32*32 + 2*32*64) + 4*16*16*32
    cfg = dict(layers=1, hidden=32, intermediate=64, heads=4)
    assert bert.flops(cfg, 1, 16) == 2 * 16 * (4096 + 4096) + 32768 + 2 * 16 * 32 * 2


# -- the decoder --------------------------------------------------------------------------------
def test_decoder_parameter_counts_match_the_published_sizes():
    assert llama.params(llama.CONFIGS["1b"])["total"] == pytest.approx(1.236e9, rel=0.005)  # Llama 3.2 1B
    assert llama.params(llama.CONFIGS["8b"])["total"] == pytest.approx(8.03e9, rel=0.005)  # Llama 3.1 8B
    tiny = llama.Llama(TINY, max_pos=32)
    assert sum(p.numel() for p in tiny.parameters()) == llama.params(TINY)["total"]


def test_decoder_layer_flops_by_hand_and_by_torch_flop_counter():
    """Tiny config, batch 1, a 16-token prompt. Per layer: q/k/v/o 2*16*64*(2*4 + 2*2)*16 = 393216,
    SwiGLU 2*16*3*64*128 = 786432, causal attention 4*4*16*16*16/2 = 32768; two layers plus the
    vocabulary head of the last position 2*64*256 = 32768."""
    per_layer = 393216 + 786432 + 32768
    assert llama.flops(TINY, 1, 16, 0) == 2 * per_layer + 32768
    from torch.utils.flop_counter import FlopCounterMode

    m = llama.Llama(TINY, max_pos=32).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        m(torch.randint(0, TINY.vocab, (1, 16)))
    # PyTorch's counter sees every matmul; it has no formula for the CPU flash-attention kernel.
    assert counter.get_total_flops() == llama.flops(TINY, 1, 16, 0) - 2 * 32768
    # Decode: one token over 16 cached + itself: attention 4*4*1*17*16 per layer, the rest for one token.
    assert llama.flops(TINY, 1, 1, 16) == 2 * (393216 / 16 + 786432 / 16 + 4 * 4 * 17 * 16) + 32768


def test_kv_cache_decode_equals_the_full_prefill():
    """Prefill of P tokens then one decode step gives the logits of a prefill of P + 1 tokens."""
    torch.manual_seed(0)
    m = llama.Llama(TINY, max_pos=32).eval()
    tokens = torch.randint(0, TINY.vocab, (2, 9))
    cache = llama.KVCache(TINY, 2, 9)
    with torch.no_grad():
        m(tokens[:, :8], cache.k, cache.v)
        step = m(tokens[:, 8:], cache.k, cache.v, torch.tensor([8]))
        full = m(tokens)
        masked = llama.KVCache(TINY, 2, 12)  # a longer cache, the unused tail masked off (generate's form)
        m(tokens[:, :8], masked.k, masked.v)
        mask = (torch.arange(12) <= 8).view(1, 1, 1, -1)
        step_masked = m(tokens[:, 8:], masked.k, masked.v, torch.tensor([8]), mask)
    assert torch.allclose(step, full, atol=1e-5) and torch.allclose(step_masked, full, atol=1e-5)


def test_decode_takes_the_attention_output_in_any_layout(monkeypatch):
    """The fused GPU kernels return SDPA's output in their own (B, L, H, d) layout, transposed; decode
    must not assume it contiguous (a view there failed on the H100)."""
    plain = llama.sdpa

    def flash_like(*a, **kw):
        o = plain(*a, **kw)
        return o.transpose(1, 2).contiguous().transpose(1, 2)  # same values, the fused kernels' strides

    torch.manual_seed(0)
    m = llama.Llama(TINY, max_pos=32).eval()
    tokens = torch.randint(0, TINY.vocab, (2, 9))
    cache = llama.KVCache(TINY, 2, 9)
    with torch.no_grad():
        full = m(tokens)
        m(tokens[:, :8], cache.k, cache.v)
        monkeypatch.setattr(llama, "sdpa", flash_like)
        step = m(tokens[:, 8:], cache.k, cache.v, torch.tensor([8]))
    assert torch.allclose(step, full, atol=1e-5)


def test_generate_is_greedy_decoding():
    torch.manual_seed(0)
    m = llama.Llama(TINY, max_pos=32).eval()
    prompt = torch.randint(0, TINY.vocab, (2, 6))
    with torch.no_grad():
        out, first = llama.Generate(m, 2, 6, 4)(prompt)
        seq = prompt
        for _ in range(4):
            seq = torch.cat([seq, m(seq).argmax(-1, keepdim=True)], 1)
    assert torch.equal(out, seq[:, 6:]) and torch.allclose(first, m(prompt), atol=1e-5)


def test_llm_prefill_and_decode_metrics_are_consistent():
    p = llm("prefill", config="tiny", batch=2, device="cpu", **FAST)
    assert p.ok and p.verify["passed"] and p.params["phase"] == "prefill"
    assert p.metrics["ttft_ms"] == p.median_ms
    assert math.isclose(p.metrics["tokens_per_s"], 2 * 16 / (p.median_ms / 1e3), rel_tol=1e-9)
    assert math.isclose(p.metrics["flops_per_token"] * 32, llama.flops(TINY, 2, 16, 0), rel_tol=1e-12)
    assert p.ran["sdpa_ran"].startswith("prefill ")
    d = llm("decode", config="tiny", batch=3, prompt=10, device="cpu", **FAST)
    assert d.ok and d.verify["passed"] and d.params["context"] == 10 and d.ran["sdpa_ran"].startswith("decode ")
    assert math.isclose(d.metrics["tokens_per_s"], 3 / (d.metrics["tpot_ms"] / 1e3), rel_tol=1e-9)
    assert math.isclose(d.metrics["tokens_per_s"], d.metrics["items_per_s"], rel_tol=1e-9)
    assert math.isclose(d.metrics["flops"], llama.flops(TINY, 3, 1, 10), rel_tol=1e-12)
    assert d.metrics["bytes_per_token"] * 3 == llama.bytes_moved(TINY, 3, 1, 10, 2)
    assert d.metrics["kv_cache_bytes"] == 2 * TINY.layers * 3 * 2 * TINY.kv_heads * TINY.head_dim * 11


def test_llm_generate():
    g = llm("generate", config="tiny", batch=2, new_tokens=4, device="cpu", **FAST)
    assert g.ok and g.verify["passed"] and g.metrics["e2e_ms"] == g.median_ms
    assert math.isclose(g.metrics["tokens_per_s"], 8 / (g.median_ms / 1e3), rel_tol=1e-9)


def test_run_llm_sweeps_and_records_failures():
    out = list(run_llm("tiny", phases=("decode",), batches=(1, 0), backends_=("torch",), device="cpu", **FAST))
    assert [r.ok for r in out] == [True, False] and out[0].metrics["tpot_ms"] > 0
    assert out[1].error["type"] == "ValueError" and "batch=0" in out[1].error["message"]


def test_zoo_decoder_too_big_for_the_host_is_refused_before_building(monkeypatch):
    from aimatrix.macro import _memory

    monkeypatch.setattr(_memory, "free_bytes", lambda device: 1 << 30)  # a host with 1 GiB free
    with pytest.raises(OutOfMemoryError, match=r"llama_1b .*needs about 4.6\d GiB, but cpu has 1.00 GiB free"):
        zoo.build("llama_1b")
    assert zoo.build("llama_1b", device="meta").c.layers == 16  # a shape-only build allocates nothing


@pytest.mark.parametrize(
    "kw, exc, words",
    [
        (dict(batch=0), ValueError, ["batch=0"]),
        (dict(new_tokens=0, phase="generate"), ValueError, ["new_tokens=0"]),
        (dict(prompt=-1), ValueError, ["prompt=-1"]),
        (dict(phase="serve"), ValueError, ["phase='serve'", "prefill, decode, generate"]),
        (dict(config="3b"), ValueError, ["config='3b'", "1b, 8b, tiny"]),
        (dict(backend="onnxruntime"), ValueError, ["onnxruntime", "torch-graph"]),
        (dict(prompt=5000), ValueError, ["prompt=5000", "4096"]),
        (dict(config="8b", batch=4096, prompt=8192), OutOfMemoryError, ["needs about", "GiB"]),
        (dict(sdpa_backend="cudnn"), UnsupportedError, ["sdpa_backend='cudnn'", "math"]),
    ],
)
def test_llm_bad_input(kw, exc, words):
    args = dict(config="tiny", device="cpu", **FAST)
    args.update(kw)
    phase = args.pop("phase", "decode")
    with pytest.raises(exc) as e:
        llm(phase, **args)
    for w in words:
        assert w in str(e.value)


def test_llm_gemm_catalogue():
    entries = micro_catalog("llm-gemm")
    assert len(entries) == 3 * 5 * 5 and all(e["trans_b"] and not e["trans_a"] for e in entries)
    by = {e["name"]: e for e in entries}
    assert (by["llm-8b-qkv-t1"]["n"], by["llm-8b-qkv-t1"]["k"]) == ((32 + 2 * 8) * 128, 4096)
    assert (by["llm-70b-down-t8192"]["m"], by["llm-70b-down-t8192"]["k"]) == (8192, 28672)
    assert by["llm-1b-lm_head-t2048"]["n"] == 128256


# -- GPU -----------------------------------------------------------------------------------------
@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dim", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
def test_gpu_sdpa_backends(dim, causal):
    """Flash runs every shape here; each explicit backend either runs (and says so) or is refused."""
    ran = {}
    for be in ("flash", "efficient", "cudnn", "math"):
        try:
            r = layer(
                "attention",
                n=2,
                heads=16,
                kv_heads=4,
                seq=1024,
                kv_seq=1024,
                dim=dim,
                causal=causal,
                sdpa_backend=be,
                dtype="bf16",
                device="cuda",
                **FAST,
            )
        except UnsupportedError as e:
            assert "backends that can" in str(e)
            continue
        assert r.ok and r.verify["passed"] and r.ran["sdpa_ran"] == be
        ran[be] = r
    assert "flash" in ran and "math" in ran
    assert ran["flash"].tflops > ran["math"].tflops


@cuda
@pytest.mark.cuda
def test_gpu_flash_refuses_fp32():
    with pytest.raises(UnsupportedError, match=r"sdpa_backend='flash'.*backends that can: .*efficient"):
        layer(
            "attention",
            n=1,
            heads=8,
            seq=512,
            kv_seq=512,
            dim=64,
            sdpa_backend="flash",
            dtype="fp32",
            device="cuda",
            **FAST,
        )


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("backend, config", [("torch", "1b"), ("torch-graph", "1b"), ("torch-compile", "tiny")])
def test_gpu_llm_phases(backend, config):
    """Every phase verified; the 1B's decode-dominated generate at batch 4 is bandwidth-bound."""
    for phase in ("prefill", "decode", "generate"):
        r = llm(phase, config=config, batch=4, prompt=256, new_tokens=8, backend=backend, device="cuda", **FAST)
        assert r.ok and r.verify["passed"], (phase, r.verify)
        assert r.metrics.get("graph_breaks", 0) == 0
        assert 0 < r.metrics["pct_of_peak_bandwidth"] < 100 and 0 < r.metrics["pct_of_peak_flops"] < 100
    if config == "1b":
        assert r.metrics["bound"] == "memory"


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("name", ["bert_base", "bert_large"])
def test_gpu_bert(name):
    for backend in ("torch", "torch-graph"):
        r = model(name, batch=8, dtype="bf16", backend=backend, device="cuda", model_kw={"seq": 128}, **FAST)
        assert r.ok and r.verify["passed"]
