// Backend "igemm": our own implicit-GEMM forward convolution, NHWC, groups = 1.
// The convolution is the GEMM  Y[M][K] = A[M][Kg] * W[K][Kg]^T  with
//   M  = N*P*Q output pixels, Kg = R*S*C (filter taps, channels innermost),
//   A[m][(r*S + s)*C + c] = x[n][p*sh - ph + r*dh][q*sw - pw + s*dw][c] (0 in the padding),
// gathered tile by tile straight from x (no im2col buffer).
//  * fp16/bf16: tensor cores (mma.sync m16n8k16 + ldmatrix, the primitives of
//    the tensor-core GEMM in gemm_tc_kernels.cuh), 16-byte cp.async gathers
//    with zero fill, 4-stage pipeline, block tiles 128x128 / 128x64 / 64x64 by
//    problem size; needs C % 8 == 0 (a 16-byte chunk never straddles two taps).
//  * fp32: CUDA cores, 128x64x8 block tile, 8x4 outputs per thread, register-
//    staged double buffering; 16-byte gathers when C % 4 == 0, else element-wise.
#include <algorithm>
#include <mutex>
#include <set>
#include <string>

#include "cuda/check.hpp"
#include "cuda/launch_util.cuh"
#include "cuda/gemm_tc_kernels.cuh"
#include "cuda/micro.hpp"

namespace am::cuda {
namespace igemm {

struct Geom {
  int N, H, W, C, K, R, S, P, Q, sh, sw, ph, pw, dh, dw;
  int M, Kg;
};

// ===================================================================================
// Tensor cores
// ===================================================================================
namespace tcore {
using tc::smem_u32;
namespace mm = tc::mma;
constexpr int BK = 32, STAGES = 4, THREADS = mm::THREADS, LD = BK + 8;  // padded rows: ldmatrix without conflicts
static_assert(THREADS == 256, "the tile loaders assume 256 threads");

template <int BM, int BN>
constexpr int smem_bytes() { return STAGES * (BM + BN) * LD * 2; }

template <typename T, int BM, int BN>
__global__ void __launch_bounds__(THREADS, 2)
    conv_tc_kernel(const uint16_t* __restrict__ x, const uint16_t* __restrict__ w, uint16_t* __restrict__ y, Geom g,
                   int tiles_m, int tiles_n) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int MI = BM / 32;       // 16-row mma tiles per warp (warp tile BM/2 x BN/4)
  constexpr int NI = BN / 32;       // 8-col mma tiles per warp
  constexpr int NJ = BN / 64;       // 16-col ldmatrix loads per warp
  constexpr int A_IT = BM / 64;     // A rows gathered per thread
  extern __shared__ __align__(128) uint16_t smem[];
  uint16_t* sA = smem;
  uint16_t* sB = smem + STAGES * BM * LD;

  int tm, tn;
  tc::tile_coords(blockIdx.x, tiles_m, tiles_n, tm, tn);
  const int m0 = tm * BM, n0 = tn * BN;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;
  const int KT = (g.Kg + BK - 1) / BK;

  // This thread's A rows (output pixels) are fixed: decode them once.
  const int kc = (tid & 3) * 8;
  int a_base[A_IT], a_h[A_IT], a_w[A_IT];
#pragma unroll
  for (int i = 0; i < A_IT; ++i) {
    const int m = m0 + (tid >> 2) + i * 64;
    const int mm_ = m < g.M ? m : 0;
    const int q = mm_ % g.Q, t = mm_ / g.Q, p = t % g.P, n = t / g.P;
    a_base[i] = n * g.H;
    a_h[i] = m < g.M ? p * g.sh - g.ph : -(1 << 29);  // rows past M: always "in the padding"
    a_w[i] = q * g.sw - g.pw;
  }

  auto load_stage = [&](int kt, int slot) {
    const int kk = kt * BK + kc;
    const int c = kk % g.C, rs = kk / g.C, s = rs % g.S, r = rs / g.S;
    const bool kv = kk < g.Kg;
    uint16_t* a = sA + slot * BM * LD;
#pragma unroll
    for (int i = 0; i < A_IT; ++i) {
      const int hh = a_h[i] + r * g.dh, ww = a_w[i] + s * g.dw;
      const bool v = kv && hh >= 0 && hh < g.H && ww >= 0 && ww < g.W;
      const uint16_t* src = v ? x + ((int64_t(a_base[i] + hh) * g.W + ww) * g.C + c) : x;
      mm::cp_async16(smem_u32(a + ((tid >> 2) + i * 64) * LD + kc), src, v ? 16 : 0);
    }
    mm::load_tile<BN, BK, true>(sB + slot * BN * LD, LD, w, n0, kt * BK, g.Kg, g.K, g.Kg, tid);
  };

  float acc[MI][NI][4];
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    if (st < KT) load_stage(st, st);
    mm::cp_async_commit();
  }
  const int q4 = lane >> 3, r8 = lane & 7;
  for (int kt = 0; kt < KT; ++kt) {
    mm::cp_async_wait<STAGES - 2>();
    __syncthreads();
    {
      const int nk = kt + STAGES - 1;
      if (nk < KT) load_stage(nk, nk % STAGES);
      mm::cp_async_commit();
    }
    const int slot = kt % STAGES;
    const uint16_t* a = sA + slot * BM * LD;
    const uint16_t* b = sB + slot * BN * LD;
#pragma unroll
    for (int ks = 0; ks < BK / 16; ++ks) {
      uint32_t af[MI][4], bfr[NI][2];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        const int mr = wm * (BM / 2) + mi * 16;
        mm::ldsm_x4(af[mi], smem_u32(a + (mr + (lane & 15)) * LD + ks * 16 + (lane >> 4) * 8));
      }
#pragma unroll
      for (int nj = 0; nj < NJ; ++nj) {
        const int nc = wn * (BN / 4) + nj * 16;
        uint32_t t[4];
        mm::ldsm_x4(t, smem_u32(b + (nc + r8 + (q4 >> 1) * 8) * LD + ks * 16 + (q4 & 1) * 8));
        bfr[2 * nj][0] = t[0];
        bfr[2 * nj][1] = t[1];
        bfr[2 * nj + 1][0] = t[2];
        bfr[2 * nj + 1][1] = t[3];
      }
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni) mm::mma16816<T>(acc[mi][ni], af[mi], bfr[ni][0], bfr[ni][1]);
    }
  }
  mm::cp_async_wait<0>();

  const bool even_k = (g.K & 1) == 0;
#pragma unroll
  for (int mi = 0; mi < MI; ++mi) {
    const int row = m0 + wm * (BM / 2) + mi * 16 + (lane >> 2);
#pragma unroll
    for (int ni = 0; ni < NI; ++ni) {
      const int col = n0 + wn * (BN / 4) + ni * 8 + (lane & 3) * 2;
      if (row < g.M) tc::store_pair<T>(y, int64_t(row) * g.K, col, g.K, even_k, acc[mi][ni][0], acc[mi][ni][1]);
      if (row + 8 < g.M) tc::store_pair<T>(y, int64_t(row + 8) * g.K, col, g.K, even_k, acc[mi][ni][2], acc[mi][ni][3]);
    }
  }
#endif
}

template <typename T, int BM, int BN>
void launch(const Geom& g, const void* x, const void* w, void* y, cudaStream_t st) {
  auto kernel = conv_tc_kernel<T, BM, BN>;
  constexpr int bytes = smem_bytes<BM, BN>();
  raise_smem_limit(kernel, bytes);
  const int tiles_m = (g.M + BM - 1) / BM, tiles_n = (g.K + BN - 1) / BN;
  kernel<<<tiles_m * tiles_n, THREADS, bytes, st>>>(static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(w),
                                                    static_cast<uint16_t*>(y), g, tiles_m, tiles_n);
  AM_CUDA_CHECK_LAUNCH();
}
}  // namespace tcore

// ===================================================================================
// CUDA cores (fp32)
// ===================================================================================
namespace simt {
constexpr int BM = 128, BN = 64, BK = 8, THREADS = 256, SA = BM + 4, SB = BN + 4;

// Element (m, kk) of the implicit A matrix, bounds-checked.
__device__ __forceinline__ float a_elem(const float* __restrict__ x, const Geom& g, int base, int h0, int w0, int kk) {
  if (kk >= g.Kg) return 0.f;
  const int c = kk % g.C, rs = kk / g.C, s = rs % g.S, r = rs / g.S;
  const int hh = h0 + r * g.dh, ww = w0 + s * g.dw;
  if (hh < 0 || hh >= g.H || ww < 0 || ww >= g.W) return 0.f;
  return x[(int64_t(base + hh) * g.W + ww) * g.C + c];
}

template <bool VEC>
__global__ void __launch_bounds__(THREADS, 2)
    conv_simt_kernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, Geom g,
                     int tiles_m, int tiles_n) {
  __shared__ __align__(16) float As[2][BK][SA];
  __shared__ __align__(16) float Bs[2][BK][SB];
  int tm, tn;
  tc::tile_coords(blockIdx.x, tiles_m, tiles_n, tm, tn);
  const int m0 = tm * BM, n0 = tn * BN, tid = threadIdx.x;
  const int tx = tid & 15, ty = tid >> 4;

  // A: row tid/2 of the tile, k offset (tid&1)*4 (4 consecutive taps/channels).
  const int a_row = tid >> 1, a_k = (tid & 1) * 4;
  const int am = m0 + a_row;
  int a_base, a_h, a_w;
  {
    const int mm_ = am < g.M ? am : 0;
    const int q = mm_ % g.Q, t = mm_ / g.Q, p = t % g.P, n = t / g.P;
    a_base = n * g.H;
    a_h = am < g.M ? p * g.sh - g.ph : -(1 << 29);
    a_w = q * g.sw - g.pw;
  }
  // B: filter row tid/4, k offset (tid&3)*2.
  const int b_row = tid >> 2, b_k = (tid & 3) * 2, bn = n0 + b_row;

  float ra[4], rb[2];
  auto fetch = [&](int k0) {
    const int kk = k0 + a_k;
    if (VEC) {  // C % 4 == 0: the 4 elements share a tap, one 16-byte load
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (kk < g.Kg) {
        const int c = kk % g.C, rs = kk / g.C, s = rs % g.S, r = rs / g.S;
        const int hh = a_h + r * g.dh, ww = a_w + s * g.dw;
        if (hh >= 0 && hh < g.H && ww >= 0 && ww < g.W)
          v = *reinterpret_cast<const float4*>(x + (int64_t(a_base + hh) * g.W + ww) * g.C + c);
      }
      ra[0] = v.x; ra[1] = v.y; ra[2] = v.z; ra[3] = v.w;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) ra[j] = a_elem(x, g, a_base, a_h, a_w, kk + j);
    }
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int kb = k0 + b_k + j;
      rb[j] = (bn < g.K && kb < g.Kg) ? w[int64_t(bn) * g.Kg + kb] : 0.f;
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int j = 0; j < 4; ++j) As[buf][a_k + j][a_row] = ra[j];
#pragma unroll
    for (int j = 0; j < 2; ++j) Bs[buf][b_k + j][b_row] = rb[j];
  };

  float acc[8][4] = {};
  const int KT = (g.Kg + BK - 1) / BK;
  fetch(0);
  stash(0);
  __syncthreads();
  for (int kt = 0; kt < KT; ++kt) {
    const int buf = kt & 1;
    if (kt + 1 < KT) fetch((kt + 1) * BK);  // global loads in flight during the math
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4]);
      const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float bv[4] = {b0.x, b0.y, b0.z, b0.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (kt + 1 < KT) stash(buf ^ 1);
    __syncthreads();
  }
  const int col = n0 + tx * 4;
  const bool vec_out = (g.K & 3) == 0 && col + 3 < g.K;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
    if (row >= g.M) continue;
    float* dst = y + int64_t(row) * g.K + col;
    if (vec_out) {
      *reinterpret_cast<float4*>(dst) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j)
        if (col + j < g.K) dst[j] = acc[i][j];
    }
  }
}

void launch(const Geom& g, const void* x, const void* w, void* y, cudaStream_t st) {
  const int tiles_m = (g.M + BM - 1) / BM, tiles_n = (g.K + BN - 1) / BN;
  const auto* xf = static_cast<const float*>(x);
  const auto* wf = static_cast<const float*>(w);
  auto* yf = static_cast<float*>(y);
  if (g.C % 4 == 0) conv_simt_kernel<true><<<tiles_m * tiles_n, THREADS, 0, st>>>(xf, wf, yf, g, tiles_m, tiles_n);
  else conv_simt_kernel<false><<<tiles_m * tiles_n, THREADS, 0, st>>>(xf, wf, yf, g, tiles_m, tiles_n);
  AM_CUDA_CHECK_LAUNCH();
}
}  // namespace simt

}  // namespace igemm

ConvPlan plan_igemm(Context& ctx, const ConvSpec& s, const void* x, const void* w, void* y) {
  if (s.dir != ConvDir::fwd)
    throw UnsupportedError(std::string("backend 'igemm' runs direction fwd only, not ") + conv_dir_name(s.dir));
  if (s.layout != Layout::nhwc) throw UnsupportedError("backend 'igemm' runs layout nhwc only (channels innermost)");
  if (s.groups != 1) throw UnsupportedError("backend 'igemm' runs groups=1 only");
  const bool half = s.dtype == DType::f16 || s.dtype == DType::bf16;
  if (!half && s.dtype != DType::f32)
    throw UnsupportedError(std::string("backend 'igemm' runs fp32, fp16 and bf16, not ") + dtype_name(s.dtype));
  if (half && s.c % 8)
    throw UnsupportedError("backend 'igemm' on tensor cores needs c to be a multiple of 8 (16-byte gathers), not " +
                           std::to_string(s.c));
  if (half && (ctx.facts().cc_major < 8))
    throw UnsupportedError("backend 'igemm' on tensor cores needs compute capability 8.0 or newer");
  const double m = double(s.n) * double(s.ho()) * double(s.wo()), kg = double(s.r * s.s * s.c);
  if (m >= 2147483647.0 || kg >= 2147483647.0 || double(s.n) * s.h * s.w >= 2147483647.0 || s.k >= 2147483647)
    throw UnsupportedError("backend 'igemm' takes problems whose index ranges fit in 32 bits");
  igemm::Geom g{int(s.n), int(s.h), int(s.w), int(s.c), int(s.k), int(s.r), int(s.s), int(s.ho()), int(s.wo()),
                int(s.stride_h), int(s.stride_w), int(s.pad_h), int(s.pad_w), int(s.dil_h), int(s.dil_w), int(m), int(kg)};
  ConvPlan plan;
  if (!half) {
    plan.launch = [=](cudaStream_t st) { igemm::simt::launch(g, x, w, y, st); };
    plan.info["kernel"] = std::string("igemm_simt_128x64x8") + (s.c % 4 == 0 ? "_vec4" : "");
    plan.info["algo"] = "igemm-simt";
    return plan;
  }
  // The largest block tile that still gives two blocks to every SM (the kernel's occupancy).
  const int sms = ctx.facts().sm_count;
  auto tiles = [&](int bm, int bn) { return ((g.M + bm - 1) / bm) * ((g.K + bn - 1) / bn); };
  int bm = 64, bn = 64;
  if (g.K > 64 && tiles(128, 128) >= 2 * sms) bm = 128, bn = 128;
  else if (tiles(128, 64) >= 2 * sms) bm = 128, bn = 64;
  const bool bf = s.dtype == DType::bf16;
  using namespace igemm::tcore;
  void (*fn)(const igemm::Geom&, const void*, const void*, void*, cudaStream_t) =
      bm == 128 && bn == 128 ? (bf ? launch<tc::Bf16, 128, 128> : launch<tc::F16, 128, 128>)
      : bm == 128            ? (bf ? launch<tc::Bf16, 128, 64> : launch<tc::F16, 128, 64>)
                             : (bf ? launch<tc::Bf16, 64, 64> : launch<tc::F16, 64, 64>);
  plan.launch = [=](cudaStream_t st) { fn(g, x, w, y, st); };
  plan.info["kernel"] = "igemm_mma16816_" + std::to_string(bm) + "x" + std::to_string(bn) + "x32_s4";
  plan.info["algo"] = "igemm-tensorcore";
  return plan;
}

}  // namespace am::cuda
