// Pieces of the memory benchmarks that the peer-to-peer copies (p2p.cu) share
// with the single-GPU ones (membw.cu).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "common/membw_spec.hpp"
#include "common/run_result.hpp"
#include "cuda/context.hpp"

namespace am::cuda {

// out = in over n fp32 elements with the STREAM copy kernel (16-byte accesses, a
// block per 16 KB chunk), on the stream's device; `out` may be a peer GPU's memory.
void launch_copy_kernel(const float* in, float* out, int64_t n, cudaStream_t st);

// Element offsets checked against the reference: the first, the last and random ones.
std::vector<int64_t> probe_offsets(int64_t n, uint64_t seed, int count = 4096);

// Kind "p2p" (p2p.cu): `device` sends to s.peer, and with s.bidirectional receives at once.
RunResult run_p2p(Context& ctx, int device, const MembwSpec& s, const StopRule& rule, bool cold);

}  // namespace am::cuda
