"""Bad input (issue 15): every size product in 64 bits, numbers finite, counts within the native types,
memory needs refused before allocating, devices by kind. Each error names the argument and what is allowed.

The checks run before the device is resolved, so calls naming a CUDA device are refused the same way on a
machine without one (tests marked ``device="cuda"`` below need no GPU).
"""

from __future__ import annotations

import math
import time

import pytest

import aimatrix as am
from aimatrix import _check, _native
from aimatrix.micro.membw import MAX_PASSES, sweep_passes, sweep_sizes

INT64 = r"9223372036854775807 \(2\^63 - 1\)"
INT32 = r"2147483647 \(2\^31 - 1\)"


# -- GEMM ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", ["cpu", "cuda"], ids=["cpu", "gpu"])
def test_gemm_size_product_past_64_bits_is_refused_before_allocating(device):
    # m*k*batch = 2^64 wrapped to 0 elements in the native runner and segfaulted
    t0 = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=r"m\*k\*batch=2147483648\*2147483648\*4=18446744073709551616 is not allowed: "
        r"it must be at most 2305843009213693951 \(4-byte elements",
    ):
        am.gemm(2**31, 2**31, 2**31, batch=4, device=device)
    assert time.perf_counter() - t0 < 5.0


def test_gemm_each_operand_product_is_checked():
    with pytest.raises(ValueError, match=r"k\*n\*batch=.* is not allowed: it must be at most"):
        am.gemm(1, 2**40, 2**40, device="cpu")
    # int8 reads 1-byte inputs and writes 4-byte int32 outputs: each product counts its own element size
    with pytest.raises(
        ValueError,
        match=r"m\*n\*batch=2199023255552\*2199023255552\*1=.* it must be at most "
        r"2305843009213693951 \(4-byte",
    ):
        am.gemm(2**41, 2**41, 1, dtype="int8", device="cuda")
    with pytest.raises(ValueError, match=r"m\*k\*batch=4611686018427387904\*2\*1=.* it must be at most " + INT64):
        am.gemm(2**62, 1, 2, dtype="int8", device="cuda")


@pytest.mark.parametrize("arg", ["m", "n", "k", "batch"])
def test_gemm_size_past_int64_names_the_argument(arg):
    sizes = {"m": 8, "n": 8, "k": 8, "batch": 1, arg: 2**63}
    with pytest.raises(
        ValueError,
        match=rf"{arg}=9223372036854775808 is not allowed: it must be a positive integer, "
        rf"at most {INT64}",
    ):
        am.gemm(sizes["m"], sizes["n"], sizes["k"], batch=sizes["batch"], device="cpu")


def test_seed_past_int64_is_a_value_error_naming_it():
    with pytest.raises(
        ValueError,
        match=rf"seed=1180591620717411303424 is not allowed: it must be an integer >= 0, "
        rf"at most {INT64}",
    ):
        am.gemm(8, 8, 8, seed=2**70, device="cpu")
    with pytest.raises(ValueError, match=r"seed=-1 is not allowed"):
        am.membw("copy", nbytes=4096, seed=-1, device="cpu")


def test_gemm_beyond_host_memory_is_out_of_memory_before_allocating():
    # 3 x 2^44 fp32 elements: 211 TB, within 64 bits but beyond any host
    t0 = time.perf_counter()
    with pytest.raises(
        am.OutOfMemoryError,
        match=r"cpu gemm m=4194304 n=4194304 k=4194304 batch=1 needs "
        r"211106232532992 bytes .* more than this machine's \d+ bytes",
    ):
        am.gemm(2**22, 2**22, 2**22, device="cpu")
    assert time.perf_counter() - t0 < 5.0


# -- timing options: checked in timing.rule, for every benchmark -----------------------------------------
BAD_TIMING = [
    (dict(warmup=math.inf), r"warmup=inf is not allowed: it must be a finite number >= 0"),
    (dict(warmup=math.nan), r"warmup=nan is not allowed: it must be a finite number >= 0"),
    (dict(warmup_max=math.inf), r"warmup_max=inf is not allowed: it must be a finite number >= 0"),
    (dict(min_time=math.nan), r"min_time=nan is not allowed: it must be a finite number >= 0"),
    (dict(max_time=math.inf), r"max_time=inf is not allowed: it must be a finite number > 0"),
    (dict(max_time=0), r"max_time=0 is not allowed: it must be a finite number > 0"),
    (dict(target=math.nan), r"target=nan is not allowed: it must be a finite number > 0\.0 and < 1\.0"),
    (dict(settle=-math.inf), r"settle=-inf is not allowed: it must be a finite number > 0"),
    (
        dict(min_samples=10**12),
        rf"min_samples=1000000000000 is not allowed: it must be a positive integer, "
        rf"at most {INT32}",
    ),
    (
        dict(max_samples=2**31),
        rf"max_samples=2147483648 is not allowed: it must be a positive integer, "
        rf"at most {INT32}",
    ),
    (dict(repeat=10**5), r"repeat=100000 is not allowed: it must be an integer >= 0, at most 10000"),
    (
        dict(min_samples=200, max_samples=100),
        r"min_samples=200 is not allowed: min_samples must be <= max_samples, "
        r"and max_samples=100",
    ),
    (
        dict(min_samples=200_000),
        r"min_samples=200000 is not allowed: min_samples must be <= max_samples, and "
        r"max_samples=100000 \(its default\)",
    ),
    (
        dict(warmup=3.0, warmup_max=1.0),
        r"warmup=3\.0 is not allowed: warmup must be <= warmup_max, and "
        r"warmup_max=1\.0",
    ),
    (
        dict(min_time=20.0),
        r"min_time=20\.0 is not allowed: min_time must be <= max_time, and max_time=10\.0 "
        r"\(its default\)",
    ),
]


@pytest.mark.parametrize("opts, text", BAD_TIMING)
def test_bad_timing_option_is_refused_by_the_rule(opts, text):
    with pytest.raises(ValueError, match=text):
        am.timing.rule(**opts)


@pytest.mark.parametrize("bench", ["gemm", "conv", "membw", "launch", "measure"])
@pytest.mark.parametrize("opts, text", [BAD_TIMING[0], BAD_TIMING[8]])
def test_every_benchmark_refuses_bad_timing_options_before_running(bench, opts, text):
    call = {
        "gemm": lambda: am.gemm(64, 64, 64, device="cuda", **opts),
        "conv": lambda: am.conv(1, 8, 8, 8, k=8, r=3, device="cuda", **opts),
        "membw": lambda: am.membw("copy", nbytes=4096, device="cuda", **opts),
        "launch": lambda: am.launch("empty", device="cuda", **opts),
        "measure": lambda: am.timing.measure(lambda: None, device="cpu", **opts),
    }[bench]
    with pytest.raises(ValueError, match=text):
        call()


@pytest.mark.parametrize("bench", ["gemm", "conv", "membw", "launch"])
def test_telemetry_must_be_a_bool_on_the_cpu_too(bench):
    call = {
        "gemm": lambda: am.gemm(8, 8, 8, device="cpu", telemetry="yes", max_time=0.05),
        "conv": lambda: am.conv(1, 8, 8, 8, k=8, r=3, device="cpu", telemetry="yes", max_time=0.05),
        "membw": lambda: am.membw("copy", nbytes=4096, device="cpu", telemetry="yes", max_time=0.05),
        "launch": lambda: am.launch("empty", device="cpu", telemetry="yes", max_time=0.05),
    }[bench]
    with pytest.raises(TypeError, match="telemetry='yes'"):
        call()


def test_a_good_rule_still_passes_and_measures():
    r = am.timing.rule(warmup=0.0, min_time=0.0, max_time=0.05, min_samples=3, max_samples=50)
    m = am.timing.measure(lambda: sum(range(100)), device="cpu", **r)
    assert 3 <= m.stats["n"] <= 50 and m.median_ms > 0


# -- membw --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", ["cpu", "cuda"], ids=["cpu", "gpu"])
def test_membw_passes_beyond_the_cap_are_refused(device):
    # 2^30 sweeps over 4 KiB in one launch took minutes: longer than any max_time
    with pytest.raises(
        ValueError,
        match=r"passes=1073741824 is not allowed: it must be a positive integer, "
        r"at most 65536",
    ):
        am.membw("copy", nbytes=4096, passes=2**30, device=device)
    assert MAX_PASSES == 65536


def test_membw_launch_moving_more_than_max_time_allows_is_refused():
    # 16 GiB x 3 arrays x 2^16 passes: 3.4e15 bytes in one launch, over 60 s even at 50 TB/s
    with pytest.raises(
        ValueError,
        match=r"passes=65536 is not allowed with nbytes=17179869184: one launch of 'triad' "
        r"would move 3377699720527872 bytes, more than max_time=10\.0 s allows even "
        r"at 5e\+13 B/s \(faster than any memory\); it must be in 1\.\.9701",
    ):
        am.membw("triad", nbytes=2**34, passes=2**16, device="cuda")
    with pytest.raises(
        ValueError,
        match=r"passes=1024 is not allowed with nbytes=1073741824: .* more than "
        r"max_time=0\.001 s allows .* it must be in 1\.\.23",
    ):
        am.membw("copy", nbytes=2**30, passes=2**10, device="cpu", max_time=0.001)


def test_membw_sizes_past_int64_and_beyond_host_memory():
    with pytest.raises(
        ValueError,
        match=rf"nbytes=18446744073709551616 is not allowed: it must be a positive integer, "
        rf"at most {INT64}",
    ):
        am.membw("copy", nbytes=2**64, device="cpu")
    with pytest.raises(am.OutOfMemoryError, match=r"cpu membw 'triad' of 3 arrays needs 211106232532992 bytes"):
        am.membw("triad", nbytes=2**46, device="cpu")


def test_membw_sweep_stays_within_the_cap():
    assert max(sweep_passes(n) for n in sweep_sizes()) == MAX_PASSES


# -- conv ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", ["cpu", "cuda"], ids=["cpu", "gpu"])
def test_conv_tensor_products_past_64_bits_are_refused(device):
    with pytest.raises(
        ValueError,
        match=r"n\*c\*h\*w=1048576\*1048576\*1048576\*1048576=.* is not allowed: it must be "
        r"at most 2305843009213693951 \(4-byte",
    ):
        am.conv(2**20, 2**20, 2**20, 2**20, k=1, r=1, device=device)
    with pytest.raises(ValueError, match=r"k\*\(c/groups\)\*r\*s=.* is not allowed"):
        am.conv(1, 2**20, 2**20, 2**20, k=2**30, r=2**10, device=device)
    with pytest.raises(ValueError, match=r"n\*k\*ho\*wo=.* is not allowed"):
        am.conv(2**10, 1, 2**20, 2**20, k=2**30, r=1, device=device)
    with pytest.raises(ValueError, match=r"ho\*wo\*\(c/groups\)\*r\*s=.* is not allowed"):
        am.conv(1, 2**20, 2**12, 2**12, k=1, r=2**10, pad=2**9, device=device)


def test_conv_dimension_and_stride_past_32_bits_name_the_argument():
    with pytest.raises(
        ValueError,
        match=rf"h=4294967296 is not allowed: it must be a positive integer, "
        rf"at most {INT32}",
    ):
        am.conv(1, 8, 2**32, 8, k=8, r=3, device="cpu")
    with pytest.raises(ValueError, match=r"stride=1099511627776 is not allowed: each must be in 1\.\.2147483647"):
        am.conv(1, 8, 8, 8, k=8, r=3, stride=2**40, device="cpu")
    with pytest.raises(ValueError, match=r"pad=\(0, 9223372036854775808\) is not allowed: each must be in 0\.\."):
        am.conv(1, 8, 8, 8, k=8, r=3, pad=(0, 2**63), device="cpu")


def test_conv_beyond_host_memory_is_out_of_memory_before_allocating():
    # x: 2^15 x 2^10 x 2^10 x 2^10 fp32 = 128 TB
    with pytest.raises(am.OutOfMemoryError, match=r"cpu conv needs \d+ bytes .* of host memory, more than"):
        am.conv(2**15, 2**10, 2**10, 2**10, k=2**10, r=1, device="cpu")
    with pytest.raises(am.OutOfMemoryError, match=r"cpu conv chain of 2 layers needs"):
        am.micro.conv_chain(
            [dict(n=1, c=8, h=8, w=8, k=8, r=3), dict(n=2**15, c=2**10, h=2**10, w=2**10, k=8, r=1)], device="cpu"
        )


# -- launch and devices -------------------------------------------------------------------------------
def test_device_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match=r"Device kind='tpu' is not allowed: expected one of cpu, cuda"):
        am.Device("tpu", 0)
    with pytest.raises(ValueError, match=r"Device index=1 is not allowed: it must be an integer >= 0, at most 0"):
        am.Device("cpu", 1)
    with pytest.raises(
        ValueError,
        match=rf"Device index=-1 is not allowed: it must be an integer >= 0, "
        rf"at most {INT32}",
    ):
        am.Device("cuda", -1)
    with pytest.raises(TypeError, match=r"Device index='0' is not allowed"):
        am.Device("cuda", "0")
    assert str(am.Device("cpu")) == "cpu" and str(am.Device("cuda", 3)) == "cuda:3"


def test_device_name_with_a_huge_index_is_refused():
    with pytest.raises(
        ValueError,
        match=rf"device index=99999999999 is not allowed: it must be an integer >= 0, "
        rf"at most {INT32}",
    ):
        am.gemm(8, 8, 8, device="cuda:99999999999")


@pytest.mark.skipif(_native.cuda_available(), reason="checks what a machine without CUDA says")
def test_a_cuda_device_object_is_checked_like_a_name():
    # Device("cuda", 0) used to run through as is; now it is resolved like "cuda:0"
    with pytest.raises(am.UnsupportedError, match="CUDA is not available"):
        am.gemm(8, 8, 8, device=am.Device("cuda", 0))


@pytest.mark.cuda
def test_a_cuda_device_index_beyond_the_machine_is_refused():
    count = len([d for d in am.devices() if d.is_cuda])
    with pytest.raises(ValueError, match=rf"{count} CUDA device\(s\) found, indices 0\.\.{count - 1}"):
        am.gemm(8, 8, 8, device=am.Device("cuda", count))


@pytest.mark.cuda
def test_gpu_calls_with_bad_sizes_are_value_errors_on_a_gpu_too():
    with pytest.raises(ValueError, match=r"m\*k\*batch="):
        am.gemm(2**31, 2**31, 2**31, batch=4, device="cuda")
    with pytest.raises(ValueError, match=r"passes=1073741824"):
        am.membw("copy", nbytes=4096, passes=2**30, device="cuda")
    with pytest.raises(ValueError, match=r"n\*c\*h\*w="):
        am.conv(2**20, 2**20, 2**20, 2**20, k=1, r=1, device="cuda")
    with pytest.raises(ValueError, match=r"warmup=inf"):
        am.launch("empty", device="cuda", warmup=math.inf)


# -- what is allowed still runs: the checks refuse only what cannot run ------------------------------------
def test_inputs_at_the_limits_still_run_on_the_cpu(fast):
    # (not MAX_PASSES here: the CPU opens an OpenMP region a pass, up to a millisecond each on a busy 2-core machine)
    r = am.membw("copy", nbytes=4096, passes=16, device="cpu", **fast)
    assert r.verify["passed"] and r.metrics["bytes"] == 4096 * 2 * 16
    r = am.gemm(3, 5, 7, batch=2, seed=2**63 - 1, device="cpu", **fast)
    assert r.verify["passed"] and r.params["seed"] == 2**63 - 1
    r = am.conv(1, 4, 9, 9, k=4, r=3, pad=(1, 1), device="cpu", **fast)
    assert r.verify["passed"]


@pytest.mark.cuda
@pytest.mark.parametrize("backend", ["cublaslt", "simt"])
def test_inputs_at_the_limits_still_run_on_a_gpu(backend, fast):
    # the CUDA runners share the native spec checks (csrc/common) that gained the 64-bit products and the pass cap
    r = am.gemm(65, 33, 40, batch=3, backend=backend, device="cuda", **fast)
    assert r.verify["passed"], r
    r = am.membw("triad", nbytes=4096, passes=MAX_PASSES, device="cuda", **fast)
    assert r.verify["passed"] and r.metrics["bytes"] == 4096 * 3 * MAX_PASSES


# -- the GA (StatsNet synthesis) ------------------------------------------------------------------------
def _groups():
    """One 16 x 16 group of one 3x3 conv, 3 -> 16 channels (no model profiling, so no PyTorch)."""
    conv = am.synth.Layer(
        "toy", "c", "conv", 1, 16, 16, 3, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 16, 16, 16 * 16 * 16 * 27, 16 * 27, 64
    )
    return am.synth.cluster(am.synth.Workload([conv]), [16])


@pytest.mark.parametrize(
    "opts, exc, text",
    [
        (
            dict(mutation=math.nan),
            ValueError,
            r"mutation=nan is not allowed: it must be a finite number >= 0\.0 and <= 1",
        ),
        (dict(mutation=1.5), ValueError, r"mutation=1\.5 is not allowed: it must be a finite number >= 0\.0 and <= 1"),
        (dict(mutation=-1.0), ValueError, r"mutation=-1\.0 is not allowed: it must be a finite number >= 0\.0"),
        (
            dict(crossover=math.inf),
            ValueError,
            r"crossover=inf is not allowed: it must be a finite number >= 0\.0 "
            r"and <= 1",
        ),
        (dict(tournament=0), ValueError, r"tournament=0 is not allowed: it must be a positive integer, at most 64"),
        (dict(elite=5000), ValueError, r"elite=5000 is not allowed: it must be an integer >= 0, at most 4999"),
        (
            dict(refine_radius=2**40),
            ValueError,
            rf"refine_radius=1099511627776 is not allowed: it must be an integer >= 0, "
            rf"at most {INT32}",
        ),
        (
            dict(generations=10**12),
            ValueError,
            rf"generations=1000000000000 is not allowed: it must be an integer >= 0, "
            rf"at most {INT32}",
        ),
        (
            dict(population=2**31),
            ValueError,
            r"population=2147483648 is not allowed: it must be an integer in "
            r"2\.\.1073741824",
        ),
        (
            dict(seed=2**70),
            ValueError,
            rf"seed=1180591620717411303424 is not allowed: it must be an integer >= 0, at most "
            rf"{INT64}",
        ),
        (dict(vectorize=1), TypeError, r"vectorize=1 is not allowed: it must be True or False"),
        (dict(mutaton=0.1), TypeError, r"unknown GA option 'mutaton': expected one of tournament, crossover, mutation"),
    ],
)
def test_bad_ga_options_are_refused(opts, exc, text):
    with pytest.raises(exc, match=text):
        am.synth.synthesize(_groups(), **opts)


def test_ga_population_beyond_host_memory_is_refused_with_the_bytes_it_needs():
    # population=10**9 grew to 24 GB and was killed: now refused before the GA starts, with the bytes it needs
    import re

    from aimatrix.synth.synthesize import ga_bytes

    assert ga_bytes(10**9, 901, 20) == 10**9 * (16 * 282 + 57)
    t0 = time.perf_counter()
    with pytest.raises(
        am.OutOfMemoryError,
        match=r"the GA's population=1000000000 of \d+ genes x bits=20 needs "
        r"\d+ bytes .* of host memory, more than this machine's",
    ) as e:
        am.synth.synthesize(_groups(), population=10**9, bits=20)
    genes, need = map(int, re.search(r"of (\d+) genes x bits=20 needs (\d+) bytes", str(e.value)).groups())
    assert need == ga_bytes(10**9, genes, 20)
    assert time.perf_counter() - t0 < 30.0


def test_physical_memory_is_known_here():
    # the refusals above rely on it (Linux and macOS both report it through sysconf)
    assert _check.physical_memory() > 2**28


# -- the native core refuses the same on its own (defence in depth; the public path never gets there) ------------
def test_native_gemm_refuses_products_past_64_bits():
    with pytest.raises(
        ValueError,
        match=r"m\*k\*batch=2147483648\*2147483648\*4 is not allowed: its bytes must fit "
        r"in 2\^63 - 1",
    ):
        _native.core.gemm(2**31, 2**31, 2**31, 4, False, False, "fp32", 0, False, am.timing.rule())


def test_native_gemm_refuses_beyond_host_memory():
    with pytest.raises(am.OutOfMemoryError, match=r"cpu gemm needs \d+ bytes .* more than this machine's"):
        _native.core.gemm(2**22, 2**22, 2**22, 1, False, False, "fp32", 0, False, am.timing.rule())


@pytest.mark.parametrize(
    "key, value, text",
    [
        ("warmup", math.inf, r"warmup=inf is not allowed: it must be a finite number"),
        ("max_time", math.nan, r"max_time=nan is not allowed: it must be a finite number"),
        (
            "min_samples",
            10**12,
            r"min_samples=1000000000000 is not allowed: it must be an integer in -2\^31\.\.2\^31 - 1",
        ),
        ("target", "x", r"target='x' is not allowed: it must be a number"),
    ],
)
def test_native_stopping_rule_refuses_by_name(key, value, text):
    with pytest.raises(ValueError, match=text):
        _native.core.measure(lambda: None, False, {**am.timing.rule(), key: value})


@pytest.mark.parametrize(
    "call, text",
    [
        (
            lambda: _native.core.gemm(8, 8, 8, 1, False, False, "fp64", 0, False, am.timing.rule()),
            r"dtype='fp64' is not allowed: expected one of fp32, tf32, fp16, bf16, fp8, int8",
        ),
        (
            lambda: _native.core.conv(dict(n=1, c=4, h=6, w=6, k=4, r=3, direction="bwd"), False, am.timing.rule()),
            r"direction='bwd' is not allowed: expected one of fwd, bwd_data, bwd_filter",
        ),
        (
            lambda: _native.core.conv(dict(n=1, c=4, h=6, w=6, k=4, r=3, layout="chwn"), False, am.timing.rule()),
            r"layout='chwn' is not allowed: expected one of nchw, nhwc",
        ),
    ],
    ids=["dtype", "direction", "layout"],
)
def test_native_names_are_refused_with_the_names_allowed(call, text):
    with pytest.raises(ValueError, match=text):
        call()


def test_native_membw_refuses_passes_beyond_the_cap():
    with pytest.raises(ValueError, match=r"passes=1048576 is not allowed: it must be in 1\.\.65536"):
        _native.core.membw("copy", 1024, 2**20, 0, False, am.timing.rule())


def test_native_ga_refuses_nan_mutation():
    prob = {
        "batch": 1,
        "h": 16,
        "w": 16,
        "cin0": 3,
        "kernels": [(3, 3)] * 4,
        "macs_real": 1e6,
        "warps_real": 100.0,
        "bits": 10,
        "warp_model": (128, 128, 8),
    }
    with pytest.raises(ValueError, match=r"mutation=nan is not allowed: it must be in \[0, 1\]"):
        _native.core.synth_ga(prob, {"mutation": math.nan, "population": 10, "generations": 1})
    with pytest.raises(ValueError, match=r"population=10000000000 is not allowed: it must be an integer"):
        _native.core.synth_ga(prob, {"population": 10**10})
