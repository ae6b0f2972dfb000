// Pieces every own kernel's launcher shares: the grouped tile order, the current device's SM count and the
// once-per-device raise of a kernel's dynamic shared-memory limit.
#pragma once
#include <cuda_runtime.h>

#include <mutex>
#include <set>
#include <utility>

#include "cuda/check.hpp"

namespace am::cuda {

// Grouped tile order: GROUP tile-rows are walked column by column so that
// concurrently running blocks share A rows and B columns in L2.
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

}  // namespace am::cuda
