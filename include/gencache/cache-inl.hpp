#pragma once
// Template bodies of gencache::Cache; included at the end of cache.hpp.

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "gencache/detail/core.hpp"

namespace gencache {
namespace detail {

/// How a value type maps to an envelope: std::optional<U> may be "absent".
template <class T>
struct value_traits {
  static_assert(has_codec<T>, "gencache: no usable codec<T> for this value type (see codec.hpp)");
  static bool is_absent(const T&) { return false; }
  static std::optional<T> from_entry(const Entry& e) {
    if (e.kind != EntryKind::value) return std::nullopt;
    return codec<T>::decode(e.payload);
  }
  static std::string payload(const T& v) { return codec<T>::encode(v); }
};

template <class U>
struct value_traits<std::optional<U>> {
  static_assert(has_codec<U>, "gencache: no usable codec<U> for std::optional<U> (see codec.hpp)");
  static bool is_absent(const std::optional<U>& v) { return !v.has_value(); }
  static std::optional<std::optional<U>> from_entry(const Entry& e) {
    if (e.kind == EntryKind::absent) return std::optional<U>{};
    auto inner = codec<U>::decode(e.payload);
    if (!inner) return std::nullopt;
    return std::optional<U>(std::move(*inner));
  }
  static std::string payload(const std::optional<U>& v) { return v ? codec<U>::encode(*v) : std::string(); }
};

/// String literals and views are stored as std::string.
template <class T>
using stored_type_t =
    std::conditional_t<std::is_convertible_v<const T&, std::string_view> && !std::is_same_v<T, std::string>,
                       std::string, T>;

}  // namespace detail

template <class T>
std::optional<T> Cache::decode_entry(const detail::ReadResult& read) {
  if (!read.entry) {
    detail::count(*core_, detail::Event::miss);
    return std::nullopt;
  }
  std::optional<T> value = detail::value_traits<T>::from_entry(*read.entry);
  if (!value) {
    // A well-formed envelope whose payload is not a T: written by another type or program.
    detail::count(*core_, detail::Event::corrupt);
    detail::count(*core_, detail::Event::miss);
    return std::nullopt;
  }
  detail::count(*core_, detail::Event::hit);
  return value;
}

template <class T>
void Cache::store_value(const detail::ReadResult& read, const T& value, std::chrono::milliseconds ttl,
                        std::chrono::microseconds compute_time) {
  if (!read.backend_ok) return;
  using traits = detail::value_traits<T>;
  const bool absent = traits::is_absent(value);
  detail::write_entry(*core_, read, absent ? detail::EntryKind::absent : detail::EntryKind::value,
                      traits::payload(value), ttl, compute_time);
}

template <class F, class Rep, class Period>
  requires std::invocable<F&>
std::decay_t<std::invoke_result_t<F&>> Cache::cached(std::string_view key, const NamespaceSet& namespaces,
                                                     std::chrono::duration<Rep, Period> ttl, F&& compute) {
  using T = std::decay_t<std::invoke_result_t<F&>>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  // Generations are read here, before compute, and the result is stored under exactly them.
  detail::ReadResult read = detail::read_entry(*core_, key, namespaces);
  if (std::optional<T> hit = decode_entry<T>(read)) return std::move(*hit);

  detail::count(*core_, detail::Event::compute);
  const auto started = detail::now(*core_);
  T value = std::invoke(compute);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(detail::now(*core_) - started);
  store_value(read, value, ttl_ms, took);
  return value;
}

template <class T>
std::optional<T> Cache::get(std::string_view key, const NamespaceSet& namespaces) {
  return decode_entry<T>(detail::read_entry(*core_, key, namespaces));
}

template <class T, class Rep, class Period>
void Cache::set(std::string_view key, const NamespaceSet& namespaces, const T& value,
                std::chrono::duration<Rep, Period> ttl) {
  using Stored = detail::stored_type_t<T>;
  const auto ttl_ms = detail::checked_ttl(ttl);
  detail::ReadResult read = detail::resolve_key(*core_, key, namespaces);
  store_value<Stored>(read, Stored(value), ttl_ms, std::chrono::microseconds(0));
}

}  // namespace gencache
