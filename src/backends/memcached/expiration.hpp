#pragma once
// Internal: a Backend TTL as the expiration time Memcached expects.

#include <chrono>
#include <cstdint>
#include <ctime>

namespace gencache::detail {

/// Memcached reads an expiration up to this many seconds (30 days) as relative to now and
/// anything larger as an absolute Unix time.
inline constexpr std::int64_t kMemcachedMaxRelativeExpiration = 30 * 24 * 60 * 60;

/// The expiration to send for `ttl` when the time is `now`: 0 (never) for a zero TTL; the
/// TTL in seconds, rounded up, when that is at most 30 days; otherwise `now + ttl` as a
/// Unix time, capped at 2^31 - 1 (January 2038, the protocols' 32-bit limit). A negative
/// TTL gives a Unix time long past, which Memcached stores as already expired.
std::time_t memcached_expiration(std::chrono::milliseconds ttl,
                                 std::chrono::system_clock::time_point now);

}  // namespace gencache::detail
