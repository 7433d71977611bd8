#include "backends/memory/item.hpp"

#include "backends/memory/entry_layout.hpp"

namespace gencache::detail {

void release_item(Item* item) noexcept {
  if (item == nullptr) return;
  if (item->kind == ItemKind::counter) {
    // The last reference frees: the index's or that of the last entry computed under it.
    if (item->cell().references.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  } else if (item->kind == ItemKind::entry) {
    const std::uint16_t count = entry_namespace_count(*item);
    for (std::uint16_t i = 0; i < count; ++i) release_item(load_counter_ref(*item, i).counter);
  }
  ::operator delete(item);
}

}  // namespace gencache::detail
