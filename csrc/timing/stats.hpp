// Statistics of a set of timing samples, and the median's confidence interval.
#pragma once
#include <vector>

namespace am {

struct Stats {
  int n = 0;
  double median = 0, mean = 0, min = 0, max = 0, stdev = 0, p10 = 0, p90 = 0;
  // Distribution-free 95% confidence interval of the median (order statistics),
  // and its half-width relative to the median (infinite below 6 samples).
  double ci_lo = 0, ci_hi = 0, rel_ci = 0;
};

Stats compute_stats(std::vector<double> samples);

// Linear-interpolated quantile q in [0, 1] of sorted values.
double quantile_sorted(const std::vector<double>& sorted, double q);

}  // namespace am
