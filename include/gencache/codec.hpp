#pragma once
/// \file
/// Value codecs: how a C++ value becomes the payload bytes of a cache entry and back.
///
/// A codec is a specialization of `gencache::codec<T>` with two static functions:
/// \code
/// template <> struct gencache::codec<Money> {
///   static std::string encode(const Money& m);
///   static std::optional<Money> decode(std::string_view bytes);  // nullopt: not a Money
/// };
/// \endcode
/// Built in: std::string, byte vectors, arithmetic types (fixed-width little-endian) and,
/// with <gencache/json_codec.hpp>, structs described with BOOST_DESCRIBE_STRUCT.
/// `std::optional<T>` results are handled by the Cache itself: an empty optional is a
/// cached "absent" entry, not a miss.

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gencache {

namespace detail {
template <class>
inline constexpr bool always_false = false;

template <class R>
inline constexpr bool is_c_string =
    std::is_same_v<std::decay_t<R>, const char*> || std::is_same_v<std::decay_t<R>, char*>;

template <class R>
struct cached_value {
  using type = std::decay_t<R>;
};
template <class R>
requires is_c_string<R>
struct cached_value<R> {
  using type = std::string;
};

/// A compute result as the value cached_value_t names: a C string becomes a std::string
/// (a null pointer throws std::invalid_argument), anything else passes through.
template <class T, class R>
T to_cached_value(R&& result) {
  if constexpr (is_c_string<R>) {
    if (result == nullptr)
      throw std::invalid_argument("gencache: compute returned a null C string");
    return std::string(result);
  } else {
    return std::forward<R>(result);
  }
}
}  // namespace detail

/// What `cached` stores and returns for a compute whose result type is `R`: `R` without
/// const or reference, except that a C string (a string literal, `const char*`) is
/// cached as std::string, as `set(key, ns, "hello", ttl)` stores one.
template <class R>
using cached_value_t = typename detail::cached_value<R>::type;

/// Primary template: deliberately undefined behaviour turned into a clear compile error.
template <class T, class Enable = void>
struct codec {
  static_assert(detail::always_false<T>,
                "gencache: no codec<T> for this value type. Specialize gencache::codec<T> with "
                "static std::string encode(const T&) and static std::optional<T> "
                "decode(std::string_view), or describe the struct with BOOST_DESCRIBE_STRUCT and "
                "include <gencache/json_codec.hpp>.");
};

/// True when `codec<T>` provides encode and decode.
template <class T>
concept has_codec = requires(const T& value, std::string_view bytes) {
  { codec<T>::encode(value) } -> std::convertible_to<std::string>;
  { codec<T>::decode(bytes) } -> std::same_as<std::optional<T>>;
};

template <>
struct codec<std::string> {
  static std::string encode(const std::string& value) { return value; }
  static std::optional<std::string> decode(std::string_view bytes) { return std::string(bytes); }
};

/// Byte vectors: std::vector of std::byte, char, unsigned char or signed char.
template <class Byte>
struct codec<std::vector<Byte>, std::enable_if_t<sizeof(Byte) == 1 && std::is_trivial_v<Byte>>> {
  static std::string encode(const std::vector<Byte>& value) {
    return std::string(reinterpret_cast<const char*>(value.data()), value.size());
  }
  static std::optional<std::vector<Byte>> decode(std::string_view bytes) {
    std::vector<Byte> out(bytes.size());
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
};

/// Arithmetic types: exactly sizeof(T) bytes, little-endian. A payload of another size
/// (or a bool other than 0/1) does not decode.
template <class T>
struct codec<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  static_assert(!std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559,
                "gencache: floating-point codec needs IEEE 754 types");

  static std::string encode(const T& value) {
    std::string out(sizeof(T), '\0');
    std::memcpy(out.data(), &value, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) reverse(out);
    return out;
  }
  static std::optional<T> decode(std::string_view bytes) {
    if (bytes.size() != sizeof(T)) return std::nullopt;
    std::string copy(bytes);
    if constexpr (std::endian::native == std::endian::big) reverse(copy);
    if constexpr (std::is_same_v<T, bool>) {
      if (copy[0] != 0 && copy[0] != 1) return std::nullopt;
      return copy[0] == 1;
    } else {
      T value;
      std::memcpy(&value, copy.data(), sizeof(T));
      return value;
    }
  }

 private:
  static void reverse(std::string& s) {
    for (std::size_t i = 0, j = s.size() - 1; i < j; ++i, --j) std::swap(s[i], s[j]);
  }
};

}  // namespace gencache
