#pragma once
// Internal: a completion handler that runs on its own associated executor, for backends
// whose I/O completes on threads of their own (the blocking bridge's pool, a client's
// connection strands), so that a caller sees each completion where it expects it.

#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>

#include "gencache/async_backend.hpp"

namespace gencache::detail {

/// `done`, dispatched to its associated executor (or `fallback` when it has none) when
/// called, that executor kept from running out of work meanwhile.
template <class... Args, class Executor>
AsyncBackend::handler<void(Args...)> at_home(AsyncBackend::handler<void(Args...)> done,
                                             const Executor& fallback) {
  auto home = boost::asio::prefer(boost::asio::get_associated_executor(done, fallback),
                                  boost::asio::execution::outstanding_work.tracked);
  return AsyncBackend::handler<void(Args...)>(
      [home = std::move(home), done = std::move(done)](Args... args) mutable {
        boost::asio::dispatch(home, [done = std::move(done), ... args = std::move(args)]() mutable {
          std::move(done)(std::move(args)...);
        });
      });
}

}  // namespace gencache::detail
