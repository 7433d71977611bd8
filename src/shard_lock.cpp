#include "shard_lock.hpp"

#include <algorithm>
#include <bit>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

namespace gencache::detail {
namespace {

// More slots than CPUs cost writers a longer scan for nothing; beyond this, CPUs share.
constexpr std::size_t kMaxSlots = 64;

std::size_t slot_count() {
  const std::size_t cpus = std::max(1u, std::thread::hardware_concurrency());
  return std::min(std::bit_ceil(cpus), kMaxSlots);
}

std::size_t current_cpu() noexcept {
#if defined(__linux__)
  const int cpu = sched_getcpu();  // glibc reads it from rseq: a few nanoseconds
  return cpu < 0 ? 0 : static_cast<std::size_t>(cpu);
#else
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine;
#endif
}

void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ReaderCounts::ReaderCounts(std::size_t shards)
    : slot_mask_(slot_count() - 1),
      lines_per_slot_((shards + kCountsPerLine - 1) / kCountsPerLine),
      lines_(std::make_unique<Line[]>((slot_mask_ + 1) * lines_per_slot_)) {}

std::atomic<std::uint32_t>& ReaderCounts::for_this_cpu(std::size_t shard) noexcept {
  return at(current_cpu() & slot_mask_, shard);
}

void ReaderCounts::wait_for_readers(std::size_t shard) const noexcept {
  for (std::size_t slot = 0; slot <= slot_mask_; ++slot) {
    const auto& count = at(slot, shard);
    // Readers stay for a lookup and a copy; yield only if one was preempted meanwhile.
    // seq_cst pairs with the store of writer_active (see SharedAccess).
    for (int spins = 0; count.load(std::memory_order_seq_cst) != 0; ++spins) {
      if (spins < 128) {
        pause();
      } else {
        std::this_thread::yield();
      }
    }
  }
}

}  // namespace gencache::detail
