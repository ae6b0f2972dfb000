#include "common/membw_spec.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "common/verify.hpp"

namespace am {

namespace {
//                      name      rd wr  reduce transfer flops in    out
const MembwInfo kInfo[] = {{"read", 1, 0, true, false, 1, 0b001, -1}, {"write", 0, 1, false, false, 0, 0b000, 0},
                           {"copy", 1, 1, false, false, 0, 0b001, 2}, {"scale", 1, 1, false, false, 1, 0b100, 1},
                           {"add", 2, 1, false, false, 1, 0b011, 2},  {"triad", 2, 1, false, false, 2, 0b110, 0},
                           {"dot", 2, 0, true, false, 2, 0b011, -1},  {"h2d", 1, 0, false, true, 0, 0b001, 1},
                           {"d2h", 1, 0, false, true, 0, 0b001, 1},   {"d2d", 1, 1, false, true, 0, 0b001, 1},
                           {"p2p", 1, 0, false, true, 0, 0b001, 1}};
}  // namespace

MembwKind parse_membw_kind(const std::string& name) {
  std::string allowed;  // the kinds' names from kInfo, as the other enums' come from their tables
  for (int i = 0; i < int(sizeof kInfo / sizeof kInfo[0]); ++i) {
    if (name == kInfo[i].name) return MembwKind(i);
    allowed += (i ? ", " : "") + std::string(kInfo[i].name);
  }
  throw std::invalid_argument("kind='" + name + "' is not allowed: expected one of " + allowed);
}

const MembwInfo& membw_info(MembwKind k) { return kInfo[int(k)]; }

double MembwSpec::bytes() const {
  const MembwInfo& i = membw_info(kind);
  return double(n) * 4.0 * double(i.reads + i.writes) * double(passes) * (bidirectional ? 2.0 : 1.0);
}

void MembwSpec::validate() const {
  if (n < 1) throw std::invalid_argument("nbytes must hold at least one 4-byte element");
  // Three arrays of n floats and their byte counts stay within 64 bits.
  if (n > INT64_MAX / 16)
    throw std::invalid_argument("n=" + std::to_string(n) +
                                " fp32 elements per array is not allowed: it must be at most " +
                                std::to_string(INT64_MAX / 16));
  if (passes < 1 || passes > kMembwMaxPasses)
    throw std::invalid_argument("passes=" + std::to_string(passes) + " is not allowed: it must be in 1.." +
                                std::to_string(kMembwMaxPasses));
  if (passes > 1 && membw_info(kind).transfer)
    throw std::invalid_argument("passes=" + std::to_string(passes) + " is not allowed for kind '" +
                                membw_info(kind).name + "': transfers make one copy per launch");
  if (kernel != "auto" && kernel != "ldst" && kernel != "tma")
    throw std::invalid_argument("kernel='" + kernel + "' is not allowed: expected one of auto, ldst, tma");
  if (kernel != "auto" && membw_info(kind).transfer)
    throw std::invalid_argument("kernel='" + kernel + "' is not allowed for kind '" + membw_info(kind).name +
                                "': a transfer runs no kernel of ours");
  if (kernel == "tma" && !tma_capable())
    throw std::invalid_argument("kernel='tma' is not allowed for kind '" + std::string(membw_info(kind).name) +
                                "' with passes=" + std::to_string(passes) +
                                ": it runs copy, scale, add and triad in one pass");
  if ((p2p_kernel || bidirectional) && kind != MembwKind::p2p)
    throw std::invalid_argument(std::string("a kernel-based or bidirectional copy is not allowed for kind '") +
                                membw_info(kind).name + "': only p2p has them");
}

bool MembwSpec::tma_capable() const {
  return passes == 1 &&
         (kind == MembwKind::copy || kind == MembwKind::scale || kind == MembwKind::add || kind == MembwKind::triad);
}

double membw_probe_error(MembwKind k, const float* a, const float* b, const float* c, const float* out, size_t count) {
  RelError e;
  for (size_t i = 0; i < count; ++i)
    if (!e.add(out[i], membw_expected(k, a ? a[i] : 0.0, b ? b[i] : 0.0, c ? c[i] : 0.0))) return INFINITY;
  return e.value();
}

}  // namespace am
