// Internal to the implicit-GEMM convolution (conv_igemm.cu; also built by
// bench/own_conv/harness.cu): the fp16/bf16 tensor-core kernels and their launchers.
//
// The convolution is the GEMM  Y[M][K] = A[M][Kg] * W[K][Kg]^T  with
//   M  = N*P*Q output pixels, Kg = R*S*C (filter taps, channels innermost),
//   A[m][(r*S + s)*C + c] = x[n][p*sh - ph + r*dh][q*sw - pw + s*dw][c] (0 in the padding).
// Both kernels need C % 8 == 0: a 16-byte chunk of A never straddles two taps.
//
//  * tcore::conv_tc_kernel (sm_80+): mma.sync m16n8k16 + ldmatrix, 16-byte cp.async
//    gathers with zero fill, 4-stage pipeline, padded shared memory, 256 threads,
//    block tiles 128x128 / 128x64 / 64x64.
//  * wgc::conv_wg_kernel (sm_90a): warp-specialised wgmma. Warpgroup 0 produces.
//    Where C % 64 == 0 (a 64-wide slice of Kg is one tap's channels) one thread
//    loads both tiles by TMA: the A tile (128 output pixels x 64 channels at one
//    tap) in im2col mode, zeros for padding and rows past M, and the filter tile
//    (BN x 64 of W, a plain K-major matrix); a stage is "full" once their bytes
//    have landed. Else its 128 threads gather the A tile with 16-byte cp.async
//    (zero fill) into the same 128-byte-swizzled layout wgmma's descriptors read
//    (chunk c of row r lands at chunk c ^ (r & 7)) while one of them loads the
//    filter tile, and a stage is full once the TMA bytes have landed and all 128
//    gatherers have waited for their copies, fenced them to the async proxy and
//    arrived. TMA's gather was 1.1-1.4x faster on every ResNet-50 3x3 layer (H100,
//    bench/RESULTS.md): the threads' gather issued 8 copies and their addresses per
//    row and slice. Warpgroups 1 and 2 consume: each
//    computes 64 x BN of the 128 x BN tile with wgmma.m64nBNk16 from shared-memory
//    descriptors, keeping one k-slice in flight before releasing a stage (as the
//    GEMM kernel in gemm_tc_kernels.cuh does). BN = 256 (4 stages) or 128 (6
//    stages), one block per SM, y stored by TMA as the GEMM stores C when K % 8 ==
//    0; or 64 (4 stages, two blocks per SM). Persistent: each block loops over work units. Optional
//    split-K: the k-slices are divided among `splits` units per tile, each
//    writing fp32 partial sums to a workspace [splits][M][K] that splitk_reduce
//    sums and rounds.
#pragma once
#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "cuda/check.hpp"
#include "cuda/gemm_tc_kernels.cuh"
#include "cuda/gemm_tc_wgmma_impl.cuh"
#include "cuda/launch_util.cuh"

namespace am::cuda::igemm {

struct Geom {
  int N, H, W, C, K, R, S, P, Q, sh, sw, ph, pw, dh, dw;
  int M, Kg;
};

// ===================================================================================
// mma.sync (sm_80+)
// ===================================================================================
namespace tcore {
using tc::smem_u32;
namespace mm = tc::mma;
constexpr int BK = 32, STAGES = 4, THREADS = mm::THREADS, LD = BK + 8;  // padded rows: ldmatrix without conflicts
static_assert(THREADS == 256, "the tile loaders assume 256 threads");

template <int BM, int BN>
constexpr int smem_bytes() {
  return STAGES * (BM + BN) * LD * 2;
}

template <typename T, int BM, int BN>
__global__ void __launch_bounds__(THREADS, 2)
    conv_tc_kernel(const uint16_t* __restrict__ x, const uint16_t* __restrict__ w, uint16_t* __restrict__ y, Geom g,
                   int tiles_m, int tiles_n) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int MI = BM / 32;    // 16-row mma tiles per warp (warp tile BM/2 x BN/4)
  constexpr int NI = BN / 32;    // 8-col mma tiles per warp
  constexpr int NJ = BN / 64;    // 16-col ldmatrix loads per warp
  constexpr int A_IT = BM / 64;  // A rows gathered per thread
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

// The largest block tile that still gives two blocks to every SM (the kernel's occupancy).
inline void choose(const Geom& g, int sms, int& bm, int& bn) {
  auto tiles = [&](int tbm, int tbn) { return ((g.M + tbm - 1) / tbm) * ((g.K + tbn - 1) / tbn); };
  bm = 64, bn = 64;
  if (g.K > 64 && tiles(128, 128) >= 2 * sms) bm = 128, bn = 128;
  else if (tiles(128, 64) >= 2 * sms) bm = 128, bn = 64;
}

using LaunchFn = void (*)(const Geom&, const void*, const void*, void*, cudaStream_t);
inline LaunchFn launcher(bool bf16, int bm, int bn) {
  if (bm == 128 && bn == 128) return bf16 ? launch<tc::Bf16, 128, 128> : launch<tc::F16, 128, 128>;
  if (bm == 128) return bf16 ? launch<tc::Bf16, 128, 64> : launch<tc::F16, 128, 64>;
  return bf16 ? launch<tc::Bf16, 64, 64> : launch<tc::F16, 64, 64>;
}
}  // namespace tcore

// ===================================================================================
// wgmma (sm_90a)
// ===================================================================================
namespace wgc {
using tc::smem_u32;
constexpr int BM = 128, BK = 64, THREADS = 384, PRODUCERS = 128;
constexpr int A_STAGE_BYTES = BM * BK * 2;  // 16 KB: 128 rows of one 128-byte swizzle row each

template <int BN>
struct Cfg {
  static_assert(BN == 256 || BN == 128 || BN == 64, "BN must be 256, 128 or 64");
  static constexpr int B_STAGE_BYTES = BN * BK * 2;
  static constexpr int STAGES = BN == 128 ? 6 : 4;
  static constexpr int MIN_BLOCKS = BN == 64 ? 2 : 1;  // 192 KB (256, 128) / 96 KB (64) of operand stages
  // Gatherers keep LAG stages of copies in flight before declaring the oldest full.
  // A consumer releases slice j only after slice j+1 is full, so LAG <= STAGES - 2.
  static constexpr int LAG = STAGES - 2;
  // The TMA-store epilogue's staging (tc::wg::store_tile_tma) fits beside the stages of one block per SM only.
  static constexpr int EPI = MIN_BLOCKS == 1 ? tc::wg::EPI_BYTES : 0;
  static constexpr int SMEM_BYTES = tc::wg::pipeline_smem_bytes(STAGES, A_STAGE_BYTES, B_STAGE_BYTES, EPI);
};

// x (NHWC) in TMA's im2col mode: each load is `pixels` consecutive output pixels' input pixels at one tap, BK
// channels each (128-byte rows, 128-byte swizzle: the layout the gatherers write), walked as the output pixels are
// numbered: w from -pad by the stride over Q positions, then h over P, then n. The box the filter's top-left tap
// walks is [-pad, (Q - 1) * stride - pad] along w (and so along h), given as its lower corner and its upper corner's
// offset from the last pixel (W - 1). TMA takes it where C % 64 == 0 (a slice of one tap), the corners fit its
// 8-bit range, the strides its 3-bit one, and x is 16-byte aligned.
inline int upper_corner(int out, int stride, int size, int pad) { return (out - 1) * stride + 1 - size - pad; }
inline bool x_by_tma(const Geom& g, const void* x) {
  const auto corner_ok = [](int v) { return v >= -128 && v <= 127; };
  return g.C % BK == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && g.sw <= 8 && g.sh <= 8 && corner_ok(-g.pw) &&
         corner_ok(-g.ph) && corner_ok(upper_corner(g.Q, g.sw, g.W, g.pw)) &&
         corner_ok(upper_corner(g.P, g.sh, g.H, g.ph)) && (g.S - 1) * g.dw < 65536 && (g.R - 1) * g.dh < 65536;
}
inline CUtensorMap make_x_map(const void* x, CUtensorMapDataType type, const Geom& g, uint32_t pixels) {
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  const cuuint64_t dims[4] = {cuuint64_t(g.C), cuuint64_t(g.W), cuuint64_t(g.H), cuuint64_t(g.N)};
  const cuuint64_t row = cuuint64_t(g.C) * 2;
  const cuuint64_t strides[3] = {row, row * cuuint64_t(g.W), row * cuuint64_t(g.W) * cuuint64_t(g.H)};
  const int lower[2] = {-g.pw, -g.ph};
  const int upper[2] = {upper_corner(g.Q, g.sw, g.W, g.pw), upper_corner(g.P, g.sh, g.H, g.ph)};
  const cuuint32_t estr[4] = {1, cuuint32_t(g.sw), cuuint32_t(g.sh), 1};
  const CUresult r = tc::wgimpl::im2col_encoder()(
      &map, type, 4, const_cast<void*>(x), dims, strides, lower, upper, BK, pixels, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw CudaError("CUresult " + std::to_string(int(r)),
                    "igemm: cuTensorMapEncodeIm2col failed with CUresult " + std::to_string(int(r)));
  return map;
}

#if AM_TC_HAS_WGMMA
__device__ __forceinline__ void cp_async16(uint32_t saddr, const void* g, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(saddr), "l"(g), "r"(src_bytes) : "memory");
}
#endif

// Persistent: block b takes work units b, b + gridDim.x, ... (a grid of as many blocks as fit at once), so the
// producers gather the next unit's first slices while the consumers store this one's outputs, and no block
// refills an empty pipeline. Unit u: tile u / splits (grouped order), k-part u % splits of kt_per k-slices.
// SPLIT: fp32 partial sums to ws[part][M][K], else T to y (tma_y: through tmY, y's map, as the GEMM stores C).
// WT: the filter is bwd_data's original KRSC one, read as its forward form's flipped, channel-swapped filter: per
// slice (tap t', 64 reduction channels from k0) the MN-major boxes (k0.. x n0 + 64 b..) of tap RS - 1 - t' through
// tmW, a {K', RS, C'} map (wgmma's transposed B), where the flip kernel would have written W'[n][t'][k] first.
template <typename T, int BN, bool SPLIT, bool WT = false>
__global__ void __launch_bounds__(THREADS, Cfg<BN>::MIN_BLOCKS)
    conv_wg_kernel(const uint16_t* __restrict__ x, const __grid_constant__ CUtensorMap tmX, bool tma_x,
                   const __grid_constant__ CUtensorMap tmW, const __grid_constant__ CUtensorMap tmY, bool tma_y,
                   void* __restrict__ out, Geom g, int tiles_m, int tiles_n, int splits, int kt_per) {
#if AM_TC_HAS_WGMMA
  if constexpr (SPLIT) grid_dependents_launch();  // the reduction may be scheduled now (it waits for the sums)
  using G = Cfg<BN>;
  constexpr int STAGES = G::STAGES, LAG = G::LAG;
  constexpr int NACC = BN / 2;  // fp32 accumulators per thread (64 x BN per warpgroup)
  namespace w = tc::wg;
  const auto [sA, sB, sC, full, empty] = w::pipeline_smem<STAGES, A_STAGE_BYTES, G::B_STAGE_BYTES, G::EPI>();

  const int units = tiles_m * tiles_n * splits;
  const int KT = (g.Kg + BK - 1) / BK;
  struct Unit {
    int m0, n0, part, kt0, nk;  // nk >= 1 (the launcher sizes splits so)
  };
  const auto unit = [&](int u) {
    Unit r;
    r.part = int(unsigned(u) % unsigned(splits));
    int tm, tn;
    tile_coords(int(unsigned(u) / unsigned(splits)), tiles_m, tiles_n, tm, tn);
    r.m0 = tm * BM, r.n0 = tn * BN, r.kt0 = r.part * kt_per;
    r.nk = min(KT, r.kt0 + kt_per) - r.kt0;
    return r;
  };
  const int wgi = threadIdx.x >> 7;
  // The filter's tile of k-slice kt for output channels n0..: K-major W[K][Kg] (one box), or (WT) the KRSC filter's
  // MN-major boxes of the flipped tap.
  const auto load_w = [&](uint8_t* dst, uint64_t* bar, int kt, int n0) {
    if constexpr (WT) {
      const int kg = kt * BK, tap = kg / g.C, k0 = kg - tap * g.C;  // C % 64 == 0: a slice is one tap's channels
#pragma unroll
      for (int b = 0; b < BN / 64; ++b) w::tma_load_3d(dst + b * 8192, &tmW, bar, n0 + 64 * b, g.R * g.S - 1 - tap, k0);
    } else {
      w::tma_load_3d(dst, &tmW, bar, kt * BK, n0, 0);
    }
  };

  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      w::mbar_init(&full[s], tma_x ? 1 : PRODUCERS + 1);  // the TMA issuer's expect_tx (+ every gatherer)
      w::mbar_init(&empty[s], 8);                         // lane 0 of each of the 8 consumer warps
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  }
  __syncthreads();

  if (wgi == 0 && tma_x) {
    // ---------------- producer, x by TMA in im2col mode (C % 64 == 0): one thread loads both operands ----------------
    if (threadIdx.x == 0) {
      unsigned it = 0;
      for (int u = int(blockIdx.x); u < units; u += int(gridDim.x)) {
        const Unit un = unit(u);
        // The unit's first output pixel; the map walks its 128 pixels on from there (zeros past the last image).
        const int q = un.m0 % g.Q, t = un.m0 / g.Q, p = t % g.P, n = t / g.P;
        const int w0 = q * g.sw - g.pw, h0 = p * g.sh - g.ph;
        const int kk = un.kt0 * BK;  // a slice is 64 channels of one tap
        int c = kk % g.C, sx = (kk / g.C) % g.S, r = kk / g.C / g.S;
        for (int j = 0; j < un.nk; ++j, ++it) {
          const int s = int(it % STAGES);
          if (it >= unsigned(STAGES)) w::mbar_wait(&empty[s], int(it / STAGES + 1) & 1);
          w::mbar_expect_tx(&full[s], A_STAGE_BYTES + G::B_STAGE_BYTES);
          load_w(sB + s * G::B_STAGE_BYTES, &full[s], un.kt0 + j, un.n0);
          w::tma_load_im2col(sA + s * A_STAGE_BYTES, &tmX, &full[s], c, w0, h0, n, uint16_t(sx * g.dw),
                             uint16_t(r * g.dh));
          if ((c += BK) == g.C) {
            c = 0;
            if (++sx == g.S) sx = 0, ++r;
          }
        }
      }
    }
  } else if (wgi == 0) {
    // ---------------- producers, x gathered ----------------
    const int pt = threadIdx.x;
    const int c8 = pt & 7;   // 16-byte chunk of the 128-byte k-row
    const int r0 = pt >> 3;  // rows r0 + 16 i
    // Swizzled destination of (row, chunk): row * 128 + ((chunk ^ (row & 7)) * 16); row & 7 == (r0 + 16 i) & 7.
    const uint32_t dst_off = uint32_t(r0 * 128 + ((c8 ^ (r0 & 7)) << 4));
    unsigned it = 0;  // slices issued so far, all units: stage it % STAGES
    for (int u = int(blockIdx.x); u < units; u += int(gridDim.x)) {
      const Unit un = unit(u);
      // Per row (output pixel): its input offset at tap (0, 0), channel 0, and its top-left input coordinates. A
      // k-slice adds the same (r*dh*W + s*dw)*C + c to every row, and the slice's tap and channel advance by BK
      // with compares: decoding them with four integer divisions per slice, and each row's address with 64-bit
      // multiplies, made this kernel ALU-bound (ncu, H100, 2026-12-07: ALU 31-36% busy).
      int64_t a_off[8];
      int a_h[8], a_w[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const int m = un.m0 + r0 + 16 * i;
        const int mm_ = m < g.M ? m : 0;
        const int q = mm_ % g.Q, t = mm_ / g.Q, p = t % g.P, n = t / g.P;
        a_h[i] = m < g.M ? p * g.sh - g.ph : -(1 << 29);  // rows past M: always "in the padding"
        a_w[i] = q * g.sw - g.pw;
        a_off[i] = (int64_t(n * g.H + a_h[i]) * g.W + a_w[i]) * g.C;  // rows past M: never read
      }
      int kk = un.kt0 * BK + c8 * 8;  // this thread's chunk of the slice: k index, channel c, tap (r, sx)
      int c = kk % g.C, sx = (kk / g.C) % g.S, r = kk / g.C / g.S;
      for (int j = 0; j < un.nk; ++j, ++it) {
        const int s = int(it % STAGES);
        if (it >= unsigned(STAGES)) w::mbar_wait(&empty[s], int(it / STAGES + 1) & 1);
        if (pt == 0) {
          w::mbar_expect_tx(&full[s], G::B_STAGE_BYTES);
          load_w(sB + s * G::B_STAGE_BYTES, &full[s], un.kt0 + j, un.n0);
        }
        const bool kv = kk < g.Kg;
        const int dh = r * g.dh, dw = sx * g.dw;
        const int64_t tap = (int64_t(dh) * g.W + dw) * g.C + c;
        const uint32_t a_st = smem_u32(sA + s * A_STAGE_BYTES) + dst_off;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const int hh = a_h[i] + dh, ww = a_w[i] + dw;
          const bool v = kv && unsigned(hh) < unsigned(g.H) && unsigned(ww) < unsigned(g.W);
          const uint16_t* src = v ? x + (a_off[i] + tap) : x;
          cp_async16(a_st + i * 16 * 128, src, v ? 16 : 0);
        }
        kk += BK;  // next slice: C % 8 == 0, so a chunk stays within one tap
        for (c += BK; c >= g.C; c -= g.C) {
          if (++sx == g.S) sx = 0, ++r;
        }
        asm volatile("cp.async.commit_group;\n" ::: "memory");
        if (it >= unsigned(LAG)) {
          asm volatile("cp.async.wait_group %0;\n" ::"n"(LAG) : "memory");
          asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");  // generic-proxy writes -> wgmma reads
          w::mbar_arrive(&full[(it - LAG) % STAGES]);
        }
      }
    }
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    for (unsigned i = it > unsigned(LAG) ? it - LAG : 0; i < it; ++i) w::mbar_arrive(&full[i % STAGES]);
  } else {
    // ---------------- consumers: rows cw*64 .. cw*64+63 of each unit's tile ----------------
    const int cw = wgi - 1;
    const int lane = threadIdx.x & 31;
    const int warp_in_wg = (threadIdx.x >> 5) & 3;
    // Stage 0's descriptors, K-major with the 128-byte swizzle: SBO = 8 rows x 128 B; a stage and each 16 k
    // (+32 bytes inside the swizzle row) advance them (as in the GEMM kernel).
    // (WT: B MN-major, as bwd_filter's: LBO = the next 64-wide box, +16 k-rows x 128 B per 16 k.)
    const uint64_t da0 = w::desc_sw128(smem_u32(sA) + cw * 8192, 16, 1024);
    const uint64_t db0 = w::desc_sw128(smem_u32(sB), WT ? 8192 : 16, 1024);
    constexpr uint32_t DB_K16 = WT ? 2048 : 32;
    const bool even_k = (g.K & 1) == 0;
    unsigned it = 0;  // slices consumed so far, all units
    for (int u = int(blockIdx.x); u < units; u += int(gridDim.x)) {
      const Unit un = unit(u);
      float d[NACC];
#pragma unroll
      for (int i = 0; i < NACC; ++i) d[i] = 0.0f;
      for (int j = 0; j < un.nk; ++j, ++it) {
        const int s = int(it % STAGES);
        w::mbar_wait(&full[s], int(it / STAGES) & 1);
        const uint64_t da_s = w::desc_advance(da0, uint32_t(s) * A_STAGE_BYTES);
        const uint64_t db_s = w::desc_advance(db0, uint32_t(s) * G::B_STAGE_BYTES);
        w::fence_acc<NACC>(d);
        w::wg_fence();
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) {
          w::wgmma_call<T, BN, 0, WT>(d, w::desc_advance(da_s, kk * 32), w::desc_advance(db_s, kk * DB_K16));
        }
        w::wg_commit();
        w::wg_wait<1>();  // the previous slice's wgmma are done: release its stage
        w::fence_acc<NACC>(d);
        if (j > 0 && lane == 0) w::mbar_arrive(&empty[(it + STAGES - 1) % STAGES]);
      }
      w::wg_wait<0>();
      w::fence_acc<NACC>(d);
      if (lane == 0) w::mbar_arrive(&empty[(it + STAGES - 1) % STAGES]);  // the unit's last slice

      // Epilogue: fragment j covers columns 8j..8j+7; d[4j+0..1] row r, d[4j+2..3] row r+8.
      const int row = un.m0 + cw * 64 + warp_in_wg * 16 + (lane >> 2);
      const int colb = un.n0 + (lane & 3) * 2;
      if constexpr (SPLIT) {
        float* ws = static_cast<float*>(out) + int64_t(un.part) * g.M * g.K;
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
          const int col = colb + 8 * j;
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int rr = row + 8 * h;
            if (rr >= g.M) continue;
            float* dst = ws + int64_t(rr) * g.K + col;
            if (even_k && col + 1 < g.K) {
              *reinterpret_cast<float2*>(dst) = make_float2(d[4 * j + 2 * h], d[4 * j + 2 * h + 1]);
            } else {
              if (col < g.K) dst[0] = d[4 * j + 2 * h];
              if (col + 1 < g.K) dst[1] = d[4 * j + 2 * h + 1];
            }
          }
        }
      } else {
        if constexpr (G::EPI > 0) {
          if (tma_y) {
            w::store_tile_tma<T, BN>(d, sC + cw * w::EPI_WG_BYTES, &tmY, un.m0 + cw * 64, un.n0, 0, 1 + cw);
            continue;
          }
        }
        uint16_t* y = static_cast<uint16_t*>(out);
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
          const int col = colb + 8 * j;
          if (row < g.M) tc::store_pair<T>(y, int64_t(row) * g.K, col, g.K, even_k, d[4 * j], d[4 * j + 1]);
          if (row + 8 < g.M) tc::store_pair<T>(y, int64_t(row + 8) * g.K, col, g.K, even_k, d[4 * j + 2], d[4 * j + 3]);
        }
      }
    }
    if (tma_y && (threadIdx.x & 127) == 0) w::bulk_wait_all();  // the last stores done before the CTA's memory goes
  }
#endif
}

// Every element summed over all `splits` parts.
struct AllParts {
  int splits;
  __device__ __forceinline__ int operator()(int64_t) const { return splits; }
};

// y[i] = sum over parts of ws[part][i] (parts(i) of them: 4 consecutive elements have as many), rounded to T; 4
// elements a thread.
// Launched by launch_after the split kernel: it may start while that kernel ends, and waits for its sums here.
template <typename T, typename Parts = AllParts>
__global__ void splitk_reduce(const float* __restrict__ ws, uint16_t* __restrict__ y, int64_t count, Parts parts) {
  grid_dependency_wait();
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
  if (i >= count) return;
  const int splits = parts(i);
  if (i + 4 <= count && (count & 3) == 0) {
    float4 a = *reinterpret_cast<const float4*>(ws + i);
    for (int s = 1; s < splits; ++s) {
      const float4 b = *reinterpret_cast<const float4*>(ws + int64_t(s) * count + i);
      a.x += b.x, a.y += b.y, a.z += b.z, a.w += b.w;
    }
    *reinterpret_cast<uint2*>(y + i) = make_uint2(tc::pack2<T>(a.x, a.y), tc::pack2<T>(a.z, a.w));
  } else {
    for (int64_t e = i; e < count && e < i + 4; ++e) {
      float a = 0.f;
      for (int s = 0, n = parts(e); s < n; ++s) a += ws[int64_t(s) * count + e];
      y[e] = tc::to_elem<T>(a);
    }
  }
}

// ---- bwd_filter: dW[K][Kg] = dY^T[K][M] * A[M][Kg], the reduction over the M output pixels ----------------------
// A GEMM whose A operand is dy read by TMA as the GEMM kernel reads a transposed A (MN-major: 128 output channels x
// 64 pixels per stage, two 64 x 64 boxes) and whose B operand is x's im2col tile: per stage 64 pixels x BN
// consecutive channels of one tap (C % BN == 0, so a BN-wide block of Kg never leaves its tap), MN-major as wgmma
// reads B there (BN / 64 boxes of 64 x 64, row = pixel, chunk c of row m at c ^ (m & 7)), loaded by TMA in im2col
// mode where the map allows (1.7-3.2x faster than the producer threads' gather at BN = 64, H100), else gathered by
// them. BN = 128 where C % 128 == 0: per stage 32 KB for 2 MFLOP, where BN = 64 reads 24 KB for 1 MFLOP (at 64 the
// kernel ran at the forward kernel's rate per stage, half its FLOPs). Each unit (a 128 x BN tile of dW and a range
// of pixels: the reduction is split, the output is small) writes fp32 partial sums to ws[part][K][Kg];
// splitk_reduce sums and rounds them.
namespace wgrad {
constexpr int BM = 128, BK = 64;  // BK: pixels per stage
template <int BN>
struct Cfg {
  static_assert(BN == 128 || BN == 64, "bwd_filter's BN must be 128 or 64");
  static constexpr int A_STAGE_BYTES = BM * BK * 2, B_STAGE_BYTES = BN * BK * 2;  // 16 KB + 16 or 8 KB
  static constexpr int STAGES = BN == 128 ? 6 : 8, LAG = STAGES - 2;
  static constexpr int SMEM_BYTES = tc::wg::pipeline_smem_bytes(STAGES, A_STAGE_BYTES, B_STAGE_BYTES);
};
}  // namespace wgrad

// SWAP (K <= 64, x by TMA): the roles turned, dW^T[Kg][K] = im2col(x)^T * dy, so that the 128 rows of the tile are
// Kg's (two 64-channel blocks, of one tap or of two) instead of K's 64 and padding: A is x's im2col tiles (MN-major
// as the unswapped B), B is dy's 64 x 64 box (MN-major as the unswapped A's), the same wgmma; the sums leave
// transposed.
template <typename T, int BN, bool SWAP = false>
__global__ void __launch_bounds__(THREADS, 1)
    conv_wgrad_kernel(const uint16_t* __restrict__ x, const __grid_constant__ CUtensorMap tmX, bool tma_x,
                      const __grid_constant__ CUtensorMap tmDy, float* __restrict__ ws, Geom g, int tiles_i,
                      int tiles_j, int whole, int splits, int kt_per) {
#if AM_TC_HAS_WGMMA
  grid_dependents_launch();  // the reduction may be scheduled now (it waits for the sums)
  // (the forward kernel's names, shadowed by this kernel's tile)
  using G = wgrad::Cfg<BN>;
  constexpr int BM = wgrad::BM, BK = wgrad::BK, STAGES = G::STAGES, LAG = G::LAG;
  constexpr int A_STAGE_BYTES = G::A_STAGE_BYTES, B_STAGE_BYTES = G::B_STAGE_BYTES;
  constexpr int NACC = BN / 2;
  namespace w = tc::wg;
  const auto [sA, sB, sC, full, empty] = w::pipeline_smem<STAGES, A_STAGE_BYTES, B_STAGE_BYTES>();
  (void)sC;
  const int KT = (g.M + BK - 1) / BK;
  // Blocks below `whole`: tile u (grouped order) over all the pixels; then the other tiles, each in `splits` parts
  // of kt_per stages (WgradPlan).
  const int u = int(blockIdx.x), v = u - whole;
  const int part = u < whole ? 0 : v % splits;
  int ti, tj;
  tile_coords(u < whole ? u : whole + v / splits, tiles_i, tiles_j, ti, tj);
  const int i0 = ti * BM, j0 = tj * BN;
  const int kt0 = u < whole ? 0 : part * kt_per;
  const int nk = u < whole ? KT : min(KT, kt0 + kt_per) - kt0;  // >= 1 (the launcher sizes splits so)
  const int wgi = threadIdx.x >> 7;

  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      w::mbar_init(&full[s], tma_x ? 1 : PRODUCERS + 1);
      w::mbar_init(&empty[s], 8);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  }
  __syncthreads();

  if (wgi == 0 && tma_x) {
    // ---------------- producer, both operands by TMA: dy tiled, x in im2col mode (64 pixels per load) ----------------
    if (threadIdx.x == 0) {
      // x's 64-channel blocks of the tile: BN / 64 of one tap at columns j0.. or (SWAP) two at rows i0.. (a block
      // past Kg loads the last tap again: its rows are not stored)
      constexpr int XB = SWAP ? BM / 64 : BN / 64;
      int xc[XB];
      uint16_t xow[XB], xoh[XB];
#pragma unroll
      for (int b = 0; b < XB; ++b) {
        const int kg = min((SWAP ? i0 : j0) + 64 * b, g.Kg - 64), tap = kg / g.C;
        xc[b] = kg - tap * g.C, xow[b] = uint16_t(tap % g.S * g.dw), xoh[b] = uint16_t(tap / g.S * g.dh);
      }
      uint8_t* const sX = SWAP ? sA : sB;
      uint8_t* const sDy = SWAP ? sB : sA;
      constexpr int X_STAGE = SWAP ? A_STAGE_BYTES : B_STAGE_BYTES, DY_STAGE = SWAP ? B_STAGE_BYTES : A_STAGE_BYTES;
      constexpr int DYB = SWAP ? BN / 64 : BM / 64;  // dy's 64 x 64 boxes: output channels (SWAP: columns j0..)
      const int dy0 = SWAP ? j0 : i0;
      const int m0 = kt0 * BK;  // the part's first output pixel, then BK more per stage
      int q = m0 % g.Q, p = m0 / g.Q % g.P, n = m0 / g.Q / g.P;
      for (int it = 0; it < nk; ++it) {
        const int s = it % STAGES;
        if (it >= STAGES) w::mbar_wait(&empty[s], ((it / STAGES) + 1) & 1);
        w::mbar_expect_tx(&full[s], A_STAGE_BYTES + B_STAGE_BYTES);
#pragma unroll
        for (int b = 0; b < DYB; ++b)
          w::tma_load_3d(sDy + s * DY_STAGE + b * 8192, &tmDy, &full[s], dy0 + b * 64, (kt0 + it) * BK, 0);
#pragma unroll
        for (int b = 0; b < XB; ++b)  // 64 channels a load (the 128-byte swizzle's row)
          w::tma_load_im2col(sX + s * X_STAGE + b * 8192, &tmX, &full[s], xc[b], q * g.sw - g.pw, p * g.sh - g.ph, n,
                             xow[b], xoh[b]);
        for (q += BK; q >= g.Q; q -= g.Q) {
          if (++p == g.P) p = 0, ++n;
        }
      }
    }
  } else if (wgi == 0 && !SWAP) {  // (SWAP runs with x by TMA only)
    // ---------------- producers: dy by TMA, x gathered ----------------
    const int pt = threadIdx.x, c8 = pt & 7, r0 = pt >> 3;  // rows (pixels) r0 + 16 t of each stage, chunk c8
    const int c0 = j0 % g.C, tap = j0 / g.C, sx = tap % g.S, r = tap / g.S;  // the tile's tap and first channel
    const int dh = r * g.dh - g.ph, dw = sx * g.dw - g.pw;
    // Each of this thread's 4 rows walks the pixels by BK per stage: (n, p, q) advanced, not divided.
    int n[4], p[4], q[4];
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      const int m = kt0 * BK + r0 + 16 * t;
      q[t] = m % g.Q;
      p[t] = (m / g.Q) % g.P;
      n[t] = m / g.Q / g.P;
    }
    const uint32_t dst_off = uint32_t(r0 * 128 + ((c8 ^ (r0 & 7)) << 4));
    for (int it = 0; it < nk; ++it) {
      const int s = it % STAGES;
      if (it >= STAGES) w::mbar_wait(&empty[s], ((it / STAGES) + 1) & 1);
      if (pt == 0) {  // dy[m][i] for 64 pixels x 128 channels: two 64 x 64 boxes along i
        w::mbar_expect_tx(&full[s], A_STAGE_BYTES);
#pragma unroll
        for (int b = 0; b < BM / 64; ++b)
          w::tma_load_3d(sA + s * A_STAGE_BYTES + b * 8192, &tmDy, &full[s], i0 + b * 64, (kt0 + it) * BK, 0);
      }
      const uint32_t b_st = smem_u32(sB + s * B_STAGE_BYTES) + dst_off;
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        const int hh = p[t] * g.sh + dh, ww = q[t] * g.sw + dw;
        const bool v = n[t] < g.N && unsigned(hh) < unsigned(g.H) && unsigned(ww) < unsigned(g.W);
        const uint16_t* src = v ? x + ((int64_t(n[t]) * g.H + hh) * g.W + ww) * g.C + c0 + c8 * 8 : x;
#pragma unroll
        for (int b = 0; b < BN / 64; ++b)  // box b: channels c0 + 64 b ..
          cp_async16(b_st + b * 8192 + t * 16 * 128, v ? src + 64 * b : x, v ? 16 : 0);
        for (q[t] += BK; q[t] >= g.Q; q[t] -= g.Q) {  // the next stage's pixel (n past N: zero-filled)
          if (++p[t] == g.P) p[t] = 0, ++n[t];
        }
      }
      asm volatile("cp.async.commit_group;\n" ::: "memory");
      if (it >= LAG) {
        asm volatile("cp.async.wait_group %0;\n" ::"n"(LAG) : "memory");
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
        w::mbar_arrive(&full[(it - LAG) % STAGES]);
      }
    }
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    for (int it = max(nk - LAG, 0); it < nk; ++it) w::mbar_arrive(&full[it % STAGES]);
  } else if (wgi > 0) {
    // ---------------- consumers: rows cw*64 .. cw*64+63 of the dW tile (SWAP: of dW^T's) ----------------
    const int cw = wgi - 1, lane = threadIdx.x & 31, warp_in_wg = (threadIdx.x >> 5) & 3;
    // Both operands MN-major (as the GEMM's transposed A and untransposed B): LBO = the next 64-wide box (8 KB),
    // SBO = 8 k-rows; +16 k-rows x 128 B per 16 k.
    const uint64_t da0 = w::desc_sw128(smem_u32(sA) + cw * 8192, 8192, 1024);
    const uint64_t db0 = w::desc_sw128(smem_u32(sB), 8192, 1024);
    float d[NACC];
#pragma unroll
    for (int i = 0; i < NACC; ++i) d[i] = 0.0f;
    for (unsigned it = 0; it < unsigned(nk); ++it) {
      const int s = int(it % STAGES);
      w::mbar_wait(&full[s], int(it / STAGES) & 1);
      const uint64_t da_s = w::desc_advance(da0, uint32_t(s) * A_STAGE_BYTES);
      const uint64_t db_s = w::desc_advance(db0, uint32_t(s) * B_STAGE_BYTES);
      w::fence_acc<NACC>(d);
      w::wg_fence();
#pragma unroll
      for (int kk = 0; kk < BK / 16; ++kk)
        w::wgmma_call<T, BN, 1, 1>(d, w::desc_advance(da_s, kk * 2048), w::desc_advance(db_s, kk * 2048));
      w::wg_commit();
      w::wg_wait<1>();
      w::fence_acc<NACC>(d);
      if (it > 0 && lane == 0) w::mbar_arrive(&empty[(it + STAGES - 1) % STAGES]);
    }
    w::wg_wait<0>();
    w::fence_acc<NACC>(d);
    // fp32 partial sums: fragment j covers columns 8j..8j+7; d[4j+0..1] row r, d[4j+2..3] row r+8.
    float* out = ws + int64_t(part) * g.K * g.Kg;
    const int row = i0 + cw * 64 + warp_in_wg * 16 + (lane >> 2);
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) {
      const int col = j0 + 8 * j + (lane & 3) * 2;  // Kg % BN == 0 (SWAP: K % 8 == 0): a pair never crosses the edge
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int rr = row + 8 * h;
        if constexpr (SWAP) {  // (kg, k) and (kg, k + 1) of dW^T: dW[k][kg], dW[k + 1][kg]
          if (rr < g.Kg && col < g.K) {
            out[int64_t(col) * g.Kg + rr] = d[4 * j + 2 * h];
            out[int64_t(col + 1) * g.Kg + rr] = d[4 * j + 2 * h + 1];
          }
        } else if (rr < g.K) {
          *reinterpret_cast<float2*>(out + int64_t(rr) * g.Kg + col) =
              make_float2(d[4 * j + 2 * h], d[4 * j + 2 * h + 1]);
        }
      }
    }
  }
#endif
}

struct Choice {
  int bn = 128;
  int splits = 1;  // k-parts per tile (after rounding: every part gets >= 1 k-slice)
  int kt_per = 0;  // k-slices per part
};

inline int kslices(const Geom& g) { return (g.Kg + BK - 1) / BK; }

// Rounds a requested split count so that every part gets at least one k-slice.
inline Choice make_choice(const Geom& g, int bn, int splits) {
  const int KT = kslices(g);
  Choice c;
  c.bn = bn;
  splits = std::max(1, std::min(splits, KT));
  c.kt_per = (KT + splits - 1) / splits;
  c.splits = (KT + c.kt_per - 1) / c.kt_per;
  return c;
}

// Split-K's workspace traffic in the time models' unit (one 128x128x64 k-slice of one block on a full SM, ~0.42 us,
// in which the L2/HBM path moves ~1 MB at ~2.5 TB/s): splits x rows x cols fp32 written and read back, the 16-bit
// result written, plus the reduction kernel's launch.
inline double splitk_traffic(int64_t rows, int64_t cols, double splits) {
  return double(rows) * double(cols) * (8.0 * splits + 2.0) / 1.05e6 + 2.0;
}

// A simple time model over (BN, split count): waves of blocks, each block costing
// its k-slices at a per-slot rate (one 128x128 block fills an SM; two 128x64 blocks
// share one at ~0.8 of that rate combined; a 128x256 block does twice a 128x128's work
// per slice in an assumed 0.9 of twice its time, reading half the filter bytes per
// FLOP), plus pipeline fill per block and the split-K workspace traffic.
inline Choice choose(const Geom& g, int sms) {
  const int KT = kslices(g);
  const int64_t tm = (g.M + BM - 1) / BM;
  double best_t = 1e300;
  Choice best = make_choice(g, 64, 1);
  for (int bn : {256, 128, 64}) {
    if (bn > 64 && g.K <= bn / 2) continue;
    const int64_t tiles = tm * ((g.K + bn - 1) / bn);
    const int slots = sms * (bn == 64 ? 2 : 1);
    // Time of one k-slice of one block, in units of a 128x128x64 slice on a full SM.
    const double slice = bn == 256 ? 2.0 * 0.9 : bn == 128 ? 1.0 : 2.0 * 0.5 / 0.8;
    for (int sp = 1; sp <= 8; ++sp) {
      const Choice c = make_choice(g, bn, sp);
      if (c.splits != sp && sp > 1) continue;
      if (c.splits > 1 && c.kt_per < 4) continue;
      const int64_t blocks = tiles * c.splits;
      const int64_t waves = (blocks + slots - 1) / slots;
      double t = double(waves) * (c.kt_per + 3) * slice;
      if (c.splits > 1) t += splitk_traffic(g.M, g.K, c.splits);
      if (t < best_t * 0.97) best_t = t, best = c;
    }
  }
  (void)KT;
  return best;
}

inline size_t workspace_bytes(const Geom& g, const Choice& c) {
  return c.splits > 1 ? size_t(c.splits) * size_t(g.M) * size_t(g.K) * sizeof(float) : 0;
}

// The kernel's tensor maps: x in im2col mode where TMA can gather it (x_by_tma; else the producer threads gather
// it); W[K][Kg] (Kg contiguous), boxes of 64 x BN, 128-byte swizzle; and y[M][K], boxes of 64 x 64, where the
// TMA-store epilogue runs (the 128- and 256-wide tiles unsplit, K a multiple of 8: 16-byte rows). gather: the
// producer threads gather x wherever (AIMATRIX_IGEMM_KERNEL=..._gather, to compare). w_krsc: bwd_data's original
// filter, of which w is the flipped copy the flip kernel writes; where C % 64 == 0 and its rows are 16-byte
// multiples the kernel reads it instead (w_t), as a {K, RS, C} map of 64 x 1 x 64 boxes, and w is not needed.
struct Maps {
  CUtensorMap x{}, w{}, y{};
  bool tma_x = false, tma_y = false, w_t = false;
};
inline bool filter_by_tma_transposed(const Geom& g, const void* w_krsc) {
  return w_krsc && g.C % BK == 0 && g.K % 8 == 0 && reinterpret_cast<uintptr_t>(w_krsc) % 16 == 0;
}
inline Maps make_maps(const void* x, const void* w, const void* y, bool bf16, const Geom& g, const Choice& c,
                      bool gather = false, const void* w_krsc = nullptr) {
  const CUtensorMapDataType type = bf16 ? tc::wgimpl::map_type<tc::Bf16> : tc::wgimpl::map_type<tc::F16>;
  Maps m;
  m.tma_x = !gather && x_by_tma(g, x);
  if (m.tma_x) m.x = make_x_map(x, type, g, BM);
  m.w_t = filter_by_tma_transposed(g, w_krsc);
  if (m.w_t) m.w = tc::wgimpl::make_map(w_krsc, type, 2, g.K, g.R * g.S, g.C, 64, 1, BK);
  else m.w = tc::wgimpl::make_map(w, type, 2, g.Kg, g.K, 1, BK, uint32_t(c.bn));
  m.tma_y = c.bn >= 128 && c.splits == 1 && g.K % 8 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  if (m.tma_y) m.y = tc::wgimpl::make_map(y, type, 2, g.K, g.M, 1, 64, 64);
  return m;
}

template <typename T, int BN, bool SPLIT, bool WT>
void launch_wt(const Geom& g, const Maps& maps, const void* x, void* out, const Choice& c, cudaStream_t st) {
  auto kernel = conv_wg_kernel<T, BN, SPLIT, WT>;
  raise_smem_limit(kernel, Cfg<BN>::SMEM_BYTES);
  const int tiles_m = (g.M + BM - 1) / BM, tiles_n = (g.K + BN - 1) / BN;
  // Persistent: as many blocks as run at once (Cfg::MIN_BLOCKS per SM), each looping over the units.
  const int64_t units = int64_t(tiles_m) * tiles_n * c.splits;
  const int64_t blocks = std::min<int64_t>(units, int64_t(sm_count_current_device()) * Cfg<BN>::MIN_BLOCKS);
  kernel<<<unsigned(blocks), THREADS, Cfg<BN>::SMEM_BYTES, st>>>(static_cast<const uint16_t*>(x), maps.x, maps.tma_x,
                                                                 maps.w, maps.y, maps.tma_y && !SPLIT, out, g, tiles_m,
                                                                 tiles_n, c.splits, c.kt_per);
  AM_CUDA_CHECK_LAUNCH();
}
template <typename T, int BN, bool SPLIT>
void launch_t(const Geom& g, const Maps& maps, const void* x, void* out, const Choice& c, cudaStream_t st) {
  if (maps.w_t) launch_wt<T, BN, SPLIT, true>(g, maps, x, out, c, st);
  else launch_wt<T, BN, SPLIT, false>(g, maps, x, out, c, st);
}

// One convolution: maps made for c over w and y; ws holds workspace_bytes(g, c).
template <typename T>
void launch(const Geom& g, const Maps& maps, const void* x, void* y, void* ws, const Choice& c, cudaStream_t st) {
  if (c.splits > 1) {
    if (c.bn == 256) launch_t<T, 256, true>(g, maps, x, ws, c, st);
    else if (c.bn == 128) launch_t<T, 128, true>(g, maps, x, ws, c, st);
    else launch_t<T, 64, true>(g, maps, x, ws, c, st);
    const int64_t count = int64_t(g.M) * g.K;
    const int64_t threads = (count + 3) / 4;
    launch_after(splitk_reduce<T, AllParts>, dim3(unsigned((threads + 255) / 256)), dim3(256), 0, st,
                 static_cast<const float*>(ws), static_cast<uint16_t*>(y), count, AllParts{c.splits});
  } else {
    if (c.bn == 256) launch_t<T, 256, false>(g, maps, x, y, c, st);
    else if (c.bn == 128) launch_t<T, 128, false>(g, maps, x, y, c, st);
    else launch_t<T, 64, false>(g, maps, x, y, c, st);
  }
}
// bwd_filter's tile width and split of the pixels: BN 128 where C % 128 == 0 (unless bn says 64); swap: K <= 64
// with x by TMA (the turned roles: 128 rows of Kg, not 64 of K and padding), unless bn says otherwise. The first
// `whole` tiles (grouped order) run one block each over all the pixels; the others in `splits` parts of kt_per
// stages, one block each (every part at least one stage). Chosen: the plan of least modelled time -- waves of one
// block per SM (the stages fill its shared memory), each costing its part's stages plus the pipeline's fill, and
// the workspace's traffic (every part's sums written, read back and summed) -- among the even splits (whole 0, each
// part at least 4 stages) and, with more tiles than SMs, whole waves of whole tiles then the rest split into a wave
// or more of short parts (layer4: 144 tiles on 132 SMs leave a second wave of 12 blocks, or a third of 24 with two
// parts each, where 132 whole tiles then 12 in 11 parts fill two). `splits` / `whole` >= 0 force them (whole 0 with
// splits alone). ws holds wgrad_workspace_bytes(g, plan).
struct WgradPlan {
  int bn, splits, kt_per;
  bool swap;
  int whole = 0;
};
struct WgradTiles {
  int i, j;  // tile rows (of K, or with swap of Kg: 128 each) and columns (of Kg, or of K: bn each)
};
inline WgradTiles wgrad_tiles(const Geom& g, int bn, bool swap) {
  return swap ? WgradTiles{(g.Kg + wgrad::BM - 1) / wgrad::BM, (g.K + bn - 1) / bn}
              : WgradTiles{(g.K + wgrad::BM - 1) / wgrad::BM, g.Kg / bn};
}
inline WgradPlan wgrad_plan(const Geom& g, int sms, bool tma_x, int bn = 0, int splits = 0, int whole = -1) {
  const bool swap = bn == 0 && tma_x && g.K <= 64;
  if (bn == 0) bn = !swap && g.C % 128 == 0 ? 128 : 64;
  const WgradTiles t = wgrad_tiles(g, bn, swap);
  const int64_t tiles = int64_t(t.i) * t.j;
  const int KT = (g.M + wgrad::BK - 1) / wgrad::BK;
  const auto plan = [&](int sp, int64_t wh) {  // sp parts rounded so that each gets >= 1 stage
    const int kt_per = (KT + sp - 1) / sp;
    return WgradPlan{bn, (KT + kt_per - 1) / kt_per, kt_per, swap, int(std::min(wh, tiles))};
  };
  if (splits > 0) return plan(std::min(splits, KT), std::max(whole, 0));
  const double slice = bn == 128 ? 1.0 : 0.6;  // a 128x64 stage against a 128x128 one, assumed
  const auto time = [&](const WgradPlan& p) {
    const int64_t rest = tiles - p.whole;
    const int64_t waves = (p.whole + sms - 1) / sms, rest_waves = (rest * p.splits + sms - 1) / sms;
    const double parts = (double(p.whole) + double(rest) * p.splits) / double(tiles);  // per element, on average
    return (double(waves) * (KT + 3) + double(rest_waves) * (p.kt_per + 3)) * slice + splitk_traffic(g.K, g.Kg, parts);
  };
  WgradPlan best = plan(1, 0);
  double best_t = 1e300;
  for (int pass = 0; pass < 2; ++pass) {  // even splits, then whole waves of whole tiles and the rest split
    const int64_t wh = pass == 0 ? 0 : tiles / sms * sms;
    if (pass == 1 && (wh == 0 || wh == tiles)) break;
    for (int sp = 1; sp <= std::min(KT, 4 * sms); ++sp) {
      const WgradPlan p = plan(sp, wh);
      if (p.splits != sp || (sp > 1 && p.kt_per < 4 && wh == 0)) continue;
      const double t = time(p);
      if (t < best_t * 0.97) best_t = t, best = p;
    }
  }
  return best;
}
inline size_t wgrad_workspace_bytes(const Geom& g, const WgradPlan& plan) {
  return size_t(plan.splits) * size_t(g.K) * size_t(g.Kg) * sizeof(float);
}

// bwd_filter's maps: dy as a {K, M} matrix, 64 x 64 boxes; x in im2col mode, 64 pixels a load, where TMA can (and
// gather is false), else the producer threads gather it.
struct WgradMaps {
  CUtensorMap dy{}, x{};
  bool tma_x = false;
};
inline WgradMaps make_wgrad_maps(const void* x, const void* dy, bool bf16, const Geom& g, bool gather) {
  const CUtensorMapDataType type = bf16 ? tc::wgimpl::map_type<tc::Bf16> : tc::wgimpl::map_type<tc::F16>;
  WgradMaps m;
  m.dy = tc::wgimpl::make_map(dy, type, 2, g.K, g.M, 1, 64, 64);
  m.tma_x = !gather && x_by_tma(g, x);
  if (m.tma_x) m.x = make_x_map(x, type, g, wgrad::BK);
  return m;
}

template <typename T, int BN, bool SWAP>
void launch_wgrad_bn(const Geom& g, const WgradMaps& maps, const void* x, void* ws, const WgradPlan& plan,
                     cudaStream_t st) {
  auto kernel = conv_wgrad_kernel<T, BN, SWAP>;
  raise_smem_limit(kernel, wgrad::Cfg<BN>::SMEM_BYTES);
  const WgradTiles t = wgrad_tiles(g, BN, SWAP);
  const int blocks = plan.whole + (t.i * t.j - plan.whole) * plan.splits;
  kernel<<<unsigned(blocks), THREADS, wgrad::Cfg<BN>::SMEM_BYTES, st>>>(static_cast<const uint16_t*>(x), maps.x,
                                                                        maps.tma_x, maps.dy, static_cast<float*>(ws), g,
                                                                        t.i, t.j, plan.whole, plan.splits, plan.kt_per);
  AM_CUDA_CHECK_LAUNCH();
}
// The parts summed for an element of dW[K][Kg]: 1 in the tiles run whole, `splits` in the others.
struct WgradParts {
  int whole, splits, tiles_i, tiles_j, kg, bn;
  bool swap;  // the tiles' rows are Kg's (128 a tile), their columns K's (bn)
  __device__ __forceinline__ int operator()(int64_t e) const {
    const int k = int(e / kg), c = int(e - int64_t(k) * kg);
    const int ti = swap ? c / wgrad::BM : k / wgrad::BM, tj = swap ? k / bn : c / bn;
    return tile_index(ti, tj, tiles_i, tiles_j) < whole ? 1 : splits;
  }
};

template <typename T>
void launch_wgrad(const Geom& g, const WgradMaps& maps, const void* x, void* dw, void* ws, const WgradPlan& plan,
                  cudaStream_t st) {
  if (plan.swap) launch_wgrad_bn<T, 64, true>(g, maps, x, ws, plan, st);
  else if (plan.bn == 128) launch_wgrad_bn<T, 128, false>(g, maps, x, ws, plan, st);
  else launch_wgrad_bn<T, 64, false>(g, maps, x, ws, plan, st);
  const int64_t count = int64_t(g.K) * g.Kg;  // a multiple of 4: K % 8 == 0
  const WgradTiles t = wgrad_tiles(g, plan.bn, plan.swap);
  const WgradParts parts{plan.whole, plan.splits, t.i, t.j, g.Kg, plan.bn, plan.swap};
  launch_after(splitk_reduce<T, WgradParts>, dim3(unsigned((count / 4 + 255) / 256)), dim3(256), 0, st,
               static_cast<const float*>(ws), static_cast<uint16_t*>(dw), count, parts);
}
}  // namespace wgc

}  // namespace am::cuda::igemm
