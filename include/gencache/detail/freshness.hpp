#pragma once
// Internal: the freshness decision, a pure function shared by Cache and AsyncCache.

#include <chrono>

#include "gencache/clock.hpp"
#include "gencache/detail/core.hpp"

namespace gencache {
struct CallOptions;
}

namespace gencache::detail {

/// What a read does with the entry it found.
enum class Freshness {
  fresh,                    ///< serve it
  refresh_early,            ///< serve it, and (XFetch) this reader should recompute now
  serve_stale_and_refresh,  ///< past its TTL, within stale_while_revalidate
  stale_if_error_fallback,  ///< a miss, but the value may stand in if compute throws
  miss,                     ///< nothing usable: compute
};

/// The decision, and whether the value in hand may be served when the compute throws
/// (the one place stale-if-error is decided).
struct FreshnessDecision {
  Freshness action = Freshness::miss;
  bool fallback_on_error = false;
};

/// Where XFetch's random number in (0, 1] comes from. It is drawn only when the entry is
/// close enough to expiry for a draw to matter (a hit far from expiry draws nothing).
using RandomDraw = double (*)() noexcept;

/// Decides what to do with `entry` (null: nothing decodable was found) at `now`.
/// A huge or infinite early_refresh_beta saturates to "always refresh early" (no overflow).
FreshnessDecision classify(const Entry* entry, Clock::time_point now, const CallOptions& options,
                           RandomDraw draw) noexcept;

/// XFetch alone: true when a number from `draw` says this read should recompute before
/// expiry.
bool refresh_early(const Entry& entry, Clock::time_point now, double beta,
                   RandomDraw draw) noexcept;

/// True when classify() of an entry with these times at `now` is `fresh` without drawing
/// a number: it is within its TTL and too far from expiry for XFetch to refresh it. This
/// is the one test the fast hit (read_fresh in core.hpp) serves on; any other entry goes
/// through classify(), so that a read draws at most once. True at some time is true at
/// every earlier time, so `now` may be any time not before the present.
bool fresh_without_draw(Clock::time_point created, std::chrono::milliseconds ttl,
                        std::chrono::microseconds compute_time, Clock::time_point now,
                        const CallOptions& options) noexcept;

/// A uniform draw in (0, 1] from a per-thread generator (never 0, so log() is finite).
double uniform_draw() noexcept;

}  // namespace gencache::detail
