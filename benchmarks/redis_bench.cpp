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
#include "support/redis_server.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kValueSize = 512;
constexpr int kPages = 100;  // hot keys the read benchmarks cycle through

const std::string& value_512() {
  static const std::string value(kValueSize, 'v');
  return value;
}

std::string page_key(int page) {
  return fmt::format("/dashboard?page={}", page);
}

gencache::NamespaceSet namespaces(int count) {
  if (count == 1) return gencache::ns("user", 42);
  return {gencache::ns("user", 42), gencache::ns("org", 7), gencache::ns("catalog")};
}

struct ReplyFree {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// A raw blocking hiredis connection, as an application without gencache would use it.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : context_(redisConnect("127.0.0.1", port)) {
    if (context_ == nullptr || context_->err != 0)
      throw std::runtime_error(fmt::format("raw hiredis cannot connect to port {}", port));
  }
  ~RawClient() { redisFree(context_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // One command; throws on an I/O failure or an error reply.
  Reply run(const std::vector<std::string_view>& args) {
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    for (std::string_view arg : args) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    Reply reply(static_cast<redisReply*>(redisCommandArgv(context_, static_cast<int>(args.size()),
                                                          pointers.data(), lengths.data())));
    if (reply == nullptr)
      throw std::runtime_error(fmt::format("raw hiredis: {}", context_->errstr));
    if (reply->type == REDIS_REPLY_ERROR)
      throw std::runtime_error(fmt::format("raw hiredis: {}", reply->str));
    return reply;
  }

 private:
  redisContext* context_;
};

// One redis-server for the whole program, started on first use from the main thread (the
// fixture requires the thread that starts it to outlive it) and killed at exit.
struct World {
  gencache::test::RedisServer server;
  RawClient raw{server.port()};
  gencache::Cache cache =
      gencache::Cache::from_url(gencache::test::redis_url(server, "", "io_timeout=1s"));

  World() {
    for (int page = 0; page < kPages; ++page) {
      raw.run({"SET", "raw:" + page_key(page), value_512()});
      cache.set(page_key(page), namespaces(1), value_512(), 1h);
      cache.set(page_key(page), namespaces(3), value_512(), 1h);
    }
    raw.run({"SET", "raw:counter", "4242"});
  }
};

World& world() {
  static World instance;
  return instance;
}

// Adds round trips per iteration, and fails the run if the backend failed or a hit missed.
class CacheCheck {
 public:
  CacheCheck(benchmark::State& state, gencache::Cache& cache)
      : state_(state), cache_(cache), before_(cache.stats()) {}
  ~CacheCheck() {
    const gencache::Stats after = cache_.stats();
    if (after.errors != before_.errors) state_.SkipWithError("the backend failed");
    if (after.computes != before_.computes || after.misses != before_.misses)
      state_.SkipWithError("a read expected to hit missed");
    state_.counters["round_trips"] =
        benchmark::Counter(static_cast<double>(after.round_trips - before_.round_trips),
                           benchmark::Counter::kAvgIterations);
  }

 private:
  benchmark::State& state_;
  gencache::Cache& cache_;
  gencache::Stats before_;
};

// ---- reads -------------------------------------------------------------------------------

void BM_RawGet(benchmark::State& state) {
  RawClient& raw = world().raw;
  std::vector<std::string> keys;
  for (int page = 0; page < kPages; ++page) keys.push_back("raw:" + page_key(page));
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
  World& w = world();
  const gencache::NamespaceSet set = namespaces(static_cast<int>(state.range(0)));
  std::vector<std::string> keys;
  for (int page = 0; page < kPages; ++page) keys.push_back(page_key(page));
  CacheCheck check(state, w.cache);
  std::size_t i = 0;
  for (auto _ : state) {
    std::string value =
        w.cache.cached(keys[i++ % keys.size()], set, 1h, [] { return std::string("computed"); });
    benchmark::DoNotOptimize(value.data());
  }
}
BENCHMARK(BM_GencacheHit)->ArgName("namespaces")->Arg(1)->Arg(3);

// ---- bumps -------------------------------------------------------------------------------

void BM_RawIncr(benchmark::State& state) {
  RawClient& raw = world().raw;
  for (auto _ : state) {
    const Reply reply = raw.run({"INCR", "raw:counter"});
    benchmark::DoNotOptimize(reply->integer);
  }
}
BENCHMARK(BM_RawIncr);

void BM_BumpNamespace(benchmark::State& state) {
  World& w = world();
  CacheCheck check(state, w.cache);
  for (auto _ : state) benchmark::DoNotOptimize(w.cache.bump_namespace(gencache::ns("user", 7)));
}
BENCHMARK(BM_BumpNamespace);

}  // namespace
