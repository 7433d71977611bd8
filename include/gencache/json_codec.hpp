#pragma once
/// \file
/// Codec for structs described with Boost.Describe, stored as JSON text via Boost.JSON.
/// \code
/// struct Profile { std::string name; int age; };
/// BOOST_DESCRIBE_STRUCT(Profile, (), (name, age))
/// \endcode
/// Link Boost::json (the gencache::gencache target already does).
///
/// Decoding is tolerant, so the two versions of a struct in a rolling deploy share
/// entries instead of taking each other's for corruption:
/// - a field the entry has and the struct does not is ignored (an old reader of a new
///   writer's entry gets a hit);
/// - a field the struct has and the entry lacks makes the entry a miss (a new reader of an
///   old entry recomputes it), unless the field is a std::optional, which is then empty.
/// The same holds for described structs nested as members. Inside containers
/// (std::vector<Inner>, maps) Boost.JSON's own rules apply, which want the exact fields.
/// A change of a field's type makes old entries a miss too. For changes the rules above
/// would read wrongly (a field whose meaning changed), put a version in the key.

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11/algorithm.hpp>

#include "gencache/codec.hpp"

namespace gencache {

namespace detail {

template <class T>
inline constexpr bool is_described_class =
    std::is_class_v<T>&& boost::describe::has_describe_members<T>::value;

template <class T>
inline constexpr bool has_hidden_members = false;
template <class T>
requires is_described_class<T>
inline constexpr bool has_hidden_members<T> =
    boost::mp11::mp_size<boost::describe::describe_members<
        T, boost::describe::mod_private | boost::describe::mod_protected>>::value != 0;

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
bool tolerant_json_assign(const boost::json::value& json, T& out);

// Fills each public described member of `out` from the field of its name; unknown
// fields are skipped, a missing one fails unless it is a std::optional.
template <class T>
bool tolerant_json_assign_members(const boost::json::object& object, T& out) {
  bool ok = true;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto member) {
        if (!ok) return;
        auto& field = out.*member.pointer;
        const boost::json::value* json = object.if_contains(member.name);
        if (json == nullptr) {
          ok = is_optional<std::remove_cvref_t<decltype(field)>>::value;
          return;
        }
        ok = tolerant_json_assign(*json, field);
      });
  return ok;
}

template <class T>
bool tolerant_json_assign(const boost::json::value& json, T& out) {
  if constexpr (is_described_class<T>) {
    const boost::json::object* object = json.if_object();
    return object != nullptr && tolerant_json_assign_members(*object, out);
  } else if constexpr (is_optional<T>::value) {
    if (json.is_null()) {
      out.reset();
      return true;
    }
    out.emplace();
    return tolerant_json_assign(json, *out);
  } else {
    auto result = boost::json::try_value_to<T>(json);
    if (result.has_error()) return false;
    out = std::move(result.value());
    return true;
  }
}

}  // namespace detail

template <class T>
struct codec<T, std::enable_if_t<detail::is_described_class<T>>> {
  static_assert(!detail::has_hidden_members<T>,
                "gencache: the JSON codec reads and writes public members only, and this type "
                "was described with private or protected members (BOOST_DESCRIBE_CLASS). "
                "Describe a struct of public members (BOOST_DESCRIBE_STRUCT), or specialize "
                "gencache::codec<T> with static std::string encode(const T&) and static "
                "std::optional<T> decode(std::string_view).");
  static_assert(std::is_default_constructible_v<T>,
                "gencache: the JSON codec builds the value from a default-constructed T; give "
                "the described struct a default constructor, or specialize gencache::codec<T>.");

  static std::string encode(const T& value) {
    if constexpr (detail::has_hidden_members<T>) {
      return {};  // the static_assert above said why; no second page of Boost errors
    } else {
      return boost::json::serialize(boost::json::value_from(value));
    }
  }

  /// Bytes that are not JSON, a JSON value that is not an object, a field of the wrong
  /// type or a missing field (other than a std::optional) do not decode: a miss. Unknown
  /// fields are ignored (see the file comment).
  static std::optional<T> decode(std::string_view bytes) {
    boost::system::error_code ec;
    const boost::json::value parsed = boost::json::parse(bytes, ec);
    if (ec) return std::nullopt;
    if constexpr (detail::has_hidden_members<T> || !std::is_default_constructible_v<T>) {
      return std::nullopt;  // a static_assert above said why
    } else {
      T value{};
      if (!detail::tolerant_json_assign(parsed, value)) return std::nullopt;
      return value;
    }
  }
};

}  // namespace gencache
