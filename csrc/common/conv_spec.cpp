#include "common/conv_spec.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "common/names.hpp"
#include "common/rng.hpp"
#include "common/verify.hpp"

namespace am {

namespace {
const Named<ConvDir> kDirs[] = {
    {ConvDir::fwd, "fwd"}, {ConvDir::bwd_data, "bwd_data"}, {ConvDir::bwd_filter, "bwd_filter"}};
const Named<Layout> kLayouts[] = {{Layout::nchw, "nchw"}, {Layout::nhwc, "nhwc"}};
}  // namespace

ConvDir parse_conv_dir(const std::string& name) { return parse_name("direction", name, kDirs); }

Layout parse_layout(const std::string& name) { return parse_name("layout", name, kLayouts); }

const char* conv_dir_name(ConvDir d) { return name_of(d, kDirs); }

const char* layout_name(Layout l) { return name_of(l, kLayouts); }

std::array<int64_t, 4> ConvSpec::dims(ConvTensor t) const {
  switch (t) {
    case ConvTensor::x: return {n, c, h, w};
    case ConvTensor::w: return {k, cg(), r, s};
    case ConvTensor::y: return {n, k, ho(), wo()};
  }
  return {0, 0, 0, 0};
}

int64_t ConvSpec::elems(ConvTensor t) const {
  const auto d = dims(t);
  return d[0] * d[1] * d[2] * d[3];
}

// NCHW-like storage keeps the logical order; NHWC-like moves dim 1 innermost.
int64_t ConvSpec::index(ConvTensor t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) const {
  const auto d = dims(t);
  if (layout == Layout::nchw) return ((i0 * d[1] + i1) * d[2] + i2) * d[3] + i3;
  return ((i0 * d[2] + i2) * d[3] + i3) * d[1] + i1;
}

std::array<int64_t, 4> ConvSpec::coords(ConvTensor t, int64_t off) const {
  const auto d = dims(t);
  // The dims from the innermost in storage to the outermost (as index() lays them out).
  static constexpr int kNchw[4] = {3, 2, 1, 0}, kNhwc[4] = {1, 3, 2, 0};
  const int* order = layout == Layout::nchw ? kNchw : kNhwc;
  std::array<int64_t, 4> c{};
  for (int j = 0; j < 3; ++j) {
    c[order[j]] = off % d[order[j]];
    off /= d[order[j]];
  }
  c[order[3]] = off;
  return c;
}

double ConvSpec::flops() const {
  return 2.0 * double(n) * double(k) * double(ho()) * double(wo()) * double(cg()) * double(r) * double(s);
}

double ConvSpec::bytes() const {
  const double in = double(storage_bytes(input_storage(dtype))), out = double(storage_bytes(output_storage(dtype)));
  return in * double(elems(in0()) + elems(in1())) + out * double(elems(this->out()));
}

void ConvSpec::validate() const {
  auto bad = [](const std::string& msg) { throw std::invalid_argument(msg); };
  const std::pair<const char*, int64_t> pos[] = {{"n", n}, {"c", c}, {"h", h}, {"w", w},
                                                 {"k", k}, {"r", r}, {"s", s}, {"groups", groups}};
  for (auto [name, v] : pos)
    if (v < 1) bad(std::string(name) + "=" + std::to_string(v) + " is not allowed: it must be a positive integer");
  const std::pair<const char*, int64_t> strides[] = {
      {"stride", stride_h}, {"stride", stride_w}, {"dilation", dil_h}, {"dilation", dil_w}};
  for (auto [name, v] : strides)
    if (v < 1) bad(std::string(name) + "=" + std::to_string(v) + " is not allowed: it must be a positive integer");
  if (pad_h < 0 || pad_w < 0)
    bad("pad=" + std::to_string(std::min(pad_h, pad_w)) + " is not allowed: it must be an integer >= 0");
  if (c % groups || k % groups) {
    std::ostringstream os;
    os << "groups=" << groups << " is not allowed: it must divide both c=" << c << " and k=" << k;
    bad(os.str());
  }
  const int64_t er = dil_h * (r - 1) + 1, es = dil_w * (s - 1) + 1;
  if (er > h + 2 * pad_h || es > w + 2 * pad_w) {
    std::ostringstream os;
    os << "filter " << r << "x" << s << " (dilation " << dil_h << "x" << dil_w << ", extent " << er << "x" << es
       << ") is larger than the padded input " << h + 2 * pad_h << "x" << w + 2 * pad_w
       << ": the output would be empty";
    bad(os.str());
  }
  for (ConvTensor t : {ConvTensor::x, ConvTensor::w, ConvTensor::y}) {
    const auto d = dims(t);
    if (double(d[0]) * double(d[1]) * double(d[2]) * double(d[3]) > 4e18)
      bad("conv shape overflows 64-bit element counts");
  }
}

std::string ConvSpec::describe() const {
  std::ostringstream os;
  os << conv_dir_name(dir) << " conv n=" << n << " c=" << c << " h=" << h << " w=" << w << " k=" << k << " r=" << r
     << " s=" << s << " stride=" << stride_h << "x" << stride_w << " pad=" << pad_h << "x" << pad_w
     << " dilation=" << dil_h << "x" << dil_w << " groups=" << groups << " " << layout_name(layout) << " "
     << dtype_name(dtype);
  return os.str();
}

double conv_tolerance(DType d) { return gemm_tolerance(d); }

std::vector<int64_t> make_conv_probe(const ConvSpec& s, int max_count) {
  // Multiply-adds one probed output costs to recompute.
  const double cost = s.dir == ConvDir::fwd        ? double(s.cg() * s.r * s.s)
                      : s.dir == ConvDir::bwd_data ? double(s.kg() * s.r * s.s)
                                                   : double(s.n * s.ho() * s.wo());
  const int64_t total = s.elems(s.out());
  const int want = int(std::clamp<double>(4e7 / std::max(cost, 1.0), 16, max_count));
  return distinct_picks(total, want, s.seed, 0xC0FFEEull);
}

namespace {

// Reference value of one output element, in float64.
struct Ref {
  const ConvSpec& s;
  Storage st;
  size_t eb;
  const uint8_t* a;  // in0
  const uint8_t* b;  // in1
  double ld(const uint8_t* p, int64_t off) const { return load_as_double(st, p + size_t(off) * eb); }

  double operator()(const std::array<int64_t, 4>& o) const {
    const int64_t cg = s.cg(), kg = s.kg(), ho = s.ho(), wo = s.wo();
    double acc = 0.0;
    if (s.dir == ConvDir::fwd) {  // y(n, k, p, q)
      const int64_t n = o[0], k = o[1], p = o[2], q = o[3], g = k / kg;
      for (int64_t c = 0; c < cg; ++c)
        for (int64_t r = 0; r < s.r; ++r) {
          const int64_t hh = p * s.stride_h - s.pad_h + r * s.dil_h;
          if (hh < 0 || hh >= s.h) continue;
          for (int64_t t = 0; t < s.s; ++t) {
            const int64_t ww = q * s.stride_w - s.pad_w + t * s.dil_w;
            if (ww < 0 || ww >= s.w) continue;
            acc += ld(a, s.index(ConvTensor::x, n, g * cg + c, hh, ww)) * ld(b, s.index(ConvTensor::w, k, c, r, t));
          }
        }
    } else if (s.dir == ConvDir::bwd_data) {  // dx(n, c, hh, ww)
      const int64_t n = o[0], c = o[1], hh = o[2], ww = o[3], g = c / cg;
      for (int64_t kk = g * kg; kk < (g + 1) * kg; ++kk)
        for (int64_t r = 0; r < s.r; ++r) {
          const int64_t ph = hh + s.pad_h - r * s.dil_h;
          if (ph < 0 || ph % s.stride_h) continue;
          const int64_t p = ph / s.stride_h;
          if (p >= ho) continue;
          for (int64_t t = 0; t < s.s; ++t) {
            const int64_t qw = ww + s.pad_w - t * s.dil_w;
            if (qw < 0 || qw % s.stride_w) continue;
            const int64_t q = qw / s.stride_w;
            if (q >= wo) continue;
            acc += ld(a, s.index(ConvTensor::y, n, kk, p, q)) * ld(b, s.index(ConvTensor::w, kk, c - g * cg, r, t));
          }
        }
    } else {  // dw(k, c, r, t)
      const int64_t k = o[0], c = o[1], r = o[2], t = o[3], g = k / kg;
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t p = 0; p < ho; ++p) {
          const int64_t hh = p * s.stride_h - s.pad_h + r * s.dil_h;
          if (hh < 0 || hh >= s.h) continue;
          for (int64_t q = 0; q < wo; ++q) {
            const int64_t ww = q * s.stride_w - s.pad_w + t * s.dil_w;
            if (ww < 0 || ww >= s.w) continue;
            acc += ld(b, s.index(ConvTensor::y, n, k, p, q)) * ld(a, s.index(ConvTensor::x, n, g * cg + c, hh, ww));
          }
        }
    }
    return acc;
  }
};

}  // namespace

double conv_probe_error(const ConvSpec& s, const std::vector<int64_t>& probe, const void* in0, const void* in1,
                        const void* out_probed) {
  const Storage in = input_storage(s.dtype), out = output_storage(s.dtype);
  const Ref ref{s, in, storage_bytes(in), static_cast<const uint8_t*>(in0), static_cast<const uint8_t*>(in1)};
  const auto* o = static_cast<const uint8_t*>(out_probed);
  const size_t ob = storage_bytes(out);
  RelError e;
  for (size_t i = 0; i < probe.size(); ++i)
    if (!e.add(load_as_double(out, o + i * ob), ref(s.coords(s.out(), probe[i])))) return INFINITY;
  return e.value();
}

}  // namespace am
