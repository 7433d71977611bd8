// url_key: request targets that name one resource get one key; targets that name
// different resources never share one.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "gencache/error.hpp"
#include "gencache/url_key.hpp"

namespace gencache {
namespace {

std::string invalid_target_message(std::string_view target) {
  try {
    url_key(target);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument for " << target;
  return "";
}

TEST(UrlKey, ParameterOrderDoesNotSplitTheCache) {
  EXPECT_EQ(url_key("/orders?sort=name&page=2"), url_key("/orders?page=2&sort=name"));
  EXPECT_EQ(url_key("/orders?c=3&a=1&b=2"), "/orders?a=1&b=2&c=3");
}

TEST(UrlKey, RepeatedParametersKeepTheirOrder) {
  EXPECT_EQ(url_key("/t?tag=b&x=1&tag=a"), "/t?tag=b&tag=a&x=1");
  EXPECT_NE(url_key("/t?tag=b&tag=a"), url_key("/t?tag=a&tag=b"));
}

TEST(UrlKey, PercentEncodingIsNormalizedInPathAndQuery) {
  EXPECT_EQ(url_key("/%7euser/a%2dz"), "/~user/a-z");
  EXPECT_EQ(url_key("/%7Euser"), url_key("/~user"));
  EXPECT_EQ(url_key("/search?q=caf%c3%a9"), "/search?q=caf%C3%A9");
  EXPECT_EQ(url_key("/search?%71=%41"), "/search?q=A");
  EXPECT_EQ(url_key("/p(1)?x=a:b"), "/p%281%29?x=a%3Ab");
}

TEST(UrlKey, PlusInTheQueryIsASpace) {
  EXPECT_EQ(url_key("/s?q=a+b"), url_key("/s?q=a%20b"));
  EXPECT_EQ(url_key("/s?q=a+b"), "/s?q=a%20b");
  EXPECT_EQ(url_key("/s?q=a%2Bb"), "/s?q=a%2Bb");
  EXPECT_NE(url_key("/s?q=a+b"), url_key("/s?q=a%2Bb"));
}

TEST(UrlKey, EscapedSeparatorsStayDistinctFromSeparators) {
  EXPECT_NE(url_key("/a%2Fb"), url_key("/a/b"));
  EXPECT_EQ(url_key("/a%2fb"), "/a%2Fb");
  EXPECT_NE(url_key("/s?a=1%262"), url_key("/s?a=1&2"));
  EXPECT_NE(url_key("/s?a%3Db=c"), url_key("/s?a=b%3Dc"));
  EXPECT_EQ(url_key("/s?a%3Db=c"), "/s?a%3Db=c");
  // '?' inside a query separates nothing, so its escaped spelling is the same byte.
  EXPECT_EQ(url_key("/s?a=1%3F"), url_key("/s?a=1?"));
}

TEST(UrlKey, PathIsKeptAsSentAndCaseSensitive) {
  EXPECT_NE(url_key("/Orders"), url_key("/orders"));
  EXPECT_EQ(url_key("/a/../b"), "/a/../b");
  EXPECT_EQ(url_key("/a//b/"), "/a//b/");
  EXPECT_EQ(url_key("/"), "/");
  EXPECT_NE(url_key("/a/"), url_key("/a"));
}

TEST(UrlKey, AnEmptyQueryLeavesThePathAlone) {
  EXPECT_EQ(url_key("/orders?"), "/orders");
  EXPECT_EQ(url_key("/orders?&&"), "/orders");
  EXPECT_EQ(url_key("/orders"), "/orders");
}

TEST(UrlKey, FlagAndEmptyValueStayDifferent) {
  EXPECT_EQ(url_key("/s?flag"), "/s?flag");
  EXPECT_EQ(url_key("/s?flag="), "/s?flag=");
  EXPECT_NE(url_key("/s?flag"), url_key("/s?flag="));
  EXPECT_EQ(url_key("/s?=x"), "/s?=x");
}

TEST(UrlKey, FragmentIsIgnored) {
  EXPECT_EQ(url_key("/doc?b=2&a=1#section"), "/doc?a=1&b=2");
  EXPECT_EQ(url_key("/doc#a b"), "/doc");
}

TEST(UrlKey, DroppedParametersDoNotChangeTheKey) {
  const UrlKeyOptions options{.drop = {"utm_*", "session"}};
  EXPECT_EQ(url_key("/p?id=7&utm_source=news&utm_medium=mail&session=x", options), "/p?id=7");
  EXPECT_EQ(url_key("/p?utm_source=news", options), "/p");
  // Exact names match exactly; prefixes only what starts with them.
  EXPECT_EQ(url_key("/p?sessions=1&utm=2", options), "/p?sessions=1&utm=2");
  // Names are matched after decoding, so an escaped spelling is dropped too.
  EXPECT_EQ(url_key("/p?utm%5Fsource=x&%73ession=y", options), "/p");
}

TEST(UrlKey, WithoutTrackingDropsTheUsualClickIds) {
  const UrlKeyOptions options = UrlKeyOptions::without_tracking();
  EXPECT_EQ(
      url_key("/p?gclid=a&fbclid=b&msclkid=c&utm_campaign=d&mc_cid=e&mc_eid=f&page=2", options),
      "/p?page=2");
}

TEST(UrlKey, BadDropPatternsAreConfigErrors) {
  EXPECT_THROW(url_key("/p", UrlKeyOptions{.drop = {""}}), config_error);
  EXPECT_THROW(url_key("/p", UrlKeyOptions{.drop = {"*"}}), config_error);
  try {
    url_key("/p", UrlKeyOptions{.drop = {"utm_*_x"}});
    ADD_FAILURE() << "no config_error";
  } catch (const config_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'utm_*_x'"), std::string::npos) << m;
    EXPECT_NE(m.find("ending in '*'"), std::string::npos) << m;
  }
}

TEST(UrlKey, MalformedTargetsNameTheTargetAndTheReason) {
  EXPECT_NE(invalid_target_message("").find("it is empty"), std::string::npos);
  const std::string absolute = invalid_target_message("http://example.com/x");
  EXPECT_NE(absolute.find("'http://example.com/x'"), std::string::npos) << absolute;
  EXPECT_NE(absolute.find("does not start with '/'"), std::string::npos) << absolute;
  const std::string escape = invalid_target_message("/a%zz");
  EXPECT_NE(escape.find("'%' at offset 2"), std::string::npos) << escape;
  EXPECT_NE(invalid_target_message("/a%4").find("two hex digits"), std::string::npos);
  const std::string space = invalid_target_message("/a b");
  EXPECT_NE(space.find("' ' at offset 2"), std::string::npos) << space;
}

TEST(UrlKey, MessagesEscapeControlBytesAndCutLongTargets) {
  const std::string control = invalid_target_message("/a\r\nSet-Cookie: x");
  EXPECT_EQ(control.find('\r'), std::string::npos) << control;
  EXPECT_EQ(control.find('\n'), std::string::npos) << control;
  EXPECT_NE(control.find("\\x0d\\x0a"), std::string::npos) << control;
  const std::string long_target = "/" + std::string(5000, 'a') + " ";
  EXPECT_LT(invalid_target_message(long_target).size(), 400u);
}

TEST(UrlKey, DotAndEmptySegmentsAreKeptAsSent) {
  // An escaped dot is the dot (RFC 3986 treats %2E as "."), and neither is removed.
  EXPECT_EQ(url_key("/%2e////f"), "/.////f");
  EXPECT_EQ(url_key("/.//x"), "/.//x");
  EXPECT_NE(url_key("/.//x"), url_key("//x"));
  EXPECT_EQ(url_key("//x"), "//x");
}

TEST(UrlKey, EveryKeyIsItsOwnCanonicalForm) {
  // The fuzzer found the first one: a leading "/%2e//" lost its dot on the second pass.
  for (const char* target :
       {"/%2e////f&2B&cl&+&l&+&c=", "/.//a", "//a/./b", "/orders?sort=name&page=2",
        "/%7euser?q=a+b&q=c", "/a%2fb?x=%26&flag&e=", "/s?=x#f"}) {
    const std::string key = url_key(target);
    EXPECT_EQ(url_key(key), key) << target;
  }
}

}  // namespace
}  // namespace gencache
