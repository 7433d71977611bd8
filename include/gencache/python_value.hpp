#pragma once
/// \file
/// Values shared with the Python module: `python_value<T>` reads and writes a Python
/// `int`, `float`, `bool` or `bytes` entry as the C++ type it holds.
///
/// The Python module stores `str` as plain text and `dict`/`list` as JSON, which C++ reads
/// with `std::string` and the JSON codec, and `None` as an absent entry (an empty
/// `std::optional`). It tags the other types so they read back as themselves in Python:
/// the byte 0xFF, a letter, then the value as `codec<T>` writes it (docs/PROTOCOL.md,
/// "Python values"). This codec adds and checks that tag:
/// \code
/// cache.set("visits", user, gencache::python_value<std::int64_t>{41}, 1h);  // Python: 41
/// auto visits = cache.get<gencache::python_value<std::int64_t>>("visits", user);
/// if (visits) use(visits->value);
/// \endcode

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gencache/codec.hpp"

namespace gencache {

/// A Python `int` (std::int64_t), `float` (double), `bool` or `bytes`
/// (std::vector<std::byte>), as the Python module stores it.
template <class T>
struct python_value {
  static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, double> ||
                    std::is_same_v<T, bool> || std::is_same_v<T, std::vector<std::byte>>,
                "gencache::python_value<T>: T is std::int64_t (int), double (float), bool or "
                "std::vector<std::byte> (bytes); str, dict and list need no wrapper");
  T value{};

  friend bool operator==(const python_value&, const python_value&) = default;
};

namespace detail {
template <class T>
constexpr char python_tag() noexcept {
  if constexpr (std::is_same_v<T, bool>) return 't';
  if constexpr (std::is_same_v<T, std::int64_t>) return 'i';
  if constexpr (std::is_same_v<T, double>) return 'f';
  if constexpr (std::is_same_v<T, std::vector<std::byte>>) return 'b';
}
}  // namespace detail

template <class T>
struct codec<python_value<T>> {
  static std::string encode(const python_value<T>& v) {
    return std::string{'\xff', detail::python_tag<T>()} + codec<T>::encode(v.value);
  }
  /// A payload without this type's tag, or whose rest `codec<T>` rejects, does not decode.
  static std::optional<python_value<T>> decode(std::string_view bytes) {
    if (bytes.size() < 2 || bytes[0] != '\xff' || bytes[1] != detail::python_tag<T>())
      return std::nullopt;
    auto value = codec<T>::decode(bytes.substr(2));
    if (!value) return std::nullopt;
    return python_value<T>{std::move(*value)};
  }
};

}  // namespace gencache
