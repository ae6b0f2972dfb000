// Micro-benchmark specs from the keyword dicts the Python side passes (no logic
// beyond conversion: the specs validate themselves).
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>
#include <vector>

#include "common/conv_spec.hpp"
#include "common/membw_spec.hpp"

namespace am::bind {
namespace nb = nanobind;

inline ConvSpec conv_spec(const nb::dict& d) {
  ConvSpec s;
  for (auto [key, value] : d) {
    const std::string k = nb::cast<std::string>(key);
    int64_t* field = k == "n"          ? &s.n
                     : k == "c"        ? &s.c
                     : k == "h"        ? &s.h
                     : k == "w"        ? &s.w
                     : k == "k"        ? &s.k
                     : k == "r"        ? &s.r
                     : k == "s"        ? &s.s
                     : k == "stride_h" ? &s.stride_h
                     : k == "stride_w" ? &s.stride_w
                     : k == "pad_h"    ? &s.pad_h
                     : k == "pad_w"    ? &s.pad_w
                     : k == "dil_h"    ? &s.dil_h
                     : k == "dil_w"    ? &s.dil_w
                     : k == "groups"   ? &s.groups
                                       : nullptr;
    if (field) *field = nb::cast<int64_t>(value);
    else if (k == "dtype") s.dtype = parse_dtype(nb::cast<std::string>(value));
    else if (k == "layout") s.layout = parse_layout(nb::cast<std::string>(value));
    else if (k == "direction") s.dir = parse_conv_dir(nb::cast<std::string>(value));
    else if (k == "seed") s.seed = nb::cast<uint64_t>(value);
    else throw std::invalid_argument("unknown conv parameter '" + k + "'");
  }
  return s;
}

// One conv (a dict) or a chain of them (a list of dicts), run as one sample.
inline std::vector<ConvSpec> conv_specs(const nb::handle& h) {
  std::vector<ConvSpec> out;
  if (nb::isinstance<nb::dict>(h)) out.push_back(conv_spec(nb::borrow<nb::dict>(h)));
  else
    for (nb::handle d : h) out.push_back(conv_spec(nb::borrow<nb::dict>(d)));
  return out;
}

inline MembwSpec membw_spec(const std::string& kind, int64_t n, int passes, bool pinned, int peer, uint64_t seed,
                            bool p2p_kernel = false, bool bidirectional = false, const std::string& kernel = "auto") {
  // in MembwSpec's field order
  return MembwSpec{parse_membw_kind(kind), n, passes, pinned, peer, p2p_kernel, bidirectional, kernel, seed};
}

}  // namespace am::bind
