#include "async_dashboard_app.hpp"

#include <exception>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <gencache/namespace.hpp>

namespace dashboard {

namespace asio = boost::asio;

AsyncDashboardApp::AsyncDashboardApp(gencache::AsyncCache cache, AppOptions options)
    : cache_(std::move(cache)), state_(options) {}

asio::awaitable<HttpResult> AsyncDashboardApp::handle(std::string_view method,
                                                      std::string_view target,
                                                      std::string_view body,
                                                      std::string_view if_none_match) {
  try {
    co_return co_await act(decide(method, target, body), std::string(if_none_match));
  } catch (const std::exception& e) {
    co_return HttpResult{500, boost::json::serialize(boost::json::object{{"error", e.what()}})};
  }
}

asio::awaitable<HttpResult> AsyncDashboardApp::cached_page(const DashboardQuery& query,
                                                           const std::string& if_none_match) {
  const gencache::NamespaceSet deps = page_dependencies(query);
  // The validator first, then the body, as in DashboardApp::cached_page.
  auto [ec, etag] =
      co_await cache_.async_etag(query.cache_key, deps, asio::as_tuple(asio::use_awaitable));
  HttpResult result;
  if (!ec) {
    result.headers = page_headers(etag, deps);
    if (if_none_match_hits(if_none_match, etag)) {
      result.status = 304;
      co_return result;
    }
  }
  result.body = co_await dashboard(query);
  co_return result;
}

asio::awaitable<HttpResult> AsyncDashboardApp::act(Action action, std::string if_none_match) {
  const bool use_cache = state_.options().use_cache;
  switch (action.kind) {
    case Action::Kind::respond:
      co_return action.response;
    case Action::Kind::show_metrics:
      co_return state_.metrics(cache_.stats());
    case Action::Kind::show_dashboard: {
      if (use_cache) co_return co_await cached_page(action.query, if_none_match);
      co_return HttpResult{200, co_await render(action.query)};
    }
    case Action::Kind::add_item: {
      // Commit first, then invalidate, as the blocking server does.
      const Database::Item item =
          state_.database().add_item(action.user, action.text, action.price_cents);
      if (!use_cache) co_return state_.item_added(action.user, item, nullptr);
      std::string failure;
      const gencache::Namespace user = gencache::ns("user", action.user);
      try {
        co_await cache_.async_bump_namespace(user, asio::use_awaitable);
        state_.bumped(user);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      co_return state_.item_added(action.user, item, failure.empty() ? nullptr : failure.c_str());
    }
    case Action::Kind::update_catalog: {
      const Database::Catalog catalog = state_.database().update_catalog(action.text);
      if (!use_cache) co_return state_.catalog_updated(catalog, nullptr);
      std::string failure;
      const gencache::Namespace catalog_ns = gencache::ns("catalog");
      try {
        co_await cache_.async_bump_namespace(catalog_ns, asio::use_awaitable);
        state_.bumped(catalog_ns);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      co_return state_.catalog_updated(catalog, failure.empty() ? nullptr : failure.c_str());
    }
  }
  co_return HttpResult{500, "{\"error\":\"unknown action\"}"};
}

asio::awaitable<std::string> AsyncDashboardApp::dashboard(const DashboardQuery& query) {
  // Every page of a user depends on that user's data and on the catalog shown on every
  // dashboard. Named before the co_await: GCC 12 cannot keep a braced list alive across it.
  const gencache::NamespaceSet depends_on{gencache::ns("user", query.user),
                                          gencache::ns("catalog")};
  co_return co_await cache_.async_cached(
      query.cache_key, depends_on, state_.options().ttl,
      [this, &query]() -> asio::awaitable<std::string> { co_return co_await render(query); },
      asio::use_awaitable);
}

asio::awaitable<std::string> AsyncDashboardApp::render(const DashboardQuery& query) {
  std::string page = state_.page(query);
  asio::steady_timer query_latency(co_await asio::this_coro::executor,
                                   state_.options().render_cost);
  co_await query_latency.async_wait(asio::use_awaitable);
  co_return page;
}

}  // namespace dashboard
