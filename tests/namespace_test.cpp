#include <stdexcept>

#include <gtest/gtest.h>

#include "gencache/namespace.hpp"

namespace gencache {
namespace {

TEST(Namespace, NsJoinsKindAndPartsWithColons) {
  EXPECT_EQ(ns("user", 42).name(), "user:42");
  EXPECT_EQ(ns("org", "acme", 7).name(), "org:acme:7");
  EXPECT_EQ(ns("products").name(), "products");
  EXPECT_EQ(ns("n", std::int64_t{-3}, std::uint64_t{18446744073709551615u}).name(),
            "n:-3:18446744073709551615");
  EXPECT_EQ(ns("s", std::string("x")).name(), "s:x");
}

TEST(Namespace, PartsContainingSeparatorsDoNotCollide) {
  EXPECT_NE(ns("a", "1:2"), ns("a", 1, 2));
  EXPECT_NE(ns("a", "1%3A2"), ns("a", "1:2"));
  EXPECT_NE(ns("a:b"), ns("a", "b"));
}

TEST(Namespace, EmptyNameIsRejected) {
  EXPECT_THROW(Namespace(""), std::invalid_argument);
}

TEST(NamespaceSet, OrderAndDuplicatesDoNotMatter) {
  const NamespaceSet a{ns("user", 1), ns("org", 7)};
  const NamespaceSet b{ns("org", 7), ns("user", 1), ns("org", 7)};
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], ns("org", 7));
}

TEST(NamespaceSet, OneNamespaceConvertsImplicitly) {
  const NamespaceSet one = ns("user", 1);
  EXPECT_EQ(one.size(), 1u);
  EXPECT_EQ(one, (NamespaceSet{ns("user", 1)}));
}

}  // namespace
}  // namespace gencache
