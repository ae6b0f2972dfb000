// aimatrix's own SIMT fp32 GEMM (CUDA cores, no tensor cores): the classic
// 128x128x8 block tile, 256 threads, 8x8 register micro-tile per thread (split
// 4+4 in each direction so shared-memory reads are conflict-free), register
// staged double buffering of shared memory; a 64x64x16 tile (4x4 per thread)
// when 128x128 tiles would give fewer than two blocks per SM. Layout as in
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
// Tile choice for the bench harness (not an API): 0 by problem size, else 64 or 128.
int g_tile = 0;
// The 128 tile's thread layout for the bench harness: -1 the default, 0 the classic 16x16 threads, 1 warp tiles.
int g_warp_tiles = -1;
}  // namespace simt

namespace {

constexpr int THREADS = 256;
constexpr int64_t kMaxGridZ = 65535;

// Block tile BMN x BMN x BK with a (BMN/16)^2 micro-tile per thread:
//   BMN = 128: BK = 8, 8x8 per thread (split 4+4 so shared reads are conflict-free);
//   BMN = 64:  BK = 16, 4x4 per thread (4x the blocks, for problems of few tiles).
// Either way each thread stages 4 elements of each operand per k-tile.
template <int BMN>
struct Tile {
  static_assert(BMN == 128 || BMN == 64, "BMN must be 64 or 128");
  static constexpr int BK = BMN == 128 ? 8 : 16;
  static constexpr int TM = BMN / 16;
  static constexpr int SLD = BMN + 4;  // padded shared row: transposed stores spread over banks
  static_assert(BK % 2 == 0, "a tile's first k row reuses fragment set 0");
};

// Where a thread's micro-tile sits: its element i along m (or n) is at offset(i) in the block tile, in runs of 4
// (one 16-byte shared read each). WARPS = false, the classic layout: a 16x16 grid of threads, run h at
// h * BMN/2 + t * 4; a warp's 32 threads then read 2 runs of A and 16 of B per k (3 shared wavefronts a run
// pair). WARPS = true (128 tile): 4x2 warps of 32x64, each a 4x8 grid of threads, run h at
// warp * 32 + h * 16 + t * 4 along m (warp * 64 + h * 32 + t * 4 along n): 4 runs of A and 8 of B per k, one
// wavefront each.
template <int BMN, bool WARPS>
struct Layout {
  static_assert(!WARPS || BMN == 128, "warp tiles are laid out for the 128 tile");
  __device__ __forceinline__ static int m(int i, int tid) {
    if constexpr (WARPS) return (tid >> 6) * 32 + (i / 4) * 16 + ((tid >> 3) & 3) * 4 + i % 4;
    else return (i / 4) * (BMN / 2) + (tid >> 4) * 4 + i % 4;
  }
  __device__ __forceinline__ static int n(int i, int tid) {
    if constexpr (WARPS) return ((tid >> 5) & 1) * 64 + (i / 4) * 32 + (tid & 7) * 4 + i % 4;
    else return (i / 4) * (BMN / 2) + (tid & 15) * 4 + i % 4;
  }
};

// One operand's per-thread view for register staging. "Row-wise" operands are
// stored with the non-K dimension outer (A [m][k] when !TA, B [n][k] when TB):
// BK/4 threads share a stored row, 4 consecutive k each. "K-wise" operands are
// stored [k][x] (A when TA, B when !TB): BMN/4 threads share a k row, 4
// consecutive x each.
template <int BMN, bool KWISE, bool VEC>
struct Loader {
  static constexpr int BK = Tile<BMN>::BK;
  static constexpr int RW = BK / 4;
  static constexpr int KW = BMN / 4;
  const float* p;  // this thread's first element of the current tile
  int k;           // its k index in the current tile
  int xrem;        // valid elements along x from this thread's first (<= 0: none)
  int64_t step;    // elements between consecutive k tiles

  __device__ __forceinline__ Loader(const float* __restrict__ g, int x0, int X, int K, int tid) {
    const int x = KWISE ? x0 + (tid % KW) * 4 : x0 + tid / RW;
    k = KWISE ? tid / KW : (tid % RW) * 4;
    xrem = X - x;
    const int xs = xrem > 0 ? x : 0;
    p = KWISE ? g + int64_t(k) * X + xs : g + int64_t(xs) * K + k;
    step = KWISE ? int64_t(BK) * X : BK;
  }
  __device__ __forceinline__ void load(float (&v)[4], int K) const {
    if constexpr (VEC) {  // the contiguous dimension is a multiple of 4: wholly in or out
      if (xrem > 0 && k < K) {
        const float4 f = __ldg(reinterpret_cast<const float4*>(p));
        v[0] = f.x;
        v[1] = f.y;
        v[2] = f.z;
        v[3] = f.w;
      } else {
        v[0] = v[1] = v[2] = v[3] = 0.0f;
      }
    } else if constexpr (!KWISE) {
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = (xrem > 0 && k + j < K) ? __ldg(p + j) : 0.0f;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = (j < xrem && k < K) ? __ldg(p + j) : 0.0f;
    }
  }
  __device__ __forceinline__ void advance() {
    p += step;
    k += BK;
  }
  // Registers to the shared tile s[k][x] (row length SLD).
  __device__ __forceinline__ static void store(float* s, const float (&v)[4], int tid) {
    constexpr int SLD = Tile<BMN>::SLD;
    if constexpr (!KWISE) {
      const int x = tid / RW, kk = (tid % RW) * 4;
#pragma unroll
      for (int j = 0; j < 4; ++j) s[(kk + j) * SLD + x] = v[j];
    } else {
      const int kk = tid / KW, x = (tid % KW) * 4;
      *reinterpret_cast<float4*>(s + kk * SLD + x) = make_float4(v[0], v[1], v[2], v[3]);
    }
  }
};

// Two blocks per SM (<= 128 registers) for the vectorised variants; one for the
// generic ones, whose bounds checks would spill a few registers at 128, and for
// the 128-tile "nt" variant before sm_90, which spills 8 bytes at 128 there.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define AM_SIMT_PRE_HOPPER 1
#else
#define AM_SIMT_PRE_HOPPER 0
#endif
constexpr int simt_min_blocks(int bmn, bool ta, bool tb, bool vec) {
  return !vec ? 1 : (AM_SIMT_PRE_HOPPER && bmn == 128 && !ta && tb) ? 1 : 2;
}

template <int BMN, bool WARPS, bool TA, bool TB, bool VEC>
__global__ void __launch_bounds__(THREADS, simt_min_blocks(BMN, TA, TB, VEC))
    sgemm_kernel(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M, int N, int K,
                 int tiles_m, int tiles_n, int64_t batch0, bool vec_c) {
  using TL = Tile<BMN>;
  constexpr int BK = TL::BK, TM = TL::TM, SLD = TL::SLD;
  __shared__ __align__(16) float As[2][BK * SLD];
  __shared__ __align__(16) float Bs[2][BK * SLD];
  using LA = Loader<BMN, TA, VEC>;   // A stored [k][m] when TA
  using LB = Loader<BMN, !TB, VEC>;  // B stored [k][n] when !TB

  using L = Layout<BMN, WARPS>;
  int m0, n0;
  block_origin(A, B, C, M, N, K, tiles_m, tiles_n, batch0, BMN, BMN, m0, n0);
  const int tid = threadIdx.x;

  float acc[TM][TM];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TM; ++j) acc[i][j] = 0.0f;

  // One k row of the thread's micro-tile from shared memory into registers.
  auto fragments = [tid](float (&av)[TM], float (&bv)[TM], const float* as, const float* bs) {
#pragma unroll
    for (int h = 0; h < TM / 4; ++h) {
      const float4 a4 = *reinterpret_cast<const float4*>(as + L::m(4 * h, tid));
      const float4 b4 = *reinterpret_cast<const float4*>(bs + L::n(4 * h, tid));
      av[4 * h] = a4.x, av[4 * h + 1] = a4.y, av[4 * h + 2] = a4.z, av[4 * h + 3] = a4.w;
      bv[4 * h] = b4.x, bv[4 * h + 1] = b4.y, bv[4 * h + 2] = b4.z, bv[4 * h + 3] = b4.w;
    }
  };

  float ra[4], rb[4];
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
  float av[2][TM], bv[2][TM];
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
        fragments(av[(k + 1) & 1], bv[(k + 1) & 1], As[cur] + (k + 1) * SLD, Bs[cur] + (k + 1) * SLD);
      } else if (more) {
        LA::store(As[cur ^ 1], ra, tid);
        LB::store(Bs[cur ^ 1], rb, tid);
        __syncthreads();
        fragments(av[0], bv[0], As[cur ^ 1], Bs[cur ^ 1]);  // BK is even: row 0 goes to set 0
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TM; ++j) acc[i][j] = fmaf(av[k & 1][i], bv[k & 1][j], acc[i][j]);
    }
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int row = m0 + L::m(i, tid);
    if (row >= M) continue;
    float* crow = C + int64_t(row) * N;
#pragma unroll
    for (int h = 0; h < TM / 4; ++h) {
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

// 128x128 tiles unless they would give fewer than two blocks per SM.
int choose_tile(const GemmSpec& s, int num_sms) {
  if (simt::g_tile == 64 || simt::g_tile == 128) return simt::g_tile;
  const int64_t tiles128 = ((s.m + 127) / 128) * ((s.n + 127) / 128) * s.batch;
  return tiles128 < 2 * int64_t(num_sms) ? 64 : 128;
}

// Warp tiles on the 128 tile unless the harness asks for the classic layout.
bool warp_tiles(int bmn) { return bmn == 128 && simt::g_warp_tiles != 0; }

template <int BMN, bool WARPS, bool TA, bool TB, bool VEC>
void launch(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream) {
  const int M = int(s.m), N = int(s.n), K = int(s.k);
  const int tiles_m = (M + BMN - 1) / BMN, tiles_n = (N + BMN - 1) / BMN;
  const bool vec_c = (N % 4 == 0) && (reinterpret_cast<uintptr_t>(c) % 16 == 0);
  for (int64_t b0 = 0; b0 < s.batch; b0 += kMaxGridZ) {
    const unsigned nz = unsigned(std::min<int64_t>(kMaxGridZ, s.batch - b0));
    dim3 grid(unsigned(tiles_m) * unsigned(tiles_n), 1, nz);
    sgemm_kernel<BMN, WARPS, TA, TB, VEC><<<grid, THREADS, 0, stream>>>(a, b, c, M, N, K, tiles_m, tiles_n, b0, vec_c);
    AM_CUDA_CHECK_LAUNCH();
  }
}

template <int BMN, bool WARPS, bool VEC>
void dispatch(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t st) {
  switch ((s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0)) {
    case 0: return launch<BMN, WARPS, false, false, VEC>(s, a, b, c, st);
    case 1: return launch<BMN, WARPS, false, true, VEC>(s, a, b, c, st);
    case 2: return launch<BMN, WARPS, true, false, VEC>(s, a, b, c, st);
    default: return launch<BMN, WARPS, true, true, VEC>(s, a, b, c, st);
  }
}

}  // namespace

void simt_sgemm(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream) {
  check_supported(s);
  const bool vec = vec_ok(s, a, b);
  const int bmn = choose_tile(s, sm_count_current_device());
  if (bmn == 128 && warp_tiles(bmn)) {
    if (vec) dispatch<128, true, true>(s, a, b, c, stream);
    else dispatch<128, true, false>(s, a, b, c, stream);
  } else if (bmn == 128) {
    if (vec) dispatch<128, false, true>(s, a, b, c, stream);
    else dispatch<128, false, false>(s, a, b, c, stream);
  } else {
    if (vec) dispatch<64, false, true>(s, a, b, c, stream);
    else dispatch<64, false, false>(s, a, b, c, stream);
  }
}

std::string simt_sgemm_kernel_name(const GemmSpec& s) {
  check_supported(s);
  static const char* tags[4] = {"nn", "nt", "tn", "tt"};
  const int64_t a_contig = s.trans_a ? s.m : s.k;
  const int64_t b_contig = s.trans_b ? s.k : s.n;
  const bool vec = a_contig % 4 == 0 && b_contig % 4 == 0;  // allocations are aligned
  const int bmn = choose_tile(s, sm_count_current_device());
  const std::string tile = bmn == 128 ? (warp_tiles(bmn) ? "128x128x8_warps_" : "128x128x8_") : "64x64x16_";
  return "simt_sgemm_" + tile + (vec ? "vec4_" : "generic_") + tags[(s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0)];
}

}  // namespace am::cuda
