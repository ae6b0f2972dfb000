#include "common/dtype.hpp"

#include <stdexcept>

#include "common/names.hpp"

namespace am {

namespace {
const Named<DType> kDTypes[] = {{DType::f32, "fp32"},  {DType::tf32, "tf32"}, {DType::f16, "fp16"},
                                {DType::bf16, "bf16"}, {DType::fp8, "fp8"},   {DType::int8, "int8"}};
const Named<Storage> kStorages[] = {{Storage::f32, "fp32"},        {Storage::f16, "fp16"}, {Storage::bf16, "bf16"},
                                    {Storage::fp8e4m3, "fp8e4m3"}, {Storage::i8, "int8"},  {Storage::i32, "int32"}};
}  // namespace

DType parse_dtype(const std::string& n) { return parse_name("dtype", n, kDTypes); }

const char* dtype_name(DType d) { return name_of(d, kDTypes); }

Storage input_storage(DType d) {
  switch (d) {
    case DType::f32:
    case DType::tf32: return Storage::f32;
    case DType::f16: return Storage::f16;
    case DType::bf16: return Storage::bf16;
    case DType::fp8: return Storage::fp8e4m3;
    case DType::int8: return Storage::i8;
  }
  return Storage::f32;
}

Storage output_storage(DType d) {
  switch (d) {
    case DType::f32:
    case DType::tf32: return Storage::f32;
    case DType::f16: return Storage::f16;
    case DType::bf16:
    case DType::fp8: return Storage::bf16;
    case DType::int8: return Storage::i32;
  }
  return Storage::f32;
}

size_t storage_bytes(Storage s) {
  switch (s) {
    case Storage::f32:
    case Storage::i32: return 4;
    case Storage::f16:
    case Storage::bf16: return 2;
    case Storage::fp8e4m3:
    case Storage::i8: return 1;
  }
  return 4;
}

const char* storage_name(Storage s) { return name_of(s, kStorages); }

double gemm_tolerance(DType d) {
  switch (d) {
    case DType::f32: return 1e-5;
    case DType::tf32: return 1e-3;
    case DType::f16:
    case DType::bf16: return 1e-2;
    case DType::fp8: return 2e-2;  // bf16 output of fp8 products
    case DType::int8: return 0.0;  // int32 accumulation is exact
  }
  return 0.0;
}

double load_as_double(Storage s, const void* p) {
  switch (s) {
    case Storage::f32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case Storage::i32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case Storage::f16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return half_bits_to_float(v);
    }
    case Storage::bf16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return bf16_bits_to_float(v);
    }
    case Storage::fp8e4m3: return fp8e4m3_bits_to_float(*static_cast<const uint8_t*>(p));
    case Storage::i8: return *static_cast<const int8_t*>(p);
  }
  return NAN;
}

void store_from_float(Storage s, float v, void* p) {
  switch (s) {
    case Storage::f32: std::memcpy(p, &v, 4); return;
    case Storage::bf16: {
      const uint16_t b = float_to_bf16_bits(v);
      std::memcpy(p, &b, 2);
      return;
    }
    default: throw std::logic_error(std::string("store_from_float: no host encoder for ") + storage_name(s));
  }
}

}  // namespace am
