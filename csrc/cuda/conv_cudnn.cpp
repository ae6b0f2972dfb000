// Backend "cudnn": cuDNN 9's convolution API in all three directions. The
// algorithm is found by measurement (cudnnFind*AlgorithmEx, fastest first), by
// heuristics (cudnnGet*Algorithm_v7), or named; the runner tries the candidates
// in order and keeps the first that verifies (an FFT algorithm's error can
// exceed fp32's tolerance). The workspace is allocated once, with the plan.
#include "cuda/conv_cudnn.hpp"

#if AM_HAVE_CUDNN
#include <cudnn.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "cuda/check.hpp"

namespace am::cuda {

[[noreturn]] void throw_cudnn(cudnnStatus_t s, const char* expr, const char* file, int line) {
  std::ostringstream os;
  os << cudnnGetErrorString(s) << " (in " << expr << " at " << file << ":" << line << ")";
  const int cat = int(s) / 1000 * 1000;
  if (cat == int(CUDNN_STATUS_NOT_SUPPORTED)) throw UnsupportedError(os.str());
  if (s == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED || s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    throw OutOfMemoryError(os.str());
  throw CudaError(cudnnGetErrorString(s), os.str());
}

#define AM_CUDNN_CHECK(expr)                                                                 \
  do {                                                                                       \
    const cudnnStatus_t st_ = (expr);                                                        \
    if (st_ != CUDNN_STATUS_SUCCESS) ::am::cuda::throw_cudnn(st_, #expr, __FILE__, __LINE__); \
  } while (0)

int cudnn_version() { return int(cudnnGetVersion()); }

namespace {

cudnnHandle_t handle_for(int device) {
  // One handle per device, kept for the life of the process (as Context's handles).
  static std::mutex mu;
  static std::map<int, cudnnHandle_t>& all = *new std::map<int, cudnnHandle_t>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = all.find(device);
  if (it != all.end()) return it->second;
  cudnnHandle_t h = nullptr;
  AM_CUDNN_CHECK(cudnnCreate(&h));
  return all[device] = h;
}

cudnnDataType_t data_type(DType d) {
  switch (d) {
    case DType::f32: case DType::tf32: return CUDNN_DATA_FLOAT;
    case DType::f16: return CUDNN_DATA_HALF;
    case DType::bf16: return CUDNN_DATA_BFLOAT16;
    default: throw UnsupportedError(std::string("backend 'cudnn' has no ") + dtype_name(d) + " convolution here");
  }
}

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

const char* const kFwdNames[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                 "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const kBwdDataNames[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const kBwdFilterNames[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};

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

// The direction's cuDNN calls behind one interface.
template <ConvDir D>
struct Dir;

template <>
struct Dir<ConvDir::fwd> {
  using Algo = cudnnConvolutionFwdAlgo_t;
  using PerfT = cudnnConvolutionFwdAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  static cudnnStatus_t find(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int* n, PerfT* p,
                            void* ws, size_t wsb) {
    return cudnnFindConvolutionForwardAlgorithmEx(h, d.x, in0, d.w, in1, d.conv, d.y, out, kCount, n, p, ws, wsb);
  }
  static cudnnStatus_t heuristic(cudnnHandle_t h, const Descs& d, int* n, PerfT* p) {
    return cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, kCount, n, p);
  }
  static cudnnStatus_t ws(cudnnHandle_t h, const Descs& d, int a, size_t* b) {
    return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, Algo(a), b);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int a, void* ws,
                           size_t wsb, const float* one, const float* zero) {
    return cudnnConvolutionForward(h, one, d.x, in0, d.w, in1, d.conv, Algo(a), ws, wsb, zero, d.y, out);
  }
};

template <>
struct Dir<ConvDir::bwd_data> {
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  using PerfT = cudnnConvolutionBwdDataAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  // in0 = dy, in1 = w, out = dx
  static cudnnStatus_t find(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int* n, PerfT* p,
                            void* ws, size_t wsb) {
    return cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, in1, d.y, in0, d.conv, d.x, out, kCount, n, p, ws, wsb);
  }
  static cudnnStatus_t heuristic(cudnnHandle_t h, const Descs& d, int* n, PerfT* p) {
    return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, kCount, n, p);
  }
  static cudnnStatus_t ws(cudnnHandle_t h, const Descs& d, int a, size_t* b) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, Algo(a), b);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int a, void* ws,
                           size_t wsb, const float* one, const float* zero) {
    return cudnnConvolutionBackwardData(h, one, d.w, in1, d.y, in0, d.conv, Algo(a), ws, wsb, zero, d.x, out);
  }
};

template <>
struct Dir<ConvDir::bwd_filter> {
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  using PerfT = cudnnConvolutionBwdFilterAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  // in0 = x, in1 = dy, out = dw
  static cudnnStatus_t find(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int* n, PerfT* p,
                            void* ws, size_t wsb) {
    return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x, in0, d.y, in1, d.conv, d.w, out, kCount, n, p, ws, wsb);
  }
  static cudnnStatus_t heuristic(cudnnHandle_t h, const Descs& d, int* n, PerfT* p) {
    return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, kCount, n, p);
  }
  static cudnnStatus_t ws(cudnnHandle_t h, const Descs& d, int a, size_t* b) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, Algo(a), b);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descs& d, const void* in0, const void* in1, void* out, int a, void* ws,
                           size_t wsb, const float* one, const float* zero) {
    return cudnnConvolutionBackwardFilter(h, one, d.x, in0, d.y, in1, d.conv, Algo(a), ws, wsb, zero, d.w, out);
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
std::vector<Perf> algo_candidates(cudnnHandle_t h, const Descs& d, const std::string& algo, const void* in0, const void* in1,
                             void* out, cudnnMathType_t math, size_t cap, cudaStream_t st) {
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
  std::string allowed = "find, heuristic";
  for (int a = 0; a < names.count; ++a) allowed += std::string(", ") + names.names[a];
  throw std::invalid_argument("algo='" + algo + "' is not allowed for " + conv_dir_name(D) + ": expected one of " + allowed);
}

}  // namespace

struct CudnnConv::Impl {
  int device = 0;
  ConvSpec spec;
  cudnnHandle_t h = nullptr;
  Descs d;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  const void* in0;
  const void* in1;
  void* out;
  std::vector<Perf> cands;
};

CudnnConv::CudnnConv(Context& ctx, const ConvSpec& s, const std::string& algo, const void* in0, const void* in1, void* out)
    : impl_(std::make_shared<Impl>()) {
  Impl& m = *impl_;
  m.device = ctx.facts().index;
  m.spec = s;
  m.h = handle_for(m.device);
  m.in0 = in0;
  m.in1 = in1;
  m.out = out;
  const cudnnDataType_t dt = data_type(s.dtype);
  const cudnnTensorFormat_t fmt = s.layout == Layout::nchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
  const auto as_int = [](int64_t v, const char* what) {
    if (v > INT32_MAX) throw UnsupportedError(std::string("backend 'cudnn' takes ") + what + " below 2^31");
    return int(v);
  };
  AM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(m.d.x, fmt, dt, as_int(s.n, "n"), as_int(s.c, "c"), as_int(s.h, "h"), as_int(s.w, "w")));
  AM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(m.d.w, dt, fmt, as_int(s.k, "k"), as_int(s.cg(), "c"), int(s.r), int(s.s)));
  AM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(m.d.conv, int(s.pad_h), int(s.pad_w), int(s.stride_h), int(s.stride_w),
                                                 int(s.dil_h), int(s.dil_w), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  AM_CUDNN_CHECK(cudnnSetConvolutionGroupCount(m.d.conv, int(s.groups)));
  // fp32 is true fp32 (no TF32 tensor cores); tf32 and the half types use tensor cores.
  m.math = s.dtype == DType::f32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
  AM_CUDNN_CHECK(cudnnSetConvolutionMathType(m.d.conv, m.math));
  int on = 0, oc = 0, oh = 0, ow = 0;
  AM_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(m.d.conv, m.d.x, m.d.w, &on, &oc, &oh, &ow));
  if (oh != s.ho() || ow != s.wo() || oc != s.k)
    throw std::logic_error("cuDNN's output size differs from aimatrix's for " + s.describe());
  AM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(m.d.y, fmt, dt, on, oc, oh, ow));

  size_t free_b = 0, total_b = 0;
  AM_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const size_t cap = std::min(free_b / 2, size_t(4) << 30);
  switch (s.dir) {
    case ConvDir::fwd: m.cands = algo_candidates<ConvDir::fwd>(m.h, m.d, algo, in0, in1, out, m.math, cap, ctx.stream()); break;
    case ConvDir::bwd_data: m.cands = algo_candidates<ConvDir::bwd_data>(m.h, m.d, algo, in0, in1, out, m.math, cap, ctx.stream()); break;
    case ConvDir::bwd_filter: m.cands = algo_candidates<ConvDir::bwd_filter>(m.h, m.d, algo, in0, in1, out, m.math, cap, ctx.stream()); break;
  }
  if (m.cands.empty())
    throw UnsupportedError("cuDNN has no algorithm for " + s.describe() + " (algo '" + algo + "')");
}

size_t CudnnConv::candidates() const { return impl_->cands.size(); }

ConvPlan CudnnConv::plan(size_t i) const {
  const Impl& m = *impl_;
  const Perf& p = m.cands.at(i);
  AM_CUDNN_CHECK(cudnnSetConvolutionMathType(m.d.conv, p.math));
  auto ws = std::make_shared<DeviceBuffer>(p.memory);
  auto keep = impl_;
  static const float one = 1.0f, zero = 0.0f;
  const int algo = p.algo;
  ConvPlan plan;
  plan.launch = [keep, ws, algo](cudaStream_t st) {
    const Impl& m = *keep;
    AM_CUDNN_CHECK(cudnnSetStream(m.h, st));
    switch (m.spec.dir) {
      case ConvDir::fwd:
        AM_CUDNN_CHECK(Dir<ConvDir::fwd>::run(m.h, m.d, m.in0, m.in1, m.out, algo, ws->get(), ws->bytes(), &one, &zero));
        break;
      case ConvDir::bwd_data:
        AM_CUDNN_CHECK(Dir<ConvDir::bwd_data>::run(m.h, m.d, m.in0, m.in1, m.out, algo, ws->get(), ws->bytes(), &one, &zero));
        break;
      case ConvDir::bwd_filter:
        AM_CUDNN_CHECK(Dir<ConvDir::bwd_filter>::run(m.h, m.d, m.in0, m.in1, m.out, algo, ws->get(), ws->bytes(), &one, &zero));
        break;
    }
  };
  plan.info["algo"] = algo_names(m.spec.dir).names[algo];
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

}  // namespace am::cuda

#else  // built without cuDNN (AIMATRIX_CUDA=AUTO and no cuDNN found)

namespace am::cuda {
int cudnn_version() { return 0; }
struct CudnnConv::Impl {};
CudnnConv::CudnnConv(Context&, const ConvSpec&, const std::string&, const void*, const void*, void*) {
  throw UnsupportedError("backend 'cudnn': this aimatrix was built without cuDNN (pip install nvidia-cudnn-cu13 and rebuild)");
}
size_t CudnnConv::candidates() const { return 0; }
ConvPlan CudnnConv::plan(size_t) const { return {}; }
}  // namespace am::cuda

#endif
