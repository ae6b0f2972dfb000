// Device-side data preparation and checking shared by every CUDA benchmark:
// seeded random fill (the same values common/rng.hpp gives on the host), NaN
// poisoning of outputs, a count of non-finite outputs, and gathering sampled
// elements for the host reference.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "common/dtype.hpp"

namespace am::cuda {

// Uniform in [-1, 1) (int8: [-127, 127]), rounded to the storage type.
void fill_random(void* p, Storage s, size_t n, uint64_t seed, cudaStream_t stream);
// All bits set: NaN for floating types, so an unwritten output fails the check.
void poison(void* p, size_t bytes, cudaStream_t stream);
// Number of NaN/Inf elements (0 for integer storage). Synchronises the stream.
int64_t count_nonfinite(const void* p, Storage s, size_t n, cudaStream_t stream);
// Bytes of the elements at `offsets` (in elements of `elem_bytes`). Synchronises.
std::vector<uint8_t> gather(const void* p, size_t elem_bytes, const std::vector<int64_t>& offsets, cudaStream_t stream);

}  // namespace am::cuda
