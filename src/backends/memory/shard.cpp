#include "backends/memory/shard.hpp"

#include <cassert>

namespace gencache::detail {

Shard::~Shard() {
  for (Item* item : ring_) ItemDeleter{}(item);
}

void Shard::link(ItemPtr item) {
  Item* raw = item.get();
  raw->ring_index = static_cast<std::uint32_t>(ring_.size());
  ring_.push_back(raw);
  try {
    items_.insert(raw);
  } catch (...) {
    ring_.pop_back();
    throw;
  }
  bytes_ += item_charge(*raw);
  item.release();
}

ItemPtr Shard::unlink(Item* item) {
  items_.erase(item);
  // A counter leaving the index is lost: advancing its cell once makes every entry recorded
  // under it unreachable, and whoever needs it next creates a fresh one (at a new value).
  if (item->kind == ItemKind::counter)
    item->cell().generation.fetch_add(1, std::memory_order_seq_cst);
  // Swap-with-last keeps the ring dense; an item moved behind the hand waits one more lap.
  Item* last = ring_.back();
  ring_[item->ring_index] = last;
  last->ring_index = item->ring_index;
  ring_.pop_back();
  bytes_ -= item_charge(*item);
  return ItemPtr(item);
}

void Shard::make_room(std::size_t charge, LazyNow& now) {
  assert(charge <= budget_);
  // Counters that entries depend on are passed over (hits read their cells, not their
  // items, so their CLOCK bit says nothing), but at most once per item in the ring: a
  // shard holding nothing else still makes room.
  std::size_t spared = 0;
  while (bytes_ + charge > budget_) {
    if (hand_ >= ring_.size()) hand_ = 0;
    Item* candidate = ring_[hand_];
    if (candidate->referenced.load(std::memory_order_relaxed)) {
      candidate->referenced.store(false, std::memory_order_relaxed);  // a second chance
      ++hand_;
      continue;
    }
    if (candidate->kind == ItemKind::counter && spared < ring_.size() &&
        candidate->cell().references.load(std::memory_order_relaxed) > 1 &&
        !candidate->expired(now)) {
      ++spared;
      ++hand_;
      continue;
    }
    if (candidate->expired(now)) {
      drop_expired(candidate);
    } else {
      ++evictions_;
      unlink(candidate);
    }
    // The newest item has moved into the hand's slot; stepping past it gives it a full lap
    // (staying would evict each new item on the next insert).
    ++hand_;
  }
}

}  // namespace gencache::detail
