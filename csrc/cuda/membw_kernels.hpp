// Pieces of the memory benchmarks that the peer-to-peer copies (p2p.cu) share
// with the single-GPU ones (membw.cu).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "common/membw_spec.hpp"
#include "common/run_result.hpp"
#include "common/verify.hpp"
#include "cuda/context.hpp"

namespace am::cuda {

// out = in over n fp32 elements with the STREAM copy kernel (16-byte accesses, a
// block per 16 KB chunk), on the stream's device; `out` may be a peer GPU's memory.
void launch_copy_kernel(const float* in, float* out, int64_t n, cudaStream_t st);

// Element offsets checked against the reference: the first, the last and random ones.
std::vector<int64_t> probe_offsets(int64_t n, uint64_t seed, int count = 4096);

// A copy's check: `got` holds the destination's elements at `off`, the source held uniform_pm1(seed, i).
Verification check_copied(uint64_t seed, const std::vector<int64_t>& off, const std::vector<float>& got);

// Times a copy (checked as `v`) with plain launches on `st`: no graph capture, since pageable host
// memory and work spanning two devices cannot be captured.
RunResult time_copy(Context& ctx, cudaStream_t st, const std::function<void(cudaStream_t)>& launch, bool cold,
                    const StopRule& rule, const Verification& v);

// Kind "p2p" (p2p.cu): `device` sends to s.peer, and with s.bidirectional receives at once.
RunResult run_p2p(Context& ctx, int device, const MembwSpec& s, const StopRule& rule, bool cold);

}  // namespace am::cuda
