// Micro-benchmarks of the memory backend against the two baselines its targets are set
// by: a bare boost::unordered_flat_map (no locking, no expiry: the floor) and a single
// mutex around std::unordered_map (the obvious thread-safe design).
//
// Targets: a hit <= 1.5x the bare map's find + copy; 2 threads >= 1.7x the throughput
// of 1; overhead_bytes_per_entry <= 64. Compare items_per_second across rows.

#include <malloc.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include "backends/memory/in_process_store.hpp"
#include "gencache/memory_backend.hpp"

namespace {

constexpr std::size_t kHotKeys = 10'000;
constexpr std::size_t kValueSize = 512;
// A stride coprime with kHotKeys walks every key in a cache-unfriendly order.
constexpr std::size_t kStride = 7919;

const std::vector<std::string>& hot_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> made;
    for (std::size_t i = 0; i < kHotKeys; ++i) made.push_back(fmt::format("bench:hot:{:08}", i));
    return made;
  }();
  return keys;
}

const std::string& hot_value() {
  static const std::string value(kValueSize, 'v');
  return value;
}

gencache::MemoryBackend& filled_backend(std::chrono::milliseconds ttl) {
  auto fill = [](std::chrono::milliseconds fill_ttl) {
    auto backend = std::make_unique<gencache::MemoryBackend>();
    for (const auto& key : hot_keys()) backend->set(key, hot_value(), fill_ttl);
    return backend;
  };
  static const auto without_ttl = fill(std::chrono::milliseconds(0));
  static const auto with_ttl = fill(std::chrono::minutes(10));
  return ttl.count() == 0 ? *without_ttl : *with_ttl;
}

std::size_t first_key(const benchmark::State& state) {
  return static_cast<std::size_t>(state.thread_index()) * (kHotKeys / 2);
}

void run_backend_hits(benchmark::State& state, gencache::MemoryBackend& backend) {
  const auto& keys = hot_keys();
  std::vector<std::optional<std::string>> values;
  std::size_t i = first_key(state);
  for (auto _ : state) {
    const std::string_view key[] = {keys[i]};
    backend.get_many(key, values);
    benchmark::DoNotOptimize(values.front()->data());
    i = (i + kStride) % kHotKeys;
  }
  state.SetItemsProcessed(state.iterations());
}

// One hot key per iteration through the Backend interface; the output vector is reused,
// as the Cache does, so the copy lands in existing capacity.
void BM_MemoryBackendHit(benchmark::State& state) {
  run_backend_hits(state, filled_backend(std::chrono::milliseconds(0)));
}
BENCHMARK(BM_MemoryBackendHit)->Threads(1)->Threads(2)->UseRealTime();

// The same with a TTL on every item: each hit also reads the system clock.
void BM_MemoryBackendHitWithTtl(benchmark::State& state) {
  run_backend_hits(state, filled_backend(std::chrono::minutes(10)));
}
BENCHMARK(BM_MemoryBackendHitWithTtl)->Threads(1)->Threads(2)->UseRealTime();

// The store under memory://'s in-process path: one lookup by the entry's identity, one
// compare per namespace against its live generation cell, the payload copied out into a
// reused Entry. 1 namespace (one of 97 users) or 3 (user, org, catalog), as cache_bench.
struct InProcessFixture {
  gencache::MemoryBackend backend;
  gencache::detail::InProcessStore store{backend};
  std::vector<std::string> identities;
  std::size_t namespaces;

  explicit InProcessFixture(std::size_t namespace_count) : namespaces(namespace_count) {
    using gencache::detail::CounterState;
    for (std::size_t i = 0; i < kHotKeys; ++i) {
      std::vector<std::string> counters{fmt::format("gc1:n:user:{}", i % 97)};
      if (namespace_count == 3) {
        counters.push_back(fmt::format("gc1:n:org:{}", i % 7));
        counters.push_back("gc1:n:catalog");
      }
      std::vector<std::uint64_t> generations;
      for (const auto& counter : counters) {
        CounterState state{};
        generations.push_back(store.generation(counter, std::chrono::milliseconds(0), state));
      }
      // As the Cache's identity: the key and the namespaces' names, length-prefixed.
      std::string identity = hot_keys()[i];
      for (const auto& counter : counters) identity += "|" + counter.substr(6);
      store.store(identity, counters, generations,
                  {.created = gencache::Clock::time_point(std::chrono::seconds(1)),
                   .ttl = std::chrono::hours(1)},
                  hot_value(), std::chrono::hours(1));
      identities.push_back(std::move(identity));
    }
  }
};

void BM_InProcessStoreHit(benchmark::State& state) {
  // Each built on first use only (thread-safely), so the 1-namespace rows run without the
  // other's entries in the cache hierarchy.
  InProcessFixture& f = [&]() -> InProcessFixture& {
    if (state.range(0) == 1) {
      static InProcessFixture one(1);
      return one;
    }
    static InProcessFixture three(3);
    return three;
  }();
  std::array<std::uint64_t, 3> generations{};
  gencache::detail::Entry entry;
  std::size_t i = first_key(state);
  for (auto _ : state) {
    const bool hit =
        f.store.find(f.identities[i], std::span(generations.data(), f.namespaces), entry);
    benchmark::DoNotOptimize(hit);
    benchmark::DoNotOptimize(entry.payload.data());
    i = (i + kStride) % kHotKeys;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InProcessStoreHit)
    ->ArgName("namespaces")
    ->Arg(1)
    ->Arg(3)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// The floor: find + copy into a reused string, no lock (reads of a const map only).
void BM_FlatMapFindCopy(benchmark::State& state) {
  static const auto map = [] {
    boost::unordered_flat_map<std::string, std::string> made;
    for (const auto& key : hot_keys()) made.emplace(key, hot_value());
    return made;
  }();
  const auto& keys = hot_keys();
  std::string out;
  std::size_t i = first_key(state);
  for (auto _ : state) {
    out = map.find(keys[i])->second;
    benchmark::DoNotOptimize(out.data());
    i = (i + kStride) % kHotKeys;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlatMapFindCopy)->Threads(1)->Threads(2)->UseRealTime();

// The obvious thread-safe design: one mutex around std::unordered_map.
void BM_MutexUnorderedMapFindCopy(benchmark::State& state) {
  static std::mutex mutex;
  static const auto map = [] {
    std::unordered_map<std::string, std::string> made;
    for (const auto& key : hot_keys()) made.emplace(key, hot_value());
    return made;
  }();
  const auto& keys = hot_keys();
  std::string out;
  std::size_t i = first_key(state);
  for (auto _ : state) {
    {
      std::lock_guard lock(mutex);
      out = map.find(keys[i])->second;
    }
    benchmark::DoNotOptimize(out.data());
    i = (i + kStride) % kHotKeys;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MutexUnorderedMapFindCopy)->Threads(1)->Threads(2)->UseRealTime();

// Writes pay for the hits' speed: a write waits for the readers in flight and scans one
// reader-count line per CPU slot. Overwrites of the hot keys with 512 B values.
void BM_MemoryBackendSet(benchmark::State& state) {
  static gencache::MemoryBackend backend;
  const auto& keys = hot_keys();
  std::size_t i = first_key(state);
  for (auto _ : state) {
    backend.set(keys[i], hot_value(), std::chrono::minutes(10));
    i = (i + kStride) % kHotKeys;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryBackendSet)->Threads(1)->Threads(2)->UseRealTime();

// A namespace bump: increment of one of 64 counters, rewritten in place.
void BM_MemoryBackendIncrement(benchmark::State& state) {
  static gencache::MemoryBackend backend;
  static const bool created = [] {
    for (int c = 0; c < 64; ++c)
      backend.create_counter(fmt::format("counter:{}", c), 1'000'000, {});
    return true;
  }();
  benchmark::DoNotOptimize(created);
  std::vector<std::string> counters;
  for (int c = 0; c < 64; ++c) counters.push_back(fmt::format("counter:{}", c));
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    benchmark::DoNotOptimize(backend.increment(counters[i % 64], 1));
    i += 7;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryBackendIncrement)->Threads(1)->Threads(2)->UseRealTime();

std::size_t heap_in_use() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;  // small chunks + mmap'ed blocks (large tables)
}

// Real heap bytes per entry beyond its key and value (item block, malloc rounding,
// index and CLOCK-ring slots), measured with glibc's mallinfo2, for 10^5 entries of a
// 16-byte key and a 64-byte value. Also the bytes the backend accounts for itself.
void BM_MemoryOverheadPerEntry(benchmark::State& state) {
  constexpr std::size_t kEntries = 100'000;
  constexpr std::size_t kKeySize = 16;
  constexpr std::size_t kEntryValueSize = 64;
  const std::string value(kEntryValueSize, 'v');
  double measured = 0;
  double accounted = 0;
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    {
      gencache::MemoryBackend backend;
      char key[kKeySize];
      for (std::size_t i = 0; i < kEntries; ++i) {
        fmt::format_to_n(key, kKeySize, "k:{:014}", i);
        backend.set(std::string_view(key, kKeySize), value, std::chrono::milliseconds(0));
      }
      const std::size_t after = heap_in_use();
      const gencache::MemoryUsage usage = backend.usage();
      if (usage.items != kEntries) state.SkipWithError("entries were evicted: raise max_bytes");
      constexpr double kPayload = kKeySize + kEntryValueSize;
      measured = static_cast<double>(after - before) / kEntries - kPayload;
      accounted = static_cast<double>(usage.bytes) / kEntries - kPayload;
    }
  }
  state.counters["overhead_bytes_per_entry"] = measured;
  state.counters["accounted_overhead_bytes_per_entry"] = accounted;
}
BENCHMARK(BM_MemoryOverheadPerEntry)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
