#include "backends/memcached/expiration.hpp"

#include <limits>

namespace gencache::detail {
namespace {

// The smallest value Memcached reads as absolute: 1970-01-31, long before any server
// started, so the item is expired as soon as it is stored.
constexpr std::int64_t kLongAgo = kMemcachedMaxRelativeExpiration + 1;
constexpr std::int64_t kLatest = std::numeric_limits<std::int32_t>::max();

}  // namespace

std::time_t memcached_expiration(std::chrono::milliseconds ttl,
                                 std::chrono::system_clock::time_point now) {
  if (ttl.count() == 0) return 0;
  if (ttl.count() < 0) return static_cast<std::time_t>(kLongAgo);
  const std::int64_t seconds = std::chrono::ceil<std::chrono::seconds>(ttl).count();
  if (seconds <= kMemcachedMaxRelativeExpiration) return static_cast<std::time_t>(seconds);
  const std::int64_t now_seconds =
      std::chrono::ceil<std::chrono::seconds>(now.time_since_epoch()).count();
  // Both rounded up, so the item lives at least its full TTL.
  const std::int64_t at = seconds > kLatest - now_seconds ? kLatest : now_seconds + seconds;
  return static_cast<std::time_t>(at);
}

}  // namespace gencache::detail
