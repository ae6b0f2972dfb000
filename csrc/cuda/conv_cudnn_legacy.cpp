// Backend "cudnn" through cuDNN's legacy convolution API (algo "legacy-find",
// "legacy-heuristic" or a legacy algorithm name such as IMPLICIT_PRECOMP_GEMM):
// the algorithm found by measurement (cudnnFind*AlgorithmEx, fastest first), by
// heuristics (cudnnGet*Algorithm_v7), or named. The graph API (conv_cudnn_graph.cpp)
// reaches engines this one does not; this path stays for comparison.
#if AM_HAVE_CUDNN
#include <algorithm>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "cuda/buffer.hpp"
#include "cuda/check.hpp"
#include "cuda/conv_cudnn_impl.hpp"
#include "cuda/cudnn_util.hpp"

namespace am::cuda {

namespace {

// Descriptors of one problem, destroyed with it.
struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descs() {
    AM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    AM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    AM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    AM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
  }
  ~Descs() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;
};

const char* const kFwdNames[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                                 "WINOGRAD",      "WINOGRAD_NONFUSED"};
const char* const kBwdDataNames[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const kBwdFilterNames[] = {"ALGO_0",    "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                       "FFT_TILING"};

struct AlgoNames {
  const char* const* names;
  int count;
};
AlgoNames algo_names(ConvDir d) {
  switch (d) {
    case ConvDir::fwd: return {kFwdNames, 8};
    case ConvDir::bwd_data: return {kBwdDataNames, 6};
    default: return {kBwdFilterNames, 7};
  }
}

const char* math_name(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH: return "DEFAULT_MATH";
    case CUDNN_TENSOR_OP_MATH: return "TENSOR_OP_MATH";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "TENSOR_OP_MATH_ALLOW_CONVERSION";
    case CUDNN_FMA_MATH: return "FMA_MATH";
  }
  return "?";
}

struct Perf {
  int algo;
  cudnnMathType_t math;
  size_t memory;
  float time_ms;  // -1 when not measured
};

// A direction's cuDNN entry points. Each takes two inputs (descriptor, data), the convolution, then the output;
// `slots` puts the problem's tensors in that order (in0, in1: the runner's operands; out: the result).
template <ConvDir D>
struct DirApi;

template <>
struct DirApi<ConvDir::fwd> {
  using Algo = cudnnConvolutionFwdAlgo_t;
  using PerfT = cudnnConvolutionFwdAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  static constexpr auto kFind = &cudnnFindConvolutionForwardAlgorithmEx;
  static constexpr auto kHeuristic = &cudnnGetConvolutionForwardAlgorithm_v7;
  static constexpr auto kWorkspace = &cudnnGetConvolutionForwardWorkspaceSize;
  static constexpr auto kRun = &cudnnConvolutionForward;
  // in0 = x, in1 = w, out = y
  static auto slots(const Descs& d, const void* in0, const void* in1) {
    return std::make_tuple(d.x, in0, d.w, in1, d.y);
  }
};

template <>
struct DirApi<ConvDir::bwd_data> {
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  using PerfT = cudnnConvolutionBwdDataAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  static constexpr auto kFind = &cudnnFindConvolutionBackwardDataAlgorithmEx;
  static constexpr auto kHeuristic = &cudnnGetConvolutionBackwardDataAlgorithm_v7;
  static constexpr auto kWorkspace = &cudnnGetConvolutionBackwardDataWorkspaceSize;
  static constexpr auto kRun = &cudnnConvolutionBackwardData;
  // in0 = dy, in1 = w, out = dx
  static auto slots(const Descs& d, const void* in0, const void* in1) {
    return std::make_tuple(d.w, in1, d.y, in0, d.x);
  }
};

template <>
struct DirApi<ConvDir::bwd_filter> {
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  using PerfT = cudnnConvolutionBwdFilterAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  static constexpr auto kFind = &cudnnFindConvolutionBackwardFilterAlgorithmEx;
  static constexpr auto kHeuristic = &cudnnGetConvolutionBackwardFilterAlgorithm_v7;
  static constexpr auto kWorkspace = &cudnnGetConvolutionBackwardFilterWorkspaceSize;
  static constexpr auto kRun = &cudnnConvolutionBackwardFilter;
  // in0 = x, in1 = dy, out = dw
  static auto slots(const Descs& d, const void* in0, const void* in1) {
    return std::make_tuple(d.x, in0, d.y, in1, d.w);
  }
};

// The direction's cuDNN calls behind one interface.
template <ConvDir D>
struct Dir : DirApi<D> {
  using Api = DirApi<D>;
  using Api::kCount;
  using typename Api::Algo;
  using typename Api::PerfT;
  static cudnnStatus_t find(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int* n,
                            PerfT* p, void* ws, size_t wsb) {
    const auto [a, a_data, b, b_data, c] = Api::slots(d, in0, in1);
    return Api::kFind(h, a, a_data, b, b_data, d.conv, c, out, kCount, n, p, ws, wsb);
  }
  static cudnnStatus_t heuristic(cudnnHandle_t h, const Descs& d, int* n, PerfT* p) {
    [[maybe_unused]] const auto [a, a_data, b, b_data, c] = Api::slots(d, nullptr, nullptr);
    return Api::kHeuristic(h, a, b, d.conv, c, kCount, n, p);
  }
  static cudnnStatus_t ws(cudnnHandle_t h, const Descs& d, int algo, size_t* bytes) {
    [[maybe_unused]] const auto [a, a_data, b, b_data, c] = Api::slots(d, nullptr, nullptr);
    return Api::kWorkspace(h, a, b, d.conv, c, Algo(algo), bytes);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int algo,
                           void* ws, size_t wsb, const float* one, const float* zero) {
    const auto [a, a_data, b, b_data, c] = Api::slots(d, in0, in1);
    return Api::kRun(h, one, a, a_data, b, b_data, d.conv, Algo(algo), ws, wsb, zero, c, out);
  }
};

// The largest workspace any algorithm of this problem asks for, capped.
template <ConvDir D>
size_t max_workspace(cudnnHandle_t h, const Descs& d, size_t cap) {
  size_t best = 0;
  for (int a = 0; a < Dir<D>::kCount; ++a) {
    size_t b = 0;
    if (Dir<D>::ws(h, d, a, &b) == CUDNN_STATUS_SUCCESS && b <= cap) best = std::max(best, b);
  }
  return best;
}

template <ConvDir D>
std::vector<Perf> algo_candidates(cudnnHandle_t h, const Descs& d, const std::string& algo, const void* in0,
                                  const void* in1, void* out, cudnnMathType_t math, size_t cap, cudaStream_t st) {
  using PerfT = typename Dir<D>::PerfT;
  std::vector<Perf> out_list;
  if (algo == "find" || algo == "heuristic") {
    PerfT p[Dir<D>::kCount];
    int n = 0;
    if (algo == "find") {
      const size_t wsb = max_workspace<D>(h, d, cap);
      DeviceBuffer ws(wsb);
      AM_CUDNN_CHECK(cudnnSetStream(h, st));
      AM_CUDNN_CHECK(Dir<D>::find(h, d, in0, in1, out, &n, p, ws.get(), wsb));
      AM_CUDA_CHECK(cudaStreamSynchronize(st));
    } else {
      AM_CUDNN_CHECK(Dir<D>::heuristic(h, d, &n, p));
    }
    for (int i = 0; i < n; ++i)
      if (p[i].status == CUDNN_STATUS_SUCCESS && p[i].memory <= cap)
        out_list.push_back({int(p[i].algo), p[i].mathType, p[i].memory, algo == "find" ? p[i].time : -1.f});
    return out_list;
  }
  const AlgoNames names = algo_names(D);
  for (int a = 0; a < names.count; ++a)
    if (algo == names.names[a]) {
      size_t b = 0;
      AM_CUDNN_CHECK(Dir<D>::ws(h, d, a, &b));
      out_list.push_back({a, math, b, -1.f});
      return out_list;
    }
  throw std::invalid_argument("algo='" + algo + "' is not a legacy cuDNN algorithm for " + conv_dir_name(D));
}

}  // namespace

class LegacyConv final : public CudnnCandidates, public std::enable_shared_from_this<LegacyConv> {
 public:
  LegacyConv(Context& ctx, const ConvSpec& s, const std::string& algo, const ConvOperands& ops, size_t cap);
  size_t count() const override { return cands_.size(); }
  ConvPlan plan(size_t i) const override;

 private:
  void run(int algo, const DeviceBuffer& ws, cudaStream_t st) const;
  ConvSpec spec_;
  cudnnHandle_t h_ = nullptr;
  Descs d_;
  cudnnMathType_t math_ = CUDNN_DEFAULT_MATH;
  ConvOperands ops_;
  std::vector<Perf> cands_;
};

LegacyConv::LegacyConv(Context& ctx, const ConvSpec& s, const std::string& algo, const ConvOperands& ops, size_t cap)
    : spec_(s), h_(cudnn_handle(ctx.facts().index)), ops_(ops) {
  const cudnnDataType_t dt = cudnn_data_type(s.dtype);
  const cudnnTensorFormat_t fmt = s.layout == Layout::nchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
  const auto as_int = [](int64_t v, const char* what) {
    if (v > INT32_MAX) throw UnsupportedError(std::string("backend 'cudnn' takes ") + what + " below 2^31");
    return int(v);
  };
  AM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_.x, fmt, dt, as_int(s.n, "n"), as_int(s.c, "c"), as_int(s.h, "h"),
                                            as_int(s.w, "w")));
  AM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d_.w, dt, fmt, as_int(s.k, "k"), as_int(s.cg(), "c"), int(s.r), int(s.s)));
  AM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d_.conv, int(s.pad_h), int(s.pad_w), int(s.stride_h), int(s.stride_w),
                                                 int(s.dil_h), int(s.dil_w), CUDNN_CROSS_CORRELATION,
                                                 CUDNN_DATA_FLOAT));
  AM_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d_.conv, int(s.groups)));
  // fp32 is true fp32 (no TF32 tensor cores); tf32 and the half types use tensor cores.
  math_ = s.dtype == DType::f32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
  AM_CUDNN_CHECK(cudnnSetConvolutionMathType(d_.conv, math_));
  int on = 0, oc = 0, oh = 0, ow = 0;
  AM_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(d_.conv, d_.x, d_.w, &on, &oc, &oh, &ow));
  if (oh != s.ho() || ow != s.wo() || oc != s.k)
    throw std::logic_error("cuDNN's output size differs from aimatrix's for " + s.describe());
  AM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_.y, fmt, dt, on, oc, oh, ow));

  const cudaStream_t st = ctx.stream();
  switch (s.dir) {
    case ConvDir::fwd:
      cands_ = algo_candidates<ConvDir::fwd>(h_, d_, algo, ops.in0, ops.in1, ops.out, math_, cap, st);
      break;
    case ConvDir::bwd_data:
      cands_ = algo_candidates<ConvDir::bwd_data>(h_, d_, algo, ops.in0, ops.in1, ops.out, math_, cap, st);
      break;
    case ConvDir::bwd_filter:
      cands_ = algo_candidates<ConvDir::bwd_filter>(h_, d_, algo, ops.in0, ops.in1, ops.out, math_, cap, st);
      break;
  }
}

void LegacyConv::run(int algo, const DeviceBuffer& ws, cudaStream_t st) const {
  static const float one = 1.0f, zero = 0.0f;
  AM_CUDNN_CHECK(cudnnSetStream(h_, st));
  switch (spec_.dir) {
    case ConvDir::fwd:
      AM_CUDNN_CHECK(
          Dir<ConvDir::fwd>::run(h_, d_, ops_.in0, ops_.in1, ops_.out, algo, ws.get(), ws.bytes(), &one, &zero));
      break;
    case ConvDir::bwd_data:
      AM_CUDNN_CHECK(
          Dir<ConvDir::bwd_data>::run(h_, d_, ops_.in0, ops_.in1, ops_.out, algo, ws.get(), ws.bytes(), &one, &zero));
      break;
    case ConvDir::bwd_filter:
      AM_CUDNN_CHECK(
          Dir<ConvDir::bwd_filter>::run(h_, d_, ops_.in0, ops_.in1, ops_.out, algo, ws.get(), ws.bytes(), &one, &zero));
      break;
  }
}

ConvPlan LegacyConv::plan(size_t i) const {
  const Perf& p = cands_.at(i);
  AM_CUDNN_CHECK(cudnnSetConvolutionMathType(d_.conv, p.math));
  auto ws = std::make_shared<DeviceBuffer>(p.memory);
  auto self = shared_from_this();
  const int algo = p.algo;
  ConvPlan plan;
  plan.launch = [self, ws, algo](cudaStream_t st) { self->run(algo, *ws, st); };
  plan.info["api"] = "legacy";
  plan.info["algo"] = algo_names(spec_.dir).names[algo];
  plan.info["algo_id"] = std::to_string(algo);
  plan.info["math"] = math_name(p.math);
  plan.info["workspace_bytes"] = std::to_string(p.memory);
  if (p.time_ms >= 0) {
    std::ostringstream os;
    os << p.time_ms;
    plan.info["algo_find_ms"] = os.str();
  }
  return plan;
}

std::shared_ptr<CudnnCandidates> make_legacy_conv(Context& ctx, const ConvSpec& s, const std::string& algo,
                                                  const ConvOperands& ops, size_t ws_cap) {
  return std::make_shared<LegacyConv>(ctx, s, algo, ops, ws_cap);
}

std::vector<std::string> legacy_algo_names(ConvDir d) {
  const AlgoNames names = algo_names(d);
  return {names.names, names.names + names.count};
}

}  // namespace am::cuda
#endif
