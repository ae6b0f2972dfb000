#include "cpu/backend.hpp"

#include <memory>
#include <stdexcept>

#include "common/errors.hpp"
#include "cpu/conv.hpp"
#include "cpu/gemm.hpp"

namespace am::cpu {
namespace {

[[noreturn]] void unknown(const std::string& op, const std::string& name, const char* allowed) {
  throw std::invalid_argument("cpu " + op + " backend '" + name + "' is not allowed: expected one of " + allowed);
}

}  // namespace

GemmBackend gemm_backend(const std::string& name, const std::string& library) {
  if (name == "cpu") return fp32_gemm("cpu", sgemm_kernel(), sgemm);
  if (name == "openblas") return openblas_gemm(library);
  if (name == "onednn") return onednn_gemm(library);
  unknown("gemm", name, "cpu, openblas, onednn");
}

ConvFactory conv_backend(const std::string& name, const std::string& library) {
  if (name == "cpu")
    return [](const ConvSpec& s, const float* in0, const float* in1, float* out) {
      auto scratch = std::make_shared<ConvScratch>();
      return Kernel{[=] { conv(s, in0, in1, out, *scratch); }, {}, "im2col+sgemm"};
    };
  if (name == "onednn")
    return [library](const ConvSpec& s, const float* in0, const float* in1, float* out) {
      return onednn_conv(library, s, in0, in1, out);
    };
  unknown("conv", name, "cpu, onednn");
}

std::string vendor_version(const std::string& name, const std::string& library) {
  if (name == "openblas") return openblas_version(library);
  if (name == "onednn") return onednn_version(library);
  unknown("vendor library", name, "openblas, onednn");
}

}  // namespace am::cpu
