#include "http/response.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "http/cookie.h"

namespace tongban::http {
namespace {

TEST(HttpFindCookie, FindsByExactName) {
  EXPECT_EQ(FindCookie("a=1; ab=2; b=3", "ab"), std::optional<std::string_view>("2"));
  EXPECT_EQ(FindCookie("a=1;b=3", "b"), std::optional<std::string_view>("3"));
  EXPECT_FALSE(FindCookie("a=1; b=3", "c").has_value());
}

TEST(HttpFindCookie, ReturnsFirstOfDuplicates) {
  EXPECT_EQ(FindCookie("s=new; s=old", "s"), std::optional<std::string_view>("new"));
}

TEST(HttpFindCookie, StripsQuotesAndSkipsPairsWithoutEquals) {
  EXPECT_EQ(FindCookie("junk; s=\"v1\"", "s"), std::optional<std::string_view>("v1"));
  EXPECT_EQ(FindCookie("s=", "s"), std::optional<std::string_view>(""));
}

TEST(HttpFormatSetCookie, DefaultsToHttpOnlyLaxRootPathSessionCookie) {
  EXPECT_EQ(FormatSetCookie("TBSESSION", "abc"), "TBSESSION=abc; Path=/; HttpOnly; SameSite=Lax");
}

TEST(HttpFormatSetCookie, WritesEveryOption) {
  CookieOptions o;
  o.path = "/sso";
  o.domain = "zjzwfw.gov.cn";
  o.max_age = std::chrono::hours(8);
  o.secure = true;
  o.same_site = SameSite::kStrict;
  EXPECT_EQ(FormatSetCookie("s", "v", o),
            "s=v; Path=/sso; Domain=zjzwfw.gov.cn; Max-Age=28800; Secure; HttpOnly; "
            "SameSite=Strict");
}

TEST(HttpFormatSetCookie, ZeroMaxAgeDeletesWithExpiresInThePast) {
  CookieOptions o;
  o.max_age = std::chrono::seconds(0);
  o.http_only = false;
  o.same_site = SameSite::kUnset;
  EXPECT_EQ(FormatSetCookie("s", "", o),
            "s=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(HttpFormatSetCookie, SameSiteNoneForcesSecure) {
  CookieOptions o;
  o.same_site = SameSite::kNone;
  EXPECT_EQ(FormatSetCookie("s", "v", o), "s=v; Path=/; Secure; HttpOnly; SameSite=None");
}

TEST(HttpFormatSetCookie, RejectsValuesThatCouldInjectAttributes) {
  EXPECT_THROW(FormatSetCookie("s", "v; Domain=evil"), std::invalid_argument);
  EXPECT_THROW(FormatSetCookie("s", "a b"), std::invalid_argument);
  EXPECT_THROW(FormatSetCookie("s=x", "v"), std::invalid_argument);
  EXPECT_THROW(FormatSetCookie("", "v"), std::invalid_argument);
  CookieOptions o;
  o.path = "/\r\nX: y";
  EXPECT_THROW(FormatSetCookie("s", "v", o), std::invalid_argument);
}

TEST(HttpResponse, SetCookieAddsASetCookieHeaderPerCookie) {
  Response r;
  r.SetCookie("a", "1");
  r.SetCookie("b", "2");
  EXPECT_EQ(r.raw_headers(),
            "Set-Cookie: a=1; Path=/; HttpOnly; SameSite=Lax\r\n"
            "Set-Cookie: b=2; Path=/; HttpOnly; SameSite=Lax\r\n");
}

TEST(HttpResponse, RedirectSetsStatusAndLocation) {
  Response r;
  r.Redirect("http://app/cb?ticket=T");
  EXPECT_EQ(r.status(), 302);
  EXPECT_EQ(r.Header("location"), std::optional<std::string_view>("http://app/cb?ticket=T"));
}

TEST(HttpResponse, RedirectEncodesBytesThatCouldSplitTheHeader) {
  Response r;
  r.Redirect("http://app/\r\nSet-Cookie: x=1 中", 303);
  EXPECT_EQ(r.status(), 303);
  EXPECT_EQ(r.Header("Location"),
            std::optional<std::string_view>("http://app/%0D%0ASet-Cookie:%20x=1%20%E4%B8%AD"));
  EXPECT_FALSE(r.Header("Set-Cookie").has_value());
}

TEST(HttpResponse, AddHeaderRejectsLineBreaksAndServerManagedNames) {
  Response r;
  EXPECT_THROW(r.AddHeader("X-A", "1\r\nX-B: 2"), std::invalid_argument);
  EXPECT_THROW(r.AddHeader("Content-Length", "5"), std::invalid_argument);
  EXPECT_THROW(r.AddHeader("Bad Name", "v"), std::invalid_argument);
  EXPECT_TRUE(r.raw_headers().empty());
}

TEST(HttpResponse, SetJsonErrorEscapesItsFields) {
  Response r;
  r.SetJsonError(400, "bad_request", "parameter 'a\"b': value is not valid UTF-8\n");
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.content_type(), kJsonType);
  EXPECT_EQ(r.body(),
            "{\"error\":\"bad_request\",\"message\":\"parameter 'a\\\"b': value is not valid "
            "UTF-8\\n\"}");
}

TEST(HttpResponse, SetJsonErrorReplacesInvalidUtf8) {
  Response r;
  r.SetJsonError(400, "e", "x\xFFy");
  EXPECT_EQ(r.body(), "{\"error\":\"e\",\"message\":\"x\xEF\xBF\xBDy\"}");
}

TEST(HttpResponse, ResetReturnsToAnEmpty200) {
  Response r;
  r.SetText(404, "gone");
  r.AddHeader("X-A", "1");
  r.set_close_connection(true);
  r.Reset();
  EXPECT_EQ(r.status(), 200);
  EXPECT_TRUE(r.body().empty());
  EXPECT_TRUE(r.content_type().empty());
  EXPECT_TRUE(r.raw_headers().empty());
  EXPECT_FALSE(r.close_connection());
}

}  // namespace
}  // namespace tongban::http
