#include "bump_outbox.hpp"

#include <fmt/format.h>

#include "cache_core.hpp"

namespace gencache::detail {

BumpOutbox::BumpOutbox(OutboxOptions options, std::function<void(const Namespace&)> bump,
                       std::function<void(const std::exception&)> report, StripedStats& stats)
    : options_(options), bump_(std::move(bump)), report_(std::move(report)), stats_(stats) {}

BumpOutbox::~BumpOutbox() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void BumpOutbox::enqueue(const Namespace& ns) {
  bool overflow = false;
  {
    std::lock_guard lock(mutex_);
    overflow = queue_.size() >= options_.capacity && !queue_.contains(ns);
    if (!overflow) {
      queue_.insert(ns);
      if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    }
  }
  if (overflow) {
    stats_.add(StripedStats::outbox_overflows);
    report_(
        backend_error(errc::outbox_full,
                      fmt::format("bump outbox full ({} namespaces): the bump of '{}' was dropped",
                                  options_.capacity, ns.name())));
    return;
  }
  wake_.notify_all();
}

std::size_t BumpOutbox::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool BumpOutbox::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (queue_.empty()) return true;
  retry_now_ = true;
  wake_.notify_all();
  return drained_.wait_for(lock, timeout, [&] { return queue_.empty(); });
}

bool BumpOutbox::retry_all() {
  std::set<Namespace> batch;
  {
    std::lock_guard lock(mutex_);
    batch = queue_;
  }
  for (const Namespace& ns : batch) {
    try {
      bump_(ns);
      stats_.add(StripedStats::outbox_retried);
      std::lock_guard lock(mutex_);
      queue_.erase(ns);
    } catch (const std::exception&) {
      // Still failing: it stays queued; the bump itself already reported the error.
    }
  }
  std::lock_guard lock(mutex_);
  if (queue_.empty()) drained_.notify_all();
  return queue_.empty();
}

void BumpOutbox::run() {
  auto backoff = options_.initial_backoff;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, backoff, [&] { return stopping_ || retry_now_; });
    if (stopping_) break;
    retry_now_ = false;
    if (queue_.empty()) {
      backoff = options_.initial_backoff;
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      continue;
    }
    lock.unlock();
    const bool drained = retry_all();
    lock.lock();
    backoff = drained ? options_.initial_backoff : std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace gencache::detail
