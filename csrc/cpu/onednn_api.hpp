// The part of oneDNN's C API (v3) that aimatrix calls, declared here because the `onednn` wheel
// ships the library without its headers. Values as in oneDNN 3.x's include/oneapi/dnnl/dnnl_types.h
// and dnnl_common_types.h, stable across the 3.x releases (the C API's ABI promise); the loader
// checks the major version. Handles are opaque pointers.
#pragma once
#include <cstddef>
#include <cstdint>

namespace am::cpu::dnnl {

using dim = int64_t;
using dims = dim[12];  // DNNL_MAX_NDIMS
using handle = void*;
using chandle = const void*;

struct version_t {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};
struct exec_arg_t {
  int arg;
  handle memory;
};

constexpr int success = 0;
constexpr int engine_cpu = 1;
constexpr unsigned stream_default_flags = 1;  // in order
// dnnl_data_type_t
constexpr int bf16 = 2, f32 = 3;
// dnnl_cpu_isa_t: each ISA's value holds the bits of those it extends; 0xe7 is avx512_core_bf16
// (AVX-512 BF16), which avx10_1_512 and the AMX ISAs include.
constexpr unsigned cpu_isa_avx512_core_bf16 = 0xe7;
// dnnl_format_tag_t
constexpr int tag_any = 1, tag_abcd = 5, tag_abcde = 6, tag_acdb = 22, tag_abdec = 31;
constexpr int tag_nchw = tag_abcd, tag_nhwc = tag_acdb, tag_oihw = tag_abcd, tag_ohwi = tag_acdb, tag_goihw = tag_abcde,
              tag_gohwi = tag_abdec;
// dnnl_prop_kind_t, dnnl_alg_kind_t
constexpr int forward_training = 64, forward_inference = 96;
constexpr int convolution_direct = 1;
// dnnl_query_t
constexpr int query_impl_info_str = 8, query_src_md = 129, query_diff_src_md = 130, query_weights_md = 131,
              query_diff_weights_md = 132, query_dst_md = 133, query_diff_dst_md = 134;
// execute arguments (DNNL_ARG_*)
constexpr int arg_src = 1, arg_dst = 17, arg_weights = 33, arg_diff_src = 129, arg_diff_dst = 145,
              arg_diff_weights = 161, arg_from = arg_src, arg_to = arg_dst;
inline void* const memory_allocate = reinterpret_cast<void*>(~size_t(0));  // DNNL_MEMORY_ALLOCATE

// Function pointer types, one per C API function used.
using version_fn = const version_t* (*)();
using sgemm_fn = int (*)(char, char, dim, dim, dim, float, const float*, dim, const float*, dim, float, float*, dim);
using engine_create_fn = int (*)(handle*, int, size_t);
using stream_create_fn = int (*)(handle*, handle, unsigned);
using stream_wait_fn = int (*)(handle);
using md_create_with_tag_fn = int (*)(handle*, int, const dims, int, int);
using md_create_with_strides_fn = int (*)(handle*, int, const dims, int, const dims);
using md_destroy_fn = int (*)(handle);
using md_equal_fn = int (*)(chandle, chandle);
using conv_fwd_pd_fn = int (*)(handle*, handle, int, int, chandle, chandle, chandle, chandle, const dims, const dims,
                               const dims, const dims, chandle);
using conv_bwd_pd_fn = int (*)(handle*, handle, int, chandle, chandle, chandle, const dims, const dims, const dims,
                               const dims, chandle, chandle);  // bwd_data
using conv_bww_pd_fn = int (*)(handle*, handle, int, chandle, chandle, chandle, chandle, const dims, const dims,
                               const dims, const dims, chandle, chandle);  // bwd_weights
using matmul_pd_fn = int (*)(handle*, handle, chandle, chandle, chandle, chandle,
                             chandle);  // src, wei, bias, dst, attr
using effective_cpu_isa_fn = int (*)();
using reorder_pd_fn = int (*)(handle*, chandle, handle, chandle, handle, chandle);
using pd_query_md_fn = chandle (*)(chandle, int, int);
using pd_query_fn = int (*)(chandle, int, int, void*);
using destroy_fn = int (*)(handle);
using primitive_create_fn = int (*)(handle*, chandle);
using primitive_execute_fn = int (*)(chandle, handle, int, const exec_arg_t*);
using memory_create_fn = int (*)(handle*, chandle, handle, void*);
using memory_map_fn = int (*)(chandle, void**);
using memory_unmap_fn = int (*)(chandle, void*);

}  // namespace am::cpu::dnnl
