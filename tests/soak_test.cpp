// Soak: 8 threads, 200k mixed operations against a real memcached that is restarted
// (stop + start on the same port) half-way. Each thread is its own "process" (its own
// Cache, so its own generation hints) on one shared backend. Operations, roughly:
//   85%  cached() of an entry depending on a user's namespace, often its org's and
//        sometimes the catalog's, checked for staleness;
//    5%  get() of such an entry, checked the same way when it hits;
//    5%  set() then get() of the thread's own keys, checked for integrity;
//    5%  a write: the namespace's "database" version goes up, then bump_namespace.
// A read that starts after a bump of version v returned must see version >= v (promise 1);
// own keys must read back only values this thread wrote to that key. Backend errors while
// the server is down are expected, counted and printed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/memcached_backend.hpp"
#include "support/memcached_server.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kThreads = 8;
constexpr int kOperations = 200'000;
constexpr std::size_t kUsers = 16;
constexpr std::size_t kOrgs = 2;
constexpr std::size_t kCatalog = kUsers + kOrgs;
constexpr std::size_t kNamespaces = kCatalog + 1;
constexpr std::uint64_t kKeysPerSet = 2;
constexpr std::uint64_t kOwnKeys = 32;

struct Tally {
  std::atomic<std::uint64_t> operations{0}, reads{0}, gets{0}, get_hits{0}, own_writes{0},
      own_hits{0}, bumps{0}, failed_bumps{0}, stale{0}, foreign{0};
};

// Error events by operation and code, from every thread's error hook.
class ErrorLog {
 public:
  void record(const ErrorEvent& e) {
    last_ = SteadyClock::now().time_since_epoch().count();
    std::lock_guard lock(mutex_);
    ++counts_[fmt::format("{}/{}", e.operation, e.code.message())];
  }
  /// When the last error event (or failed bump) happened.
  void failed_now() { last_ = SteadyClock::now().time_since_epoch().count(); }
  SteadyClock::time_point last() const {
    return SteadyClock::time_point(SteadyClock::duration(last_.load()));
  }
  std::string summary() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [what, n] : counts_) out += fmt::format(" {}={}", what, n);
    return out.empty() ? " none" : out;
  }

 private:
  std::atomic<SteadyClock::rep> last_{0};
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> counts_;
};

Namespace namespace_of(std::size_t id) {
  if (id < kUsers) return ns("user", id);
  if (id < kCatalog) return ns("org", id - kUsers);
  return ns("catalog");
}

// Versions as "numbers separated by spaces"; false if `text` is not that.
bool parse_versions(const std::string& text, std::vector<std::uint64_t>& out) {
  out.clear();
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t used = 0;
    try {
      out.push_back(std::stoull(text.substr(at), &used));
    } catch (const std::exception&) {
      return false;
    }
    at += used + 1;
  }
  return true;
}

TEST(Soak, EightThreadsMixedOperationsAcrossARestartReadNothingStale) {
  test::MemcachedServer server(test::MemcachedServer::Options{.threads = 2});
  MemcachedOptions options;
  options.servers = {server.address()};
  options.connect_timeout = 100ms;
  options.io_timeout = 100ms;
  options.retry_timeout = 1s;
  options.pool_max = kThreads;
  const std::shared_ptr<Backend> backend = make_memcached_backend(options);

  // data[i]: the "database" version of namespace i; completed[i]: the highest version
  // whose bump has returned.
  std::vector<std::atomic<std::uint64_t>> data(kNamespaces), completed(kNamespaces);
  Tally tally;
  ErrorLog errors;
  std::vector<Cache> caches;
  for (int t = 0; t < kThreads; ++t) {
    caches.emplace_back(backend);
    caches.back().set_error_hook([&](const ErrorEvent& e) { errors.record(e); });
  }
  auto sum_stats = [&] {
    Stats total;
    for (const Cache& cache : caches) {
      const Stats s = cache.stats();
      total.hits += s.hits;
      total.misses += s.misses;
      total.errors += s.errors;
      total.counter_recreations += s.counter_recreations;
      total.breaker_opens += s.breaker_opens;
      total.breaker_rejections += s.breaker_rejections;
    }
    return total;
  };

  auto worker = [&](int id) {
    Cache& cache = caches[static_cast<std::size_t>(id)];
    std::mt19937_64 rng(static_cast<std::uint64_t>(id) * 7919 + 1);
    std::vector<std::uint64_t> own_written(kOwnKeys, 0);  // last sequence set per own key
    std::vector<std::uint64_t> seen;

    // A user's namespace, plus half the time its org's and a third of the time the
    // catalog's: 1 to 3 namespaces, as ids into `data` (users, then orgs, then catalog).
    auto pick = [&](std::vector<std::size_t>& ids) {
      const std::size_t user = rng() % kUsers;
      ids.assign(1, user);
      if (rng() % 2 == 0) ids.push_back(kUsers + user % kOrgs);
      if (rng() % 3 == 0) ids.push_back(kCatalog);
    };
    // Writes touch users mostly, orgs sometimes, the catalog rarely.
    auto pick_write = [&]() -> std::size_t {
      const std::uint64_t roll = rng() % 100;
      if (roll < 90) return rng() % kUsers;
      if (roll < 98) return kUsers + rng() % kOrgs;
      return kCatalog;
    };
    std::vector<std::size_t> ids;
    std::uint64_t failures_seen = 0;
    for (int i = 0; i < kOperations / kThreads; ++i) {
      // A client that just saw the backend fail backs off for a moment, as callers do;
      // without it, the calls the open breaker turns away at once would use up the
      // operations long before the restarted server is back.
      const Stats now = cache.stats();
      if (now.errors + now.breaker_rejections != failures_seen) {
        failures_seen = now.errors + now.breaker_rejections;
        std::this_thread::sleep_for(1ms);
      }
      const std::uint64_t roll = rng() % 100;
      if (roll < 90) {  // a read, through cached() or get()
        pick(ids);
        std::vector<Namespace> list;
        std::vector<std::uint64_t> floors;
        for (std::size_t n : ids) {
          list.push_back(namespace_of(n));
          floors.push_back(completed[n].load());
        }
        const NamespaceSet set(std::move(list));
        const std::string key = fmt::format("k{}", rng() % kKeysPerSet);
        std::optional<std::string> value;
        if (roll < 85) {
          value = cache.cached(key, set, 1min, [&] {
            std::string out;
            for (std::size_t n : ids)
              out += fmt::format("{}{}", out.empty() ? "" : " ", data[n].load());
            return out;
          });
          ++tally.reads;
        } else {
          value = cache.get(key, set);
          ++tally.gets;
          if (value) ++tally.get_hits;
        }
        if (value) {
          bool stale = !parse_versions(*value, seen) || seen.size() != floors.size();
          for (std::size_t j = 0; !stale && j < floors.size(); ++j) stale = seen[j] < floors[j];
          if (stale) ++tally.stale;
        }
      } else if (roll < 95) {  // the thread's own keys: set one, read another back
        const std::uint64_t k = rng() % kOwnKeys;
        const NamespaceSet own{ns("own", id, k % 4)};
        own_written[k] += 1;
        cache.set(fmt::format("own{}", k), own, fmt::format("{}:{}:{}", id, k, own_written[k]),
                  1min);
        ++tally.own_writes;
        const std::uint64_t r = rng() % kOwnKeys;
        if (auto v = cache.get(fmt::format("own{}", r), NamespaceSet{ns("own", id, r % 4)})) {
          ++tally.own_hits;
          // Only a value this thread wrote to this key, never a newer one than the last.
          std::uint64_t seq = 0;
          const std::string expected_head = fmt::format("{}:{}:", id, r);
          if (!v->starts_with(expected_head) ||
              (seq = std::stoull(v->substr(expected_head.size()))) == 0 || seq > own_written[r])
            ++tally.foreign;
        }
      } else {  // a write to the data, then its bump
        const std::size_t n = pick_write();
        const std::uint64_t version = data[n].fetch_add(1) + 1;
        try {
          cache.bump_namespace(namespace_of(n));
        } catch (const backend_error&) {
          errors.failed_now();
          ++tally.failed_bumps;
          ++tally.operations;
          std::this_thread::sleep_for(1ms);
          continue;
        }
        ++tally.bumps;
        std::uint64_t done = completed[n].load();
        while (done < version && !completed[n].compare_exchange_weak(done, version)) {
        }
      }
      ++tally.operations;
    }
  };

  const auto started = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);

  // The restart, from this thread: the one that owns the server process.
  while (tally.operations.load() < kOperations / 2) std::this_thread::sleep_for(1ms);
  const std::uint64_t at_stop = tally.operations.load();
  const Stats before_restart = sum_stats();
  server.stop();
  std::this_thread::sleep_for(300ms);
  server.start();
  const auto up_again = SteadyClock::now();
  const std::uint64_t at_start = tally.operations.load();
  const auto restarted = SteadyClock::now() - started;

  for (auto& t : threads) t.join();
  const auto took = std::chrono::duration<double>(SteadyClock::now() - started).count();

  const Stats total = sum_stats();
  std::printf(
      "[ soak     ] %llu operations in %.1f s (%d threads), restart at %.1f s after op %llu, "
      "up again after op %llu\n",
      static_cast<unsigned long long>(tally.operations.load()), took, kThreads,
      std::chrono::duration<double>(restarted).count(), static_cast<unsigned long long>(at_stop),
      static_cast<unsigned long long>(at_start));
  std::printf(
      "[ soak     ] cached=%llu gets=%llu (hits %llu) own sets=%llu (hits %llu) bumps=%llu "
      "failed bumps=%llu\n",
      static_cast<unsigned long long>(tally.reads.load()),
      static_cast<unsigned long long>(tally.gets.load()),
      static_cast<unsigned long long>(tally.get_hits.load()),
      static_cast<unsigned long long>(tally.own_writes.load()),
      static_cast<unsigned long long>(tally.own_hits.load()),
      static_cast<unsigned long long>(tally.bumps.load()),
      static_cast<unsigned long long>(tally.failed_bumps.load()));
  std::printf(
      "[ soak     ] stale reads=%llu foreign values=%llu | hits=%llu (%llu after the restart) "
      "misses=%llu errors=%llu counter re-creations=%llu breaker opens=%llu breaker "
      "rejections=%llu\n",
      static_cast<unsigned long long>(tally.stale.load()),
      static_cast<unsigned long long>(tally.foreign.load()),
      static_cast<unsigned long long>(total.hits),
      static_cast<unsigned long long>(total.hits - before_restart.hits),
      static_cast<unsigned long long>(total.misses), static_cast<unsigned long long>(total.errors),
      static_cast<unsigned long long>(total.counter_recreations),
      static_cast<unsigned long long>(total.breaker_opens),
      static_cast<unsigned long long>(total.breaker_rejections));
  std::printf(
      "[ soak     ] error events:%s; the last failure came %.0f ms after the server was up\n",
      errors.summary().c_str(),
      std::chrono::duration<double, std::milli>(errors.last() - up_again).count());

  EXPECT_EQ(tally.operations.load(), static_cast<std::uint64_t>(kOperations / kThreads * kThreads));
  EXPECT_EQ(tally.stale.load(), 0u);
  EXPECT_EQ(tally.foreign.load(), 0u);
  EXPECT_GT(total.errors + tally.failed_bumps.load(), 0u) << "the restart must have been seen";
  EXPECT_GT(total.counter_recreations, before_restart.counter_recreations)
      << "counters lost in the restart are re-created";
  // Every "process" serves hits again once the breaker and libmemcached retry the server.
  for (Cache& cache : caches) {
    const auto deadline = SteadyClock::now() + 5s;
    bool hit = false;
    for (int probe = 0; !hit && SteadyClock::now() < deadline; ++probe) {
      const std::string key = fmt::format("probe{}", probe);
      cache.cached(key, ns("probe"), 1min, [] { return 1; });
      hit = cache.get<int>(key, ns("probe")) == 1;
      if (!hit) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(hit) << "a cache does not serve again after the restart";
  }
}

}  // namespace
}  // namespace gencache
