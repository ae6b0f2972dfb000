// Internal to the tensor-core GEMM (gemm_tc*.cu): kernel templates and the
// launchers each gemm_tc_*.cu instantiates. Layout as in common/gemm_spec.hpp:
// row-major C[m,n] = op(A)[m,k] op(B)[k,n]; A stored [m,k] ([k,m] when trans_a),
// B stored [k,n] ([n,k] when trans_b); `batch` problems back to back.
//
// Two kernels:
//  * mma_gemm_kernel: mma.sync.m16n8k16 + ldmatrix, cp.async 4-stage pipeline,
//    padded shared memory, 128x128x32 block tile, 8 warps (64x32 warp tiles).
//    Runs on sm_80 and newer. AL=true: 16-byte cp.async with zero fill (the
//    contiguous dimension of A and B a multiple of 8 elements, 16-byte aligned
//    pointers); AL=false: bounds-checked element loads, any shape.
//  * wg_gemm_kernel (sm_90a only): warp-specialised TMA + wgmma. One producer
//    warpgroup (one thread issues the bulk tensor copies), two consumer
//    warpgroups each computing 64xBN of a 128xBN tile with wgmma.m64nBNk16
//    (BN = 256 / 128 / 64: 4 / 6 / 8 stages of 48 / 32 / 24 KB, 64-deep K
//    slices), mbarrier full/empty pipeline with one k-slice of wgmma kept in
//    flight, 128-byte swizzled shared memory, all four transposes through the
//    wgmma transpose bits. Persistent when launched with one block per SM (the
//    producer runs ahead into the next tile while the consumers store). Or in
//    clusters of two CTAs whose tiles share an operand, loaded once for both
//    through TMA multicast (wg::Share, AIMATRIX_WGMMA_CLUSTER). C leaves
//    through shared memory and TMA stores (store_tile_tma) where n % 8 == 0,
//    else from registers.
//    Needs the contiguous dimension of A and B a multiple of 8 elements and
//    16-byte aligned pointers (TMA's rules); any m, n, k otherwise (TMA
//    zero-fills out-of-range boxes and clips its stores, the register epilogue
//    is bounds-checked).
#pragma once
#include <cuda.h>  // CUtensorMap (types only; the encoder is fetched at run time)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "common/gemm_spec.hpp"
#include "cuda/launch_util.cuh"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define AM_TC_HAS_WGMMA 1
#else
#define AM_TC_HAS_WGMMA 0
#endif

namespace am::cuda::tc {

struct Bf16 {};
struct F16 {};
struct E4M3 {};  // fp8 inputs (OCP e4m3), bf16 output: the wgmma kernel only, TN layout

// Bytes of an input element, and the output's element type (bf16 for fp8, as cuBLASLt's fp8 GEMM gives it).
template <typename T>
constexpr int in_bytes = std::is_same<T, E4M3>::value ? 1 : 2;
template <typename T>
using OutOf = std::conditional_t<std::is_same<T, E4M3>::value, Bf16, T>;

// ---- launchers (defined in gemm_tc_mma.cu / gemm_tc_wgmma.cu) ---------------------
template <typename T, bool TA, bool TB, bool AL>
void launch_mma(const GemmSpec& s, const void* a, const void* b, void* c, cudaStream_t stream);

template <typename T, bool TA, bool TB>
void launch_wgmma(const GemmSpec& s, const void* a, const void* b, void* c, cudaStream_t stream);

// True when the loaded module holds the real sm_90a wgmma kernel for the
// current device (false when the binary was built without sm_90a).
bool wgmma_compiled_for_current_device();

// Tuning knobs of the wgmma path for the bench harness (not an API):
// block-tile width (0: by problem size, else 64, 128 or 256) and grid form
// (-1: by problem size, 0: one block per tile, 1: persistent, one per SM).
extern int g_wgmma_bn;
extern int g_wgmma_persistent;
// Pairs of CTAs sharing an operand through TMA multicast (wg::Share): -1 by problem size, 0 never, 1 always
// (B shared for 128x256 and 128x128 tiles, A for 128x64); at -1, AIMATRIX_WGMMA_CLUSTER=0|1 decides when set.
extern int g_wgmma_cluster;
// The epilogue: 1 (default) through shared memory and TMA stores where C's rows allow it, 0 always from registers.
extern int g_wgmma_tma_store;
// The choice the wgmma path makes for a problem (tiles of 128 x bn; share: a wg::Share; tma_c: C stored by TMA).
struct WgmmaChoice {
  int bn;
  bool persistent;
  int share;
  bool tma_c;
};
WgmmaChoice wgmma_choice(const GemmSpec& s, int num_sms);

// Problems per launch along grid z.
constexpr int64_t kMaxGridZ = 65535;

// ---- shared helpers ------------------------------------------------------------
__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack2<Bf16>(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}
template <>
__device__ __forceinline__ uint32_t pack2<F16>(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}
template <typename T>
__device__ __forceinline__ uint16_t to_elem(float x) {
  return static_cast<uint16_t>(pack2<T>(x, 0.0f) & 0xffffu);
}

using am::cuda::block_origin;  // cuda/launch_util.cuh
using am::cuda::tile_coords;

// Store a pair (col, col+1) of one output row, bounds-checked.
template <typename T>
__device__ __forceinline__ void store_pair(uint16_t* C, int64_t row_off, int col, int N, bool even_n, float v0,
                                           float v1) {
  if (even_n && col + 1 < N) {
    *reinterpret_cast<uint32_t*>(C + row_off + col) = pack2<T>(v0, v1);
  } else {
    if (col < N) C[row_off + col] = to_elem<T>(v0);
    if (col + 1 < N) C[row_off + col + 1] = to_elem<T>(v1);
  }
}

// =====================================================================================
// mma.sync kernel
// =====================================================================================
namespace mma {
constexpr int BM = 128, BN = 128, BK = 32, STAGES = 4, THREADS = 256, PAD = 8;

template <bool TA, bool TB>
struct Smem {
  static constexpr int A_LD = TA ? BM + PAD : BK + PAD;  // elements per smem row
  static constexpr int A_ROWS = TA ? BK : BM;
  static constexpr int B_LD = TB ? BK + PAD : BN + PAD;
  static constexpr int B_ROWS = TB ? BN : BK;
  static constexpr int A_STAGE = A_ROWS * A_LD;
  static constexpr int B_STAGE = B_ROWS * B_LD;
  static constexpr int BYTES = STAGES * (A_STAGE + B_STAGE) * 2;
};

__device__ __forceinline__ void cp_async16(uint32_t saddr, const void* g, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(saddr), "l"(g), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// Copies an R x CC tile (storage orientation: CC contiguous) whose top-left
// element is (r0, c0) of a [rmax][cmax] matrix with row length ld, into shared
// memory rows of sld elements. Out-of-range elements become zero.
template <int R, int CC, bool AL>
__device__ __forceinline__ void load_tile(uint16_t* s, int sld, const uint16_t* __restrict__ g, int r0, int c0, int ld,
                                          int rmax, int cmax, int tid) {
  constexpr int CH = CC / 8;
  constexpr int TOTAL = R * CH;
  static_assert(TOTAL % THREADS == 0, "tile chunks must divide among the threads");
#pragma unroll
  for (int it = 0; it < TOTAL / THREADS; ++it) {
    const int i = tid + it * THREADS;
    const int r = i / CH, c = (i % CH) * 8;
    const int gr = r0 + r, gc = c0 + c;
    uint16_t* dst = s + r * sld + c;
    if constexpr (AL) {
      // cmax % 8 == 0 and gc % 8 == 0: the 8-element chunk is wholly in or out.
      const bool v = gr < rmax && gc < cmax;
      const uint16_t* src = v ? g + int64_t(gr) * ld + gc : g;
      cp_async16(smem_u32(dst), src, v ? 16 : 0);
    } else {
      uint32_t w[4];
      const bool rv = gr < rmax;
      const uint16_t* src = g + int64_t(rv ? gr : 0) * ld;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int c0j = gc + 2 * j;
        const uint32_t lo = (rv && c0j < cmax) ? src[c0j] : 0u;
        const uint32_t hi = (rv && c0j + 1 < cmax) ? src[c0j + 1] : 0u;
        w[j] = lo | (hi << 16);
      }
      *reinterpret_cast<uint4*>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
    }
  }
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

template <typename T>
__device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same<T, Bf16>::value) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

template <typename T, bool TA, bool TB, bool AL>
__global__ void __launch_bounds__(THREADS, 2)
    mma_gemm_kernel(const uint16_t* __restrict__ A, const uint16_t* __restrict__ B, uint16_t* __restrict__ C, int M,
                    int N, int K, int tiles_m, int tiles_n, int64_t batch0) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using L = Smem<TA, TB>;
  extern __shared__ __align__(128) uint16_t smem[];
  uint16_t* sA = smem;
  uint16_t* sB = smem + STAGES * L::A_STAGE;

  int m0, n0;
  block_origin(A, B, C, M, N, K, tiles_m, tiles_n, batch0, BM, BN, m0, n0);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;  // 2 x 4 warps, 64 x 32 each
  const int KT = (K + BK - 1) / BK;

  auto load_stage = [&](int kt, int slot) {
    const int k0 = kt * BK;
    uint16_t* a = sA + slot * L::A_STAGE;
    uint16_t* b = sB + slot * L::B_STAGE;
    if constexpr (!TA) load_tile<BM, BK, AL>(a, L::A_LD, A, m0, k0, K, M, K, tid);
    else load_tile<BK, BM, AL>(a, L::A_LD, A, k0, m0, M, K, M, tid);
    if constexpr (TB) load_tile<BN, BK, AL>(b, L::B_LD, B, n0, k0, K, N, K, tid);
    else load_tile<BK, BN, AL>(b, L::B_LD, B, k0, n0, N, K, N, tid);
  };

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    if (st < KT) load_stage(st, st);
    cp_async_commit();
  }

  const int q = lane >> 3, r8 = lane & 7;
  for (int kt = 0; kt < KT; ++kt) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();
    {
      const int nk = kt + STAGES - 1;
      if (nk < KT) load_stage(nk, nk % STAGES);
      cp_async_commit();
    }
    const int slot = kt % STAGES;
    const uint16_t* a = sA + slot * L::A_STAGE;
    const uint16_t* b = sB + slot * L::B_STAGE;
#pragma unroll
    for (int ks = 0; ks < BK / 16; ++ks) {
      uint32_t af[4][4], bfr[4][2];
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) {
        const int mr = wm * 64 + mi * 16;
        if constexpr (!TA) {
          ldsm_x4(af[mi], smem_u32(a + (mr + (lane & 15)) * L::A_LD + ks * 16 + (lane >> 4) * 8));
        } else {
          ldsm_x4_t(af[mi], smem_u32(a + (ks * 16 + r8 + (q >> 1) * 8) * L::A_LD + mr + (q & 1) * 8));
        }
      }
#pragma unroll
      for (int nj = 0; nj < 2; ++nj) {
        const int nc = wn * 32 + nj * 16;
        uint32_t t[4];
        if constexpr (TB) {
          ldsm_x4(t, smem_u32(b + (nc + r8 + (q >> 1) * 8) * L::B_LD + ks * 16 + (q & 1) * 8));
        } else {
          ldsm_x4_t(t, smem_u32(b + (ks * 16 + r8 + (q & 1) * 8) * L::B_LD + nc + (q >> 1) * 8));
        }
        bfr[2 * nj][0] = t[0];
        bfr[2 * nj][1] = t[1];
        bfr[2 * nj + 1][0] = t[2];
        bfr[2 * nj + 1][1] = t[3];
      }
#pragma unroll
      for (int mi = 0; mi < 4; ++mi)
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) mma16816<T>(acc[mi][ni], af[mi], bfr[ni][0], bfr[ni][1]);
    }
  }
  cp_async_wait<0>();

  const bool even_n = (N & 1) == 0;
#pragma unroll
  for (int mi = 0; mi < 4; ++mi) {
    const int row = m0 + wm * 64 + mi * 16 + (lane >> 2);
#pragma unroll
    for (int ni = 0; ni < 4; ++ni) {
      const int col = n0 + wn * 32 + ni * 8 + (lane & 3) * 2;
      if (row < M) store_pair<T>(C, int64_t(row) * N, col, N, even_n, acc[mi][ni][0], acc[mi][ni][1]);
      if (row + 8 < M) store_pair<T>(C, int64_t(row + 8) * N, col, N, even_n, acc[mi][ni][2], acc[mi][ni][3]);
    }
  }
#endif
}
}  // namespace mma

// =====================================================================================
// wgmma + TMA kernel (sm_90a)
// =====================================================================================
namespace wg {
constexpr int BM = 128, BK = 64;
constexpr int THREADS = 384;                // warpgroup 0: producer; 1, 2: consumers
constexpr int BOX_MN = 64;                  // 64 elements = 128 bytes: one swizzle row
constexpr int A_STAGE_BYTES = BM * BK * 2;  // 16 KB

// The dynamic shared memory of a TMA + wgmma pipeline (this one, and the wgmma convolution's), from its first
// 1024-byte boundary (the 128-byte swizzle's alignment): `stages` A tiles, `stages` B tiles, `epi_bytes` of
// epilogue staging (sC), then a "full" and an "empty" mbarrier per stage.
constexpr int pipeline_smem_bytes(int stages, int a_stage_bytes, int b_stage_bytes, int epi_bytes = 0) {
  return stages * (a_stage_bytes + b_stage_bytes) + epi_bytes + 2 * stages * 8 + 1024;
}
struct PipelineSmem {
  uint8_t* sA;
  uint8_t* sB;
  uint8_t* sC;
  uint64_t* full;
  uint64_t* empty;
};
// The epilogue's staging: per consumer warpgroup two 64 x 64 boxes of 16-bit outputs (16 KB), 32 KB in all.
constexpr int EPI_BOX_BYTES = 64 * 64 * 2, EPI_WG_BYTES = 2 * EPI_BOX_BYTES, EPI_BYTES = 2 * EPI_WG_BYTES;

// Per block-tile width BN (64, 128 or 256): stages and shared memory.
template <int BN>
struct Cfg {
  static_assert(BN == 64 || BN == 128 || BN == 256, "BN must be 64, 128 or 256");
  static constexpr int B_STAGE_BYTES = BN * BK * 2;
  static constexpr int STAGES = 192 * 1024 / (A_STAGE_BYTES + B_STAGE_BYTES);  // 4, 6, 8: 192 KB of operand stages
  static constexpr int SMEM_BYTES = pipeline_smem_bytes(STAGES, A_STAGE_BYTES, B_STAGE_BYTES, EPI_BYTES);
  static_assert(SMEM_BYTES <= 227 * 1024, "over the H100's shared memory per block");
};

// Which operand a cluster of two CTAs shares (wg_gemm_kernel).
enum Share { SHARE_NONE = 0, SHARE_B = 1, SHARE_A = 2 };

#if AM_TC_HAS_WGMMA
template <int STAGES, int A_STAGE, int B_STAGE, int EPI = 0>
__device__ __forceinline__ PipelineSmem pipeline_smem() {
  extern __shared__ uint8_t smem_raw[];
  uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  uint8_t* sB = base + STAGES * A_STAGE;
  uint8_t* sC = sB + STAGES * B_STAGE;
  uint64_t* full = reinterpret_cast<uint64_t*>(sC + EPI);
  return {base, sB, sC, full, full + STAGES};
}

__device__ __forceinline__ void mbar_init(uint64_t* bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, unsigned parity) {
  asm volatile(
      "{\n"
      ".reg .pred P1;\n"
      "WAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 P1, [%0], %1;\n"
      "@!P1 bra WAIT_%=;\n"
      "}\n" ::"r"(smem_u32(bar)),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void tma_load_3d(void* dst, const CUtensorMap* map, uint64_t* bar, int c0, int c1, int c2) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], "
      "[%5];\n" ::"r"(smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(smem_u32(bar))
      : "memory");
}
// An im2col box of an NHWC tensor (its map made by cuTensorMapEncodeIm2col): the map's pixelsPerColumn pixels from
// (w, h, n) on, in the map's traversal order and strides, each pixel's channels c.. at the tap offset (ow, oh);
// pixels outside the tensor read as zeros.
__device__ __forceinline__ void tma_load_im2col(void* dst, const CUtensorMap* map, uint64_t* bar, int c, int w, int h,
                                                int n, uint16_t ow, uint16_t oh) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.im2col.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, "
      "%5}], [%6], {%7, %8};\n" ::"r"(smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c), "r"(w), "r"(h), "r"(n), "r"(smem_u32(bar)), "h"(ow), "h"(oh)
      : "memory");
}
// The same copy into this offset of every CTA of the cluster in `mask`, each CTA's `bar` counting its bytes.
__device__ __forceinline__ void tma_load_3d_mc(void* dst, const CUtensorMap* map, uint64_t* bar, int c0, int c1, int c2,
                                               uint16_t mask) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1, {%2, "
      "%3, %4}], [%5], %6;\n" ::"r"(smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(smem_u32(bar)), "h"(mask)
      : "memory");
}
// A box of shared memory to global through the tensor map (rows and columns past the map's edge are not written),
// as one of this thread's bulk groups; the two waits: the group's reads of shared memory done (the buffer may be
// written again), and the whole group done (before the CTA exits).
__device__ __forceinline__ void tma_store_3d(const CUtensorMap* map, const void* src, int c0, int c1, int c2) {
  asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%2, %3, %4}], [%1];\n" ::"l"(
                   reinterpret_cast<uint64_t>(map)),
               "r"(smem_u32(src)), "r"(c0), "r"(c1), "r"(c2)
               : "memory");
}
__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void bulk_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
__device__ __forceinline__ void bulk_wait_all() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }
// The generic proxy's shared-memory writes made visible to the copy engine (the async proxy).
__device__ __forceinline__ void fence_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// A barrier of `threads` threads only (one warpgroup): id 0 is __syncthreads'.
__device__ __forceinline__ void named_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
// Arrive on the mbarrier at `bar`'s offset in the cluster's CTA `cta` (this CTA's too). CTA-scope release, as
// CUTLASS's pipelines do: what it orders is this warp's wgmma reads of the stage, already complete; a
// cluster-scope release compiles to MEMBAR.ALL.GPU, which waits for every store in flight (3x slower GEMMs).
__device__ __forceinline__ void mbar_arrive_cta(uint64_t* bar, uint32_t cta) {
  uint32_t remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(remote) : "r"(smem_u32(bar)), "r"(cta));
  asm volatile("mbarrier.arrive.shared::cluster.b64 _, [%0];\n" ::"r"(remote) : "memory");
}
__device__ __forceinline__ uint32_t cluster_rank() {
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
}
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
// Shared-memory matrix descriptor, 128-byte swizzle.
__device__ __forceinline__ uint64_t desc_sw128(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  return uint64_t((addr & 0x3FFFF) >> 4) | (uint64_t((lbo >> 4) & 0x3FFF) << 16) |
         (uint64_t((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}
// The descriptor of the operand `bytes` further on: the start-address field is the low 14 bits (address >> 4),
// and shared memory ends below 256 KB, so the addition never carries out of it. One add instead of rebuilding
// the descriptor (mask, shift, or, per wgmma: most of the consumer loop's instructions).
__device__ __forceinline__ uint64_t desc_advance(uint64_t desc, uint32_t bytes) {
  return (desc & ~0xFFFFFFFFull) | uint32_t(uint32_t(desc) + (bytes >> 4));  // a 32-bit add: no carry to track
}
__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wg_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
template <int R>
__device__ __forceinline__ void fence_acc(float* d) {
  // Keep the accumulator registers ordered around the asynchronous wgmma.
#pragma unroll
  for (int i = 0; i < R; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

#include "cuda/gemm_tc_wgmma_asm.inc"
AM_WGMMA_M64N256K16(wgmma256_bf16, "bf16")
AM_WGMMA_M64N256K16(wgmma256_f16, "f16")
AM_WGMMA_M64N128K16(wgmma128_bf16, "bf16")
AM_WGMMA_M64N128K16(wgmma128_f16, "f16")
AM_WGMMA_M64N64K16(wgmma64_bf16, "bf16")
AM_WGMMA_M64N64K16(wgmma64_f16, "f16")
AM_WGMMA_M64N256K32(wgmma256_e4m3, "e4m3")
AM_WGMMA_M64N128K32(wgmma128_e4m3, "e4m3")
AM_WGMMA_M64N64K32(wgmma64_e4m3, "e4m3")

// One wgmma.m64nBNk16 (k32 for fp8: 32 bytes of K either way; the GEMM's and the wgmma convolution's).
template <typename T, int BN, int TNSP_A, int TNSP_B>
__device__ __forceinline__ void wgmma_call(float* d, uint64_t da, uint64_t db) {
  constexpr bool bf = std::is_same<T, Bf16>::value;
  if constexpr (std::is_same<T, E4M3>::value) {
    static_assert(TNSP_A == 0 && TNSP_B == 0, "fp8 wgmma takes K-major operands only");
    if constexpr (BN == 256) wgmma256_e4m3<0, 0>(d, da, db);
    else if constexpr (BN == 128) wgmma128_e4m3<0, 0>(d, da, db);
    else wgmma64_e4m3<0, 0>(d, da, db);
  } else if constexpr (BN == 256) {
    if constexpr (bf) wgmma256_bf16<TNSP_A, TNSP_B>(d, da, db);
    else wgmma256_f16<TNSP_A, TNSP_B>(d, da, db);
  } else if constexpr (BN == 128) {
    if constexpr (bf) wgmma128_bf16<TNSP_A, TNSP_B>(d, da, db);
    else wgmma128_f16<TNSP_A, TNSP_B>(d, da, db);
  } else {
    static_assert(BN == 64, "wgmma_call: BN must be 64, 128 or 256");
    if constexpr (bf) wgmma64_bf16<TNSP_A, TNSP_B>(d, da, db);
    else wgmma64_f16<TNSP_A, TNSP_B>(d, da, db);
  }
}

// One k-slice of an operand into a stage: ROWS / 64 boxes of 8 KB along its MN dimension (MN-major) or one box of
// ROWS rows (K-major); whole, or (half) this CTA's half of it, multicast to both CTAs of the pair.
template <bool MN_MAJOR, int ROWS>
__device__ __forceinline__ void load_operand(uint8_t* dst, const CUtensorMap* map, uint64_t* bar, int k0, int mn0,
                                             int bz, bool half, uint32_t rank) {
  if constexpr (!MN_MAJOR) {
    if (!half) tma_load_3d(dst, map, bar, k0, mn0, bz);
    else tma_load_3d_mc(dst + rank * (ROWS / 2) * 128, map, bar, k0, mn0 + int(rank) * (ROWS / 2), bz, 0x3);
  } else {
#pragma unroll
    for (int i = 0; i < ROWS / BOX_MN; ++i) {
      if (!half) tma_load_3d(dst + i * 8192, map, bar, mn0 + i * BOX_MN, k0, bz);
      else tma_load_3d_mc(dst + i * 8192 + rank * 4096, map, bar, mn0 + i * BOX_MN, k0 + int(rank) * 32, bz, 0x3);
    }
  }
}

// The epilogue through shared memory: one warpgroup's 64 x BN accumulators, converted, into 64 x 64 boxes laid out
// as the 128-byte swizzle lays them (a warp's 32-bit writes hit 32 banks), then one TMA store per box. The stores
// run on while the warps go on to the next tile; `buf` (two boxes) is written again once the last ones read it.
// Against 32-bit stores from registers (4 lanes per 16-byte run, half of each 32-byte sector): full sectors, and
// a tile's write no longer holds up the tensor cores. `bar_id`: this warpgroup's named barrier.
template <typename O, int BN>
__device__ __forceinline__ void store_tile_tma(const float* d, uint8_t* buf, const CUtensorMap* map, int row0, int n0,
                                               int bz, int bar_id) {
  constexpr int BOXES = BN / 64, PER_ROUND = BOXES < 2 ? BOXES : 2;
  const int lane = threadIdx.x & 31, warp = (threadIdx.x >> 5) & 3;
  const bool leader = (threadIdx.x & 127) == 0;
  const int r = warp * 16 + (lane >> 2);  // this thread's rows: r and r + 8 (the same row in the swizzle's 8)
  const uint32_t row_lo = smem_u32(buf) + uint32_t(r) * 128 + uint32_t(lane & 3) * 4;
#pragma unroll
  for (int round = 0; round < BOXES / PER_ROUND; ++round) {
    if (leader) bulk_wait_read();
    named_sync(bar_id, 128);
#pragma unroll
    for (int jb = 0; jb < PER_ROUND * 8; ++jb) {  // 8 fragments of 8 columns per box
      const int j = round * PER_ROUND * 8 + jb;
      const uint32_t a = row_lo + uint32_t(jb / 8) * EPI_BOX_BYTES + uint32_t((jb % 8) ^ (r & 7)) * 16;
      asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(a), "r"(pack2<O>(d[4 * j], d[4 * j + 1])) : "memory");
      asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(a + 8 * 128), "r"(pack2<O>(d[4 * j + 2], d[4 * j + 3]))
                   : "memory");
    }
    fence_async_smem();
    named_sync(bar_id, 128);
    if (leader) {
#pragma unroll
      for (int b = 0; b < PER_ROUND; ++b)
        tma_store_3d(map, buf + b * EPI_BOX_BYTES, n0 + (round * PER_ROUND + b) * 64, row0, bz);
      bulk_commit();
    }
  }
}

#endif  // AM_TC_HAS_WGMMA

// Tensor maps (3-D#endif  // AM_TC_HAS_WGMMA

// Tensor maps (3-D: contiguous dim, other dim, batch):
//   A, !TA: {k, m, b}, box {64, 128}     A, TA: {m, k, b}, box {64, 64} x 2 along m
//   B,  TB: {k, n, b}, box {64, BN}      B, !TB: {n, k, b}, box {64, 64} x BN/64 along n
//   C (when tma_c: N a multiple of 8, C 16-byte aligned): {n, m, b}, box {64, 64}, stored by store_tile_tma
// Tiles (batch-major, grouped order inside a batch) are taken t = blockIdx.x,
// blockIdx.x + gridDim.x, ...: a grid of one block per SM is persistent (the
// producer prefetches the next tile while the consumers store this one); a grid
// of one block per tile is the plain form.
//
// SHARE (launched as clusters of two CTAs): the pair computes two neighbouring
// tiles that read the same B (SHARE_B: tiles 2i and 2i+1 along m) or the same A
// (SHARE_A: along n). Each CTA loads half of the shared operand's k-slice and
// multicasts it to both, so L2 serves that operand once per pair. The shared
// operand's map has half the box: half its rows when they are the tile's
// (K-major), half the 64 k-rows of each box when MN-major. A stage is free for
// a producer once the consumers of both CTAs released it: "empty" counts 16.
template <typename T, bool TA, bool TB, int BN, int SHARE = SHARE_NONE>
__global__ void __launch_bounds__(THREADS, 1)
    wg_gemm_kernel(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB,
                   const __grid_constant__ CUtensorMap tmC, bool tma_c, uint16_t* __restrict__ C, int M, int N, int K,
                   int tiles_m, int tiles_n, int batch) {
#if AM_TC_HAS_WGMMA
  using G = Cfg<BN>;
  constexpr int STAGES = G::STAGES;
  constexpr int NACC = BN / 2;               // fp32 accumulators per thread (64 x BN per warpgroup)
  constexpr int BKE = BK * 2 / in_bytes<T>;  // a k-slice in elements: 128 bytes, one swizzle row
  constexpr int CTAS = SHARE == SHARE_NONE ? 1 : 2;
  static_assert(in_bytes<T> == 2 || (!TA && TB), "fp8: K-major A and B (the TN layout) only");
  const auto [sA, sB, sC, full, empty] = pipeline_smem<STAGES, A_STAGE_BYTES, G::B_STAGE_BYTES, EPI_BYTES>();

  const int wgi = threadIdx.x >> 7;  // warpgroup
  const int KT = (K + BKE - 1) / BKE;
  // Work units: tiles, or pairs of tiles along m (SHARE_B) or n (SHARE_A), one per cluster.
  const uint32_t rank = CTAS == 1 ? 0 : cluster_rank();
  const int units_m = SHARE == SHARE_B ? (tiles_m + 1) / 2 : tiles_m;
  const int units_n = SHARE == SHARE_A ? (tiles_n + 1) / 2 : tiles_n;
  const int units_per = units_m * units_n;
  const int64_t total = int64_t(units_per) * batch;
  const int64_t first = blockIdx.x / CTAS, step = gridDim.x / CTAS;
  const auto tile_of = [&](int64_t t, int& bz, int& m0, int& n0) {
    bz = int(t / units_per);
    int um, un;
    tile_coords(int(t - int64_t(bz) * units_per), units_m, units_n, um, un);
    m0 = (SHARE == SHARE_B ? 2 * um + int(rank) : um) * BM;
    n0 = (SHARE == SHARE_A ? 2 * un + int(rank) : un) * BN;
  };

  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      mbar_init(&full[s], 1);
      mbar_init(&empty[s], 8 * CTAS);  // lane 0 of each of the 8 consumer warps (of both CTAs of a pair)
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  }
  if constexpr (CTAS == 1) __syncthreads();
  else cluster_sync();  // the peer's barriers are initialised before anything reaches them

  if (wgi == 0) {
    // ---------------- producer: one thread issues every copy ----------------
    if (threadIdx.x == 0) {
      int it = 0;  // k-slices issued so far (all tiles): stage = it % STAGES
      for (int64_t t = first; t < total; t += step) {
        int bz, m0, n0;
        tile_of(t, bz, m0, n0);
        for (int kt = 0; kt < KT; ++kt, ++it) {
          const int s = it % STAGES;
          if (it >= STAGES) mbar_wait(&empty[s], ((it / STAGES) + 1) & 1);
          mbar_expect_tx(&full[s], A_STAGE_BYTES + G::B_STAGE_BYTES);
          const int k0 = kt * BKE;
          // The shared operand's tile is the same in both CTAs: each loads its half for both.
          load_operand<TA, BM>(sA + s * A_STAGE_BYTES, &tmA, &full[s], k0, m0, bz, SHARE == SHARE_A, rank);
          load_operand<!TB, BN>(sB + s * G::B_STAGE_BYTES, &tmB, &full[s], k0, n0, bz, SHARE == SHARE_B, rank);
        }
      }
    }
  } else {
    // ---------------- consumers: rows cw*64 .. cw*64+63 of each tile ----------------
    const int cw = wgi - 1;
    const int lane = threadIdx.x & 31;
    const int warp_in_wg = (threadIdx.x >> 5) & 3;
    const bool even_n = (N & 1) == 0;
    // Release a stage to the producers of this CTA and of its pair.
    uint64_t* const empty_bars = empty;  // (a lambda may not capture a structured binding before C++20)
    const auto release = [empty_bars](int s) {
      if constexpr (CTAS == 1) mbar_arrive(&empty_bars[s]);
      else
        for (uint32_t c = 0; c < CTAS; ++c) mbar_arrive_cta(&empty_bars[s], c);
    };
    // Stage 0's descriptors (this warpgroup's 64 rows of A). K-major: SBO = 8 rows x 128 B. MN-major: LBO = the
    // next 64-wide box (8 KB), SBO = 8 k-rows.
    const uint32_t a0 = smem_u32(sA) + cw * 8192, b0 = smem_u32(sB);
    const uint64_t da0 = TA ? desc_sw128(a0, 8192, 1024) : desc_sw128(a0, 16, 1024);
    const uint64_t db0 = TB ? desc_sw128(b0, 16, 1024) : desc_sw128(b0, 8192, 1024);
    float d[NACC];
    unsigned it = 0;  // unsigned: stage and phase without a signed division's fix-ups
    for (int64_t t = first; t < total; t += step) {
      int bz, m0, n0;
      tile_of(t, bz, m0, n0);
#pragma unroll
      for (int i = 0; i < NACC; ++i) d[i] = 0.0f;
      for (int kt = 0; kt < KT; ++kt, ++it) {
        const int s = int(it % STAGES);
        mbar_wait(&full[s], int(it / STAGES) & 1);
        const uint64_t da_s = desc_advance(da0, uint32_t(s) * A_STAGE_BYTES);
        const uint64_t db_s = desc_advance(db0, uint32_t(s) * G::B_STAGE_BYTES);
        fence_acc<NACC>(d);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) {
          // K-major: +32 bytes per 16 k inside the swizzle row; MN-major: +16 rows x 128 B per 16 k.
          wgmma_call<T, BN, TA ? 1 : 0, TB ? 0 : 1>(d, desc_advance(da_s, kk * (TA ? 2048 : 32)),
                                                    desc_advance(db_s, kk * (TB ? 32 : 2048)));
        }
        wg_commit();
        wg_wait<1>();  // the previous slice's wgmma are done: release its stage
        fence_acc<NACC>(d);
        if (kt > 0 && lane == 0) release(int((it + STAGES - 1) % STAGES));
      }
      wg_wait<0>();
      fence_acc<NACC>(d);
      if (lane == 0) release(int((it + STAGES - 1) % STAGES));  // this tile's last slice

      if (tma_c) {
        store_tile_tma<OutOf<T>, BN>(d, sC + cw * EPI_WG_BYTES, &tmC, m0 + cw * 64, n0, bz, 1 + cw);
        continue;
      }
      // Epilogue from registers: fragment j covers columns 8j..8j+7; d[4j+0..1] row r, d[4j+2..3] row r+8.
      uint16_t* Cb = C + int64_t(bz) * M * N;
      const int row = m0 + cw * 64 + warp_in_wg * 16 + (lane >> 2);
      const int colb = n0 + (lane & 3) * 2;
#pragma unroll
      for (int j = 0; j < BN / 8; ++j) {
        const int col = colb + 8 * j;
        if (row < M) store_pair<OutOf<T>>(Cb, int64_t(row) * N, col, N, even_n, d[4 * j], d[4 * j + 1]);
        if (row + 8 < M) store_pair<OutOf<T>>(Cb, int64_t(row + 8) * N, col, N, even_n, d[4 * j + 2], d[4 * j + 3]);
      }
    }
    if (tma_c && (threadIdx.x & 127) == 0) bulk_wait_all();  // the last stores done before the CTA's memory goes
  }
  // A CTA's shared memory takes its pair's copies and arrivals until both are done.
  if constexpr (CTAS == 2) {
    __syncwarp();  // the producer warp's lanes together again before the aligned cluster barrier
    cluster_sync();
  }
#endif
}
}  // namespace wg

}  // namespace am::cuda::tc
