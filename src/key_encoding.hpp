#pragma once
// Internal: the backend key scheme (specified in docs/PROTOCOL.md).
//
//   counter key:   <prefix>gc1:n:<esc(namespace)>
//   versioned key: <prefix>gc1:k:<esc(ns1)>@<gen1>,<esc(ns2)>@<gen2>|<esc(key)>
//   too long:      <prefix>gc1:h:<readable head>#<sha256 hex of the full key>
//
// esc() keeps bytes 0x21..0x7E except % @ , | # and writes every other byte as %XX, so
// the separators @ , | # never occur inside a component: the layout is injective, and a
// digested key (the only kind with #) never equals an undigested one.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gencache/namespace.hpp"

namespace gencache::detail {

/// Memcached's limit on key length, which every backend key respects.
inline constexpr std::size_t max_backend_key = 250;
/// The longest accepted key prefix.
inline constexpr std::size_t max_prefix = 64;

/// Appends `text` escaped as described above.
void append_escaped(std::string& out, std::string_view text);

/// Throws gencache::config_error unless `prefix` is a valid key prefix.
void validate_prefix(std::string_view prefix);

/// The key of `ns`'s generation counter.
std::string counter_key(std::string_view prefix, const Namespace& ns);
/// counter_key() written into `out` (replacing its contents, reusing its capacity).
void build_counter_key(std::string& out, std::string_view prefix, const Namespace& ns);

/// The key of the entry (`key`, `namespaces`) at `generations` (same order as the set).
std::string versioned_key(std::string_view prefix, const NamespaceSet& namespaces,
                          std::span<const std::uint64_t> generations, std::string_view key);
/// The part of every versioned key of `namespaces` at `generations` that comes before the
/// escaped user key (`<prefix>gc1:k:...|`), written into `out`.
void build_versioned_head(std::string& out, std::string_view prefix, const NamespaceSet& namespaces,
                          std::span<const std::uint64_t> generations);
/// The versioned key from its `head` (build_versioned_head) and the user's `key`, written
/// into `out`: what build_versioned_key writes, without redoing the head for each key of
/// a batch.
void finish_versioned_key(std::string& out, std::string_view head, std::string_view prefix,
                          std::string_view key);
/// versioned_key() written into `out` (replacing its contents, reusing its capacity).
void build_versioned_key(std::string& out, std::string_view prefix, const NamespaceSet& namespaces,
                         std::span<const std::uint64_t> generations, std::string_view key);

/// The prefix that keeps the keys of `ns` (its counter, and the entries it comes first in
/// the canonical order of) on one Redis Cluster slot: `{T}` then `prefix`, with T the CRC
/// of the namespace's name as 4 lowercase hex digits (docs/PROTOCOL.md, "Redis Cluster").
/// Keys are built with it in place of `prefix`. Written into `out`.
void build_hash_tagged_prefix(std::string& out, std::string_view prefix, const Namespace& ns);

/// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace gencache::detail
