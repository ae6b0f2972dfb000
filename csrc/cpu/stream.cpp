#include "cpu/stream.hpp"

#include <cmath>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/rng.hpp"
#include "cpu/host_memory.hpp"
#include "cpu/timed_run.hpp"
#include "timing/cpu_timer.hpp"

namespace am::cpu {
namespace {

// One launch: `passes` sweeps. Sums accumulate in double per thread.
double stream_launch(MembwKind k, int passes, int64_t n, float* a, float* b, float* c) {
  const float q = kMembwScalar;
  double sum = 0.0;
  for (int p = 0; p < passes; ++p) {
    switch (k) {
      case MembwKind::read:
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
        for (int64_t i = 0; i < n; ++i) sum += a[i];
        break;
      case MembwKind::write:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; ++i) a[i] = q;
        break;
      case MembwKind::copy:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; ++i) c[i] = a[i];
        break;
      case MembwKind::scale:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; ++i) b[i] = q * c[i];
        break;
      case MembwKind::add:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
        break;
      case MembwKind::triad:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; ++i) a[i] = b[i] + q * c[i];
        break;
      case MembwKind::dot:
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
        for (int64_t i = 0; i < n; ++i) sum += double(a[i]) * double(b[i]);
        break;
      default: throw UnsupportedError(std::string("membw kind '") + membw_info(k).name + "' needs a CUDA device");
    }
  }
  return sum;
}

}  // namespace

RunResult run_membw(const MembwSpec& s, const StopRule& rule, bool cold) {
  s.validate();
  const MembwInfo& info = membw_info(s.kind);
  if (info.transfer) throw UnsupportedError(std::string("membw kind '") + info.name + "' needs a CUDA device");
  rule.validate();
  require_host_memory(double(s.n) * 4 * (info.reads + info.writes), std::string("cpu membw ") + info.name);
  std::vector<float> arr[3];
  try {
    for (int j = 0; j < 3; ++j) {
      if (info.in_mask & (1 << j)) {
        arr[j].resize(size_t(s.n));
        const uint64_t seed = operand_seed(s.seed, j);
        for (int64_t i = 0; i < s.n; ++i) arr[j][size_t(i)] = uniform_pm1(seed, uint64_t(i));
      } else if (info.out == j) {
        arr[j].assign(size_t(s.n), std::numeric_limits<float>::quiet_NaN());
      }
    }
  } catch (const std::bad_alloc&) {
    throw OutOfMemoryError("cpu membw needs " + std::to_string(double(s.n) * 4 * (info.reads + info.writes) / 1e9) +
                           " GB of host memory, which could not be allocated");
  }
  float *a = arr[0].data(), *b = arr[1].data(), *c = arr[2].data();
  const double sum = stream_launch(s.kind, s.passes, s.n, a, b, c);

  Verification v;
  if (info.reduces) {
    double ref = 0, ref_abs = 0;
    for (int64_t i = 0; i < s.n; ++i) {
      const double t = s.kind == MembwKind::dot ? double(a[i]) * double(b[i]) : double(a[i]);
      ref += t;
      ref_abs += std::abs(t);
    }
    v.tolerance = kMembwSumTol;
    v.checked = 1;
    v.rel_error = std::abs(sum - s.passes * ref) / std::max(s.passes * ref_abs, 1e-300);
    v.nonfinite = !std::isfinite(sum);
  } else {
    const std::vector<float>& out = arr[info.out];
    for (float x : out) v.nonfinite += !std::isfinite(x);
    v.tolerance = kMembwElemTol;
    v.checked = s.n;
    v.rel_error = membw_probe_error(s.kind, arr[0].empty() ? nullptr : a, arr[1].empty() ? nullptr : b,
                                    arr[2].empty() ? nullptr : c, out.data(), size_t(s.n));
  }
  require_passed(v, std::string("cpu membw ") + info.name);

  volatile double sink = 0;
  return time_verified([&] { sink = sink + stream_launch(s.kind, s.passes, s.n, a, b, c); }, rule, cold, v, "kernel",
                       "openmp-stream");
}

}  // namespace am::cpu
