// Backend "cudnn": `algo` picks the API and the choice. The graph (backend) API,
// as PyTorch uses it: "find" (every engine config timed, fastest first; the
// default), "heuristic" (heuristics mode A's order), "engine:N" (engine N's
// configs) or "engine:N(KNOB=V,...)" (engine N with these knob choices: one exact
// config, as a Result's params["algo_exact"] names it); cuDNN's legacy API: "legacy-find", "legacy-heuristic" or a
// legacy algorithm name (IMPLICIT_GEMM, WINOGRAD, ...). The runner tries the candidates in order and keeps the first
// that verifies.
#include "cuda/conv_cudnn.hpp"

#if AM_HAVE_CUDNN
#include <cudnn.h>

#include <algorithm>
#include <stdexcept>

#include "cuda/check.hpp"
#include "cuda/conv_cudnn_impl.hpp"

namespace am::cuda {

int cudnn_version() { return int(cudnnGetVersion()); }

struct CudnnConv::Impl {
  std::shared_ptr<CudnnCandidates> cands;
};

namespace {

// "engine:N" or "engine:N(knobs)": N and the knobs text.
struct EngineAlgo {
  int64_t engine = -1;  // -1: algo does not start with "engine:"
  std::string knobs;
};

// A bad N, or unbalanced parentheses, is a ValueError; the knobs are checked where they are used.
EngineAlgo engine_of(const std::string& algo) {
  const std::string prefix = "engine:";
  if (algo.compare(0, prefix.size(), prefix) != 0) return {};
  std::string n = algo.substr(prefix.size()), knobs;
  const size_t open = n.find('(');
  const auto bad = [&] {
    return std::invalid_argument("algo='" + algo +
                                 "' is not allowed: expected engine:N or engine:N(KNOB=V,...) with N "
                                 "a cuDNN engine number");
  };
  if (open != std::string::npos) {
    if (n.back() != ')') throw bad();
    knobs = n.substr(open + 1, n.size() - open - 2);
    n = n.substr(0, open);
    if (knobs.empty()) throw bad();
  }
  if (!is_digits(n, 9)) throw bad();
  return {std::stoll(n), knobs};
}

std::shared_ptr<CudnnCandidates> candidates_for(Context& ctx, const ConvSpec& s, const std::string& algo,
                                                const ConvOperands& ops, size_t cap, bool cold) {
  if (algo == "find" || algo == "heuristic") return make_graph_conv(ctx, s, algo, -1, "", ops, cap, cold);
  const EngineAlgo e = engine_of(algo);
  if (e.engine >= 0) return make_graph_conv(ctx, s, "engine", e.engine, e.knobs, ops, cap, cold);
  if (algo == "legacy-find") return make_legacy_conv(ctx, s, "find", ops, cap);
  if (algo == "legacy-heuristic") return make_legacy_conv(ctx, s, "heuristic", ops, cap);
  const std::vector<std::string> names = legacy_algo_names(s.dir);
  if (std::find(names.begin(), names.end(), algo) != names.end()) return make_legacy_conv(ctx, s, algo, ops, cap);
  std::string allowed = "find, heuristic, engine:N, engine:N(KNOB=V,...), legacy-find, legacy-heuristic";
  for (const std::string& n : names) allowed += ", " + n;
  throw std::invalid_argument("algo='" + algo + "' is not allowed for " + conv_dir_name(s.dir) + ": expected one of " +
                              allowed);
}

}  // namespace

CudnnConv::CudnnConv(Context& ctx, const ConvSpec& s, const std::string& algo, const void* in0, const void* in1,
                     void* out, bool cold)
    : impl_(std::make_shared<Impl>()) {
  size_t free_b = 0, total_b = 0;
  AM_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const size_t cap = std::min(free_b / 2, size_t(4) << 30);
  impl_->cands = candidates_for(ctx, s, algo, ConvOperands{in0, in1, out}, cap, cold);
  if (impl_->cands->count() == 0)
    throw UnsupportedError("cuDNN has no algorithm for " + s.describe() + " (algo '" + algo + "')");
}

size_t CudnnConv::candidates() const { return impl_->cands->count(); }

ConvPlan CudnnConv::plan(size_t i) const { return impl_->cands->plan(i); }

}  // namespace am::cuda

#else  // built without cuDNN (AIMATRIX_CUDA=AUTO and no cuDNN found)

namespace am::cuda {
int cudnn_version() { return 0; }
struct CudnnConv::Impl {};
CudnnConv::CudnnConv(Context&, const ConvSpec&, const std::string&, const void*, const void*, void*, bool) {
  throw UnsupportedError(
      "backend 'cudnn': this aimatrix was built without cuDNN (pip install nvidia-cudnn-cu13 and rebuild)");
}
size_t CudnnConv::candidates() const { return 0; }
ConvPlan CudnnConv::plan(size_t) const { return {}; }
}  // namespace am::cuda

#endif
