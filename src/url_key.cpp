#include "gencache/url_key.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include "gencache/error.hpp"

namespace gencache {
namespace {

constexpr std::size_t kQuotedTargetLimit = 100;

// The target as it may appear in a log line: a client sent it, so control bytes are
// escaped and a long one is cut.
std::string quoted(std::string_view target) {
  std::string out;
  for (const char c : target.substr(0, kQuotedTargetLimit)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\')
      out.push_back(c);
    else
      out += fmt::format("\\x{:02x}", byte);
  }
  if (target.size() > kQuotedTargetLimit) out += "...";
  return fmt::format("'{}'", out);
}

[[noreturn]] void reject(std::string_view target, std::string_view why) {
  throw std::invalid_argument(
      fmt::format("gencache::url_key: {} is not an origin-form request target (/path?query): {}",
                  quoted(target), why));
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 pchar plus the '/' and '?' a path and query may hold, and '%' (checked apart).
bool allowed_in_target(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?%").find(c) != std::string_view::npos;
}

// Boost.URL would reject these too; checking first lets the message say where and why.
void check_characters(std::string_view target) {
  if (target.empty()) reject(target, "it is empty");
  if (target.front() != '/') reject(target, "it does not start with '/'");
  for (std::size_t i = 0; i < target.size(); ++i) {
    const char c = target[i];
    if (c == '%') {
      if (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2]))
        reject(target, fmt::format("the '%' at offset {} is not followed by two hex digits", i));
      i += 2;
    } else if (!allowed_in_target(c)) {
      reject(target, fmt::format("the character {} at offset {} may not appear in a URL "
                                 "(percent-encode it)",
                                 quoted(std::string_view(&c, 1)), i));
    }
  }
}

struct DropRule {
  std::string_view text;
  bool prefix = false;
};

std::vector<DropRule> drop_rules(const UrlKeyOptions& options) {
  std::vector<DropRule> rules;
  for (const std::string& name : options.drop) {
    const auto star = name.find('*');
    if (name.empty() || name == "*" || (star != std::string::npos && star != name.size() - 1))
      throw config_error(fmt::format(
          "gencache::UrlKeyOptions::drop: '{}' is not a parameter name; expected a name "
          "such as 'gclid', or a prefix ending in '*' such as 'utm_*'",
          name));
    if (star == std::string::npos)
      rules.push_back({name, false});
    else
      rules.push_back({std::string_view(name).substr(0, star), true});
  }
  return rules;
}

bool dropped(std::string_view name, const std::vector<DropRule>& rules) {
  return std::any_of(rules.begin(), rules.end(), [name](const DropRule& rule) {
    return rule.prefix ? name.starts_with(rule.text) : name == rule.text;
  });
}

// Decoded bytes written back in the one canonical spelling.
std::string canonical(std::string_view decoded) {
  return boost::urls::encode(decoded, boost::urls::unreserved_chars);
}

struct Parameter {
  std::string name;
  std::string value;
  bool has_value = false;
};

}  // namespace

UrlKeyOptions UrlKeyOptions::without_tracking() {
  return {.drop = {"utm_*", "gclid", "fbclid", "msclkid", "mc_cid", "mc_eid"}};
}

std::string url_key(std::string_view target, const UrlKeyOptions& options) {
  const std::vector<DropRule> rules = drop_rules(options);
  const std::string_view without_fragment = target.substr(0, target.find('#'));
  check_characters(without_fragment);
  const auto parsed = boost::urls::parse_origin_form(without_fragment);
  if (!parsed) reject(target, parsed.error().message());
  const boost::urls::url_view url = *parsed;

  // The path is split on '/' here rather than through url.segments(): that view hides a
  // leading "/." (Boost.URL's prefix for paths that start with "//"), so "/%2e//x" and
  // "/.//x" would lose a segment and the key would not be its own canonical form.
  std::string key;
  std::string_view path = url.encoded_path();
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const std::string_view segment = path.substr(0, path.find('/'));
    key.push_back('/');
    key += canonical(boost::urls::pct_string_view(segment).decode());
    path.remove_prefix(segment.size());
  }
  if (key.empty()) key = "/";

  std::vector<Parameter> parameters;
  for (const boost::urls::param& param : url.params()) {  // decodes '+' as a space
    if (param.key.empty() && !param.has_value) continue;  // "&&"
    if (dropped(param.key, rules)) continue;
    parameters.push_back({canonical(param.key), canonical(param.value), param.has_value});
  }
  // Sorting the canonical spelling sorts decoded names the same way in every process.
  std::stable_sort(parameters.begin(), parameters.end(),
                   [](const Parameter& a, const Parameter& b) { return a.name < b.name; });

  char separator = '?';
  for (const Parameter& parameter : parameters) {
    key.push_back(separator);
    key += parameter.name;
    if (parameter.has_value) {
      key.push_back('=');
      key += parameter.value;
    }
    separator = '&';
  }
  return key;
}

}  // namespace gencache
