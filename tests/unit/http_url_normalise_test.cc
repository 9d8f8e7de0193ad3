// http::NormaliseHttpUrl: the RFC 3986 normal form in which redirect URLs are
// compared with registered prefixes, and the hostile forms it refuses rather
// than guesses at (escaped and double-escaped dot segments, Tomcat's "..;").
#include <gtest/gtest.h>

#include <string>

#include "http/url.h"

namespace tongban::http {
namespace {

std::string Normal(std::string_view url) {
  auto n = NormaliseHttpUrl(url);
  EXPECT_TRUE(n.ok()) << url << ": " << n.error().message;
  return n.ok() ? *n : std::string();
}

bool Refused(std::string_view url) { return !NormaliseHttpUrl(url).ok(); }

TEST(NormaliseHttpUrlTest, LowerCasesSchemeAndHostButNotThePath) {
  EXPECT_EQ(Normal("HTTPS://App.Example.GOV.cn/CB/Path"), "https://app.example.gov.cn/CB/Path");
}

TEST(NormaliseHttpUrlTest, DecodesEscapedUnreservedCharactersAndUpperCasesTheRest) {
  EXPECT_EQ(Normal("http://h/%7euser/%41b%2dc"), "http://h/~user/Ab-c");
  EXPECT_EQ(Normal("http://h/a%3bb/%e4%b8%ad"), "http://h/a%3Bb/%E4%B8%AD");
}

TEST(NormaliseHttpUrlTest, EscapesBytesOutsideTheUrlCharacterSet) {
  EXPECT_EQ(Normal("http://h/\xe4\xb8\xad/a\"b"), "http://h/%E4%B8%AD/a%22b");
}

TEST(NormaliseHttpUrlTest, RemovesDotSegmentsAsRfc3986Section524) {
  EXPECT_EQ(Normal("http://h/a/b/c/./../../g"), "http://h/a/g");
  EXPECT_EQ(Normal("http://h/a/b/.."), "http://h/a/");
  EXPECT_EQ(Normal("http://h/a/./b/."), "http://h/a/b/");
  EXPECT_EQ(Normal("http://h/../../a"), "http://h/a");
  EXPECT_EQ(Normal("http://h/..."), "http://h/...");
}

TEST(NormaliseHttpUrlTest, EscapedDotsCountAsDotsAsBrowsersCountThem) {
  EXPECT_EQ(Normal("http://h/cb/.%2e/admin"), "http://h/admin");
  EXPECT_EQ(Normal("http://h/cb/.%2E/admin"), "http://h/admin");
  EXPECT_EQ(Normal("http://h/cb/%2e%2e/admin"), "http://h/admin");
  EXPECT_EQ(Normal("http://h/cb/%2E/x"), "http://h/cb/x");
}

TEST(NormaliseHttpUrlTest, SaysWhetherItRemovedDotSegments) {
  bool removed = true;
  ASSERT_TRUE(NormaliseHttpUrl("http://h/a/b", &removed).ok());
  EXPECT_FALSE(removed);
  ASSERT_TRUE(NormaliseHttpUrl("http://h/a/.%2e/b", &removed).ok());
  EXPECT_TRUE(removed);
}

TEST(NormaliseHttpUrlTest, KeepsQueryAndFragmentAsSent) {
  EXPECT_EQ(Normal("http://H/cb?next=/a/../b&x=%2e#/route/../x"),
            "http://h/cb?next=/a/../b&x=%2e#/route/../x");
}

TEST(NormaliseHttpUrlTest, KeepsAnEmptyPathAndThePort) {
  EXPECT_EQ(Normal("http://h:80"), "http://h:80");
  EXPECT_EQ(Normal("http://h:8080?x=1"), "http://h:8080?x=1");
}

TEST(NormaliseHttpUrlTest, RefusesTomcatPathParametersOnDotSegments) {
  EXPECT_TRUE(Refused("http://h/cb/..;/admin"));
  EXPECT_TRUE(Refused("http://h/cb/..;jsessionid=1/admin"));
  EXPECT_TRUE(Refused("http://h/cb/.;x/admin"));
  EXPECT_TRUE(Refused("http://h/cb/.%2e;/admin"));
  EXPECT_TRUE(Refused("http://h/cb/..%3B/admin"));
  EXPECT_EQ(Normal("http://h/cb;jsessionid=1/x"), "http://h/cb;jsessionid=1/x");
}

TEST(NormaliseHttpUrlTest, RefusesDoubleEscapedDotsSlashesAndPercents) {
  EXPECT_TRUE(Refused("http://h/cb/%252e%252e/admin"));
  EXPECT_TRUE(Refused("http://h/cb/%252E%252E/admin"));
  EXPECT_TRUE(Refused("http://h/cb/..%252fadmin"));
  EXPECT_TRUE(Refused("http://h/cb/%25252e%25252e/admin"));
  // Double escapes spelt with escapes themselves (%25%32%65 = %2e once decoded).
  EXPECT_TRUE(Refused("http://h/cb/%25%32%65%25%32%65/admin"));
  EXPECT_TRUE(Refused("http://h/cb/%252%65%252%65/admin"));
  // So any escaped '%' in the path is refused; in the query it is data.
  EXPECT_TRUE(Refused("http://h/100%25off"));
  EXPECT_EQ(Normal("http://h/cb?q=100%25off"), "http://h/cb?q=100%25off");
}

TEST(NormaliseHttpUrlTest, RefusesEscapedSeparatorsInThePath) {
  EXPECT_TRUE(Refused("http://h/cb/..%2fadmin"));
  EXPECT_TRUE(Refused("http://h/cb/..%5Cadmin"));
}

TEST(NormaliseHttpUrlTest, RefusesUserInfoAndOddHosts) {
  EXPECT_TRUE(Refused("http://h@evil.example/"));
  EXPECT_TRUE(Refused("http://h%2eevil.example/"));
  EXPECT_TRUE(Refused("http:///path"));
}

TEST(NormaliseHttpUrlTest, RefusesOtherSchemesWhitespaceAndBackslashes) {
  EXPECT_TRUE(Refused("javascript:alert(1)"));
  EXPECT_TRUE(Refused("ftp://h/"));
  EXPECT_TRUE(Refused("http://h/a b"));
  EXPECT_TRUE(Refused("http://h/a\\..\\b"));
  EXPECT_TRUE(Refused("http://h/a\t"));
}

TEST(NormaliseHttpUrlTest, RefusesMalformedEscapes) {
  EXPECT_TRUE(Refused("http://h/a%2"));
  EXPECT_TRUE(Refused("http://h/a%zz"));
}

}  // namespace
}  // namespace tongban::http
