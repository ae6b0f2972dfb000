"""The layer shapes the macro models actually run, at their default batch (``catalog()``)."""

from __future__ import annotations

# (layer, shape, model, where). Batches follow the zoo's default batch of each model.
_ENTRIES = [
    ("conv_bn_relu", dict(n=256, c=3, h=224, w=224, k=64, r=7, stride=2, pad=3), "resnet50", "conv1"),
    ("conv_bn_relu", dict(n=256, c=64, h=56, w=56, k=64, r=3, stride=1, pad=1), "resnet50", "layer1 3x3"),
    ("conv_bn_relu", dict(n=256, c=256, h=56, w=56, k=64, r=1, stride=1, pad=0), "resnet50", "layer1 1x1 reduce"),
    ("conv_bn_relu", dict(n=256, c=128, h=28, w=28, k=128, r=3, stride=1, pad=1), "resnet50", "layer2 3x3"),
    ("conv_bn_relu", dict(n=256, c=256, h=14, w=14, k=256, r=3, stride=1, pad=1), "resnet50", "layer3 3x3"),
    ("conv_bn_relu", dict(n=256, c=512, h=7, w=7, k=512, r=3, stride=1, pad=1), "resnet50", "layer4 3x3"),
    ("conv_bn_relu", dict(n=256, c=3, h=224, w=224, k=96, r=11, stride=4, pad=0), "alexnet", "conv1 (VALID 11x11/4)"),
    (
        "conv_bn_relu",
        dict(n=256, c=96, h=27, w=27, k=256, r=5, stride=1, pad=2, groups=2),
        "alexnet",
        "conv2 (group 2)",
    ),
    ("conv_bn_relu", dict(n=256, c=16, h=28, w=28, k=32, r=5, stride=1, pad=2), "googlenet", "inception 3a 5x5"),
    ("conv_bn_relu", dict(n=128, c=256, h=56, w=56, k=256, r=3, stride=1, pad=1), "vgg16", "conv3_x"),
    ("maxpool", dict(n=256, c=64, h=112, w=112, r=3, stride=2, pad=1), "resnet50", "maxpool"),
    ("maxpool", dict(n=128, c=512, h=14, w=14, r=2, stride=2, pad=0), "vgg16", "pool5"),
    ("avgpool", dict(n=256, c=1024, h=7, w=7, r=7, stride=1, pad=0), "googlenet", "pool5 7x7"),
    ("batchnorm", dict(n=128, c=256, h=28, w=28), "densenet121", "dense block 2 norm"),
    ("linear", dict(n=256, in_features=9216, out_features=4096), "alexnet", "fc6"),
    ("linear", dict(n=128, in_features=25088, out_features=4096), "vgg16", "fc6"),
    ("linear", dict(n=16 * 250, in_features=494, out_features=2048), "deepspeech", "dense 1 (MFCC+context in)"),
    ("linear", dict(n=16 * 250, in_features=2048, out_features=2048), "deepspeech", "dense 2/3/5"),
    ("clipped_relu", dict(n=16 * 250, features=2048, clip=20.0), "deepspeech", "clipped ReLU"),
    ("lstm", dict(n=16, seq=250, input=2048, hidden=2048, layers=1), "deepspeech", "LSTM (5 s of audio)"),
    ("gru", dict(n=16, seq=250, input=2048, hidden=2048, layers=1), "deepspeech", "GRU variant of the recurrent layer"),
    ("lstm", dict(n=128, seq=50, input=1024, hidden=1024, layers=4), "nmt", "encoder"),
    ("lstm", dict(n=128, seq=1, input=2048, hidden=1024, layers=4), "nmt", "decoder step (input feeding)"),
    ("attention", dict(n=128, heads=1, seq=1, kv_seq=50, dim=1024), "nmt", "attention per decoder step"),
    ("linear", dict(n=128, in_features=1024, out_features=32000), "nmt", "vocabulary projection"),
    ("softmax", dict(n=128, features=32000), "nmt", "output distribution"),
    ("layernorm", dict(n=128 * 50, features=1024), "nmt", "(GNMT-with-layer-norm variant)"),
    ("embedding", dict(n=128, seq=50, vocab=32000, dim=1024), "nmt", "source embedding"),
    ("embedding", dict(n=1024, seq=100, vocab=63001, dim=64), "din", "behaviour history goods embedding"),
    ("embedding_bag", dict(n=1024, bag=100, vocab=63001, dim=64), "din", "history pooled as a bag (sum)"),
    ("linear", dict(n=1024 * 100, in_features=512, out_features=80), "din", "local activation unit layer 1"),
    ("dice", dict(n=1024, features=80), "din", "Dice after MLP layer 1"),
    # Transformers: BERT at MLPerf's sequence lengths, the Llama-style decoder's prefill (1024-token prompt),
    # decode (one query over a 1024-token KV cache, batch 64) and a 16k-token context.
    ("attention", dict(n=256, heads=12, seq=128, kv_seq=128, dim=64), "bert_base", "self-attention, sequence 128"),
    ("linear", dict(n=256 * 128, in_features=768, out_features=2304), "bert_base", "fused q/k/v projection"),
    ("linear", dict(n=256 * 128, in_features=768, out_features=3072), "bert_base", "feed-forward 1"),
    ("layernorm", dict(n=256 * 128, features=768), "bert_base", "post-attention layer norm"),
    ("attention", dict(n=64, heads=16, seq=384, kv_seq=384, dim=64), "bert_large", "self-attention, sequence 384"),
    ("linear", dict(n=64 * 384, in_features=1024, out_features=4096), "bert_large", "feed-forward 1"),
    (
        "attention",
        dict(n=1, heads=32, kv_heads=8, seq=1024, kv_seq=1024, dim=64, causal=True),
        "llama_1b",
        "prefill attention (GQA 32/8)",
    ),
    (
        "attention",
        dict(n=64, heads=32, kv_heads=8, seq=1, kv_seq=1025, dim=64),
        "llama_1b",
        "decode attention over the KV cache, batch 64",
    ),
    ("rmsnorm", dict(n=1024, features=2048), "llama_1b", "pre-attention RMSNorm"),
    ("rotary", dict(n=1, heads=32, seq=1024, dim=64), "llama_1b", "rotary embedding of q and k"),
    ("swiglu", dict(n=1024, hidden=2048, intermediate=8192), "llama_1b", "SwiGLU MLP (prefill)"),
    ("swiglu", dict(n=64, hidden=2048, intermediate=8192), "llama_1b", "SwiGLU MLP (decode, batch 64)"),
    (
        "attention",
        dict(n=1, heads=32, kv_heads=8, seq=1024, kv_seq=1024, dim=128, causal=True),
        "llama_8b",
        "prefill attention (GQA 32/8, head dim 128)",
    ),
    (
        "attention",
        dict(n=1, heads=32, kv_heads=8, seq=16384, kv_seq=16384, dim=128, causal=True),
        "llama_8b",
        "prefill attention, 16k-token context",
    ),
    ("swiglu", dict(n=1024, hidden=4096, intermediate=14336), "llama_8b", "SwiGLU MLP (prefill)"),
]


def catalog(model: str | None = None) -> list[dict]:
    """Layer cases from the macro models: ``{"layer", "shape", "model", "where"}`` each (one model's if given)."""
    out = [{"layer": name, "shape": dict(s), "model": m, "where": w} for name, s, m, w in _ENTRIES]
    return [e for e in out if model is None or e["model"] == model]
