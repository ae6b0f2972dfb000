// Pieces every own kernel's launcher shares: the grouped tile order, the current device's SM count and the
// once-per-device raise of a kernel's dynamic shared-memory limit.
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "cuda/check.hpp"

namespace am::cuda {

// Grouped tile order: GROUP tile-rows are walked column by column so that
// concurrently running blocks share A rows and B columns in L2.
constexpr int kTileGroup = 8;
__device__ __forceinline__ void tile_coords(int pid, int tiles_m, int tiles_n, int& tm, int& tn) {
  constexpr int GROUP = kTileGroup;
  const int per_group = GROUP * tiles_n;
  const int g = pid / per_group;
  const int first = g * GROUP;
  const int gsz = min(tiles_m - first, GROUP);
  const int r = pid - g * per_group;
  tm = first + r % gsz;
  tn = r / gsz;
}
// Its inverse: the place of tile (tm, tn) in the grouped order.
__device__ __forceinline__ int tile_index(int tm, int tn, int tiles_m, int tiles_n) {
  const int first = tm / kTileGroup * kTileGroup, gsz = min(tiles_m - first, kTileGroup);
  return first * tiles_n + tn * gsz + (tm - first);
}

// Programmatic dependent launch (sm_90+): a kernel launched by launch_after may be scheduled while the work before
// it in the stream still runs, once every block of that work has called grid_dependents_launch() (or finished); it
// must call grid_dependency_wait() before it reads what that work wrote. It can hide only the launch gap between a
// kernel and a short one after it (split-K's reduction; on the H100 the gain was within noise, bench/RESULTS.md).
// Both are no-ops where not launched so, and before sm_90.
__device__ __forceinline__ void grid_dependents_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
template <typename... Params, typename... Args>
void launch_after(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t st, Args... args) {
  cudaLaunchAttribute attr[1] = {};
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid, cfg.blockDim = block, cfg.dynamicSmemBytes = smem, cfg.stream = st;
  cfg.attrs = attr, cfg.numAttrs = 1;
  AM_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, static_cast<Params>(args)...));
}

// A block's place in a strided batched GEMM (one tile of C per block): A, B and C moved to its batch
// (blockIdx.z after batch0), and the origin (m0, n0) of its bm x bn tile in grouped order.
template <typename PA, typename PB, typename PC>
__device__ __forceinline__ void block_origin(PA& A, PB& B, PC& C, int M, int N, int K, int tiles_m, int tiles_n,
                                             int64_t batch0, int bm, int bn, int& m0, int& n0) {
  const int64_t bz = batch0 + blockIdx.z;
  A += bz * int64_t(M) * K;
  B += bz * int64_t(K) * N;
  C += bz * int64_t(M) * N;
  int tm, tn;
  tile_coords(blockIdx.x, tiles_m, tiles_n, tm, tn);
  m0 = tm * bm;
  n0 = tn * bn;
}

// Streaming multiprocessors of the current device (what grids are sized by).
inline int sm_count_current_device() {
  int dev = 0, n = 0;
  AM_CUDA_CHECK(cudaGetDevice(&dev));
  AM_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
  return n;
}

// A block gets more than 48 KB of shared memory only after this; it costs a driver
// call, so it is made once per (kernel, device).
template <class Kernel>
void raise_smem_limit(Kernel kernel, int bytes) {
  static std::mutex mu;
  static std::set<std::pair<const void*, int>> done;
  int dev = 0;
  AM_CUDA_CHECK(cudaGetDevice(&dev));
  const std::pair<const void*, int> key{reinterpret_cast<const void*>(kernel), dev};
  std::lock_guard<std::mutex> lock(mu);
  if (done.count(key)) return;
  AM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  done.insert(key);
}

// Clusters of a cluster launch `cfg` (its cluster-dimension attribute set, its kernel's shared-memory limit
// raised) that fit on the current device at once: the grid of a persistent cluster kernel. Once per (kernel, device).
template <class Kernel>
int max_active_clusters(Kernel kernel, const cudaLaunchConfig_t& cfg) {
  static std::mutex mu;
  static std::map<std::pair<const void*, int>, int> known;
  int dev = 0;
  AM_CUDA_CHECK(cudaGetDevice(&dev));
  const std::pair<const void*, int> key{reinterpret_cast<const void*>(kernel), dev};
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(key);
  if (it != known.end()) return it->second;
  int n = 0;
  AM_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&n, kernel, &cfg));
  if (n < 1) AM_CUDA_CHECK(cudaErrorInvalidClusterSize);  // no cluster of this size fits: an error, not a hang
  known[key] = n;
  return n;
}

}  // namespace am::cuda
