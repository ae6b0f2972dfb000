// CUDA micro benchmarks other than GEMM: convolution (cuDNN and our implicit
// GEMM), memory bandwidth (kernels and transfers) and launch latency.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/conv_spec.hpp"
#include "common/membw_spec.hpp"
#include "common/run_result.hpp"
#include "cuda/context.hpp"

namespace am::cuda {

// Backends "cudnn" (algo: "find", "heuristic", "engine:N", "legacy-find",
// "legacy-heuristic" or a legacy algorithm name; conv_cudnn.cpp) and "igemm".
// `chain`: one convolution, or several timed back to back as one sample (each
// verified on its own inputs first), as the layers of a network run.
RunResult run_conv(int device, const std::string& backend, const std::string& algo, const std::vector<ConvSpec>& chain,
                   const StopRule& rule, bool cold);
RunResult run_membw(int device, const MembwSpec& s, const StopRule& rule, bool cold);
// kind: "empty", "graph" or "sync"; host-side microseconds per launch.
RunResult run_launch(int device, const std::string& kind, const StopRule& rule);
// cuDNN's version (cudnnGetVersion), 0 when the library is not linked.
int cudnn_version();

// A convolution ready to enqueue on a stream (capturable: no allocation, no sync).
struct ConvPlan {
  std::function<void(cudaStream_t)> launch;
  std::map<std::string, std::string> info;  // algorithm, workspace, kernel
};

// Our implicit-GEMM kernels (conv_igemm.cu), NHWC, groups = 1: forward and stride-1 bwd_data (fp32 on CUDA cores,
// fp16/bf16 on tensor cores: the gathered channels a multiple of 8), bwd_filter on Hopper (fp16/bf16, C a multiple
// of 64). UnsupportedError otherwise. in0, in1, out: the direction's operands (ConvSpec::in0 ...).
ConvPlan plan_igemm(Context& ctx, const ConvSpec& s, const void* in0, const void* in1, void* out);

}  // namespace am::cuda
