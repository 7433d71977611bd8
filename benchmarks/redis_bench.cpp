// gencache on Redis beside raw hiredis doing the same work, in one run against one
// redis-server (persistence off) started on a loopback port by the program itself.
//
//   reads:  a raw GET of a 512 B value vs a gencache hit with 1 and 3 namespaces (one MGET
//           of the entry and its counters)
//   bump:   bump_namespace (EVALSHA of the increment-if-exists script) vs a raw INCR
#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "gencache/cache.hpp"
#include "page_reads.hpp"
#include "raw_redis.hpp"
#include "support/redis_server.hpp"

namespace {

using gencache::bench::HitCheck;
using gencache::bench::kValueSize;

// The round trips per iteration of the Cache's calls.
constexpr const char* kRoundTrips = "round_trips";

using gencache::bench::RawRedis;
using gencache::bench::Reply;

// One redis-server for the whole program, started on first use from the main thread (the
// fixture requires the thread that starts it to outlive it) and killed at exit.
struct World {
  gencache::test::RedisServer server;
  RawRedis raw{server.port()};
  gencache::Cache cache =
      gencache::Cache::from_url(gencache::test::redis_url(server, "", "io_timeout=1s"));

  World() {
    gencache::bench::load_pages(cache, [&](std::string_view key, std::string_view value) {
      raw.run({"SET", key, value});
    });
    raw.run({"SET", "raw:counter", "4242"});
  }
};

World& world() {
  static World instance;
  return instance;
}

// ---- reads -------------------------------------------------------------------------------

void BM_RawGet(benchmark::State& state) {
  RawRedis& raw = world().raw;
  const std::vector<std::string> keys = gencache::bench::page_keys("raw:");
  std::size_t i = 0;
  for (auto _ : state) {
    const Reply reply = raw.run({"GET", keys[i++ % keys.size()]});
    if (reply->type != REDIS_REPLY_STRING || reply->len != kValueSize) {
      state.SkipWithError("raw GET missed");
      break;
    }
    benchmark::DoNotOptimize(reply->str);
  }
}
BENCHMARK(BM_RawGet);

void BM_GencacheHit(benchmark::State& state) {
  gencache::bench::read_pages_through_cache(state, world().cache, kRoundTrips);
}
BENCHMARK(BM_GencacheHit)->ArgName("namespaces")->Arg(1)->Arg(3);

// ---- bumps -------------------------------------------------------------------------------

void BM_RawIncr(benchmark::State& state) {
  RawRedis& raw = world().raw;
  for (auto _ : state) {
    const Reply reply = raw.run({"INCR", "raw:counter"});
    benchmark::DoNotOptimize(reply->integer);
  }
}
BENCHMARK(BM_RawIncr);

void BM_BumpNamespace(benchmark::State& state) {
  World& w = world();
  HitCheck check(state, w.cache, kRoundTrips);
  for (auto _ : state) benchmark::DoNotOptimize(w.cache.bump_namespace(gencache::ns("user", 7)));
}
BENCHMARK(BM_BumpNamespace);

}  // namespace
