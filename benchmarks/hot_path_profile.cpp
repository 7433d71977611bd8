// Hot paths in a loop, for counting instructions with callgrind: unlike time, the count
// does not depend on the machine's load, so it compares before and after a change exactly.
//
//   valgrind --tool=callgrind --toggle-collect='measured_*' \
//       build/release/benchmarks/hot_path_profile cached_hit_1ns 20000
//
// Instructions per operation = callgrind's "Collected" / the operation count. Only the
// measured_* functions are collected; setup and a warm-up pass are not. scripts/bench
// runs every path and reports the counts in benchmarks/RESULTS.md.
//
// The memcached_* paths start their own memcached and count the client's instructions
// only (in user space: not the kernel's share of each round trip, not the server's), for
// gencache beside raw libmemcached doing the same read. memcached_async_read_64 is the
// asynchronous meta client's single-key read with 64 in flight on one connection, as
// meta_bench's BM_AsyncRead/in_flight:64/connections:1 runs it; memcached_async_read_1 the
// same with one in flight (BM_AsyncRead/in_flight:1, beside BM_RawGet's memcached_raw_get).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <libmemcached-1.0/memcached.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

// callgrind comes with its header (Debian's valgrind package): the counts are zeroed after
// each warm-up pass, so that only the measured pass is reported.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define GENCACHE_WARMED_UP() CALLGRIND_ZERO_STATS
#else
#define GENCACHE_WARMED_UP() ((void)0)
#endif

#include "backends/memory/in_process_store.hpp"
#include "gencache/async_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "in_process_path.hpp"
#include "support/memcached_server.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int kKeys = 10'000;
constexpr std::size_t kValueSize = 512;
constexpr std::size_t kBatch = 100;

struct Fixture {
  std::shared_ptr<gencache::MemoryBackend> backend = std::make_shared<gencache::MemoryBackend>();
  gencache::Cache cache{backend};
  std::vector<std::string> keys;
  std::vector<gencache::NamespaceSet> sets;

  explicit Fixture(int namespace_count) {
    for (int i = 0; i < kKeys; ++i) {
      keys.push_back("/api/users/" + std::to_string(i % 97) +
                     "/dashboard?page=" + std::to_string(i));
      if (namespace_count == 1) {
        sets.emplace_back(gencache::ns("user", i % 97));
      } else {
        sets.push_back(
            {gencache::ns("user", i % 97), gencache::ns("org", i % 7), gencache::ns("catalog")});
      }
      cache.set(keys.back(), sets.back(), std::string(kValueSize, 'v'), 1h);
    }
  }
};

}  // namespace

// Not static and not inlined, so that callgrind's --toggle-collect finds them by name.
__attribute__((noinline)) std::size_t measured_cached_hit(Fixture& f, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const int k = i % kKeys;
    bytes += f.cache.cached(f.keys[k], f.sets[k], 1h, [] { return std::string("miss"); }).size();
  }
  return bytes;
}

namespace {
// The coroutine of measured_async_cached_hit, named apart: callgrind's --toggle-collect
// flips collection at every function whose name matches, a lambda inside it included.
boost::asio::awaitable<void> awaited_hits(gencache::AsyncCache& cache, Fixture& f, int n,
                                          std::size_t& bytes) {
  for (int i = 0; i < n; ++i) {
    const int k = i % kKeys;
    const std::string v = co_await cache.async_cached(
        f.keys[k], f.sets[k], 1h, [] { return std::string("miss"); }, boost::asio::use_awaitable);
    bytes += v.size();
  }
}
}  // namespace

// The same hits through an AsyncCache on the Fixture's backend, awaited one after another
// in one coroutine on a one-thread io_context (as async_cache_bench does).
__attribute__((noinline)) std::size_t measured_async_cached_hit(Fixture& f, int n) {
  boost::asio::io_context io(1);
  gencache::AsyncCache cache(io.get_executor(), f.backend);
  std::size_t bytes = 0;
  boost::asio::co_spawn(io, awaited_hits(cache, f, n, bytes), boost::asio::detached);
  io.run();
  return bytes;
}

__attribute__((noinline)) std::size_t measured_get_hit(Fixture& f, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const int k = i % kKeys;
    bytes += f.cache.get(f.keys[k], f.sets[k]).value_or("").size();
  }
  return bytes;
}

__attribute__((noinline)) std::size_t measured_get_many(Fixture& f, int n) {
  // 100 keys of user:0 (every 97th key).
  std::vector<std::string> batch;
  for (std::size_t i = 0; batch.size() < kBatch; i += 97) batch.push_back(f.keys[i]);
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i)
    for (const auto& value : f.cache.get_many(std::span<const std::string>(batch), f.sets[0]))
      bytes += value.value_or("").size();
  return bytes;
}

__attribute__((noinline)) std::size_t measured_backend_hit(gencache::MemoryBackend& backend,
                                                           const std::vector<std::string>& keys,
                                                           int n) {
  std::vector<std::optional<std::string>> values;
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const std::string_view key[] = {keys[static_cast<std::size_t>(i % kKeys)]};
    backend.get_many(key, values);
    bytes += values[0]->size();
  }
  return bytes;
}

// The in-process store alone under the Cache's entries: the lookup by identity, the
// generation compares and the payload copied into a new entry (a new string, as the map's).
__attribute__((noinline)) std::size_t measured_store_hit(gencache::detail::InProcessStore& store,
                                                         const std::vector<std::string>& identities,
                                                         std::size_t namespaces, int n) {
  std::size_t bytes = 0;
  std::uint64_t generations[3] = {};
  for (int i = 0; i < n; ++i) {
    gencache::detail::Entry entry;
    if (store.find(identities[static_cast<std::size_t>(i % kKeys)],
                   std::span(generations, namespaces), entry))
      bytes += entry.payload.size();
  }
  return bytes;
}

// The floor the in-process comparison is against: find + copy into a new string.
__attribute__((noinline)) std::size_t measured_flat_map(
    const boost::unordered_flat_map<std::string, std::string>& map,
    const std::vector<std::string>& keys, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const std::string value = map.find(keys[static_cast<std::size_t>(i % kKeys)])->second;
    bytes += value.size();
  }
  return bytes;
}

__attribute__((noinline)) std::size_t measured_bump(Fixture& f, int n) {
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i) sum += f.cache.bump_namespace(gencache::ns("user", 42)) & 1;
  return sum;
}

// ---- Memcached: the client's side of a read ----

struct MemcachedFixture {
  gencache::test::MemcachedServer server{{.memory_mb = 64, .threads = 1}};
  gencache::Cache cache = gencache::Cache::from_url(gencache::test::memcached_url({&server}));
  memcached_st* raw = memcached_create(nullptr);
  const gencache::NamespaceSet user{gencache::ns("user", 42)};
  std::vector<std::string> keys;      // the user's keys
  std::vector<std::string> raw_keys;  // the same, as a raw client stores them

  MemcachedFixture() {
    memcached_server_add(raw, "127.0.0.1", server.port());
    const std::string value(kValueSize, 'v');
    for (std::size_t i = 0; i < kBatch; ++i) {
      keys.push_back("/page?" + std::to_string(i));
      raw_keys.push_back("raw:" + keys.back());
      memcached_set(raw, raw_keys.back().data(), raw_keys.back().size(), value.data(), value.size(),
                    0, 0);
      cache.set(keys.back(), user, value, 1h);
    }
  }
  ~MemcachedFixture() { memcached_free(raw); }
  MemcachedFixture(const MemcachedFixture&) = delete;
  MemcachedFixture& operator=(const MemcachedFixture&) = delete;
};

__attribute__((noinline)) std::size_t measured_memcached_raw_get(MemcachedFixture& f, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const std::string& key = f.raw_keys[static_cast<std::size_t>(i) % kBatch];
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc;
    char* value = memcached_get(f.raw, key.data(), key.size(), &length, &flags, &rc);
    // Copied into a std::string, as the Cache hands its value back.
    const std::string copy(value, value == nullptr ? 0 : length);
    std::free(value);
    bytes += copy.size();
  }
  return bytes;
}

__attribute__((noinline)) std::size_t measured_memcached_hit(MemcachedFixture& f, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    const std::string& key = f.keys[static_cast<std::size_t>(i) % kBatch];
    bytes += f.cache.cached(key, f.user, 1h, [] { return std::string("miss"); }).size();
  }
  return bytes;
}

__attribute__((noinline)) std::size_t measured_memcached_raw_mget(MemcachedFixture& f, int n) {
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  for (const std::string& key : f.raw_keys) {
    pointers.push_back(key.data());
    lengths.push_back(key.size());
  }
  memcached_result_st result;
  memcached_result_create(f.raw, &result);
  std::vector<std::string> values;
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    values.clear();
    memcached_return_t rc = memcached_mget(f.raw, pointers.data(), lengths.data(), kBatch);
    while (memcached_fetch_result(f.raw, &result, &rc) != nullptr)
      values.emplace_back(memcached_result_value(&result), memcached_result_length(&result));
    for (const std::string& value : values) bytes += value.size();
  }
  memcached_result_free(&result);
  return bytes;
}

__attribute__((noinline)) std::size_t measured_memcached_get_many(MemcachedFixture& f, int n) {
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i)
    for (const auto& value : f.cache.get_many(std::span<const std::string>(f.keys), f.user))
      bytes += value.value_or("").size();
  return bytes;
}

namespace {

struct CountingVisitor final : gencache::ValueVisitor {
  std::size_t bytes = 0;
  void found(std::size_t, std::string_view value) noexcept override { bytes += value.size(); }
};

// A sliding window of reads on the asynchronous meta client: each completion starts the
// next until `total` have been started. Named apart from measured_*, as awaited_hits is.
struct AsyncReadWindow {
  gencache::AsyncBackend& backend;
  const std::vector<std::string>& keys;
  std::size_t total;
  std::size_t in_flight;
  std::size_t started = 0;
  std::size_t failures = 0;
  CountingVisitor visitor;
  std::vector<std::string_view> key_views = std::vector<std::string_view>(keys.begin(), keys.end());

  void start_one() {
    const std::size_t i = started++;
    backend.async_visit_many(std::span(&key_views[i % key_views.size()], 1), visitor,
                             [this](std::exception_ptr failure) {
                               if (failure) ++failures;
                               if (started < total) start_one();
                             });
  }
  void run(boost::asio::io_context& io) {
    while (started < std::min(total, in_flight)) start_one();
    io.restart();
    io.run();  // until the last read completes: an idle connection holds no work
  }
};

struct AsyncMemcachedFixture {
  MemcachedFixture memcached;
  boost::asio::io_context io{1};
  std::shared_ptr<gencache::AsyncBackend> backend = [this] {
    gencache::MemcachedAsyncOptions options;
    options.servers = {memcached.server.address()};
    options.io_timeout = 10s;  // the client runs under callgrind, some 50 times slower
    options.connect_timeout = 10s;
    return gencache::make_memcached_async_backend(io.get_executor(), options);
  }();
};

}  // namespace

__attribute__((noinline)) std::size_t measured_memcached_async_read(AsyncMemcachedFixture& f,
                                                                    int n,
                                                                    std::size_t in_flight) {
  AsyncReadWindow window{*f.backend, f.memcached.raw_keys, static_cast<std::size_t>(n),
                         in_flight};
  window.run(f.io);
  if (window.failures > 0) {
    std::fprintf(stderr, "hot_path_profile: %zu of %d async reads failed\n", window.failures, n);
    std::exit(1);
  }
  return window.visitor.bytes;
}

int main(int argc, char** argv) {
  const std::string_view path = argc > 1 ? argv[1] : "";
  const int n = argc > 2 ? std::atoi(argv[2]) : 20'000;
  std::size_t result = 0;
  if (path == "cached_hit_1ns" || path == "cached_hit_3ns" || path == "get_hit" || path == "bump" ||
      path == "async_cached_hit_1ns") {
    Fixture f(path == "cached_hit_3ns" ? 3 : 1);
    auto run = path == "get_hit"                ? measured_get_hit
               : path == "bump"                 ? measured_bump
               : path == "async_cached_hit_1ns" ? measured_async_cached_hit
                                                : measured_cached_hit;
    run(f, 1000);  // warm: hints, allocator
    GENCACHE_WARMED_UP();
    result = run(f, n);
  } else if (path == "store_hit_1ns" || path == "store_hit_3ns") {
    const std::size_t count = path == "store_hit_3ns" ? 3 : 1;
    Fixture f(static_cast<int>(count));
    gencache::detail::InProcessStore store(
        dynamic_cast<gencache::MemoryBackend&>(f.cache.backend()));
    std::vector<std::string> identities;
    for (int i = 0; i < kKeys; ++i)
      identities.push_back(gencache::detail::InProcessPath::identity("", f.keys[i], f.sets[i]));
    measured_store_hit(store, identities, count, 1000);
    GENCACHE_WARMED_UP();
    result = measured_store_hit(store, identities, count, n);
  } else if (path == "get_many_100") {
    Fixture f(1);
    measured_get_many(f, 10);
    GENCACHE_WARMED_UP();
    result = measured_get_many(f, n);
  } else if (path == "backend_hit_ttl") {
    gencache::MemoryBackend backend;
    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; ++i) {
      keys.push_back("bench:hot:" + std::to_string(i));
      backend.set(keys.back(), std::string(kValueSize, 'v'), 10min);
    }
    measured_backend_hit(backend, keys, 1000);
    GENCACHE_WARMED_UP();
    result = measured_backend_hit(backend, keys, n);
  } else if (path == "flat_map_find_copy") {
    Fixture f(1);
    boost::unordered_flat_map<std::string, std::string> map;
    for (const auto& key : f.keys) map.emplace(key, std::string(kValueSize, 'v'));
    measured_flat_map(map, f.keys, 1000);
    GENCACHE_WARMED_UP();
    result = measured_flat_map(map, f.keys, n);
  } else if (path == "memcached_async_read_64" || path == "memcached_async_read_1") {
    AsyncMemcachedFixture f;
    const std::size_t in_flight = path == "memcached_async_read_1" ? 1 : 64;
    measured_memcached_async_read(f, 1000, in_flight);  // warm: connection, buffers, allocator
    GENCACHE_WARMED_UP();
    result = measured_memcached_async_read(f, n, in_flight);
  } else if (path.starts_with("memcached_")) {
    MemcachedFixture f;
    auto run = path == "memcached_raw_get"    ? measured_memcached_raw_get
               : path == "memcached_hit"      ? measured_memcached_hit
               : path == "memcached_raw_mget" ? measured_memcached_raw_mget
               : path == "memcached_get_many" ? measured_memcached_get_many
                                              : nullptr;
    if (run == nullptr) {
      std::fprintf(stderr, "hot_path_profile: unknown path %.*s\n", static_cast<int>(path.size()),
                   path.data());
      return 2;
    }
    run(f, 100);  // warm: connections, hints
    GENCACHE_WARMED_UP();
    result = run(f, n);
  } else {
    std::fprintf(stderr,
                 "usage: hot_path_profile PATH [COUNT]\n"
                 "PATH: cached_hit_1ns cached_hit_3ns async_cached_hit_1ns get_hit get_many_100\n"
                 "      backend_hit_ttl bump\n"
                 "      store_hit_1ns store_hit_3ns\n"
                 "      flat_map_find_copy memcached_raw_get memcached_hit memcached_raw_mget\n"
                 "      memcached_get_many memcached_async_read_64 memcached_async_read_1\n");
    return 2;
  }
  std::printf("%zu\n", result);
  return 0;
}
