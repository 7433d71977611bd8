// Hostile input against a real memcached, in the ASCII protocol (where a key with a space
// or CR/LF would be command injection) and the binary one: keys and namespaces an attacker
// may choose are stored, read back and kept apart (promise 5), the server is never
// affected, foreign bytes under a gencache key are a counted miss (promise 6), and
// credentials in a URL never reach a message.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/crc.hpp>

#include "envelope.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/testing.hpp"
#include "support/backend_kinds.hpp"
#include "support/memcached_server.hpp"
#include "support/server_process.hpp"

namespace gencache {
namespace {

using namespace std::chrono_literals;
using Protocol = MemcachedOptions::Protocol;
using ::testing::HasSubstr;
using ::testing::Not;

test::MemcachedServer& shared_server() {
  static test::MemcachedServer server;
  return server;
}

std::shared_ptr<Backend> connect(const test::MemcachedServer& server, Protocol protocol) {
  MemcachedOptions options;
  options.servers = {server.address()};
  options.protocol = protocol;
  options.connect_timeout = 500ms;
  options.io_timeout = 500ms;
  return make_memcached_backend(options);
}

// The server's own counters, read with a plain "stats" command on a fresh socket, so the
// check does not depend on the client under test.
std::map<std::string, std::string> server_stats(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  const sockaddr_in address = test::loopback(port);
  std::string reply;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
      write(fd, "stats\r\n", 7) == 7) {
    char buffer[4096];
    while (!reply.ends_with("END\r\n")) {
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      reply.append(buffer, static_cast<std::size_t>(n));
    }
  }
  close(fd);
  std::map<std::string, std::string> stats;
  std::size_t begin = 0;
  for (std::size_t end; (end = reply.find("\r\n", begin)) != std::string::npos; begin = end + 2) {
    const std::string_view line(reply.data() + begin, end - begin);
    if (!line.starts_with("STAT ")) continue;
    const auto space = line.find(' ', 5);
    if (space == std::string_view::npos) continue;
    stats.emplace(line.substr(5, space - 5), line.substr(space + 1));
  }
  return stats;
}

std::optional<std::string> raw_get(Backend& backend, std::string_view key) {
  std::vector<std::optional<std::string>> values;
  const std::string_view keys[] = {key};
  backend.get_many(keys, values);
  return values.at(0);
}

// Strings an attacker would try as keys and namespace names: protocol delimiters and
// commands, NUL, invalid UTF-8, the key scheme's own separators and escapes, lengths around
// the 250-byte limit and far beyond it.
std::vector<std::string> hostile_strings() {
  std::vector<std::string> out = {
      "",
      " ",
      "a b",
      "\t",
      "\r\n",
      "\n",
      "\r",
      std::string(1, '\0'),
      std::string("nul\0inside", 10),
      "k\r\nflush_all\r\n",
      "k 0 0 1\r\nx\r\nset evil 0 0 1\r\ny\r\n",
      "k\r\ndelete canary\r\n",
      "get canary\r\n",
      "flush_all",
      "quit\r\n",
      "\x80",
      "\xff\xfe",
      "\xc3\x28",
      "\xed\xa0\x80",
      "\xf4\x90\x80\x80",
      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
      "%",
      "%2",
      "%25",
      "%%",
      "%g0",
      "@",
      ",",
      "|",
      "#",
      "@1",
      "a@1,b@2|c",
      "gc1:k:",
      "gc1:n:x",
      ":",
      "::",
      std::string(250, 'k'),
      std::string(251, 'k'),
      std::string(64 * 1024, 'x'),
      std::string(1024 * 1024, 'y'),
  };
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
  out.push_back(every_byte);
  std::mt19937 rng(7);
  std::string noise(64 * 1024, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  out.push_back(noise);
  return out;
}

// A printable name for a hostile string in failure messages.
std::string shown(std::string_view s) {
  std::string out;
  for (char ch : s.substr(0, 40)) {
    const auto c = static_cast<unsigned char>(ch);
    out += c >= 0x20 && c < 0x7F ? std::string(1, ch) : fmt::format("\\x{:02x}", c);
  }
  if (s.size() > 40) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

// Envelope bytes with every field chosen by the caller, and a valid CRC.
std::string forged_envelope(std::int64_t created_ms, std::int64_t ttl_ms,
                            std::string_view payload) {
  std::string out = "GC";
  out.push_back(1);  // format version
  out.push_back(0);  // kind: value
  auto put = [&](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  put(static_cast<std::uint64_t>(created_ms), 8);
  put(static_cast<std::uint64_t>(ttl_ms), 8);
  put(0, 8);  // compute time
  put(payload.size(), 4);
  boost::crc_32_type crc;
  crc.process_bytes(out.data(), out.size());
  crc.process_bytes(payload.data(), payload.size());
  put(crc.checksum(), 4);
  out.append(payload);
  return out;
}

// Every test: a canary item set beside the cache's keys must survive it, and the server
// must never have run flush_all.
class HostileInput : public ::testing::TestWithParam<Protocol> {
 protected:
  void SetUp() override {
    backend_ = connect(shared_server(), GetParam());
    prefix_ = test::random_prefix();
    cache_.emplace(backend_, CacheOptions{.prefix = prefix_});
    canary_ = prefix_ + "canary";
    backend_->set(canary_, "alive", 0ms);
    flushes_before_ = server_stats(shared_server().port()).at("cmd_flush");
  }

  void TearDown() override {
    EXPECT_EQ(raw_get(*backend_, canary_), "alive") << "an item beside the cache's was changed";
    EXPECT_EQ(server_stats(shared_server().port()).at("cmd_flush"), flushes_before_)
        << "flush_all ran on the server";
  }

  Cache& cache() { return *cache_; }

  std::shared_ptr<Backend> backend_;
  std::string prefix_;
  std::optional<Cache> cache_;
  std::string canary_;
  std::string flushes_before_;
};

TEST_P(HostileInput, EveryHostileKeyIsStoredReadBackAndKeptApart) {
  const std::vector<std::string> keys = hostile_strings();
  const NamespaceSet deps{ns("hostile")};
  for (std::size_t i = 0; i < keys.size(); ++i)
    cache().set(keys[i], deps, fmt::format("value-{}", i), 1min);
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(cache().get(keys[i], deps), fmt::format("value-{}", i)) << "key " << shown(keys[i]);
  const Stats s = cache().stats();
  EXPECT_EQ(s.hits, keys.size());
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.corrupt, 0u);
}

TEST_P(HostileInput, EveryHostileNamespaceIsStoredReadBackAndBumpedAlone) {
  std::vector<Namespace> names;
  for (const std::string& s : hostile_strings()) {
    if (!s.empty()) names.emplace_back(s);  // a namespace name is never empty
    names.push_back(ns("user", s));         // and as a part of a built name
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    EXPECT_EQ(cache().cached("k", names[i], 1min, [&] { return i; }), i);
  for (std::size_t i = 0; i < names.size(); ++i)
    EXPECT_EQ(cache().get<std::size_t>("k", names[i]), i) << "namespace " << shown(names[i].name());
  // Bumping each in turn invalidates its entry and no other.
  for (std::size_t i = 0; i < names.size(); ++i) {
    cache().bump_namespace(names[i]);
    EXPECT_EQ(cache().get<std::size_t>("k", names[i]), std::nullopt) << shown(names[i].name());
    if (i + 1 < names.size()) {
      EXPECT_EQ(cache().get<std::size_t>("k", names[i + 1]), i + 1) << shown(names[i + 1].name());
    }
  }
  EXPECT_EQ(cache().stats().errors, 0u);
  EXPECT_EQ(cache().stats().bumps, names.size());
}

// Property: entries named by random strings over the scheme's separators and escapes
// (incomplete escapes, escapes of escapes, CR/LF, NUL) never share a backend key.
TEST_P(HostileInput, RandomHostilePairsNeverCollide) {
  const std::vector<std::string> alphabet = {"%",
                                             "%2",
                                             "%25",
                                             "2",
                                             "5",
                                             "@",
                                             ",",
                                             "|",
                                             "#",
                                             ":",
                                             " ",
                                             "\r\n",
                                             std::string(1, '\0'),
                                             "\xff",
                                             "a",
                                             "gc1:",
                                             "k:",
                                             "@1",
                                             "1",
                                             "%40",
                                             "%2C",
                                             "%7C",
                                             "%23"};
  std::mt19937 rng(static_cast<unsigned>(std::random_device{}()));
  const auto seed = static_cast<unsigned>(rng());
  rng.seed(seed);
  auto random_text = [&](std::size_t min_tokens) {
    std::string out;
    const std::size_t n = min_tokens + rng() % 6;
    for (std::size_t i = 0; i < n; ++i) out += alphabet[rng() % alphabet.size()];
    return out;
  };
  struct Entry {
    std::string key;
    NamespaceSet namespaces;
  };
  std::vector<Entry> entries;
  std::map<std::pair<std::string, std::vector<std::string>>, std::size_t> seen;
  constexpr int kTries = 1500;
  for (int t = 0; t < kTries; ++t) {
    std::vector<Namespace> list{Namespace(random_text(1))};
    if (rng() % 2 == 0) list.emplace_back(random_text(1));
    Entry e{random_text(0), NamespaceSet(std::move(list))};
    std::vector<std::string> names;
    for (const Namespace& n : e.namespaces) names.push_back(n.name());
    if (seen.emplace(std::make_pair(e.key, names), entries.size()).second)
      entries.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i % 2 == 0) {
      cache().set(entries[i].key, entries[i].namespaces, i, 1min);
    } else {
      cache().cached(entries[i].key, entries[i].namespaces, 1min, [&] { return i; });
    }
  }
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto read = cache().get<std::size_t>(entries[i].key, entries[i].namespaces);
    if (read != i) {
      ++wrong;
      ADD_FAILURE() << "entry " << i << " (key " << shown(entries[i].key) << ") read "
                    << (read ? std::to_string(*read) : "a miss") << "; seed " << seed;
    }
  }
  std::printf("[ hostile  ] %zu distinct random entries from %d tries (seed %u): %zu wrong\n",
              entries.size(), kTries, seed, wrong);
  EXPECT_EQ(cache().stats().errors, 0u);
  EXPECT_EQ(cache().stats().corrupt, 0u);
}

TEST_P(HostileInput, CorruptOrForeignBytesAreACountedMissAndGetOverwritten) {
  const std::string good = detail::encode_envelope({.payload = "good",
                                                    .created = std::chrono::system_clock::now(),
                                                    .ttl = std::chrono::minutes(1)});
  std::string flipped = good;
  flipped.back() ^= 1;
  std::string other_version = good;
  other_version[2] = 2;
  std::mt19937 rng(11);
  std::string noise(1000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  const std::vector<std::string> foreign = {
      "",         "garbage", "GC",          good.substr(0, 20),    good.substr(0, good.size() - 1),
      good + "x", flipped,   other_version, "4611686018427387904", "VALUE k 0 1\r\nx\r\nEND\r\n",
      noise};
  const Namespace n = ns("poisoned");
  for (std::size_t i = 0; i < foreign.size(); ++i) {
    const std::string key = fmt::format("entry-{}", i);
    cache().set(key, n, std::string("original"), 1min);
    const std::string versioned =
        cache().versioned_key(key, n, std::vector<std::uint64_t>{cache().generation(n)});
    backend_->set(versioned, foreign[i], 0ms);  // someone else wrote there

    const Stats before = cache().stats();
    EXPECT_EQ(cache().get(key, n), std::nullopt) << "foreign bytes #" << i;
    EXPECT_EQ(cache().stats().corrupt, before.corrupt + 1) << "foreign bytes #" << i;
    EXPECT_EQ(cache().stats().misses, before.misses + 1) << "foreign bytes #" << i;
    EXPECT_EQ(cache().cached(key, n, 1min, [] { return std::string("recomputed"); }), "recomputed");
    EXPECT_EQ(cache().get(key, n), "recomputed") << "foreign bytes #" << i << " not overwritten";
    EXPECT_NE(raw_get(*backend_, versioned), foreign[i]);
  }
  EXPECT_EQ(cache().stats().errors, 0u);
}

// A well-formed envelope is accepted whoever wrote it (gencache does not authenticate
// values, see SECURITY.md), but absurd times in it must not break the reader.
TEST_P(HostileInput, ForgedEnvelopeWithExtremeTimesIsNeitherACrashNorAnotherValue) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  const std::vector<std::pair<std::int64_t, std::int64_t>> times = {
      {kMax, 60'000}, {kMin, 60'000}, {now_ms, kMax}, {now_ms, kMin}, {kMax, kMax}};
  const Namespace n = ns("forged");
  for (std::size_t i = 0; i < times.size(); ++i) {
    const std::string key = fmt::format("entry-{}", i);
    const std::string versioned =
        cache().versioned_key(key, n, std::vector<std::uint64_t>{cache().generation(n)});
    backend_->set(versioned, forged_envelope(times[i].first, times[i].second, "forged"), 0ms);
    const auto read = cache().get(key, n);
    EXPECT_TRUE(!read || *read == "forged")
        << "created " << times[i].first << ", ttl " << times[i].second;
    const std::string value = cache().cached(key, n, 1min, [] { return std::string("computed"); });
    EXPECT_TRUE(value == "forged" || value == "computed") << value;
  }
}

// A counter key holding bytes that are not a number (an attacker, another program) is a
// failure, never a generation: reads compute (fail-open), bumps throw.
// A poisoned counter (non-numeric bytes) is covered on every backend by
// CacheBehaviour.APoisonedCounterNeverServesAnOldValueAndIsReplacedFresh.

TEST_P(HostileInput, OversizedValuesAreReturnedNotCachedAndCounted) {
  const std::size_t limit = backend_->max_value_size();  // on the value, not value + header
  // A 1 KiB key is digested to the full 250 bytes: the largest item the cache writes.
  const std::string long_key(1024, 'k');
  const NamespaceSet deps{ns("sizes")};
  const std::string fits(limit, 'f');
  EXPECT_EQ(cache().cached(long_key, deps, 1min, [&] { return fits; }), fits);
  EXPECT_EQ(cache().get(long_key, deps), fits) << "a value at the limit is cached";
  EXPECT_EQ(cache().stats().errors, 0u);

  for (const std::size_t size : {limit + 1, std::size_t{1} << 20, std::size_t{4} << 20}) {
    const std::string key = fmt::format("big-{}", size);
    const std::string big(size, 'b');
    const Stats before = cache().stats();
    EXPECT_EQ(cache().cached(key, deps, 1min, [&] { return big; }), big) << size;
    EXPECT_EQ(cache().stats().oversized, before.oversized + 1) << size;
    EXPECT_EQ(cache().get(key, deps), std::nullopt) << size << " bytes were cached";
  }
  EXPECT_EQ(cache().stats().errors, 0u) << "an oversized value is not a backend failure";
}

TEST_P(HostileInput, ZeroLengthAndBinaryValuesRoundTrip) {
  std::mt19937 rng(5);
  std::string noise(64 * 1024, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
  const std::vector<std::string> values = {"",
                                           std::string(1, '\0'),
                                           std::string(3, '\0'),
                                           "\r\nEND\r\n",
                                           "VALUE k 0 1\r\nx\r\nEND\r\n",
                                           "\r\n.\r\n",
                                           every_byte,
                                           noise};
  for (std::size_t i = 0; i < values.size(); ++i)
    cache().set(fmt::format("v{}", i), ns("values"), values[i], 1min);
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(cache().get(fmt::format("v{}", i), ns("values")), values[i]) << "value #" << i;
  std::vector<std::byte> bytes(1000);
  for (auto& b : bytes) b = static_cast<std::byte>(rng());
  EXPECT_EQ(cache().cached("bytes", ns("values"), 1min, [&] { return bytes; }), bytes);
  EXPECT_EQ(cache().get<std::vector<std::byte>>("bytes", ns("values")), bytes);
  EXPECT_EQ(cache().stats().errors, 0u);
  EXPECT_EQ(cache().stats().corrupt, 0u);
}

INSTANTIATE_TEST_SUITE_P(Memcached, HostileInput,
                         ::testing::Values(Protocol::ascii, Protocol::binary),
                         [](const ::testing::TestParamInfo<Protocol>& protocol) {
                           return protocol.param == Protocol::ascii ? "ascii" : "binary";
                         });

// --- credentials ------------------------------------------------------------------------

// SASL credentials in the URL reach neither describe(), nor the error hook, nor the
// exceptions of a cache whose server is down (percent-encoded or decoded).
TEST(HostileCredentials, CredentialsInTheUrlNeverReachMessagesOrDescribe) {
  test::MemcachedServer server;
  const std::string address = server.address();
  server.stop();
  const std::string user = "gc-user-7f3a";
  const std::string password_in_url = "hunter2%40s3cret%3Apw";
  const std::vector<std::string> secrets = {user, password_in_url, "hunter2@s3cret:pw", "hunter2",
                                            "s3cret"};
  Cache cache = Cache::from_url(
      fmt::format("memcached://{}:{}@{}?protocol=binary&connect_timeout=50ms&io_timeout=50ms", user,
                  password_in_url, address));

  std::vector<std::string> messages;
  std::mutex mutex;
  cache.set_error_hook([&](const ErrorEvent& e) {
    std::lock_guard lock(mutex);
    messages.push_back(e.message);
  });
  messages.push_back(cache.backend().describe());
  EXPECT_EQ(cache.cached("k", ns("u", 1), 1min, [] { return 1; }), 1);
  EXPECT_EQ(cache.get<int>("k", ns("u", 1)), std::nullopt);
  cache.set("k", ns("u", 1), 2, 1min);
  for (int i = 0; i < 3; ++i) {
    try {
      cache.bump_namespace(ns("u", 1));
      ADD_FAILURE() << "a bump against a stopped server succeeded";
    } catch (const backend_error& e) {
      messages.emplace_back(e.what());
    }
  }
  try {
    cache.generation(ns("u", 2));
  } catch (const backend_error& e) {
    messages.emplace_back(e.what());
  }
  std::error_code ec;
  cache.bump_namespace(ns("u", 1), ec);
  messages.push_back(ec.message());

  // The same credentials in configurations that are refused.
  for (const std::string& url :
       {fmt::format("memcached://{}:{}@{}", user, password_in_url, address),
        fmt::format("memcached://{}:{}@{}?protocol=binary&bogus=1", user, password_in_url, address),
        fmt::format("memcached://{}:{}@{}?protocol=binary&io_timeout=0ms", user, password_in_url,
                    address),
        fmt::format("memcached://{}:{}@[::1?protocol=binary", user, password_in_url),
        fmt::format("memory://{}:{}@{}", user, password_in_url, address)}) {
    try {
      Cache::from_url(url);
      ADD_FAILURE() << "accepted a bad URL";
    } catch (const config_error& e) {
      messages.emplace_back(e.what());
    }
  }

  ASSERT_GT(messages.size(), 10u);
  EXPECT_THAT(messages[0], HasSubstr(address)) << "describe() names the server";
  for (const std::string& message : messages) {
    for (const std::string& secret : secrets) EXPECT_THAT(message, Not(HasSubstr(secret)));
  }
  std::printf("[ creds    ] %zu messages checked, e.g. \"%s\"\n", messages.size(),
              messages.back().c_str());
}

}  // namespace
}  // namespace gencache
