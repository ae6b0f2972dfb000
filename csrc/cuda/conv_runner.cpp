// The CUDA convolution runner: allocate, fill, poison, run once, verify against
// float64 on sampled outputs, then time (as gemm_runner.cpp does for GEMM), then
// poison, run and verify once more: a kernel that keeps state between launches (the
// igemm kernels' split-K tile counters) must leave every later launch right too.
#include <memory>
#include <sstream>
#include <vector>

#include "common/verify.hpp"
#include "cuda/check.hpp"
#include "cuda/conv_cudnn.hpp"
#include "cuda/event_timer.hpp"
#include "cuda/fill.hpp"
#include "cuda/micro.hpp"

namespace am::cuda {
namespace {

// The layers' buffers all live at once (a chain's layers each keep their own).
void check_fits(const std::vector<ConvSpec>& chain) {
  size_t free_b = 0, total_b = 0;
  AM_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  double bytes = 0;
  for (const ConvSpec& s : chain) bytes += s.bytes();
  if (bytes > double(free_b)) {
    std::ostringstream os;
    os.precision(3);
    os << "out of GPU memory: "
       << (chain.size() == 1 ? chain[0].describe() : std::to_string(chain.size()) + " convolutions") << " need "
       << bytes / (1 << 30) << " GiB, " << double(free_b) / (1 << 30) << " GiB free of " << double(total_b) / (1 << 30)
       << " GiB";
    throw OutOfMemoryError(os.str());
  }
}

std::vector<uint8_t> to_host(const DeviceBuffer& b, cudaStream_t st) {
  std::vector<uint8_t> h(b.bytes());
  AM_CUDA_CHECK(cudaMemcpyAsync(h.data(), b.get(), b.bytes(), cudaMemcpyDeviceToHost, st));
  AM_CUDA_CHECK(cudaStreamSynchronize(st));
  return h;
}

// One layer of a run: its buffers, its inputs' host copies and the sampled outputs (the
// reference), and the candidate that passed verification.
struct PreparedConv {
  ConvSpec spec;
  DeviceBuffer a, b, c;
  std::vector<uint8_t> ha, hb;
  std::vector<int64_t> probe;
  std::unique_ptr<CudnnConv> cudnn;  // owns the chosen candidate's workspace
  ConvPlan plan;
  Verification verify;
  std::string rejected;

  // The output now against float64 on the probe (and NaN/Inf anywhere: it is poisoned before the first run).
  Verification check(cudaStream_t st) const {
    Verification v;
    v.tolerance = conv_tolerance(spec.dtype);
    v.nonfinite = count_nonfinite(c.get(), output_storage(spec.dtype), size_t(spec.elems(spec.out())), st);
    const std::vector<uint8_t> got = gather(c.get(), storage_bytes(output_storage(spec.dtype)), probe, st);
    v.rel_error = conv_probe_error(spec, probe, ha.data(), hb.data(), got.data());
    v.checked = int64_t(probe.size());
    return v;
  }
  std::string what(const std::string& backend) const {
    return backend + " " + spec.describe() + (plan.info.count("algo") ? " algo " + plan.info.at("algo") : "");
  }
};

// Allocate, fill, then run each candidate (cuDNN's, best first; igemm has one)
// once and check it; the first that passes is the layer's plan.
std::unique_ptr<PreparedConv> prepare(Context& ctx, const std::string& backend, const std::string& algo,
                                      const ConvSpec& s, bool cold) {
  const Storage in = input_storage(s.dtype);
  const size_t ib = storage_bytes(in), ob = storage_bytes(output_storage(s.dtype));
  const int64_t n0 = s.elems(s.in0()), n1 = s.elems(s.in1()), no = s.elems(s.out());
  std::unique_ptr<PreparedConv> p(
      new PreparedConv{s, DeviceBuffer(size_t(n0) * ib), DeviceBuffer(size_t(n1) * ib), DeviceBuffer(size_t(no) * ob)});
  cudaStream_t st = ctx.stream();
  fill_random(p->a.get(), in, size_t(n0), operand_seed(s.seed, 0), st);
  fill_random(p->b.get(), in, size_t(n1), operand_seed(s.seed, 1), st);
  p->ha = to_host(p->a, st), p->hb = to_host(p->b, st);
  p->probe = make_conv_probe(s);

  if (backend == "cudnn")
    p->cudnn = std::make_unique<CudnnConv>(ctx, s, algo, p->a.get(), p->b.get(), p->c.get(), cold);
  const size_t count = p->cudnn ? p->cudnn->candidates() : 1;
  for (size_t i = 0; i < count; ++i) {
    poison(p->c.get(), p->c.bytes(), st);
    p->plan = p->cudnn ? p->cudnn->plan(i) : plan_igemm(ctx, s, p->a.get(), p->b.get(), p->c.get());
    p->plan.launch(st);
    const Verification& v = p->verify = p->check(st);
    if (!v.passed() && i + 1 < count) {
      std::ostringstream os;
      os << (p->rejected.empty() ? "" : "; ") << p->plan.info["algo"] << " (rel error " << v.rel_error << ")";
      p->rejected += os.str();
      continue;
    }
    require_passed(v, p->what(backend));
    return p;
  }
  throw std::logic_error("run_conv: no candidate ran");
}

}  // namespace

RunResult run_conv(int device, const std::string& backend, const std::string& algo, const std::vector<ConvSpec>& chain,
                   const StopRule& rule, bool cold) {
  if (chain.empty()) throw std::invalid_argument("run_conv: no convolution given");
  for (const ConvSpec& s : chain) {
    s.validate();
    if (s.dtype != DType::f32 && s.dtype != DType::tf32 && s.dtype != DType::f16 && s.dtype != DType::bf16)
      throw UnsupportedError(std::string("conv runs fp32, tf32, fp16 and bf16, not ") + dtype_name(s.dtype));
  }
  rule.validate();
  if (backend != "cudnn" && backend != "igemm")
    throw std::invalid_argument("unknown CUDA conv backend '" + backend + "': expected cudnn or igemm");
  Context& ctx = Context::get(device);
  check_fits(chain);
  std::vector<std::unique_ptr<PreparedConv>> layers;
  for (const ConvSpec& s : chain) layers.push_back(prepare(ctx, backend, algo, s, cold));

  // The whole chain is one sample: the layers back to back on the stream, as a forward pass runs them.
  const auto launch = [&layers](cudaStream_t st) {
    for (const auto& l : layers) l->plan.launch(st);
  };
  EventSampler sampler(ctx, ctx.stream(), launch, cold, /*graph=*/true);
  RunResult r;
  r.measurement = run_measurement(sampler, rule);
  r.measurement.timer = sampler.timer_name();
  for (const auto& l : layers) {
    poison(l->c.get(), l->c.bytes(), ctx.stream());
    l->plan.launch(ctx.stream());
    require_passed(l->check(ctx.stream()), l->what(backend) + " (run again after the timed launches)");
  }
  r.backend = backend;
  if (layers.size() == 1) {
    r.verify = layers[0]->verify;
    r.extra = layers[0]->plan.info;
    if (!layers[0]->rejected.empty()) r.extra["algos_rejected"] = layers[0]->rejected;
    return r;
  }
  // A chain: the worst layer's check, and each layer's algorithm in order.
  std::string algos, rejected;
  for (size_t i = 0; i < layers.size(); ++i) {
    merge_check(r.verify, layers[i]->verify);
    const auto it = layers[i]->plan.info.find("algo");
    algos += (i ? ";" : "") + (it == layers[i]->plan.info.end() ? backend : it->second);
    if (!layers[i]->rejected.empty())
      rejected += (rejected.empty() ? "" : "; ") + std::to_string(i) + ": " + layers[i]->rejected;
  }
  r.extra["algo"] = algos;
  if (!rejected.empty()) r.extra["algos_rejected"] = rejected;
  return r;
}

}  // namespace am::cuda
