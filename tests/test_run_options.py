"""The run options (device, mode, seed, telemetry, the timing options): one TypedDict, one check, every benchmark."""

from __future__ import annotations

import typing

import pytest

import aimatrix as am
from aimatrix import run_options

SMALL = {
    "gemm": lambda **o: am.gemm(8, 8, 8, **o),
    "conv": lambda **o: am.conv(1, 4, 6, 6, k=4, r=3, **o),
    "conv_chain": lambda **o: am.micro.conv_chain([dict(n=1, c=4, h=6, w=6, k=4, r=3)], **o),
    "membw": lambda **o: am.membw("copy", nbytes=4096, **o),
}


def test_the_typed_dict_names_every_option_the_check_takes():
    # the static list (for type checkers and readers) and the run-time one (DEFAULTS, timing.DEFAULTS) are the same
    assert list(typing.get_type_hints(am.RunOptions)) == list(run_options.NAMES)
    assert set(run_options.NAMES) == set(run_options.DEFAULTS) | set(am.timing.DEFAULTS)
    assert am.RunOptions.__total__ is False


def test_defaults_fill_what_is_not_given():
    how = run_options.check({})
    assert (how.device, how.mode, how.seed, how.telemetry, how.cold) == ("auto", "hot", 0, True, False)
    assert how.timing == am.timing.rule()
    how = run_options.check({"mode": "cold", "seed": 7, "max_time": 0.5})
    assert how.cold and how.seed == 7 and how.timing["max_time"] == 0.5


@pytest.mark.parametrize(
    "opts, exc, text",
    [
        (dict(mode="warm"), ValueError, r"mode='warm' is not allowed: expected one of hot, cold"),
        (dict(seed=-1), ValueError, r"seed=-1 is not allowed"),
        (dict(telemetry=1), TypeError, r"telemetry=1 is not allowed"),
        (dict(max_time=0), ValueError, r"max_time=0 is not allowed"),
        (dict(max_tme=1.0), TypeError, r"unknown option 'max_tme': .* nor a run option \(device, mode, seed, "),
    ],
)
@pytest.mark.parametrize("bench", list(SMALL))
def test_every_micro_benchmark_checks_its_run_options_the_same_way(bench, opts, exc, text):
    with pytest.raises(exc, match=text):
        SMALL[bench](device="cpu", **opts)


@pytest.mark.parametrize("bench", list(SMALL))
def test_run_options_reach_the_result(bench, fast):
    r = SMALL[bench](device="cpu", mode="cold", seed=5, **fast)
    assert r.ok and r.verify["passed"], r
    assert (r.params["mode"], r.params["seed"], r.device) == ("cold", 5, "cpu")


def test_launch_takes_no_mode_nor_seed():
    for name in ("mode", "seed"):
        with pytest.raises(TypeError, match=rf"unknown option '{name}': .*\(device, telemetry, target,"):
            am.launch("empty", device="cpu", **{name: 0})


def test_the_torch_benchmarks_take_the_same_options():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"mode='warm' is not allowed"):
        am.llm("decode", config="tiny", device="cpu", mode="warm")
    with pytest.raises(TypeError, match=r"unknown option 'sead'"):
        am.model("resnet50", size="tiny", device="cpu", sead=1)
    with pytest.raises(ValueError, match=r"seed=-1 is not allowed"):
        am.layer("linear", n=4, device="cpu", seed=-1)


@pytest.mark.cuda
@pytest.mark.parametrize("bench", list(SMALL))
def test_run_options_reach_the_result_on_a_gpu(bench, fast):
    r = SMALL[bench](device="cuda", mode="cold", seed=5, telemetry=False, **fast)
    assert r.ok and r.verify["passed"], r
    assert (r.params["mode"], r.params["seed"]) == ("cold", 5)
    assert r.telemetry == {"unavailable": "turned off for this measurement"}, r.telemetry  # no NVML samples


@pytest.mark.cuda
def test_llm_takes_telemetry_on_a_gpu(fast):
    pytest.importorskip("torch")
    r = am.llm("decode", config="tiny", dtype="fp32", device="cuda", mode="cold", telemetry=False, **fast)
    assert r.ok and r.verify["passed"] and r.params["mode"] == "cold", r
    assert r.telemetry == {"unavailable": "turned off for this measurement"}, r.telemetry  # as the micro benchmarks
