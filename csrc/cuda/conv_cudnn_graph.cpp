// Backend "cudnn" through cuDNN's graph (backend) API, as PyTorch's cuDNN
// convolutions go: one convolution operation in an operation graph; engine
// configs from the heuristics (mode A, then mode FALLBACK); each finalized into
// an execution plan (those that do not finalize are skipped), numerically
// filtered as PyTorch does (never DOWN_CONVERT_INPUTS; fp32 never on tensor
// cores, i.e. no TF32); then timed ("find") or taken in the heuristic's order.
// Engines that compile at run time (NVRTC, seconds per config) are left to
// "engine:N". "engine:N(KNOB=V,...)" pins knob choices: one exact config.
// The runner runs the candidates in order and keeps the first that verifies.
#if AM_HAVE_CUDNN
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/errors.hpp"
#include "cuda/buffer.hpp"
#include "cuda/check.hpp"
#include "cuda/conv_cudnn_impl.hpp"
#include "cuda/cudnn_backend.hpp"
#include "cuda/cudnn_util.hpp"

namespace am::cuda {
namespace {

// At most this many finalized plans per problem: timed by "find", tried by the runner.
constexpr size_t kMaxPlans = 24;
// Launches timed per plan by "find", after one untimed launch; the median counts.
constexpr int kFindLaunches = 5;
// A config whose first timed launch takes this many times the best median so far is not timed further.
constexpr double kFindGiveUp = 3.0;

constexpr int64_t kUidX = 1, kUidW = 2, kUidY = 3;

// Names of cuDNN's enum values, by value (later cuDNN versions may add some: printed as numbers).
const char* const kNumericalNotes[] = {"TENSOR_CORE",
                                       "DOWN_CONVERT_INPUTS",
                                       "REDUCED_PRECISION_REDUCTION",
                                       "FFT",
                                       "NONDETERMINISTIC",
                                       "WINOGRAD",
                                       "WINOGRAD_TILE_4x4",
                                       "WINOGRAD_TILE_6x6",
                                       "WINOGRAD_TILE_13x13",
                                       "STRICT_NAN_PROP"};
const char* const kBehaviorNotes[] = {"RUNTIME_COMPILATION", "REQUIRES_FILTER_INT8x32_REORDER",
                                      "REQUIRES_BIAS_INT8x32_REORDER", "SUPPORTS_CUDA_GRAPH_NATIVE_API",
                                      "CUBLASLT_DEPENDENCY"};
const char* const kKnobTypes[] = {"SPLIT_K",
                                  "SWIZZLE",
                                  "TILE_SIZE",
                                  "USE_TEX",
                                  "EDGE",
                                  "KBLOCK",
                                  "LDGA",
                                  "LDGB",
                                  "CHUNK_K",
                                  "SPLIT_H",
                                  "WINO_TILE",
                                  "MULTIPLY",
                                  "SPLIT_K_BUF",
                                  "TILEK",
                                  "STAGES",
                                  "REDUCTION_MODE",
                                  "CTA_SPLIT_K_MODE",
                                  "SPLIT_K_SLC",
                                  "IDX_MODE",
                                  "SLICED",
                                  "SPLIT_RS",
                                  "SINGLEBUFFER",
                                  "LDGC",
                                  "SPECFILT",
                                  "KERNEL_CFG",
                                  "WORKSPACE",
                                  "TILE_CGA",
                                  "TILE_CGA_M",
                                  "TILE_CGA_N",
                                  "BLOCK_SIZE",
                                  "OCCUPANCY",
                                  "ARRAY_SIZE_PER_THREAD",
                                  "NUM_C_PER_BLOCK",
                                  "SPLIT_COLS",
                                  "TILE_ROWS",
                                  "TILE_COLS",
                                  "LOAD_SIZE",
                                  "CTA_COUNT",
                                  "STREAM_K",
                                  "SPLIT_P_SLC",
                                  "TILE_M",
                                  "TILE_N",
                                  "WARP_SPEC_CFG",
                                  "SWAP_AB",
                                  "INPUT_TMA_ENABLE",
                                  "OUTPUT_TMA_ENABLE"};

template <size_t N>
std::string enum_name(const char* const (&names)[N], int v, const char* prefix) {
  return v >= 0 && size_t(v) < N ? names[v] : prefix + std::to_string(v);
}

// Knob choices: (cudnnBackendKnobType_t, value) pairs.
using Knobs = std::vector<std::pair<int, int64_t>>;

// A knob's type from its name as Config::knobs prints it ("WORKSPACE", "KNOB_46") or its number ("25", as in
// the cuDNN frontend's plan tags "eng58_k25=1"); -1 when it is neither.
int knob_type(const std::string& name) {
  if (is_digits(name, 5)) return std::stoi(name);
  if (name.rfind("KNOB_", 0) == 0 && is_digits(name.substr(5), 5)) return std::stoi(name.substr(5));
  for (size_t i = 0; i < std::size(kKnobTypes); ++i)
    if (name == kKnobTypes[i]) return int(i);
  return -1;
}

// "TILE_SIZE=5,WORKSPACE=1" (or "2=5,25=1") as knob choices; a bad one is a ValueError naming it.
Knobs parse_knobs(const std::string& text) {
  Knobs out;
  size_t at = 0;
  while (!text.empty() && at <= text.size()) {
    const size_t end = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, end - at);
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    const int type = knob_type(name);
    const bool number = is_digits(value.substr(!value.empty() && value[0] == '-'), 17);
    if (type < 0 || !number) {
      std::string names;
      for (const char* n : kKnobTypes) names += (names.empty() ? "" : ", ") + std::string(n);
      throw std::invalid_argument("knob '" + item +
                                  "' is not allowed: expected NAME=VALUE with an integer VALUE and a "
                                  "cuDNN knob NAME (" +
                                  names + ") or its number");
    }
    for (const auto& [t, v] : out)
      if (t == type) throw std::invalid_argument("knob '" + name + "' is given twice in '" + text + "'");
    out.emplace_back(type, std::stoll(value));
    at = end + 1;
  }
  return out;
}

template <class T, size_t N>
std::string join_names(const std::vector<T>& vals, const char* const (&names)[N], const char* prefix) {
  std::string out;
  for (const T v : vals) out += (out.empty() ? "" : ",") + enum_name(names, int(v), prefix);
  return out;
}

// The attribute names of one direction's operation: its tensors X, W, Y
// (bwd_data: DX, W, DY; bwd_filter: X, DW, DY).
struct OpAttrs {
  cudnnBackendDescriptorType_t type;
  cudnnBackendAttributeName_t alpha, beta, conv, x, w, y;
};

OpAttrs op_attrs(ConvDir d) {
  switch (d) {
    case ConvDir::fwd:
      return {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y};
    case ConvDir::bwd_data:
      return {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY};
    default:
      return {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY};
  }
}

// A tensor as logical dims [n, c, h, w] (filter [k, c/g, r, s]) with the layout's strides.
BackendDescPtr tensor_desc(const ConvSpec& s, ConvTensor t, int64_t uid) {
  const auto d = s.dims(t);
  std::vector<int64_t> strides(4);
  for (int i = 0; i < 4; ++i) {
    std::array<int64_t, 4> e{0, 0, 0, 0};
    e[size_t(i)] = 1;
    strides[size_t(i)] = s.index(t, e[0], e[1], e[2], e[3]);
  }
  const cudnnDataType_t dt = cudnn_data_type(s.dtype);
  auto td = std::make_shared<BackendDesc>(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  td->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt)
      .set_ints(CUDNN_ATTR_TENSOR_DIMENSIONS, {d[0], d[1], d[2], d[3]})
      .set_ints(CUDNN_ATTR_TENSOR_STRIDES, strides)
      .set_int(CUDNN_ATTR_TENSOR_UNIQUE_ID, uid)
      .set_int(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, 16);  // cudaMalloc'd buffers
  td->finalize();
  return td;
}

// The descriptors of one problem's operation graph (kept alive together).
struct OpGraph {
  BackendDescPtr x, w, y, conv, op, graph;
};

OpGraph make_op_graph(cudnnHandle_t h, const ConvSpec& s) {
  OpGraph g;
  g.x = tensor_desc(s, ConvTensor::x, kUidX);
  g.w = tensor_desc(s, ConvTensor::w, kUidW);
  g.y = tensor_desc(s, ConvTensor::y, kUidY);
  const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  g.conv = std::make_shared<BackendDesc>(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  g.conv->set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp)
      .set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode)
      .set_int(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, 2)
      .set_ints(CUDNN_ATTR_CONVOLUTION_DILATIONS, {s.dil_h, s.dil_w})
      .set_ints(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, {s.stride_h, s.stride_w})
      .set_ints(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, {s.pad_h, s.pad_w})
      .set_ints(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, {s.pad_h, s.pad_w});
  g.conv->finalize();
  const OpAttrs a = op_attrs(s.dir);
  const float alpha = 1.0f, beta = 0.0f;
  g.op = std::make_shared<BackendDesc>(a.type);
  g.op->set(a.alpha, CUDNN_TYPE_FLOAT, 1, &alpha)
      .set(a.beta, CUDNN_TYPE_FLOAT, 1, &beta)
      .set_desc(a.conv, *g.conv)
      .set_desc(a.x, *g.x)
      .set_desc(a.w, *g.w)
      .set_desc(a.y, *g.y);
  g.op->finalize();
  const cudnnBackendDescriptor_t ops[] = {g.op->get()};
  g.graph = std::make_shared<BackendDesc>(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  g.graph->set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h)
      .set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, ops);
  g.graph->finalize();
  return g;
}

// One engine config and what cuDNN says about it.
struct Config {
  BackendDescPtr cfg;
  int64_t engine = -1;
  std::string knobs;  // "TILE_SIZE=3,STAGES=4"
  Knobs knob_values;  // the same choices as numbers
  std::vector<cudnnBackendNumericalNote_t> notes;
  std::vector<cudnnBackendBehaviorNote_t> behavior;
  std::string heur;   // "A", "FALLBACK" or "engine"
  int heur_rank = 0;  // position in that heuristic's list
  bool has(cudnnBackendNumericalNote_t n) const { return std::find(notes.begin(), notes.end(), n) != notes.end(); }
  bool has(cudnnBackendBehaviorNote_t n) const {
    return std::find(behavior.begin(), behavior.end(), n) != behavior.end();
  }
};

Config describe(BackendDescPtr cfg, const std::string& heur, int rank) {
  Config c;
  c.cfg = std::move(cfg);
  c.heur = heur;
  c.heur_rank = rank;
  const auto eng = c.cfg->get_descs(CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_BACKEND_ENGINE_DESCRIPTOR, 1);
  if (eng.empty()) throw std::logic_error("cuDNN engine config without an engine");
  c.engine = eng[0]->get_int(CUDNN_ATTR_ENGINE_GLOBAL_INDEX);
  std::array<cudnnBackendNumericalNote_t, 64> notes{};
  const int64_t nn =
      eng[0]->get(CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE, notes.size(), notes.data());
  c.notes.assign(notes.begin(), notes.begin() + std::min<int64_t>(nn, notes.size()));
  std::array<cudnnBackendBehaviorNote_t, 64> beh{};
  const int64_t nb = eng[0]->get(CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, CUDNN_TYPE_BEHAVIOR_NOTE, beh.size(), beh.data());
  c.behavior.assign(beh.begin(), beh.begin() + std::min<int64_t>(nb, beh.size()));
  for (const auto& k : c.cfg->get_descs(CUDNN_ATTR_ENGINECFG_KNOB_CHOICES, CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR,
                                        CUDNN_KNOB_TYPE_COUNTS)) {
    cudnnBackendKnobType_t type{};
    k->get(CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE, CUDNN_TYPE_KNOB_TYPE, 1, &type);
    const int64_t value = k->get_int(CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE);
    c.knobs += (c.knobs.empty() ? "" : ",") + enum_name(kKnobTypes, int(type), "KNOB_") + "=" + std::to_string(value);
    c.knob_values.emplace_back(int(type), value);
  }
  return c;
}

// PyTorch's filter (aten/src/ATen/native/cudnn/Conv_v8.cpp): never engines that
// down-convert their inputs; fp32 never on tensor cores (that would be TF32).
bool numerically_allowed(const Config& c, DType dt) {
  if (c.has(CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)) return false;
  if (dt == DType::f32 && c.has(CUDNN_NUMERICAL_NOTE_TENSOR_CORE)) return false;
  return true;
}

std::vector<Config> heuristic_configs(const BackendDesc& graph, cudnnBackendHeurMode_t mode, const char* name) {
  BackendDesc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  heur.set_desc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph)
      .set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  if (heur.try_finalize() != CUDNN_STATUS_SUCCESS) return {};
  const int64_t n = heur.count(CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR);
  std::vector<Config> out;
  int rank = 0;
  for (auto& cfg : heur.get_descs(CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, n))
    out.push_back(describe(std::move(cfg), name, rank++));
  return out;
}

// Does config c make every one of these knob choices?
bool makes(const Config& c, const Knobs& want) {
  return std::all_of(want.begin(), want.end(), [&](const auto& k) {
    return std::find(c.knob_values.begin(), c.knob_values.end(), k) != c.knob_values.end();
  });
}

// Engine `id` with these knob choices (cuDNN's defaults for the others), for algo "engine:N" when no
// heuristic lists such a config. Empty when cuDNN has no such engine or config for this graph.
std::vector<Config> engine_config(const BackendDesc& graph, int64_t id, const Knobs& knobs) {
  try {
    auto eng = std::make_shared<BackendDesc>(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
    eng->set_desc(CUDNN_ATTR_ENGINE_OPERATION_GRAPH, graph).set_int(CUDNN_ATTR_ENGINE_GLOBAL_INDEX, id);
    if (eng->try_finalize() != CUDNN_STATUS_SUCCESS) return {};
    std::vector<BackendDescPtr> choices;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (const auto& [type, value] : knobs) {
      auto k = std::make_shared<BackendDesc>(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR);
      const auto t = cudnnBackendKnobType_t(type);
      k->set(CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE, CUDNN_TYPE_KNOB_TYPE, 1, &t)
          .set_int(CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE, value);
      if (k->try_finalize() != CUDNN_STATUS_SUCCESS) return {};
      raw.push_back(k->get());
      choices.push_back(std::move(k));
    }
    auto cfg = std::make_shared<BackendDesc>(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    cfg->set_desc(CUDNN_ATTR_ENGINECFG_ENGINE, *eng);
    if (!raw.empty())
      cfg->set(CUDNN_ATTR_ENGINECFG_KNOB_CHOICES, CUDNN_TYPE_BACKEND_DESCRIPTOR, int64_t(raw.size()), raw.data());
    if (cfg->try_finalize() != CUDNN_STATUS_SUCCESS) return {};
    return {describe(cfg, "engine", 0)};
  } catch (const UnsupportedError&) {
    return {};
  } catch (const CudaError&) {  // BAD_PARAM: an index or a knob value out of range
    return {};
  }
}

// A finalized execution plan, or null (with the reason) where cuDNN declines the config.
BackendDescPtr finalize_plan(cudnnHandle_t h, const Config& c, std::string& why) {
  try {
    auto plan = std::make_shared<BackendDesc>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    plan->set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h)
        .set_desc(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, *c.cfg);
    const cudnnStatus_t st = plan->try_finalize();
    if (st == CUDNN_STATUS_SUCCESS) return plan;
    why = cudnnGetErrorString(st);
  } catch (const std::exception& e) { why = e.what(); }
  return nullptr;
}

BackendDescPtr variant_pack(const ConvSpec& s, const ConvOperands& ops, void* workspace) {
  // Operand order (in0, in1 -> out) by direction, as uids of x, w, y.
  const int64_t uids[] = {kUidX, kUidW, kUidY};
  void* by_tensor[3] = {};
  by_tensor[int(s.in0())] = const_cast<void*>(ops.in0);
  by_tensor[int(s.in1())] = const_cast<void*>(ops.in1);
  by_tensor[int(s.out())] = ops.out;
  auto vp = std::make_shared<BackendDesc>(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  vp->set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids)
      .set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, by_tensor)
      .set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
  vp->finalize();
  return vp;
}

// Events for timing plans on the benchmark's stream, destroyed with the object.
class Events {
 public:
  explicit Events(size_t n) : e_(n) {
    for (auto& e : e_) AM_CUDA_CHECK(cudaEventCreate(&e));
  }
  ~Events() {
    for (auto e : e_) cudaEventDestroy(e);
  }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
  cudaEvent_t operator[](size_t i) const { return e_[i]; }

 private:
  std::vector<cudaEvent_t> e_;
};

// Holds a stream until the host has queued the timed launches, so that the
// events time back-to-back device work rather than the host's launch rate (a
// ResNet layer's kernel can take less time than cudnnBackendExecute's host
// side). The hold ends after kMaxHold in any case: a launch that waits for the
// stream cannot deadlock. Destruction opens the gate and drains the stream.
class StreamGate {
 public:
  explicit StreamGate(cudaStream_t st) : st_(st) { AM_CUDA_CHECK(cudaLaunchHostFunc(st, &StreamGate::hold, this)); }
  ~StreamGate() {
    open();
    cudaStreamSynchronize(st_);
  }
  StreamGate(const StreamGate&) = delete;
  StreamGate& operator=(const StreamGate&) = delete;
  void open() { open_.store(true, std::memory_order_release); }

 private:
  // Queuing kFindLaunches executions takes well under a millisecond; a config whose execution waits on
  // the stream would stall the search for the whole hold, so keep it short.
  static constexpr std::chrono::milliseconds kMaxHold{10};
  static void CUDART_CB hold(void* p) {
    const auto* g = static_cast<const StreamGate*>(p);
    const auto t0 = std::chrono::steady_clock::now();
    while (!g->open_.load(std::memory_order_acquire) && std::chrono::steady_clock::now() - t0 < kMaxHold)
      std::this_thread::yield();
  }
  cudaStream_t st_;
  std::atomic<bool> open_{false};
};

// Milliseconds of one launch (median of kFindLaunches, queued behind a gate,
// after one untimed launch), or a negative value when the plan fails to execute.
// A config whose first timed launch is slower than `give_up_ms` is not timed further: it cannot be
// the fastest, and a search's slowest configs (bwd_filter engines running 100x the best) would
// otherwise take most of its time. It returns that one launch's time.
// ev holds 2 x kFindLaunches events: each launch between a pair, after an L2 flush when `flush` is given.
double time_plan(cudnnHandle_t h, const BackendDesc& plan, const BackendDesc& vp, cudaStream_t st, const Events& ev,
                 Context* flush, double give_up_ms) {
  if (cudnnBackendExecute(h, plan.get(), vp.get()) != CUDNN_STATUS_SUCCESS) return -1;
  std::vector<double> ms;
  for (const size_t n : {size_t(1), size_t(kFindLaunches - 1)}) {
    const size_t first = ms.size();
    {
      StreamGate gate(st);
      for (size_t i = first; i < first + n; ++i) {
        if (flush) flush->flush_l2(st);
        AM_CUDA_CHECK(cudaEventRecord(ev[2 * i], st));
        if (cudnnBackendExecute(h, plan.get(), vp.get()) != CUDNN_STATUS_SUCCESS) return -1;
        AM_CUDA_CHECK(cudaEventRecord(ev[2 * i + 1], st));
      }
    }  // the gate opens; the stream drains
    for (size_t i = first; i < first + n; ++i) {
      float t = 0;
      AM_CUDA_CHECK(cudaEventElapsedTime(&t, ev[2 * i], ev[2 * i + 1]));
      ms.push_back(t);
    }
    if (ms.front() > give_up_ms) return ms.front();
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Configs left out, by reason (recorded as "numerics=2,rtc=1,...").
struct Declined {
  int numerics = 0, rtc = 0, finalize = 0, workspace = 0, execute = 0;
  std::string first;  // the first reason in words
  int total() const { return numerics + rtc + finalize + workspace + execute; }
  std::string str() const {
    return "numerics=" + std::to_string(numerics) + ",rtc=" + std::to_string(rtc) +
           ",finalize=" + std::to_string(finalize) + ",workspace=" + std::to_string(workspace) +
           ",execute=" + std::to_string(execute);
  }
};

struct Candidate {
  Config config;
  BackendDescPtr plan;
  size_t workspace = 0;
  double find_ms = -1;
};

class GraphConv final : public CudnnCandidates, public std::enable_shared_from_this<GraphConv> {
 public:
  GraphConv(Context& ctx, const ConvSpec& s, const std::string& choice, int64_t engine, const std::string& knobs,
            const ConvOperands& ops, size_t cap, bool cold);
  size_t count() const override { return cands_.size(); }
  ConvPlan plan(size_t i) const override;

 private:
  void add_plans(const std::vector<Config>& configs, size_t cap, bool allow_rtc, std::set<std::string>& seen);
  void find(cudaStream_t st, Context* flush);

  ConvSpec spec_;
  cudnnHandle_t h_ = nullptr;
  OpGraph graph_;
  ConvOperands ops_;
  std::vector<Candidate> cands_;
  Declined declined_;
  bool find_cold_ = false;
};

GraphConv::GraphConv(Context& ctx, const ConvSpec& s, const std::string& choice, int64_t engine,
                     const std::string& knobs, const ConvOperands& ops, size_t cap, bool cold)
    : spec_(s), h_(cudnn_handle(ctx.facts().index)), graph_(make_op_graph(h_, s)), ops_(ops) {
  std::set<std::string> seen;
  const BackendDesc& g = *graph_.graph;
  if (choice == "engine") {
    const Knobs want = parse_knobs(knobs);
    std::vector<Config> mine;
    for (auto mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK})
      for (Config& c : heuristic_configs(g, mode, mode == CUDNN_HEUR_MODE_A ? "A" : "FALLBACK"))
        if (c.engine == engine && makes(c, want)) mine.push_back(std::move(c));
    if (mine.empty()) mine = engine_config(g, engine, want);
    add_plans(mine, cap, /*allow_rtc=*/true, seen);
  } else {
    add_plans(heuristic_configs(g, CUDNN_HEUR_MODE_A, "A"), cap, false, seen);
    // "find" also times the fallback list's engines (as PyTorch's benchmark mode
    // does); "heuristic" only falls back to it.
    if (choice == "find" || cands_.empty())
      add_plans(heuristic_configs(g, CUDNN_HEUR_MODE_FALLBACK, "FALLBACK"), cap, false, seen);
  }
  if (choice == "find") find(ctx.stream(), cold ? &ctx : nullptr);
  if (cands_.empty()) {
    std::string what = choice == "engine"
                           ? "engine " + std::to_string(engine) + (knobs.empty() ? "" : " (" + knobs + ")")
                           : "engine config";
    throw UnsupportedError("cuDNN has no " + what + " that runs " + s.describe() + " here (" +
                           std::to_string(declined_.total()) + " configs declined: " + declined_.str() +
                           (declined_.first.empty() ? "" : "; first: " + declined_.first) + ")");
  }
}

void GraphConv::add_plans(const std::vector<Config>& configs, size_t cap, bool allow_rtc, std::set<std::string>& seen) {
  for (const Config& c : configs) {
    if (cands_.size() >= kMaxPlans) return;
    if (!seen.insert(std::to_string(c.engine) + ":" + c.knobs).second) continue;
    const auto decline = [&](int& counter, const std::string& why) {
      ++counter;
      if (declined_.first.empty()) declined_.first = "engine " + std::to_string(c.engine) + ": " + why;
    };
    if (!numerically_allowed(c, spec_.dtype)) {
      decline(declined_.numerics, "numerical notes " + join_names(c.notes, kNumericalNotes, "NOTE_"));
      continue;
    }
    if (!allow_rtc && c.has(CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION)) {
      decline(declined_.rtc, "compiled at run time");
      continue;
    }
    std::string why;
    BackendDescPtr plan = finalize_plan(h_, c, why);
    if (!plan) {
      decline(declined_.finalize, why);
      continue;
    }
    const size_t ws = size_t(plan->get_int(CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE));
    if (ws > cap) {
      decline(declined_.workspace, "workspace " + std::to_string(ws) + " B above the cap");
      continue;
    }
    cands_.push_back({c, std::move(plan), ws, -1});
  }
}

void GraphConv::find(cudaStream_t st, Context* flush) {
  find_cold_ = flush != nullptr;
  size_t wsb = 0;
  for (const Candidate& c : cands_) wsb = std::max(wsb, c.workspace);
  DeviceBuffer ws(wsb);
  const BackendDescPtr vp = variant_pack(spec_, ops_, ws.get());
  const Events ev(2 * kFindLaunches);
  AM_CUDNN_CHECK(cudnnSetStream(h_, st));
  std::vector<Candidate> ran;
  double best = std::numeric_limits<double>::infinity();
  for (Candidate& c : cands_) {
    c.find_ms = time_plan(h_, *c.plan, *vp, st, ev, flush, kFindGiveUp * best);
    if (c.find_ms >= 0) {
      best = std::min(best, c.find_ms);
      ran.push_back(std::move(c));
    } else {
      ++declined_.execute;
    }
  }
  AM_CUDA_CHECK(cudaStreamSynchronize(st));
  std::stable_sort(ran.begin(), ran.end(),
                   [](const Candidate& a, const Candidate& b) { return a.find_ms < b.find_ms; });
  cands_ = std::move(ran);
}

ConvPlan GraphConv::plan(size_t i) const {
  const Candidate& c = cands_.at(i);
  auto ws = std::make_shared<DeviceBuffer>(c.workspace);
  BackendDescPtr vp = variant_pack(spec_, ops_, ws->get());
  BackendDescPtr plan = c.plan;
  auto self = shared_from_this();
  ConvPlan p;
  p.launch = [self, ws, vp, plan](cudaStream_t st) {
    AM_CUDNN_CHECK(cudnnSetStream(self->h_, st));
    AM_CUDNN_CHECK(cudnnBackendExecute(self->h_, plan->get(), vp->get()));
  };
  const Config& cfg = c.config;
  p.info["api"] = "graph";
  p.info["algo"] = "engine:" + std::to_string(cfg.engine);
  p.info["engine"] = std::to_string(cfg.engine);
  p.info["knobs"] = cfg.knobs;
  p.info["algo_exact"] = "engine:" + std::to_string(cfg.engine) + (cfg.knobs.empty() ? "" : "(" + cfg.knobs + ")");
  p.info["notes"] = join_names(cfg.notes, kNumericalNotes, "NOTE_");
  p.info["behavior"] = join_names(cfg.behavior, kBehaviorNotes, "NOTE_");
  p.info["heur"] = cfg.heur;
  p.info["heur_rank"] = std::to_string(cfg.heur_rank);
  p.info["workspace_bytes"] = std::to_string(c.workspace);
  p.info["configs_declined"] = declined_.str();
  if (c.find_ms >= 0) {
    std::ostringstream os;
    os << c.find_ms;
    p.info["algo_find_ms"] = os.str();
    p.info["algo_find_count"] = std::to_string(cands_.size());
    p.info["algo_find_mode"] = find_cold_ ? "cold" : "hot";
  }
  return p;
}

}  // namespace

std::shared_ptr<CudnnCandidates> make_graph_conv(Context& ctx, const ConvSpec& s, const std::string& choice,
                                                 int64_t engine, const std::string& knobs, const ConvOperands& ops,
                                                 size_t ws_cap, bool cold) {
  return std::make_shared<GraphConv>(ctx, s, choice, engine, knobs, ops, ws_cap, cold);
}

}  // namespace am::cuda
#endif
