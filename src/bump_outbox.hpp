#pragma once
// Internal: the bump outbox (OutboxOptions): failed bumps retried in the background.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "gencache/cache.hpp"

namespace gencache::detail {

class StripedStats;

class BumpOutbox {
 public:
  /// `bump` applies one bump and throws on failure; `report` receives dropped bumps.
  BumpOutbox(OutboxOptions options, std::function<void(const Namespace&)> bump,
             std::function<void(const std::exception&)> report, StripedStats& stats);
  ~BumpOutbox();  ///< stops the retry thread; what is still queued is lost (documented)

  /// Queues `ns` for retry. Several failed bumps of one namespace need one retry.
  void enqueue(const Namespace& ns);
  bool flush(std::chrono::milliseconds timeout);
  std::size_t pending() const;

 private:
  void run();
  bool retry_all();  // true when the queue is empty afterwards

  OutboxOptions options_;
  std::function<void(const Namespace&)> bump_;
  std::function<void(const std::exception&)> report_;
  StripedStats& stats_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::set<Namespace> queue_;
  bool retry_now_ = false;
  bool stopping_ = false;
  std::thread worker_;  // started on first enqueue
};

}  // namespace gencache::detail
