#include "dashboard_app.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <gencache/namespace.hpp>
#include <gencache/url_key.hpp>

namespace dashboard {
namespace {

constexpr std::uint64_t kPageSize = 10;
constexpr std::uint64_t kMaxPage = 10'000;
constexpr std::uint64_t kSeededItems = 23;
constexpr std::size_t kMaxNameBytes = 200;
constexpr std::string_view kSorts[] = {"newest", "oldest", "name", "price"};

HttpResult error(unsigned status, std::string_view message) {
  return {status, boost::json::serialize(boost::json::object{{"error", message}})};
}

// A user id exactly as the canonical path spells it: decimal, no sign, no leading zero.
std::optional<std::uint64_t> parse_user(std::string_view text) {
  if (text.empty() || text.front() == '0') return std::nullopt;
  std::uint64_t user = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), user);
  if (ec != std::errc() || end != text.data() + text.size() || user > Database::max_user)
    return std::nullopt;
  return user;
}

std::optional<std::uint64_t> parse_page(std::string_view text) {
  std::uint64_t page = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), page);
  if (ec != std::errc() || end != text.data() + text.size() || page < 1 || page > kMaxPage)
    return std::nullopt;
  return page;
}

// The body of a POST, which must be a JSON object (empty means {}).
std::optional<boost::json::object> parse_object(std::string_view body) {
  if (body.empty()) return boost::json::object{};
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

// The segments of `/api/users/{id}/{leaf}`, or nothing.
struct UserPath {
  std::string_view id;
  std::string_view leaf;
};
std::optional<UserPath> user_path(const boost::urls::segments_encoded_view& segments) {
  if (segments.size() != 4) return std::nullopt;
  auto it = segments.begin();
  if (*it++ != "api" || *it++ != "users") return std::nullopt;
  UserPath path;
  path.id = *it++;
  path.leaf = *it;
  return path;
}

}  // namespace

// ---- Database ------------------------------------------------------------------------

std::vector<Database::Item> Database::seed(std::uint64_t user) {
  std::vector<Item> items;
  items.reserve(kSeededItems);
  for (std::uint64_t n = 1; n <= kSeededItems; ++n) {
    items.push_back({user * 1000 + n, fmt::format("item-{}-{:02}", user, n),
                     static_cast<std::int64_t>((user * 7919 + n * 104729) % 100'000)});
  }
  return items;
}

std::vector<Database::Item> Database::items_of(std::uint64_t user) const {
  {
    std::shared_lock lock(mutex_);
    if (auto it = written_.find(user); it != written_.end()) return it->second;
  }
  return seed(user);
}

Database::Item Database::add_item(std::uint64_t user, std::string name, std::int64_t price_cents) {
  std::unique_lock lock(mutex_);
  auto [it, inserted] = written_.try_emplace(user);
  if (inserted) it->second = seed(user);
  Item item{next_id_++, std::move(name), price_cents};
  it->second.push_back(item);
  return item;
}

Database::Catalog Database::catalog() const {
  std::shared_lock lock(mutex_);
  return catalog_;
}

Database::Catalog Database::update_catalog(std::string banner) {
  std::unique_lock lock(mutex_);
  catalog_.banner = std::move(banner);
  ++catalog_.revision;
  return catalog_;
}

// ---- canonical keys ------------------------------------------------------------------

std::optional<std::string> canonical_target(std::string_view target) {
  try {
    return gencache::url_key(target);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

// ---- decide --------------------------------------------------------------------------

namespace {

Action respond(HttpResult result) {
  Action action;
  action.response = std::move(result);
  return action;
}

Action decide_dashboard(const boost::urls::url_view& parsed, std::uint64_t user,
                        std::string_view target) {
  Action action;
  action.kind = Action::Kind::show_dashboard;
  action.query.user = user;
  for (const boost::urls::param& p : parsed.params()) {
    if (p.key == "page") {
      auto page = parse_page(p.value);
      if (!page)
        return respond(
            error(400, fmt::format("page '{}' is invalid: expected 1 to {}", p.value, kMaxPage)));
      action.query.page = *page;
    } else if (p.key == "sort") {
      if (std::find(std::begin(kSorts), std::end(kSorts), p.value) == std::end(kSorts))
        return respond(error(
            400,
            fmt::format("sort '{}' is invalid: expected newest, oldest, name or price", p.value)));
      action.query.sort = p.value;
    } else {
      return respond(
          error(400, fmt::format("unknown parameter '{}': expected page and sort", p.key)));
    }
  }
  action.query.cache_key = *canonical_target(target);
  return action;
}

Action decide_add_item(std::uint64_t user, std::string_view body) {
  auto fields = parse_object(body);
  if (!fields)
    return respond(error(
        400, "the body must be a JSON object such as {\"name\":\"lamp\",\"price_cents\":1999}"));
  Action action;
  action.kind = Action::Kind::add_item;
  action.user = user;
  action.text = "item";
  if (const auto* v = fields->if_contains("name")) {
    if (!v->is_string() || v->as_string().size() > kMaxNameBytes)
      return respond(
          error(400, fmt::format("name must be a string of at most {} bytes", kMaxNameBytes)));
    action.text = v->as_string();
  }
  if (const auto* v = fields->if_contains("price_cents")) {
    if (!v->is_int64()) return respond(error(400, "price_cents must be an integer"));
    action.price_cents = v->as_int64();
  }
  return action;
}

Action decide_update_catalog(std::string_view body) {
  auto fields = parse_object(body);
  const boost::json::value* banner = fields ? fields->if_contains("banner") : nullptr;
  if (!banner || !banner->is_string() || banner->as_string().size() > kMaxNameBytes)
    return respond(error(400, "the body must be a JSON object with a string \"banner\""));
  Action action;
  action.kind = Action::Kind::update_catalog;
  action.text = banner->as_string();
  return action;
}

}  // namespace

Action decide(std::string_view method, std::string_view target, std::string_view body) {
  try {
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) return respond(error(400, "the request target is not a valid path and query"));
    const std::string_view path = parsed->encoded_path();

    if (path == "/metrics" || path == "/healthz") {
      if (method != "GET") return respond(error(405, "use GET"));
      if (path == "/healthz") return respond({200, "ok\n", "text/plain; charset=utf-8"});
      Action action;
      action.kind = Action::Kind::show_metrics;
      return action;
    }
    if (path == "/api/catalog") {
      if (method != "POST") return respond(error(405, "use POST"));
      return decide_update_catalog(body);
    }
    if (auto user = user_path(parsed->encoded_segments())) {
      const auto id = parse_user(user->id);
      if (!id)
        return respond(
            error(404, fmt::format("no user '{}': ids are 1 to {}", user->id, Database::max_user)));
      if (user->leaf == "dashboard") {
        if (method != "GET") return respond(error(405, "use GET"));
        return decide_dashboard(*parsed, *id, target);
      }
      if (user->leaf == "items") {
        if (method != "POST") return respond(error(405, "use POST"));
        return decide_add_item(*id, body);
      }
    }
    return respond(error(404, fmt::format("no route for {} {}", method, path)));
  } catch (const std::exception& e) {
    return respond(error(500, e.what()));
  }
}

// ---- DashboardState ------------------------------------------------------------------

Route DashboardState::route_of(std::string_view target) noexcept {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/metrics") return Route::metrics;
  if (path == "/api/catalog") return Route::catalog;
  if (path.starts_with("/api/users/")) {
    if (path.ends_with("/dashboard")) return Route::dashboard;
    if (path.ends_with("/items")) return Route::add_item;
  }
  return Route::other;
}

std::string DashboardState::page(const DashboardQuery& query) {
  renders_.fetch_add(1, std::memory_order_relaxed);
  // The "queries": read everything the page shows (after the cache read its generations).
  std::vector<Database::Item> items = database_.items_of(query.user);
  const Database::Catalog catalog = database_.catalog();

  auto by = [&](auto key) {
    std::stable_sort(items.begin(), items.end(),
                     [&](const auto& a, const auto& b) { return key(a) < key(b); });
  };
  if (query.sort == "newest")
    by([](const Database::Item& i) { return -static_cast<std::int64_t>(i.id); });
  if (query.sort == "oldest") by([](const Database::Item& i) { return i.id; });
  if (query.sort == "name") by([](const Database::Item& i) { return i.name; });
  if (query.sort == "price") by([](const Database::Item& i) { return i.price_cents; });

  boost::json::array page;
  const std::uint64_t first = (query.page - 1) * kPageSize;
  for (std::uint64_t i = first; i < items.size() && i < first + kPageSize; ++i) {
    page.push_back(boost::json::object{
        {"id", items[i].id}, {"name", items[i].name}, {"price_cents", items[i].price_cents}});
  }
  return boost::json::serialize(boost::json::object{
      {"user", query.user},
      {"page", query.page},
      {"page_size", kPageSize},
      {"sort", query.sort},
      {"total_items", items.size()},
      {"items", std::move(page)},
      {"catalog", boost::json::object{{"revision", catalog.revision}, {"banner", catalog.banner}}},
  });
}

HttpResult DashboardState::item_added(std::uint64_t user, const Database::Item& item,
                                      const char* failure) const {
  if (failure)
    return error(503, fmt::format("item {} was stored but the cache was not invalidated ({}); "
                                  "retry the request",
                                  item.id, failure));
  return {201, boost::json::serialize(boost::json::object{{"user", user},
                                                          {"id", item.id},
                                                          {"name", item.name},
                                                          {"price_cents", item.price_cents}})};
}

HttpResult DashboardState::catalog_updated(const Database::Catalog& catalog,
                                           const char* failure) const {
  if (failure)
    return error(503, fmt::format("the catalog was updated but the cache was not invalidated ({}); "
                                  "retry the request",
                                  failure));
  return {200, boost::json::serialize(boost::json::object{{"revision", catalog.revision},
                                                          {"banner", catalog.banner}})};
}

HttpResult DashboardState::metrics(const gencache::Stats& stats) const {
  return {200, metrics_.render(stats, renders_.load(std::memory_order_relaxed), options_.use_cache),
          "text/plain; version=0.0.4; charset=utf-8"};
}

// ---- DashboardApp --------------------------------------------------------------------

gencache::NamespaceSet page_dependencies(const DashboardQuery& q) {
  return gencache::NamespaceSet{gencache::ns("user", q.user), gencache::ns("catalog")};
}

std::vector<std::pair<std::string, std::string>> page_headers(
    std::string_view etag, const gencache::NamespaceSet& namespaces) {
  std::string keys;
  for (const gencache::Namespace& ns : namespaces) {
    if (!keys.empty()) keys.push_back(' ');
    keys += ns.name();
  }
  return {{"ETag", std::string(etag)}, {"Surrogate-Key", keys}, {"Cache-Control", "no-cache"}};
}

bool if_none_match_hits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

void DashboardState::bumped(const gencache::Namespace& bumped) const noexcept {
  if (!options_.on_bump) return;
  try {
    options_.on_bump(std::span(&bumped, 1));
  } catch (...) {
    // A failed purge forward must not fail the write: the ETag changed anyway.
  }
}

DashboardApp::DashboardApp(gencache::Cache cache, AppOptions options)
    : cache_(std::move(cache)), state_(options) {
  // Every page of a user depends on that user's data and on the catalog shown on every
  // dashboard: a write to either bumps its namespace and all those pages are recomputed.
  cached_render_ = gencache::cached_call(
      cache_, [](const DashboardQuery& q) { return q.cache_key; }, &page_dependencies, options.ttl,
      [this](const DashboardQuery& q) { return render(q); });
}

HttpResult DashboardApp::handle(std::string_view method, std::string_view target,
                                std::string_view body, std::string_view if_none_match) {
  try {
    return act(decide(method, target, body), if_none_match);
  } catch (const std::exception& e) {
    return error(500, e.what());
  }
}

HttpResult DashboardApp::cached_page(const DashboardQuery& query, std::string_view if_none_match) {
  const gencache::NamespaceSet deps = page_dependencies(query);
  // The validator first, then the body: a bump in between makes the body newer than its
  // ETag, which costs the client one more 200 later; the reverse could never happen.
  std::error_code ec;
  const std::string etag = cache_.etag(query.cache_key, deps, ec);
  HttpResult result;
  if (!ec) {  // a failed backend: no validator, the page is served as without one
    result.headers = page_headers(etag, deps);
    if (if_none_match_hits(if_none_match, etag)) {
      result.status = 304;  // unchanged: no body read, nothing rendered
      return result;
    }
  }
  result.body = cached_render_(query);
  return result;
}

HttpResult DashboardApp::act(const Action& action, std::string_view if_none_match) {
  const bool use_cache = state_.options().use_cache;
  switch (action.kind) {
    case Action::Kind::respond:
      return action.response;
    case Action::Kind::show_metrics:
      return state_.metrics(cache_.stats());
    case Action::Kind::show_dashboard:
      if (!use_cache) return {200, render(action.query)};
      return cached_page(action.query, if_none_match);
    case Action::Kind::add_item: {
      // Commit first, then invalidate: a read between the two may still cache the old
      // page, but under the old generation, where no read after the bump looks.
      const Database::Item item =
          state_.database().add_item(action.user, action.text, action.price_cents);
      if (!use_cache) return state_.item_added(action.user, item, nullptr);
      const gencache::Namespace user = gencache::ns("user", action.user);
      try {
        cache_.bump_namespace(user);
      } catch (const gencache::backend_error& e) {
        return state_.item_added(action.user, item, e.what());
      }
      state_.bumped(user);
      return state_.item_added(action.user, item, nullptr);
    }
    case Action::Kind::update_catalog: {
      const Database::Catalog catalog = state_.database().update_catalog(action.text);
      if (!use_cache) return state_.catalog_updated(catalog, nullptr);
      const gencache::Namespace catalog_ns = gencache::ns("catalog");
      try {
        cache_.bump_namespace(catalog_ns);
      } catch (const gencache::backend_error& e) {
        return state_.catalog_updated(catalog, e.what());
      }
      state_.bumped(catalog_ns);
      return state_.catalog_updated(catalog, nullptr);
    }
  }
  return error(500, "unknown action");
}

std::string DashboardApp::render(const DashboardQuery& query) {
  std::string page = state_.page(query);
  std::this_thread::sleep_for(state_.options().render_cost);  // the rendering being cached
  return page;
}

}  // namespace dashboard
