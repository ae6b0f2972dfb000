// Backend "cudnn" of the convolution runner (conv_cudnn.cpp): the problem's
// candidates (graph-API engine configs or legacy algorithms), best first.
#pragma once
#include <memory>
#include <string>

#include "cuda/micro.hpp"

namespace am::cuda {

class CudnnConv {
 public:
  // algo: "find" (every engine config timed), "heuristic", "engine:N", "legacy-find",
  // "legacy-heuristic" or a legacy algorithm name (conv_cudnn.cpp).
  // Throws std::invalid_argument for an unknown name, UnsupportedError when nothing runs. cold: "find" times
  // each launch after an L2 flush, as the benchmark will (the fastest config hot need not be the fastest cold).
  CudnnConv(Context& ctx, const ConvSpec& s, const std::string& algo, const void* in0, const void* in1, void* out,
            bool cold = false);
  size_t candidates() const;
  ConvPlan plan(size_t i) const;  // allocates candidate i's workspace once

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace am::cuda
