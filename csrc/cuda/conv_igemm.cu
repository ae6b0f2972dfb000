// Backend "igemm": our own implicit-GEMM convolution, NHWC, groups = 1: forward; bwd_data at stride 1 as the
// forward convolution of dy with the flipped, channel-swapped filter (plan_bwd_data, below); bwd_filter on
// Hopper as dy^T times the input's im2col tiles (plan_bwd_filter).
// The convolution is the GEMM  Y[M][K] = A[M][Kg] * W[K][Kg]^T  with
//   M  = N*P*Q output pixels, Kg = R*S*C (filter taps, channels innermost),
//   A[m][(r*S + s)*C + c] = x[n][p*sh - ph + r*dh][q*sw - pw + s*dw][c] (0 in the padding),
// gathered tile by tile straight from x (no im2col buffer).
//  * fp16/bf16 (C % 8 == 0), kernels in conv_igemm_kernels.cuh:
//    - Hopper with an sm_90a binary: warp-specialised wgmma (A loaded by TMA in
//      im2col mode where C % 64 == 0, else gathered by cp.async, into 128-byte-
//      swizzled shared memory; TMA for the filters), 128x256, 128x128 or 128x64
//      tiles and optional split-K, chosen by problem size;
//    - otherwise (sm_80+): mma.sync m16n8k16 + ldmatrix, 128x128 / 128x64 / 64x64.
//    AIMATRIX_IGEMM_KERNEL forces one (tests and tuning; forced_kernel, below).
//  * fp32: CUDA cores, 128x64x8 block tile, 8x4 outputs per thread, register-
//    staged double buffering; 16-byte gathers when C % 4 == 0, else element-wise.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

namespace {

// What both directions need: NHWC, one group, a dtype the kernels take.
void check_common(const ConvSpec& s) {
  if (s.layout != Layout::nhwc) throw UnsupportedError("backend 'igemm' runs layout nhwc only (channels innermost)");
  if (s.groups != 1) throw UnsupportedError("backend 'igemm' runs groups=1 only");
  if (s.dtype != DType::f16 && s.dtype != DType::bf16 && s.dtype != DType::f32)
    throw UnsupportedError(std::string("backend 'igemm' runs fp32, fp16 and bf16, not ") + dtype_name(s.dtype));
}

// The kernels' view of the problem (its forward GEMM's M and Kg), refused where an index would pass 32 bits.
igemm::Geom geom_of(const ConvSpec& s) {
  const double m = double(s.n) * double(s.ho()) * double(s.wo()), kg = double(s.r * s.s * s.c);
  if (m >= 2147483647.0 || kg >= 2147483647.0 || double(s.n) * s.h * s.w >= 2147483647.0 || s.k >= 2147483647 ||
      double(s.k) * kg >= 2147483647.0)
    throw UnsupportedError("backend 'igemm' takes problems whose index ranges fit in 32 bits");
  return igemm::Geom{int(s.n),     int(s.h),     int(s.w),     int(s.c),        int(s.k),        int(s.r),
                     int(s.s),     int(s.ho()),  int(s.wo()),  int(s.stride_h), int(s.stride_w), int(s.pad_h),
                     int(s.pad_w), int(s.dil_h), int(s.dil_w), int(m),          int(kg)};
}

// AIMATRIX_IGEMM_KERNEL, read in one place for every direction (tests and tuning):
//   mma | wgmma[_<256|128|64>][_s<splits>[_w<whole tiles>]][_gather]
// (0, 0, -1: chosen). _gather: the wgmma kernels' producer threads gather x even where TMA's im2col mode could load
// it (to compare the two). A kernel the case cannot run on (mma for bwd_filter, any for fp32) is refused by the
// direction's plan, never ignored.
struct Forced {
  std::string text;  // as set, "" when unset
  bool mma = false, wgmma = false, gather = false;
  int bn = 0, splits = 0, whole = -1;
  std::invalid_argument error(const std::string& why) const {  // a bad value, named
    return std::invalid_argument("AIMATRIX_IGEMM_KERNEL='" + text + "': " + why);
  }
};

Forced forced_kernel() {
  const char* env = std::getenv("AIMATRIX_IGEMM_KERNEL");
  Forced f;
  f.text = env ? env : "";
  const char* const expected =
      "expected mma, or wgmma[_<256|128|64>][_s<splits>[_w<whole tiles>]] with an optional _gather";
  if (f.text.empty()) return f;
  if (f.text == "mma") {
    f.mma = true;
    return f;
  }
  std::string v = f.text;
  f.gather = v.size() > 7 && v.compare(v.size() - 7, 7, "_gather") == 0;
  if (f.gather) v.resize(v.size() - 7);
  const char* p = v.c_str();
  const auto number = [&](const char* tag, int& out) {  // the integer after tag at p, if p starts with tag
    const size_t n = std::strlen(tag);
    if (std::strncmp(p, tag, n) != 0) return false;
    char* end = nullptr;
    out = int(std::strtol(p + n, &end, 10));
    if (end == p + n) throw f.error(std::string("expected a number after ") + tag);
    p = end;
    return true;
  };
  if (std::strncmp(p, "wgmma", 5) != 0) throw f.error(expected);
  f.wgmma = true;
  p += 5;
  if (p[0] == '_' && p[1] >= '0' && p[1] <= '9' && number("_", f.bn) && f.bn != 256 && f.bn != 128 && f.bn != 64)
    throw f.error("the tile width is 256, 128 or 64");
  if (number("_s", f.splits) && f.splits < 1) throw f.error("the split count after _s is 1 or more");
  if (number("_w", f.whole) && (f.whole < 0 || f.splits < 1))
    throw f.error("_w<whole tiles> (0 or more) follows _s<splits>");
  if (*p) throw f.error(expected);
  return f;
}

// Hopper's wgmma kernels run here: compute capability 9.0 with an sm_90a binary.
bool wgmma_here(Context& ctx) {
  return ctx.facts().cc_major == 9 && ctx.facts().cc_minor == 0 && tc::wgmma_compiled_for_current_device();
}

// w_krsc (bwd_data): the original filter, of which w is to be the flipped copy; the wgmma kernel reads it in place
// where it can, and the plan says so in info["filter"].
ConvPlan plan_fwd(Context& ctx, const ConvSpec& s, const void* x, const void* w, void* y,
                  const void* w_krsc = nullptr) {
  const bool half = s.dtype == DType::f16 || s.dtype == DType::bf16;
  if (half && s.c % 8)
    throw UnsupportedError("backend 'igemm' on tensor cores needs c to be a multiple of 8 (16-byte gathers), not " +
                           std::to_string(s.c));
  if (half && (ctx.facts().cc_major < 8))
    throw UnsupportedError("backend 'igemm' on tensor cores needs compute capability 8.0 or newer");
  const igemm::Geom g = geom_of(s);
  const Forced force = forced_kernel();
  ConvPlan plan;
  if (!half) {
    if (!force.text.empty()) throw force.error("fp32 runs on the SIMT kernel only (unset it for fp32)");
    plan.launch = [=](cudaStream_t st) { igemm::simt::launch(g, x, w, y, st); };
    plan.info["kernel"] = std::string("igemm_simt_128x64x8") + (s.c % 4 == 0 ? "_vec4" : "");
    plan.info["algo"] = "igemm-simt";
    return plan;
  }
  const bool bf = s.dtype == DType::bf16;
  const bool wg_ok = wgmma_here(ctx) && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  if (force.wgmma && !wg_ok)
    throw UnsupportedError("backend 'igemm': the wgmma kernel needs compute capability 9.0 and an sm_90a build");
  if (force.whole >= 0) throw force.error("_w<whole tiles> is bwd_filter's only");
  const bool gather = force.gather;
  if (wg_ok && !force.mma) {
    using namespace igemm::wgc;
    Choice c = choose(g, ctx.facts().sm_count);
    if (force.bn || force.splits) c = make_choice(g, force.bn ? force.bn : c.bn, std::max(force.splits, 1));
    const Maps maps = make_maps(x, w, y, bf, g, c, gather, w_krsc);
    std::shared_ptr<DeviceBuffer> ws;
    if (const size_t bytes = workspace_bytes(g, c)) ws = std::make_shared<DeviceBuffer>(bytes);
    plan.launch = [=](cudaStream_t st) {
      void* wsp = ws ? ws->get() : nullptr;
      if (bf) launch<tc::Bf16>(g, maps, x, y, wsp, c, st);
      else launch<tc::F16>(g, maps, x, y, wsp, c, st);
    };
    const int stages = c.bn == 256 ? Cfg<256>::STAGES : c.bn == 128 ? Cfg<128>::STAGES : Cfg<64>::STAGES;
    plan.info["kernel"] = "igemm_wgmma_128x" + std::to_string(c.bn) + "x64_s" + std::to_string(stages) +
                          (c.splits > 1 ? "_splitk" + std::to_string(c.splits) : "") + (maps.tma_x ? "_im2col" : "") +
                          (maps.w_t ? "_wkrsc" : "") + (maps.tma_y ? "_tmastore" : "");
    plan.info["algo"] = "igemm-wgmma";
    plan.info["workspace_bytes"] = std::to_string(workspace_bytes(g, c));
    if (maps.w_t) plan.info["filter"] = "krsc, read flipped and transposed by TMA";
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

// wf[c][rs'][k] = w[k][rs][c] with rs' = RS-1-rs (the taps reversed): the KRSC filter of a convolution as the
// CRSK filter of its bwd_data's forward form. A transpose of K x C per tap through a 32 x 32 shared tile, so both
// the reads (along c) and the writes (along k) are coalesced.
template <typename E>
__global__ void flip_filter_kernel(const E* __restrict__ w, E* __restrict__ wf, int K, int RS, int C) {
  __shared__ E tile[32][33];
  const int rs = int(blockIdx.z), c0 = int(blockIdx.x) * 32, k0 = int(blockIdx.y) * 32;
  for (int j = int(threadIdx.y); j < 32; j += 8) {
    const int k = k0 + j, c = c0 + int(threadIdx.x);
    if (k < K && c < C) tile[j][threadIdx.x] = w[(int64_t(k) * RS + rs) * C + c];
  }
  __syncthreads();
  const int rsf = RS - 1 - rs;  // (R-1-r)*S + (S-1-s)
  for (int j = int(threadIdx.y); j < 32; j += 8) {
    const int c = c0 + j, k = k0 + int(threadIdx.x);
    if (c < C && k < K) wf[(int64_t(c) * RS + rsf) * K + k] = tile[threadIdx.x][j];
  }
}

void flip_filter(const ConvSpec& s, const void* w, void* wf, cudaStream_t st) {
  const int K = int(s.k), RS = int(s.r * s.s), C = int(s.c);
  const dim3 grid(unsigned((C + 31) / 32), unsigned((K + 31) / 32), unsigned(RS)), block(32, 8);
  if (s.dtype == DType::f32)
    flip_filter_kernel<float><<<grid, block, 0, st>>>(static_cast<const float*>(w), static_cast<float*>(wf), K, RS, C);
  else
    flip_filter_kernel<uint16_t>
        <<<grid, block, 0, st>>>(static_cast<const uint16_t*>(w), static_cast<uint16_t*>(wf), K, RS, C);
  AM_CUDA_CHECK_LAUNCH();
}

// bwd_data at stride 1: dx[n][h][w][c] = sum over k, r, s of dy[n][h + ph - r*dh][w + pw - s*dw][k] * w[k][r][s][c],
// which is the forward convolution of dy (K channels) with the filter flipped in r and s and its K and C swapped,
// padded by dh*(R-1) - ph (and likewise in w): its output is H x W again. The wgmma kernel reads the flipped filter
// straight from w where K % 64 == 0 (a k-slice is one tap's channels: TMA boxes of the tap RS-1-t, MN-major);
// otherwise each launch flips the filter first (it is timed: a training step's filter is new at every step), then
// runs the forward kernel the problem's shape picks.
ConvPlan plan_bwd_data(Context& ctx, const ConvSpec& s, const void* dy, const void* w, void* dx) {
  if (s.stride_h != 1 || s.stride_w != 1)
    throw UnsupportedError("backend 'igemm' runs bwd_data at stride 1 only, not stride (" + std::to_string(s.stride_h) +
                           ", " + std::to_string(s.stride_w) + ")");
  if (s.pad_h > s.dil_h * (s.r - 1) || s.pad_w > s.dil_w * (s.s - 1))
    throw UnsupportedError("backend 'igemm' runs bwd_data with padding up to dilation * (filter size - 1), not pad (" +
                           std::to_string(s.pad_h) + ", " + std::to_string(s.pad_w) + ")");
  if (s.dtype != DType::f32 && s.k % 8)
    throw UnsupportedError(
        "backend 'igemm' bwd_data on tensor cores needs k to be a multiple of 8 (16-byte gathers "
        "of dy), not " +
        std::to_string(s.k));
  ConvSpec f = s;
  f.dir = ConvDir::fwd;
  f.c = s.k, f.k = s.c, f.h = s.ho(), f.w = s.wo();
  f.pad_h = s.dil_h * (s.r - 1) - s.pad_h, f.pad_w = s.dil_w * (s.s - 1) - s.pad_w;
  const auto wf =
      std::make_shared<DeviceBuffer>(size_t(s.elems(ConvTensor::w)) * storage_bytes(input_storage(s.dtype)));
  ConvPlan inner = plan_fwd(ctx, f, dy, wf->get(), dx, w);
  if (inner.info.count("filter")) return inner;  // reads w itself: no flipped copy
  ConvPlan plan;
  plan.info = inner.info;
  plan.info["kernel"] = "flip_filter+" + inner.info["kernel"];
  plan.launch = [s, w, wf, fwd = std::move(inner.launch)](cudaStream_t st) {
    flip_filter(s, w, wf->get(), st);
    fwd(st);
  };
  return plan;
}

// bwd_filter: dW = dy^T x im2col(x), the reduction over the output pixels split across blocks
// (igemm::wgc::conv_wgrad_kernel), then the parts summed and rounded. Hopper's wgmma only, fp16 / bf16, C a
// multiple of 64 (a 64-wide block of dW's columns stays in one tap; 128-wide where C % 128 == 0).
// AIMATRIX_IGEMM_KERNEL=wgmma_64 / wgmma_128 forces the tile width, _s<splits> (wgmma_s<splits>: the chosen
// width) the split count, and _w<whole> after it the tiles run whole first (wgrad_plan).
ConvPlan plan_bwd_filter(Context& ctx, const ConvSpec& s, const void* x, const void* dy, void* dw) {
  if (s.dtype != DType::f16 && s.dtype != DType::bf16)
    throw UnsupportedError(std::string("backend 'igemm' runs bwd_filter in fp16 and bf16 only, not ") +
                           dtype_name(s.dtype));
  if (s.c % 64)
    throw UnsupportedError(
        "backend 'igemm' bwd_filter needs c to be a multiple of 64 (a 64-channel block of one "
        "filter tap per tile), not " +
        std::to_string(s.c));
  if (s.k % 8)
    throw UnsupportedError("backend 'igemm' bwd_filter needs k to be a multiple of 8 (16-byte rows of dy), not " +
                           std::to_string(s.k));
  const Forced force = forced_kernel();
  if (force.mma) throw force.error("bwd_filter runs on the wgmma kernel only");
  const int bn = force.bn;
  if (bn == 256) throw force.error("bwd_filter's tile is wgmma_64 or wgmma_128 wide");
  if (bn == 128 && s.c % 128)
    throw UnsupportedError("backend 'igemm' bwd_filter's 128-wide tile needs c to be a multiple of 128, not " +
                           std::to_string(s.c));
  if (!wgmma_here(ctx) || reinterpret_cast<uintptr_t>(dy) % 16 != 0)
    throw UnsupportedError(
        "backend 'igemm' runs bwd_filter on the wgmma kernel only: compute capability 9.0 and an "
        "sm_90a build");
  using namespace igemm::wgc;
  const igemm::Geom g = geom_of(s);
  const bool bf = s.dtype == DType::bf16;
  const WgradMaps maps = make_wgrad_maps(x, dy, bf, g, force.gather);
  const WgradPlan wp = wgrad_plan(g, ctx.facts().sm_count, maps.tma_x, bn, force.splits, force.whole);
  const auto ws = std::make_shared<DeviceBuffer>(wgrad_workspace_bytes(g, wp));
  ConvPlan plan;
  plan.launch = [=](cudaStream_t st) {
    if (bf) launch_wgrad<tc::Bf16>(g, maps, x, dw, ws->get(), wp, st);
    else launch_wgrad<tc::F16>(g, maps, x, dw, ws->get(), wp, st);
  };
  const int stages = wp.bn == 128 ? igemm::wgc::wgrad::Cfg<128>::STAGES : igemm::wgc::wgrad::Cfg<64>::STAGES;
  plan.info["kernel"] = "igemm_wgrad_wgmma_128x" + std::to_string(wp.bn) + "x64_s" + std::to_string(stages) +
                        "_splitk" + std::to_string(wp.splits) + (wp.whole ? "_whole" + std::to_string(wp.whole) : "") +
                        (maps.tma_x ? "_im2col" : "") + (wp.swap ? "_swapped" : "");
  plan.info["algo"] = "igemm-wgmma";
  plan.info["workspace_bytes"] = std::to_string(wgrad_workspace_bytes(g, wp));
  return plan;
}

}  // namespace

ConvPlan plan_igemm(Context& ctx, const ConvSpec& s, const void* in0, const void* in1, void* out) {
  check_common(s);
  switch (s.dir) {
    case ConvDir::fwd: return plan_fwd(ctx, s, in0, in1, out);
    case ConvDir::bwd_data: return plan_bwd_data(ctx, s, in0, in1, out);
    default: return plan_bwd_filter(ctx, s, in0, in1, out);
  }
}

}  // namespace am::cuda
