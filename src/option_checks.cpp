// Every bad option is a config_error that names the option, the value and what is
// accepted, wherever the option enters (CacheOptions, a call's own CallOptions, a TTL).
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "gencache/cache.hpp"

namespace gencache::detail {

namespace {
[[noreturn]] void reject(std::string_view option, std::string_view value,
                         std::string_view accepted) {
  throw config_error(fmt::format("gencache: {} = {} is invalid: {}", option, value, accepted));
}

std::string ms(std::chrono::milliseconds d) {
  return fmt::format("{} ms", d.count());
}
}  // namespace

void validate_call_options(const CallOptions& c) {
  if (std::isnan(c.early_refresh_beta) || c.early_refresh_beta < 0)
    reject("CallOptions::early_refresh_beta", fmt::format("{}", c.early_refresh_beta),
           "a number >= 0 (0 never refreshes early; a huge value always does)");
  if (!(c.ttl_jitter >= 0 && c.ttl_jitter < 1))
    reject("CallOptions::ttl_jitter", fmt::format("{}", c.ttl_jitter), "a fraction in [0, 1)");
  if (c.lease_ttl.count() <= 0)
    reject("CallOptions::lease_ttl", ms(c.lease_ttl),
           "a positive duration (0 would make a dead holder's lease never expire)");
  if (c.lease_wait.count() < 0)
    reject("CallOptions::lease_wait", ms(c.lease_wait), "a duration >= 0");
  if (c.stale_while_revalidate.count() < 0)
    reject("CallOptions::stale_while_revalidate", ms(c.stale_while_revalidate), "a duration >= 0");
  if (c.stale_if_error.count() < 0)
    reject("CallOptions::stale_if_error", ms(c.stale_if_error), "a duration >= 0");
  if (c.absent_ttl && c.absent_ttl->count() <= 0)
    reject("CallOptions::absent_ttl", ms(*c.absent_ttl), "a positive duration, or unset");
}

void validate_cache_options(const CacheOptions& options) {
  if (options.counter_ttl.count() < 0)
    reject("CacheOptions::counter_ttl", ms(options.counter_ttl),
           "a duration >= 0 (0: counters never expire)");
  if (options.breaker.failure_threshold > 0 && options.breaker.cooldown.count() <= 0)
    reject("BreakerOptions::cooldown", ms(options.breaker.cooldown), "a positive duration");
  const OutboxOptions& o = options.outbox;
  if (o.enabled) {
    if (o.capacity == 0) reject("OutboxOptions::capacity", "0", "at least 1");
    if (o.initial_backoff.count() <= 0)
      reject("OutboxOptions::initial_backoff", ms(o.initial_backoff), "a positive duration");
    if (o.max_backoff < o.initial_backoff)
      reject("OutboxOptions::max_backoff", ms(o.max_backoff),
             fmt::format("a duration >= initial_backoff ({})", ms(o.initial_backoff)));
  }
}

std::chrono::milliseconds checked_ttl(std::chrono::nanoseconds ttl) {
  if (ttl <= ttl.zero()) reject("ttl", fmt::format("{} ns", ttl.count()), "a positive duration");
  return std::chrono::ceil<std::chrono::milliseconds>(ttl);
}

}  // namespace gencache::detail
