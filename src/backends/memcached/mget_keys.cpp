#include "backends/memcached/mget_keys.hpp"

#include <bit>

#include "string_hash.hpp"

namespace gencache::detail {

void MgetKeys::prepare(std::span<const std::string_view> keys) {
  pointers_.clear();
  lengths_.clear();
  head_position_.clear();
  next_position_.resize(keys.size());
  // At most half full, so a lookup rarely probes past its first slot.
  slots_.assign(std::bit_ceil(keys.size() * 2), 0);
  slot_mask_ = slots_.size() - 1;
  expected_ = 0;
  for (std::size_t position = 0; position < keys.size(); ++position) {
    const std::string_view key = keys[position];
    std::size_t& slot = slots_[slot_of(key)];
    if (slot != 0) {  // a key listed again
      next_position_[position] = head_position_[slot - 1];
      head_position_[slot - 1] = position;
      continue;
    }
    slot = pointers_.size() + 1;
    // libmemcached wants a non-null pointer even for an empty key (which it then refuses).
    pointers_.push_back(key.data() != nullptr ? key.data() : "");
    lengths_.push_back(key.size());
    head_position_.push_back(position);
    next_position_[position] = npos;
  }
}

std::size_t MgetKeys::find(std::string_view key) noexcept {
  if (expected_ < distinct() && is(expected_, key)) return expected_++;
  const std::size_t slot = slots_.empty() ? 0 : slots_[slot_of(key)];
  if (slot == 0) return npos;
  expected_ = slot;  // the distinct key after the one found
  return slot - 1;
}

void MgetKeys::trim() noexcept {
  // About 40 bytes per key: a thread keeps what a few hundred keys need, not more.
  constexpr std::size_t kKeepKeys = 1024;
  if (next_position_.capacity() <= kKeepKeys) return;
  pointers_ = {};
  lengths_ = {};
  head_position_ = {};
  next_position_ = {};
  slots_ = {};
  slot_mask_ = 0;
  expected_ = 0;
}

std::size_t MgetKeys::slot_of(std::string_view key) const noexcept {
  std::size_t slot = hash_string(key) & slot_mask_;
  while (slots_[slot] != 0 && !is(slots_[slot] - 1, key)) slot = (slot + 1) & slot_mask_;
  return slot;
}

}  // namespace gencache::detail
