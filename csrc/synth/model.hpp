// The StatsNet workload model: how many MACs and warps a convolution layer
// costs. This is the ONE definition the synthesizer uses; the Python mirror
// (aimatrix/synth/model.py) must compute exactly the same integers.
//
// MACs of a convolution:
//     MACs = batch * Hout * Wout * Cout * (Cin / groups) * Kh * Kw
// A synthetic layer is a stride-1 SAME convolution with groups = 1 at the
// group's input size H x W, so Hout = H, Wout = W and
//     MACs = batch * H * W * Cout * Cin * Kh * Kw,
// where Cin is the previous synthetic layer's filter count (for the first layer
// of a group: the last filter count of the previous group, 3 for the image).
//
// Warps (the launch-shape estimator): the layer's output, per group of
// channels, is cut into warp tiles of `tm` output pixels (along the flattened
// batch*Hout*Wout axis) by `tn` output channels; each tile is `wpt` warps:
//     warps = groups * ceil((Cout/groups) / tn) * ceil(batch*Hout*Wout / tm) * wpt
// The default (tm, tn, wpt) = (32, 1, 1) is a direct-convolution launch: one
// thread per output element, a warp covering 32 consecutive output pixels of
// one channel. (128, 128, 8) is the CTA shape of a 128x128 implicit-GEMM
// kernel. Measured warps on a GPU (Σ grid * ceil(block/32) over the layer's
// kernels) calibrate the choice; the fitness is relative, so a global scale
// factor does not matter.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace am::synth {

struct WarpModel {
  int64_t tm = 32;   // output pixels per warp tile
  int64_t tn = 1;    // output channels per warp tile
  int64_t wpt = 1;   // warps per tile
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline int64_t conv_macs(int64_t batch, int64_t hout, int64_t wout, int64_t cin, int64_t cout, int64_t kh,
                         int64_t kw, int64_t groups = 1) {
  return batch * hout * wout * cout * (cin / groups) * kh * kw;
}

inline int64_t conv_warps(const WarpModel& m, int64_t batch, int64_t hout, int64_t wout, int64_t cout,
                          int64_t groups = 1) {
  return groups * ceil_div(cout / groups, m.tn) * ceil_div(batch * hout * wout, m.tm) * m.wpt;
}

// One synthetic layer: its filter size (the spatial size and batch are the group's).
struct SynthLayer {
  int64_t kh = 3, kw = 3;
};

// One group's synthesis problem. An individual is a *chain* of n + 1 channel
// counts: chain[0] = the group's input channels, chain[i + 1] = filter count of
// layer i. The GA's genes are the chain's free entries: chain[0] when
// cin0_max > 0 (bounded by it; else chain[0] = cin0), the filter counts, except
// the last one when last_fixed > 0 (it feeds the next group, already chosen).
struct Problem {
  int64_t batch = 1, h = 0, w = 0;  // the group's input size (stride-1 SAME keeps it)
  int64_t cin0 = 3;                 // input channels of the group's first layer (when fixed)
  int64_t cin0_max = 0;             // > 0: chain[0] is a gene in 1 .. cin0_max
  int64_t last_fixed = 0;           // > 0: the last layer's filter count
  std::vector<SynthLayer> layers;
  double macs_real = 0.0, warps_real = 0.0;
  WarpModel wm;
  int bits = 10;                    // gene length: filter counts 1 .. 2^bits - 1

  int64_t max_filters() const { return (int64_t(1) << bits) - 1; }
  // Throws std::invalid_argument naming the bad field.
  void validate() const;
  // Chain positions that are genes, and the upper bound of each.
  std::vector<int> free_positions() const;
  int64_t upper(int pos) const { return pos == 0 ? cin0_max : max_filters(); }
  // The chain with every free entry at `value` clamped to its bound (fixed entries as fixed).
  std::vector<int32_t> chain_at(int64_t value) const;
};

// A gene's value is the channel count; 0 decodes to 1, values above the bound clamp to it.
inline int32_t decode(uint32_t gene, int64_t upper) {
  const int64_t v = gene == 0 ? 1 : int64_t(gene);
  return int32_t(v > upper ? upper : v);
}

// MACs and warps of the synthetic group for a chain of n + 1 channel counts.
inline void totals(const Problem& p, const int32_t* chain, int64_t& macs, int64_t& warps) {
  macs = 0;
  warps = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const int64_t f = chain[i + 1];
    macs += conv_macs(p.batch, p.h, p.w, chain[i], f, p.layers[i].kh, p.layers[i].kw);
    warps += conv_warps(p.wm, p.batch, p.h, p.w, f);
  }
}

// 0.5 |MAC - MAC_real| / MAC_real + 0.5 |WP - WP_real| / WP_real (minimised).
inline double fitness(const Problem& p, const int32_t* chain) {
  int64_t macs, warps;
  totals(p, chain, macs, warps);
  const double em = (double(macs) - p.macs_real) < 0 ? p.macs_real - double(macs) : double(macs) - p.macs_real;
  const double ew = (double(warps) - p.warps_real) < 0 ? p.warps_real - double(warps) : double(warps) - p.warps_real;
  return 0.5 * em / p.macs_real + 0.5 * ew / p.warps_real;
}

// The problem's constants folded for the GA's inner loop (same integers as totals()).
struct Folded {
  std::vector<int64_t> coef;  // batch * h * w * kh * kw per layer
  int64_t tile_warps = 0;     // ceil(batch * h * w / tm) * wpt
  int64_t tn = 1;
  double macs_real = 1.0, warps_real = 1.0;
  explicit Folded(const Problem& p) : tile_warps(ceil_div(p.batch * p.h * p.w, p.wm.tm) * p.wm.wpt), tn(p.wm.tn),
                                      macs_real(p.macs_real), warps_real(p.warps_real) {
    for (const auto& l : p.layers) coef.push_back(p.batch * p.h * p.w * l.kh * l.kw);
  }
  double fitness(const int32_t* chain) const {
    int64_t macs = 0, tiles = 0;
    const size_t n = coef.size();
    if (tn == 1) {
      for (size_t i = 0; i < n; ++i) {
        macs += coef[i] * chain[i] * chain[i + 1];
        tiles += chain[i + 1];
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        macs += coef[i] * chain[i] * chain[i + 1];
        tiles += ceil_div(chain[i + 1], tn);
      }
    }
    const double m = double(macs), w = double(tiles * tile_warps);
    const double em = (m - macs_real) < 0 ? macs_real - m : m - macs_real;
    const double ew = (w - warps_real) < 0 ? warps_real - w : w - warps_real;
    return 0.5 * em / macs_real + 0.5 * ew / warps_real;
  }
};

// Fitness of `count` chains of p.layers.size() + 1 entries each, row-major (OpenMP).
void evaluate_population(const Problem& p, const int32_t* chains, int64_t count, double* out);

}  // namespace am::synth
