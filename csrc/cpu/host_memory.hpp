// Refuses, before allocating, what cannot fit in this machine's physical memory: with overcommit an
// allocation beyond it may succeed and the process is killed while the buffers are filled.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/errors.hpp"

namespace am::cpu {

inline double physical_memory_bytes() {  // 0 where the OS does not say
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? double(pages) * double(size) : 0.0;
}

inline void require_host_memory(double bytes, const std::string& what) {
  const double total = physical_memory_bytes();
  if (total > 0 && bytes > total) {
    char msg[160];
    std::snprintf(msg, sizeof msg, " needs %.0f bytes (%.3g GB) of host memory, more than this machine's %.3g GB",
                  bytes, bytes / 1e9, total / 1e9);
    throw OutOfMemoryError(what + msg);
  }
}

}  // namespace am::cpu
