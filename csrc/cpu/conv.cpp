#include "cpu/conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "common/gemm_spec.hpp"
#include "common/rng.hpp"
#include "cpu/gemm.hpp"
#include "cpu/host_memory.hpp"
#include "cpu/timed_run.hpp"
#include "timing/cpu_timer.hpp"

namespace am::cpu {
namespace {

// col[p][(c * R + r) * S + t] = x(n, c0 + c, hh, ww) of output pixel p (0 in the padding).
void im2col(const ConvSpec& s, const float* x, int64_t n, int64_t c0, float* col) {
  const int64_t wo = s.wo(), P = s.ho() * wo, cg = s.cg(), RS = s.r * s.s;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < P; ++p) {
    const int64_t h0 = (p / wo) * s.stride_h - s.pad_h, w0 = (p % wo) * s.stride_w - s.pad_w;
    float* dst = col + p * cg * RS;
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t r = 0; r < s.r; ++r) {
        const int64_t hh = h0 + r * s.dil_h;
        for (int64_t t = 0; t < s.s; ++t) {
          const int64_t ww = w0 + t * s.dil_w;
          const bool in = hh >= 0 && hh < s.h && ww >= 0 && ww < s.w;
          *dst++ = in ? x[s.index(ConvTensor::x, n, c0 + c, hh, ww)] : 0.0f;
        }
      }
  }
}

// x(n, c0 + c, hh, ww) += col[p][(c * R + r) * S + t]; parallel over channels (disjoint outputs).
void col2im(const ConvSpec& s, const float* col, int64_t n, int64_t c0, float* x) {
  const int64_t wo = s.wo(), P = s.ho() * wo, cg = s.cg(), RS = s.r * s.s;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t p = 0; p < P; ++p) {
      const int64_t h0 = (p / wo) * s.stride_h - s.pad_h, w0 = (p % wo) * s.stride_w - s.pad_w;
      const float* src = col + (p * cg + c) * RS;
      for (int64_t r = 0; r < s.r; ++r) {
        const int64_t hh = h0 + r * s.dil_h;
        if (hh < 0 || hh >= s.h) continue;
        for (int64_t t = 0; t < s.s; ++t) {
          const int64_t ww = w0 + t * s.dil_w;
          if (ww >= 0 && ww < s.w) x[s.index(ConvTensor::x, n, c0 + c, hh, ww)] += src[r * s.s + t];
        }
      }
    }
}

// The output columns ow in [lo, hi) whose input column ow * stride + off lies inside [0, w).
void valid_range(int64_t wo, int64_t stride, int64_t off, int64_t w, int64_t& lo, int64_t& hi) {
  lo = 0;
  hi = wo;
  while (lo < hi && lo * stride + off < 0) ++lo;
  while (hi > lo && (hi - 1) * stride + off >= w) --hi;
}

// NCHW: col[(c * R + r) * S + t][p] = x(c, hh, ww) of output pixel p of one image's group (0 in the
// padding), xg = its first channel; ld = the row stride of col (P, or more when several images sit side by
// side). Rows contiguous in p, so a GEMM reads it as B with no transpose and the output is NCHW as it comes.
void im2col_rows(const ConvSpec& s, const float* xg, float* col, int64_t ld) {
  const int64_t ho = s.ho(), wo = s.wo(), RS = s.r * s.s, rows = s.cg() * RS;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t c = row / RS, r = (row / s.s) % s.r, t = row % s.s, off = t * s.dil_w - s.pad_w;
    int64_t lo, hi;
    valid_range(wo, s.stride_w, off, s.w, lo, hi);
    const float* xc = xg + c * s.h * s.w;
    for (int64_t oh = 0; oh < ho; ++oh) {
      float* d = col + row * ld + oh * wo;
      const int64_t hh = oh * s.stride_h - s.pad_h + r * s.dil_h;
      if (hh < 0 || hh >= s.h) {
        std::fill(d, d + wo, 0.0f);
        continue;
      }
      const float* xr = xc + hh * s.w + off;
      std::fill(d, d + lo, 0.0f);
      if (s.stride_w == 1) std::memcpy(d + lo, xr + lo, sizeof(float) * size_t(hi - lo));
      else
        for (int64_t ow = lo; ow < hi; ++ow) d[ow] = xr[ow * s.stride_w];
      std::fill(d + hi, d + wo, 0.0f);
    }
  }
}

// The adjoint of im2col_rows: x(c, hh, ww) += col[(c * R + r) * S + t][p]; parallel over channels
// (disjoint outputs), each element summed in the same order whatever the thread count.
void col2im_rows(const ConvSpec& s, const float* col, float* xg, int64_t ld) {
  const int64_t ho = s.ho(), wo = s.wo();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.cg(); ++c)
    for (int64_t r = 0; r < s.r; ++r)
      for (int64_t t = 0; t < s.s; ++t) {
        const int64_t off = t * s.dil_w - s.pad_w;
        int64_t lo, hi;
        valid_range(wo, s.stride_w, off, s.w, lo, hi);
        const float* src = col + ((c * s.r + r) * s.s + t) * ld;
        for (int64_t oh = 0; oh < ho; ++oh) {
          const int64_t hh = oh * s.stride_h - s.pad_h + r * s.dil_h;
          if (hh < 0 || hh >= s.h) continue;
          float* xr = xg + (c * s.h + hh) * s.w + off;
          const float* sr = src + oh * wo;
          for (int64_t ow = lo; ow < hi; ++ow) xr[ow * s.stride_w] += sr[ow];
        }
      }
}

GemmSpec gemm_of(int64_t m, int64_t n, int64_t k, bool ta, bool tb) { return GemmSpec{m, n, k, 1, ta, tb}; }

// Images per GEMM: small images (the deep layers, P = 49 at 7x7) make thin per-image GEMMs that split
// badly over the threads, so there up to 64 MiB of col's images (all the batch, at ResNet's sizes) go
// through one GEMM, side by side.
int64_t images_per_gemm(const ConvSpec& s) {
  const int64_t P = s.ho() * s.wo(), CRS = s.cg() * s.r * s.s;
  return P < 1024 ? std::clamp<int64_t>((int64_t(1) << 24) / std::max<int64_t>(1, P * CRS), 1, s.n) : 1;
}

// 1x1 stride-1 unpadded layers: x already is col (one image per GEMM).
bool is_pointwise(const ConvSpec& s) {
  return s.r == 1 && s.s == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
}

// NCHW: per group and batch chunk (one image, or all of them), one GEMM on col[CRS][nb * P] (x through
// im2col_rows, read in place for a pointwise layer and one image): w's group is used as stored
// (wg[kg][CRS]), y / dy are read and written in place for one image, through yt[kg][nb * P] for several.
void conv_nchw(const ConvSpec& s, const float* in0, const float* in1, float* out, ConvScratch& sc) {
  const int64_t cg = s.cg(), kg = s.kg(), P = s.ho() * s.wo(), CRS = cg * s.r * s.s, HW = s.h * s.w;
  const int64_t nb = images_per_gemm(s);
  const bool direct = nb == 1 && is_pointwise(s);
  if (!direct) sc.col.resize(size_t(nb * P * CRS));
  if (nb > 1) sc.yt.resize(size_t(nb * P * kg));
  if (s.dir == ConvDir::bwd_filter) sc.wg.resize(size_t(kg * CRS));
  if (s.dir == ConvDir::bwd_data && !direct) std::memset(out, 0, sizeof(float) * size_t(s.elems(ConvTensor::x)));
  // y / dy of group g: in place for one image, else gathered into / scattered from yt[kg][ld].
  auto y_at = [&](int64_t n, int64_t g) { return (n * s.k + g * kg) * P; };
  auto yt_row = [&](int64_t k, int64_t i, int64_t ld) { return sc.yt.data() + k * ld + i * P; };
  const size_t row_bytes = sizeof(float) * size_t(P);
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t n0 = 0; n0 < s.n; n0 += nb) {
      const int64_t m = std::min(nb, s.n - n0), ld = m * P;  // this chunk's images, col's row stride
      const float* w = in1 + g * kg * CRS;
      if (s.dir != ConvDir::bwd_data && !direct)
        for (int64_t i = 0; i < m; ++i) im2col_rows(s, in0 + ((n0 + i) * s.c + g * cg) * HW, sc.col.data() + i * P, ld);
      const float* col = direct ? in0 + (n0 * s.c + g * cg) * HW : sc.col.data();
      if (s.dir == ConvDir::fwd) {
        float* y = nb == 1 ? out + y_at(n0, g) : sc.yt.data();
        sgemm(gemm_of(kg, ld, CRS, false, false), w, col, y);  // y[kg][nb * P]
        if (nb > 1)
          for (int64_t i = 0; i < m; ++i)
            for (int64_t k = 0; k < kg; ++k) std::memcpy(out + y_at(n0 + i, g) + k * P, yt_row(k, i, ld), row_bytes);
        continue;
      }
      const float* dy_src = s.dir == ConvDir::bwd_data ? in0 : in1;
      if (nb > 1)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t k = 0; k < kg; ++k) std::memcpy(yt_row(k, i, ld), dy_src + y_at(n0 + i, g) + k * P, row_bytes);
      const float* dy = nb == 1 ? dy_src + y_at(n0, g) : sc.yt.data();
      if (s.dir == ConvDir::bwd_data) {
        float* dcol = direct ? out + (n0 * s.c + g * cg) * HW : sc.col.data();
        sgemm(gemm_of(CRS, ld, kg, true, false), w, dy, dcol);  // col[CRS][nb * P]
        if (!direct)
          for (int64_t i = 0; i < m; ++i) col2im_rows(s, dcol + i * P, out + ((n0 + i) * s.c + g * cg) * HW, ld);
      } else {
        float* dw = out + g * kg * CRS;  // dw[kg][CRS]: the first chunk writes it, the others add theirs in order
        sgemm(gemm_of(kg, CRS, ld, false, true), dy, col, n0 == 0 ? dw : sc.wg.data());
        if (n0 > 0)
          for (int64_t i = 0; i < kg * CRS; ++i) dw[i] += sc.wg[size_t(i)];
      }
    }
}

}  // namespace

void conv(const ConvSpec& s, const float* in0, const float* in1, float* out, ConvScratch& sc) {
  if (s.layout == Layout::nchw) return conv_nchw(s, in0, in1, out, sc);
  const int64_t cg = s.cg(), kg = s.kg(), wo = s.wo(), P = s.ho() * wo, CRS = cg * s.r * s.s;
  sc.col.resize(size_t(P * CRS));
  sc.wg.resize(size_t(kg * CRS));
  sc.yt.resize(size_t(P * kg));
  if (s.dir == ConvDir::bwd_data) std::memset(out, 0, sizeof(float) * size_t(s.elems(ConvTensor::x)));
  if (s.dir == ConvDir::bwd_filter) sc.acc.resize(size_t(kg * CRS));
  for (int64_t g = 0; g < s.groups; ++g) {
    // The group's filters as wg[kg][CRS] (the operand of fwd and bwd_data).
    if (s.dir != ConvDir::bwd_filter) {
      for (int64_t k = 0; k < kg; ++k)
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t r = 0; r < s.r; ++r)
            for (int64_t t = 0; t < s.s; ++t)
              sc.wg[size_t(k * CRS + (c * s.r + r) * s.s + t)] = in1[s.index(ConvTensor::w, g * kg + k, c, r, t)];
    } else {
      std::fill(sc.acc.begin(), sc.acc.end(), 0.0f);
    }
    for (int64_t n = 0; n < s.n; ++n) {
      if (s.dir == ConvDir::fwd) {
        im2col(s, in0, n, g * cg, sc.col.data());
        sgemm(gemm_of(P, kg, CRS, false, true), sc.col.data(), sc.wg.data(), sc.yt.data());  // [P][kg]
        for (int64_t p = 0; p < P; ++p)
          for (int64_t k = 0; k < kg; ++k)
            out[s.index(ConvTensor::y, n, g * kg + k, p / wo, p % wo)] = sc.yt[size_t(p * kg + k)];
        continue;
      }
      // dy of this image and group as yt[P][kg].
      const float* dy = s.dir == ConvDir::bwd_data ? in0 : in1;
      for (int64_t p = 0; p < P; ++p)
        for (int64_t k = 0; k < kg; ++k)
          sc.yt[size_t(p * kg + k)] = dy[s.index(ConvTensor::y, n, g * kg + k, p / wo, p % wo)];
      if (s.dir == ConvDir::bwd_data) {
        sgemm(gemm_of(P, CRS, kg, false, false), sc.yt.data(), sc.wg.data(), sc.col.data());  // [P][CRS]
        col2im(s, sc.col.data(), n, g * cg, out);
      } else {
        im2col(s, in0, n, g * cg, sc.col.data());
        sgemm(gemm_of(kg, CRS, P, true, false), sc.yt.data(), sc.col.data(), sc.wg.data());  // [kg][CRS]
        for (size_t i = 0; i < sc.acc.size(); ++i) sc.acc[i] += sc.wg[i];
      }
    }
    if (s.dir == ConvDir::bwd_filter)
      for (int64_t k = 0; k < kg; ++k)
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t r = 0; r < s.r; ++r)
            for (int64_t t = 0; t < s.s; ++t)
              out[s.index(ConvTensor::w, g * kg + k, c, r, t)] = sc.acc[size_t(k * CRS + (c * s.r + r) * s.s + t)];
  }
}

namespace {

// One layer of a run: its operands and kernel, filled and verified.
struct PreparedConv {
  ConvSpec s;
  std::vector<float> a, b, c;
  Kernel kernel;
  Verification verify;
};

void prepare(PreparedConv& p, const std::string& backend, const ConvFactory& factory) {
  const ConvSpec& s = p.s;
  const double P = double(s.ho()) * double(s.wo()), CRS = double(s.cg()) * double(s.r) * double(s.s);
  // the tensors, then the scratch: im2col's buffer, the output's (images_per_gemm of each) and the filters'
  const double nb = double(images_per_gemm(s));
  require_host_memory(s.bytes() + 4.0 * (nb * P * (CRS + double(s.kg())) + 2.0 * double(s.kg()) * CRS),
                      backend + " " + s.describe());
  try {
    p.a.resize(size_t(s.elems(s.in0())));
    p.b.resize(size_t(s.elems(s.in1())));
    p.c.assign(size_t(s.elems(s.out())), std::numeric_limits<float>::quiet_NaN());
  } catch (const std::bad_alloc&) {
    throw OutOfMemoryError("cpu conv needs " + std::to_string(s.bytes() / 1e9) +
                           " GB of host memory (plus its im2col buffer), which could not be allocated");
  }
  const uint64_t sa = operand_seed(s.seed, 0), sb = operand_seed(s.seed, 1);
  for (size_t i = 0; i < p.a.size(); ++i) p.a[i] = uniform_pm1(sa, i);
  for (size_t i = 0; i < p.b.size(); ++i) p.b[i] = uniform_pm1(sb, i);

  p.kernel = factory(s, p.a.data(), p.b.data(), p.c.data());
  p.kernel.run();
  if (p.kernel.fetch) p.kernel.fetch();

  Verification& v = p.verify;
  v.tolerance = conv_tolerance(s.dtype);
  for (float x : p.c) v.nonfinite += !std::isfinite(x);
  const std::vector<int64_t> probe = make_conv_probe(s);
  std::vector<float> got;
  got.reserve(probe.size());
  for (int64_t i : probe) got.push_back(p.c[size_t(i)]);
  v.rel_error = conv_probe_error(s, probe, p.a.data(), p.b.data(), got.data());
  v.checked = int64_t(probe.size());
  require_passed(v, backend + " " + s.describe());
}

}  // namespace

RunResult run_conv(const std::vector<ConvSpec>& chain, const StopRule& rule, bool cold, const std::string& backend,
                   const ConvFactory& factory) {
  if (chain.empty()) throw std::invalid_argument("run_conv: no convolution given");
  for (const ConvSpec& s : chain) {
    s.validate();
    if (s.dtype != DType::f32)
      throw UnsupportedError("the " + backend + " backend runs dtype fp32 only, not " + dtype_name(s.dtype));
  }
  rule.validate();
  std::vector<PreparedConv> layers(chain.size());
  Verification worst;
  for (size_t i = 0; i < chain.size(); ++i) {
    layers[i].s = chain[i];
    prepare(layers[i], backend, factory);
    merge_check(worst, layers[i].verify);
  }
  std::string algos;  // each layer's, ';'-separated as the CUDA runner reports a chain
  for (size_t i = 0; i < chain.size(); ++i) algos += (i ? ";" : "") + layers[i].kernel.algo;
  return time_verified(
      [&] {
        for (auto& l : layers) l.kernel.run();
      },
      rule, cold, worst, "algo", algos, backend);
}

}  // namespace am::cpu
