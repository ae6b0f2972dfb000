// An enum's names, written once in a table: the name of a value and the value of a name (a bad name is refused
// with the names allowed, as the Python side words it).
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace am {

template <class E>
struct Named {
  E value;
  const char* name;
};

template <class E, std::size_t N>
const char* name_of(E value, const Named<E> (&table)[N]) {
  for (const Named<E>& e : table)
    if (e.value == value) return e.name;
  return "?";
}

// `what` names the argument in the message: "dtype='fp64' is not allowed: expected one of fp32, ...".
template <class E, std::size_t N>
E parse_name(const char* what, const std::string& name, const Named<E> (&table)[N]) {
  std::string allowed;
  for (const Named<E>& e : table) {
    if (name == e.name) return e.value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(e.name);
  }
  throw std::invalid_argument(std::string(what) + "='" + name + "' is not allowed: expected one of " + allowed);
}

}  // namespace am
