// 2-D convolution problem description shared by every backend, and the
// reference check (float64, on sampled output elements).
//
// Tensors (cross-correlation, as cuDNN and PyTorch compute it):
//   x [n, c, h, w]            input        (NCHW, or NHWC: channels innermost)
//   w [k, c/groups, r, s]     filter       (KCRS for NCHW, KRSC for NHWC)
//   y [n, k, ho, wo]          output       (layout of x)
// Directions and their operands (in0, in1 -> out):
//   fwd         x,  w  -> y
//   bwd_data    dy, w  -> dx
//   bwd_filter  x,  dy -> dw
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.hpp"

namespace am {

enum class ConvDir : int { fwd = 0, bwd_data, bwd_filter };
enum class Layout : int { nchw = 0, nhwc };
// The three tensors of a convolution.
enum class ConvTensor : int { x = 0, w, y };

ConvDir parse_conv_dir(const std::string& name);  // throws std::invalid_argument
Layout parse_layout(const std::string& name);
const char* conv_dir_name(ConvDir d);
const char* layout_name(Layout l);

struct ConvSpec {
  int64_t n = 1, c = 1, h = 1, w = 1, k = 1, r = 1, s = 1;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
  DType dtype = DType::f32;
  Layout layout = Layout::nchw;
  ConvDir dir = ConvDir::fwd;
  uint64_t seed = 0;

  int64_t ho() const { return (h + 2 * pad_h - dil_h * (r - 1) - 1) / stride_h + 1; }
  int64_t wo() const { return (w + 2 * pad_w - dil_w * (s - 1) - 1) / stride_w + 1; }
  int64_t cg() const { return c / groups; }  // input channels per group
  int64_t kg() const { return k / groups; }  // output channels per group

  // Logical dims of a tensor: {d0, d1, d2, d3} = {n, c, h, w} / {k, c/g, r, s} / {n, k, ho, wo}.
  std::array<int64_t, 4> dims(ConvTensor t) const;
  int64_t elems(ConvTensor t) const;
  // Storage offset of logical element (i0, i1, i2, i3) of a tensor, by layout.
  int64_t index(ConvTensor t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) const;
  // Logical coordinates of a storage offset.
  std::array<int64_t, 4> coords(ConvTensor t, int64_t offset) const;

  // The operands of this direction: inputs in0, in1 and the output.
  ConvTensor in0() const { return dir == ConvDir::bwd_data ? ConvTensor::y : ConvTensor::x; }
  ConvTensor in1() const { return dir == ConvDir::bwd_filter ? ConvTensor::y : ConvTensor::w; }
  ConvTensor out() const {
    return dir == ConvDir::fwd ? ConvTensor::y : dir == ConvDir::bwd_data ? ConvTensor::x : ConvTensor::w;
  }

  double flops() const;   // 2 * N * K * Ho * Wo * (C/groups) * R * S, every direction
  double bytes() const;   // both inputs read once + the output written once
  void validate() const;  // throws std::invalid_argument naming the bad value
  std::string describe() const;
};

// Relative error allowed against the float64 reference (as for GEMM).
double conv_tolerance(DType d);

// Output elements (storage offsets) a check compares: first, last and random
// ones, fewer when each costs many multiply-adds to recompute.
std::vector<int64_t> make_conv_probe(const ConvSpec& s, int max_count = 256);

// ||out - ref|| / ||ref|| over the probed outputs. in0/in1 hold the whole input
// tensors in the input storage; out holds the probed outputs (in probe order)
// in the output storage.
double conv_probe_error(const ConvSpec& s, const std::vector<int64_t>& probe, const void* in0, const void* in1,
                        const void* out_probed);

}  // namespace am
