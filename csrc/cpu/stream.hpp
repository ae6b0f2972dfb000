// CPU memory bandwidth: the STREAM kernels (and a pure read and write) with OpenMP.
#pragma once
#include "common/membw_spec.hpp"
#include "common/run_result.hpp"

namespace am::cpu {

// Fill, run once, verify, then time. Transfers are CUDA only (UnsupportedError).
RunResult run_membw(const MembwSpec& s, const StopRule& rule, bool cold);

}  // namespace am::cpu
