// A shared library opened at run time by path (the CPU vendor libraries: aimatrix/_vendor.py finds
// them in their wheels and loads their dependencies first), and its symbols. Never closed: the
// library lives as long as the process, as one linked at build time would.
#pragma once
#include <dlfcn.h>

#include <initializer_list>
#include <string>

#include "common/errors.hpp"

namespace am::cpu {

class DynLib {
 public:
  DynLib(const std::string& path, const std::string& what) : what_(what) {
    if (path.empty()) throw UnsupportedError(what + ": no library path given");
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) throw UnsupportedError(what + " could not be loaded from " + path + ": " + dlerror());
  }
  // The first of `names` the library exports, as a function pointer of type F.
  template <class F>
  F sym(std::initializer_list<const char*> names) const {
    for (const char* n : names)
      if (void* p = dlsym(handle_, n)) return reinterpret_cast<F>(p);
    throw UnsupportedError(what_ + " lacks the symbol " + *names.begin());
  }

 private:
  void* handle_ = nullptr;
  std::string what_;
};

}  // namespace am::cpu
