// A cuDNN backend (graph API) descriptor, owned: created in the constructor,
// destroyed with the object. Attribute setters and getters check the status
// (AM_CUDNN_CHECK's mapping: NOT_SUPPORTED -> UnsupportedError, ...);
// try_finalize returns it for callers that skip what does not finalize.
// Only with cuDNN (AM_HAVE_CUDNN).
#pragma once
#include <cudnn.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace am::cuda {

class BackendDesc {
 public:
  explicit BackendDesc(cudnnBackendDescriptorType_t type);
  ~BackendDesc();
  BackendDesc(const BackendDesc&) = delete;
  BackendDesc& operator=(const BackendDesc&) = delete;

  cudnnBackendDescriptor_t get() const { return d_; }

  // Raw setter: `count` elements of `type` at `values`.
  BackendDesc& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
                   const void* values);
  BackendDesc& set_int(cudnnBackendAttributeName_t name, int64_t v) { return set(name, CUDNN_TYPE_INT64, 1, &v); }
  BackendDesc& set_ints(cudnnBackendAttributeName_t name, const std::vector<int64_t>& v) {
    return set(name, CUDNN_TYPE_INT64, int64_t(v.size()), v.data());
  }
  BackendDesc& set_desc(cudnnBackendAttributeName_t name, const BackendDesc& v) {
    const cudnnBackendDescriptor_t d = v.get();
    return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d);
  }
  void finalize();
  cudnnStatus_t try_finalize() noexcept;

  // Raw getter: up to `capacity` elements into `out`; returns how many the attribute has.
  int64_t get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t capacity, void* out) const;
  int64_t get_int(cudnnBackendAttributeName_t name) const;
  // A descriptor-valued attribute: `count` (at most) new descriptors of `type`, filled by cuDNN.
  std::vector<std::shared_ptr<BackendDesc>> get_descs(cudnnBackendAttributeName_t name,
                                                      cudnnBackendDescriptorType_t type, int64_t count) const;
  // The number of elements of an attribute (descriptor arrays included).
  int64_t count(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type) const;

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};

using BackendDescPtr = std::shared_ptr<BackendDesc>;

}  // namespace am::cuda
