#if AM_HAVE_CUDNN
#include "cuda/cudnn_backend.hpp"

#include "cuda/cudnn_util.hpp"

namespace am::cuda {

BackendDesc::BackendDesc(cudnnBackendDescriptorType_t type) { AM_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d_)); }

BackendDesc::~BackendDesc() {
  if (d_) cudnnBackendDestroyDescriptor(d_);
}

BackendDesc& BackendDesc::set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
                              const void* values) {
  AM_CUDNN_CHECK(cudnnBackendSetAttribute(d_, name, type, count, values));
  return *this;
}

void BackendDesc::finalize() { AM_CUDNN_CHECK(cudnnBackendFinalize(d_)); }

cudnnStatus_t BackendDesc::try_finalize() noexcept { return cudnnBackendFinalize(d_); }

int64_t BackendDesc::get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t capacity,
                         void* out) const {
  int64_t n = 0;
  AM_CUDNN_CHECK(cudnnBackendGetAttribute(d_, name, type, capacity, &n, out));
  return n;
}

int64_t BackendDesc::get_int(cudnnBackendAttributeName_t name) const {
  int64_t v = 0;
  get(name, CUDNN_TYPE_INT64, 1, &v);
  return v;
}

int64_t BackendDesc::count(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type) const {
  return get(name, type, 0, nullptr);
}

std::vector<BackendDescPtr> BackendDesc::get_descs(cudnnBackendAttributeName_t name, cudnnBackendDescriptorType_t type,
                                                   int64_t count) const {
  std::vector<BackendDescPtr> out;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    out.push_back(std::make_shared<BackendDesc>(type));
    raw.push_back(out.back()->get());
  }
  const int64_t got = count > 0 ? get(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, count, raw.data()) : 0;
  if (got < count) out.resize(size_t(got));
  return out;
}

}  // namespace am::cuda
#endif
