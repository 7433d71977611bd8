#include "gencache/namespace.hpp"

#include <stdexcept>

namespace gencache {

Namespace::Namespace(std::string name) : name_(std::move(name)) {
  if (name_.empty()) throw std::invalid_argument("gencache::Namespace: the name must not be empty");
}

namespace detail {

// ':' separates parts and '%' introduces an escape, so both are escaped inside a part;
// that keeps ns(kind, parts...) injective.
void append_namespace_part(std::string& out, std::string_view part) {
  for (char c : part) {
    if (c == ':')
      out.append("%3A");
    else if (c == '%')
      out.append("%25");
    else
      out.push_back(c);
  }
}

}  // namespace detail
}  // namespace gencache
