// The StatsNet workload model: how many MACs and warps a convolution layer
// costs. This is the ONE definition the synthesizer uses; the Python mirror
// (aimatrix/synth/model.py) must compute exactly the same integers.
//
// MACs of a convolution:
//     MACs = batch * Hout * Wout * Cout * (Cin / groups) * Kh * Kw
// A synthetic layer is a SAME convolution with groups = 1 reading the group's
// input size H x W: stride 1 (Hout = H, Wout = W), or, for a group's last layer
// when the real group downsamples, stride s (Hout = ceil(H / s), Wout = ceil(W / s)):
//     MACs = batch * Hout * Wout * Cout * Cin * Kh * Kw,
// where Cin is the previous synthetic layer's filter count (for the first layer
// of a group: the last filter count of the previous group, 3 for the image).
//
// Warps (the launch-shape estimator, one WarpModel per filter class): an
// implicit GEMM of M = batch*Hout*Wout rows, N = Cout/groups columns and a
// reduction depth K = (Cin/groups)*Kh*Kw, per group of channels:
//     tiles = ceil(M / tm) * ceil(N / tn)                    CTA tiles of tm x tn, wpt warps each
//     split = max(1, min(ceil(ctas / tiles), ceil(K / kc)))  split-K when the grid is small
//     warps = groups * tiles * split * wpt
//           + (split > 1 ? reduce == 1: 4 * ceil(M*N*groups / 512)          split-K reduction kernel
//                          reduce == 2: 4 * ceil(M*N*groups*split / 512) : 0)
//           + (bias ? 4 * ceil(M*N*groups / 512) : 0)                         elementwise epilogue kernel
// (4-warp blocks of 512 elements: a torch elementwise launch). (tm, tn, wpt) =
// (32, 1, 1) with ctas = kc = 1 and no extra kernels is the old direct model
// (one thread per output element). aimatrix/synth/model.py holds the fitted
// per-filter-size table and its error against measured H100 warps.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace am::synth {

struct WarpModel {
  int64_t tm = 32;     // output pixels per CTA tile
  int64_t tn = 1;      // output channels per CTA tile
  int64_t wpt = 1;     // warps per CTA
  int64_t ctas = 1;    // split-K target: split while tiles < ctas
  int64_t kc = 1;      // reduction depth per split
  int64_t reduce = 0;  // split-K reduction kernel: 0 none, 1 over M*N, 2 over M*N*split
  int64_t bias = 0;    // 1: an elementwise kernel over the output
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline int64_t conv_macs(int64_t batch, int64_t hout, int64_t wout, int64_t cin, int64_t cout, int64_t kh, int64_t kw,
                         int64_t groups = 1) {
  return batch * hout * wout * cout * (cin / groups) * kh * kw;
}

inline int64_t conv_warps(const WarpModel& m, int64_t batch, int64_t hout, int64_t wout, int64_t cin, int64_t cout,
                          int64_t kh, int64_t kw, int64_t groups = 1) {
  const int64_t M = batch * hout * wout, N = cout / groups, K = (cin / groups) * kh * kw;
  const int64_t tiles = ceil_div(M, m.tm) * ceil_div(N, m.tn);
  int64_t split = std::min(ceil_div(m.ctas, tiles), ceil_div(K, m.kc));
  if (split < 1) split = 1;
  int64_t w = groups * tiles * split * m.wpt;
  if (split > 1 && m.reduce == 1) w += 4 * ceil_div(M * N * groups, 512);
  if (split > 1 && m.reduce == 2) w += 4 * ceil_div(M * N * groups * split, 512);
  if (m.bias) w += 4 * ceil_div(M * N * groups, 512);
  return w;
}

// One synthetic layer: its filter size, stride and launch model (the input size and batch are the group's).
struct SynthLayer {
  int64_t kh = 3, kw = 3;
  int64_t stride = 1;  // SAME padding: the output is ceil(H / stride) x ceil(W / stride)
  WarpModel wm;
};

// One group's synthesis problem. An individual is a *chain* of n + 1 channel
// counts: chain[0] = the group's input channels, chain[i + 1] = filter count of
// layer i. The GA's genes are the chain's free entries: chain[0] when
// cin0_max > 0 (bounded by it; else chain[0] = cin0), the filter counts, except
// the last one when last_fixed > 0 (it feeds the next group, already chosen).
// Filter counts are at least min_filters (genes decode to min_filters .. 2^bits - 1).
struct Problem {
  int64_t batch = 1, h = 0, w = 0;  // the group's input size (every layer reads it; stride-1 SAME keeps it)
  int64_t cin0 = 3;                 // input channels of the group's first layer (when fixed)
  int64_t cin0_max = 0;             // > 0: chain[0] is a gene in min_filters .. cin0_max
  int64_t last_fixed = 0;           // > 0: the last layer's filter count
  int64_t min_filters = 1;          // the smallest filter count a gene decodes to
  std::vector<SynthLayer> layers;
  double macs_real = 0.0, warps_real = 0.0;
  int bits = 10;  // gene length: filter counts min_filters .. 2^bits - 1

  int64_t max_filters() const { return (int64_t(1) << bits) - 1; }
  // Throws std::invalid_argument naming the bad field.
  void validate() const;
  // Chain positions that are genes, and the upper bound of each.
  std::vector<int> free_positions() const;
  int64_t upper(int pos) const { return pos == 0 ? cin0_max : max_filters(); }
  int64_t lower() const { return min_filters; }
  // The chain with every free entry at `value` clamped to its bounds (fixed entries as fixed).
  std::vector<int32_t> chain_at(int64_t value) const;
  // Output height and width of a layer (SAME padding).
  int64_t hout(const SynthLayer& l) const { return ceil_div(h, l.stride); }
  int64_t wout(const SynthLayer& l) const { return ceil_div(w, l.stride); }
};

// A gene's value is the channel count; values below `lower` decode to it, values above `upper` clamp to it.
inline int32_t decode(uint32_t gene, int64_t lower, int64_t upper) {
  int64_t v = int64_t(gene);
  v = v < lower ? lower : v;
  return int32_t(v > upper ? upper : v);
}

// MACs and warps of the synthetic group for a chain of n + 1 channel counts.
inline void totals(const Problem& p, const int32_t* chain, int64_t& macs, int64_t& warps) {
  macs = 0;
  warps = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const auto& l = p.layers[i];
    macs += conv_macs(p.batch, p.hout(l), p.wout(l), chain[i], chain[i + 1], l.kh, l.kw);
    warps += conv_warps(l.wm, p.batch, p.hout(l), p.wout(l), chain[i], chain[i + 1], l.kh, l.kw);
  }
}

inline double fitness_of(int64_t macs, int64_t warps, double macs_real, double warps_real) {
  const double m = double(macs), w = double(warps);
  const double em = std::fabs(m - macs_real);  // (x - y) == -(y - x) exactly: the same as either difference
  const double ew = std::fabs(w - warps_real);
  return 0.5 * em / macs_real + 0.5 * ew / warps_real;
}

// 0.5 |MAC - MAC_real| / MAC_real + 0.5 |WP - WP_real| / WP_real (minimised).
inline double fitness(const Problem& p, const int32_t* chain) {
  int64_t macs, warps;
  totals(p, chain, macs, warps);
  return fitness_of(macs, warps, p.macs_real, p.warps_real);
}

// The problem folded for the GA's inner loop: per layer, the warps' dependence on
// the filter count N and the input channels C tabulated over 0 .. 2^bits - 1
// (no division in the loop), one 16-byte entry per N so that a layer costs one
// cache line; the same integers as totals().
struct Folded {
  struct Entry {    // (ga.cpp's vectorised evaluation gathers it as two 64-bit words: keep the layout)
    int32_t tw;     // tiles(N) * wpt
    int32_t smax;   // max(1, ceil(ctas / tiles(N))): the split-K cap of the grid
    int32_t extra;  // the bias kernel's warps (0 without one)
    int32_t red;    // reduce == 1: the reduction kernel's warps, added when split > 1 (else 0)
  };
  struct L {
    int64_t coef = 0;              // batch * hout * wout * kh * kw (MACs per cin * cout)
    const Entry* e = nullptr;      // [N]
    const int32_t* kch = nullptr;  // [C]: max(1, ceil(C * kh * kw / kc))
    int64_t reduce = 0, M = 0;
  };
  std::vector<L> layers;
  std::vector<Entry> entries;
  std::vector<int32_t> kchs;
  double macs_real = 1.0, warps_real = 1.0;
  explicit Folded(const Problem& p);
  Folded(const Folded&) = delete;
  Folded& operator=(const Folded&) = delete;
  // MACs and warps of a chain.
  inline void totals(const int32_t* chain, int64_t& macs, int64_t& warps) const {
    int64_t m = 0, w = 0;
    const size_t n = layers.size();
    const L* ls = layers.data();
    for (size_t i = 0; i < n; ++i) {
      const L& l = ls[i];
      const int32_t c = chain[i], f = chain[i + 1];
      const Entry e = l.e[f];
      m += l.coef * c * f;
      const int32_t k = l.kch[c];
      const int32_t s = e.smax < k ? e.smax : k;
      w += int64_t(e.tw) * s + e.extra + (s > 1 ? e.red : 0);
      if (l.reduce == 2 && s > 1) w += 4 * ceil_div(l.M * f * s, 512);
    }
    macs = m;
    warps = w;
  }
  double fitness(const int32_t* chain) const {
    int64_t m, w;
    totals(chain, m, w);
    return fitness_of(m, w, macs_real, warps_real);
  }
};

// Fitness of `count` chains of p.layers.size() + 1 entries each, row-major (OpenMP).
void evaluate_population(const Problem& p, const int32_t* chains, int64_t count, double* out);

}  // namespace am::synth
