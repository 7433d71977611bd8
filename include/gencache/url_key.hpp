#pragma once
/// \file
/// Canonical cache keys for HTTP request targets: `/orders?sort=name&page=2` and
/// `/orders?page=2&sort=name` are one entry, so the cache is not split by how a client
/// happened to order or escape its query.

#include <string>
#include <string_view>
#include <vector>

namespace gencache {

/// How url_key treats a request target's query parameters.
struct UrlKeyOptions {
  /// Parameters left out of the key, because they do not change the response (tracking
  /// or cache-busting parameters). A name matches exactly and case-sensitively after
  /// percent-decoding; a name ending in `*` matches every parameter starting with the
  /// text before it (`utm_*`). An empty name, or a `*` anywhere but at the end, throws
  /// gencache::config_error from url_key.
  std::vector<std::string> drop;

  /// The usual marketing and click-tracking parameters: `utm_*`, `gclid`, `fbclid`,
  /// `msclkid`, `mc_cid`, `mc_eid`.
  static UrlKeyOptions without_tracking();
};

/// The canonical key of an origin-form request target (`/path?query`, as in an HTTP
/// request line): the path, then `?` and the query parameters sorted by name, or the
/// path alone when no parameter is left.
///
/// - Percent-encoding is normalized in the path and the query: every byte is decoded,
///   then unreserved characters (`A-Z a-z 0-9 - . _ ~`) are written as they are and every
///   other byte as `%XX` with upper-case hex. So `%7euser`, `%7Euser` and `~user` are one key,
///   while an encoded `/` (`%2F`) in a segment, or `&`/`=` in a parameter, stays distinct
///   from the separator.
/// - In the query, `+` means a space (HTML form encoding), so `q=a+b` and `q=a%20b` agree.
/// - Parameters are sorted by name with a stable sort: repeated parameters keep their
///   relative order (`?tag=b&tag=a` is not `?tag=a&tag=b`, since lists are ordered).
///   `?flag` and `?flag=` stay different; empty pieces (`&&`) are dropped.
/// - A `#fragment` is ignored: it never reaches a server.
/// - Path segments are kept as sent (no `..` resolution) and are case-sensitive.
///
/// Two targets with the same key name the same resource to any server that decodes
/// percent-escapes and parses form-style queries, which is every common framework.
/// Throws std::invalid_argument naming the target (escaped, shortened) and the reason when
/// it is not an origin-form target: empty, not starting with `/`, a malformed `%`
/// escape, or a character a URL may not hold (such as a space). A server can answer
/// that with 400; nothing is cached for it.
std::string url_key(std::string_view target, const UrlKeyOptions& options = {});

}  // namespace gencache
