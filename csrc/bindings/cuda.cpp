// aimatrix._cuda: the CUDA back end. Thin: conversions only.
#include <nanobind/stl/function.h>

#include "bindings/common.hpp"
#include "bindings/micro_args.hpp"
#include "common/gemm_spec.hpp"
#include "cuda/context.hpp"
#include "cuda/cupti_timer.hpp"
#include "cuda/device_info.hpp"
#include "cuda/gemm.hpp"
#include "cuda/micro.hpp"

namespace nb = nanobind;
using namespace am;

NB_MODULE(_cuda, m) {
  m.doc() = "aimatrix native CUDA back end: CUDA-event timing, cuBLAS/cuBLASLt and own GEMM kernels";
  bind::register_errors();

  m.def("device_count", &cuda::device_count);

  m.def(
      "device_info",
      [](int device) {
        const cuda::DeviceFacts& f = cuda::Context::get(device).facts();
        nb::dict d;
        d["index"] = f.index;
        d["name"] = f.name;
        d["uuid"] = f.uuid;
        d["pci_bus_id"] = f.pci_bus_id;
        d["cc_major"] = f.cc_major;
        d["cc_minor"] = f.cc_minor;
        d["sm_count"] = f.sm_count;
        d["clock_khz"] = f.clock_khz;
        d["mem_clock_khz"] = f.mem_clock_khz;
        d["bus_width_bits"] = f.bus_width_bits;
        d["l2_bytes"] = f.l2_bytes;
        d["total_mem_bytes"] = f.total_mem;
        d["driver_version"] = f.driver_version;
        d["cuda_runtime_version"] = f.runtime_version;
        d["cublas_version"] = f.cublas_version;
        d["cublaslt_version"] = f.cublaslt_version;
        return d;
      },
      nb::arg("device"));

  m.def(
      "cupti_status",
      []() {
        const std::string why = cuda::cupti::start();
        if (why.empty()) cuda::cupti::stop();
        return why;
      },
      "'' when the CUPTI timer can run in this process, else why not.");

  m.def(
      "measure",
      [](std::function<void()> fn, int device, long long stream, bool cold, nb::dict rule) {
        return bind::to_dict(cuda::measure_callable(device, stream, cold, std::move(fn), bind::stop_rule(rule)));
      },
      nb::arg("fn"), nb::arg("device"), nb::arg("stream"), nb::arg("cold"), nb::arg("rule"));

  m.def(
      "gemm",
      [](int device, const std::string& backend, int64_t mm, int64_t n, int64_t k, int64_t batch, bool ta, bool tb,
         const std::string& dtype, uint64_t seed, bool cold, nb::dict rule) {
        GemmSpec s{mm, n, k, batch, ta, tb, parse_dtype(dtype), seed};
        const StopRule r = bind::stop_rule(rule);
        RunResult res;
        {
          nb::gil_scoped_release nogil;
          res = cuda::run_gemm(device, backend, s, r, cold);
        }
        return bind::to_dict(res);
      },
      nb::arg("device"), nb::arg("backend"), nb::arg("m"), nb::arg("n"), nb::arg("k"), nb::arg("batch"),
      nb::arg("trans_a"), nb::arg("trans_b"), nb::arg("dtype"), nb::arg("seed"), nb::arg("cold"), nb::arg("rule"));

  m.def(
      "conv",
      [](int device, const std::string& backend, const std::string& algo, nb::handle spec, bool cold, nb::dict rule) {
        const std::vector<ConvSpec> s = bind::conv_specs(spec);
        const StopRule r = bind::stop_rule(rule);
        RunResult res;
        {
          nb::gil_scoped_release nogil;
          res = cuda::run_conv(device, backend, algo, s, r, cold);
        }
        return bind::to_dict(res);
      },
      nb::arg("device"), nb::arg("backend"), nb::arg("algo"), nb::arg("spec"), nb::arg("cold"), nb::arg("rule"));

  m.def(
      "membw",
      [](int device, const std::string& kind, int64_t n, int passes, bool pinned, int peer, uint64_t seed, bool cold,
         nb::dict rule, bool p2p_kernel, bool bidirectional, const std::string& kernel) {
        const MembwSpec s = bind::membw_spec(kind, n, passes, pinned, peer, seed, p2p_kernel, bidirectional, kernel);
        const StopRule r = bind::stop_rule(rule);
        RunResult res;
        {
          nb::gil_scoped_release nogil;
          res = cuda::run_membw(device, s, r, cold);
        }
        return bind::to_dict(res);
      },
      nb::arg("device"), nb::arg("kind"), nb::arg("n"), nb::arg("passes"), nb::arg("pinned"), nb::arg("peer"),
      nb::arg("seed"), nb::arg("cold"), nb::arg("rule"), nb::arg("p2p_kernel") = false,
      nb::arg("bidirectional") = false, nb::arg("kernel") = "auto");

  m.def(
      "launch",
      [](int device, const std::string& kind, nb::dict rule) {
        const StopRule r = bind::stop_rule(rule);
        RunResult res;
        {
          nb::gil_scoped_release nogil;
          res = cuda::run_launch(device, kind, r);
        }
        return bind::to_dict(res);
      },
      nb::arg("device"), nb::arg("kind"), nb::arg("rule"));

  m.def("cudnn_version", &cuda::cudnn_version);
}
