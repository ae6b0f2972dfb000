// aimatrix's own SIMT fp32 GEMM (CUDA cores, no tensor cores): the classic
// 128x128x8 block tile, 256 threads, 8x8 register micro-tile per thread (split
// 4+4 in each direction so shared-memory reads are conflict-free), register
// staged double buffering of shared memory; a 64x64x16 tile (4x4 per thread)
// when 128x128 tiles would give fewer than two blocks per SM. For the bench harness
// only: the 128 tile's threads laid out in warp tiles (4x2 warps of 32x64) and a
// 256x128 tile, 16x8 per thread (both slower than the classic 128 tile on the H100,
// bench/RESULTS.md). Layout as in
// common/gemm_spec.hpp. VEC=true: 16-byte global loads (the contiguous
// dimension of A and of B a multiple of 4 floats, pointers 16-byte aligned);
// VEC=false: bounds-checked element loads, any shape. Output stores are 16-byte
// when n % 4 == 0 and C is aligned, else element-wise. Batches run along grid z.
#include <algorithm>
#include <cstdint>
#include <string>

#include "common/errors.hpp"
#include "cuda/check.hpp"
#include "cuda/launch_util.cuh"
#include "cuda/own_gemm.hpp"

namespace am::cuda {
namespace simt {
// Tile choice for the bench harness (not an API): 0 by problem size, else 64, 128 or 256 (256 x 128).
int g_tile = 0;
// The 128 tile's thread layout for the bench harness: -1 the default (classic), 0 the classic 16x16 threads, 1 warp
// tiles.
int g_warp_tiles = -1;
}  // namespace simt

namespace {

constexpr int THREADS = 256;
constexpr int64_t kMaxGridZ = 65535;

// Block tile BM x BN x BK with a TM x TN micro-tile per thread:
//   128 x 128: BK = 8, 8x8 per thread (split 4+4 so shared reads are conflict-free);
//   64 x 64:   BK = 16, 4x4 per thread (4x the blocks, for problems of few tiles);
//   256 x 128: BK = 8, 16x8 per thread, warp tiles only: half the shared reads per FMA of the 128 tile, at about
//              200 registers, one block per SM (cuBLAS's SIMT kernel's shape on Hopper).
template <int BM, int BN>
struct Tile {
  static_assert((BM == BN && (BM == 128 || BM == 64)) || (BM == 256 && BN == 128),
                "tiles are 64x64, 128x128 or 256x128");
  static constexpr int BK = BM == 64 ? 16 : 8;
  static constexpr int TM = BM == 256 ? 16 : BM / 16, TN = BN / 16;
  static_assert(BK % 2 == 0, "a tile's first k row reuses fragment set 0");
};

// Where a thread's micro-tile sits: its element i along m (or n) is at offset(i) in the block tile, in runs of 4
// (one 16-byte shared read each). WARPS = false, the classic layout (square tiles): a 16x16 grid of threads, run h
// at h * BM/2 + t * 4; a warp's 32 threads then read 2 runs of A and 16 of B per k (3 shared wavefronts a run
// pair). WARPS = true (BN = 128): 4x2 warps of BM/4 x 64, each a 4x8 grid of threads, run h at
// warp * BM/4 + h * 16 + t * 4 along m (warp * 64 + h * 32 + t * 4 along n): 4 runs of A and 8 of B per k, one
// wavefront each.
template <int BM, int BN, bool WARPS>
struct Layout {
  static_assert(!WARPS || BN == 128, "warp tiles are laid out for 128 columns");
  static_assert(WARPS || BM == BN, "the classic layout is square");
  __device__ __forceinline__ static int m(int i, int tid) {
    if constexpr (WARPS) return (tid >> 6) * (BM / 4) + (i / 4) * 16 + ((tid >> 3) & 3) * 4 + i % 4;
    else return (i / 4) * (BM / 2) + (tid >> 4) * 4 + i % 4;
  }
  __device__ __forceinline__ static int n(int i, int tid) {
    if constexpr (WARPS) return ((tid >> 5) & 1) * 64 + (i / 4) * 32 + (tid & 7) * 4 + i % 4;
    else return (i / 4) * (BN / 2) + (tid & 15) * 4 + i % 4;
  }
};

// One operand's per-thread view for register staging: an X-wide operand (BM of A, BN of B), BK deep per tile,
// stored in shared memory as s[k][x] (row length X + 4: padded, so transposed stores spread over banks).
// "Row-wise" operands are stored with the non-K dimension outer in global memory (A [m][k] when !TA, B [n][k]
// when TB): BK/4 threads share a stored row, 4 consecutive k each. "K-wise" operands are stored [k][x] (A when TA,
// B when !TB): X/4 threads share a k row, 4 consecutive x each. Each thread stages PASSES runs of 4 elements per
// tile (the 256-wide operand: 2), the threads' passes THREADS/RW rows (row-wise) or THREADS/KW k rows apart.
template <int X, int BK, bool KWISE, bool VEC>
struct Loader {
  static constexpr int RW = BK / 4;
  static constexpr int KW = X / 4;
  static constexpr int SLD = X + 4;
  static constexpr int PASSES = X * BK / (4 * THREADS);
  static constexpr int STEP = KWISE ? THREADS / KW : THREADS / RW;  // k rows (KWISE) or x rows between passes
  static_assert(PASSES >= 1 && PASSES * 4 * THREADS == X * BK, "a tile is a whole number of passes");
  const float* p;  // this thread's first element of the current tile (pass 0)
  int k;           // its k index in the current tile (pass 0)
  int xrem;        // valid elements along x from this thread's first (pass 0; <= 0: none)
  int64_t ld;      // elements between consecutive rows in global memory (x rows row-wise, k rows K-wise)
  int64_t step;    // elements between consecutive k tiles

  __device__ __forceinline__ Loader(const float* __restrict__ g, int x0, int Xg, int K, int tid) {
    const int x = KWISE ? x0 + (tid % KW) * 4 : x0 + tid / RW;
    k = KWISE ? tid / KW : (tid % RW) * 4;
    xrem = Xg - x;
    const int xs = xrem > 0 ? x : 0;
    ld = KWISE ? Xg : K;
    p = KWISE ? g + int64_t(k) * Xg + xs : g + int64_t(xs) * K + k;
    step = KWISE ? int64_t(BK) * Xg : BK;
  }
  __device__ __forceinline__ void load(float (&v)[PASSES][4], int K) const {
#pragma unroll
    for (int q = 0; q < PASSES; ++q) {
      const int kq = KWISE ? k + q * STEP : k, xq = KWISE ? xrem : xrem - q * STEP;  // this pass's k and x left
      const float* pq = p + int64_t(q * STEP) * ld;
      if constexpr (VEC) {  // the contiguous dimension is a multiple of 4: wholly in or out
        if (xq > 0 && kq < K) {
          const float4 f = __ldg(reinterpret_cast<const float4*>(pq));
          v[q][0] = f.x;
          v[q][1] = f.y;
          v[q][2] = f.z;
          v[q][3] = f.w;
        } else {
          v[q][0] = v[q][1] = v[q][2] = v[q][3] = 0.0f;
        }
      } else if constexpr (!KWISE) {
#pragma unroll
        for (int j = 0; j < 4; ++j) v[q][j] = (xq > 0 && kq + j < K) ? __ldg(pq + j) : 0.0f;
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) v[q][j] = (j < xq && kq < K) ? __ldg(pq + j) : 0.0f;
      }
    }
  }
  __device__ __forceinline__ void advance() {
    p += step;
    k += BK;
  }
  // Registers to the shared tile s[k][x].
  __device__ __forceinline__ static void store(float* s, const float (&v)[PASSES][4], int tid) {
#pragma unroll
    for (int q = 0; q < PASSES; ++q) {
      if constexpr (!KWISE) {
        const int x = tid / RW + q * STEP, kk = (tid % RW) * 4;
#pragma unroll
        for (int j = 0; j < 4; ++j) s[(kk + j) * SLD + x] = v[q][j];
      } else {
        const int kk = tid / KW + q * STEP, x = (tid % KW) * 4;
        *reinterpret_cast<float4*>(s + kk * SLD + x) = make_float4(v[q][0], v[q][1], v[q][2], v[q][3]);
      }
    }
  }
};

// Two blocks per SM (<= 128 registers) for the vectorised variants; one for the
// generic ones, whose bounds checks would spill a few registers at 128, for
// the 128-tile "nt" variant before sm_90, which spills 8 bytes at 128 there,
// and for the 256 x 128 tile (its 16x8 accumulators alone are 128 registers).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define AM_SIMT_PRE_HOPPER 1
#else
#define AM_SIMT_PRE_HOPPER 0
#endif
constexpr int simt_min_blocks(int bm, bool ta, bool tb, bool vec) {
  return !vec || bm == 256 ? 1 : (AM_SIMT_PRE_HOPPER && bm == 128 && !ta && tb) ? 1 : 2;
}

template <int BM, int BN, bool WARPS, bool TA, bool TB, bool VEC>
__global__ void __launch_bounds__(THREADS, simt_min_blocks(BM, TA, TB, VEC))
    sgemm_kernel(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M, int N, int K,
                 int tiles_m, int tiles_n, int64_t batch0, bool vec_c) {
  using TL = Tile<BM, BN>;
  constexpr int BK = TL::BK, TM = TL::TM, TN = TL::TN;
  using LA = Loader<BM, BK, TA, VEC>;   // A stored [k][m] when TA
  using LB = Loader<BN, BK, !TB, VEC>;  // B stored [k][n] when !TB
  constexpr int SLDA = LA::SLD, SLDB = LB::SLD;
  __shared__ __align__(16) float As[2][BK * SLDA];
  __shared__ __align__(16) float Bs[2][BK * SLDB];

  using L = Layout<BM, BN, WARPS>;
  int m0, n0;
  block_origin(A, B, C, M, N, K, tiles_m, tiles_n, batch0, BM, BN, m0, n0);
  const int tid = threadIdx.x;

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  // One k row of the thread's micro-tile from shared memory into registers.
  auto fragments = [tid](float (&av)[TM], float (&bv)[TN], const float* as, const float* bs) {
#pragma unroll
    for (int h = 0; h < TM / 4; ++h) {
      const float4 a4 = *reinterpret_cast<const float4*>(as + L::m(4 * h, tid));
      av[4 * h] = a4.x, av[4 * h + 1] = a4.y, av[4 * h + 2] = a4.z, av[4 * h + 3] = a4.w;
    }
#pragma unroll
    for (int h = 0; h < TN / 4; ++h) {
      const float4 b4 = *reinterpret_cast<const float4*>(bs + L::n(4 * h, tid));
      bv[4 * h] = b4.x, bv[4 * h + 1] = b4.y, bv[4 * h + 2] = b4.z, bv[4 * h + 3] = b4.w;
    }
  };

  float ra[LA::PASSES][4], rb[LB::PASSES][4];
  const int KT = (K + BK - 1) / BK;
  LA la(A, m0, M, K, tid);
  LB lb(B, n0, N, K, tid);
  la.load(ra, K);
  lb.load(rb, K);
  LA::store(As[0], ra, tid);
  LB::store(Bs[0], rb, tid);
  __syncthreads();

  // The next k row's fragments load while this one's FMAs run, across tiles too: the last row of a tile
  // stores the next tile (staged in registers during this one) to the other buffer, syncs once, and reads its
  // first row before its own FMAs.
  float av[2][TM], bv[2][TN];
  fragments(av[0], bv[0], As[0], Bs[0]);
  for (int kt = 0; kt < KT; ++kt) {
    const int cur = kt & 1;
    const bool more = kt + 1 < KT;
    if (more) {
      la.advance();
      lb.advance();
      la.load(ra, K);
      lb.load(rb, K);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      if (k + 1 < BK) {
        fragments(av[(k + 1) & 1], bv[(k + 1) & 1], As[cur] + (k + 1) * SLDA, Bs[cur] + (k + 1) * SLDB);
      } else if (more) {
        LA::store(As[cur ^ 1], ra, tid);
        LB::store(Bs[cur ^ 1], rb, tid);
        __syncthreads();
        fragments(av[0], bv[0], As[cur ^ 1], Bs[cur ^ 1]);  // BK is even: row 0 goes to set 0
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[k & 1][i], bv[k & 1][j], acc[i][j]);
    }
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int row = m0 + L::m(i, tid);
    if (row >= M) continue;
    float* crow = C + int64_t(row) * N;
#pragma unroll
    for (int h = 0; h < TN / 4; ++h) {
      const int col = n0 + L::n(4 * h, tid);
      const float* v = &acc[i][h * 4];
      if (vec_c && col < N) {
        *reinterpret_cast<float4*>(crow + col) = make_float4(v[0], v[1], v[2], v[3]);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (col + j < N) crow[col + j] = v[j];
      }
    }
  }
}

void check_supported(const GemmSpec& s) {
  s.validate();
  if (s.dtype != DType::f32)
    throw UnsupportedError(std::string("own SIMT sgemm: dtype ") + dtype_name(s.dtype) +
                           " is not supported; allowed: f32");
  own::check_int32_dims(s, "own SIMT sgemm");
}

bool vec_ok(const GemmSpec& s, const void* a, const void* b) { return own::operands_aligned(s, a, b, 4); }

// 128x128 tiles unless they would give fewer than two blocks per SM; 256 (x 128) only when the harness asks.
int choose_tile(const GemmSpec& s, int num_sms) {
  if (simt::g_tile == 64 || simt::g_tile == 128 || simt::g_tile == 256) return simt::g_tile;
  const int64_t tiles128 = ((s.m + 127) / 128) * ((s.n + 127) / 128) * s.batch;
  return tiles128 < 2 * int64_t(num_sms) ? 64 : 128;
}

// Warp tiles on the 256 tile; on the 128 tile only when the harness asks (on the H100 the classic layout ran
// 3% faster at 4096^3 and 8192^3).
bool warp_tiles(int bm) { return bm == 256 || (bm == 128 && simt::g_warp_tiles == 1); }

template <int BM, int BN, bool WARPS, bool TA, bool TB, bool VEC>
void launch(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream) {
  const int M = int(s.m), N = int(s.n), K = int(s.k);
  const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
  const bool vec_c = (N % 4 == 0) && (reinterpret_cast<uintptr_t>(c) % 16 == 0);
  for (int64_t b0 = 0; b0 < s.batch; b0 += kMaxGridZ) {
    const unsigned nz = unsigned(std::min<int64_t>(kMaxGridZ, s.batch - b0));
    dim3 grid(unsigned(tiles_m) * unsigned(tiles_n), 1, nz);
    sgemm_kernel<BM, BN, WARPS, TA, TB, VEC>
        <<<grid, THREADS, 0, stream>>>(a, b, c, M, N, K, tiles_m, tiles_n, b0, vec_c);
    AM_CUDA_CHECK_LAUNCH();
  }
}

template <int BM, int BN, bool WARPS, bool VEC>
void dispatch(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t st) {
  switch ((s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0)) {
    case 0: return launch<BM, BN, WARPS, false, false, VEC>(s, a, b, c, st);
    case 1: return launch<BM, BN, WARPS, false, true, VEC>(s, a, b, c, st);
    case 2: return launch<BM, BN, WARPS, true, false, VEC>(s, a, b, c, st);
    default: return launch<BM, BN, WARPS, true, true, VEC>(s, a, b, c, st);
  }
}

}  // namespace

void simt_sgemm(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream) {
  check_supported(s);
  const bool vec = vec_ok(s, a, b);
  const int bm = choose_tile(s, sm_count_current_device());
  if (bm == 256) {
    if (vec) dispatch<256, 128, true, true>(s, a, b, c, stream);
    else dispatch<256, 128, true, false>(s, a, b, c, stream);
  } else if (bm == 128 && warp_tiles(bm)) {
    if (vec) dispatch<128, 128, true, true>(s, a, b, c, stream);
    else dispatch<128, 128, true, false>(s, a, b, c, stream);
  } else if (bm == 128) {
    if (vec) dispatch<128, 128, false, true>(s, a, b, c, stream);
    else dispatch<128, 128, false, false>(s, a, b, c, stream);
  } else {
    if (vec) dispatch<64, 64, false, true>(s, a, b, c, stream);
    else dispatch<64, 64, false, false>(s, a, b, c, stream);
  }
}

std::string simt_sgemm_kernel_name(const GemmSpec& s) {
  check_supported(s);
  static const char* tags[4] = {"nn", "nt", "tn", "tt"};
  const int64_t a_contig = s.trans_a ? s.m : s.k;
  const int64_t b_contig = s.trans_b ? s.k : s.n;
  const bool vec = a_contig % 4 == 0 && b_contig % 4 == 0;  // allocations are aligned
  const int bm = choose_tile(s, sm_count_current_device());
  const std::string tile = bm == 256   ? "256x128x8_warps_"
                           : bm == 128 ? (warp_tiles(bm) ? "128x128x8_warps_" : "128x128x8_")
                                       : "64x64x16_";
  return "simt_sgemm_" + tile + (vec ? "vec4_" : "generic_") + tags[(s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0)];
}

}  // namespace am::cuda
