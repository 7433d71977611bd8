#pragma once
/// \file
/// Codec for structs described with Boost.Describe, stored as JSON text via Boost.JSON.
/// \code
/// struct Profile { std::string name; int age; };
/// BOOST_DESCRIBE_STRUCT(Profile, (), (name, age))
/// \endcode
/// Link Boost::json (the gencache::gencache target already does).

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include "gencache/codec.hpp"

namespace gencache {

template <class T>
struct codec<
    T, std::enable_if_t<std::is_class_v<T> && boost::describe::has_describe_members<T>::value>> {
  static std::string encode(const T& value) {
    return boost::json::serialize(boost::json::value_from(value));
  }

  /// Bytes that are not JSON, or JSON of another shape, do not decode (a miss).
  static std::optional<T> decode(std::string_view bytes) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(bytes, ec);
    if (ec) return std::nullopt;
    auto result = boost::json::try_value_to<T>(parsed);
    if (result.has_error()) return std::nullopt;
    return std::move(result.value());
  }
};

}  // namespace gencache
