#pragma once
/// \file
/// The byte-level storage interface every backend implements. The Cache builds keys,
/// envelopes and generations on top of it; a new backend plugs in without touching Cache.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gencache {

/// The most bytes a Cache adds to a value when it stores it (its entry header: kind,
/// times and checksum; see docs/PROTOCOL.md). Backends accept stored values up to
/// max_value_size() plus this, so that max_value_size() limits the value itself.
inline constexpr std::size_t kEntryHeaderAllowance = 36;

/// Receives the values Backend::visit_many finds, as views into the backend's own buffers.
class ValueVisitor {
 public:
  /// `value` is the value of `keys[index]`; the view is valid only during this call.
  /// Must not throw and must not call back into the backend that calls it.
  virtual void found(std::size_t index, std::string_view value) noexcept = 0;

 protected:
  ~ValueVisitor() = default;
};

/// What one counter of Backend::increment_many came to.
struct CounterIncrement {
  /// The counter's new value; std::nullopt when it was absent (it is not created) or when
  /// this counter's increment failed.
  std::optional<std::uint64_t> value;
  /// Set when this counter's increment failed (a gencache::backend_error): the counter may
  /// or may not have moved.
  std::exception_ptr failure;
};

/// One server's own statistics, in its own names and order: memcached's `stats`, Redis's
/// `INFO`.
struct ServerStats {
  std::string server;                                       ///< "127.0.0.1:11211"
  std::vector<std::pair<std::string, std::string>> values;  ///< empty when it did not answer
  std::string error;  ///< why it did not answer (never credentials); empty when it did
};

/// Storage primitives. All calls are thread-safe. Keys handed to a backend are at most
/// 250 bytes of printable non-space ASCII (the Cache guarantees it).
///
/// A TTL of zero means "never expires"; a positive TTL is honoured to at least
/// millisecond resolution where the server can (Memcached rounds up to seconds).
///
/// Counters are ordinary items whose value is the decimal ASCII text of an unsigned
/// 64-bit number, so `get_many` reads them like any other key.
///
/// Failures throw gencache::backend_error; "not found" and "already exists" are results,
/// not failures.
class Backend {
 public:
  virtual ~Backend() = default;

  /// Fetches every key in one round trip. On return `values.size() == keys.size()` and
  /// `values[i]` is the value of `keys[i]`, or std::nullopt when absent.
  virtual void get_many(std::span<const std::string_view> keys,
                        std::vector<std::optional<std::string>>& values) = 0;

  /// get_many without copies: fetches every key in one round trip and calls
  /// `visitor.found(i, value)` for each `keys[i]` that is present (absent keys are not
  /// visited; a key listed twice may be visited twice). The Cache reads through this, so
  /// a backend that can lend its buffers (an in-process store under its lock, a client
  /// library's receive buffer) should override it. The default calls get_many and visits
  /// the copies.
  virtual void visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor);

  /// Stores `value` under `key`, replacing what was there.
  virtual void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) = 0;

  /// Stores `value` only if `key` is absent. Returns false when the key already existed.
  virtual bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) = 0;

  /// Deletes `key`. Returns false when it was absent.
  virtual bool remove(std::string_view key) = 0;

  /// Atomically adds `delta` to the counter at `key` and returns the new value, or
  /// std::nullopt when the counter is absent (it is not created).
  virtual std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) = 0;

  /// increment for every key, in one round trip where the backend can: result `i` is the
  /// outcome for `keys[i]`. Throws backend_error when the call failed as a whole (the
  /// server unreachable, the breaker open); then every counter may or may not have moved.
  /// Failures of single counters (one server of several down) are reported in their
  /// CounterIncrement instead, so the caller knows exactly which ones moved. The default
  /// calls increment once per key, one round trip each, going on past a failed key.
  virtual std::vector<CounterIncrement> increment_many(std::span<const std::string_view> keys,
                                                       std::uint64_t delta);

  /// Whether increment_many costs one round trip for all its keys (true), or one per key
  /// as the default does (false). The Cache counts Stats::round_trips by it.
  virtual bool batches_increments() const noexcept { return false; }

  /// Creates the counter `key` with value `initial` if it is absent (an atomic `add`).
  /// Returns false when the counter already existed.
  virtual bool create_counter(std::string_view key, std::uint64_t initial,
                              std::chrono::milliseconds ttl) = 0;

  /// The largest value (in bytes) a Cache caches on this backend. `set` and `add` accept
  /// up to kEntryHeaderAllowance bytes more, for the entry header; larger values throw
  /// backend_error(errc::value_too_large).
  virtual std::size_t max_value_size() const noexcept = 0;

  /// Whether the Cache must build every key with the hash tag of its namespace
  /// (docs/PROTOCOL.md, "Redis Cluster"), so that a namespace's counter and its entries
  /// share a slot and a read of one namespace goes to one server in one round trip. A
  /// Cache asks once, when it is constructed. Default false; a Redis Cluster says true.
  virtual bool wants_hash_tags() const noexcept { return false; }

  /// Statistics straight from each server behind this backend (one entry per server, in
  /// the server's own names and order), for operators: `gencache stats` prints them. A
  /// server that does not answer gets an entry with `error` set; nothing throws for it.
  /// The default, for a backend without servers (memory://, test doubles), is empty.
  virtual std::vector<ServerStats> server_stats();

  /// A short human-readable description for messages and logs (never credentials),
  /// e.g. "memory://" or "memcached://127.0.0.1:11211".
  virtual std::string describe() const = 0;
};

}  // namespace gencache
