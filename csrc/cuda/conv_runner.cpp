// The CUDA convolution runner: allocate, fill, poison, run once, verify against
// float64 on sampled outputs, then time (as gemm_runner.cpp does for GEMM).
#include <sstream>

#include "common/verify.hpp"
#include "cuda/check.hpp"
#include "cuda/conv_cudnn.hpp"
#include "cuda/event_timer.hpp"
#include "cuda/fill.hpp"
#include "cuda/micro.hpp"

namespace am::cuda {
namespace {

void check_fits(const ConvSpec& s) {
  size_t free_b = 0, total_b = 0;
  AM_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  if (s.bytes() > double(free_b)) {
    std::ostringstream os;
    os.precision(3);
    os << "out of GPU memory: " << s.describe() << " needs " << s.bytes() / (1 << 30) << " GiB, "
       << double(free_b) / (1 << 30) << " GiB free of " << double(total_b) / (1 << 30) << " GiB";
    throw OutOfMemoryError(os.str());
  }
}

std::vector<uint8_t> to_host(const DeviceBuffer& b, cudaStream_t st) {
  std::vector<uint8_t> h(b.bytes());
  AM_CUDA_CHECK(cudaMemcpyAsync(h.data(), b.get(), b.bytes(), cudaMemcpyDeviceToHost, st));
  AM_CUDA_CHECK(cudaStreamSynchronize(st));
  return h;
}

}  // namespace

RunResult run_conv(int device, const std::string& backend, const std::string& algo, const ConvSpec& s,
                   const StopRule& rule, bool cold) {
  s.validate();
  rule.validate();
  if (backend != "cudnn" && backend != "igemm")
    throw std::invalid_argument("unknown CUDA conv backend '" + backend + "': expected cudnn or igemm");
  if (s.dtype != DType::f32 && s.dtype != DType::tf32 && s.dtype != DType::f16 && s.dtype != DType::bf16)
    throw UnsupportedError(std::string("conv runs fp32, tf32, fp16 and bf16, not ") + dtype_name(s.dtype));
  Context& ctx = Context::get(device);
  check_fits(s);
  const Storage in = input_storage(s.dtype), out = output_storage(s.dtype);
  const size_t ib = storage_bytes(in), ob = storage_bytes(out);
  const int64_t n0 = s.elems(s.in0()), n1 = s.elems(s.in1()), no = s.elems(s.out());
  DeviceBuffer a(size_t(n0) * ib), b(size_t(n1) * ib), c(size_t(no) * ob);
  cudaStream_t st = ctx.stream();
  fill_random(a.get(), in, size_t(n0), operand_seed(s.seed, 0), st);
  fill_random(b.get(), in, size_t(n1), operand_seed(s.seed, 1), st);
  const std::vector<uint8_t> ha = to_host(a, st), hb = to_host(b, st);
  const std::vector<int64_t> probe = make_conv_probe(s);

  // Each candidate (cuDNN's, best first; igemm has one) runs once and is checked;
  // the first that passes is timed.
  std::unique_ptr<CudnnConv> cudnn;
  if (backend == "cudnn") cudnn = std::make_unique<CudnnConv>(ctx, s, algo, a.get(), b.get(), c.get());
  const size_t count = cudnn ? cudnn->candidates() : 1;
  std::string rejected;
  for (size_t i = 0; i < count; ++i) {
    poison(c.get(), c.bytes(), st);
    ConvPlan plan = cudnn ? cudnn->plan(i) : plan_igemm(ctx, s, a.get(), b.get(), c.get());
    plan.launch(st);
    Verification v;
    v.tolerance = conv_tolerance(s.dtype);
    v.nonfinite = count_nonfinite(c.get(), out, size_t(no), st);
    const std::vector<uint8_t> got = gather(c.get(), ob, probe, st);
    v.rel_error = conv_probe_error(s, probe, ha.data(), hb.data(), got.data());
    v.checked = int64_t(probe.size());
    if (!v.passed() && i + 1 < count) {
      std::ostringstream os;
      os << (rejected.empty() ? "" : "; ") << plan.info["algo"] << " (rel error " << v.rel_error << ")";
      rejected += os.str();
      continue;
    }
    require_passed(v, backend + " " + s.describe() + (plan.info.count("algo") ? " algo " + plan.info["algo"] : ""));

    EventSampler sampler(ctx, st, plan.launch, cold, /*graph=*/true);
    RunResult r;
    r.measurement = run_measurement(sampler, rule);
    r.measurement.timer = sampler.timer_name();
    r.verify = v;
    r.backend = backend;
    r.extra = plan.info;
    if (!rejected.empty()) r.extra["algos_rejected"] = rejected;
    return r;
  }
  throw std::logic_error("run_conv: no candidate ran");
}

}  // namespace am::cuda
