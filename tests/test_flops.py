"""MAC counts (aimatrix.macro.flops) against hand counts and against torch's FlopCounterMode on every zoo model."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from aimatrix.macro import zoo
from aimatrix.macro.flops import count_macs, run_counting

DEVICES = ["cpu", "meta"]  # the CPU runs fused RNN kernels (mkldnn), meta the decomposed ones


def _x(*shape, device="cpu"):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0)).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("stride, groups", [(1, 1), (2, 1), (2, 2), (3, 4)])
def test_transposed_conv_is_counted_by_its_input(device, stride, groups):
    cin, cout, k, h, w = 8, 12, 3, 7, 5
    m = nn.ConvTranspose2d(cin, cout, k, stride=stride, groups=groups).to(device)
    # Every input pixel is multiplied into a k x k x cout/groups patch of the output: not stride^2 more.
    assert count_macs(m, _x(2, cin, h, w, device=device)) == 2 * h * w * cin * (cout // groups) * k * k


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls, gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)])
def test_rnn_layers_count_every_gate_of_every_step(device, cls, gates):
    seq, batch, inp, hid = 5, 3, 6, 4
    m = cls(inp, hid, num_layers=2, bidirectional=True).to(device)
    per_step = gates * hid * (inp + hid) * 2 + gates * hid * (2 * hid + hid) * 2  # layer 2 reads both directions
    assert count_macs(m, _x(seq, batch, inp, device=device)) == seq * batch * per_step


@pytest.mark.parametrize("device", DEVICES)
def test_one_lstm_step(device):
    cell = nn.LSTMCell(10, 7).to(device)
    assert count_macs(cell, _x(3, 10, device=device)) == 3 * 4 * 7 * (10 + 7)


@pytest.mark.parametrize("device", DEVICES)
def test_attention_block(device):
    b, length, e, heads = 2, 9, 16, 4
    m = nn.MultiheadAttention(e, heads, batch_first=True).to(device).eval()

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = m

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False)[0]

    proj = 4 * b * length * e * e  # q, k, v and output projections
    scores = 2 * b * length * length * e  # q @ k^T and softmax(...) @ v, over all heads together
    assert count_macs(Block(), _x(b, length, e, device=device)) == proj + scores


@pytest.mark.parametrize("device", DEVICES)
def test_functional_ops_and_embedding_bags_are_counted(device):
    class F(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(50, 8, mode="mean")

        def forward(self, audio, a, b, idx):
            spec = nn.functional.conv1d(audio, torch.ones(4, 1, 16, device=audio.device), stride=8)
            return spec, torch.bmm(a, b), self.bag(idx)

    audio, a, b = _x(2, 1, 128, device=device), _x(3, 5, 6, device=device), _x(3, 6, 7, device=device)
    idx = torch.randint(0, 50, (4, 10), generator=torch.Generator().manual_seed(1)).to(device)
    conv = 2 * 4 * 15 * 16  # batch x out channels x out length x kernel
    assert count_macs(F(), audio, a, b, idx) == conv + 3 * 5 * 6 * 7 + 4 * 10 * 8


def test_per_layer_records_add_up_for_a_cnn():
    m = zoo.build("resnet50", device="meta")
    total, layers = count_macs(m, torch.empty(1, 3, 224, 224, device="meta"), per_layer=True)
    assert total == sum(r["macs"] for r in layers)  # every product of ResNet-50 is in a conv or the fc
    assert {r["type"] for r in layers} == {"Conv2d", "Linear"}


def _rnn_hand_macs(module, *inputs):
    """MACs of the RNN modules the pass calls, from their shapes (what FlopCounterMode misses on the CPU)."""
    total = []

    def hook(m, args, out):
        x = args[0]
        dirs = 2 if m.bidirectional else 1
        gates = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}[type(m)]
        per = sum(
            gates * m.hidden_size * ((m.input_size if i == 0 else dirs * m.hidden_size) + m.hidden_size) * dirs
            for i in range(m.num_layers)
        )
        total.append(x.shape[:-1].numel() * per)

    hs = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.LSTM, nn.GRU, nn.RNN))]
    with torch.no_grad():
        module(*inputs)
    for h in hs:
        h.remove()
    return sum(total)


def _sdpa_hand_macs(module, *inputs):
    """MACs of the scaled-dot-product attentions the pass calls: q @ k^T and scores @ v, from their shapes
    (the CPU's fused attention kernel is one FlopCounterMode misses)."""
    import torch.nn.functional as F

    total, real = [], F.scaled_dot_product_attention

    def counting(q, k, v, *args, **kw):
        total.append(q.shape[:-1].numel() * k.shape[-2] * (q.shape[-1] + v.shape[-1]))
        return real(q, k, v, *args, **kw)

    F.scaled_dot_product_attention = counting
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        F.scaled_dot_product_attention = real
    return sum(total)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_counts_are_flop_counter_mode_plus_the_rnn_and_attention_rules(name):
    m = zoo.build(name, "tiny")
    step = zoo.inputs(name, 2, "tiny")[0]
    with FlopCounterMode(display=False) as plain, torch.no_grad():
        m(*step)
    ours = count_macs(m, *step)
    # On the CPU torch's counter sees no FLOPs in a fused LSTM or a fused attention; every other product
    # is its own count.
    assert ours == plain.get_total_flops() // 2 + _rnn_hand_macs(m, *step) + _sdpa_hand_macs(m, *step)
    assert ours > 0
    if zoo.spec(name).parts:  # the reference pass counts inside the dense parts only: every product is there
        assert run_counting(m, *step, within=zoo.spec(name).parts)[0] == ours
    if zoo.spec(name).family != "detection":  # detection heads need data-dependent shapes: no meta run
        meta = zoo.build(name, "tiny", device="meta")
        assert count_macs(meta, *(t.to("meta") for t in step)) == ours


def test_mask_head_transposed_conv_in_the_zoo():
    m = zoo.build("maskrcnn", "tiny")
    _, layers = count_macs(m, *zoo.inputs("maskrcnn", 1, "tiny")[0], per_layer=True)
    deconv = [r for r in layers if r["type"] == "ConvTranspose2d"]
    assert deconv
    for r in deconv:
        mod = dict(m.named_modules())[r["name"]]
        n, cin, h, w = r["input"]
        kh, kw = mod.kernel_size
        assert r["macs"] == n * cin * h * w * (mod.out_channels // mod.groups) * kh * kw


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["deepspeech", "nmt"])
def test_cudnn_rnn_rule_on_a_gpu(name):
    # On a GPU an nn.LSTM is one aten._cudnn_rnn call, which torch's counter does not know.
    m = zoo.build(name, "tiny", device="cuda")
    step = [t.cuda() for t in zoo.inputs(name, 2, "tiny")[0]]
    meta = zoo.build(name, "tiny", device="meta")
    assert count_macs(m, *step) == count_macs(meta, *(t.to("meta") for t in step)) > 0
