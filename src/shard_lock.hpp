#pragma once
// Internal: how the memory backend locks a shard, and the generation hints theirs.
// Writers take the shard's mutex; a reader (a hit) only bumps a counter in a cache line
// owned by its CPU, so hits on
// different cores do not pass a line back and forth. (With a plain mutex per shard, two
// threads hitting random shards moved the mutex's line on about every other hit and got
// ~1.1x the throughput of one thread; with disjoint shards they got ~2x.)

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace gencache::detail {

/// What the readers and writers of one shard share.
struct ShardLock {
  std::mutex mutex;  // held by writers, and by readers that arrive while a writer works
  std::atomic<bool> writer_active{false};
};

/// Reader counts of every shard of one backend, one row of cache lines per CPU slot.
class ReaderCounts {
 public:
  explicit ReaderCounts(std::size_t shards);

  /// The counter of `shard` in the calling thread's slot (its current CPU). Threads that
  /// share a slot share the counter, which is correct, only slower.
  std::atomic<std::uint32_t>& for_this_cpu(std::size_t shard) noexcept;

  /// Waits until no slot counts a reader of `shard`.
  void wait_for_readers(std::size_t shard) const noexcept;

 private:
  static constexpr std::size_t kCountsPerLine = 16;
  struct alignas(64) Line {
    std::atomic<std::uint32_t> counts[kCountsPerLine] = {};
  };

  std::atomic<std::uint32_t>& at(std::size_t slot, std::size_t shard) const noexcept {
    return lines_[slot * lines_per_slot_ + shard / kCountsPerLine].counts[shard % kCountsPerLine];
  }

  std::size_t slot_mask_;
  std::size_t lines_per_slot_;
  std::unique_ptr<Line[]> lines_;
};

/// Read access to a shard for the guard's lifetime. While no writer is active this
/// writes only the CPU's own counter; otherwise it waits on the writer's mutex.
class SharedAccess {
 public:
  SharedAccess(ShardLock& lock, ReaderCounts& readers, std::size_t shard) noexcept
      : lock_(lock), counter_(&readers.for_this_cpu(shard)) {
    // seq_cst on both sides (here and in ExclusiveAccess) is what guarantees that a
    // reader and a writer arriving together cannot both miss each other.
    counter_->fetch_add(1, std::memory_order_seq_cst);
    if (!lock_.writer_active.load(std::memory_order_seq_cst)) return;
    counter_->fetch_sub(1, std::memory_order_release);
    counter_ = nullptr;
    lock_.mutex.lock();
  }
  ~SharedAccess() {
    if (counter_ != nullptr) {
      counter_->fetch_sub(1, std::memory_order_release);
    } else {
      lock_.mutex.unlock();
    }
  }
  SharedAccess(const SharedAccess&) = delete;
  SharedAccess& operator=(const SharedAccess&) = delete;

 private:
  ShardLock& lock_;
  std::atomic<std::uint32_t>* counter_;  // null when holding the mutex instead
};

/// Exclusive access to a shard for the guard's lifetime: the mutex, then every reader
/// in flight has left.
class ExclusiveAccess {
 public:
  ExclusiveAccess(ShardLock& lock, const ReaderCounts& readers, std::size_t shard) noexcept
      : lock_(lock) {
    lock_.mutex.lock();
    lock_.writer_active.store(true, std::memory_order_seq_cst);
    readers.wait_for_readers(shard);
  }
  ~ExclusiveAccess() {
    lock_.writer_active.store(false, std::memory_order_release);
    lock_.mutex.unlock();
  }
  ExclusiveAccess(const ExclusiveAccess&) = delete;
  ExclusiveAccess& operator=(const ExclusiveAccess&) = delete;

 private:
  ShardLock& lock_;
};

}  // namespace gencache::detail
