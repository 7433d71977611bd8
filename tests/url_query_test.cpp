// A cache URL whose query a URL cannot hold gets a message naming the parameter and the
// character, not the URL parser's "leftover".
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "url_options.hpp"

namespace gencache {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string config_message(std::string_view url) {
  try {
    Cache::from_url(url);
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no config_error for " << url;
  return "";
}

TEST(QueryFlaw, ASpaceInAValueNamesTheParameterTheOffsetAndTheEscape) {
  EXPECT_EQ(detail::query_flaw("prefix=my app"),
            "the value of parameter 'prefix' holds a space at offset 2, which a URL may not "
            "contain unescaped (percent-encode it as %20)");
}

TEST(QueryFlaw, TheParameterIsFoundAmongOthers) {
  EXPECT_THAT(detail::query_flaw("max_bytes=1MiB&prefix=a|b&counter_ttl=0"),
              HasSubstr("the value of parameter 'prefix' holds '|' at offset 1"));
  EXPECT_THAT(detail::query_flaw("max_bytes=1MiB&prefix=a|b"), HasSubstr("%7C"));
}

TEST(QueryFlaw, BadCharactersInNamesAndEscapesAreToldApart) {
  EXPECT_THAT(detail::query_flaw("pre fix=x"),
              HasSubstr("the parameter name 'pre fix' holds a space at offset 3"));
  EXPECT_THAT(detail::query_flaw("prefix=50%"),
              HasSubstr("the value of parameter 'prefix' has a '%' at offset 2 that is not "
                        "followed by two hex digits"));
  EXPECT_THAT(detail::query_flaw("prefix=%zz"), HasSubstr("%25"));
  EXPECT_THAT(detail::query_flaw("prefix=a\nb"), HasSubstr("the byte 0x0a at offset 1"));
}

TEST(QueryFlaw, AValidQueryHasNoFlaw) {
  EXPECT_EQ(detail::query_flaw("prefix=my%20app&max_bytes=1MiB&flag"), "");
  EXPECT_EQ(detail::query_flaw("prefix=a:b/c?d@e"), "");
}

TEST(FromUrlQuery, RedisPrefixWithASpaceNamesTheParameterAndTheCharacter) {
  const std::string m = config_message("redis://127.0.0.1:6379?prefix=my app");
  EXPECT_THAT(m, HasSubstr("parameter 'prefix'"));
  EXPECT_THAT(m, HasSubstr("a space"));
  EXPECT_THAT(m, Not(HasSubstr("leftover")));
}

TEST(FromUrlQuery, EscapedSpaceReachesThePrefixCheckWhichNamesWhatIsAccepted) {
  const std::string m = config_message("memory://?prefix=my%20app");
  EXPECT_THAT(m, HasSubstr("prefix"));
  EXPECT_THAT(m, Not(HasSubstr("malformed query")));
}

}  // namespace
}  // namespace gencache
