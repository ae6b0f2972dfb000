#include "cuda/context.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "cuda/blas_check.hpp"
#include "cuda/check.hpp"
#include "cuda/l2_flush.hpp"

namespace am::cuda {

[[noreturn]] void throw_cublas(cublasStatus_t s, const char* expr, const char* file, int line) {
  std::ostringstream os;
  os << cublasGetStatusName(s) << ": " << cublasGetStatusString(s) << " (in " << expr << " at " << file << ":" << line
     << ")";
  if (s == CUBLAS_STATUS_NOT_SUPPORTED) throw UnsupportedError(os.str());
  if (s == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemoryError(os.str());
  throw CudaError(cublasGetStatusName(s), os.str());
}

namespace {
constexpr size_t kWorkspaceBytes = size_t(64) << 20;  // cuBLASLt on Hopper wants >= 32 MiB

std::string format_uuid(const cudaUUID_t& u) {
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  char s[64];
  std::snprintf(s, sizeof s, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}
}  // namespace

Context::Context(int device) {
  facts_.index = device;
  cudaDeviceProp p{};
  AM_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  facts_.name = p.name;
  facts_.uuid = format_uuid(p.uuid);
  char pci[32] = {0};
  AM_CUDA_CHECK(cudaDeviceGetPCIBusId(pci, sizeof pci, device));
  facts_.pci_bus_id = pci;
  facts_.cc_major = p.major;
  facts_.cc_minor = p.minor;
  facts_.sm_count = p.multiProcessorCount;
  AM_CUDA_CHECK(cudaDeviceGetAttribute(&facts_.clock_khz, cudaDevAttrClockRate, device));
  AM_CUDA_CHECK(cudaDeviceGetAttribute(&facts_.mem_clock_khz, cudaDevAttrMemoryClockRate, device));
  AM_CUDA_CHECK(cudaDeviceGetAttribute(&facts_.bus_width_bits, cudaDevAttrGlobalMemoryBusWidth, device));
  facts_.l2_bytes = size_t(p.l2CacheSize);
  facts_.total_mem = p.totalGlobalMem;
  facts_.smem_per_block_optin = p.sharedMemPerBlockOptin;
  AM_CUDA_CHECK(cudaDriverGetVersion(&facts_.driver_version));
  AM_CUDA_CHECK(cudaRuntimeGetVersion(&facts_.runtime_version));
  int maj = 0, min = 0, pat = 0;
  AM_CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &maj));
  AM_CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &min));
  AM_CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &pat));
  facts_.cublas_version = maj * 10000 + min * 100 + pat;
  facts_.cublaslt_version = cublasLtGetVersion();
  AM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  workspace_ = DeviceBuffer(kWorkspaceBytes);
  // Twice the L2, and at least the 256 MB that triton's do_bench zeroes: the flush also sets how
  // much low-power memory work sits between the timed kernels, which moves a power-capped GPU's
  // clock (a 4096^3 bf16 GEMM ran 5% slower between 100 MB flushes than between 256 MB ones).
  flush_ = DeviceBuffer(std::max<size_t>(2 * facts_.l2_bytes, size_t(256) << 20));
  AM_CUDA_CHECK(cudaMemset(flush_.get(), 0, flush_.bytes()));  // flush_l2_by_reading's zeros
}

Context::~Context() {
  if (blas_) cublasDestroy(blas_);
  if (lt_) cublasLtDestroy(lt_);
  if (stream_) cudaStreamDestroy(stream_);
}

Context& Context::get(int device) {
  // Contexts live until the process ends and are never destroyed: tearing down
  // CUDA handles during interpreter exit races the runtime's own teardown.
  static std::mutex mu;
  static std::map<int, Context*>& all = *std::make_unique<std::map<int, Context*>>().release();
  AM_CUDA_CHECK(cudaSetDevice(device));
  std::lock_guard<std::mutex> lock(mu);
  auto it = all.find(device);
  if (it != all.end()) return *it->second;
  std::unique_ptr<Context> c(new Context(device));
  return *(all[device] = c.release());
}

cublasHandle_t Context::blas() {
  if (!blas_) {
    AM_CUBLAS_CHECK(cublasCreate(&blas_));
    AM_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
    // An explicit workspace keeps cuBLAS from allocating inside graph capture.
    AM_CUBLAS_CHECK(cublasSetWorkspace(blas_, workspace_.get(), workspace_.bytes()));
  }
  return blas_;
}

cublasLtHandle_t Context::lt() {
  if (!lt_) AM_CUBLAS_CHECK(cublasLtCreate(&lt_));
  return lt_;
}

void Context::flush_l2(cudaStream_t s) {
  flush_l2_by_reading(flush_.get(), flush_.bytes(), facts_.sm_count, s);
  // Trial (issue 16): also evict the instruction caches, as Nsight Compute's cold replays do. Read per call so
  // that one process can time both ways.
  const char* icache = std::getenv("AIMATRIX_COLD_ICACHE");
  const std::string on = icache ? icache : "";
  if (on != "" && on != "0" && on != "1")
    throw std::invalid_argument("AIMATRIX_COLD_ICACHE='" + on + "' is not allowed: 0 (off, the default) or 1 (on)");
  if (on == "1") {
    if (!sink_.get()) sink_ = DeviceBuffer(256);
    evict_icache(sink_.get(), facts_.sm_count, s);
  }
}

}  // namespace am::cuda
