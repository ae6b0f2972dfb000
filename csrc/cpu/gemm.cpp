#include "cpu/gemm.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <string>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/rng.hpp"
#include "cpu/host_memory.hpp"
#include "cpu/timed_run.hpp"
#include "timing/cpu_timer.hpp"

namespace am::cpu {
namespace {

// GotoBLAS/BLIS structure: for each NC-wide panel of op(B) and KC-deep slice, pack the B panel
// ([nc/NR][kc][NR]), then for each MC-tall block of op(A) pack it ([mc/MR][kc][MR]) and run the
// microkernel over its tiles; the microkernel keeps an MR x NR tile of C in registers (12 x 32 fp32:
// 24 zmm accumulators) and streams both packed panels. The threads split C into column (else row)
// units (see sgemm) and each runs this on its units with its own buffers: no barrier inside, so a thread
// that another process delays on a shared CPU holds up no one until the end (packing A twice costs
// m*k, nothing beside the m*n*k/threads of each).
constexpr int MR = 12, NR = 32;
constexpr int KC = 256, MC = 240, NC = 4096;  // B micro-panel (32 KiB) in L1, A block (240 KiB) in L2, B panel in L3

// d[p][q] (q < width, row stride width) = src[q][p] for p < kc: `n` k-contiguous rows interleaved, the rows
// from n to width zero. The packing of a row-major A and a column-major B, a transpose: scalar, it cost as much
// as the multiply in a convolution's weight gradient (short m and n, long k).
void interleave_scalar(const float* const* src, int n, int width, int kc, float* d) {
  for (int q = 0; q < width; ++q)
    for (int p = 0; p < kc; ++p) d[p * width + q] = q < n ? src[q][p] : 0.0f;
}

// The low and high 64-bit halves of each 128-bit lane of a and b, interleaved.
__attribute__((target("avx512f"))) inline __m512 lo64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}
__attribute__((target("avx512f"))) inline __m512 hi64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

// In place: r[c][q] = r[q][c] (a 16 x 16 block of floats).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own intrinsics (their undefined operand)
__attribute__((target("avx512f"))) inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {  // pairs of rows, interleaved by element
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i + j], 128-bit lane l: rows 4i..4i+3 of column 4l + j
    r[4 * i] = lo64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = hi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = lo64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = hi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int j = 0; j < 4; ++j) {  // gather each column's four lanes
    const __m512 x = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), y = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    const __m512 x2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88),
                 y2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    t[j] = _mm512_shuffle_f32x4(x, x2, 0x88);
    t[8 + j] = _mm512_shuffle_f32x4(x, x2, 0xDD);
    t[4 + j] = _mm512_shuffle_f32x4(y, y2, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(y, y2, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}
#pragma GCC diagnostic pop

// interleave_scalar's contract, 16 x 16 blocks at a time.
__attribute__((target("avx512f"))) void interleave_avx512(const float* const* src, int n, int width, int kc, float* d) {
  const int k16 = kc / 16 * 16;
  for (int q0 = 0; q0 < width; q0 += 16) {
    const int w = std::min(16, width - q0), live = std::clamp(n - q0, 0, w);
    const __mmask16 mask = __mmask16((1u << w) - 1);
    for (int p = 0; p < k16; p += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) r[i] = i < live ? _mm512_loadu_ps(src[q0 + i] + p) : _mm512_setzero_ps();
      transpose16(r);
      for (int c = 0; c < 16; ++c) _mm512_mask_storeu_ps(d + (p + c) * width + q0, mask, r[c]);
    }
  }
  for (int q = 0; q < width; ++q)
    for (int p = k16; p < kc; ++p) d[p * width + q] = q < n ? src[q][p] : 0.0f;
}

void interleave(const float* const* src, int n, int width, int kc, float* d);

// Packs op(A)[i0:i0+mc, p0:p0+kc] as [mc/MR][kc][MR], zero-padded.
void pack_a(const GemmSpec& s, const float* a, int64_t b, int64_t i0, int mc, int64_t p0, int kc, float* dst) {
  const int strips = (mc + MR - 1) / MR;
  for (int st = 0; st < strips; ++st) {
    float* d = dst + size_t(st) * kc * MR;
    const int rows = std::min(MR, mc - st * MR);
    if (!s.trans_a) {  // rows of A are contiguous in k
      const float* src[MR];
      for (int r = 0; r < rows; ++r) src[r] = a + s.a_index(b, i0 + st * MR + r, p0);
      interleave(src, rows, MR, kc, d);
    } else {  // A stored [k][m]: MR consecutive elements per k
      for (int p = 0; p < kc; ++p) {
        const float* src = a + s.a_index(b, i0 + st * MR, p0 + p);
        for (int r = 0; r < MR; ++r) d[p * MR + r] = r < rows ? src[r] : 0.0f;
      }
    }
  }
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] as [nc/NR][kc][NR], zero-padded.
void pack_b(const GemmSpec& s, const float* bm, int64_t b, int64_t p0, int kc, int64_t j0, int nc, float* dst) {
  const int strips = (nc + NR - 1) / NR;
  for (int st = 0; st < strips; ++st) {
    float* d = dst + size_t(st) * kc * NR;
    const int cols = std::min(NR, nc - st * NR);
    if (!s.trans_b) {  // rows of B are contiguous in n: whole rows of a strip are plain copies
      for (int p = 0; p < kc; ++p) {
        const float* src = bm + s.b_index(b, p0 + p, j0 + st * NR);
        float* dp = d + p * NR;
        std::memcpy(dp, src, sizeof(float) * size_t(cols));
        std::fill(dp + cols, dp + NR, 0.0f);
      }
    } else {  // B stored [n][k]
      const float* src[NR];
      for (int q = 0; q < cols; ++q) src[q] = bm + s.b_index(b, p0, j0 + st * NR + q);
      interleave(src, cols, NR, kc, d);
    }
  }
}

// c[MR][NR] (row stride ldc) = (accumulate ? c : 0) + a-panel x b-panel; every tile is whole here.
__attribute__((target("avx512f"))) void kernel_avx512(int kc, const float* __restrict a, const float* __restrict b,
                                                      float* c, int64_t ldc, bool accumulate) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int p = 0; p < kc; ++p, a += MR, b += NR) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(cr));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(cr + 16));
    }
    _mm512_storeu_ps(cr, acc[r][0]);
    _mm512_storeu_ps(cr + 16, acc[r][1]);
  }
}

// The portable kernel (CPUs without AVX-512): the same contract, vectorised by the compiler per ISA.
__attribute__((target_clones("avx2", "default"))) void kernel_generic(int kc, const float* __restrict a,
                                                                      const float* __restrict b, float* c, int64_t ldc,
                                                                      bool accumulate) {
  float acc[MR][NR] = {};
  for (int p = 0; p < kc; ++p)
    for (int r = 0; r < MR; ++r) {
      const float av = a[p * MR + r];
#pragma omp simd
      for (int q = 0; q < NR; ++q) acc[r][q] += av * b[p * NR + q];
    }
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NR; ++q) c[r * ldc + q] = (accumulate ? c[r * ldc + q] : 0.0f) + acc[r][q];
}

using Microkernel = void (*)(int, const float*, const float*, float*, int64_t, bool);
Microkernel pick_kernel() {
  __builtin_cpu_init();  // static initialisers may run before libgcc's CPU detection
  return __builtin_cpu_supports("avx512f") ? kernel_avx512 : kernel_generic;
}
const Microkernel kernel = pick_kernel();

void interleave(const float* const* src, int n, int width, int kc, float* d) {
  (kernel == kernel_avx512 ? interleave_avx512 : interleave_scalar)(src, n, width, kc, d);
}

// One MR x NR tile of C: in place when whole, through a scratch tile at the edges.
void tile(int kc, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols, bool accumulate) {
  if (rows == MR && cols == NR) return kernel(kc, a, b, c, ldc, accumulate);
  alignas(64) float t[MR * NR];
  for (int r = 0; r < rows; ++r)
    for (int q = 0; q < cols; ++q) t[r * NR + q] = c[r * ldc + q];
  kernel(kc, a, b, t, NR, accumulate);
  for (int r = 0; r < rows; ++r)
    for (int q = 0; q < cols; ++q) c[r * ldc + q] = t[r * NR + q];
}

// 64-byte aligned scratch (the kernel's aligned loads of packed B).
struct Aligned {
  float* p = nullptr;
  explicit Aligned(size_t n) : p(static_cast<float*>(::operator new[](n * sizeof(float), std::align_val_t(64)))) {}
  ~Aligned() { ::operator delete[](p, std::align_val_t(64)); }
};

// C[i_lo:i_hi, j_lo:j_hi] of every batch, serially, with the caller's packing buffers.
void sgemm_range(const GemmSpec& s, const float* a, const float* bm, float* c, int64_t i_lo, int64_t i_hi, int64_t j_lo,
                 int64_t j_hi, float* apack, float* bpack) {
  for (int64_t b = 0; b < s.batch; ++b) {
    float* cb = c + b * s.c_elems();
    for (int64_t j0 = j_lo; j0 < j_hi; j0 += NC) {
      const int nc = int(std::min<int64_t>(NC, j_hi - j0));
      for (int64_t p0 = 0; p0 < s.k; p0 += KC) {
        const int kc = int(std::min<int64_t>(KC, s.k - p0));
        pack_b(s, bm, b, p0, kc, j0, nc, bpack);
        for (int64_t i0 = i_lo; i0 < i_hi; i0 += MC) {
          const int mc = int(std::min<int64_t>(MC, i_hi - i0));
          pack_a(s, a, b, i0, mc, p0, kc, apack);
          for (int jr = 0; jr < nc; jr += NR)
            for (int ir = 0; ir < mc; ir += MR)
              tile(kc, apack + size_t(ir) * kc, bpack + size_t(jr) * kc, cb + (i0 + ir) * s.n + j0 + jr, s.n,
                   std::min(MR, mc - ir), std::min(NR, nc - jr), p0 > 0);
        }
      }
    }
  }
}

}  // namespace

const char* sgemm_kernel() {
  return kernel == kernel_avx512 ? "packed-omp-sgemm (avx512 12x32)" : "packed-omp-sgemm (portable 12x32)";
}

void sgemm(const GemmSpec& s, const float* a, const float* bm, float* c) {
  // C is cut into units of whole register tiles, columns when there are enough NR-wide strips, else rows,
  // that the threads take in turn (dynamic). For a short A (m <= 2 MC: a convolution's filters) the units
  // are UNIT columns: a thread another process delays on a shared CPU leaves its units to the others
  // instead of holding up the call, and the packed B panel (kc x UNIT) stays in L2; re-packing the short
  // A per unit costs 1/UNIT of its work. Otherwise one unit per thread, so a large A is packed once.
  constexpr int64_t UNIT = 512;
#ifdef _OPENMP
  const int64_t nt = omp_get_max_threads();
#else
  const int64_t nt = 1;
#endif
  const bool by_cols = (s.n + NR - 1) / NR >= nt;
  const int64_t tile_len = by_cols ? NR : MR, len = by_cols ? s.n : s.m;
  const int64_t per_thread = (len + nt - 1) / nt;
  const int64_t want = by_cols && s.m <= 2 * MC ? std::min(per_thread, UNIT) : per_thread;
  const int64_t unit = (want + tile_len - 1) / tile_len * tile_len;
  const int64_t units = (len + unit - 1) / unit;
#pragma omp parallel
  {
    const int64_t rows = by_cols ? s.m : unit, cols = by_cols ? unit : s.n;
    const int64_t kc = std::min<int64_t>(KC, s.k);
    Aligned apack(size_t((std::min<int64_t>(MC, rows) + MR - 1) / MR * MR * kc)),
        bpack(size_t((std::min<int64_t>(NC, cols) + NR - 1) / NR * NR * kc));
#pragma omp for schedule(dynamic, 1)
    for (int64_t u = 0; u < units; ++u) {
      const int64_t lo = u * unit, hi = std::min(len, lo + unit);
      if (by_cols) sgemm_range(s, a, bm, c, 0, s.m, lo, hi, apack.p, bpack.p);
      else sgemm_range(s, a, bm, c, lo, hi, 0, s.n, apack.p, bpack.p);
    }
  }
}

GemmBackend fp32_gemm(std::string name, std::string info,
                      std::function<void(const GemmSpec&, const float*, const float*, float*)> run) {
  GemmBackend g{std::move(name), std::move(info), {DType::f32}, {}};
  g.prepare = [run = std::move(run)](const GemmSpec& s, const void* a, const void* b, void* c) {
    auto fa = static_cast<const float*>(a), fb = static_cast<const float*>(b);
    auto fc = static_cast<float*>(c);
    return Kernel{[=] { run(s, fa, fb, fc); }, {}, {}};
  };
  return g;
}

RunResult run_gemm(const GemmSpec& s, const StopRule& rule, bool cold, const GemmBackend& be) {
  s.validate();
  if (std::find(be.dtypes.begin(), be.dtypes.end(), s.dtype) == be.dtypes.end()) {
    std::string runs;
    for (DType d : be.dtypes) runs += std::string(runs.empty() ? "" : " or ") + dtype_name(d);
    throw UnsupportedError("the " + be.name + " backend runs dtype " + runs + " only, not " + dtype_name(s.dtype));
  }
  rule.validate();
  require_host_memory(s.bytes(), be.name + " gemm");
  // Operands in the dtype's storage (fp32, or bf16 in and out), the output poisoned with NaN.
  const Storage in = input_storage(s.dtype), out = output_storage(s.dtype);
  const size_t ib = storage_bytes(in), ob = storage_bytes(out);
  std::vector<uint8_t> a, b, c;
  try {
    a.resize(size_t(s.a_elems() * s.batch) * ib);
    b.resize(size_t(s.b_elems() * s.batch) * ib);
    c.resize(size_t(s.c_elems() * s.batch) * ob);
  } catch (const std::bad_alloc&) {
    throw OutOfMemoryError(be.name + " gemm needs " + std::to_string(s.bytes() / 1e9) +
                           " GB of host memory, which could not be allocated");
  }
  const uint64_t sa = operand_seed(s.seed, 0), sb = operand_seed(s.seed, 1);
  for (size_t i = 0; i < a.size() / ib; ++i) store_from_float(in, uniform_pm1(sa, i), &a[i * ib]);
  for (size_t i = 0; i < b.size() / ib; ++i) store_from_float(in, uniform_pm1(sb, i), &b[i * ib]);
  for (size_t i = 0; i < c.size() / ob; ++i) store_from_float(out, std::numeric_limits<float>::quiet_NaN(), &c[i * ob]);

  Kernel k = be.prepare(s, a.data(), b.data(), c.data());
  k.run();
  if (k.fetch) k.fetch();

  // Check: every output written and finite, sampled elements against float64 (from the stored inputs).
  Verification v;
  v.tolerance = gemm_tolerance(s.dtype);
  for (size_t i = 0; i < c.size() / ob; ++i) v.nonfinite += !std::isfinite(load_as_double(out, &c[i * ob]));
  const GemmProbe p = make_gemm_probe(s);
  std::vector<uint8_t> ar, bc, cc;
  auto put = [](std::vector<uint8_t>& dst, const uint8_t* q, size_t n) { dst.insert(dst.end(), q, q + n); };
  for (int64_t bi : p.batches) {
    for (int64_t i : p.rows)
      for (int64_t t = 0; t < s.k; ++t) put(ar, &a[size_t(s.a_index(bi, i, t)) * ib], ib);
    for (int64_t j : p.cols)
      for (int64_t t = 0; t < s.k; ++t) put(bc, &b[size_t(s.b_index(bi, t, j)) * ib], ib);
    for (int64_t i : p.rows)
      for (int64_t j : p.cols) put(cc, &c[size_t(bi * s.c_elems() + i * s.n + j) * ob], ob);
  }
  v.rel_error = gemm_probe_error(s, p, ar, bc, cc);
  v.checked = p.count();
  require_passed(v, be.name + " gemm");

  const std::string info = k.algo.empty() ? be.info : k.algo + ", " + be.info;
  return time_verified(k.run, rule, cold, v, "kernel", info, be.name);
}

}  // namespace am::cpu
