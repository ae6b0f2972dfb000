// The outcome of checking a benchmark's output against its reference, and the
// one rule for what passes. Every runner checks before it times.
#pragma once
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "common/errors.hpp"

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

// Seeds for the separate operands of one benchmark, derived from the user's seed.
inline uint64_t operand_seed(uint64_t seed, int operand) { return seed * 16 + uint64_t(operand) + 1; }

}  // namespace am
