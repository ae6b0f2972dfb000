// CPU GEMM: our own packed, cache-blocked, OpenMP-parallel fp32 kernel and its runner.
#pragma once
#include "common/gemm_spec.hpp"
#include "common/run_result.hpp"
#include "cpu/backend.hpp"

namespace am::cpu {

// C = op(A) op(B) for every batch (row-major, see GemmSpec). fp32 only.
void sgemm(const GemmSpec& s, const float* a, const float* b, float* c);
const char* sgemm_kernel();  // which microkernel sgemm runs on this CPU

// Fill, run `be` once, verify against float64, then time it. cold=true evicts the
// caches (reads a buffer larger than the last-level cache) before each sample.
RunResult run_gemm(const GemmSpec& s, const StopRule& rule, bool cold, const GemmBackend& be);

}  // namespace am::cpu
