// Issue 12 items 5, 6 and 11 (discovery): the redirect checks in normal form
// and exact OIDC redirect URIs, and the OpenID Connect provider's answers to
// max_age=0, id_token_hint, narrowed refreshes, offline_access, unsupported
// request parameters and prompts, repeated parameters, a missing
// response_type or token, narrowed client-credentials scopes, and discovery
// only under its issuer. The provider is driven through the router with a
// fake browser session and a fake clock.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/parse.h"
#include "codec/render.h"
#include "crypto/encoding.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "directory_test_support.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "http/url.h"
#include "sso/cas_oidc_support.h"
#include "sso/oidc_grants.h"
#include "sso/oidc_provider.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

using namespace std::chrono_literals;

directory::App AppWithCallbacks(std::vector<std::string> callbacks) {
  directory::App app;
  app.servicecode = "rp";
  app.callback_urls = std::move(callbacks);
  return app;
}

// ---------------------------------------------------------------- redirect checks

TEST(RedirectHardeningTest, EscapedAndTomcatDotSegmentsCannotClimbOutOfAPrefix) {
  auto app = AppWithCallbacks({"https://app.example.gov.cn/cas/"});
  for (const char* url :
       {"https://app.example.gov.cn/cas/.%2e/admin", "https://app.example.gov.cn/cas/.%2E/admin",
        "https://app.example.gov.cn/cas/%2E./admin", "https://app.example.gov.cn/cas/..;/admin",
        "https://app.example.gov.cn/cas/%252e%252e/admin",
        "https://app.example.gov.cn/cas/x/..%3b/..%3b/admin"}) {
    EXPECT_FALSE(RedirectAllowed(app, url)) << url;
    EXPECT_EQ(CallbackMatch(app, url), 0u) << url;
  }
  EXPECT_TRUE(RedirectAllowed(app, "https://app.example.gov.cn/cas/login?x=/../y"));
}

TEST(RedirectHardeningTest, PrefixAndUrlAreComparedInNormalForm) {
  auto app = AppWithCallbacks({"HTTPS://App.Example.gov.cn/cas/"});
  EXPECT_TRUE(RedirectAllowed(app, "https://app.example.gov.cn/%63as/x"));
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/other/"));
}

TEST(RedirectHardeningTest, CallbackMatchPrefersTheLongestPrefix) {
  auto app = AppWithCallbacks({"https://a.example/", "https://a.example/cas/"});
  EXPECT_EQ(CallbackMatch(app, "https://a.example/cas/x"),
            std::string("https://a.example/cas/").size());
  EXPECT_EQ(CallbackMatch(app, "https://a.example/x"), std::string("https://a.example/").size());
}

TEST(RedirectHardeningTest, RegisteredRedirectUriMustMatchExactly) {
  auto app = AppWithCallbacks({"https://rp.example.gov.cn/oidc/cb", "https://rp.example.gov.cn/"});
  EXPECT_TRUE(RedirectUriRegistered(app, "https://rp.example.gov.cn/oidc/cb"));
  EXPECT_FALSE(RedirectUriRegistered(app, "https://rp.example.gov.cn/oidc/cb/x"));
  EXPECT_FALSE(RedirectUriRegistered(app, "https://rp.example.gov.cn/oidc/cb?x=1"));
  EXPECT_FALSE(RedirectUriRegistered(app, "https://RP.example.gov.cn/oidc/cb"));
  EXPECT_FALSE(RedirectUriRegistered(app, "https://rp.example.gov.cn/other"));
}

TEST(RedirectHardeningTest, AnUnsafeRegisteredEntryIsNeverUsedAsRedirectUri) {
  auto app = AppWithCallbacks({"https://rp.example.gov.cn/a/..;/b"});
  EXPECT_FALSE(RedirectUriRegistered(app, "https://rp.example.gov.cn/a/..;/b"));
}

// ---------------------------------------------------------------- grants

class GrantsHardeningTest : public ::testing::Test {
 protected:
  GrantsHardeningTest()
      : store_(clock_), grants_(store_, clock_, random_, OidcLifetimes{60s, 3600s, 86400s}) {}

  FakeClock clock_;
  FakeRandom random_{5};
  MemoryTicketStore store_;
  OidcGrants grants_;
};

TEST_F(GrantsHardeningTest, NarrowedRefreshKeepsTheGrantedScopeInTheNewRefreshToken) {
  TokenGrant g;
  g.client_id = "rp";
  g.userid = "u1";
  g.scope = "openid profile email";
  g.session_id = "s1";
  auto first = grants_.IssueTokens(g, true).value();
  auto narrow = grants_.Refresh(first.refresh_token, "rp", "openid");
  ASSERT_TRUE(narrow.ok()) << narrow.error().message;
  EXPECT_EQ(narrow->access.scope, "openid");
  EXPECT_EQ(grants_.CheckRefreshToken(narrow->refresh_token)->scope, "openid profile email");
  auto wide_again = grants_.Refresh(narrow->refresh_token, "rp", "openid email");
  ASSERT_TRUE(wide_again.ok()) << wide_again.error().message;
  EXPECT_EQ(wide_again->access.scope, "openid email");
}

// ---------------------------------------------------------------- the provider

http::Request RequestWith(std::vector<std::pair<std::string, std::string>> headers,
                          std::string target, std::string method = "GET", std::string body = "") {
  http::RequestInit init;
  init.method = std::move(method);
  init.target = std::move(target);
  init.headers = std::move(headers);
  if (!body.empty()) {
    init.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    init.body = std::move(body);
  }
  return std::move(http::Request::Create(init)).value();
}

class FakeSessions final : public BrowserSessions {
 public:
  std::optional<BrowserLogin> login;
  std::optional<BrowserLogin> Current(const http::Request&) override { return login; }
  Result<std::optional<BrowserLogin>> Live(std::string_view session_id) override {
    if (login && login->session_id == session_id) return login;
    return std::optional<BrowserLogin>();
  }
  std::string LoginUrl(const http::Request&, std::string_view return_url, bool force) override {
    return http::AppendQuery(force ? "https://sso/relogin" : "https://sso/login", "goto",
                             return_url);
  }
  std::string LogoutUrl(const http::Request&, std::string_view return_url) override {
    return http::AppendQuery("https://sso/logout", "goto", return_url);
  }
};

class NoBackChannel final : public BackChannel {
 public:
  void Post(std::string, std::string, std::string) override {}
};

class OidcHardeningTest : public directory::test::DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    tickets_ = std::make_unique<MemoryTicketStore>(clock_);
    context_ = std::make_unique<SsoContext>(
        SsoContext{*dir_, *tickets_, *outbox_, clock_, random_, SsoSettings{}});
    context_->settings.public_url = "https://sso.example.gov.cn";
    keys_ = crypto::KeyRing::FromKeys(
        {crypto::SigningKey::Generate(crypto::SigningAlgorithm::kEs256).value()});
    settings_.id_token_alg = crypto::SigningAlgorithm::kEs256;
    provider_ = std::make_unique<OidcProvider>(*context_, keys_, sessions_, channel_, settings_);
    provider_->Register(router_);

    directory::App app;
    app.servicecode = "rp";
    app.name = "RP";
    app.callback_urls = {"https://rp.example.gov.cn/cb", "https://rp.example.gov.cn/bye"};
    app.protocols.oidc = true;
    app.open_to_all = true;
    secret_ = dir_->CreateApp(app).value().servicepwd;
    AddOrg("001", "省");
    user_ = AddUser("zhangs", "001");
    other_ = AddUser("lisi", "001");
  }

  http::Response Call(const std::string& method, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      std::string body = "") {
    http::Request request = RequestWith(std::move(headers), target, method, std::move(body));
    http::Response response;
    auto match = router_.Find(request.method(), request.path());
    if (match.status != 0) {
      response.set_status(match.status);
      return response;
    }
    (*match.handler)(request, response);
    return response;
  }

  // A real SSO session per user: the token endpoint checks that the code's
  // session still lives.
  void LogIn(const directory::User& user, int64_t auth_time_ms) {
    std::string& id = session_ids_[user.userid];
    if (id.empty()) {
      id = SessionStore(*tickets_, clock_, random_, LifetimesOf(context_->settings))
               .Create(user.userid, user.loginname, SessionOrigin::kBrowser)
               .value()
               .id;
    }
    sessions_.login = BrowserLogin{id, "public-" + user.userid, user.userid, auth_time_ms};
  }

  static std::string Authorize(
      const std::string& extra = "",
      const std::string& redirect = "https%3A%2F%2Frp.example.gov.cn%2Fcb") {
    return "/sso/oidc/authorize?response_type=code&client_id=rp&scope=openid%20profile"
           "&redirect_uri=" +
           redirect + "&state=xyz" + extra;
  }

  static std::map<std::string, std::string> QueryOf(std::string_view location) {
    std::map<std::string, std::string> out;
    auto params = http::ParseQuery(location.substr(location.find('?') + 1));
    for (auto entry : *params) out[std::string(entry.name)] = std::string(entry.value);
    return out;
  }

  std::string ErrorOf(const http::Response& r) {
    EXPECT_EQ(r.status(), 302) << r.body();
    auto location = r.Header("Location");
    if (!location) return "(no redirect)";
    EXPECT_TRUE(location->starts_with("https://rp.example.gov.cn/cb?")) << *location;
    return QueryOf(*location)["error"];
  }

  bool GotCode(const http::Response& r) {
    auto location = r.Header("Location");
    return r.status() == 302 && location &&
           location->starts_with("https://rp.example.gov.cn/cb?code=");
  }

  codec::Value Json(const http::Response& r) { return codec::ParseJson(r.body()).value(); }

  std::string Secret() const { return "&client_id=rp&client_secret=" + secret_; }

  codec::Value TokensFor(const directory::User& user) {
    LogIn(user, clock_.NowMillis());
    http::Response r = Call("GET", Authorize());
    std::string code = QueryOf(*r.Header("Location"))["code"];
    http::Response t = Call("POST", "/sso/oidc/token", {},
                            "grant_type=authorization_code&code=" + code +
                                "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb" + Secret());
    EXPECT_EQ(t.status(), 200) << t.body();
    return Json(t);
  }

  std::unique_ptr<MemoryTicketStore> tickets_;
  std::unique_ptr<SsoContext> context_;
  crypto::KeyRing keys_;
  OidcSettings settings_;
  FakeSessions sessions_;
  std::map<std::string, std::string> session_ids_;  // userid -> SSO session id
  NoBackChannel channel_;
  std::unique_ptr<OidcProvider> provider_;
  http::Router router_;
  std::string secret_;
  directory::User user_;
  directory::User other_;
};

// ---- item 5: exact redirect URIs

TEST_F(OidcHardeningTest, RedirectUriBelowARegisteredOneIsRefusedWithoutRedirecting) {
  LogIn(user_, clock_.NowMillis());
  for (const char* uri : {"https%3A%2F%2Frp.example.gov.cn%2Fcb%2Fx",
                          "https%3A%2F%2Frp.example.gov.cn%2Fcb%2F.%252e%2Fadmin",
                          "https%3A%2F%2Frp.example.gov.cn%2Fcb%3Fx%3D1"}) {
    http::Response r = Call("GET", Authorize("", uri));
    EXPECT_EQ(r.status(), 400) << uri;
    EXPECT_FALSE(r.Header("Location").has_value()) << uri;
  }
}

TEST_F(OidcHardeningTest, PrefixMatchIsTheDocumentedCompatibilitySwitch) {
  OidcSettings compat = settings_;
  compat.redirect_uri_prefix_match = true;
  OidcProvider provider(*context_, keys_, sessions_, channel_, compat);
  http::Router router;
  provider.Register(router);
  LogIn(user_, clock_.NowMillis());
  auto call = [&](const std::string& target) {
    http::Request request = RequestWith({}, target);
    http::Response response;
    (*router.Find("GET", request.path()).handler)(request, response);
    return response;
  };
  http::Response r = call(Authorize("", "https%3A%2F%2Frp.example.gov.cn%2Fcb%2Fx"));
  EXPECT_TRUE(r.Header("Location")->starts_with("https://rp.example.gov.cn/cb/x?code="));
  EXPECT_EQ(call(Authorize("", "https%3A%2F%2Frp.example.gov.cn%2Fcb%2F.%2e%2Fx")).status(), 400);
}

TEST_F(OidcHardeningTest, PostLogoutRedirectUriMustMatchExactly) {
  http::Response r = Call("GET", "/sso/oidc/logout?client_id=rp&post_logout_redirect_uri=" +
                                     http::UrlEncode("https://rp.example.gov.cn/bye/../cb/x"));
  EXPECT_EQ(r.status(), 400);
  r = Call("GET", "/sso/oidc/logout?client_id=rp&post_logout_redirect_uri=" +
                      http::UrlEncode("https://rp.example.gov.cn/byebye"));
  EXPECT_EQ(r.status(), 400);
  r = Call("GET", "/sso/oidc/logout?client_id=rp&post_logout_redirect_uri=" +
                      http::UrlEncode("https://rp.example.gov.cn/bye"));
  EXPECT_EQ(r.status(), 302);
  EXPECT_EQ(*r.Header("Location"), "https://rp.example.gov.cn/bye");
}

// ---- item 6: max_age and id_token_hint

TEST_F(OidcHardeningTest, MaxAgeZeroIsSatisfiedByTheLoginItCausedEvenTicksLater) {
  LogIn(user_, clock_.NowMillis() - 60'000);
  http::Response r = Call("GET", Authorize("&max_age=0"));
  ASSERT_TRUE(r.Header("Location")->starts_with("https://sso/relogin"));
  std::string back = QueryOf(*r.Header("Location"))["goto"];
  clock_.Advance(5s);  // the user types the password
  LogIn(user_, clock_.NowMillis());
  clock_.Advance(1500ms);  // the browser follows the redirects
  r = Call("GET", back.substr(back.find("/sso/oidc/")));
  EXPECT_TRUE(GotCode(r)) << r.Header("Location").value_or(r.body());
}

TEST_F(OidcHardeningTest, MaxAgeZeroWithoutASessionIsSatisfiedByTheFirstLogin) {
  http::Response r = Call("GET", Authorize("&max_age=0"));
  std::string back = QueryOf(*r.Header("Location"))["goto"];
  clock_.Advance(3s);
  LogIn(user_, clock_.NowMillis());
  clock_.Advance(2s);
  EXPECT_TRUE(GotCode(Call("GET", back.substr(back.find("/sso/oidc/")))));
}

TEST_F(OidcHardeningTest, ForcedLoginThatDidNotHappenIsStillRefused) {
  LogIn(user_, clock_.NowMillis() - 60'000);
  http::Response r = Call("GET", Authorize("&max_age=0"));
  std::string back = QueryOf(*r.Header("Location"))["goto"];
  clock_.Advance(1s);
  EXPECT_EQ(ErrorOf(Call("GET", back.substr(back.find("/sso/oidc/")))), "login_required");
}

TEST_F(OidcHardeningTest, AnotherUsersHintWithPromptNoneIsLoginRequired) {
  std::string hint = TokensFor(other_)["id_token"].AsString();
  LogIn(user_, clock_.NowMillis());
  http::Response r = Call("GET", Authorize("&prompt=none&id_token_hint=" + hint));
  EXPECT_EQ(ErrorOf(r), "login_required");
}

TEST_F(OidcHardeningTest, AnotherUsersHintSendsTheBrowserToLogInAgain) {
  std::string hint = TokensFor(other_)["id_token"].AsString();
  LogIn(user_, clock_.NowMillis());
  http::Response r = Call("GET", Authorize("&id_token_hint=" + hint));
  ASSERT_TRUE(r.Header("Location")->starts_with("https://sso/relogin"));
  std::string back = QueryOf(*r.Header("Location"))["goto"];
  // The same wrong user logs in again: still not the one the client expects.
  clock_.Advance(1s);
  LogIn(user_, clock_.NowMillis());
  EXPECT_EQ(ErrorOf(Call("GET", back.substr(back.find("/sso/oidc/")))), "login_required");
}

TEST_F(OidcHardeningTest, TheSameUsersHintWithPromptNoneGetsACode) {
  std::string hint = TokensFor(user_)["id_token"].AsString();
  clock_.Advance(7200s);  // an expired hint is still a hint
  LogIn(user_, clock_.NowMillis());
  EXPECT_TRUE(GotCode(Call("GET", Authorize("&prompt=none&id_token_hint=" + hint))));
}

TEST_F(OidcHardeningTest, MalformedOrForgedHintIsInvalidRequest) {
  LogIn(user_, clock_.NowMillis());
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&prompt=none&id_token_hint=not.a.jwt"))),
            "invalid_request");
  auto stranger = crypto::SigningKey::Generate(crypto::SigningAlgorithm::kEs256).value();
  std::string forged = crypto::SignJwt(stranger, R"({"iss":"https://sso.example.gov.cn/sso/oidc",)"
                                                 R"("aud":"rp","sub":")" +
                                                     user_.userid + "\"}")
                           .value();
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&id_token_hint=" + forged))), "invalid_request");
}

// ---- item 6: refused parameters and prompts

TEST_F(OidcHardeningTest, UnsupportedRequestParametersAreAnsweredWithTheirErrors) {
  LogIn(user_, clock_.NowMillis());
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&request=eyJhbGciOiJub25lIn0.e30."))),
            "request_not_supported");
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&request_uri=https%3A%2F%2Frp%2Freq"))),
            "request_uri_not_supported");
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&registration=%7B%7D"))), "registration_not_supported");
}

TEST_F(OidcHardeningTest, PromptConsentAndSelectAccountAreAnsweredWithTheirErrors) {
  LogIn(user_, clock_.NowMillis());
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&prompt=consent"))), "consent_required");
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&prompt=login%20consent"))), "consent_required");
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&prompt=select_account"))),
            "account_selection_required");
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&prompt=bogus"))), "invalid_request");
}

TEST_F(OidcHardeningTest, OfflineAccessIsRefusedAndNotAdvertised) {
  LogIn(user_, clock_.NowMillis());
  EXPECT_EQ(ErrorOf(Call("GET",
                         "/sso/oidc/authorize?response_type=code&client_id=rp&state=xyz"
                         "&scope=openid%20offline_access"
                         "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb")),
            "invalid_scope");
  codec::Value doc = Json(Call("GET", "/sso/oidc/.well-known/openid-configuration"));
  for (const codec::Value& s : doc["scopes_supported"].items()) {
    EXPECT_NE(s.AsString(), "offline_access");
  }
}

TEST_F(OidcHardeningTest, RepeatedAuthorizationParametersAreInvalidRequest) {
  LogIn(user_, clock_.NowMillis());
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&state=again"))), "invalid_request");
  EXPECT_EQ(ErrorOf(Call("GET", Authorize("&scope=openid"))), "invalid_request");
  // Where the redirect URI itself is repeated there is nowhere safe to redirect.
  http::Response r = Call("GET", Authorize("&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb"));
  EXPECT_EQ(r.status(), 400);
  EXPECT_FALSE(r.Header("Location").has_value());
}

TEST_F(OidcHardeningTest, MissingResponseTypeIsInvalidRequest) {
  LogIn(user_, clock_.NowMillis());
  http::Response r = Call("GET",
                          "/sso/oidc/authorize?client_id=rp&scope=openid&state=xyz"
                          "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb");
  EXPECT_EQ(ErrorOf(r), "invalid_request");
  r = Call("GET",
           "/sso/oidc/authorize?response_type=token&client_id=rp&scope=openid&state=xyz"
           "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb");
  EXPECT_EQ(ErrorOf(r), "unsupported_response_type");
}

TEST_F(OidcHardeningTest, RepeatedTokenParametersAreInvalidRequest) {
  http::Response r = Call("POST", "/sso/oidc/token", {},
                          "grant_type=client_credentials&grant_type=client_credentials" + Secret());
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(Json(r)["error"].AsString(), "invalid_request");
  r = Call("POST", "/sso/oidc/token?scope=roles", {},
           "grant_type=client_credentials&scope=roles" + Secret());
  EXPECT_EQ(r.status(), 400);
}

// ---- item 6: refresh, client credentials, introspection

TEST_F(OidcHardeningTest, NarrowedRefreshCanBeWidenedBackToTheGrant) {
  codec::Value tokens = TokensFor(user_);
  http::Response r = Call("POST", "/sso/oidc/token", {},
                          "grant_type=refresh_token&scope=openid&refresh_token=" +
                              tokens["refresh_token"].AsString() + Secret());
  ASSERT_EQ(r.status(), 200) << r.body();
  EXPECT_EQ(Json(r)["scope"].AsString(), "openid");
  r = Call(
      "POST", "/sso/oidc/token", {},
      "grant_type=refresh_token&refresh_token=" + Json(r)["refresh_token"].AsString() + Secret());
  ASSERT_EQ(r.status(), 200) << r.body();
  EXPECT_EQ(Json(r)["scope"].AsString(), "openid profile");
}

// Session 11: a role withdrawn from a closed app ends the app's refreshes.
TEST_F(OidcHardeningTest, ARefreshAfterTheUsersRoleWasWithdrawnIsRefusedAndRevokesTheFamily) {
  directory::App app = dir_->GetApp("rp").value();
  app.open_to_all = false;
  ASSERT_TRUE(dir_->UpdateApp(app).ok());
  ASSERT_TRUE(dir_->SaveRole(directory::Role{"rp", "clerk", "窗口", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "rp", "clerk").ok());
  codec::Value tokens = TokensFor(user_);
  const std::string refresh = "grant_type=refresh_token&refresh_token=";
  http::Response r =
      Call("POST", "/sso/oidc/token", {}, refresh + tokens["refresh_token"].AsString() + Secret());
  ASSERT_EQ(r.status(), 200) << r.body();
  const std::string rotated = Json(r)["refresh_token"].AsString();
  const std::string access = Json(r)["access_token"].AsString();

  ASSERT_TRUE(dir_->RevokeRole(user_.userid, "rp", "clerk").ok());
  r = Call("POST", "/sso/oidc/token", {}, refresh + rotated + Secret());
  EXPECT_EQ(r.status(), 400) << r.body();
  EXPECT_EQ(Json(r)["error"].AsString(), "invalid_grant");
  EXPECT_EQ(Json(r)["error_description"].AsString(), "the user may no longer use this application");
  // Revoked, not only refused: the access token issued with the family ends too.
  r = Call("GET", "/sso/oidc/userinfo", {{"Authorization", "Bearer " + access}});
  EXPECT_EQ(r.status(), 401) << r.body();
}

TEST_F(OidcHardeningTest, ACodeRedeemedAfterTheUsersRoleWasWithdrawnGivesNoTokens) {
  directory::App app = dir_->GetApp("rp").value();
  app.open_to_all = false;
  ASSERT_TRUE(dir_->UpdateApp(app).ok());
  ASSERT_TRUE(dir_->SaveRole(directory::Role{"rp", "clerk", "窗口", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "rp", "clerk").ok());
  LogIn(user_, clock_.NowMillis());
  http::Response r = Call("GET", Authorize());
  ASSERT_TRUE(GotCode(r)) << r.Header("Location").value_or("");
  std::string code = QueryOf(*r.Header("Location"))["code"];
  ASSERT_TRUE(dir_->RevokeRole(user_.userid, "rp", "clerk").ok());
  r = Call("POST", "/sso/oidc/token", {},
           "grant_type=authorization_code&code=" + code +
               "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb" + Secret());
  EXPECT_EQ(r.status(), 400) << r.body();
  EXPECT_EQ(Json(r)["error"].AsString(), "invalid_grant");
}

TEST_F(OidcHardeningTest, NarrowedClientCredentialsScopeIsReturned) {
  http::Response r = Call("POST", "/sso/oidc/token", {},
                          "grant_type=client_credentials&scope=openid%20profile" + Secret());
  ASSERT_EQ(r.status(), 200) << r.body();
  const codec::Value* scope = Json(r).Find("scope");
  ASSERT_NE(scope, nullptr) << r.body();
  EXPECT_EQ(scope->AsString(), "");
  r = Call("POST", "/sso/oidc/token", {},
           "grant_type=client_credentials&scope=openid%20roles" + Secret());
  EXPECT_EQ(Json(r)["scope"].AsString(), "roles");
}

TEST_F(OidcHardeningTest, IntrospectionWithoutTokenIsInvalidRequest) {
  http::Response r = Call("POST", "/sso/oidc/introspect", {}, Secret().substr(1));
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(Json(r)["error"].AsString(), "invalid_request");
}

// ---- discovery

TEST_F(OidcHardeningTest, DiscoveryIsServedOnlyUnderItsIssuer) {
  EXPECT_EQ(Call("GET", "/.well-known/openid-configuration").status(), 404);
  http::Response r = Call("GET", "/sso/oidc/.well-known/openid-configuration");
  ASSERT_EQ(r.status(), 200);
  EXPECT_EQ(Json(r)["issuer"].AsString(), "https://sso.example.gov.cn/sso/oidc");
}

TEST_F(OidcHardeningTest, DiscoveryBuiltOncePerIssuerStillFollowsTheHost) {
  context_->settings.public_url.clear();
  auto issuer_for = [&](const std::string& host) {
    http::Response r = Call("GET", "/sso/oidc/.well-known/openid-configuration", {{"Host", host}});
    return Json(r)["issuer"].AsString();
  };
  EXPECT_EQ(issuer_for("a.example"), "http://a.example/sso/oidc");
  EXPECT_EQ(issuer_for("b.example"), "http://b.example/sso/oidc");
  EXPECT_EQ(issuer_for("a.example"), "http://a.example/sso/oidc");
  // More hosts than the cache keeps are still answered right.
  for (int i = 0; i < 40; ++i) {
    std::string host = "h";
    host.append(std::to_string(i)).append(".example");
    std::string expected = "http://";
    expected.append(host).append("/sso/oidc");
    EXPECT_EQ(issuer_for(host), expected);
  }
}

}  // namespace
}  // namespace tongban::sso
