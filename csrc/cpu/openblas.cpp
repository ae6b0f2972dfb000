// OpenBLAS's cblas_sgemm as a GEMM backend. The scipy-openblas32 wheel prefixes its symbols with
// "scipy_"; other OpenBLAS builds export the plain names. CBLAS's enums are the standard's values.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "cpu/backend.hpp"
#include "cpu/dynlib.hpp"

namespace am::cpu {
namespace {

constexpr int RowMajor = 101, NoTrans = 111, Trans = 112;
using sgemm_fn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                          int);

struct OpenBlas {
  DynLib lib;
  sgemm_fn sgemm;
  int (*threads)();
  char* (*config)();
  explicit OpenBlas(const std::string& path)
      : lib(path, "OpenBLAS"),
        sgemm(lib.sym<sgemm_fn>({"scipy_cblas_sgemm", "cblas_sgemm"})),
        threads(lib.sym<int (*)()>({"scipy_openblas_get_num_threads", "openblas_get_num_threads"})),
        config(lib.sym<char* (*)()>({"scipy_openblas_get_config", "openblas_get_config"})) {}
};

const OpenBlas& load(const std::string& path) {
  static std::mutex mu;
  static std::unique_ptr<OpenBlas> lib;  // one per process: the first path wins
  std::lock_guard<std::mutex> lock(mu);
  if (!lib) lib = std::make_unique<OpenBlas>(path);
  return *lib;
}

}  // namespace

GemmBackend openblas_gemm(const std::string& library) {
  const OpenBlas& ob = load(library);
  return fp32_gemm("openblas", "cblas_sgemm, " + std::to_string(ob.threads()) + " threads",
                   [&ob](const GemmSpec& s, const float* a, const float* b, float* c) {
                     if (s.m > INT32_MAX || s.n > INT32_MAX || s.k > INT32_MAX)  // the wheel's 32-bit integer interface
                       throw UnsupportedError("openblas (scipy-openblas32) takes m, n, k up to 2^31 - 1");
                     for (int64_t i = 0; i < s.batch; ++i)
                       ob.sgemm(RowMajor, s.trans_a ? Trans : NoTrans, s.trans_b ? Trans : NoTrans, int(s.m), int(s.n),
                                int(s.k), 1.0f, a + i * s.a_elems(), int(s.trans_a ? s.m : s.k), b + i * s.b_elems(),
                                int(s.trans_b ? s.k : s.n), 0.0f, c + i * s.c_elems(), int(s.n));
                   });
}

std::string openblas_version(const std::string& library) { return load(library).config(); }

}  // namespace am::cpu
