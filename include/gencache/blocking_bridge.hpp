#pragma once
/// \file
/// Serves an AsyncBackend from any blocking Backend by running its calls on a small pool
/// of threads of its own, so that a coroutine never waits on a blocking round trip. This
/// is how memcached:// and redis:// serve AsyncCache until their native asynchronous
/// clients land, and how a user's own Backend can serve an AsyncCache.

#include <cstddef>
#include <memory>

#include "gencache/async_backend.hpp"
#include "gencache/backend.hpp"

namespace gencache {

/// Settings of the blocking bridge. Both bounds are there so that a hung server costs
/// the caller a bounded wait and a bounded amount of memory, never a blocked thread.
struct BlockingBridgeOptions {
  /// Threads that run the blocking calls (1 to 256; default 4). Each in-flight call holds
  /// one for up to the backend's own I/O timeout, so this is also the most calls that are
  /// on the wire at once. URL parameter `async_threads=`.
  std::size_t threads = 4;
  /// Calls that may wait for a free thread (at least 1; default 4096). A call beyond that
  /// completes at once with backend_error(errc::backend_unavailable) instead of queueing:
  /// behind a hung server every queued call would wait its turn of io_timeout, so an
  /// unbounded queue would turn "reads fail open in bounded time" into an unbounded wait.
  std::size_t max_queued = 4096;
};

/// An AsyncBackend that runs each operation as the same-named call of `backend` on one
/// of its own threads.
///
/// Completions: every handler runs on its associated executor (asio::dispatch to it), or
/// on a bridge thread when it has none; AsyncCache always gives it one, its caller's. A
/// failure of `backend` (any exception) completes the handler with a backend_error; an
/// exception other than backend_error becomes errc::backend_unavailable naming the backend.
/// Visitors passed to async_visit_many are called on a bridge thread.
///
/// Destroying the bridge waits for the operations already started or queued (each bounded
/// by `backend`'s own timeouts) and completes them. Throws gencache::config_error for a
/// null `backend` or options out of range, naming the option.
std::shared_ptr<AsyncBackend> make_blocking_bridge(std::shared_ptr<Backend> backend,
                                                   BlockingBridgeOptions options = {});

}  // namespace gencache
