// oneDNN as a CPU backend: dnnl_sgemm for fp32 GEMM, the matmul primitive for bf16 GEMM (bf16 in
// and out, fp32 accumulation; on CPUs with AVX-512 BF16 or AMX), the convolution primitives for
// fwd, bwd_data and bwd_filter. Every tensor is handed over in the spec's plain layout. The
// convolution is created with "any" formats, so oneDNN picks its fastest kernel and memory formats,
// and the reorders into and out of those formats run inside the timed call, as a framework's call
// on plain tensors does (params["algo"] names the kernel and the reordered tensors). The matmul
// takes the plain (strided, for transposes) operands as a BLAS call does and packs them itself.
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/dtype.hpp"
#include "cpu/backend.hpp"
#include "cpu/dynlib.hpp"
#include "cpu/onednn_api.hpp"

namespace am::cpu {
namespace {

namespace d = dnnl;

// The loaded library: its functions, one CPU engine and one stream for the process.
struct Onednn {
  DynLib lib;
  d::version_fn version = lib.sym<d::version_fn>({"dnnl_version"});
  d::sgemm_fn sgemm = lib.sym<d::sgemm_fn>({"dnnl_sgemm"});
  d::engine_create_fn engine_create = lib.sym<d::engine_create_fn>({"dnnl_engine_create"});
  d::stream_create_fn stream_create = lib.sym<d::stream_create_fn>({"dnnl_stream_create"});
  d::stream_wait_fn stream_wait = lib.sym<d::stream_wait_fn>({"dnnl_stream_wait"});
  d::md_create_with_tag_fn md_create = lib.sym<d::md_create_with_tag_fn>({"dnnl_memory_desc_create_with_tag"});
  d::md_create_with_strides_fn md_create_strided =
      lib.sym<d::md_create_with_strides_fn>({"dnnl_memory_desc_create_with_strides"});
  d::md_destroy_fn md_destroy = lib.sym<d::md_destroy_fn>({"dnnl_memory_desc_destroy"});
  d::md_equal_fn md_equal = lib.sym<d::md_equal_fn>({"dnnl_memory_desc_equal"});
  d::conv_fwd_pd_fn conv_fwd = lib.sym<d::conv_fwd_pd_fn>({"dnnl_convolution_forward_primitive_desc_create"});
  d::conv_bwd_pd_fn conv_bwd_data =
      lib.sym<d::conv_bwd_pd_fn>({"dnnl_convolution_backward_data_primitive_desc_create"});
  d::conv_bww_pd_fn conv_bwd_weights =
      lib.sym<d::conv_bww_pd_fn>({"dnnl_convolution_backward_weights_primitive_desc_create"});
  d::matmul_pd_fn matmul = lib.sym<d::matmul_pd_fn>({"dnnl_matmul_primitive_desc_create"});
  d::effective_cpu_isa_fn cpu_isa = lib.sym<d::effective_cpu_isa_fn>({"dnnl_get_effective_cpu_isa"});
  d::reorder_pd_fn reorder = lib.sym<d::reorder_pd_fn>({"dnnl_reorder_primitive_desc_create"});
  d::pd_query_md_fn query_md = lib.sym<d::pd_query_md_fn>({"dnnl_primitive_desc_query_md"});
  d::pd_query_fn query = lib.sym<d::pd_query_fn>({"dnnl_primitive_desc_query"});
  d::destroy_fn pd_destroy = lib.sym<d::destroy_fn>({"dnnl_primitive_desc_destroy"});
  d::primitive_create_fn primitive_create = lib.sym<d::primitive_create_fn>({"dnnl_primitive_create"});
  d::destroy_fn primitive_destroy = lib.sym<d::destroy_fn>({"dnnl_primitive_destroy"});
  d::primitive_execute_fn execute = lib.sym<d::primitive_execute_fn>({"dnnl_primitive_execute"});
  d::memory_create_fn memory_create = lib.sym<d::memory_create_fn>({"dnnl_memory_create"});
  d::destroy_fn memory_destroy = lib.sym<d::destroy_fn>({"dnnl_memory_destroy"});
  d::memory_map_fn map = lib.sym<d::memory_map_fn>({"dnnl_memory_map_data"});
  d::memory_unmap_fn unmap = lib.sym<d::memory_unmap_fn>({"dnnl_memory_unmap_data"});
  d::handle engine = nullptr, stream = nullptr;

  explicit Onednn(const std::string& path) : lib(path, "oneDNN") {
    const d::version_t* v = version();
    if (v->major != 3)
      throw UnsupportedError("oneDNN " + std::to_string(v->major) + ".x at " + path +
                             ": aimatrix calls the C API of oneDNN 3.x (pip install \"onednn>=2025\")");
  }
  // The engine is made on first use: GEMM runs without one, and a build whose CPU runtime finds
  // no device (the wheel's SYCL runtime without its OpenCL CPU driver) still runs dnnl_sgemm.
  void need_engine() {
    if (engine) return;
    const int st = engine_create(&engine, d::engine_cpu, 0);
    if (st != d::success)
      throw UnsupportedError("oneDNN could not create a CPU engine (status " + std::to_string(st) +
                             "; its SYCL CPU runtime needs the intel-opencl-rt wheel's OpenCL CPU driver)");
    check(stream_create(&stream, engine, d::stream_default_flags), "dnnl_stream_create");
  }
  // bf16 matmul has native kernels only with AVX-512 BF16 (or AMX); elsewhere oneDNN would emulate
  // or refuse it, so aimatrix offers bf16 only where it is native. The effective ISA honours
  // ONEDNN_MAX_CPU_ISA.
  bool native_bf16() const {
    return (unsigned(cpu_isa()) & d::cpu_isa_avx512_core_bf16) == d::cpu_isa_avx512_core_bf16;
  }
  static void check(int status, const char* call) {
    if (status == d::success) return;
    const std::string msg = std::string("oneDNN ") + call + " failed with status " + std::to_string(status);
    if (status == 3) throw UnsupportedError(msg + " (unimplemented for this problem)");
    throw std::runtime_error(msg);
  }
  std::string describe() const {
    const d::version_t* v = version();
    const unsigned rt = v->cpu_runtime;
    const char* runtime = rt == 1     ? "sequential"
                          : rt == 2   ? "OpenMP"
                          : rt == 4   ? "TBB"
                          : rt == 8   ? "threadpool"
                          : rt == 512 ? "SYCL"
                                      : "other";
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           " (" + runtime + " CPU runtime)";
  }
};

Onednn& load(const std::string& path) {
  static std::mutex mu;
  static std::unique_ptr<Onednn> lib;  // one per process: the first path wins
  std::lock_guard<std::mutex> lock(mu);
  if (!lib) lib = std::make_unique<Onednn>(path);
  return *lib;
}

// Owners of oneDNN objects, destroyed with the kernel that holds them.
struct Owned {
  const Onednn* api;
  std::vector<d::handle> mds, pds, prims, mems;
  ~Owned() {
    for (auto h : prims) api->primitive_destroy(h);
    for (auto h : pds) api->pd_destroy(h);
    for (auto h : mems) api->memory_destroy(h);
    for (auto h : mds) api->md_destroy(h);
  }
};

// A primitive made ready on the user's plain tensors (oneDNN's own allocations, filled from the
// host): the steps of one call (reorders in, the primitive, reorders out) and the output to fetch.
// Shared by the convolutions and the bf16 matmul.
struct Prepared {
  Onednn* api;
  Owned own;
  struct Step {
    d::handle prim;
    std::vector<d::exec_arg_t> args;
  };
  std::vector<Step> steps;
  d::handle out_mem = nullptr;
  void* out_host = nullptr;
  size_t out_bytes = 0;

  d::handle md(int ndims, const d::dim* dims_, int tag, int dtype = d::f32) {
    d::dims dd{};
    std::memcpy(dd, dims_, sizeof(d::dim) * size_t(ndims));
    d::handle h = nullptr;
    Onednn::check(api->md_create(&h, ndims, dd, dtype, tag), "dnnl_memory_desc_create_with_tag");
    own.mds.push_back(h);
    return h;
  }
  d::handle md_strided(int ndims, const d::dim* dims_, const d::dim* strides_, int dtype) {
    d::dims dd{}, ss{};
    std::memcpy(dd, dims_, sizeof(d::dim) * size_t(ndims));
    std::memcpy(ss, strides_, sizeof(d::dim) * size_t(ndims));
    d::handle h = nullptr;
    Onednn::check(api->md_create_strided(&h, ndims, dd, dtype, ss), "dnnl_memory_desc_create_with_strides");
    own.mds.push_back(h);
    return h;
  }
  d::handle memory(d::chandle desc) {
    d::handle m = nullptr;
    Onednn::check(api->memory_create(&m, desc, api->engine, d::memory_allocate), "dnnl_memory_create");
    own.mems.push_back(m);
    return m;
  }
  void copy(d::handle mem, void* host, size_t bytes, bool to_mem) {  // host <-> a plain memory
    void* p = nullptr;
    Onednn::check(api->map(mem, &p), "dnnl_memory_map_data");
    std::memcpy(to_mem ? p : host, to_mem ? host : p, bytes);
    Onednn::check(api->unmap(mem, p), "dnnl_memory_unmap_data");
  }
  // A memory for a user tensor, filled from `host`; the output's is poisoned with `poison` (bytes
  // of one element repeated), so unwritten outputs show, and fetched back by `fetch`.
  d::handle user_memory(d::chandle desc, void* host, size_t bytes, bool is_out, const void* poison = nullptr,
                        size_t elem = 0) {
    d::handle m = memory(desc);
    if (is_out) {
      out_mem = m;
      out_host = host;
      out_bytes = bytes;
      std::vector<uint8_t> fill(bytes);
      for (size_t i = 0; i + elem <= bytes; i += elem) std::memcpy(&fill[i], poison, elem);
      copy(m, fill.data(), bytes, true);
    } else {
      copy(m, host, bytes, true);
    }
    return m;
  }
  d::handle primitive(d::handle pd) {
    d::handle p = nullptr;
    Onednn::check(api->primitive_create(&p, pd), "dnnl_primitive_create");
    own.prims.push_back(p);
    return p;
  }
  // The memory the primitive reads or writes for a user tensor: the user's own when oneDNN took
  // its format, else a new one with a reorder before (input) or after (output) the primitive.
  d::handle bind(d::handle user, d::chandle user_md, d::chandle want, bool input, std::vector<Step>& before,
                 std::vector<Step>& after, bool& reordered) {
    reordered = !api->md_equal(user_md, want);
    if (!reordered) return user;
    d::handle inner = memory(want), pd = nullptr;
    Onednn::check(input ? api->reorder(&pd, user_md, api->engine, want, api->engine, nullptr)
                        : api->reorder(&pd, want, api->engine, user_md, api->engine, nullptr),
                  "dnnl_reorder_primitive_desc_create");
    own.pds.push_back(pd);
    (input ? before : after)
        .push_back({primitive(pd), {{d::arg_from, input ? user : inner}, {d::arg_to, input ? inner : user}}});
    return inner;
  }
  std::string impl(d::chandle pd) const {
    const char* s = nullptr;
    Onednn::check(api->query(pd, d::query_impl_info_str, 0, &s), "dnnl_primitive_desc_query");
    return s ? s : "?";
  }
};

// The kernel of a prepared primitive: run executes its steps and waits; fetch copies the output out.
Kernel kernel_of(std::shared_ptr<Prepared> st, std::string algo) {
  Kernel k;
  k.algo = std::move(algo);
  k.run = [st] {
    for (const auto& step : st->steps)
      Onednn::check(st->api->execute(step.prim, st->api->stream, int(step.args.size()), step.args.data()),
                    "dnnl_primitive_execute");
    Onednn::check(st->api->stream_wait(st->api->stream), "dnnl_stream_wait");
  };
  k.fetch = [st] { st->copy(st->out_mem, st->out_host, st->out_bytes, false); };
  return k;
}

std::shared_ptr<Prepared> prepared(Onednn& api) {
  api.need_engine();
  auto st = std::make_shared<Prepared>();
  st->api = &api;
  st->own.api = &api;
  return st;
}

// bf16 GEMM as oneDNN's matmul: [batch, m, k] x [batch, k, n] -> [batch, m, n], bf16 in and out,
// the transposes as strides over the spec's storage (A stored [k, m], B stored [n, k]).
Kernel bf16_matmul(Onednn& api, const GemmSpec& s, const void* a, const void* b, void* c) {
  auto st = prepared(api);
  const d::dim a_dims[3] = {s.batch, s.m, s.k}, b_dims[3] = {s.batch, s.k, s.n}, c_dims[3] = {s.batch, s.m, s.n};
  const d::dim a_str[3] = {s.m * s.k, s.trans_a ? 1 : s.k, s.trans_a ? s.m : 1};
  const d::dim b_str[3] = {s.k * s.n, s.trans_b ? 1 : s.n, s.trans_b ? s.k : 1};
  const d::dim c_str[3] = {s.m * s.n, s.n, 1};
  d::handle a_md = st->md_strided(3, a_dims, a_str, d::bf16), b_md = st->md_strided(3, b_dims, b_str, d::bf16);
  d::handle c_md = st->md_strided(3, c_dims, c_str, d::bf16);
  d::handle pd = nullptr;
  Onednn::check(api.matmul(&pd, api.engine, a_md, b_md, nullptr, c_md, nullptr), "dnnl_matmul_primitive_desc_create");
  st->own.pds.push_back(pd);
  const size_t el = 2;
  const uint16_t nan_bits = float_to_bf16_bits(std::numeric_limits<float>::quiet_NaN());
  d::handle am = st->user_memory(a_md, const_cast<void*>(a), size_t(s.a_elems() * s.batch) * el, false);
  d::handle bm = st->user_memory(b_md, const_cast<void*>(b), size_t(s.b_elems() * s.batch) * el, false);
  d::handle cm = st->user_memory(c_md, c, size_t(s.c_elems() * s.batch) * el, true, &nan_bits, el);
  st->steps.push_back({st->primitive(pd), {{d::arg_src, am}, {d::arg_weights, bm}, {d::arg_dst, cm}}});
  return kernel_of(st, "matmul " + st->impl(pd));
}

}  // namespace

GemmBackend onednn_gemm(const std::string& library) {
  Onednn& api = load(library);
  GemmBackend g = fp32_gemm(
      "onednn", "dnnl_sgemm, " + api.describe(), [&api](const GemmSpec& s, const float* a, const float* b, float* c) {
        for (int64_t i = 0; i < s.batch; ++i)
          Onednn::check(api.sgemm(s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', s.m, s.n, s.k, 1.0f,
                                  a + i * s.a_elems(), s.trans_a ? s.m : s.k, b + i * s.b_elems(),
                                  s.trans_b ? s.k : s.n, 0.0f, c + i * s.c_elems(), s.n),
                        "dnnl_sgemm");
      });
  if (!api.native_bf16()) return g;
  g.dtypes.push_back(DType::bf16);
  g.info = api.describe();  // the kernel, dnnl_sgemm or the matmul's, is named per run
  auto fp32 = g.prepare;
  g.prepare = [&api, fp32](const GemmSpec& s, const void* a, const void* b, void* c) {
    if (s.dtype != DType::bf16) {
      Kernel k = fp32(s, a, b, c);
      k.algo = "dnnl_sgemm";
      return k;
    }
    return bf16_matmul(api, s, a, b, c);
  };
  return g;
}

Kernel onednn_conv(const std::string& library, const ConvSpec& s, const float* in0, const float* in1, float* out) {
  if (s.dtype != DType::f32)
    throw UnsupportedError(std::string("the onednn conv backend runs dtype fp32 only, not ") + dtype_name(s.dtype));
  Onednn& api = load(library);
  auto st = prepared(api);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const bool nhwc = s.layout == Layout::nhwc, grouped = s.groups > 1;
  const d::dim x_dims[4] = {s.n, s.c, s.h, s.w}, y_dims[4] = {s.n, s.k, s.ho(), s.wo()};
  const d::dim w_dims[5] = {s.groups, s.kg(), s.cg(), s.r, s.s}, w4[4] = {s.k, s.cg(), s.r, s.s};
  // The user's tensors, plain (as ConvSpec stores them: NCHW/KCRS or NHWC/KRSC).
  d::handle x_md = st->md(4, x_dims, nhwc ? d::tag_nhwc : d::tag_nchw);
  d::handle y_md = st->md(4, y_dims, nhwc ? d::tag_nhwc : d::tag_nchw);
  d::handle w_md =
      grouped ? st->md(5, w_dims, nhwc ? d::tag_gohwi : d::tag_goihw) : st->md(4, w4, nhwc ? d::tag_ohwi : d::tag_oihw);
  d::handle x_any = st->md(4, x_dims, d::tag_any), y_any = st->md(4, y_dims, d::tag_any);
  d::handle w_any = grouped ? st->md(5, w_dims, d::tag_any) : st->md(4, w4, d::tag_any);
  const d::dims strides = {s.stride_h, s.stride_w}, dil = {s.dil_h - 1, s.dil_w - 1}, pad = {s.pad_h, s.pad_w};

  d::handle fwd = nullptr, pd = nullptr;
  const bool is_fwd = s.dir == ConvDir::fwd;
  Onednn::check(api.conv_fwd(&fwd, api.engine, is_fwd ? d::forward_inference : d::forward_training,
                             d::convolution_direct, x_any, w_any, nullptr, y_any, strides, dil, pad, pad, nullptr),
                "dnnl_convolution_forward_primitive_desc_create");
  st->own.pds.push_back(fwd);
  if (s.dir == ConvDir::fwd) {
    pd = fwd;
  } else if (s.dir == ConvDir::bwd_data) {
    Onednn::check(api.conv_bwd_data(&pd, api.engine, d::convolution_direct, x_any, w_any, y_any, strides, dil, pad, pad,
                                    fwd, nullptr),
                  "dnnl_convolution_backward_data_primitive_desc_create");
    st->own.pds.push_back(pd);
  } else {
    Onednn::check(api.conv_bwd_weights(&pd, api.engine, d::convolution_direct, x_any, w_any, nullptr, y_any, strides,
                                       dil, pad, pad, fwd, nullptr),
                  "dnnl_convolution_backward_weights_primitive_desc_create");
    st->own.pds.push_back(pd);
  }
  // Operands of this direction (see ConvSpec): the user tensor, its plain md, the primitive's md, the exec arg.
  struct Operand {
    ConvTensor t;
    d::handle user_md;
    int query, arg;
  };
  const Operand x{ConvTensor::x, x_md, s.dir == ConvDir::bwd_data ? d::query_diff_src_md : d::query_src_md,
                  s.dir == ConvDir::bwd_data ? d::arg_diff_src : d::arg_src};
  const Operand w{ConvTensor::w, w_md, s.dir == ConvDir::bwd_filter ? d::query_diff_weights_md : d::query_weights_md,
                  s.dir == ConvDir::bwd_filter ? d::arg_diff_weights : d::arg_weights};
  const Operand y{ConvTensor::y, y_md, is_fwd ? d::query_dst_md : d::query_diff_dst_md,
                  is_fwd ? d::arg_dst : d::arg_diff_dst};
  std::vector<Prepared::Step> before, after;
  Prepared::Step conv{st->primitive(pd), {}};
  std::string reordered;
  for (const Operand* o : {&x, &w, &y}) {
    const bool is_out = o->t == s.out();
    void* host = is_out ? out : const_cast<float*>(o->t == s.in0() ? in0 : in1);
    d::handle user = st->user_memory(o->user_md, host, size_t(s.elems(o->t)) * sizeof(float), is_out, &nan, sizeof nan);
    bool r = false;
    d::handle inner = st->bind(user, o->user_md, api.query_md(pd, o->query, 0), !is_out, before, after, r);
    if (r)
      reordered += std::string(reordered.empty() ? "" : ",") + (o->t == ConvTensor::x   ? "x"
                                                                : o->t == ConvTensor::w ? "w"
                                                                                        : "y");
    conv.args.push_back({o->arg, inner});
  }
  st->steps = before;
  st->steps.push_back(conv);
  st->steps.insert(st->steps.end(), after.begin(), after.end());
  return kernel_of(st, st->impl(pd) + (reordered.empty() ? "" : " +reorder(" + reordered + ")"));
}

std::string onednn_version(const std::string& library) { return load(library).describe(); }

}  // namespace am::cpu
