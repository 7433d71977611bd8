#pragma once
// Internal: fresh generation values for (re)created counters.

#include <cstdint>

namespace gencache::detail {

/// The smallest and one past the largest value a (re)created counter starts at. Starting
/// at 2^32 or above keeps it far from 0 and 1; staying below 2^62 leaves room for 2^62
/// bumps before Redis's signed 64-bit INCR limit or Memcached's 2^64 wrap.
inline constexpr std::uint64_t min_fresh_generation = std::uint64_t{1} << 32;
inline constexpr std::uint64_t max_fresh_generation = std::uint64_t{1} << 62;

/// A value in [min_fresh_generation, max_fresh_generation) from libcrypto's CSPRNG, so a
/// re-created counter never repeats a generation that was used before (with probability
/// 1 - 2^-61 per pair).
std::uint64_t fresh_generation();

}  // namespace gencache::detail
