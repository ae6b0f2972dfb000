// aimatrix._core: the CPU module, always built.
#include <functional>
#include <thread>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <nanobind/stl/function.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unordered_map.h>
#include <nanobind/stl/vector.h>

#include "bindings/common.hpp"
#include "bindings/micro_args.hpp"
#include "common/gemm_spec.hpp"
#include "cpu/backend.hpp"
#include "cpu/cache_flush.hpp"
#include "cpu/conv.hpp"
#include "cpu/gemm.hpp"
#include "cpu/stream.hpp"
#include "timing/busy_time.hpp"
#include "timing/cpu_timer.hpp"
#include "timing/scripted.hpp"
#include "timing/stats.hpp"

namespace nb = nanobind;
using namespace am;

namespace am::bind {
void bind_synth(nb::module_& m);  // csrc/bindings/synth.cpp
}

NB_MODULE(_core, m) {
  m.doc() = "aimatrix native CPU core: timing engine, statistics, CPU kernels";
  bind::register_errors();

  m.def(
      "stats",
      [](std::vector<double> samples) {
        Measurement meas;
        meas.stats = compute_stats(std::move(samples));
        return nb::cast<nb::dict>(bind::to_dict(meas)["stats"]);  // typed: the stub then says dict
      },
      nb::arg("samples"), "Statistics (median, CI, percentiles) of timing samples in ms.");

  m.def(
      "measure",
      [](std::function<void()> fn, bool cold, nb::dict rule) {
        CpuSampler sampler(std::move(fn));
        cpu::CacheFlusher flush;
        if (cold) sampler.set_before_each([&] { flush(); });
        Measurement meas = run_measurement(sampler, bind::stop_rule(rule));
        meas.timer = "steady-clock";
        return bind::to_dict(meas);
      },
      nb::arg("fn"), nb::arg("cold"), nb::arg("rule"), "Time a host callable with the native stopping rule.");

  m.def("timing_defaults", &bind::stop_rule_defaults, "The stopping rule's options and their defaults.");

  m.def(
      "measure_scripted",
      [](std::vector<double> samples_ms, nb::dict rule) {
        ScriptedSampler sampler(std::move(samples_ms));
        Measurement meas = run_measurement(sampler, bind::stop_rule(rule), sampler);
        meas.timer = "scripted";
        nb::dict d = bind::to_dict(meas);
        d["taken"] = sampler.taken();
        return d;
      },
      nb::arg("samples_ms"), nb::arg("rule"),
      "The stopping rule fed scripted per-launch times on a virtual clock (for tests of the rule).");

  m.def(
      "busy_time_ns",
      [](const std::vector<std::tuple<uint32_t, uint32_t, uint32_t, uint64_t, uint64_t>>& spans,
         const std::unordered_map<uint32_t, uint64_t>& tags) {
        std::vector<DeviceSpan> v;
        for (const auto& [ctx, stream, corr, start, end] : spans)
          v.push_back(checked_span(ctx, stream, corr, start, end));
        return busy_ns_by_tag(std::move(v), tags);
      },
      nb::arg("spans"), nb::arg("tags"),
      "The CUPTI timer's sum: {tag: device ns} from (context, stream, correlation, start, end) records and "
      "{correlation: tag} (for tests of that sum).");

  m.def(
      "gemm",
      [](int64_t mm, int64_t n, int64_t k, int64_t batch, bool ta, bool tb, const std::string& dtype, uint64_t seed,
         bool cold, nb::dict rule, const std::string& backend, const std::string& library) {
        GemmSpec s{mm, n, k, batch, ta, tb, parse_dtype(dtype), seed};
        const StopRule r = bind::stop_rule(rule);
        RunResult res;
        {
          nb::gil_scoped_release nogil;
          res = cpu::run_gemm(s, r, cold, cpu::gemm_backend(backend, library));
        }
        return bind::to_dict(res);
      },
      nb::arg("m"), nb::arg("n"), nb::arg("k"), nb::arg("batch"), nb::arg("trans_a"), nb::arg("trans_b"),
      nb::arg("dtype"), nb::arg("seed"), nb::arg("cold"), nb::arg("rule"), nb::arg("backend") = "cpu",
      nb::arg("library") = "",
      "CPU GEMM benchmark: backend cpu (own kernel, fp32), openblas (fp32) or onednn (fp32; bf16 where the CPU has "
      "AVX-512 BF16 or AMX), the vendor library at `library`.");

  m.def(
      "gemm_dtypes",
      [](const std::string& backend, const std::string& library) {
        std::vector<std::string> out;
        for (DType d : cpu::gemm_backend(backend, library).dtypes) out.push_back(dtype_name(d));
        return out;
      },
      nb::arg("backend"), nb::arg("library") = "",
      "The dtypes a CPU GEMM backend runs on this CPU (onednn: fp32, and bf16 where its ISA has it).");

  m.def("vendor_version", &cpu::vendor_version, nb::arg("backend"), nb::arg("library"),
        "A CPU vendor library's account of itself (backend openblas or onednn, loaded from `library`).");

  m.def("cpu_threads", [] {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return int(std::thread::hardware_concurrency());
#endif
  });

  bind::bind_synth(m);

  m.def(
      "conv",
      [](nb::handle spec, bool cold, nb::dict rule, const std::string& backend, const std::string& library) {
        const std::vector<ConvSpec> s = bind::conv_specs(spec);
        const StopRule r = bind::stop_rule(rule);
        RunResult res;
        {
          nb::gil_scoped_release nogil;
          res = cpu::run_conv(s, r, cold, backend, cpu::conv_backend(backend, library));
        }
        return bind::to_dict(res);
      },
      nb::arg("spec"), nb::arg("cold"), nb::arg("rule"), nb::arg("backend") = "cpu", nb::arg("library") = "",
      "CPU convolution benchmark (fp32): backend cpu (im2col + own sgemm) or onednn (the library at `library`).");

  m.def(
      "membw",
      [](const std::string& kind, int64_t n, int passes, uint64_t seed, bool cold, nb::dict rule) {
        const MembwSpec s = bind::membw_spec(kind, n, passes, true, -1, seed);
        const StopRule r = bind::stop_rule(rule);
        RunResult res;
        {
          nb::gil_scoped_release nogil;
          res = cpu::run_membw(s, r, cold);
        }
        return bind::to_dict(res);
      },
      nb::arg("kind"), nb::arg("n"), nb::arg("passes"), nb::arg("seed"), nb::arg("cold"), nb::arg("rule"),
      "CPU STREAM benchmark (OpenMP).");
}
