#pragma once
// Small helpers shared by the backend-level tests (backend_contract_test,
// memcached_backend_test, redis_backend_test): one-key and many-key reads, what visit_many
// visits, and what a call throws.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
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

/// Visits as (index, value) pairs.
using Visits = std::vector<std::pair<std::size_t, std::string>>;

/// Every visit of a visit_many call, with copies of the lent values: in the order they
/// came, and by index (how often each index was visited, and the value it last saw).
class RecordingVisitor final : public ValueVisitor {
 public:
  void found(std::size_t index, std::string_view value) noexcept override {
    in_order.emplace_back(index, std::string(value));
    ++visits[index];
    values[index] = std::string(value);
  }

  /// The visits sorted by index: what was visited, whatever order the backend chose.
  Visits by_index() const {
    Visits sorted = in_order;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    return sorted;
  }

  Visits in_order;
  std::map<std::size_t, int> visits;
  std::map<std::size_t, std::string> values;
};

inline RecordingVisitor visit_many(Backend& backend, const std::vector<std::string>& keys) {
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  RecordingVisitor visitor;
  backend.visit_many(views, visitor);
  return visitor;
}

/// The RecordingVisitor::visits of a call that visited each of `present` exactly once.
inline std::map<std::size_t, int> once_each(const std::vector<std::size_t>& present) {
  std::map<std::size_t, int> visits;
  for (std::size_t index : present) visits[index] = 1;
  return visits;
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

/// Three rounds of a set and a get on `backend`, whose server is down: every call throws
/// backend_unavailable, and each round ends within kFailureBound.
inline void expect_calls_fail_fast_while_down(Backend& backend) {
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(code_thrown_by([&] { backend.set("k", "v2", kNoTtl); }), errc::backend_unavailable);
    EXPECT_EQ(code_thrown_by([&] { get(backend, "k"); }), errc::backend_unavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - started, kFailureBound);
  }
}

/// True if this host can bind a socket to the IPv6 loopback address.
inline bool loopback_ipv6_available() {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return bound;
}

}  // namespace gencache::test
