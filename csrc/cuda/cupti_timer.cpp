#include "cuda/cupti_timer.hpp"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdlib>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "timing/busy_time.hpp"

#if AM_HAVE_CUPTI
#include <cupti_activity.h>
#include <cupti_result.h>
#include <cupti_version.h>
#if CUPTI_API_VERSION < 130000
#undef AM_HAVE_CUPTI
#define AM_HAVE_CUPTI 0
#define AM_CUPTI_TOO_OLD 1
#endif
#endif

namespace am::cuda::cupti {

#if AM_HAVE_CUPTI
namespace {

struct Api {
  void* lib = nullptr;
  std::string error;
  decltype(&cuptiActivityRegisterCallbacks) register_callbacks = nullptr;
  decltype(&cuptiActivityEnable) enable = nullptr;
  decltype(&cuptiActivityDisable) disable = nullptr;
  decltype(&cuptiActivityFlushAll) flush_all = nullptr;
  decltype(&cuptiActivityGetNextRecord) next_record = nullptr;
  decltype(&cuptiActivityPushExternalCorrelationId) push_ext = nullptr;
  decltype(&cuptiActivityPopExternalCorrelationId) pop_ext = nullptr;
  decltype(&cuptiActivityGetNumDroppedRecords) dropped = nullptr;
  decltype(&cuptiGetResultString) result_string = nullptr;
  decltype(&cuptiActivityRegisterTimestampCallback) register_clock = nullptr;
};

Api load() {
  Api a;
  const std::string soname = "libcupti.so." + std::to_string(CUDART_VERSION / 1000);
  std::string why;
  const char* names[] = {std::getenv("AIMATRIX_CUPTI_LIBRARY"), soname.c_str(), "libcupti.so"};
  for (const char* name : names) {
    if (!name || !*name) continue;
    a.lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (a.lib) break;
    if (why.empty()) why = dlerror();
  }
  if (!a.lib) {
    a.error = "the CUPTI library (" + soname + ") could not be loaded: " + why +
              " (pip install nvidia-cuda-cupti, or a CUDA toolkit's CUPTI on the loader path)";
    return a;
  }
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(a.lib, name));
    if (!fn && a.error.empty()) a.error = std::string("the CUPTI library has no ") + name;
  };
  sym(a.register_callbacks, "cuptiActivityRegisterCallbacks");
  sym(a.enable, "cuptiActivityEnable");
  sym(a.disable, "cuptiActivityDisable");
  sym(a.flush_all, "cuptiActivityFlushAll");
  sym(a.next_record, "cuptiActivityGetNextRecord");
  sym(a.push_ext, "cuptiActivityPushExternalCorrelationId");
  sym(a.pop_ext, "cuptiActivityPopExternalCorrelationId");
  sym(a.dropped, "cuptiActivityGetNumDroppedRecords");
  sym(a.result_string, "cuptiGetResultString");
  sym(a.register_clock, "cuptiActivityRegisterTimestampCallback");
  return a;
}

Api& api() {
  static Api a = load();
  return a;
}

std::string str(CUptiResult r) {
  const char* s = nullptr;
  if (api().result_string && api().result_string(r, &s) == CUPTI_SUCCESS && s) return s;
  return "CUPTI error " + std::to_string(int(r));
}

// What the buffer callbacks collect; they run on CUPTI's thread or inside flush_all.
struct Collector {
  std::mutex mu;
  std::unordered_map<uint32_t, uint64_t> ext_of;  // API correlation id -> our id
  std::vector<DeviceSpan> spans;                  // every device record since the last take, ours or not
  bool active = false;
  uint64_t next_id = 1;
};

Collector& collector() {
  static Collector c;
  return c;
}

// Our external correlation stack: torch.profiler's kineto pushes ids of its own on CUSTOM0 (ops) and CUSTOM1
// (annotations); a stack of our own keeps its ids and ours apart.
constexpr CUpti_ExternalCorrelationKind kOurKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM2;

constexpr size_t kBufferBytes = size_t(8) << 20;

// The clock CUPTI stamps records with, in nanoseconds. torch.profiler's kineto registers its own clock, the CPU's
// time-stamp counter in ticks, and leaves it in place: after it had run, every duration read the TSC's rate in
// GHz times too long (a 256 MiB copy 0.376 ms against 0.179 ms before and 0.181 ms by events, hot or cold; H100,
// 2026-12-07). Registered at every start, as kineto registers its own at each of its starts.
uint64_t CUPTIAPI clock_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000000u + uint64_t(t.tv_nsec);
}

void CUPTIAPI on_request(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;
}

template <typename Record>
void add_span(Collector& c, const CUpti_Activity* rec) {
  const auto* k = reinterpret_cast<const Record*>(rec);
  c.spans.push_back({k->contextId, k->streamId, k->correlationId, k->start, k->end});
}

void CUPTIAPI on_complete(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  Collector& c = collector();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    CUpti_Activity* rec = nullptr;
    while (valid && api().next_record(buffer, valid, &rec) == CUPTI_SUCCESS) {
      switch (rec->kind) {
        case CUPTI_ACTIVITY_KIND_KERNEL:
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: add_span<CUpti_ActivityKernel10>(c, rec); break;
        case CUPTI_ACTIVITY_KIND_MEMSET: add_span<CUpti_ActivityMemset4>(c, rec); break;
        case CUPTI_ACTIVITY_KIND_MEMCPY: add_span<CUpti_ActivityMemcpy6>(c, rec); break;
        case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
          const auto* e = reinterpret_cast<const CUpti_ActivityExternalCorrelation*>(rec);
          if (e->externalKind == kOurKind) c.ext_of[e->correlationId] = e->externalId;
          break;
        }
        default: break;
      }
    }
  }
  std::free(buffer);
}

// The device work, and the API records that external correlation needs (cuBLAS and
// cuDNN launch through the driver API, the rest through the runtime).
constexpr CUpti_ActivityKind kKinds[] = {
    CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,    CUPTI_ACTIVITY_KIND_MEMSET,  CUPTI_ACTIVITY_KIND_MEMCPY,
    CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER};

}  // namespace

std::string start() {
  Api& a = api();
  if (!a.error.empty()) return a.error;
  Collector& c = collector();
  if (c.active) return "";
  // Registered at every start: a profiler in the same process (torch.profiler shares the library) may
  // have put its own callbacks in place since the last one.
  const CUptiResult reg = a.register_callbacks(on_request, on_complete);
  if (reg != CUPTI_SUCCESS) return "CUPTI refused its buffer callbacks: " + str(reg);
  const CUptiResult clk = a.register_clock(clock_ns);
  if (clk != CUPTI_SUCCESS) return "CUPTI refused aimatrix's nanosecond clock: " + str(clk);
  for (size_t i = 0; i < std::size(kKinds); ++i) {
    const CUptiResult r = a.enable(kKinds[i]);
    if (r != CUPTI_SUCCESS) {
      for (size_t j = 0; j < i; ++j) a.disable(kKinds[j]);
      std::string why = "CUPTI could not enable activity kind " + std::to_string(int(kKinds[i])) + ": " + str(r);
      if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED || r == CUPTI_ERROR_NOT_COMPATIBLE)
        why += " (another profiler, e.g. Nsight or torch.profiler, already holds CUPTI)";
      return why;
    }
  }
  c.active = true;
  return "";
}

void stop() {
  Collector& c = collector();
  if (!c.active) return;
  api().flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  for (auto k : kKinds) api().disable(k);
  std::lock_guard<std::mutex> lock(c.mu);
  c.ext_of.clear();
  c.spans.clear();
  c.active = false;
}

uint64_t push() {
  Collector& c = collector();
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    id = c.next_id++;
  }
  const CUptiResult r = api().push_ext(kOurKind, id);
  if (r != CUPTI_SUCCESS) throw std::runtime_error("cuptiActivityPushExternalCorrelationId: " + str(r));
  return id;
}

void pop(uint64_t expected) {
  uint64_t id = 0;
  const CUptiResult r = api().pop_ext(kOurKind, &id);
  // Anything else on top of the stack would tag the next sample's L2 flush with this sample's id.
  if (r != CUPTI_SUCCESS || id != expected)
    throw std::runtime_error("CUPTI's external correlation stack is not ours (popped " + std::to_string(id) +
                             ", pushed " + std::to_string(expected) + ": " + str(r) +
                             "; another profiler in this process?): use timer='events'");
}

std::vector<double> take_ms(const std::vector<uint64_t>& ids) {
  Api& a = api();
  const CUptiResult r = a.flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  if (r != CUPTI_SUCCESS) throw std::runtime_error("cuptiActivityFlushAll: " + str(r));
  size_t dropped = 0;
  if (a.dropped(nullptr, 0, &dropped) == CUPTI_SUCCESS && dropped > 0)
    throw std::runtime_error("CUPTI dropped " + std::to_string(dropped) + " activity records: the sums would be short");
  Collector& c = collector();
  std::lock_guard<std::mutex> lock(c.mu);
  const std::unordered_map<uint64_t, uint64_t> ns = busy_ns_by_tag(std::move(c.spans), c.ext_of);  // our id -> ns
  // Everything before this flush is complete: untagged work (the L2 flush) and API calls without device work go.
  c.spans.clear();
  c.ext_of.clear();
  std::vector<double> out;
  out.reserve(ids.size());
  for (uint64_t id : ids) {
    auto it = ns.find(id);
    if (it == ns.end())
      throw std::runtime_error("CUPTI recorded no kernel, memset or memcpy for a sample (id " + std::to_string(id) +
                               "): the launch enqueued no device work CUPTI could see");
    out.push_back(double(it->second) / 1e6);
  }
  return out;
}

#else  // built without CUPTI's headers

std::string start() {
#ifdef AM_CUPTI_TOO_OLD
  return "aimatrix was built with CUPTI headers older than CUDA 13: rebuild against CUDA 13's CUPTI";
#else
  return "aimatrix was built without CUPTI's headers (pip install nvidia-cuda-cupti, then rebuild)";
#endif
}
void stop() {}
uint64_t push() { throw std::logic_error("CUPTI is not available"); }
void pop(uint64_t) {}
std::vector<double> take_ms(const std::vector<uint64_t>&) { throw std::logic_error("CUPTI is not available"); }

#endif

}  // namespace am::cuda::cupti
