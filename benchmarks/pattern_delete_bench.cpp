// What users do today to invalidate one user's entries, beside gencache: pattern deletion on
// Redis, as django-redis's delete_pattern does it (`SCAN 0 MATCH user_42_* COUNT 1000` until
// the cursor comes back to 0, then `DEL` of the matches), through hiredis, with 10^4, 10^5
// and 10^6 keys in the keyspace, of which the user's own are always 100. Beside it,
// bump_namespace through gencache's Redis backend on the same server and keyspace.
//
// The program starts its own redis-server (persistence off) on a loopback port.
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench_support.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "raw_redis.hpp"
#include "support/redis_server.hpp"

namespace {

using gencache::bench::fill_size;

constexpr std::size_t kValueSize = 512;
constexpr std::size_t kUserEntries = 100;  // the invalidated user's own entries
constexpr std::size_t kPipeline = 1000;    // commands per pipelined batch when filling
constexpr const char* kPattern = "user_42_*";

using gencache::bench::RawRedis;
using gencache::bench::Reply;

std::string user_key(std::size_t user, std::size_t page) {
  return fmt::format("user_{}_page_{}", user, page);
}

// One redis-server for the program, started on first use from the main thread.
struct World {
  gencache::test::RedisServer server;
  RawRedis client{server.port()};
  std::size_t others = 0;  // keys of users other than 42 loaded so far
  std::unique_ptr<gencache::Cache> cache;
  std::string cache_error;

  World() {
    try {
      cache = std::make_unique<gencache::Cache>(
          gencache::Cache::from_url(gencache::test::redis_url(server, "", "io_timeout=2s")));
    } catch (const std::exception& e) {
      cache_error = e.what();  // a build without the redis:// backend
    }
    restore_user_entries();
  }

  // The keyspace holds `keys` keys: user 42's 100 and other users' (ids from 1000 up,
  // 100 each, which the pattern never matches).
  void fill_to(std::size_t keys) {
    const std::string value(kValueSize, 'v');
    for (; others + kUserEntries < keys; ++others)
      client.append_set(user_key(1000 + others / kUserEntries, others % kUserEntries), value,
                        kPipeline);
    client.finish();
  }

  void restore_user_entries() {
    const std::string value(kValueSize, 'u');
    for (std::size_t page = 0; page < kUserEntries; ++page)
      client.append_set(user_key(42, page), value, kPipeline);
    client.finish();
  }

  long long keyspace_size() { return client.run({"DBSIZE"})->integer; }
};

World& world() {
  static World instance;
  return instance;
}

// delete_pattern: SCAN the whole keyspace for the pattern, then DEL what matched.
std::size_t delete_pattern(RawRedis& client) {
  std::vector<std::string> del = {"DEL"};
  std::string cursor = "0";
  do {
    Reply page = client.run({"SCAN", cursor, "MATCH", kPattern, "COUNT", "1000"});
    cursor.assign(page->element[0]->str, page->element[0]->len);
    const redisReply* keys = page->element[1];
    for (std::size_t i = 0; i < keys->elements; ++i)
      del.emplace_back(keys->element[i]->str, keys->element[i]->len);
  } while (cursor != "0");
  if (del.size() == 1) return 0;
  const std::vector<std::string_view> args(del.begin(), del.end());
  return static_cast<std::size_t>(client.run(args)->integer);
}

void BM_RedisDeletePattern(benchmark::State& state, std::size_t keys) {
  World& w = world();
  w.fill_to(keys);
  std::size_t deleted = 0;
  for (auto _ : state) {
    deleted = delete_pattern(w.client);
    state.PauseTiming();
    w.restore_user_entries();
    state.ResumeTiming();
    if (deleted != kUserEntries) {
      state.SkipWithError("the pattern did not match the user's 100 entries");
      break;
    }
  }
  state.counters["keyspace"] = static_cast<double>(w.keyspace_size());
  state.counters["deleted"] = static_cast<double>(deleted);
}

void BM_RedisBumpNamespace(benchmark::State& state, std::size_t keys) {
  World& w = world();
  w.fill_to(keys);
  if (!w.cache) {
    for (auto _ : state) {
    }
    state.SkipWithError(("no redis:// backend: " + w.cache_error).c_str());
    return;
  }
  const gencache::Namespace user = gencache::ns("user", 42);
  std::error_code error;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.cache->bump_namespace(user, error));
    if (error) {
      state.SkipWithError(("bump failed: " + error.message()).c_str());
      break;
    }
  }
  state.counters["keyspace"] = static_cast<double>(w.keyspace_size());
}

// Size by size, each pair together: the keyspace only grows.
const bool registered = [] {
  for (const std::size_t target :
       {std::size_t{10'000}, std::size_t{100'000}, std::size_t{1'000'000}}) {
    const std::size_t keys = fill_size(target);
    benchmark::RegisterBenchmark(fmt::format("BM_RedisDeletePattern/keys:{}", target).c_str(),
                                 BM_RedisDeletePattern, keys)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(fmt::format("BM_RedisBumpNamespace/keys:{}", target).c_str(),
                                 BM_RedisBumpNamespace, keys)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
