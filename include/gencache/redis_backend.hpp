#pragma once
/// \file
/// The Redis backend (`redis://[user:password@]host:port[/db][?options]`), through hiredis
/// with a thread-safe connection pool.
///
/// Eviction policies (`maxmemory-policy`) and the promises:
/// - `allkeys-lru`, `allkeys-lfu`, `allkeys-random`: safe. A counter may be evicted like
///   any other key; the next read or bump re-creates it at a fresh random generation that
///   was never used before, so entries stored under the old generation become unreachable
///   (they are recomputed once, never served stale). Re-creations show in
///   Stats::counter_recreations.
/// - `volatile-lru`, `volatile-lfu`, `volatile-random`, `volatile-ttl`: safe. They evict
///   only keys with a TTL; counters have none (unless CacheOptions::counter_ttl is set, and
///   then an evicted counter is re-created fresh as above), so counters stay while entries,
///   which always have a TTL, are evicted.
/// - `noeviction` (Redis's default): safe, but once `maxmemory` is reached every write
///   fails with errc::not_stored (Redis answers OOM). The Cache fails open: reads go on
///   being served or computed, new values are not cached, and bumps (which need a write)
///   throw. Prefer an `allkeys-*` policy for a cache.
/// A Redis restart without persistence, or FLUSHDB, loses counters and entries together:
/// safe for the same reason as eviction.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gencache/backend.hpp"

namespace gencache {

/// Settings of the Redis backend. Every field has the default documented here and in the
/// README; `redis://` URL parameters of the same name fill them.
struct RedisOptions {
  /// Server host: a name, an IPv4 address or an IPv6 address (without brackets).
  /// Default "127.0.0.1".
  std::string host = "127.0.0.1";
  /// Server TCP port, from 1 to 65535. Default 6379.
  std::uint16_t port = 6379;
  /// Database selected on connect (`SELECT db`), from 0 to 2^31 - 1; the server must have
  /// that many `databases`. Default 0.
  std::uint32_t db = 0;
  /// Time allowed to connect (TCP, then AUTH and SELECT), from 1 ms to 10 min. The host
  /// name lookup is not bounded by it. Default 50 ms.
  std::chrono::milliseconds connect_timeout{50};
  /// Time allowed for one send or receive, from 1 ms to 10 min; a hung server makes a
  /// call throw errc::timeout after about this long. Default 100 ms.
  std::chrono::milliseconds io_timeout{100};
  /// Connections kept in the pool, from 1 to 1024; one per concurrent call. Default 16.
  std::size_t pool_max = 16;
  /// Longest a call waits for a free pooled connection before it throws errc::timeout,
  /// up to 10 min. Default (unset): io_timeout.
  std::optional<std::chrono::milliseconds> pool_wait;
  /// Largest value stored, from 1 KiB to 512 MiB (Redis's own limit); larger values are
  /// refused with errc::value_too_large before being sent. See Backend::max_value_size().
  /// Default 1 MiB.
  std::size_t max_item_bytes = std::size_t{1} << 20;
  /// Credentials sent with AUTH on connect: `AUTH password` without a username (Redis
  /// `requirepass`), `AUTH username password` with one (Redis 6 ACL users). A username
  /// needs a password. Never printed.
  std::string username;
  std::string password;
  /// Replicas that must acknowledge a counter write (a bump's increment, a counter's
  /// creation) before it counts as done, from 0 to 255: each is followed by
  /// `WAIT wait_replicas wait_timeout` on the same connection, and fewer acknowledgements
  /// in time make the call throw errc::timeout (the counter may have changed on the
  /// master alone; Cache::bump_namespace reports it and queues it in the outbox when that
  /// is on). With 1 or more, a bump that returned survives the master's failover to a
  /// replica that acknowledged it. 0 (the default): no WAIT; Redis replicates
  /// asynchronously, so a bump acknowledged just before a failover can be lost and the
  /// promoted replica serve the entries it invalidated.
  std::uint32_t wait_replicas = 0;
  /// How long a counter write waits for wait_replicas acknowledgements, from 1 ms to
  /// 10 min, and shorter than io_timeout (which bounds the wait for WAIT's reply).
  /// Default 50 ms.
  std::chrono::milliseconds wait_timeout{50};
};

/// A Redis backend on one server (for a Redis Cluster, make_redis_cluster_backend).
/// Thread-safe: each call borrows a connection from a pool of at most pool_max,
/// connecting lazily.
///
/// A steady-state read is one round trip (`MGET`). `increment` runs a small Lua script
/// (`EVALSHA`, falling back to `EVAL` after a restart emptied the script cache) that adds
/// to a counter only if it exists, so an absent counter is never created at 0 the way
/// `INCR` would. `create_counter` and `add` are `SET NX`; TTLs are sent with `PX` in
/// milliseconds (0: no expiry; above about 146 million years: capped); a negative TTL
/// stores nothing, as an item already expired. Counters are signed 64-bit in Redis: an
/// increment past 2^63 - 1 throws errc::protocol (the Cache starts counters below 2^62).
///
/// Failures throw gencache::backend_error whose code() is errc::timeout (connect or I/O
/// timeout, or no free pooled connection within pool_wait), errc::backend_unavailable
/// (connection refused or lost, AUTH refused, server loading), errc::value_too_large,
/// errc::not_stored (Redis refused a write: OOM under `noeviction`, a read-only replica)
/// or errc::protocol (an error reply or a reply of an unexpected shape); the message names
/// the server (never the credentials) and Redis's or the socket's account. A connection
/// that failed, or that the server closed while it sat in the pool, is dropped and a new
/// one opened on next use; a timed-out call is never retried, since the server may still
/// apply it.
///
/// Throws gencache::config_error for invalid options, naming the option and what is
/// accepted.
std::shared_ptr<Backend> make_redis_backend(RedisOptions options);

/// A server to ask for a Redis Cluster's slot map.
struct RedisNodeAddress {
  /// A host name, an IPv4 address or an IPv6 address (without brackets).
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
};

/// Settings of the Redis Cluster backend (`redis://h1:p1,h2:p2?cluster=true`).
struct RedisClusterOptions {
  /// Nodes asked for the slot map (CLUSTER SLOTS), in turn, until one answers; at least
  /// one. The other nodes are learnt from the map.
  std::vector<RedisNodeAddress> seeds;
  /// What every connection to every node uses: timeouts, pool_max (per node),
  /// max_item_bytes, credentials and wait_replicas (each master waits for its own
  /// replicas). Its host and port are not used, and db must be 0, the only database a
  /// cluster has.
  RedisOptions connection;
};

/// A Redis Cluster backend. Thread-safe. Keys are mapped to slots as Redis does (CRC16 of
/// the hash tag) and sent to the master serving the slot, from a slot map read with
/// CLUSTER SLOTS on first use. The Cache puts each namespace's hash tag in its keys
/// (Backend::wants_hash_tags), so a namespace's counter and entries share a slot: a read
/// of one namespace is one MGET to one node. A read of keys on several slots sends one
/// MGET per slot, written to every node involved before any reply is read, so the nodes
/// work in parallel and the read costs about one round trip of wall time; no CROSSSLOT
/// error can occur.
///
/// MOVED is followed to the node it names and makes the map be read again; ASK is
/// followed with ASKING, once; a call is redirected at most 5 times. A node that fails
/// (refused, timed out, CLUSTERDOWN) makes the map be read again, at most every 100 ms,
/// so a failover's promoted replica is found as soon as the cluster names it. Failures
/// throw backend_error as make_redis_backend documents, naming the node; a read of a slot
/// whose master is down fails (the Cache fails open), and a bump to it throws. While a slot
/// migrates, Redis answers TRYAGAIN to a read of several of its keys that are not all on
/// one side yet: that read fails (backend_unavailable). server_stats gives one entry per
/// node of the slot map, masters first, then replicas.
///
/// Throws gencache::config_error for invalid options, naming the option and what is
/// accepted. Connects lazily.
std::shared_ptr<Backend> make_redis_cluster_backend(RedisClusterOptions options);

}  // namespace gencache
