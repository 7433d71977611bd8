#include "backends/memcached/meta/server_selection.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace gencache::detail::meta {
namespace {

constexpr std::uint32_t kPointsPerServer = 100;  // MEMCACHED_POINTS_PER_SERVER

}  // namespace

std::uint32_t one_at_a_time_hash(std::string_view bytes) noexcept {
  std::uint32_t value = 0;
  for (const char c : bytes) {
    // hashkit widens a plain (signed) char, so bytes above 0x7F are sign-extended.
    value += static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
    value += value << 10;
    value ^= value >> 6;
  }
  value += value << 3;
  value ^= value >> 11;
  value += value << 15;
  return value;
}

ServerSelection::ServerSelection(const std::vector<ServerAddress>& servers, bool consistent)
    : server_count_(servers.size()), consistent_(consistent) {
  if (!consistent_ || server_count_ < 2) return;
  continuum_.reserve(server_count_ * kPointsPerServer);
  for (std::uint32_t index = 0; index < server_count_; ++index) {
    const ServerAddress& server = servers[index];
    for (std::uint32_t point = 0; point < kPointsPerServer; ++point) {
      const std::string name = server.port == kMemcachedDefaultPort
                                   ? fmt::format("{}-{}", server.host, point)
                                   : fmt::format("{}:{}-{}", server.host, server.port, point);
      continuum_.emplace_back(one_at_a_time_hash(name), index);
    }
  }
  std::sort(continuum_.begin(), continuum_.end());
}

std::size_t ServerSelection::server_for(std::string_view key) const noexcept {
  // libmemcached does not hash at all when there is one server.
  if (server_count_ < 2) return 0;
  const std::uint32_t hash = one_at_a_time_hash(key);
  if (!consistent_) return hash % server_count_;
  auto point = std::lower_bound(continuum_.begin(), continuum_.end(),
                                std::pair<std::uint32_t, std::uint32_t>{hash, 0});
  if (point == continuum_.end()) point = continuum_.begin();
  return point->second;
}

}  // namespace gencache::detail::meta
