// What a native runner hands back to Python: the timing, the check, and what ran.
#pragma once
#include <map>
#include <string>

#include "common/verify.hpp"
#include "timing/measure.hpp"

namespace am {

struct RunResult {
  Measurement measurement;
  Verification verify;
  std::string backend;                       // e.g. "cublaslt", "cpu"
  std::map<std::string, std::string> extra;  // algorithm chosen, workspace, kernel name, ...
};

}  // namespace am
