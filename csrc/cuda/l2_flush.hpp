// The cold mode's L2 flush (l2_flush.cu).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace am::cuda {

// Reads `bytes` of `zeros` (a device buffer of zeros, 16-byte aligned, at least twice the L2): afterwards L2
// holds only clean lines of it.
void flush_l2_by_reading(const void* zeros, size_t bytes, int sm_count, cudaStream_t s);

// Runs more straight-line code than an SM's instruction caches hold on every SM: the next kernel's code comes
// from memory. `scratch`: 4 writable bytes (written only in a case that does not occur).
void evict_icache(void* scratch, int sm_count, cudaStream_t s);

}  // namespace am::cuda
