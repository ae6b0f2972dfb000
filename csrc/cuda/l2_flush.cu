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

// Straight-line code larger than an SM's instruction caches (~6K steps x 4 lanes x 2 instructions of 16 bytes:
// ~770 KB of SASS), run by one warp per SM sub-partition: the timed kernel then fetches its code from memory, as
// after Nsight Compute's `--cache-control all`, which invalidates every GPU cache, not only L2. Nothing to fold:
// each step is a multiply and a funnel shift of the step before.
constexpr int kIcacheSteps = 6144;
__global__ void __launch_bounds__(128) icache_evict(uint32_t seed, uint32_t* sink) {
  uint32_t a = seed + threadIdx.x, b = a ^ 0x9e3779b9u, c = a * 3u, d = a + 7u;
#pragma unroll
  for (int i = 0; i < kIcacheSteps; ++i) {
    a = __funnelshift_l(a * (2u * i + 3u), a, 5);
    b = __funnelshift_l(b * (2u * i + 5u), b, 7);
    c = __funnelshift_l(c * (2u * i + 7u), c, 11);
    d = __funnelshift_l(d * (2u * i + 9u), d, 13);
  }
  if ((a ^ b ^ c ^ d) == 0x5eedu) *sink = a;  // keeps the chain; writes nothing in practice (and harmlessly if so)
}

}  // namespace

void flush_l2_by_reading(const void* zeros, size_t bytes, int sm_count, cudaStream_t s) {
  const size_t n = bytes / sizeof(uint4);
  const unsigned blocks = unsigned(sm_count > 0 ? 4 * sm_count : 512);
  l2_flush_read<<<blocks, 512, 0, s>>>(static_cast<const uint4*>(zeros), n, 1u,
                                       static_cast<uint32_t*>(const_cast<void*>(zeros)));
  AM_CUDA_CHECK_LAUNCH();
}

void evict_icache(void* scratch, int sm_count, cudaStream_t s) {
  // Two blocks of four warps per SM, as many as the SMs can hold at once with 128-thread blocks: every SM
  // and sub-partition runs the code whichever SMs the scheduler picks.
  icache_evict<<<unsigned(2 * (sm_count > 0 ? sm_count : 132)), 128, 0, s>>>(1u, static_cast<uint32_t*>(scratch));
  AM_CUDA_CHECK_LAUNCH();
}

}  // namespace am::cuda
