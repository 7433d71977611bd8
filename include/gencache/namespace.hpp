#pragma once
/// \file
/// Namespaces: the unit of invalidation. Each owns a generation counter in the backend.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gencache {

/// The name of an invalidation scope, such as `user:42` or `products`.
/// Any bytes are allowed; the key encoding makes them safe for every backend.
class Namespace {
 public:
  /// Wraps `name` as-is. Throws std::invalid_argument if it is empty.
  explicit Namespace(std::string name);

  const std::string& name() const noexcept { return name_; }

  friend bool operator==(const Namespace&, const Namespace&) = default;
  friend auto operator<=>(const Namespace&, const Namespace&) = default;

 private:
  std::string name_;
};

namespace detail {
void append_namespace_part(std::string& out, std::string_view part);
template <class T>
void append_part(std::string& out, const T& part) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    append_namespace_part(out, std::string_view(part));
  } else {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>,
                  "gencache::ns parts must be strings or integers");
    append_namespace_part(out, std::to_string(part));
  }
}
}  // namespace detail

/// Builds the namespace `kind:part:part...` from strings and integers.
/// A `:` or `%` inside a part is percent-escaped, so `ns("a", "1:2")` and
/// `ns("a", 1, 2)` are different namespaces.
template <class... Parts>
Namespace ns(std::string_view kind, const Parts&... parts) {
  std::string name;
  detail::append_namespace_part(name, kind);
  ((name.push_back(':'), detail::append_part(name, parts)), ...);
  return Namespace(std::move(name));
}

/// The namespaces an entry depends on, in canonical form: sorted, without duplicates,
/// so `{a, b}`, `{b, a}` and `{a, b, a}` name the same entries.
class NamespaceSet {
 public:
  NamespaceSet() = default;
  NamespaceSet(Namespace one) { items_.push_back(std::move(one)); }  // NOLINT: implicit by design
  NamespaceSet(std::initializer_list<Namespace> list) : items_(list) { canonicalize(); }
  explicit NamespaceSet(std::vector<Namespace> list) : items_(std::move(list)) { canonicalize(); }

  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  const Namespace& operator[](std::size_t i) const noexcept { return items_[i]; }

  friend bool operator==(const NamespaceSet&, const NamespaceSet&) = default;

 private:
  void canonicalize() {
    std::sort(items_.begin(), items_.end());
    items_.erase(std::unique(items_.begin(), items_.end()), items_.end());
  }
  std::vector<Namespace> items_;
};

}  // namespace gencache
