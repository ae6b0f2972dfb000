// Standalone check-and-time harness for aimatrix's own GEMM kernels
// (csrc/cuda/gemm_simt.cu, csrc/cuda/gemm_tc*.cu), with cuBLAS alongside.
//
//   harness [--quick] [--no-time] [--sizes 8192,4096,1024] [--reps N] [--only tc_,tcreg_,simt]
//
// 1. Correctness: random inputs (never zeros), output poisoned with NaN first,
//    every variant x all four transposes x odd / aligned / batched shapes
//    against a float64-accumulating reference kernel; relative Frobenius error
//    (fp32 <= 1e-5, fp16/bf16 <= 1e-2) and a count of unwritten (NaN) outputs.
// 2. Timing (CUDA events, warm-up, median of --reps launches) at the square
//    sizes for bf16 / fp16 (own tensor-core kernels, the mma.sync path forced
//    too) and fp32 (own SIMT), with cublasGemmEx on the same layout; each timed
//    output is also compared with cuBLAS's.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../harness_check.hpp"
#include "common/dtype.hpp"
#include "common/errors.hpp"
#include "common/gemm_spec.hpp"
#include "common/rng.hpp"
#include "cuda/check.hpp"
#include "cuda/own_gemm.hpp"

// Internal tuning knobs of the own kernels (not an API), to time the variants.
namespace am::cuda::tc {
extern int g_wgmma_bn;          // 0: by size, 64, 128, 256
extern int g_wgmma_persistent;  // -1: by size, 0, 1
extern int g_wgmma_cluster;     // -1: by size, 0: never, 1: pairs of CTAs sharing an operand (TMA multicast)
extern int g_wgmma_tma_store;   // 1: C by TMA stores where it can, 0: from registers
}  // namespace am::cuda::tc
namespace am::cuda::simt {
extern int g_tile;        // 0: by size, 64, 128, 256 (x 128)
extern int g_warp_tiles;  // -1 default, 0 the classic thread layout, 1 warp tiles
}  // namespace am::cuda::simt

using am::DType;
using am::GemmSpec;

namespace {

struct DevBuf {
  void* p = nullptr;
  size_t bytes = 0;
  explicit DevBuf(size_t n) : bytes(n) { AM_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(n, 16))); }
  ~DevBuf() { cudaFree(p); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
};

size_t elem_bytes(DType d) { return d == DType::f32 ? 4 : 2; }

// ---- device helpers -------------------------------------------------------------
// Through float: __half and __nv_bfloat16 convert to and from it (rounding to nearest); double stays as it is.
template <typename T>
__device__ __forceinline__ double to_d(T v) {
  if constexpr (std::is_same_v<T, double>) return v;
  else return double(float(v));
}

template <typename T>
__device__ __forceinline__ T from_f(float v) {
  return T(v);
}

template <typename T>
__global__ void fill_kernel(T* p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float v = am::uniform_pm1(seed, i);
    if (v == 0.0f) v = 0.5f;  // never zeros
    p[i] = from_f<T>(v);
  }
}

// C_ref[b][i][j] = sum_t op(A)(b,i,t) op(B)(b,t,j), float64 accumulation.
template <typename T>
__global__ void ref_kernel(const T* A, const T* B, double* C, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t i = blockIdx.y;
  const int64_t b = blockIdx.z;
  if (j >= N) return;
  const T* a = A + b * M * K;
  const T* bb = B + b * K * N;
  double acc = 0.0;
  for (int64_t t = 0; t < K; ++t) {
    const double x = to_d(a[ta ? t * M + i : i * K + t]);
    const double y = to_d(bb[tb ? j * K + t : t * N + j]);
    acc += x * y;
  }
  C[(b * M + i) * N + j] = acc;
}

// Each thread's error terms summed over its warp, then added by lane 0: sums[0] += e, sums[1] += r, bad += nb.
__device__ __forceinline__ void add_warp_sums(double e, double r, unsigned long long nb, double* sums,
                                              unsigned long long* bad) {
  for (int off = 16; off > 0; off >>= 1) {
    e += __shfl_down_sync(0xffffffffu, e, off);
    r += __shfl_down_sync(0xffffffffu, r, off);
    nb += __shfl_down_sync(0xffffffffu, nb, off);
  }
  if ((threadIdx.x & 31) == 0) {
    atomicAdd(&sums[0], e);
    atomicAdd(&sums[1], r);
    atomicAdd(bad, nb);
  }
}

// sums[0] += (out-ref)^2, sums[1] += ref^2; bad[0] += non-finite outputs.
template <typename T, typename R>
__global__ void err_kernel(const T* out, const R* ref, size_t n, double* sums, unsigned long long* bad) {
  double e = 0.0, r = 0.0;
  unsigned long long nb = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const double o = to_d(out[i]);
    const double f = to_d(ref[i]);
    if (!isfinite(o)) {
      ++nb;
      continue;
    }
    e += (o - f) * (o - f);
    r += f * f;
  }
  add_warp_sums(e, r, nb, sums, bad);
}

// Float64 reference for a few whole rows of batch 0, compared with the output
// in place: sums[0] += (out-ref)^2, sums[1] += ref^2, bad += non-finite outputs.
template <typename T>
__global__ void probe_err_kernel(const T* A, const T* B, const T* C, const int* rows, int64_t M, int64_t N, int64_t K,
                                 bool ta, bool tb, double* sums, unsigned long long* bad) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t i = rows[blockIdx.y];
  double e = 0.0, r = 0.0;
  unsigned long long nb = 0;
  if (j < N) {
    double acc = 0.0;
    for (int64_t t = 0; t < K; ++t) acc += to_d(A[ta ? t * M + i : i * K + t]) * to_d(B[tb ? j * K + t : t * N + j]);
    const double o = to_d(C[i * N + j]);
    if (!isfinite(o)) nb = 1;
    else {
      e = (o - acc) * (o - acc);
      r = acc * acc;
    }
  }
  add_warp_sums(e, r, nb, sums, bad);
}

void fill(void* p, DType d, size_t n, uint64_t seed) {
  const int blocks = int(std::min<size_t>((n + 255) / 256, 65535));
  if (d == DType::f32) fill_kernel<float><<<blocks, 256>>>(static_cast<float*>(p), n, seed);
  else if (d == DType::f16) fill_kernel<__half><<<blocks, 256>>>(static_cast<__half*>(p), n, seed);
  else fill_kernel<__nv_bfloat16><<<blocks, 256>>>(static_cast<__nv_bfloat16*>(p), n, seed);
  AM_CUDA_CHECK_LAUNCH();
}

struct ErrResult {
  double rel = 0;
  unsigned long long bad = 0;
};

template <typename R>
ErrResult compare(const void* out, DType d, const R* ref, size_t n) {
  static double* sums = nullptr;
  static unsigned long long* bad = nullptr;
  if (!sums) {
    AM_CUDA_CHECK(cudaMalloc(&sums, 2 * sizeof(double)));
    AM_CUDA_CHECK(cudaMalloc(&bad, sizeof(unsigned long long)));
  }
  AM_CUDA_CHECK(cudaMemset(sums, 0, 2 * sizeof(double)));
  AM_CUDA_CHECK(cudaMemset(bad, 0, sizeof(unsigned long long)));
  const int blocks = int(std::min<size_t>((n + 255) / 256, 4096));
  if (d == DType::f32) err_kernel<float, R><<<blocks, 256>>>(static_cast<const float*>(out), ref, n, sums, bad);
  else if (d == DType::f16) err_kernel<__half, R><<<blocks, 256>>>(static_cast<const __half*>(out), ref, n, sums, bad);
  else err_kernel<__nv_bfloat16, R><<<blocks, 256>>>(static_cast<const __nv_bfloat16*>(out), ref, n, sums, bad);
  AM_CUDA_CHECK_LAUNCH();
  double h[2];
  ErrResult r;
  AM_CUDA_CHECK(cudaMemcpy(h, sums, sizeof(h), cudaMemcpyDeviceToHost));
  AM_CUDA_CHECK(cudaMemcpy(&r.bad, bad, sizeof(r.bad), cudaMemcpyDeviceToHost));
  r.rel = h[1] > 0 ? std::sqrt(h[0] / h[1]) : std::sqrt(h[0]);
  if (r.bad) r.rel = NAN;
  return r;
}

// ---- cuBLAS on the same row-major layout -------------------------------------------
// Row-major C[m,n] = op(A) op(B) is column-major C^T[n,m] = op(B)^T op(A)^T.
void cublas_gemm(cublasHandle_t h, const GemmSpec& s, const void* a, const void* b, void* c) {
  const float alpha = 1.0f, beta = 0.0f;
  const cudaDataType_t t = s.dtype == DType::f32 ? CUDA_R_32F : s.dtype == DType::f16 ? CUDA_R_16F : CUDA_R_16BF;
  const cublasOperation_t opB = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opA = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ldb = int(s.trans_b ? s.k : s.n);
  const int lda = int(s.trans_a ? s.m : s.k);
  CUBLAS_OK(cublasGemmStridedBatchedEx(h, opB, opA, int(s.n), int(s.m), int(s.k), &alpha, b, t, ldb, s.k * s.n, a, t,
                                       lda, s.m * s.k, &beta, c, t, int(s.n), s.m * s.n, int(s.batch),
                                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// ---- variants ---------------------------------------------------------------------
struct Variant {
  std::string name;
  DType dtype;
  std::function<void(const GemmSpec&, const void*, const void*, void*)> run;
  std::function<std::string(const GemmSpec&)> kname;
};

int g_cc_major = 0, g_cc_minor = 0;

struct Knobs {
  int bn, persistent, tile, cluster = -1, tma_store = 1, warp_tiles = -1;
};
struct KnobScope {  // sets the knobs for one call, restores the defaults after
  explicit KnobScope(const Knobs& k) {
    am::cuda::tc::g_wgmma_bn = k.bn;
    am::cuda::tc::g_wgmma_persistent = k.persistent;
    am::cuda::simt::g_tile = k.tile;
    am::cuda::tc::g_wgmma_cluster = k.cluster;
    am::cuda::tc::g_wgmma_tma_store = k.tma_store;
    am::cuda::simt::g_warp_tiles = k.warp_tiles;
  }
  ~KnobScope() {
    am::cuda::tc::g_wgmma_bn = 0;
    am::cuda::tc::g_wgmma_persistent = -1;
    am::cuda::simt::g_tile = 0;
    am::cuda::tc::g_wgmma_cluster = -1;
    am::cuda::tc::g_wgmma_tma_store = 1;
    am::cuda::simt::g_warp_tiles = -1;
  }
};

std::vector<Variant> variants() {
  std::vector<Variant> v;
  const struct {
    const char* name;
    Knobs k;
  } simt_v[] = {{"simt_f32", {0, -1, 0}},
                {"simt128_f32", {0, -1, 128}},
                {"simt128warps_f32", {0, -1, 128, -1, 1, 1}},
                {"simt256_f32", {0, -1, 256}},
                {"simt64_f32", {0, -1, 64}}};
  for (const auto& sv : simt_v) {
    const Knobs k = sv.k;
    v.push_back({sv.name, DType::f32,
                 [k](const GemmSpec& s, const void* a, const void* b, void* c) {
                   KnobScope ks(k);
                   am::cuda::simt_sgemm(s, static_cast<const float*>(a), static_cast<const float*>(b),
                                        static_cast<float*>(c), nullptr);
                 },
                 [k](const GemmSpec& s) {
                   KnobScope ks(k);
                   return am::cuda::simt_sgemm_kernel_name(s);
                 }});
  }
  const struct {
    const char* prefix;
    Knobs k;
  } tc_v[] = {{"tc_", {0, -1, 0}},        {"tc256p_", {256, 1, 0}},      {"tc256np_", {256, 0, 0}},
              {"tc128p_", {128, 1, 0}},   {"tc128np_", {128, 0, 0}},     {"tc64p_", {64, 1, 0}},
              {"tc64np_", {64, 0, 0}},    {"tc256pc_", {256, 1, 0, 1}},  {"tc128pc_", {128, 1, 0, 1}},
              {"tc64pc_", {64, 1, 0, 1}}, {"tc256npc_", {256, 0, 0, 1}}, {"tcreg_", {0, -1, 0, -1, 0}}};
  for (DType d : {DType::bf16, DType::f16}) {
    const std::string dn = am::dtype_name(d);
    for (const auto& tv : tc_v) {
      const Knobs k = tv.k;
      v.push_back({tv.prefix + dn, d,
                   [k](const GemmSpec& s, const void* a, const void* b, void* c) {
                     KnobScope ks(k);
                     am::cuda::tc_gemm(s, a, b, c, g_cc_major, g_cc_minor, nullptr);
                   },
                   [k](const GemmSpec& s) {
                     KnobScope ks(k);
                     return am::cuda::tc_gemm_kernel_name(s, g_cc_major, g_cc_minor);
                   }});
    }
    // The mma.sync path, as it runs on sm_80/86/89 (forced by passing cc 8.0).
    v.push_back(
        {"tcmma_" + dn, d,
         [](const GemmSpec& s, const void* a, const void* b, void* c) { am::cuda::tc_gemm(s, a, b, c, 8, 0, nullptr); },
         [](const GemmSpec& s) { return am::cuda::tc_gemm_kernel_name(s, 8, 0); }});
  }
  return v;
}

struct Shape {
  int64_t m, n, k, batch;
};

int g_fail = 0, g_checks = 0;

void check_one(const Variant& var, const Shape& sh, bool ta, bool tb, uint64_t seed, DevBuf& A, DevBuf& B, DevBuf& C,
               DevBuf& R) {
  GemmSpec s;
  s.m = sh.m;
  s.n = sh.n;
  s.k = sh.k;
  s.batch = sh.batch;
  s.trans_a = ta;
  s.trans_b = tb;
  s.dtype = var.dtype;
  s.seed = seed;
  const size_t na = size_t(s.m * s.k * s.batch), nb = size_t(s.k * s.n * s.batch), nc = size_t(s.m * s.n * s.batch);
  fill(A.p, s.dtype, na, seed * 3 + 1);
  fill(B.p, s.dtype, nb, seed * 3 + 2);
  AM_CUDA_CHECK(cudaMemset(C.p, 0xff, nc * elem_bytes(s.dtype)));  // NaN poison
  dim3 rg(unsigned((s.n + 127) / 128), unsigned(s.m), unsigned(s.batch));
  double* ref = static_cast<double*>(R.p);
  if (s.dtype == DType::f32)
    ref_kernel<float><<<rg, 128>>>(static_cast<float*>(A.p), static_cast<float*>(B.p), ref, s.m, s.n, s.k, ta, tb);
  else if (s.dtype == DType::f16)
    ref_kernel<__half><<<rg, 128>>>(static_cast<__half*>(A.p), static_cast<__half*>(B.p), ref, s.m, s.n, s.k, ta, tb);
  else
    ref_kernel<__nv_bfloat16>
        <<<rg, 128>>>(static_cast<__nv_bfloat16*>(A.p), static_cast<__nv_bfloat16*>(B.p), ref, s.m, s.n, s.k, ta, tb);
  AM_CUDA_CHECK_LAUNCH();
  std::string kn = "?";
  ErrResult e;
  std::string err;
  try {
    kn = var.kname(s);
    var.run(s, A.p, B.p, C.p);
    AM_CUDA_CHECK(cudaDeviceSynchronize());
    e = compare(C.p, s.dtype, ref, nc);
  } catch (const std::exception& ex) {
    err = ex.what();
    cudaGetLastError();
  }
  const double tol = s.dtype == DType::f32 ? 1e-5 : 1e-2;
  const bool ok = err.empty() && e.bad == 0 && e.rel <= tol;
  ++g_checks;
  if (!ok) ++g_fail;
  std::printf("%-4s %-11s m=%-5lld n=%-5lld k=%-5lld b=%-2lld %c%c  rel=%.3e unwritten=%llu  %s %s\n",
              ok ? "ok" : "FAIL", var.name.c_str(), (long long)s.m, (long long)s.n, (long long)s.k, (long long)s.batch,
              ta ? 'T' : 'N', tb ? 'T' : 'N', e.rel, e.bad, kn.c_str(), err.c_str());
}

void correctness(bool quick) {
  std::vector<Shape> shapes = {
      {1, 1, 1, 1},       {7, 33, 129, 1},     {33, 7, 1, 1},         {129, 129, 7, 1},    {1, 300, 65, 1},
      {257, 1, 100, 1},   {65, 130, 77, 3},    {8, 8, 8, 1},          {136, 264, 72, 1},   {128, 256, 64, 1},
      {200, 312, 520, 2}, {384, 512, 1000, 1}, {1000, 1000, 1000, 1}, {520, 776, 2056, 1},
  };
  if (quick) shapes.resize(8);
  size_t max_a = 0, max_b = 0, max_c = 0;
  for (auto& s : shapes) {
    max_a = std::max<size_t>(max_a, size_t(s.m * s.k * s.batch));
    max_b = std::max<size_t>(max_b, size_t(s.k * s.n * s.batch));
    max_c = std::max<size_t>(max_c, size_t(s.m * s.n * s.batch));
  }
  DevBuf A(max_a * 4), B(max_b * 4), C(max_c * 4), R(max_c * 8);
  uint64_t seed = 1;
  for (const auto& var : variants())
    for (const auto& sh : shapes)
      for (int t = 0; t < 4; ++t) check_one(var, sh, t & 2, t & 1, seed++, A, B, C, R);

  // Errors the contract promises.
  auto expect_unsupported = [](const char* what, std::function<void()> f) {
    ++g_checks;
    try {
      f();
      ++g_fail;
      std::printf("FAIL %s: no UnsupportedError\n", what);
    } catch (const am::UnsupportedError& e) {
      std::printf("ok   %s: UnsupportedError: %s\n", what, e.what());
    } catch (const std::exception& e) {
      ++g_fail;
      std::printf("FAIL %s: wrong exception: %s\n", what, e.what());
    }
  };
  GemmSpec s;
  s.m = s.n = s.k = 64;
  s.dtype = DType::f32;
  expect_unsupported("tc_gemm fp32", [&] { am::cuda::tc_gemm(s, A.p, B.p, C.p, 9, 0, nullptr); });
  s.dtype = DType::bf16;
  expect_unsupported("tc_gemm sm_75", [&] { am::cuda::tc_gemm(s, A.p, B.p, C.p, 7, 5, nullptr); });
  expect_unsupported("simt_sgemm bf16", [&] {
    am::cuda::simt_sgemm(s, static_cast<float*>(A.p), static_cast<float*>(B.p), static_cast<float*>(C.p), nullptr);
  });
}

// Relative Frobenius distance between two outputs of the same storage type.
template <typename T>
__global__ void widen_kernel(const T* src, double* dst, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    dst[i] = to_d(src[i]);
}
double rel_vs(const void* out, const void* ref, DType d, size_t n) {
  DevBuf w(n * 8);
  double* wd = static_cast<double*>(w.p);
  const int blocks = int(std::min<size_t>((n + 255) / 256, 65535));
  if (d == DType::f32) widen_kernel<float><<<blocks, 256>>>(static_cast<const float*>(ref), wd, n);
  else if (d == DType::f16) widen_kernel<__half><<<blocks, 256>>>(static_cast<const __half*>(ref), wd, n);
  else widen_kernel<__nv_bfloat16><<<blocks, 256>>>(static_cast<const __nv_bfloat16*>(ref), wd, n);
  AM_CUDA_CHECK_LAUNCH();
  return compare(out, d, wd, n).rel;
}

// Relative error of 8 sampled output rows against the float64 reference
// (independent of cuBLAS), for the large timed problems.
double probe_rel(const GemmSpec& s, const void* A, const void* B, const void* C) {
  std::vector<int> rows = {0,           1, int(s.m / 3), int(s.m / 2), int(s.m / 2) + 1, int(s.m * 7 / 9), int(s.m - 2),
                           int(s.m - 1)};
  DevBuf rd(rows.size() * sizeof(int));
  DevBuf sums(2 * sizeof(double)), bad(sizeof(unsigned long long));
  AM_CUDA_CHECK(cudaMemcpy(rd.p, rows.data(), rows.size() * sizeof(int), cudaMemcpyHostToDevice));
  AM_CUDA_CHECK(cudaMemset(sums.p, 0, sums.bytes));
  AM_CUDA_CHECK(cudaMemset(bad.p, 0, bad.bytes));
  dim3 g(unsigned((s.n + 127) / 128), unsigned(rows.size()));
  auto* sp = static_cast<double*>(sums.p);
  auto* bp = static_cast<unsigned long long*>(bad.p);
  const int* r = static_cast<const int*>(rd.p);
  if (s.dtype == DType::f32)
    probe_err_kernel<float><<<g, 128>>>(static_cast<const float*>(A), static_cast<const float*>(B),
                                        static_cast<const float*>(C), r, s.m, s.n, s.k, s.trans_a, s.trans_b, sp, bp);
  else if (s.dtype == DType::f16)
    probe_err_kernel<__half><<<g, 128>>>(static_cast<const __half*>(A), static_cast<const __half*>(B),
                                         static_cast<const __half*>(C), r, s.m, s.n, s.k, s.trans_a, s.trans_b, sp, bp);
  else
    probe_err_kernel<__nv_bfloat16>
        <<<g, 128>>>(static_cast<const __nv_bfloat16*>(A), static_cast<const __nv_bfloat16*>(B),
                     static_cast<const __nv_bfloat16*>(C), r, s.m, s.n, s.k, s.trans_a, s.trans_b, sp, bp);
  AM_CUDA_CHECK_LAUNCH();
  double h[2];
  unsigned long long nb = 0;
  AM_CUDA_CHECK(cudaMemcpy(h, sp, sizeof(h), cudaMemcpyDeviceToHost));
  AM_CUDA_CHECK(cudaMemcpy(&nb, bp, sizeof(nb), cudaMemcpyDeviceToHost));
  if (nb) return NAN;
  return h[1] > 0 ? std::sqrt(h[0] / h[1]) : std::sqrt(h[0]);
}

// ---- timing -----------------------------------------------------------------------
double median_ms(const std::function<void()>& f, int reps) {
  for (int i = 0; i < 3; ++i) f();
  AM_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<cudaEvent_t> ev(2 * reps);
  for (auto& e : ev) AM_CUDA_CHECK(cudaEventCreate(&e));
  for (int i = 0; i < reps; ++i) {
    AM_CUDA_CHECK(cudaEventRecord(ev[2 * i]));
    f();
    AM_CUDA_CHECK(cudaEventRecord(ev[2 * i + 1]));
  }
  AM_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> t(reps);
  for (int i = 0; i < reps; ++i) AM_CUDA_CHECK(cudaEventElapsedTime(&t[i], ev[2 * i], ev[2 * i + 1]));
  for (auto& e : ev) cudaEventDestroy(e);
  std::sort(t.begin(), t.end());
  return reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
}

struct Row {
  std::string what;
  double tflops, cublas_tflops;
  double rel_f64;  // sampled rows against float64
};
std::vector<Row> g_rows;

void time_case(cublasHandle_t h, const Variant& var, int64_t n, bool ta, bool tb, int reps) {
  GemmSpec s;
  s.m = s.n = s.k = n;
  s.trans_a = ta;
  s.trans_b = tb;
  s.dtype = var.dtype;
  const size_t ne = size_t(n * n);
  DevBuf A(ne * elem_bytes(s.dtype)), B(ne * elem_bytes(s.dtype)), C(ne * elem_bytes(s.dtype)),
      Cr(ne * elem_bytes(s.dtype));
  fill(A.p, s.dtype, ne, 11 + n);
  fill(B.p, s.dtype, ne, 12 + n);
  AM_CUDA_CHECK(cudaMemset(C.p, 0xff, ne * elem_bytes(s.dtype)));
  AM_CUDA_CHECK(cudaMemset(Cr.p, 0xff, ne * elem_bytes(s.dtype)));
  std::string kn;
  double own = NAN, cub = NAN, rel = NAN, own2 = NAN, probe = NAN;
  try {
    kn = var.kname(s);
    var.run(s, A.p, B.p, C.p);
    cublas_gemm(h, s, A.p, B.p, Cr.p);
    AM_CUDA_CHECK(cudaDeviceSynchronize());
    const double flops = s.flops();
    own = flops / (median_ms([&] { var.run(s, A.p, B.p, C.p); }, reps) * 1e-3) / 1e12;
    cub = flops / (median_ms([&] { cublas_gemm(h, s, A.p, B.p, Cr.p); }, reps) * 1e-3) / 1e12;
    own2 = flops / (median_ms([&] { var.run(s, A.p, B.p, C.p); }, reps) * 1e-3) / 1e12;  // spread
    rel = rel_vs(C.p, Cr.p, s.dtype, ne);  // compared with cuBLAS's output
    probe = probe_rel(s, A.p, B.p, C.p);   // 8 rows against float64
  } catch (const std::exception& ex) {
    std::printf("ERROR timing %s n=%lld: %s\n", var.name.c_str(), (long long)n, ex.what());
    cudaGetLastError();
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%-11s %c%c n=%-5lld %s", var.name.c_str(), ta ? 'T' : 'N', tb ? 'T' : 'N',
                (long long)n, kn.c_str());
  const double tol = s.dtype == DType::f32 ? 1e-5 : 1e-2;
  const bool ok = rel <= tol && probe <= tol;
  if (!ok) ++g_fail;
  ++g_checks;
  std::printf("time %-62s own %6.1f (again %6.1f) TFLOP/s  cuBLAS %6.1f  ratio %4.2f  vs_cublas %.1e  vs_f64 %.1e%s\n",
              buf, own, own2, cub, own / cub, rel, probe, ok ? "" : "  FAIL");
  std::fflush(stdout);
  g_rows.push_back({buf, std::max(own, own2), cub, probe});
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, do_time = true, do_check = true;
  std::vector<int64_t> sizes = {8192, 4096, 1024};
  std::vector<std::string> only;  // --only: the variants timed, by name prefix
  int reps = 30;
  const auto split = [](const std::string& v) {
    std::vector<std::string> out;
    for (size_t p = 0; p < v.size();) {
      size_t q = v.find(',', p);
      if (q == std::string::npos) q = v.size();
      out.push_back(v.substr(p, q - p));
      p = q + 1;
    }
    return out;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--no-time") do_time = false;
    else if (a == "--no-check") do_check = false;
    else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = split(argv[++i]);
    else if (a == "--sizes" && i + 1 < argc) {
      sizes.clear();
      for (const auto& x : split(argv[++i])) sizes.push_back(std::atoll(x.c_str()));
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  cudaDeviceProp prop{};
  AM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  g_cc_major = prop.major;
  g_cc_minor = prop.minor;
  std::printf("device: %s, cc %d.%d, %d SMs, L2 %d MB\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
              prop.l2CacheSize >> 20);

  if (do_check) correctness(quick);

  if (do_time) {
    cublasHandle_t h;
    CUBLAS_OK(cublasCreate(&h));
    auto vars = variants();
    for (int64_t n : sizes) {
      for (const auto& v : vars) {
        if (v.dtype == DType::f32 && n > 4096 && quick) continue;
        if (!only.empty() && std::none_of(only.begin(), only.end(),
                                          [&](const std::string& p) { return v.name.compare(0, p.size(), p) == 0; }))
          continue;
        time_case(h, v, n, false, false, v.dtype == DType::f32 && n >= 8192 ? std::max(5, reps / 3) : reps);
      }
      if (n == sizes.front()) {  // the other layouts of the headline kernel
        for (const auto& v : vars)
          if (v.name == "tc_bf16")
            for (int t = 1; t < 4; ++t) time_case(h, v, n, t & 2, t & 1, reps);
      }
    }
    cublasDestroy(h);
    std::printf("\n==== summary: TFLOP/s (best of two medians of %d), own vs cuBLAS, rel err of 8 rows vs f64 ====\n",
                reps);
    for (const auto& r : g_rows)
      std::printf("%-62s %7.1f %7.1f  %5.2f  err %.1e\n", r.what.c_str(), r.tflops, r.cublas_tflops,
                  r.tflops / r.cublas_tflops, r.rel_f64);
  }
  std::printf("\nchecks: %d, failures: %d\n", g_checks, g_fail);
  return g_fail ? 1 : 0;
}
