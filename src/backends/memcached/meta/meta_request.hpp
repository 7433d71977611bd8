#pragma once
// Internal: writes memcached meta-protocol commands (protocol.txt, "Meta Commands").
//
// Every function appends one command to `out`. Keys must already be valid memcached keys
// (is_sendable_key); expirations are what memcached_expiration() returns.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace gencache::detail::meta {

/// Whether `key` can go on a command line as it is: 1 to 250 bytes of printable ASCII
/// other than space. Anything else could end the line early and inject a command.
bool is_sendable_key(std::string_view key) noexcept;

/// `mg <key> v O<opaque>`: one read of a pipelined batch. Answered in order by a VA
/// with the value or an EN, each naming the key by its opaque token. Not quiet: a quiet
/// batch needs an `mn` after it, and memcached writes out its answers at every `mn`, one
/// send per batch where many batches could share one.
void append_get(std::string& out, std::string_view key, std::size_t opaque);

/// `mg <key> v N<lease_expiration>`: a read that, on a miss, creates an empty item and
/// returns W (this client holds the lease) or, for later readers, Z (someone holds it).
void append_lease_get(std::string& out, std::string_view key, std::time_t lease_expiration);

enum class StoreMode { set, add };

/// `ms <key> <size> T<expiration> [ME]` and the data: a set, or an add when mode is add.
void append_store(std::string& out, std::string_view key, std::string_view value,
                  std::time_t expiration, StoreMode mode);

/// `md <key>`.
void append_delete(std::string& out, std::string_view key);

/// `ma <key> D<delta> v`: increments an existing counter and returns its new value.
void append_increment(std::string& out, std::string_view key, std::uint64_t delta);

/// `ma <key> N<expiration> J<initial> D<delta> v`: increments the counter, or creates it
/// at `initial` (returned as it is, without the delta) when absent, in one command.
void append_increment_or_create(std::string& out, std::string_view key, std::uint64_t delta,
                                std::uint64_t initial, std::time_t expiration);

}  // namespace gencache::detail::meta
