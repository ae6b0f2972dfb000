#include "cpu/gemm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "common/rng.hpp"
#include "cpu/host_memory.hpp"
#include "cpu/timed_run.hpp"
#include "timing/cpu_timer.hpp"

namespace am::cpu {
namespace {

constexpr int MR = 4, NR = 16;                // register tile
constexpr int MC = 128, KC = 256, NC = 2048;  // cache blocks (L2: A block, L3: B panel)

// Packs op(A)[i0:i0+mc, p0:p0+kc] as [mc/MR][kc][MR], zero-padded.
void pack_a(const GemmSpec& s, const float* a, int64_t b, int64_t i0, int mc, int64_t p0, int kc, float* dst) {
  for (int ib = 0; ib < mc; ib += MR)
    for (int p = 0; p < kc; ++p)
      for (int r = 0; r < MR; ++r) {
        const int64_t i = i0 + ib + r;
        *dst++ = (ib + r < mc) ? a[s.a_index(b, i, p0 + p)] : 0.0f;
      }
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] as [nc/NR][kc][NR], zero-padded.
void pack_b(const GemmSpec& s, const float* bm, int64_t b, int64_t p0, int kc, int64_t j0, int nc, float* dst) {
  for (int jb = 0; jb < nc; jb += NR)
    for (int p = 0; p < kc; ++p)
      for (int q = 0; q < NR; ++q) {
        const int64_t j = j0 + jb + q;
        *dst++ = (jb + q < nc) ? bm[s.b_index(b, p0 + p, j)] : 0.0f;
      }
}

// acc[MR][NR] = sum_p a[p][MR] x b[p][NR]; vectorised per ISA at load time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void micro_kernel(int kc, const float* __restrict a,
                                                                               const float* __restrict bp,
                                                                               float* __restrict acc) {
  float c[MR][NR] = {};
  for (int p = 0; p < kc; ++p) {
    const float* brow = bp + p * NR;
    for (int r = 0; r < MR; ++r) {
      const float av = a[p * MR + r];
#pragma omp simd
      for (int q = 0; q < NR; ++q) c[r][q] += av * brow[q];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NR; ++q) acc[r * NR + q] = c[r][q];
}

}  // namespace

void sgemm(const GemmSpec& s, const float* a, const float* bm, float* c) {
  const int64_t row_blocks = (s.m + MC - 1) / MC;
#pragma omp parallel
  {
    // Packing buffers sized to the problem (rounded up to whole register tiles).
    const int64_t mc_max = (std::min<int64_t>(MC, s.m) + MR - 1) / MR * MR;
    const int64_t nc_max = (std::min<int64_t>(NC, s.n) + NR - 1) / NR * NR;
    std::vector<float> apack(size_t(mc_max * std::min<int64_t>(KC, s.k))),
        bpack(size_t(nc_max * std::min<int64_t>(KC, s.k)));
    float acc[MR * NR];
#pragma omp for collapse(2) schedule(dynamic)
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t ib = 0; ib < row_blocks; ++ib) {
        const int64_t i0 = ib * MC;
        const int mc = int(std::min<int64_t>(MC, s.m - i0));
        float* crow = c + b * s.c_elems();
        for (int64_t j0 = 0; j0 < s.n; j0 += NC) {
          const int nc = int(std::min<int64_t>(NC, s.n - j0));
          for (int64_t p0 = 0; p0 < s.k; p0 += KC) {
            const int kc = int(std::min<int64_t>(KC, s.k - p0));
            pack_a(s, a, b, i0, mc, p0, kc, apack.data());
            pack_b(s, bm, b, p0, kc, j0, nc, bpack.data());
            for (int jr = 0; jr < nc; jr += NR)
              for (int ir = 0; ir < mc; ir += MR) {
                micro_kernel(kc, apack.data() + size_t(ir) * kc, bpack.data() + size_t(jr) * kc, acc);
                for (int r = 0; r < MR && ir + r < mc; ++r)
                  for (int q = 0; q < NR && jr + q < nc; ++q) {
                    float& out = crow[(i0 + ir + r) * s.n + j0 + jr + q];
                    out = (p0 == 0 ? 0.0f : out) + acc[r * NR + q];
                  }
              }
          }
        }
      }
  }
}

RunResult run_gemm(const GemmSpec& s, const StopRule& rule, bool cold, const GemmBackend& be) {
  s.validate();
  if (s.dtype != DType::f32)
    throw UnsupportedError("the " + be.name + " backend runs dtype fp32 only, not " + dtype_name(s.dtype));
  rule.validate();
  require_host_memory(s.bytes(), be.name + " gemm");
  std::vector<float> a, b, c;
  try {
    a.resize(size_t(s.a_elems() * s.batch));
    b.resize(size_t(s.b_elems() * s.batch));
    c.assign(size_t(s.c_elems() * s.batch), std::numeric_limits<float>::quiet_NaN());
  } catch (const std::bad_alloc&) {
    throw OutOfMemoryError(be.name + " gemm needs " + std::to_string(s.bytes() / 1e9) +
                           " GB of host memory, which could not be allocated");
  }
  const uint64_t sa = operand_seed(s.seed, 0), sb = operand_seed(s.seed, 1);
  for (size_t i = 0; i < a.size(); ++i) a[i] = uniform_pm1(sa, i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = uniform_pm1(sb, i);

  be.run(s, a.data(), b.data(), c.data());

  // Check: every output written and finite, sampled elements against float64.
  Verification v;
  v.tolerance = gemm_tolerance(s.dtype);
  for (float x : c) v.nonfinite += !std::isfinite(x);
  const GemmProbe p = make_gemm_probe(s);
  std::vector<uint8_t> ar, bc, cc;
  auto put = [](std::vector<uint8_t>& dst, float x) {
    const auto* q = reinterpret_cast<const uint8_t*>(&x);
    dst.insert(dst.end(), q, q + 4);
  };
  for (int64_t bi : p.batches) {
    for (int64_t i : p.rows)
      for (int64_t t = 0; t < s.k; ++t) put(ar, a[s.a_index(bi, i, t)]);
    for (int64_t j : p.cols)
      for (int64_t t = 0; t < s.k; ++t) put(bc, b[s.b_index(bi, t, j)]);
    for (int64_t i : p.rows)
      for (int64_t j : p.cols) put(cc, c[bi * s.c_elems() + i * s.n + j]);
  }
  v.rel_error = gemm_probe_error(s, p, ar, bc, cc);
  v.checked = p.count();
  require_passed(v, be.name + " gemm");

  return time_verified([&] { be.run(s, a.data(), b.data(), c.data()); }, rule, cold, v, "kernel", be.info, be.name);
}

}  // namespace am::cpu
