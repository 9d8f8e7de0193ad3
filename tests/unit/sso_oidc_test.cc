// OpenID Connect: the grants in the TicketStore (codes, PKCE, refresh-token
// rotation and reuse detection, session-wide revocation), the redirect-URL
// rule, client authentication headers, and the provider's endpoints driven
// through the router with a fake browser session (prompt, max_age, the ID
// token, back-channel logout).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/parse.h"
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

// ---------------------------------------------------------------- PKCE, scopes

TEST(OidcPkceTest, S256MatchesTheRfc7636Example) {
  EXPECT_TRUE(VerifyPkce("S256", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                         "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
}

TEST(OidcPkceTest, S256RefusesAnotherVerifier) {
  EXPECT_FALSE(VerifyPkce("S256", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                          "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
}

TEST(OidcPkceTest, PlainComparesTheValues) {
  std::string v(43, 'a');
  EXPECT_TRUE(VerifyPkce("plain", v, v));
  EXPECT_FALSE(VerifyPkce("plain", v, std::string(43, 'b')));
}

TEST(OidcPkceTest, RefusesVerifiersOfTheWrongLengthOrAlphabet) {
  EXPECT_FALSE(WellFormedPkceValue(std::string(42, 'a')));
  EXPECT_FALSE(WellFormedPkceValue(std::string(129, 'a')));
  EXPECT_FALSE(WellFormedPkceValue(std::string(43, '+')));
  EXPECT_TRUE(WellFormedPkceValue(std::string(128, '~')));
  EXPECT_FALSE(VerifyPkce("plain", "short", "short"));
}

TEST(OidcPkceTest, UnknownMethodNeverMatches) {
  std::string v(43, 'a');
  EXPECT_FALSE(VerifyPkce("S512", v, v));
}

TEST(OidcScopeTest, FindsWholeScopesOnly) {
  EXPECT_TRUE(HasScope("openid profile", "profile"));
  EXPECT_FALSE(HasScope("openid profiles", "profile"));
  EXPECT_TRUE(ScopeWithin("openid", "openid profile"));
  EXPECT_FALSE(ScopeWithin("openid email", "openid profile"));
  EXPECT_TRUE(ScopeWithin("", "openid"));
}

// ---------------------------------------------------------------- redirect URLs

directory::App AppWithCallbacks(std::vector<std::string> callbacks) {
  directory::App app;
  app.servicecode = "rp";
  app.callback_urls = std::move(callbacks);
  return app;
}

TEST(RedirectAllowedTest, AcceptsUrlsUnderARegisteredPrefix) {
  auto app = AppWithCallbacks({"https://app.example.gov.cn/oidc/"});
  EXPECT_TRUE(RedirectAllowed(app, "https://app.example.gov.cn/oidc/callback"));
  EXPECT_TRUE(RedirectAllowed(app, "https://app.example.gov.cn/oidc/cb?x=1"));
}

TEST(RedirectAllowedTest, RefusesOtherHostsAndLookalikes) {
  auto app = AppWithCallbacks({"https://app.example.gov.cn"});
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn.evil.example/"));
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn@evil.example/"));
  EXPECT_FALSE(RedirectAllowed(app, "https://evil.example/https://app.example.gov.cn"));
}

TEST(RedirectAllowedTest, RefusesDotSegmentsThatClimbOutOfThePrefix) {
  auto app = AppWithCallbacks({"https://app.example.gov.cn/a/"});
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/a/../b"));
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/a/%2e%2e/b"));
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/a/..%2fb"));
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/a/x/.."));
}

TEST(RedirectAllowedTest, RefusesFragmentsBackslashesWhitespaceAndOtherSchemes) {
  auto app = AppWithCallbacks({"https://app.example.gov.cn/"});
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/cb#x"));
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/\\evil"));
  EXPECT_FALSE(RedirectAllowed(app, "https://app.example.gov.cn/ cb"));
  EXPECT_FALSE(RedirectAllowed(AppWithCallbacks({"javascript:"}), "javascript:alert(1)"));
}

TEST(RedirectAllowedTest, RefusesEverythingForAnAppWithoutCallbacks) {
  EXPECT_FALSE(RedirectAllowed(AppWithCallbacks({}), "https://app.example.gov.cn/"));
}

// ---------------------------------------------------------------- Basic auth

http::Request RequestWith(std::vector<std::pair<std::string, std::string>> headers,
                          std::string target = "/", std::string method = "GET",
                          std::string body = "") {
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

TEST(BasicAuthTest, DecodesFormEncodedCredentials) {
  // RFC 6749 §2.3.1: "rp 1" and "p:w%" form-encoded, then Base64.
  std::string creds = crypto::Base64Encode("rp+1:p%3Aw%25");
  auto parsed = ParseBasicAuth(RequestWith({{"Authorization", "Basic " + creds}}));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->user, "rp 1");
  EXPECT_EQ(parsed->password, "p:w%");
}

TEST(BasicAuthTest, IgnoresOtherSchemesAndBadBase64) {
  EXPECT_FALSE(ParseBasicAuth(RequestWith({{"Authorization", "Bearer abc"}})).has_value());
  EXPECT_FALSE(ParseBasicAuth(RequestWith({{"Authorization", "Basic !!!"}})).has_value());
  EXPECT_FALSE(ParseBasicAuth(RequestWith({})).has_value());
}

// ---------------------------------------------------------------- OidcGrants

class OidcGrantsTest : public ::testing::Test {
 protected:
  OidcGrantsTest() : store_(clock_), grants_(store_, clock_, random_, {60s, 3600s, 86400s}) {}

  AuthorizationCode Code() {
    AuthorizationCode c;
    c.client_id = "rp";
    c.redirect_uri = "https://rp/cb";
    c.scope = "openid profile";
    c.userid = "u1";
    c.session_id = "session-1";
    c.public_id = "pub-1";
    c.issuer = "https://sso/sso/oidc";
    return c;
  }

  TokenGrant Grant() {
    TokenGrant g;
    g.client_id = "rp";
    g.userid = "u1";
    g.scope = "openid profile";
    g.session_id = "session-1";
    g.public_id = "pub-1";
    g.issuer = "https://sso/sso/oidc";
    return g;
  }

  FakeClock clock_;
  FakeRandom random_{3};
  MemoryTicketStore store_;
  OidcGrants grants_;
};

TEST_F(OidcGrantsTest, CodeIsRedeemedOnceWithWhatItStoodFor) {
  std::string code = grants_.IssueCode(Code()).value();
  auto redeemed = grants_.RedeemCode(code);
  ASSERT_TRUE(redeemed.ok());
  EXPECT_EQ(redeemed->client_id, "rp");
  EXPECT_EQ(redeemed->redirect_uri, "https://rp/cb");
  EXPECT_EQ(redeemed->public_id, "pub-1");
  EXPECT_EQ(grants_.RedeemCode(code).error().code, errc::kNotFound);
}

TEST_F(OidcGrantsTest, CodeExpiresAfterItsLifetime) {
  std::string code = grants_.IssueCode(Code()).value();
  clock_.Advance(61s);
  EXPECT_EQ(grants_.RedeemCode(code).error().code, errc::kNotFound);
}

TEST_F(OidcGrantsTest, ReplayedCodeRevokesTheTokensIssuedForIt) {
  std::string code = grants_.IssueCode(Code()).value();
  ASSERT_TRUE(grants_.RedeemCode(code).ok());
  IssuedTokens tokens = grants_.IssueTokens(Grant(), true, code).value();
  EXPECT_FALSE(grants_.RedeemCode(code).ok());
  EXPECT_FALSE(grants_.CheckAccessToken(tokens.access_token).ok());
  EXPECT_FALSE(grants_.CheckRefreshToken(tokens.refresh_token).ok());
}

TEST_F(OidcGrantsTest, AccessTokenExpires) {
  IssuedTokens tokens = grants_.IssueTokens(Grant(), false).value();
  EXPECT_TRUE(grants_.CheckAccessToken(tokens.access_token).ok());
  clock_.Advance(3601s);
  EXPECT_FALSE(grants_.CheckAccessToken(tokens.access_token).ok());
}

TEST_F(OidcGrantsTest, RefreshRotatesAndKeepsTheGrant) {
  IssuedTokens first = grants_.IssueTokens(Grant(), true).value();
  auto second = grants_.Refresh(first.refresh_token, "rp", "");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE(second->refresh_token, first.refresh_token);
  EXPECT_EQ(second->access.userid, "u1");
  EXPECT_EQ(second->access.family, first.access.family);
  EXPECT_TRUE(grants_.CheckAccessToken(second->access_token).ok());
}

TEST_F(OidcGrantsTest, ReusingARotatedRefreshTokenRevokesTheFamily) {
  IssuedTokens first = grants_.IssueTokens(Grant(), true).value();
  IssuedTokens second = grants_.Refresh(first.refresh_token, "rp", "").value();
  EXPECT_EQ(grants_.Refresh(first.refresh_token, "rp", "").error().code, errc::kNotFound);
  EXPECT_FALSE(grants_.CheckAccessToken(second.access_token).ok());
  EXPECT_FALSE(grants_.CheckAccessToken(first.access_token).ok());
  EXPECT_FALSE(grants_.Refresh(second.refresh_token, "rp", "").ok());
}

TEST_F(OidcGrantsTest, RefreshByAnotherClientIsRefusedAndLeavesTheTokenUsable) {
  IssuedTokens first = grants_.IssueTokens(Grant(), true).value();
  EXPECT_EQ(grants_.Refresh(first.refresh_token, "other", "").error().code,
            errc::kPermissionDenied);
  EXPECT_TRUE(grants_.Refresh(first.refresh_token, "rp", "").ok());
}

TEST_F(OidcGrantsTest, RefreshMayNarrowButNotWidenTheScope) {
  IssuedTokens first = grants_.IssueTokens(Grant(), true).value();
  EXPECT_EQ(grants_.Refresh(first.refresh_token, "rp", "openid email").error().code,
            errc::kInvalidArgument);
  IssuedTokens narrowed = grants_.IssueTokens(Grant(), true).value();
  auto refreshed = grants_.Refresh(narrowed.refresh_token, "rp", "openid");
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->access.scope, "openid");
}

TEST_F(OidcGrantsTest, EndingTheSessionRevokesItsTokensAndNamesItsClients) {
  IssuedTokens a = grants_.IssueTokens(Grant(), true).value();
  TokenGrant other = Grant();
  other.client_id = "rp2";
  IssuedTokens b = grants_.IssueTokens(other, false).value();
  auto clients = grants_.EndSession("session-1");
  ASSERT_TRUE(clients.ok());
  ASSERT_EQ(clients->size(), 2u);
  std::map<std::string, SessionClient> by_id;
  for (const SessionClient& c : *clients) by_id[c.client_id] = c;
  EXPECT_EQ(by_id["rp"].public_id, "pub-1");
  EXPECT_EQ(by_id["rp"].issuer, "https://sso/sso/oidc");
  EXPECT_FALSE(grants_.CheckAccessToken(a.access_token).ok());
  EXPECT_FALSE(grants_.CheckRefreshToken(a.refresh_token).ok());
  EXPECT_FALSE(grants_.CheckAccessToken(b.access_token).ok());
}

TEST_F(OidcGrantsTest, ClientCredentialsTokensBelongToNoSession) {
  TokenGrant g;
  g.client_id = "rp";
  IssuedTokens tokens = grants_.IssueTokens(g, false).value();
  EXPECT_TRUE(tokens.refresh_token.empty());
  EXPECT_TRUE(grants_.EndSession("session-1")->empty());
  EXPECT_TRUE(grants_.CheckAccessToken(tokens.access_token).ok());
}

TEST_F(OidcGrantsTest, StoreKeysNeverHoldTheTokenItself) {
  IssuedTokens tokens = grants_.IssueTokens(Grant(), true).value();
  EXPECT_FALSE(store_.Get(std::string("oidc:at:") + tokens.access_token).ok());
  EXPECT_EQ(tokens.access_token.rfind("AT-", 0), 0u);
}

// ---------------------------------------------------------------- claims

TEST(OidcClaimsTest, MapsDirectoryFieldsByScope) {
  directory::User u;
  u.userid = "0123456789abcdef0123456789abcdef";
  u.loginname = "zhangs";
  u.username = "张三";
  u.orgcoding = "001001";
  u.email = "z@example.gov.cn";
  u.mobile = "13800000000";
  std::vector<directory::Role> roles = {{"rp", "clerk", "办事员", ""}};
  codec::Value all = UserClaims(u, "openid profile email phone roles", roles);
  EXPECT_EQ(all["sub"].AsString(), u.userid);
  EXPECT_EQ(all["name"].AsString(), "张三");
  EXPECT_EQ(all["preferred_username"].AsString(), "zhangs");
  EXPECT_EQ(all["org"].AsString(), "001001");
  EXPECT_EQ(all["email"].AsString(), u.email);
  EXPECT_EQ(all["phone_number"].AsString(), u.mobile);
  ASSERT_TRUE(all["roles"].IsArray());
  EXPECT_EQ(all["roles"][0].AsString(), "clerk");
  codec::Value bare = UserClaims(u, "openid", roles);
  EXPECT_EQ(bare.size(), 2u);  // sub and acr, the real-name level (issue 20)
  EXPECT_EQ(bare["acr"].AsString(), "1");
}

TEST(OidcClaimsTest, LeavesOutEmptyFields) {
  directory::User u;
  u.userid = "u";
  codec::Value c = UserClaims(u, "openid profile email", {});
  EXPECT_EQ(c.Find("email"), nullptr);
  EXPECT_EQ(c.Find("name"), nullptr);
}

// ---------------------------------------------------------------- the provider

class FakeSessions final : public BrowserSessions {
 public:
  std::optional<BrowserLogin> login;
  std::optional<BrowserLogin> Current(const http::Request&) override { return login; }
  Result<std::optional<BrowserLogin>> Live(std::string_view session_id) override {
    if (login && login->session_id == session_id) return login;
    return std::optional<BrowserLogin>();
  }
  std::string LoginUrl(const http::Request&, std::string_view return_url, bool force) override {
    std::string url = force ? "https://sso/relogin" : "https://sso/login";
    return http::AppendQuery(url, "goto", return_url);
  }
  std::string LogoutUrl(const http::Request&, std::string_view return_url) override {
    return http::AppendQuery("https://sso/logout", "goto", return_url);
  }
};

class RecordingBackChannel final : public BackChannel {
 public:
  struct Sent {
    std::string url;
    std::string content_type;
    std::string body;
  };
  std::vector<Sent> sent;
  void Post(std::string url, std::string content_type, std::string body) override {
    sent.push_back({std::move(url), std::move(content_type), std::move(body)});
  }
};

class OidcProviderTest : public directory::test::DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    store_tickets_ = std::make_unique<MemoryTicketStore>(clock_);
    context_ = std::make_unique<SsoContext>(
        SsoContext{*dir_, *store_tickets_, *outbox_, clock_, random_, SsoSettings{}});
    context_->settings.public_url = "https://sso.example.gov.cn";
    keys_ = crypto::KeyRing::FromKeys(
        {crypto::SigningKey::Generate(crypto::SigningAlgorithm::kEs256).value()});
    OidcSettings settings;
    settings.id_token_alg = crypto::SigningAlgorithm::kEs256;
    provider_ =
        std::make_unique<OidcProvider>(*context_, keys_, sessions_, back_channel_, settings);
    provider_->Register(router_);

    directory::App app;
    app.servicecode = "rp";
    app.name = "RP";
    app.callback_urls = {"https://rp.example.gov.cn/cb"};
    app.logout_url = "http://127.0.0.1:1/backchannel";
    app.protocols.oidc = true;
    app.open_to_all = true;
    secret_ = dir_->CreateApp(app).value().servicepwd;
    AddOrg("001", "省");
    user_ = AddUser("zhangs", "001", {{"email", "z@example.gov.cn"}});
  }

  http::Response Call(const std::string& method, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      std::string body = "") {
    http::Request request = RequestWith(std::move(headers), target, method, std::move(body));
    http::Response response;
    auto match = router_.Find(request.method(), request.path());
    EXPECT_EQ(match.status, 0) << target;
    if (match.status == 0) (*match.handler)(request, response);
    return response;
  }

  // A real SSO session in the ticket store: the token endpoint checks that
  // the code's session still lives.
  void LogIn(int64_t auth_time_ms) {
    if (session_id_.empty()) {
      session_id_ = SessionStore(*store_tickets_, clock_, random_, LifetimesOf(context_->settings))
                        .Create(user_.userid, user_.loginname, SessionOrigin::kBrowser)
                        .value()
                        .id;
    }
    sessions_.login = BrowserLogin{session_id_, "public-session", user_.userid, auth_time_ms};
  }

  std::string AuthorizeTarget(const std::string& extra = "") {
    return "/sso/oidc/authorize?response_type=code&client_id=rp&scope=openid%20profile%20email"
           "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb&state=xyz&nonce=n1" +
           extra;
  }

  std::map<std::string, std::string> QueryOf(std::string_view location) {
    std::map<std::string, std::string> out;
    auto params = http::ParseQuery(location.substr(location.find('?') + 1));
    for (auto entry : *params) out[std::string(entry.name)] = std::string(entry.value);
    return out;
  }

  codec::Value Exchange(const std::string& code) {
    std::string body = "grant_type=authorization_code&code=" + code +
                       "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb&client_id=rp"
                       "&client_secret=" +
                       secret_;
    http::Response r = Call("POST", "/sso/oidc/token", {}, body);
    EXPECT_EQ(r.status(), 200) << r.body();
    return codec::ParseJson(r.body()).value();
  }

  std::unique_ptr<MemoryTicketStore> store_tickets_;
  std::unique_ptr<SsoContext> context_;
  crypto::KeyRing keys_;
  FakeSessions sessions_;
  std::string session_id_;
  RecordingBackChannel back_channel_;
  std::unique_ptr<OidcProvider> provider_;
  http::Router router_;
  std::string secret_;
  directory::User user_;
};

TEST_F(OidcProviderTest, WithoutASessionSendsTheBrowserToLogIn) {
  http::Response r = Call("GET", AuthorizeTarget());
  EXPECT_EQ(r.status(), 302);
  EXPECT_TRUE(r.Header("Location")->starts_with("https://sso/login?goto="));
}

TEST_F(OidcProviderTest, LoggedInBrowserGetsACodeForTheRedirectUri) {
  LogIn(clock_.NowMillis());
  http::Response r = Call("GET", AuthorizeTarget());
  ASSERT_EQ(r.status(), 302);
  auto q = QueryOf(*r.Header("Location"));
  EXPECT_TRUE(r.Header("Location")->starts_with("https://rp.example.gov.cn/cb?code="));
  EXPECT_EQ(q["state"], "xyz");
  EXPECT_EQ(q["iss"], "https://sso.example.gov.cn/sso/oidc");
}

TEST_F(OidcProviderTest, ACodeWhoseSessionEndedGivesNoTokens) {
  LogIn(clock_.NowMillis());
  http::Response r = Call("GET", AuthorizeTarget());
  ASSERT_EQ(r.status(), 302);
  const std::string code = QueryOf(*r.Header("Location"))["code"];
  // The user logs out while the app has yet to redeem the code.
  ASSERT_TRUE(SessionStore(*store_tickets_, clock_, random_, LifetimesOf(context_->settings))
                  .End(session_id_)
                  .ok());
  std::string body = "grant_type=authorization_code&code=" + code +
                     "&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb&client_id=rp"
                     "&client_secret=" +
                     secret_;
  http::Response token = Call("POST", "/sso/oidc/token", {}, body);
  EXPECT_EQ(token.status(), 400) << token.body();
  EXPECT_EQ(codec::ParseJson(token.body()).value()["error"].AsString(), "invalid_grant");
}

TEST_F(OidcProviderTest, PromptLoginForcesANewLoginEvenWithASession) {
  LogIn(clock_.NowMillis());
  http::Response r = Call("GET", AuthorizeTarget("&prompt=login"));
  EXPECT_TRUE(r.Header("Location")->starts_with("https://sso/relogin"));
}

TEST_F(OidcProviderTest, MaxAgeForcesALoginWhenTheLastOneIsOlder) {
  LogIn(clock_.NowMillis() - 600'000);
  http::Response r = Call("GET", AuthorizeTarget("&max_age=300"));
  EXPECT_TRUE(r.Header("Location")->starts_with("https://sso/relogin"));
  r = Call("GET", AuthorizeTarget("&max_age=900"));
  EXPECT_TRUE(r.Header("Location")->starts_with("https://rp.example.gov.cn/cb?code="));
}

TEST_F(OidcProviderTest, ResumedRequestIssuesTheCodeOnceTheLoginIsNewer) {
  http::Response r = Call("GET", AuthorizeTarget());
  std::string back = QueryOf(*r.Header("Location"))["goto"];
  std::string resume = back.substr(back.find("/sso/oidc/"));
  LogIn(clock_.NowMillis());
  r = Call("GET", resume);
  ASSERT_EQ(r.status(), 302);
  EXPECT_TRUE(r.Header("Location")->starts_with("https://rp.example.gov.cn/cb?code="));
  // The pending request is single use.
  EXPECT_EQ(Call("GET", resume).status(), 400);
}

TEST_F(OidcProviderTest, IdTokenCarriesNonceSidAndVerifiesWithTheJwks) {
  LogIn(clock_.NowMillis());
  std::string code = QueryOf(*Call("GET", AuthorizeTarget()).Header("Location"))["code"];
  codec::Value tokens = Exchange(code);
  auto verified = crypto::VerifyJwt(tokens["id_token"].AsString(), keys_.keys());
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  codec::Value claims = codec::ParseJson(verified->claims_json).value();
  EXPECT_EQ(claims["iss"].AsString(), "https://sso.example.gov.cn/sso/oidc");
  EXPECT_EQ(claims["aud"].AsString(), "rp");
  EXPECT_EQ(claims["sub"].AsString(), user_.userid);
  EXPECT_EQ(claims["nonce"].AsString(), "n1");
  EXPECT_EQ(claims["sid"].AsString(), "public-session");
  EXPECT_EQ(claims["email"].AsString(), "z@example.gov.cn");
  EXPECT_EQ(claims["exp"].AsInteger() - claims["iat"].AsInteger(), 3600);
}

TEST_F(OidcProviderTest, EndedSessionSendsASignedLogoutTokenToTheLogoutUrl) {
  LogIn(clock_.NowMillis());
  std::string code = QueryOf(*Call("GET", AuthorizeTarget()).Header("Location"))["code"];
  codec::Value tokens = Exchange(code);
  provider_->OnSessionEnded({session_id_, "public-session", user_.userid});
  ASSERT_EQ(back_channel_.sent.size(), 1u);
  EXPECT_EQ(back_channel_.sent[0].url, "http://127.0.0.1:1/backchannel");
  auto form = http::ParseQuery(back_channel_.sent[0].body).value();
  auto verified = crypto::VerifyJwt(form.GetOr("logout_token"), keys_.keys());
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->header.typ, "logout+jwt");
  codec::Value claims = codec::ParseJson(verified->claims_json).value();
  EXPECT_EQ(claims["sid"].AsString(), "public-session");
  EXPECT_EQ(claims["sub"].AsString(), user_.userid);
  EXPECT_NE(claims["events"].Find("http://schemas.openid.net/event/backchannel-logout"), nullptr);
  EXPECT_EQ(claims.Find("nonce"), nullptr);
  // The session's tokens no longer work.
  http::Response info = Call("GET", "/sso/oidc/userinfo",
                             {{"Authorization", "Bearer " + tokens["access_token"].AsString()}});
  EXPECT_EQ(info.status(), 401);
}

TEST_F(OidcProviderTest, AnotherSessionEndingTellsNobody) {
  LogIn(clock_.NowMillis());
  std::string code = QueryOf(*Call("GET", AuthorizeTarget()).Header("Location"))["code"];
  Exchange(code);
  provider_->OnSessionEnded({"another-session", "p", user_.userid});
  EXPECT_TRUE(back_channel_.sent.empty());
}

TEST_F(OidcProviderTest, TokenEndpointAnswersNoStore) {
  http::Response r = Call("POST", "/sso/oidc/token", {},
                          "grant_type=client_credentials&client_id=rp&client_secret=" + secret_);
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.Header("Cache-Control").value_or(""), "no-store");
}

TEST_F(OidcProviderTest, BothClientAuthenticationMethodsAtOnceAreRefused) {
  std::string basic = crypto::Base64Encode("rp:" + secret_);
  http::Response r = Call("POST", "/sso/oidc/token", {{"Authorization", "Basic " + basic}},
                          "grant_type=client_credentials&client_secret=" + secret_);
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(codec::ParseJson(r.body())->operator[]("error").AsString(), "invalid_request");
}

TEST_F(OidcProviderTest, RequiredPkceRefusesARequestWithoutAChallenge) {
  OidcSettings settings;
  settings.id_token_alg = crypto::SigningAlgorithm::kEs256;
  settings.require_pkce = true;
  OidcProvider strict(*context_, keys_, sessions_, back_channel_, settings);
  http::Router router;
  strict.Register(router);
  LogIn(clock_.NowMillis());
  http::Request request = RequestWith({}, AuthorizeTarget());
  http::Response response;
  (*router.Find("GET", request.path()).handler)(request, response);
  EXPECT_EQ(QueryOf(*response.Header("Location"))["error"], "invalid_request");
}

TEST_F(OidcProviderTest, MissingSigningKeyIsAStartUpError) {
  OidcSettings settings;
  settings.id_token_alg = crypto::SigningAlgorithm::kRs256;
  EXPECT_THROW(OidcProvider(*context_, keys_, sessions_, back_channel_, settings),
               std::invalid_argument);
}

}  // namespace
}  // namespace tongban::sso
