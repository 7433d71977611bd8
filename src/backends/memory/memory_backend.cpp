#include "gencache/memory_backend.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "backends/memory/entry_layout.hpp"
#include "backends/memory/expiry.hpp"
#include "backends/memory/in_process_store.hpp"
#include "backends/memory/item.hpp"
#include "backends/memory/shard.hpp"
#include "gencache/error.hpp"
#include "random.hpp"
#include "shard_lock.hpp"
#include "string_hash.hpp"

namespace gencache {

using detail::Item;
using detail::ItemKind;
using detail::ItemPtr;
using detail::KeyRef;
using detail::Keyspace;
using detail::LazyNow;
using detail::Shard;

namespace {

constexpr std::size_t kDefaultShards = 16;
constexpr std::size_t kMaxShards = 1024;
// Below this a shard could not hold a 250-byte key (the Cache's longest) with a useful value.
constexpr std::size_t kMinShardBytes = 1024;
// The default shard count is lowered for small caches so that each shard keeps this much.
constexpr std::size_t kPreferredShardBytes = std::size_t{64} << 10;
// The smallest max_item_bytes accepted, as for the other backends.
constexpr std::size_t kMinItemBytes = 1024;
// Enough digits for any uint64.
constexpr std::size_t kMaxCounterDigits = 20;

std::size_t choose_shards(const MemoryOptions& options) {
  if (options.shards != 0) {
    if (!std::has_single_bit(options.shards) || options.shards > kMaxShards)
      throw config_error(fmt::format(
          "memory backend: shards must be a power of two from 1 to {} (or 0 for the default), "
          "not {}",
          kMaxShards, options.shards));
    return options.shards;
  }
  std::size_t shards = kDefaultShards;
  while (shards > 1 && options.max_bytes / shards < kPreferredShardBytes) shards /= 2;
  return shards;
}

std::string_view counter_text(std::uint64_t value, char (&buffer)[kMaxCounterDigits]) {
  auto [end, ec] = std::to_chars(buffer, buffer + kMaxCounterDigits, value);
  (void)ec;  // 20 digits always suffice
  return {buffer, static_cast<std::size_t>(end - buffer)};
}

}  // namespace

struct MemoryBackend::Impl {
  struct Settings {
    std::size_t shards;
    std::size_t shard_budget;
    std::size_t max_value;
  };

  std::unique_ptr<Shard[]> shards;
  mutable detail::ReaderCounts readers;
  std::size_t shard_mask;
  std::size_t shard_budget;
  std::size_t max_value;
  std::shared_ptr<const Clock> clock;

  explicit Impl(MemoryOptions options) : Impl(validate(options), std::move(options.clock)) {}

  Impl(const Settings& settings, std::shared_ptr<const Clock> given_clock)
      : shards(std::make_unique<Shard[]>(settings.shards)),
        readers(settings.shards),
        shard_mask(settings.shards - 1),
        shard_budget(settings.shard_budget),
        max_value(settings.max_value),
        clock(given_clock ? std::move(given_clock) : system_clock()) {
    for (std::size_t i = 0; i < settings.shards; ++i) shards[i].set_budget(shard_budget);
  }

  static Settings validate(const MemoryOptions& options) {
    if (options.max_bytes == 0)
      throw config_error("memory backend: max_bytes must be greater than 0");
    if (options.max_item_bytes < kMinItemBytes)
      throw config_error(fmt::format(
          "memory backend: max_item_bytes must be at least {} bytes (as for memcached:// and "
          "redis://: an entry's envelope alone takes 36), not {}",
          kMinItemBytes, options.max_item_bytes));
    const std::size_t shard_count = choose_shards(options);
    const std::size_t budget = options.max_bytes / shard_count;
    if (budget < kMinShardBytes)
      throw config_error(fmt::format(
          "memory backend: max_bytes of {} leaves {} bytes to each of {} shards; each needs at "
          "least {} (raise max_bytes or lower shards)",
          options.max_bytes, budget, shard_count, kMinShardBytes));
    return {.shards = shard_count,
            .shard_budget = budget,
            .max_value = std::min({options.max_item_bytes, budget / 4, Item::kMaxValueSize})};
  }

  static KeyRef key_ref(std::string_view key, Keyspace space = Keyspace::bytes) noexcept {
    // Entries hash apart from byte keys, so the two keyspaces do not pile up in one slot.
    constexpr std::uint64_t kEntrySalt = 0x9e3779b97f4a7c15ull;
    const std::uint64_t hash = detail::hash_string(key);
    return {key, space == Keyspace::entries ? hash ^ kEntrySalt : hash, space};
  }

  // The high half of the hash picks the shard; the shard's index uses the low half.
  std::size_t shard_index(const KeyRef& key) const noexcept {
    return static_cast<std::size_t>(key.hash >> 32) & shard_mask;
  }

  detail::ExclusiveAccess exclusive(std::size_t index) const noexcept {
    return {shards[index].lock, readers, index};
  }

  // Refuses what set/add could never store, before any lock is taken.
  void check_storable(std::string_view key, std::size_t value_size) const {
    if (value_size > max_value + kEntryHeaderAllowance)
      throw backend_error(errc::value_too_large,
                          fmt::format("memory backend: value of {} bytes exceeds the limit of {} "
                                      "bytes (max_item_bytes)",
                                      value_size, max_value));
    check_fits(key, value_size);
  }

  // Refuses an item whose key is too long or that no shard could hold. The value limit is
  // checked by the caller: on the value for set/add, on the payload for a typed entry.
  void check_fits(std::string_view key, std::size_t value_size) const {
    if (key.size() > Item::kMaxKeySize ||
        detail::item_charge(key.size(), value_size) > shard_budget)
      throw backend_error(errc::value_too_large,
                          fmt::format("memory backend: key of {} bytes is too long to store (at "
                                      "most {} bytes, and key plus value must fit in {} bytes)",
                                      key.size(), Item::kMaxKeySize, shard_budget));
  }

  // Calls `on_value(value)` under the shard's shared lock if `key` holds a live item;
  // returns whether it did.
  template <class F>
  bool lookup(std::string_view key, LazyNow& now, F&& on_value) {
    const KeyRef ref = key_ref(key);
    const std::size_t index = shard_index(ref);
    Shard& shard = shards[index];
    bool found_expired = false;
    {
      detail::SharedAccess access(shard.lock, readers, index);
      if (Item* item = shard.find(ref)) {
        if (!item->expired(now)) {
          // Test first: a store to a line other cores are reading would send it back and forth.
          if (!item->referenced.load(std::memory_order_relaxed))
            item->referenced.store(true, std::memory_order_relaxed);
          if (item->kind == ItemKind::counter) {
            char buffer[kMaxCounterDigits];
            on_value(counter_text(item->cell().generation.load(std::memory_order_seq_cst), buffer));
          } else {
            on_value(item->value());
          }
          return true;
        }
        found_expired = true;
      }
    }
    if (found_expired) drop_if_expired(ref, index, now);
    return false;
  }

  void get_into(std::string_view key, std::optional<std::string>& out, LazyNow& now) {
    const bool found = lookup(key, now, [&](std::string_view value) {
      if (out) {
        out->assign(value.data(), value.size());  // reuses the caller's capacity
      } else {
        out.emplace(value.data(), value.size());
      }
    });
    if (!found) out.reset();
  }

  void drop_if_expired(const KeyRef& ref, std::size_t index, LazyNow& now) {
    Shard& shard = shards[index];
    ItemPtr expired;  // declared before the lock, so freed after unlocking
    const auto access = exclusive(index);
    // Looked up again: another thread may have replaced it since the shared look.
    Item* item = shard.find(ref);
    if (item != nullptr && item->expired(now)) expired = shard.drop_expired(item);
  }

  // Stores `value`; when `only_if_absent` and a live item exists, stores nothing and
  // returns false.
  bool store(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
             bool only_if_absent) {
    check_storable(key, value.size());
    const KeyRef ref = key_ref(key);
    LazyNow now(*clock);
    // Built outside the lock: the allocation and copy do not hold up other threads.
    return link_item(ref, detail::make_item(ref, value, detail::expiry_for(ttl, now)),
                     only_if_absent, now);
  }

  bool store_counter(std::string_view key, std::uint64_t initial, std::chrono::milliseconds ttl) {
    check_storable(key, detail::counter_value_size(key.size()));
    const KeyRef ref = key_ref(key);
    LazyNow now(*clock);
    return link_item(ref, detail::make_counter(ref, initial, detail::expiry_for(ttl, now)),
                     /*only_if_absent=*/true, now);
  }

  // Links `fresh` under `ref`, replacing a live item unless `only_if_absent`.
  bool link_item(const KeyRef& ref, ItemPtr fresh, bool only_if_absent, LazyNow& now) {
    const std::size_t charge = detail::item_charge(*fresh);
    const std::size_t index = shard_index(ref);
    Shard& shard = shards[index];
    ItemPtr replaced;  // declared before the lock, so freed after unlocking
    const auto access = exclusive(index);
    if (Item* existing = shard.find(ref)) {
      if (!existing->expired(now)) {
        if (only_if_absent) return false;
        replaced = shard.unlink(existing);
      } else {
        replaced = shard.drop_expired(existing);
      }
    }
    shard.make_room(charge, now);
    shard.link(std::move(fresh));
    return true;
  }

  bool remove(std::string_view key) {
    const KeyRef ref = key_ref(key);
    const std::size_t index = shard_index(ref);
    Shard& shard = shards[index];
    LazyNow now(*clock);
    ItemPtr removed;
    const auto access = exclusive(index);
    Item* item = shard.find(ref);
    if (item == nullptr) return false;
    if (item->expired(now)) {
      removed = shard.drop_expired(item);
      return false;
    }
    removed = shard.unlink(item);
    return true;
  }

  std::optional<std::uint64_t> increment(std::string_view key, std::uint64_t delta) {
    const KeyRef ref = key_ref(key);
    const std::size_t index = shard_index(ref);
    Shard& shard = shards[index];
    LazyNow now(*clock);
    {
      // A counter is bumped in place by one atomic increment: readers of the shard need not
      // wait, and the item cannot leave the index while this shared access lasts.
      detail::SharedAccess access(shard.lock, readers, index);
      Item* item = shard.find(ref);
      if (item != nullptr && item->kind == ItemKind::counter && !item->expired(now))
        return bump_cell(*item, delta);
    }
    ItemPtr replaced;
    const auto access = exclusive(index);
    Item* item = shard.find(ref);
    if (item == nullptr) return std::nullopt;
    if (item->expired(now)) {
      replaced = shard.drop_expired(item);
      return std::nullopt;
    }
    if (item->kind == ItemKind::counter) return bump_cell(*item, delta);
    const std::string_view text = item->value();
    std::uint64_t current = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), current);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
      throw backend_error(errc::not_stored,
                          fmt::format("memory backend: cannot increment '{}': its value of {} "
                                      "bytes is not a decimal number below 2^64",
                                      key, text.size()));
    const std::uint64_t next = current + delta;  // unsigned: wraps modulo 2^64, as Memcached
    char buffer[kMaxCounterDigits];
    const std::string_view next_text = counter_text(next, buffer);
    item->referenced.store(true, std::memory_order_relaxed);
    if (next_text.size() == item->value_size) {
      std::memcpy(item->bytes() + item->key_size, next_text.data(), next_text.size());
      return next;
    }
    // One more (or fewer) digit: a new block, with the old expiry.
    ItemPtr fresh = detail::make_item(ref, next_text, item->expires_at_ms);
    fresh->referenced.store(true, std::memory_order_relaxed);
    replaced = shard.unlink(item);
    shard.make_room(detail::item_charge(*fresh), now);
    shard.link(std::move(fresh));
    return next;
  }

  static std::uint64_t bump_cell(Item& counter, std::uint64_t delta) noexcept {
    if (!counter.referenced.load(std::memory_order_relaxed))
      counter.referenced.store(true, std::memory_order_relaxed);
    // Unsigned: wraps modulo 2^64, as Memcached does.
    return counter.cell().generation.fetch_add(delta, std::memory_order_seq_cst) + delta;
  }

  // ---- the in-process path (InProcessStore) ----

  std::uint64_t generation(std::string_view counter_key, std::chrono::milliseconds counter_ttl,
                           detail::CounterState& state) {
    const KeyRef ref = key_ref(counter_key);
    const std::size_t index = shard_index(ref);
    Shard& shard = shards[index];
    LazyNow now(*clock);
    state = detail::CounterState::existed;
    {
      detail::SharedAccess access(shard.lock, readers, index);
      Item* item = shard.find(ref);
      if (item != nullptr && item->kind == ItemKind::counter && !item->expired(now))
        return item->cell().generation.load(std::memory_order_seq_cst);
    }
    check_storable(counter_key, detail::counter_value_size(counter_key.size()));
    // Absent, expired, or left as text by the Backend API: becomes a counter item. Drawn
    // outside the lock; unused if another thread creates the counter first.
    std::uint64_t initial = detail::fresh_generation();
    ItemPtr replaced;
    const auto access = exclusive(index);
    Item* item = shard.find(ref);
    std::int64_t expires_at = detail::expiry_for(counter_ttl, now);
    if (item != nullptr && !item->expired(now)) {
      if (item->kind == ItemKind::counter)
        return item->cell().generation.load(std::memory_order_seq_cst);
      const std::string_view text = item->value();
      std::uint64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) {
        initial = value;  // a number set through the Backend API stays the generation
        expires_at = item->expires_at_ms;
      } else {
        state = detail::CounterState::repaired;
      }
      replaced = shard.unlink(item);
    } else {
      if (item != nullptr) replaced = shard.drop_expired(item);
      if (state == detail::CounterState::existed) state = detail::CounterState::created;
    }
    ItemPtr fresh = detail::make_counter(ref, initial, expires_at);
    shard.make_room(detail::item_charge(*fresh), now);
    shard.link(std::move(fresh));
    return initial;
  }

  // Inlined into both InProcessStore::find overloads: as one shared call it cost the
  // store's own hit 70 instructions (hot_path_profile store_hit_1ns, 666 -> 736).
  [[gnu::always_inline]] bool find_entry(std::string_view identity, std::size_t namespace_count,
                                         std::uint64_t* generations, detail::EntryFields& fields,
                                         std::string& payload, LazyNow now) {
    const KeyRef ref = key_ref(identity, Keyspace::entries);
    const std::size_t index = shard_index(ref);
    Shard& shard = shards[index];
    bool found_expired = false;
    {
      detail::SharedAccess access(shard.lock, readers, index);
      Item* item = shard.find(ref);
      if (item == nullptr) return false;
      if (!item->expired(now)) {
        const detail::EntryHeader header = detail::load_entry_header(*item);
        if (header.namespace_count != namespace_count) return false;
        for (std::size_t i = 0; i < namespace_count; ++i) {
          const detail::CounterRef held = detail::load_counter_ref(*item, i);
          Item& counter = *held.counter;
          // seq_cst pairs with the bump's increment: a read after a bump sees it.
          if (counter.cell().generation.load(std::memory_order_seq_cst) != held.generation)
            return false;  // bumped or lost since: left for eviction to reclaim
          // An expired counter is a lost one, even before anyone drops it (its expiry is
          // fixed when it is made, so it is read here without its shard's lock).
          if (counter.expired(now)) return false;
          if (generations != nullptr) generations[i] = held.generation;
        }
        if (!item->referenced.load(std::memory_order_relaxed))
          item->referenced.store(true, std::memory_order_relaxed);
        fields.kind = static_cast<detail::EntryKind>(header.kind);
        fields.created = Clock::time_point(std::chrono::duration_cast<Clock::time_point::duration>(
            std::chrono::nanoseconds(header.created_ns)));
        fields.ttl = detail::decode_ttl(header.ttl);
        fields.compute_time = std::chrono::microseconds(header.compute_us);
        const std::string_view bytes = detail::entry_payload(*item, namespace_count);
        payload.assign(bytes.data(), bytes.size());
        return true;
      }
      found_expired = true;
    }
    if (found_expired) drop_if_expired(ref, index, now);
    return false;
  }

  // Takes a reference to the live counter `counter_key` if it is still at `generation`.
  Item* hold_counter(std::string_view counter_key, std::uint64_t generation) {
    const KeyRef ref = key_ref(counter_key);
    const std::size_t index = shard_index(ref);
    Shard& shard = shards[index];
    LazyNow now(*clock);
    detail::SharedAccess access(shard.lock, readers, index);
    Item* item = shard.find(ref);
    if (item == nullptr || item->kind != ItemKind::counter || item->expired(now)) return nullptr;
    detail::GenerationCell& cell = item->cell();
    if (cell.generation.load(std::memory_order_seq_cst) != generation) return nullptr;
    // Counted before the shared access ends, while the index still holds its reference.
    cell.references.fetch_add(1, std::memory_order_relaxed);
    return item;
  }

  bool store_entry(std::string_view identity, std::span<const std::string> counter_keys,
                   std::span<const std::uint64_t> generations, const detail::EntryFields& fields,
                   std::string_view payload, std::chrono::milliseconds storage_ttl) {
    const std::size_t value_size = detail::entry_value_size(counter_keys.size(), payload.size());
    if (payload.size() > max_value || counter_keys.size() > 0xffff)
      throw backend_error(errc::value_too_large,
                          fmt::format("memory backend: value of {} bytes exceeds the limit of {} "
                                      "bytes (max_item_bytes)",
                                      payload.size(), max_value));
    check_fits(identity, value_size);
    const KeyRef ref = key_ref(identity, Keyspace::entries);
    LazyNow now(*clock);
    ItemPtr fresh = detail::allocate_item(ref, ItemKind::entry, value_size,
                                          detail::expiry_for(storage_ttl, now));
    detail::store_entry_header(
        *fresh, {.created_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   fields.created.time_since_epoch())
                                   .count(),
                 .ttl = detail::encode_ttl(fields.ttl),
                 .compute_us = static_cast<std::uint32_t>(
                     std::clamp<std::int64_t>(fields.compute_time.count(), 0, 0xffffffff)),
                 .namespace_count = static_cast<std::uint16_t>(counter_keys.size()),
                 .kind = static_cast<std::uint8_t>(fields.kind)});
    for (std::size_t i = 0; i < counter_keys.size(); ++i)
      detail::store_counter_ref(*fresh, i, {nullptr, generations[i]});
    if (!payload.empty())
      std::memcpy(detail::payload_start(*fresh, counter_keys.size()), payload.data(),
                  payload.size());
    // Each counter is held from here on; one that moved on means a bump or a loss came
    // between the read and this write, and the value is dropped (the block frees the
    // references taken so far).
    for (std::size_t i = 0; i < counter_keys.size(); ++i) {
      Item* counter = hold_counter(counter_keys[i], generations[i]);
      if (counter == nullptr) return false;
      detail::store_counter_ref(*fresh, i, {counter, generations[i]});
    }
    return link_item(ref, std::move(fresh), /*only_if_absent=*/false, now);
  }

  MemoryUsage usage() const {
    MemoryUsage total;
    for (std::size_t i = 0; i <= shard_mask; ++i) {
      detail::ShardUsage part;
      {
        detail::SharedAccess access(shards[i].lock, readers, i);
        part = shards[i].usage();
      }
      total.items += part.items;
      total.bytes += part.bytes;
      total.evictions += part.evictions;
      total.expirations += part.expirations;
    }
    return total;
  }
};

MemoryBackend::MemoryBackend(MemoryOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

MemoryBackend::~MemoryBackend() = default;

void MemoryBackend::get_many(std::span<const std::string_view> keys,
                             std::vector<std::optional<std::string>>& values) {
  values.resize(keys.size());
  LazyNow now(*impl_->clock);
  for (std::size_t i = 0; i < keys.size(); ++i) impl_->get_into(keys[i], values[i], now);
}

void MemoryBackend::visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor) {
  LazyNow now(*impl_->clock);
  for (std::size_t i = 0; i < keys.size(); ++i)
    impl_->lookup(keys[i], now, [&](std::string_view value) { visitor.found(i, value); });
}

void MemoryBackend::set(std::string_view key, std::string_view value,
                        std::chrono::milliseconds ttl) {
  impl_->store(key, value, ttl, /*only_if_absent=*/false);
}

bool MemoryBackend::add(std::string_view key, std::string_view value,
                        std::chrono::milliseconds ttl) {
  return impl_->store(key, value, ttl, /*only_if_absent=*/true);
}

bool MemoryBackend::remove(std::string_view key) {
  return impl_->remove(key);
}

std::optional<std::uint64_t> MemoryBackend::increment(std::string_view key, std::uint64_t delta) {
  return impl_->increment(key, delta);
}

bool MemoryBackend::create_counter(std::string_view key, std::uint64_t initial,
                                   std::chrono::milliseconds ttl) {
  return impl_->store_counter(key, initial, ttl);
}

std::size_t MemoryBackend::max_value_size() const noexcept {
  return impl_->max_value;
}

std::string MemoryBackend::describe() const {
  return "memory://";
}

MemoryUsage MemoryBackend::usage() const {
  return impl_->usage();
}

}  // namespace gencache

namespace gencache::detail {

InProcessStore::InProcessStore(MemoryBackend& backend) noexcept : impl_(backend.impl_.get()) {}

std::uint64_t InProcessStore::generation(std::string_view counter_key,
                                         std::chrono::milliseconds counter_ttl,
                                         CounterState& state) {
  return impl_->generation(counter_key, counter_ttl, state);
}

bool InProcessStore::find(std::string_view identity, std::span<std::uint64_t> generations,
                          Entry& out) {
  EntryFields fields;
  if (!impl_->find_entry(identity, generations.size(), generations.data(), fields, out.payload,
                         LazyNow(*impl_->clock)))
    return false;
  out.kind = fields.kind;
  out.created = fields.created;
  out.ttl = fields.ttl;
  out.compute_time = fields.compute_time;
  return true;
}

bool InProcessStore::find(std::string_view identity, std::size_t namespace_count,
                          const CoarseNow& coarse, EntryFields& fields, std::string& payload) {
  return impl_->find_entry(identity, namespace_count, nullptr, fields, payload,
                           LazyNow(*impl_->clock, coarse));
}

bool InProcessStore::store(std::string_view identity, std::span<const std::string> counter_keys,
                           std::span<const std::uint64_t> generations, const EntryFields& fields,
                           std::string_view payload, std::chrono::milliseconds storage_ttl) {
  return impl_->store_entry(identity, counter_keys, generations, fields, payload, storage_ttl);
}

}  // namespace gencache::detail
