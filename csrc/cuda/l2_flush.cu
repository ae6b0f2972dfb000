// The cold mode's L2 flush: one read of a buffer of max(2 x L2, 256 MB).
// A read leaves L2 holding clean lines of the buffer. A write (cudaMemset, as triton's do_bench and nvbench
// flush) leaves up to a whole L2 of dirty lines, and the timed kernel pays for writing them back as it evicts
// them: on an H100 a cold 1 MiB add read 2.94 us by CUPTI against Nsight Compute's 2.48 (its own floor
// removed), which flushes and invalidates its caches (bench/RESULTS.md, "Timers vs Nsight Compute").
#include <cstdint>

#include "cuda/check.hpp"
#include "cuda/l2_flush.hpp"

namespace am::cuda {
namespace {

// XOR of every 16-byte word; written only if it equals `never`, which the caller picks so that it cannot
// (the buffer is all zeros): the loads cannot be dropped, and nothing is written.
__global__ void l2_flush_read(const uint4* __restrict__ p, size_t n, uint32_t never, uint32_t* sink) {
  uint32_t acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const uint4 v = p[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == never) *sink = acc;
}

}  // namespace

void flush_l2_by_reading(const void* zeros, size_t bytes, int sm_count, cudaStream_t s) {
  const size_t n = bytes / sizeof(uint4);
  const unsigned blocks = unsigned(sm_count > 0 ? 4 * sm_count : 512);
  l2_flush_read<<<blocks, 512, 0, s>>>(static_cast<const uint4*>(zeros), n, 1u,
                                       static_cast<uint32_t*>(const_cast<void*>(zeros)));
  AM_CUDA_CHECK_LAUNCH();
}

}  // namespace am::cuda
