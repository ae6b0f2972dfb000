// The two ways backend "cudnn" runs a convolution, behind one interface
// (conv_cudnn.cpp picks by `algo`): the graph (backend) API's engine configs
// (conv_cudnn_graph.cpp) and the legacy API's algorithms (conv_cudnn_legacy.cpp).
// Only with cuDNN (AM_HAVE_CUDNN).
#pragma once
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuda/micro.hpp"

namespace am::cuda {

// Is s 1 to max_len decimal digits? (The numbers in an algo string: engine:N(KNOB=V,...).)
inline bool is_digits(const std::string& s, size_t max_len) {
  return !s.empty() && s.size() <= max_len &&
         std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch); });
}

// A problem's candidates, best first; plan(i) allocates candidate i's workspace.
class CudnnCandidates {
 public:
  virtual ~CudnnCandidates() = default;
  virtual size_t count() const = 0;
  virtual ConvPlan plan(size_t i) const = 0;
};

// The operand pointers of one problem: in0, in1 -> out (ConvSpec's order).
struct ConvOperands {
  const void* in0;
  const void* in1;
  void* out;
};

// Graph API. choice: "find" (every engine config timed, fastest first), "heuristic"
// (heuristics mode A's order, mode FALLBACK's when A has none), or "engine" (only
// engine `engine`'s configs; with `knobs`, e.g. "WORKSPACE=1,TILE_CGA_M=8", only those
// that make these knob choices: knob names as cuDNN's enum without CUDNN_KNOB_TYPE_, or
// their numbers, as in the cuDNN frontend's plan tags). Workspaces above ws_cap are
// skipped. cold: "find" flushes L2 before each launch.
std::shared_ptr<CudnnCandidates> make_graph_conv(Context& ctx, const ConvSpec& s, const std::string& choice,
                                                 int64_t engine, const std::string& knobs, const ConvOperands& ops,
                                                 size_t ws_cap, bool cold);

// Legacy API. algo: "find" (cudnnFind*AlgorithmEx), "heuristic" (cudnnGet*Algorithm_v7)
// or one of legacy_algo_names(s.dir).
std::shared_ptr<CudnnCandidates> make_legacy_conv(Context& ctx, const ConvSpec& s, const std::string& algo,
                                                  const ConvOperands& ops, size_t ws_cap);
std::vector<std::string> legacy_algo_names(ConvDir d);

}  // namespace am::cuda
