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
#include "support/redis_server.hpp"

namespace {

using gencache::bench::HitCheck;
using gencache::bench::kValueSize;

// The round trips per iteration of the Cache's calls.
constexpr const char* kRoundTrips = "round_trips";

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
  RawClient& raw = world().raw;
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
  RawClient& raw = world().raw;
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
