// Backend "cudnn" of the convolution runner (conv_cudnn.cpp): the problem's
// descriptors and its candidate algorithms, best first.
#pragma once
#include <memory>
#include <string>

#include "cuda/micro.hpp"

namespace am::cuda {

class CudnnConv {
 public:
  // algo: "find" (measured by cuDNN), "heuristic", or an algorithm name.
  // Throws std::invalid_argument for an unknown name, UnsupportedError when no algorithm runs.
  CudnnConv(Context& ctx, const ConvSpec& s, const std::string& algo, const void* in0, const void* in1, void* out);
  size_t candidates() const;
  ConvPlan plan(size_t i) const;  // allocates candidate i's workspace once

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace am::cuda
