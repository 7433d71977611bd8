#pragma once
// Internal: a completion handler that runs on its own associated executor, for backends
// whose I/O completes on threads of their own (the blocking bridge's pool, a client's
// connection strands), so that a caller sees each completion where it expects it.

#include <optional>
#include <utility>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
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

template <class... Args>
class AtHome;

/// The executor a client's requests complete on, for AtHome: the client calls every
/// completion on a thread running it (in a strand of it, say), and its pending I/O counts
/// as that executor's work until then.
class ClientExecutor {
 public:
  explicit ClientExecutor(const boost::asio::any_io_executor& executor)
      : io_(io_context_executor(executor)),
        candidate_(io_ ? boost::asio::any_completion_executor(std::nothrow, *io_)
                       : boost::asio::any_completion_executor(std::nothrow, executor)) {}

 private:
  template <class...>
  friend class AtHome;
  using IoExecutor = boost::asio::io_context::executor_type;

  static std::optional<IoExecutor> io_context_executor(const boost::asio::any_io_executor& e) {
    if (const auto* io = e.target<IoExecutor>()) return *io;
    return std::nullopt;
  }

  std::optional<IoExecutor> io_;  // the executor's target, when it is an io_context's
  // What a handler without an executor of its own answers when asked for one. Held here
  // so that asking converts nothing (a conversion allocates).
  boost::asio::any_completion_executor candidate_;
};

/// What at_home() promises, without its allocations in the usual case: called, `done` runs
/// on its associated executor, that executor kept from running out of work until then, or
/// on the client's executor when it has none. In that case, with an io_context's executor,
/// no work is counted (the client's pending I/O keeps the io_context running until the
/// call, which is made on one of its threads), and the call runs `done` at once, as
/// dispatch would; nothing is allocated and `done` is not wrapped in a second handler.
template <class... Args>
class AtHome {
 public:
  AtHome(AsyncBackend::handler<void(Args...)> done, const ClientExecutor& client)
      : done_(std::move(done)) {
    auto home = boost::asio::get_associated_executor(done_, client.candidate_);
    if (client.io_ && home == client.candidate_)
      io_ = client.io_;
    else
      home_ =
          boost::asio::prefer(std::move(home), boost::asio::execution::outstanding_work.tracked);
  }

  void operator()(Args... args) && {
    auto call = [done = std::move(done_), ... args = std::move(args)]() mutable {
      std::move(done)(std::move(args)...);
    };
    if (io_) return boost::asio::dispatch(*io_, std::move(call));
    // Its work is counted until the call is dispatched (then the call itself is work).
    const boost::asio::any_completion_executor home = std::move(home_);
    boost::asio::dispatch(home, std::move(call));
  }

 private:
  AsyncBackend::handler<void(Args...)> done_;
  std::optional<ClientExecutor::IoExecutor> io_;  // where done runs, untracked
  boost::asio::any_completion_executor home_;     // or there, tracked
};

}  // namespace gencache::detail
