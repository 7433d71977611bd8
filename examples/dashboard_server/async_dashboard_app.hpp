#pragma once
// The dashboard on gencache::AsyncCache: every request is a coroutine, and while one waits
// for the cache or for its render, its thread serves other connections.

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <gencache/async_cache.hpp>

#include "dashboard_app.hpp"

namespace dashboard {

class AsyncDashboardApp {
 public:
  AsyncDashboardApp(gencache::AsyncCache cache, AppOptions options);
  AsyncDashboardApp(const AsyncDashboardApp&) = delete;
  AsyncDashboardApp& operator=(const AsyncDashboardApp&) = delete;

  /// Answers one request; the views must stay valid until it completes. Never throws:
  /// failures become 4xx/5xx results. As DashboardApp::handle, a cached page carries an
  /// ETag (AsyncCache::async_etag) and a matching `if_none_match` gets a 304.
  boost::asio::awaitable<HttpResult> handle(std::string_view method, std::string_view target,
                                            std::string_view body,
                                            std::string_view if_none_match = {});

  DashboardState& state() noexcept { return state_; }
  gencache::AsyncCache& cache() noexcept { return cache_; }

 private:
  boost::asio::awaitable<HttpResult> act(Action action, std::string if_none_match);
  boost::asio::awaitable<HttpResult> cached_page(const DashboardQuery& query,
                                                 const std::string& if_none_match);
  boost::asio::awaitable<std::string> dashboard(const DashboardQuery& query);
  /// The page, its render cost an awaited timer, as an async database query would be.
  boost::asio::awaitable<std::string> render(const DashboardQuery& query);

  gencache::AsyncCache cache_;
  DashboardState state_;
};

}  // namespace dashboard
