// CPU convolution: im2col + our blocked OpenMP sgemm, all three directions,
// both layouts, any stride/pad/dilation/groups (fp32 only).
#pragma once
#include <vector>

#include "common/conv_spec.hpp"
#include "common/run_result.hpp"
#include "cpu/backend.hpp"

namespace am::cpu {

// out = conv(in0, in1) for s.dir (see common/conv_spec.hpp for the operands).
// Scratch buffers are the caller's (ConvScratch), so timed runs do not allocate.
struct ConvScratch {
  std::vector<float> col, wg, yt, acc;
};
void conv(const ConvSpec& s, const float* in0, const float* in1, float* out, ConvScratch& scratch);

// Fill, run once, verify against float64 on sampled outputs, then time. `chain`: one
// convolution, or several run back to back as one sample (each verified first). `backend` names
// the backend whose `factory` makes each layer's kernel (see cpu/backend.hpp).
RunResult run_conv(const std::vector<ConvSpec>& chain, const StopRule& rule, bool cold, const std::string& backend,
                   const ConvFactory& factory);

}  // namespace am::cpu
