// Counter-based random numbers, identical on host and device: element i of a
// buffer filled with seed s is the same value whichever side fills it.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define AM_HD __host__ __device__ __forceinline__
#else
#define AM_HD inline
#endif

namespace am {

AM_HD uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1), 24 random bits.
AM_HD float uniform_pm1(uint64_t seed, uint64_t i) {
  const uint64_t r = splitmix64(seed * 0x2545F4914F6CDD1Dull + i);
  return static_cast<float>(r >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

// Uniform integer in [-127, 127].
AM_HD int8_t uniform_i8(uint64_t seed, uint64_t i) {
  const uint64_t r = splitmix64(seed * 0x2545F4914F6CDD1Dull + i);
  return static_cast<int8_t>(static_cast<int>(r % 255) - 127);
}

}  // namespace am
