#pragma once
/// \file
/// The byte-level storage interface every backend implements. The Cache builds keys,
/// envelopes and generations on top of it; a new backend plugs in without touching Cache.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gencache {

/// Receives the values Backend::visit_many finds, as views into the backend's own buffers.
class ValueVisitor {
 public:
  /// `value` is the value of `keys[index]`; the view is valid only during this call.
  /// Must not throw and must not call back into the backend that calls it.
  virtual void found(std::size_t index, std::string_view value) noexcept = 0;

 protected:
  ~ValueVisitor() = default;
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

  /// Creates the counter `key` with value `initial` if it is absent (an atomic `add`).
  /// Returns false when the counter already existed.
  virtual bool create_counter(std::string_view key, std::uint64_t initial,
                              std::chrono::milliseconds ttl) = 0;

  /// The largest value (in bytes) this backend accepts; larger values are not cached.
  virtual std::size_t max_value_size() const noexcept = 0;

  /// Whether the Cache must build every key with the hash tag of its namespace
  /// (docs/PROTOCOL.md, "Redis Cluster"), so that a namespace's counter and its entries
  /// share a slot and a read of one namespace goes to one server in one round trip. A
  /// Cache asks once, when it is constructed. Default false; a Redis Cluster says true.
  virtual bool wants_hash_tags() const noexcept { return false; }

  /// A short human-readable description for messages and logs (never credentials),
  /// e.g. "memory://" or "memcached://127.0.0.1:11211".
  virtual std::string describe() const = 0;
};

}  // namespace gencache
