#pragma once
// The body of run_stale_read_oracle (stale_read_oracle.hpp), a template over the caches.

#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace gencache::test {

template <class ReadingCache, class BumpingCache>
OracleResult run_stale_read_oracle(ReadingCache& cache, BumpingCache& writers,
                                   const OracleConfig& config) {
  const auto n = static_cast<std::size_t>(config.namespaces);
  // data[i]: the "database" version of namespace i; completed[i]: the highest data
  // version whose bump has returned.
  auto data = std::make_unique<std::atomic<std::uint64_t>[]>(n);
  auto completed = std::make_unique<std::atomic<std::uint64_t>[]>(n);
  std::atomic<std::uint64_t> reads{0}, stale{0}, bumps{0}, failed{0};
  std::atomic<bool> done{false};
  std::atomic<int> readers_left{config.readers};
  const Stats before = cache.stats();

  auto name = [](std::size_t i) { return ns("oracle", i); };

  std::vector<std::thread> threads;
  for (int w = 0; w < config.writers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(1000 + w));
      // Spread the bumps over the readers' run so reads and bumps interleave.
      for (int i = 0; i < config.bumps_per_writer && readers_left.load() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
        const std::size_t target = rng() % n;
        const std::uint64_t version = data[target].fetch_add(1) + 1;  // the write commits
        try {
          writers.bump_namespace(name(target));
        } catch (const backend_error&) {
          failed.fetch_add(1);
          continue;
        }
        bumps.fetch_add(1);
        std::uint64_t seen = completed[target].load();
        while (seen < version && !completed[target].compare_exchange_weak(seen, version)) {
        }
      }
    });
  }
  for (int r = 0; r < config.readers; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(static_cast<unsigned>(r));
      for (int i = 0; i < config.reads_per_reader && !(config.stop && config.stop->load()); ++i) {
        // One or two namespaces per entry.
        const std::size_t a = rng() % n;
        const std::size_t b = (rng() % 2 == 0) ? a : rng() % n;
        const NamespaceSet set{name(a), name(b)};
        const std::uint64_t floor_a = completed[a].load();
        const std::uint64_t floor_b = completed[b].load();
        const std::string key = fmt::format("k{}:{}:{}", rng() % config.keys_per_namespace, a, b);
        const std::string value = cache.cached(key, set, std::chrono::minutes(1), [&] {
          return fmt::format("{} {} ", data[a].load(), data[b].load()) +
                 std::string(config.value_padding, 'p');
        });
        std::uint64_t seen_a = 0, seen_b = 0;
        if (std::sscanf(value.c_str(), "%lu %lu", &seen_a, &seen_b) != 2 || seen_a < floor_a ||
            seen_b < floor_b)
          stale.fetch_add(1);
        reads.fetch_add(1);
      }
      readers_left.fetch_sub(1);
    });
  }
  std::thread chaos;
  if (config.chaos) chaos = std::thread([&] { config.chaos(done); });
  for (auto& t : threads) t.join();
  done = true;
  if (chaos.joinable()) chaos.join();

  OracleResult result;
  result.reads = reads;
  result.stale_reads = stale;
  result.bumps = bumps;
  result.failed_bumps = failed;
  result.cache_hits = cache.stats().hits - before.hits;
  return result;
}

}  // namespace gencache::test
