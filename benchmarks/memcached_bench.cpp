// gencache on Memcached beside raw libmemcached doing the same work, in one run against one
// memcached (one worker thread, -t 1) started on a loopback port by the program itself.
//
//   reads:      memcached_get of a 512 B value vs a gencache hit with 1 and 3 namespaces
//   naive:      the textbook two-round-trip scheme (get the counter, then the value)
//   bump:       bump_namespace vs memcached_increment, with 10^4, 10^5, 10^6 entries cached
//   wrapper:    cached_call vs hand-written get / compute / set
//   batch:      Cache::get_many of 100 entries vs one raw mget of 100 keys, and vs a raw
//               mget of the very keys the Cache reads (its versioned keys and counter)
//
// Run by scripts/bench, which turns the JSON into benchmarks/RESULTS.md.
#include <libmemcached-1.0/memcached.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench_support.hpp"
#include "envelope.hpp"
#include "gencache/cached_call.hpp"
#include "gencache/testing.hpp"
#include "page_reads.hpp"
#include "support/memcached_server.hpp"

namespace {

using namespace std::chrono_literals;
using gencache::bench::fill_size;
using gencache::bench::HitCheck;
using gencache::bench::kPages;
using gencache::bench::kValueSize;
using gencache::bench::MemcachedLoader;
using gencache::bench::namespaces;
using gencache::bench::page_key;
using gencache::bench::smoke_mode;
using gencache::bench::value_512;

constexpr int kBatch = 100;       // entries per batch read
constexpr int kFillUsers = 1000;  // namespaces the bump benchmarks' entries spread over

// The keys of the batch benchmarks.
std::string list_key(int item) {
  return fmt::format("/list?item={}", item);
}

// A raw libmemcached handle with the behaviours gencache's backend uses.
class RawClient {
 public:
  explicit RawClient(const gencache::test::MemcachedServer& server) {
    const std::string config = fmt::format("--SERVER={} --TCP-NODELAY", server.address());
    memc_ = memcached(config.data(), config.size());
    if (memc_ == nullptr) throw std::runtime_error("libmemcached rejected " + config);
  }
  ~RawClient() { memcached_free(memc_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  memcached_st* get() const { return memc_; }

  void set(std::string_view key, std::string_view value) const {
    const memcached_return_t rc =
        memcached_set(memc_, key.data(), key.size(), value.data(), value.size(), 0, 0);
    if (rc != MEMCACHED_SUCCESS)
      throw std::runtime_error(fmt::format("raw set failed: {}", memcached_strerror(memc_, rc)));
  }

 private:
  memcached_st* memc_ = nullptr;
};

// One memcached for the whole program, started on first use from the main thread (the
// fixture requires the thread that starts it to outlive it) and killed at exit.
struct World {
  gencache::test::MemcachedServer server{{.memory_mb = smoke_mode() ? 64u : 1024u, .threads = 1}};
  RawClient raw{server};
  // A generous io_timeout: on a loaded machine a stalled read should be slow, not a miss.
  gencache::Cache cache =
      gencache::Cache::from_url(gencache::test::memcached_url({&server}, "io_timeout=2s"));
  std::size_t filled = 0;  // entries loaded for the bump benchmarks so far

  World() {
    gencache::bench::load_pages(
        cache, [&](std::string_view key, std::string_view value) { raw.set(key, value); });
    for (int item = 0; item < kBatch; ++item) {
      const std::string key = list_key(item);
      raw.set("raw:" + key, value_512());
      cache.set(key, namespaces(1), value_512(), 1h);
    }
  }

  // Loads gencache entries (512 B values in their envelopes, under the versioned keys of
  // kFillUsers user namespaces at their current generations) until `entries` are cached.
  void fill_to(std::size_t entries) {
    if (filled >= entries) return;
    std::vector<std::uint64_t> generations;
    for (int user = 0; user < kFillUsers; ++user)
      generations.push_back(cache.generation(gencache::ns("user", user)));
    gencache::detail::Entry entry;
    entry.payload = value_512();
    entry.created = std::chrono::system_clock::now();
    entry.ttl = 1h;
    const std::string envelope = gencache::detail::encode_envelope(entry);
    MemcachedLoader loader(server.port());
    for (; filled < entries; ++filled) {
      const int user = static_cast<int>(filled % kFillUsers);
      const std::uint64_t generation = generations[static_cast<std::size_t>(user)];
      const std::string key =
          cache.versioned_key(page_key(static_cast<int>(filled / kFillUsers)),
                              gencache::ns("user", user), std::span(&generation, 1));
      loader.set(key, envelope);
    }
    loader.sync();
  }

  std::uint64_t server_stat(std::string_view name) {
    MemcachedLoader connection(server.port());
    return connection.stat(name);
  }
};

World& world() {
  static World instance;
  return instance;
}

// The round trips per iteration of the Cache's reads, as benchmarks/report.py reads them.
constexpr const char* kRoundTrips = "round_trips_per_read";

// ---- 1. reads ----------------------------------------------------------------------------

void BM_RawGet(benchmark::State& state) {
  memcached_st* memc = world().raw.get();
  const std::vector<std::string> keys = gencache::bench::page_keys("raw:");
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i++ % keys.size()];
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc;
    char* value = memcached_get(memc, key.data(), key.size(), &length, &flags, &rc);
    if (value == nullptr) {
      state.SkipWithError("raw get missed");
      break;
    }
    benchmark::DoNotOptimize(value);
    std::free(value);
  }
}
BENCHMARK(BM_RawGet)->UseRealTime();

void BM_GencacheHit(benchmark::State& state) {
  gencache::bench::read_pages_through_cache(state, world().cache, kRoundTrips);
}
BENCHMARK(BM_GencacheHit)->ArgName("namespaces")->Arg(1)->Arg(3)->UseRealTime();

// ---- 2. the textbook scheme: two round trips --------------------------------------------

void BM_NaiveTwoRoundTrips(benchmark::State& state) {
  World& w = world();
  memcached_st* memc = w.raw.get();
  const std::string counter = "naive:ns:user:42";
  w.raw.set(counter, "4242");
  for (int page = 0; page < kPages; ++page)
    w.raw.set(fmt::format("naive:k:user:42@4242|{}", page_key(page)), value_512());
  std::size_t i = 0;
  for (auto _ : state) {
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc;
    char* generation = memcached_get(memc, counter.data(), counter.size(), &length, &flags, &rc);
    if (generation == nullptr) {
      state.SkipWithError("naive counter missed");
      break;
    }
    const std::string key = fmt::format("naive:k:user:42@{}|/dashboard?page={}",
                                        std::string_view(generation, length), i++ % kPages);
    std::free(generation);
    char* value = memcached_get(memc, key.data(), key.size(), &length, &flags, &rc);
    if (value == nullptr) {
      state.SkipWithError("naive value missed");
      break;
    }
    benchmark::DoNotOptimize(value);
    std::free(value);
  }
}
BENCHMARK(BM_NaiveTwoRoundTrips)->UseRealTime();

// ---- 6. wrapper overhead on Memcached ----------------------------------------------------

std::string render(int page) {
  return std::string(kValueSize, static_cast<char>('a' + page % 26));
}

void BM_CachedCallHit(benchmark::State& state) {
  World& w = world();
  auto handler = gencache::cached_call(
      w.cache, [](int page) { return "call?" + std::to_string(page); },
      [](int) { return gencache::ns("user", 42); }, 1h, &render);
  for (int page = 0; page < kPages; ++page) handler(page);
  HitCheck check(state, w.cache, kRoundTrips);
  int page = 0;
  for (auto _ : state) {
    std::string value = handler(page++ % kPages);
    benchmark::DoNotOptimize(value.data());
  }
}
BENCHMARK(BM_CachedCallHit)->UseRealTime();

void BM_HandWrittenGetComputeSet(benchmark::State& state) {
  World& w = world();
  auto call = [&](int page) {
    const std::string key = "call?" + std::to_string(page);
    if (auto hit = w.cache.get(key, gencache::ns("user", 42))) return std::move(*hit);
    std::string value = render(page);
    w.cache.set(key, gencache::ns("user", 42), value, 1h);
    return value;
  };
  for (int page = 0; page < kPages; ++page) call(page);
  HitCheck check(state, w.cache, kRoundTrips);
  int page = 0;
  for (auto _ : state) {
    std::string value = call(page++ % kPages);
    benchmark::DoNotOptimize(value.data());
  }
}
BENCHMARK(BM_HandWrittenGetComputeSet)->UseRealTime();

// ---- 7. batch reads ----------------------------------------------------------------------

// One raw mget of `keys` per iteration, copying each value out as the Cache does.
void raw_mget(benchmark::State& state, const std::vector<std::string>& keys) {
  memcached_st* memc = world().raw.get();
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  for (const std::string& key : keys) {
    pointers.push_back(key.data());
    lengths.push_back(key.size());
  }
  memcached_result_st result;
  memcached_result_create(memc, &result);
  std::vector<std::string> values;
  for (auto _ : state) {
    values.clear();
    memcached_return_t rc = memcached_mget(memc, pointers.data(), lengths.data(), keys.size());
    while (memcached_fetch_result(memc, &result, &rc) != nullptr)
      values.emplace_back(memcached_result_value(&result), memcached_result_length(&result));
    if (values.size() != keys.size()) {
      state.SkipWithError("raw mget missed");
      break;
    }
    benchmark::DoNotOptimize(values.data());
  }
  memcached_result_free(&result);
  double key_bytes = 0;
  for (const std::string& key : keys) key_bytes += static_cast<double>(key.size());
  state.counters["key_bytes"] = key_bytes / static_cast<double>(keys.size());
}

// What a user without gencache reads: the same 100 keys, prefixed.
void BM_RawMget(benchmark::State& state) {
  std::vector<std::string> keys;
  for (int item = 0; item < kBatch; ++item) keys.push_back("raw:" + list_key(item));
  raw_mget(state, keys);
}
BENCHMARK(BM_RawMget)->ArgName("keys")->Arg(kBatch)->UseRealTime();

// The very keys a steady-state Cache::get_many reads: the namespace's counter and the 100
// versioned keys. Against this, the difference is the Cache's own work (key building,
// envelope checks), not the longer keys' cost in libmemcached and in the server.
void BM_RawMgetOfTheCachesKeys(benchmark::State& state) {
  World& w = world();
  const gencache::NamespaceSet set = namespaces(1);
  std::vector<std::uint64_t> generations;
  for (const gencache::Namespace& n : set) generations.push_back(w.cache.generation(n));
  std::vector<std::string> keys{gencache::testing::counter_key(set[0])};
  for (int item = 0; item < kBatch; ++item)
    keys.push_back(w.cache.versioned_key(list_key(item), set, generations));
  raw_mget(state, keys);
}
BENCHMARK(BM_RawMgetOfTheCachesKeys)->ArgName("keys")->Arg(kBatch + 1)->UseRealTime();

void BM_GencacheGetMany(benchmark::State& state) {
  gencache::Cache& cache = world().cache;
  std::vector<std::string> keys;
  for (int item = 0; item < kBatch; ++item) keys.push_back(list_key(item));
  const gencache::NamespaceSet set = namespaces(1);
  cache.get_many(std::span<const std::string>(keys), set);  // hints warm
  const gencache::Stats before = cache.stats();
  for (auto _ : state) {
    auto values = cache.get_many(std::span<const std::string>(keys), set);
    benchmark::DoNotOptimize(values.data());
  }
  const gencache::Stats after = cache.stats();
  if (after.misses != before.misses) state.SkipWithError("a batch read expected to hit missed");
  state.counters[kRoundTrips] =
      benchmark::Counter(static_cast<double>(after.round_trips - before.round_trips),
                         benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_GencacheGetMany)->ArgName("keys")->Arg(kBatch)->UseRealTime();

// ---- 3. invalidation with many entries cached ---------------------------------------------

void add_fill_counters(benchmark::State& state, std::size_t entries) {
  World& w = world();
  state.counters["entries_cached"] = static_cast<double>(w.server_stat("curr_items"));
  state.counters["evictions"] = static_cast<double>(w.server_stat("evictions"));
  state.counters["entries_target"] = static_cast<double>(entries);
}

void BM_RawIncrement(benchmark::State& state, std::size_t entries) {
  World& w = world();
  w.fill_to(entries);
  memcached_st* memc = w.raw.get();
  const std::string counter = "raw:counter";
  w.raw.set(counter, "4294967296");
  for (auto _ : state) {
    std::uint64_t value = 0;
    if (memcached_increment(memc, counter.data(), counter.size(), 1, &value) != MEMCACHED_SUCCESS) {
      state.SkipWithError("raw increment failed");
      break;
    }
    benchmark::DoNotOptimize(value);
  }
  add_fill_counters(state, entries);
}

void BM_BumpNamespace(benchmark::State& state, std::size_t entries) {
  World& w = world();
  w.fill_to(entries);
  const gencache::Namespace user = gencache::ns("user", 42);
  std::error_code error;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.cache.bump_namespace(user, error));
    if (error) {
      state.SkipWithError(("bump failed: " + error.message()).c_str());
      break;
    }
  }
  add_fill_counters(state, entries);
}

// Registered size by size, each size's pair together: the fill only grows, so both
// sides of a comparison see the same number of entries.
const bool registered_bump_benchmarks = [] {
  for (const std::size_t target :
       {std::size_t{10'000}, std::size_t{100'000}, std::size_t{1'000'000}}) {
    const std::size_t entries = fill_size(target);
    benchmark::RegisterBenchmark(fmt::format("BM_RawIncrement/entries:{}", target).c_str(),
                                 BM_RawIncrement, entries)
        ->UseRealTime();
    benchmark::RegisterBenchmark(fmt::format("BM_BumpNamespace/entries:{}", target).c_str(),
                                 BM_BumpNamespace, entries)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
