// Backend "igemm": our own implicit-GEMM forward convolution, NHWC, groups = 1.
// The convolution is the GEMM  Y[M][K] = A[M][Kg] * W[K][Kg]^T  with
//   M  = N*P*Q output pixels, Kg = R*S*C (filter taps, channels innermost),
//   A[m][(r*S + s)*C + c] = x[n][p*sh - ph + r*dh][q*sw - pw + s*dw][c] (0 in the padding),
// gathered tile by tile straight from x (no im2col buffer).
//  * fp16/bf16 (C % 8 == 0), kernels in conv_igemm_kernels.cuh:
//    - Hopper with an sm_90a binary: warp-specialised wgmma (cp.async gathers of
//      A into 128-byte-swizzled shared memory, TMA for the filters), 128x256,
//      128x128 or 128x64 tiles and optional split-K, chosen by problem size;
//    - otherwise (sm_80+): mma.sync m16n8k16 + ldmatrix, 128x128 / 128x64 / 64x64.
//    AIMATRIX_IGEMM_KERNEL forces one (tests and tuning): "mma", "wgmma", or
//    "wgmma_<bn>[_s<splits>]" (bn 256, 128 or 64).
//  * fp32: CUDA cores, 128x64x8 block tile, 8x4 outputs per thread, register-
//    staged double buffering; 16-byte gathers when C % 4 == 0, else element-wise.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "cuda/buffer.hpp"
#include "cuda/check.hpp"
#include "cuda/conv_igemm_kernels.cuh"
#include "cuda/launch_util.cuh"
#include "cuda/micro.hpp"

namespace am::cuda {
namespace igemm {

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
      ra[0] = v.x;
      ra[1] = v.y;
      ra[2] = v.z;
      ra[3] = v.w;
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
  igemm::Geom g{int(s.n),     int(s.h),     int(s.w),     int(s.c),        int(s.k),        int(s.r),
                int(s.s),     int(s.ho()),  int(s.wo()),  int(s.stride_h), int(s.stride_w), int(s.pad_h),
                int(s.pad_w), int(s.dil_h), int(s.dil_w), int(m),          int(kg)};
  ConvPlan plan;
  if (!half) {
    plan.launch = [=](cudaStream_t st) { igemm::simt::launch(g, x, w, y, st); };
    plan.info["kernel"] = std::string("igemm_simt_128x64x8") + (s.c % 4 == 0 ? "_vec4" : "");
    plan.info["algo"] = "igemm-simt";
    return plan;
  }
  const bool bf = s.dtype == DType::bf16;
  const char* env = std::getenv("AIMATRIX_IGEMM_KERNEL");
  const std::string force = env ? env : "";
  if (!force.empty() && force != "mma" && force.rfind("wgmma", 0) != 0)
    throw std::invalid_argument("AIMATRIX_IGEMM_KERNEL='" + force + "': expected mma, wgmma or wgmma_<bn>[_s<splits>]");
  const bool wg_ok = ctx.facts().cc_major == 9 && ctx.facts().cc_minor == 0 &&
                     tc::wgmma_compiled_for_current_device() && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  if (force.rfind("wgmma", 0) == 0 && !wg_ok)
    throw UnsupportedError("backend 'igemm': the wgmma kernel needs compute capability 9.0 and an sm_90a build");
  if (wg_ok && force != "mma") {
    using namespace igemm::wgc;
    Choice c = choose(g, ctx.facts().sm_count);
    if (force.size() > 5) {  // wgmma_<bn>[_s<splits>]
      int bn = 0, sp = 1;
      if (std::sscanf(force.c_str(), "wgmma_%d_s%d", &bn, &sp) < 1 || (bn != 256 && bn != 128 && bn != 64) || sp < 1)
        throw std::invalid_argument("AIMATRIX_IGEMM_KERNEL='" + force + "': expected wgmma_<256|128|64>[_s<splits>]");
      c = make_choice(g, bn, sp);
    }
    const Maps maps = make_maps(w, y, bf, g, c);
    std::shared_ptr<DeviceBuffer> ws;
    if (const size_t bytes = workspace_bytes(g, c)) ws = std::make_shared<DeviceBuffer>(bytes);
    plan.launch = [=](cudaStream_t st) {
      void* wsp = ws ? ws->get() : nullptr;
      if (bf) launch<tc::Bf16>(g, maps, x, y, wsp, c, st);
      else launch<tc::F16>(g, maps, x, y, wsp, c, st);
    };
    const int stages = c.bn == 256 ? Cfg<256>::STAGES : c.bn == 128 ? Cfg<128>::STAGES : Cfg<64>::STAGES;
    plan.info["kernel"] = "igemm_wgmma_128x" + std::to_string(c.bn) + "x64_s" + std::to_string(stages) +
                          (c.splits > 1 ? "_splitk" + std::to_string(c.splits) : "") + (maps.tma_y ? "_tmastore" : "");
    plan.info["algo"] = "igemm-wgmma";
    plan.info["workspace_bytes"] = std::to_string(workspace_bytes(g, c));
    return plan;
  }
  int bm = 64, bn = 64;
  igemm::tcore::choose(g, ctx.facts().sm_count, bm, bn);
  const igemm::tcore::LaunchFn fn = igemm::tcore::launcher(bf, bm, bn);
  plan.launch = [=](cudaStream_t st) { fn(g, x, w, y, st); };
  plan.info["kernel"] = "igemm_mma16816_" + std::to_string(bm) + "x" + std::to_string(bn) + "x32_s4";
  plan.info["algo"] = "igemm-tensorcore";
  return plan;
}

}  // namespace am::cuda
