#pragma once
#include <functional>

#include "timing/measure.hpp"

namespace am::cuda {
int device_count();  // 0 when there is no driver or no device (never throws)
// Time a host callable that launches device work on `stream` (0 = legacy default stream).
Measurement measure_callable(int device, long long stream, bool cold, std::function<void()> fn, const StopRule& rule);
}  // namespace am::cuda
