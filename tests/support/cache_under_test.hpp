#pragma once
// The blocking Cache's call shapes, answered by a Cache or by an AsyncCache: the
// behavioural suite and the stale-read oracle run the same test bodies over both APIs.
// An AsyncCache is driven to completion on an io_context thread of the facade's own
// (each call waits for its use_future), so `compute` runs on that thread, as AsyncCache
// promises: on its executor, never on a thread of the library's.

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>

#include "gencache/async_cache.hpp"
#include "gencache/cache.hpp"
#include "support/backend_kinds.hpp"

namespace gencache::test {

/// Which API a suite drives.
enum class Api { blocking, async };

/// "blocking" or "async", for test names.
inline const char* api_name(Api api) {
  return api == Api::blocking ? "blocking" : "async";
}

/// A kind of backend_kinds() and the API a Cache suite drives it through.
using KindAndApi = std::tuple<std::string, Api>;

/// What the Cache suites run over: every kind through both APIs, but a kind that only an
/// AsyncCache reaches (only_async_cache_reaches) through AsyncCache alone.
inline std::vector<KindAndApi> kinds_and_apis() {
  std::vector<KindAndApi> pairs;
  for (const std::string& kind : backend_kinds()) {
    if (!only_async_cache_reaches(kind)) pairs.emplace_back(kind, Api::blocking);
    pairs.emplace_back(kind, Api::async);
  }
  return pairs;
}

/// "<kind>_<api>", the name of a suite's instance.
inline std::string kind_and_api_name(const ::testing::TestParamInfo<KindAndApi>& info) {
  return std::get<0>(info.param) + "_" + api_name(std::get<1>(info.param));
}

/// Cache's call shapes over either API. Thread-safe as Cache is; not copyable.
class CacheUnderTest {
 public:
  /// A Cache on `backend`, or an AsyncCache on `backend` as AsyncCache drives backends of
  /// `kind` (test::as_async_backend), with `options` either way.
  CacheUnderTest(Api api, std::string_view kind, std::shared_ptr<Backend> backend,
                 CacheOptions options = {})
      : hooks_(std::make_shared<Hooks>()),
        keys_(backend, with_hook(options, nullptr)),
        work_(io_.get_executor()) {
    options = with_hook(std::move(options), hooks_);
    if (api == Api::blocking) {
      blocking_.emplace(std::move(backend), std::move(options));
    } else {
      async_.emplace(io_.get_executor(), as_async_backend(kind, std::move(backend)),
                     std::move(options));
      io_thread_ = std::thread([this] { io_.run(); });
    }
  }
  CacheUnderTest(const CacheUnderTest&) = delete;
  CacheUnderTest& operator=(const CacheUnderTest&) = delete;

  ~CacheUnderTest() {
    work_.reset();
    if (io_thread_.joinable()) io_thread_.join();
  }

  bool is_async() const noexcept { return async_.has_value(); }

  template <class F, class Rep, class Period>
  auto cached(std::string_view key, const NamespaceSet& namespaces,
              std::chrono::duration<Rep, Period> ttl, F&& compute) {
    if (blocking_) return blocking_->cached(key, namespaces, ttl, std::forward<F>(compute));
    return async_
        ->async_cached(key, namespaces, ttl, std::forward<F>(compute), boost::asio::use_future)
        .get();
  }

  template <class F, class Rep, class Period>
  auto cached(std::string_view key, const NamespaceSet& namespaces,
              std::chrono::duration<Rep, Period> ttl, F&& compute, const CallOptions& options) {
    if (blocking_)
      return blocking_->cached(key, namespaces, ttl, std::forward<F>(compute), options);
    return async_
        ->async_cached(key, namespaces, ttl, std::forward<F>(compute), options,
                       boost::asio::use_future)
        .get();
  }

  template <class T = std::string>
  std::optional<T> get(std::string_view key, const NamespaceSet& namespaces) {
    if (blocking_) return blocking_->get<T>(key, namespaces);
    return async_->async_get<T>(key, namespaces, boost::asio::use_future).get();
  }

  /// AsyncCache reads fail open and report failures only to the error hook, so `ec` is
  /// the failure the hook saw during this call.
  template <class T = std::string>
  std::optional<T> get(std::string_view key, const NamespaceSet& namespaces, std::error_code& ec) {
    if (blocking_) return blocking_->get<T>(key, namespaces, ec);
    return recording(ec, [&] { return get<T>(key, namespaces); });
  }

  template <class T = std::string>
  std::vector<std::optional<T>> get_many(std::span<const std::string> keys,
                                         const NamespaceSet& namespaces) {
    if (blocking_) return blocking_->get_many<T>(keys, namespaces);
    return async_
        ->async_get_many<T>(std::vector<std::string>(keys.begin(), keys.end()), namespaces,
                            boost::asio::use_future)
        .get();
  }

  template <class T = std::string>
  std::vector<std::optional<T>> get_many(std::span<const std::string> keys,
                                         const NamespaceSet& namespaces, std::error_code& ec) {
    if (blocking_) return blocking_->get_many<T>(keys, namespaces, ec);
    return recording(ec, [&] { return get_many<T>(keys, namespaces); });
  }

  template <class F, class Rep, class Period>
  auto cached_many(std::span<const std::string> keys, const NamespaceSet& namespaces,
                   std::chrono::duration<Rep, Period> ttl, F&& compute) {
    if (blocking_) return blocking_->cached_many(keys, namespaces, ttl, std::forward<F>(compute));
    return async_
        ->async_cached_many(std::vector<std::string>(keys.begin(), keys.end()), namespaces, ttl,
                            std::forward<F>(compute), boost::asio::use_future)
        .get();
  }

  template <class T, class Rep, class Period>
  void set(std::string_view key, const NamespaceSet& namespaces, const T& value,
           std::chrono::duration<Rep, Period> ttl) {
    if (blocking_) return blocking_->set(key, namespaces, value, ttl);
    async_->async_set(key, namespaces, stored(value), ttl, boost::asio::use_future).get();
  }

  Ticket reserve(std::string_view key, const NamespaceSet& namespaces) {
    if (blocking_) return blocking_->reserve(key, namespaces);
    return async_->async_reserve(key, namespaces, boost::asio::use_future).get();
  }

  template <class T, class Rep, class Period>
  void store(const Ticket& ticket, const T& value, std::chrono::duration<Rep, Period> ttl) {
    if (blocking_) return blocking_->store(ticket, value, ttl);
    async_->async_store(ticket, stored(value), ttl, boost::asio::use_future).get();
  }

  /// Throws gencache::backend_error on failure, as Cache::bump_namespace.
  std::uint64_t bump_namespace(const Namespace& ns) {
    if (blocking_) return blocking_->bump_namespace(ns);
    return as_backend_error(
        [&] { return async_->async_bump_namespace(ns, boost::asio::use_future).get(); });
  }

  std::uint64_t bump_namespace(const Namespace& ns, std::error_code& ec) {
    if (blocking_) return blocking_->bump_namespace(ns, ec);
    ec.clear();
    try {
      return bump_namespace(ns);
    } catch (const backend_error& e) {
      ec = e.code();
      return 0;
    }
  }

  std::uint64_t generation(const Namespace& ns) {
    if (blocking_) return blocking_->generation(ns);
    return as_backend_error(
        [&] { return async_->async_generation(ns, boost::asio::use_future).get(); });
  }

  Stats stats() const { return blocking_ ? blocking_->stats() : async_->stats(); }

  void set_error_hook(ErrorHook hook) {
    std::lock_guard lock(hooks_->mutex);
    hooks_->user = std::move(hook);
  }

  /// Pure key arithmetic: the same for both APIs (a Cache on the same backend computes it).
  std::string versioned_key(std::string_view key, const NamespaceSet& namespaces,
                            std::span<const std::uint64_t> generations) const {
    return keys_.versioned_key(key, namespaces, generations);
  }

 private:
  // The hook both APIs report to: the user's hook, and the last failure while recording.
  struct Hooks {
    std::mutex mutex;
    ErrorHook user;
    std::optional<std::error_code> recorded;
    void report(const ErrorEvent& event) {
      ErrorHook hook;
      {
        std::lock_guard lock(mutex);
        if (recorded) *recorded = event.code;
        hook = user;
      }
      if (hook) hook(event);
    }
  };

  static CacheOptions with_hook(CacheOptions options, const std::shared_ptr<Hooks>& hooks) {
    if (!hooks) {
      options.on_error = nullptr;
      return options;
    }
    if (options.on_error) hooks->user = std::move(options.on_error);
    options.on_error = [hooks](const ErrorEvent& event) { hooks->report(event); };
    return options;
  }

  template <class Call>
  auto recording(std::error_code& ec, Call call) {
    {
      std::lock_guard lock(hooks_->mutex);
      hooks_->recorded.emplace();
    }
    auto result = call();
    std::lock_guard lock(hooks_->mutex);
    ec = *hooks_->recorded;
    hooks_->recorded.reset();
    return result;
  }

  // Cache::set stores string literals and views as std::string; so does this.
  template <class T>
  static auto stored(const T& value) {
    if constexpr (std::is_convertible_v<const T&, std::string_view>)
      return std::string(std::string_view(value));
    else
      return value;
  }

  // AsyncCache's bump and generation fail with a boost::system::system_error through
  // use_future; Cache's with gencache::backend_error, which the suites expect.
  template <class Call>
  static std::invoke_result_t<Call&> as_backend_error(Call call) {
    try {
      return call();
    } catch (const boost::system::system_error& e) {
      throw backend_error(std::error_code(e.code()), e.what());
    }
  }

  std::shared_ptr<Hooks> hooks_;
  Cache keys_;  // versioned_key only
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::optional<Cache> blocking_;
  std::optional<AsyncCache> async_;
  std::thread io_thread_;
};

}  // namespace gencache::test
