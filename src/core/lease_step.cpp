#include "core/lease_step.hpp"

#include <algorithm>

#include "key_encoding.hpp"

namespace gencache::detail {

std::string lease_key(std::string_view prefix, std::string_view versioned_key) {
  std::string key(prefix);
  key += "gc1:l:";
  key += sha256_hex(versioned_key);
  return key;
}

LeasePoll::LeasePoll(std::chrono::milliseconds wait,
                     std::chrono::steady_clock::time_point now) noexcept
    : deadline_(now + wait) {}

std::optional<std::chrono::steady_clock::duration> LeasePoll::next_delay(
    std::chrono::steady_clock::time_point now) noexcept {
  const auto remaining = deadline_ - now;
  if (remaining <= remaining.zero()) return std::nullopt;
  const auto delay = std::min<std::chrono::steady_clock::duration>(backoff_, remaining);
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(50));
  return delay;
}

}  // namespace gencache::detail
