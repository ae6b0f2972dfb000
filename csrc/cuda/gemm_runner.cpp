#include <sstream>

#include "common/verify.hpp"
#include "cuda/check.hpp"
#include "cuda/event_timer.hpp"
#include "cuda/fill.hpp"
#include "cuda/gemm.hpp"

namespace am::cuda {

ColMajorGemm to_col_major(const GemmSpec& s) {
  ColMajorGemm g;
  g.m = s.n;
  g.n = s.m;
  g.k = s.k;
  g.trans_first = s.trans_b;
  g.ld_first = s.trans_b ? s.k : s.n;
  g.trans_second = s.trans_a;
  g.ld_second = s.trans_a ? s.m : s.k;
  g.ldc = s.n;
  return g;
}

namespace {

GemmPlan make_plan(Context& ctx, const std::string& backend, const GemmSpec& s, void* a, void* b, void* c) {
  if (backend == "cublas") return plan_cublas(ctx, s, a, b, c);
  if (backend == "cublaslt") return plan_cublaslt(ctx, s, a, b, c);
  if (backend == "simt" || backend == "tensorcore") return plan_own(ctx, backend, s, a, b, c);
  throw std::invalid_argument("unknown CUDA gemm backend '" + backend +
                              "': expected cublas, cublaslt, simt or tensorcore");
}

// Fails early, before any allocation, when the problem cannot fit.
void check_fits(const GemmSpec& s) {
  size_t free_b = 0, total_b = 0;
  AM_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const double need = s.bytes();
  if (need > double(free_b)) {
    std::ostringstream os;
    os.precision(3);
    os << "out of GPU memory: gemm m=" << s.m << " n=" << s.n << " k=" << s.k << " batch=" << s.batch << " "
       << dtype_name(s.dtype) << " needs " << need / (1 << 30) << " GiB, " << double(free_b) / (1 << 30)
       << " GiB free of " << double(total_b) / (1 << 30) << " GiB";
    throw OutOfMemoryError(os.str());
  }
}

}  // namespace

RunResult run_gemm(int device, const std::string& backend, const GemmSpec& s, const StopRule& rule, bool cold) {
  s.validate();
  rule.validate();
  Context& ctx = Context::get(device);
  check_fits(s);
  const Storage in = input_storage(s.dtype), out = output_storage(s.dtype);
  const size_t ib = storage_bytes(in), ob = storage_bytes(out);
  DeviceBuffer a(size_t(s.a_elems() * s.batch) * ib), b(size_t(s.b_elems() * s.batch) * ib),
      c(size_t(s.c_elems() * s.batch) * ob);
  cudaStream_t st = ctx.stream();
  fill_random(a.get(), in, size_t(s.a_elems() * s.batch), operand_seed(s.seed, 0), st);
  fill_random(b.get(), in, size_t(s.b_elems() * s.batch), operand_seed(s.seed, 1), st);
  poison(c.get(), c.bytes(), st);

  GemmPlan plan = make_plan(ctx, backend, s, a.get(), b.get(), c.get());
  plan.launch(st);

  // Check before timing: every output written and finite, sampled elements
  // against a float64 reference of the same (quantised) inputs.
  Verification v;
  v.tolerance = gemm_tolerance(s.dtype);
  v.nonfinite = count_nonfinite(c.get(), out, size_t(s.c_elems() * s.batch), st);
  const GemmProbe p = make_gemm_probe(s);
  std::vector<int64_t> ao, bo, co;
  for (int64_t bi : p.batches) {
    for (int64_t i : p.rows)
      for (int64_t t = 0; t < s.k; ++t) ao.push_back(s.a_index(bi, i, t));
    for (int64_t j : p.cols)
      for (int64_t t = 0; t < s.k; ++t) bo.push_back(s.b_index(bi, t, j));
    for (int64_t i : p.rows)
      for (int64_t j : p.cols) co.push_back(bi * s.c_elems() + i * s.n + j);
  }
  v.rel_error =
      gemm_probe_error(s, p, gather(a.get(), ib, ao, st), gather(b.get(), ib, bo, st), gather(c.get(), ob, co, st));
  v.checked = p.count();
  require_passed(v, backend + " gemm");

  EventSampler sampler(ctx, st, plan.launch, cold, /*graph=*/true);
  RunResult r;
  r.measurement = run_measurement(sampler, rule);
  r.measurement.timer = sampler.timer_name();
  r.verify = v;
  r.backend = backend;
  r.extra = plan.info;
  return r;
}

}  // namespace am::cuda
