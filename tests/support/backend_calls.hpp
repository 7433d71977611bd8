#pragma once
// Small helpers shared by the backend-level tests (memcached_backend_test,
// redis_backend_test): one-key and many-key reads, and what a call throws.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gencache/backend.hpp"
#include "gencache/error.hpp"

namespace gencache::test {

/// A TTL of zero: the item never expires.
inline constexpr std::chrono::milliseconds kNoTtl{0};
/// Bound for a call against a hung or dead server: a promise, not a benchmark, so it is
/// generous enough for sanitizer builds on a loaded machine.
inline constexpr std::chrono::seconds kFailureBound{2};

inline std::optional<std::string> get(Backend& backend, std::string_view key) {
  std::vector<std::optional<std::string>> values;
  const std::string_view keys[] = {key};
  backend.get_many(keys, values);
  return values.at(0);
}

inline std::vector<std::optional<std::string>> get_many(Backend& backend,
                                                        const std::vector<std::string>& keys) {
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::optional<std::string>> values;
  backend.get_many(views, values);
  return values;
}

/// The error code `call` throws, failing the test if it throws nothing.
inline std::error_code code_thrown_by(const std::function<void()>& call) {
  try {
    call();
  } catch (const backend_error& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected a backend_error";
  return {};
}

/// The message of the gencache::error `call` throws, failing the test if it throws nothing.
inline std::string message_thrown_by(const std::function<void()>& call) {
  try {
    call();
  } catch (const error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a gencache::error";
  return {};
}

/// "stem0", "stem1", ... "stem<count-1>".
inline std::vector<std::string> numbered_keys(std::string_view stem, int count) {
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) keys.push_back(fmt::format("{}{}", stem, i));
  return keys;
}

}  // namespace gencache::test
