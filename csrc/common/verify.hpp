// The outcome of checking a benchmark's output against its reference, and the
// one rule for what passes. Every runner checks before it times.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/rng.hpp"

namespace am {

struct Verification {
  double rel_error = 0;  // ||out - ref|| / ||ref|| over the checked elements
  double tolerance = 0;
  int64_t checked = 0;    // output elements compared with the reference
  int64_t nonfinite = 0;  // NaN/Inf anywhere in the output (it is poisoned with NaN before the run)
  bool passed() const { return nonfinite == 0 && std::isfinite(rel_error) && rel_error <= tolerance; }
};

// Throws VerificationError with the figures when the check failed.
inline const Verification& require_passed(const Verification& v, const std::string& what) {
  if (v.passed()) return v;
  std::ostringstream os;
  os << what << " failed verification: relative error " << v.rel_error << " (tolerance " << v.tolerance << ") over "
     << v.checked << " checked elements, " << v.nonfinite << " non-finite or unwritten outputs";
  throw VerificationError(os.str());
}

// Adds one part's check to a whole's (a chain of layers): the worst error, every checked and
// non-finite element counted.
inline void merge_check(Verification& whole, const Verification& part) {
  whole.tolerance = part.tolerance;
  whole.rel_error = std::fmax(whole.rel_error, part.rel_error);
  whole.nonfinite += part.nonfinite;
  whole.checked += part.checked;
}

// ||out - ref|| / ||ref|| over sampled output elements, summed one element at a time.
class RelError {
 public:
  // Adds one element; false when `got` is not finite (the caller's error is then infinite).
  bool add(double got, double want) {
    if (!std::isfinite(got)) return false;
    err2_ += (got - want) * (got - want);
    ref2_ += want * want;
    return true;
  }
  // 0 when output and reference are all zero; infinite for errors against an all-zero reference.
  double value() const {
    if (ref2_ == 0.0) return err2_ == 0.0 ? 0.0 : INFINITY;
    return std::sqrt(err2_ / ref2_);
  }

 private:
  double err2_ = 0.0, ref2_ = 0.0;
};

// Distinct indices drawn from [0, extent), at most `count`, sorted, always including the first and
// last (edge tiles are where kernels go wrong); `salt` keeps the draws of different probes apart.
inline std::vector<int64_t> distinct_picks(int64_t extent, int count, uint64_t seed, uint64_t salt) {
  std::vector<int64_t> v;
  if (extent <= count) {
    v.resize(size_t(extent));
    std::iota(v.begin(), v.end(), 0);
    return v;
  }
  v.push_back(0);
  v.push_back(extent - 1);
  uint64_t i = 0;
  while (int(v.size()) < count) {
    const int64_t x = int64_t(splitmix64(seed ^ (salt + i++)) % uint64_t(extent));
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  return v;
}

// Seeds for the separate operands of one benchmark, derived from the user's seed.
inline uint64_t operand_seed(uint64_t seed, int operand) { return seed * 16 + uint64_t(operand) + 1; }

}  // namespace am
