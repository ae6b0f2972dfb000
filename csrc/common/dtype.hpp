// Data type tags and host-side decoding of the stored formats, so reference
// checks (csrc/common/verify) need no CUDA headers.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace am {

// The compute precision a benchmark asks for. Storage follows from it:
// tf32 stores fp32, fp8 stores e4m3 inputs and a bf16 output, int8 an int32 output.
enum class DType : int { f32 = 0, tf32, f16, bf16, fp8, int8 };

// How an element is stored in memory.
enum class Storage : int { f32 = 0, f16, bf16, fp8e4m3, i8, i32 };

DType parse_dtype(const std::string& name);  // throws std::invalid_argument
const char* dtype_name(DType d);
Storage input_storage(DType d);
Storage output_storage(DType d);
size_t storage_bytes(Storage s);
const char* storage_name(Storage s);

// Relative (Frobenius) error allowed against a float64 reference computed
// from the same quantised inputs: accumulation and output rounding only.
double gemm_tolerance(DType d);

inline float half_bits_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(man), -24);
  else if (exp == 31) v = man ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

inline float bf16_bits_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as the GPU fill's __float2bfloat16_rn (finite inputs; a quiet NaN stays a quiet NaN).
inline uint16_t float_to_bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// OCP fp8 e4m3 (fn): bias 7, no infinities, 0x7f/0xff are NaN.
inline float fp8e4m3_bits_to_float(uint8_t b) {
  const uint32_t sign = b >> 7, exp = (b >> 3) & 0xf, man = b & 0x7;
  float v;
  if (exp == 0xf && man == 0x7) v = NAN;
  else if (exp == 0) v = std::ldexp(static_cast<float>(man), -9);
  else v = std::ldexp(static_cast<float>(man | 0x8), static_cast<int>(exp) - 10);
  return sign ? -v : v;
}

// Decode one stored element at p as double.
double load_as_double(Storage s, const void* p);
// Store v at p in format s (fp32 or bf16, the host runners' formats; others throw std::logic_error).
void store_from_float(Storage s, float v, void* p);

}  // namespace am
