#pragma once
// Internal: the keys of one multi-get, each sent once, and the way back from a key
// Memcached returns to the positions of the request it answers.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace gencache::detail {

/// Indexes the keys of one multi-get. prepare() keeps the capacity of the previous call,
/// so a thread's steady state of calls allocates nothing.
class MgetKeys {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// Indexes `keys`, which must stay alive until the next prepare(). A key listed twice
  /// is one distinct key that answers both positions.
  void prepare(std::span<const std::string_view> keys);

  /// The distinct keys, in the order first asked for, as memcached_mget takes them.
  const char* const* pointers() const noexcept { return pointers_.data(); }
  const std::size_t* lengths() const noexcept { return lengths_.data(); }
  std::size_t distinct() const noexcept { return pointers_.size(); }

  /// The distinct key equal to `key`, or npos for a key that was not asked for. A server
  /// answers its keys in the order they were sent, so the key after the one last found is
  /// tried before the hash table.
  std::size_t find(std::string_view key) noexcept;

  /// Calls `visit(position)` for each position of the prepared keys that holds distinct
  /// key `distinct_key` (in no particular order).
  template <class Visit>
  void for_each_position(std::size_t distinct_key, Visit&& visit) const {
    for (std::size_t position = head_position_[distinct_key]; position != npos;
         position = next_position_[position])
      visit(position);
  }

  /// Gives back the memory of an unusually large call, so a thread does not keep it.
  void trim() noexcept;

 private:
  bool is(std::size_t distinct_key, std::string_view key) const noexcept {
    return lengths_[distinct_key] == key.size() &&
           std::string_view(pointers_[distinct_key], key.size()) == key;
  }
  std::size_t slot_of(std::string_view key) const noexcept;  // its slot, or an empty one

  std::vector<const char*> pointers_;
  std::vector<std::size_t> lengths_;
  std::vector<std::size_t> head_position_;  // per distinct key: one position holding it
  std::vector<std::size_t> next_position_;  // per position: another with the same key, or npos
  std::vector<std::size_t> slots_;          // open addressing: distinct key + 1, 0 when empty
  std::size_t slot_mask_ = 0;
  std::size_t expected_ = 0;  // the distinct key find() tries first
};

}  // namespace gencache::detail
