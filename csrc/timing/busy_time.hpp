// Device time per sample from device records (CUPTI's kernel, memset and memcpy spans), in one place so that the
// CPU tests check it (aimatrix._core.busy_time_ns) as the CUPTI timer uses it (csrc/cuda/cupti_timer.cpp).
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace am {

// One device record: where it ran, the API call that enqueued it, its start and end (ns).
struct DeviceSpan {
  uint32_t context, stream, correlation;
  uint64_t start, end;
};

// A record from outside CUPTI (the tests' input), checked: one that ends before it starts is refused.
inline DeviceSpan checked_span(uint32_t context, uint32_t stream, uint32_t correlation, uint64_t start, uint64_t end) {
  if (end < start)
    throw std::invalid_argument("a span ends (" + std::to_string(end) + ") before it starts (" + std::to_string(start) +
                                ")");
  return {context, stream, correlation, start, end};
}

// {tag: ns} for the records whose correlation id `tag_of` maps to a tag. Work on one stream runs one operation
// after another, so each moment of a stream's busy time is given to one record: the earliest-started one covering
// it. A record that starts before the one ahead of it ended (the same activity reported twice; kernels that
// overlap by programmatic dependent launch) counts after it, and an untagged record (the L2 flush) keeps its own
// time. Every tag with a record is in the result, 0 where its records were covered.
inline std::unordered_map<uint64_t, uint64_t> busy_ns_by_tag(std::vector<DeviceSpan> spans,
                                                             const std::unordered_map<uint32_t, uint64_t>& tag_of) {
  std::sort(spans.begin(), spans.end(), [](const DeviceSpan& a, const DeviceSpan& b) {
    return std::tie(a.context, a.stream, a.start, a.end) < std::tie(b.context, b.stream, b.start, b.end);
  });
  std::unordered_map<uint64_t, uint64_t> ns;
  uint64_t busy_until = 0;  // end of the stream's work so far
  for (size_t i = 0; i < spans.size(); ++i) {
    const DeviceSpan& s = spans[i];
    if (!i || spans[i - 1].context != s.context || spans[i - 1].stream != s.stream) busy_until = 0;
    const uint64_t from = std::max(s.start, busy_until);
    busy_until = std::max(busy_until, s.end);
    auto it = tag_of.find(s.correlation);
    if (it != tag_of.end()) ns[it->second] += s.end > from ? s.end - from : 0;
  }
  return ns;
}

}  // namespace am
