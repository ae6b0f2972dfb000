// Kernel durations from CUPTI's activity API: the device's own start/end timestamps of
// every kernel, memset and memcpy enqueued by the CUDA calls made between push() and
// pop() on this thread (an external correlation id tags them), summed per id. The
// library is loaded at run time (libcupti.so.<major>, which aimatrix preloads from the
// nvidia-cuda-cupti wheel or a toolkit), so the module never needs it to import.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace am::cuda::cupti {

// Start collecting (loads the library on first use). "" when it runs, else why not:
// no library, built without CUPTI headers, or another profiler already subscribed.
std::string start();
// Stop collecting (after a final flush); records not yet taken are dropped.
void stop();
// Tag the CUDA calls this thread makes until pop() with a fresh id; returns it.
uint64_t push();
void pop(uint64_t pushed);  // throws when the id on top of the stack is not `pushed`
// Flush completed device records (after the work has been synchronised); then the
// summed duration in ms of each id, in the order given. Throws if an id got no record
// or CUPTI dropped records (a sum would then be wrong).
std::vector<double> take_ms(const std::vector<uint64_t>& ids);

}  // namespace am::cuda::cupti
