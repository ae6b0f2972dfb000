#include "timing/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace am {

double quantile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) throw std::invalid_argument("quantile of no samples");
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = size_t(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

Stats compute_stats(std::vector<double> x) {
  Stats s;
  s.n = int(x.size());
  if (x.empty()) {
    s.rel_ci = std::numeric_limits<double>::infinity();
    return s;
  }
  std::sort(x.begin(), x.end());
  s.min = x.front();
  s.max = x.back();
  s.median = quantile_sorted(x, 0.5);
  s.p10 = quantile_sorted(x, 0.1);
  s.p90 = quantile_sorted(x, 0.9);
  double sum = 0;
  for (double v : x) sum += v;
  s.mean = sum / double(x.size());
  double ss = 0;
  for (double v : x) ss += (v - s.mean) * (v - s.mean);
  s.stdev = x.size() > 1 ? std::sqrt(ss / double(x.size() - 1)) : 0.0;
  // Ranks n/2 -+ 1.96*sqrt(n)/2 bracket the median with ~95% confidence
  // (normal approximation to the binomial; conservative rounding outward).
  const double n = double(x.size());
  if (x.size() < 6) {
    s.ci_lo = s.min;
    s.ci_hi = s.max;
    s.rel_ci = std::numeric_limits<double>::infinity();
    return s;
  }
  const double h = 1.959963984540054 * std::sqrt(n) / 2.0;
  const long lo = std::max(1L, long(std::floor(n / 2.0 - h)));
  const long hi = std::min(long(n), long(std::ceil(n / 2.0 + h + 1.0)));
  s.ci_lo = x[size_t(lo - 1)];
  s.ci_hi = x[size_t(hi - 1)];
  s.rel_ci = s.median > 0 ? (s.ci_hi - s.ci_lo) / 2.0 / s.median : std::numeric_limits<double>::infinity();
  return s;
}

}  // namespace am
