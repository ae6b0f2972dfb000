// aimatrix's own SIMT fp32 GEMM (CUDA cores, no tensor cores): the classic
// 128x128x8 block tile, 256 threads, 8x8 register micro-tile per thread (split
// 4+4 in each direction so shared-memory reads are conflict-free), register
// staged double buffering of shared memory. Layout as in common/gemm_spec.hpp.
// VEC=true: 16-byte global loads (the contiguous dimension of A and of B a
// multiple of 4 floats, pointers 16-byte aligned); VEC=false: bounds-checked
// element loads, any shape. Output stores are 16-byte when n % 4 == 0 and C is
// aligned, else element-wise. Batches run along grid z.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "common/errors.hpp"
#include "cuda/check.hpp"
#include "cuda/own_gemm.hpp"

namespace am::cuda {
namespace {

constexpr int BM = 128, BN = 128, BK = 8, THREADS = 256;
constexpr int SLD = BM + 4;  // padded shared row: transposed stores hit distinct banks
constexpr int64_t kMaxGridZ = 65535;

// Grouped tile order for L2 reuse (as in the tensor-core kernels).
__device__ __forceinline__ void tile_coords(int pid, int tiles_m, int tiles_n, int& tm, int& tn) {
  constexpr int GROUP = 8;
  const int per_group = GROUP * tiles_n;
  const int g = pid / per_group;
  const int first = g * GROUP;
  const int gsz = min(tiles_m - first, GROUP);
  const int r = pid - g * per_group;
  tm = first + r % gsz;
  tn = r / gsz;
}

// One operand's per-thread view for register staging. "Row-wise" operands are
// stored with the non-K dimension outer (A [m][k] when !TA, B [n][k] when TB):
// thread t takes row t/2, k (t%2)*4..+3 of each tile. "K-wise" operands are
// stored [k][x]: thread t takes k row t/32, x (t%32)*4..+3.
template <bool KWISE, bool VEC>
struct Loader {
  const float* p;  // this thread's first element of the current tile
  int k;           // its k index in the current tile
  int xrem;        // valid elements along x from this thread's first (<= 0: none)
  int K;
  int64_t step;    // elements between consecutive k tiles

  __device__ __forceinline__ Loader(const float* __restrict__ g, int x0, int X, int K_, int tid) : K(K_) {
    const int x = KWISE ? x0 + (tid & 31) * 4 : x0 + (tid >> 1);
    k = KWISE ? (tid >> 5) : (tid & 1) * 4;
    xrem = X - x;
    const int xs = xrem > 0 ? x : 0;
    p = KWISE ? g + int64_t(k) * X + xs : g + int64_t(xs) * K + k;
    step = KWISE ? int64_t(BK) * X : BK;
  }
  __device__ __forceinline__ void load(float (&v)[4]) const {
    if constexpr (!KWISE) {
      if constexpr (VEC) {  // K % 4 == 0: the 4 k's are wholly in or out
        if (xrem > 0 && k < K) {
          const float4 f = __ldg(reinterpret_cast<const float4*>(p));
          v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
        } else {
          v[0] = v[1] = v[2] = v[3] = 0.0f;
        }
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) v[j] = (xrem > 0 && k + j < K) ? __ldg(p + j) : 0.0f;
      }
    } else {
      if constexpr (VEC) {  // X % 4 == 0
        if (xrem > 0 && k < K) {
          const float4 f = __ldg(reinterpret_cast<const float4*>(p));
          v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
        } else {
          v[0] = v[1] = v[2] = v[3] = 0.0f;
        }
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) v[j] = (j < xrem && k < K) ? __ldg(p + j) : 0.0f;
      }
    }
  }
  __device__ __forceinline__ void advance() {
    p += step;
    k += BK;
  }
};

// Registers to the shared tile s[k][x] (row length SLD).
template <bool KWISE>
__device__ __forceinline__ void store_smem(float* s, const float (&v)[4], int tid) {
  if constexpr (!KWISE) {
    const int x = tid >> 1, k = (tid & 1) * 4;
#pragma unroll
    for (int j = 0; j < 4; ++j) s[(k + j) * SLD + x] = v[j];
  } else {
    const int k = tid >> 5, x = (tid & 31) * 4;
    *reinterpret_cast<float4*>(s + k * SLD + x) = make_float4(v[0], v[1], v[2], v[3]);
  }
}

template <bool TA, bool TB, bool VEC>
// Two blocks per SM for the vectorised variant (128 registers); the generic
// one keeps one (its bounds checks would spill a few registers at 128).
__global__ void __launch_bounds__(THREADS, VEC ? 2 : 1)
    sgemm_kernel(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M, int N, int K,
                 int tiles_m, int tiles_n, int64_t batch0, bool vec_c) {
  __shared__ __align__(16) float As[2][BK * SLD];
  __shared__ __align__(16) float Bs[2][BK * SLD];
  constexpr bool A_KWISE = TA;   // A stored [k][m]
  constexpr bool B_KWISE = !TB;  // B stored [k][n]

  const int64_t bz = batch0 + blockIdx.z;
  A += bz * int64_t(M) * K;
  B += bz * int64_t(K) * N;
  C += bz * int64_t(M) * N;
  int tm, tn;
  tile_coords(blockIdx.x, tiles_m, tiles_n, tm, tn);
  const int m0 = tm * BM, n0 = tn * BN;
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  float ra[4], rb[4];
  const int KT = (K + BK - 1) / BK;
  Loader<A_KWISE, VEC> la(A, m0, M, K, tid);
  Loader<B_KWISE, VEC> lb(B, n0, N, K, tid);
  la.load(ra);
  lb.load(rb);
  store_smem<A_KWISE>(As[0], ra, tid);
  store_smem<B_KWISE>(Bs[0], rb, tid);
  __syncthreads();

  for (int kt = 0; kt < KT; ++kt) {
    const int cur = kt & 1;
    const bool more = kt + 1 < KT;
    if (more) {
      la.advance();
      lb.advance();
      la.load(ra);
      lb.load(rb);
    }
    const float* as = As[cur];
    const float* bs = Bs[cur];
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      const float4 a0 = *reinterpret_cast<const float4*>(as + k * SLD + ty * 4);
      const float4 a1 = *reinterpret_cast<const float4*>(as + k * SLD + 64 + ty * 4);
      const float4 b0 = *reinterpret_cast<const float4*>(bs + k * SLD + tx * 4);
      const float4 b1 = *reinterpret_cast<const float4*>(bs + k * SLD + 64 + tx * 4);
      const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (more) {
      store_smem<A_KWISE>(As[cur ^ 1], ra, tid);
      store_smem<B_KWISE>(Bs[cur ^ 1], rb, tid);
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (row >= M) continue;
    float* crow = C + int64_t(row) * N;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int col = n0 + h * 64 + tx * 4;
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
  constexpr int64_t imax = std::numeric_limits<int32_t>::max();
  if (s.m > imax || s.n > imax || s.k > imax || s.batch > imax)
    throw UnsupportedError("own SIMT sgemm: m, n, k and batch must each be below 2^31");
}

bool vec_ok(const GemmSpec& s, const void* a, const void* b) {
  const int64_t a_contig = s.trans_a ? s.m : s.k;
  const int64_t b_contig = s.trans_b ? s.k : s.n;
  const bool ptrs = (reinterpret_cast<uintptr_t>(a) % 16 == 0) && (reinterpret_cast<uintptr_t>(b) % 16 == 0);
  return ptrs && a_contig % 4 == 0 && b_contig % 4 == 0;
}

template <bool TA, bool TB, bool VEC>
void launch(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream) {
  const int M = int(s.m), N = int(s.n), K = int(s.k);
  const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
  const bool vec_c = (N % 4 == 0) && (reinterpret_cast<uintptr_t>(c) % 16 == 0);
  for (int64_t b0 = 0; b0 < s.batch; b0 += kMaxGridZ) {
    const unsigned nz = unsigned(std::min<int64_t>(kMaxGridZ, s.batch - b0));
    dim3 grid(unsigned(tiles_m) * unsigned(tiles_n), 1, nz);
    sgemm_kernel<TA, TB, VEC><<<grid, THREADS, 0, stream>>>(a, b, c, M, N, K, tiles_m, tiles_n, b0, vec_c);
    AM_CUDA_CHECK_LAUNCH();
  }
}

template <bool VEC>
void dispatch(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t st) {
  switch ((s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0)) {
    case 0: return launch<false, false, VEC>(s, a, b, c, st);
    case 1: return launch<false, true, VEC>(s, a, b, c, st);
    case 2: return launch<true, false, VEC>(s, a, b, c, st);
    default: return launch<true, true, VEC>(s, a, b, c, st);
  }
}

}  // namespace

void simt_sgemm(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream) {
  check_supported(s);
  if (vec_ok(s, a, b)) dispatch<true>(s, a, b, c, stream);
  else dispatch<false>(s, a, b, c, stream);
}

std::string simt_sgemm_kernel_name(const GemmSpec& s) {
  check_supported(s);
  static const char* tags[4] = {"nn", "nt", "tn", "tt"};
  const int64_t a_contig = s.trans_a ? s.m : s.k;
  const int64_t b_contig = s.trans_b ? s.k : s.n;
  const bool vec = a_contig % 4 == 0 && b_contig % 4 == 0;  // allocations are aligned
  return std::string("simt_sgemm_128x128x8_") + (vec ? "vec4_" : "generic_") + tags[(s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0)];
}

}  // namespace am::cuda
