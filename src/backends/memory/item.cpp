#include "backends/memory/item.hpp"

#include "backends/memory/entry_layout.hpp"

namespace gencache::detail {

void release_item(Item* item) noexcept {
  if (item == nullptr) return;
  if (item->kind == ItemKind::counter) {
    // The last reference frees: the index's or that of the last entry computed under it.
    if (item->cell().references.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  } else if (item->kind == ItemKind::entry) {
    const CounterRef* refs = counter_refs(*item);
    for (std::uint16_t i = 0; i < entry_header(*item).namespace_count; ++i)
      release_item(refs[i].counter);
  }
  ::operator delete(item);
}

}  // namespace gencache::detail
