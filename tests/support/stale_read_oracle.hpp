#pragma once
// Promise 1 as an oracle: writers change data, then bump its namespace and record that the
// bump completed; readers note what had completed before they started, then read through
// the cache. A read that returns data older than a bump completed before it started is a
// stale read.

#include <chrono>
#include <cstdint>
#include <functional>

#include "gencache/cache.hpp"

namespace gencache::test {

struct OracleConfig {
  int readers = 4;
  int writers = 2;
  int reads_per_reader = 5000;
  int bumps_per_writer = 500;
  int namespaces = 4;
  int keys_per_namespace = 8;
  /// Bytes of padding added to every value (to fill a small server and force evictions).
  std::size_t value_padding = 0;
  /// Runs on its own thread while the readers and writers run (a restart, evictions...).
  /// It gets a flag that turns true once readers and writers are done.
  std::function<void(const std::atomic<bool>& done)> chaos;
  /// If set, readers stop early once it turns true (say, once chaos has seen what it
  /// waited for): reads_per_reader is then an upper bound.
  const std::atomic<bool>* stop = nullptr;
};

struct OracleResult {
  std::uint64_t reads = 0;
  std::uint64_t stale_reads = 0;
  std::uint64_t bumps = 0;
  std::uint64_t failed_bumps =
      0;                         ///< bumps that threw (the promise covers only bumps that returned)
  std::uint64_t cache_hits = 0;  ///< reads answered from the cache (from Stats)
};

/// Readers use `readers`, writers bump through `writers`: two Caches on the same backend
/// act as two processes, so the readers' generation hints really go stale. Either may be
/// a Cache or anything with its call shapes (test::CacheUnderTest runs it over AsyncCache):
/// `cached(key, namespaces, ttl, compute)`, `bump_namespace(ns)` throwing backend_error,
/// and `stats()`.
template <class ReadingCache, class BumpingCache>
OracleResult run_stale_read_oracle(ReadingCache& readers, BumpingCache& writers,
                                   const OracleConfig& config);

/// Prints one line: "[ what ] reads=... stale=... bumps=... ..." from the oracle's result
/// and the readers' Stats.
void print_oracle_result(const char* what, const OracleResult& result, const Stats& stats);

}  // namespace gencache::test

#include "support/stale_read_oracle-inl.hpp"
