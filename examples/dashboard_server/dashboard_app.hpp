#pragma once
// The dashboard service without its HTTP transport: an in-memory "database", the routes,
// and the cached dashboard endpoint. The HTTP server (http_server.hpp) calls handle().

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gencache/cache.hpp>
#include <gencache/cached_call.hpp>

#include "metrics.hpp"

namespace dashboard {

/// The seeded, in-memory data the dashboard shows. Thread-safe.
class Database {
 public:
  struct Item {
    std::uint64_t id = 0;
    std::string name;
    std::int64_t price_cents = 0;
  };
  struct Catalog {
    std::uint64_t revision = 1;
    std::string banner = "welcome";
  };

  /// Every user from 1 to max_user exists and starts with a few seeded items.
  static constexpr std::uint64_t max_user = 1'000'000;

  std::vector<Item> items_of(std::uint64_t user) const;
  /// Commits a new item for `user` and returns it.
  Item add_item(std::uint64_t user, std::string name, std::int64_t price_cents);
  Catalog catalog() const;
  /// Commits a new banner and returns the catalog's new state.
  Catalog update_catalog(std::string banner);

 private:
  static std::vector<Item> seed(std::uint64_t user);

  mutable std::shared_mutex mutex_;
  std::map<std::uint64_t, std::vector<Item>> written_;  // users whose items changed
  std::uint64_t next_id_ = 1'000'000'000;
  Catalog catalog_;
};

/// One parsed dashboard request; `cache_key` is gencache::url_key of its target.
struct DashboardQuery {
  std::uint64_t user = 0;
  std::uint64_t page = 1;
  std::string sort = "newest";
  std::string cache_key;
};

struct HttpResult {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  /// More response headers: ETag, Surrogate-Key and Cache-Control on cached pages.
  std::vector<std::pair<std::string, std::string>> headers{};
};

/// Called after each successful bump with the namespaces bumped, so a CDN that caches the
/// pages can purge them by tag: the Surrogate-Key header of a page lists its namespaces,
/// so forward each name as a surrogate-key purge (Fastly: `POST /service/ID/purge/KEY`;
/// Varnish xkey: a PURGE with `xkey: KEY`). Runs on the request's thread after the
/// write committed; must not throw. A CDN that misses a purge still revalidates with the
/// ETag, which the bump already changed.
using BumpHook = std::function<void(std::span<const gencache::Namespace>)>;

struct AppOptions {
  bool use_cache = true;
  std::chrono::milliseconds ttl{std::chrono::minutes(10)};
  /// What rendering a dashboard costs: the queries and templating being cached.
  std::chrono::microseconds render_cost{std::chrono::milliseconds(2)};
  /// See BumpHook; empty: nothing is forwarded.
  BumpHook on_bump{};
};

/// What a request asks for, decided from the request alone before anything is done: no
/// database, no cache. The blocking and the coroutine servers then act on it, each in
/// its own way.
struct Action {
  enum class Kind { respond, show_dashboard, add_item, update_catalog, show_metrics };
  Kind kind = Kind::respond;
  HttpResult response;           ///< respond: the whole answer (an error, /healthz)
  DashboardQuery query;          ///< show_dashboard
  std::uint64_t user = 0;        ///< add_item
  std::string text;              ///< add_item: the item's name; update_catalog: the banner
  std::int64_t price_cents = 0;  ///< add_item
};

/// What every dashboard page depends on: its user's data and the catalog.
gencache::NamespaceSet page_dependencies(const DashboardQuery& query);

/// The headers of a cached page whose validator is `etag`: ETag, Surrogate-Key (the
/// namespace names, space separated, for a CDN to purge by) and Cache-Control: no-cache
/// (a browser or CDN may keep the page but revalidates it with the ETag each time).
std::vector<std::pair<std::string, std::string>> page_headers(
    std::string_view etag, const gencache::NamespaceSet& namespaces);

/// Whether an If-None-Match `header` (`*` or a comma-separated list of entity tags,
/// compared weakly: a `W/` prefix is ignored, as RFC 9110 says) matches `etag`.
bool if_none_match_hits(std::string_view header, std::string_view etag);

/// Routes and validates one request. `target` is the request target (origin form,
/// `/path?query`). Never throws: a bad request becomes a respond Action with a 4xx.
Action decide(std::string_view method, std::string_view target, std::string_view body);

/// What both servers share: the database, the metrics and the rendering of a page.
/// Thread-safe.
class DashboardState {
 public:
  explicit DashboardState(AppOptions options) : options_(options) {}

  const AppOptions& options() const noexcept { return options_; }
  Database& database() noexcept { return database_; }

  /// The page of `query` from the database as it is now, without the render cost (each
  /// server spends that its own way: a blocking sleep, or an awaited timer).
  std::string page(const DashboardQuery& query);

  /// The answers to the writes, once committed; `failure` says why the invalidation
  /// failed, if it did (the client is told to retry: the write is stored but pages may
  /// still show the old data).
  HttpResult item_added(std::uint64_t user, const Database::Item& item, const char* failure) const;
  HttpResult catalog_updated(const Database::Catalog& catalog, const char* failure) const;
  HttpResult metrics(const gencache::Stats& stats) const;

  /// Hands `bumped` to AppOptions::on_bump, if set; a hook that throws is ignored, since
  /// the write is committed and the ETag changed anyway.
  void bumped(const gencache::Namespace& bumped) const noexcept;

  /// Records how long a request on `route` took (the HTTP layer measures it).
  void observe(Route route, std::chrono::nanoseconds took) noexcept {
    metrics_.observe(route, took);
  }

  /// The route a request target belongs to, for the latency histogram.
  static Route route_of(std::string_view target) noexcept;

 private:
  AppOptions options_;
  Database database_;
  Metrics metrics_;
  std::atomic<std::uint64_t> renders_{0};
};

/// The dashboard on the blocking gencache::Cache: each request holds its thread for the
/// cache's round trips and the render.
class DashboardApp {
 public:
  DashboardApp(gencache::Cache cache, AppOptions options);
  DashboardApp(const DashboardApp&) = delete;  // the cached handler points back at it
  DashboardApp& operator=(const DashboardApp&) = delete;

  /// Answers one request. Never throws: failures become 4xx/5xx results. A cached page
  /// carries an ETag from Cache::etag; `if_none_match` (the request's If-None-Match
  /// header, or empty) that matches it is answered 304 without reading or rendering the
  /// page.
  HttpResult handle(std::string_view method, std::string_view target, std::string_view body,
                    std::string_view if_none_match = {});

  DashboardState& state() noexcept { return state_; }

 private:
  using Render = std::function<std::string(const DashboardQuery&)>;

  HttpResult act(const Action& action, std::string_view if_none_match);
  HttpResult cached_page(const DashboardQuery& query, std::string_view if_none_match);
  std::string render(const DashboardQuery& query);

  gencache::Cache cache_;
  DashboardState state_;
  Render cached_render_;
};

/// The entry key of a dashboard target: gencache::url_key, so any order or spelling of
/// the same query is one entry. std::nullopt when the target does not parse.
std::optional<std::string> canonical_target(std::string_view target);

}  // namespace dashboard
