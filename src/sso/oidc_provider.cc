#include "sso/oidc_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>

#include "codec/parse.h"
#include "codec/render.h"
#include "crypto/encoding.h"
#include "crypto/jwt.h"
#include "directory/directory.h"
#include "http/url.h"
#include "sso/citizen.h"
#include "sso/html.h"
#include "sso/off_io.h"
#include "sso/oidc_grants.h"
#include "sso/second_factors.h"

namespace tongban::sso {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kPendingPrefix = "oidc:pending:";  // an authorization waiting for login
constexpr std::string_view kLogoutPrefix = "oidc:logout:";    // where to go after logout
constexpr milliseconds kPendingTtl{600'000};
constexpr std::string_view kBackChannelEvent = "http://schemas.openid.net/event/backchannel-logout";
// The scopes tongban grants; others in a request are ignored (RFC 6749 §3.3).
// offline_access is not among them: every refresh token belongs to the SSO
// session and ends with it (docs/integrate-oidc.md), so a request for it is
// refused with invalid_scope rather than granted in name only.
// invalid_grant's description when the user may no longer use the client.
constexpr std::string_view kMayNotUse = "the user may no longer use this application";

constexpr std::string_view kKnownScopes[] = {"openid", "profile", "email", "phone", "roles"};
// Discovery documents kept, one per issuer: the issuer follows the Host
// header when public_url is unset, so the number of them is bounded.
constexpr size_t kMaxCachedIssuers = 16;
constexpr size_t kMaxParamBytes = 2048;

int64_t Seconds(int64_t ms) { return ms / 1000; }

bool KnownScope(std::string_view s) {
  for (std::string_view k : kKnownScopes) {
    if (k == s) return true;
  }
  return false;
}

// The requested scopes tongban knows, in request order, without repeats.
std::string FilterScope(std::string_view requested, bool allow_user_scopes) {
  std::string out;
  size_t pos = 0;
  while (pos <= requested.size()) {
    size_t end = requested.find(' ', pos);
    if (end == std::string_view::npos) end = requested.size();
    std::string_view s = requested.substr(pos, end - pos);
    pos = end + 1;
    if (s.empty() || !KnownScope(s) || HasScope(out, s)) continue;
    if (!allow_user_scopes && s != "roles") continue;
    if (!out.empty()) out.push_back(' ');
    out.append(s);
  }
  return out;
}


void NoStore(http::Response& response) {
  response.AddHeader("Cache-Control", "no-store");
  response.AddHeader("Pragma", "no-cache");
}

void OAuthError(http::Response& response, int status, std::string_view error,
                std::string_view description) {
  codec::Value body = codec::Value::Object(2);
  body.Set("error", error);
  if (!description.empty()) body.Set("error_description", description);
  response.SetJson(status, codec::RenderJson(body));
  NoStore(response);
}

// The first parameter name that occurs more than once (RFC 6749 §3.1:
// parameters "MUST NOT be included more than once"), or "".
std::string_view RepeatedParam(const http::Params& params) {
  // Sorted, not compared pairwise: a request may carry thousands of names.
  std::vector<std::string_view> names;
  names.reserve(params.size());
  for (auto entry : params) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  auto repeat = std::adjacent_find(names.begin(), names.end());
  return repeat == names.end() ? std::string_view() : *repeat;
}

// The parameters of an authorization request, wherever they came from.
struct AuthorizeRequest {
  std::string response_type;
  std::string response_mode;
  std::string client_id;
  std::string redirect_uri;
  std::string scope;
  std::string state;
  std::string nonce;
  std::string code_challenge;
  std::string code_challenge_method;
  std::string prompt;
  std::string max_age;
  std::string id_token_hint;
  std::string acr_values;
  // Refused, never carried through a login: OIDC Core 6 and 7.
  bool has_request = false;
  bool has_request_uri = false;
  bool has_registration = false;
  std::string repeated;  // a parameter sent twice; "" when none

  static AuthorizeRequest From(const http::Params& p) {
    AuthorizeRequest r;
    r.response_type = p.GetOr("response_type");
    r.response_mode = p.GetOr("response_mode");
    r.client_id = p.GetOr("client_id");
    r.redirect_uri = p.GetOr("redirect_uri");
    r.scope = p.GetOr("scope");
    r.state = p.GetOr("state");
    r.nonce = p.GetOr("nonce");
    r.code_challenge = p.GetOr("code_challenge");
    r.code_challenge_method = p.GetOr("code_challenge_method");
    r.prompt = p.GetOr("prompt");
    r.max_age = p.GetOr("max_age");
    r.id_token_hint = p.GetOr("id_token_hint");
    r.acr_values = p.GetOr("acr_values");
    r.has_request = p.Has("request");
    r.has_request_uri = p.Has("request_uri");
    r.has_registration = p.Has("registration");
    r.repeated = std::string(RepeatedParam(p));
    return r;
  }

  std::string Encode() const {
    return http::EncodeForm({{"response_type", response_type},
                             {"response_mode", response_mode},
                             {"client_id", client_id},
                             {"redirect_uri", redirect_uri},
                             {"scope", scope},
                             {"state", state},
                             {"nonce", nonce},
                             {"code_challenge", code_challenge},
                             {"code_challenge_method", code_challenge_method},
                             {"prompt", prompt},
                             {"max_age", max_age},
                             {"id_token_hint", id_token_hint},
                             {"acr_values", acr_values}});
  }
};

struct ClientAuth {
  std::shared_ptr<const directory::App> app;
  bool used_basic = false;
};

}  // namespace

codec::Value UserClaims(const directory::User& user, std::string_view scope,
                        const std::vector<directory::Role>& roles) {
  codec::Value claims = codec::Value::Object(8);
  claims.Set("sub", user.userid);
  // The real-name level (issue 20): "1" self-registered .. "3" checked in person.
  claims.Set("acr", std::to_string(AuthLevelOf(user)));
  auto set = [&claims](std::string_view name, const std::string& value) {
    if (!value.empty()) claims.Set(name, value);
  };
  if (HasScope(scope, "profile")) {
    set("name", user.username);
    set("preferred_username", user.loginname);
    set("org", user.orgcoding);
  }
  if (HasScope(scope, "email")) set("email", user.email);
  if (HasScope(scope, "phone")) set("phone_number", user.mobile);
  if (HasScope(scope, "roles")) {
    codec::Value list = codec::Value::Array(roles.size());
    for (const directory::Role& r : roles) list.Push(r.rolecode);
    claims.Set("roles", std::move(list));
  }
  return claims;
}

struct OidcProvider::Impl {
  Impl(SsoContext& c, const crypto::KeyRing& k, BrowserSessions& s, BackChannel& b, OidcSettings o)
      : context(c),
        keys(k),
        sessions(s),
        back_channel(b),
        settings(o),
        grants(c.tickets, c.clock, c.random,
               OidcLifetimes{o.code_ttl, o.access_token_ttl, o.refresh_token_ttl}),
        session_store(c.tickets, c.clock, c.random, LifetimesOf(c.settings)) {
    signing_key = keys.Current(settings.id_token_alg);
    if (signing_key == nullptr) {
      throw std::invalid_argument("oidc: no signing key for " +
                                  std::string(crypto::SigningAlgorithmName(settings.id_token_alg)));
    }
  }

  SsoContext& context;
  const crypto::KeyRing& keys;
  BrowserSessions& sessions;
  BackChannel& back_channel;
  OidcSettings settings;
  OidcGrants grants;
  SessionStore session_store;  // only to ask whether a code's session still lives
  const crypto::SigningKey* signing_key = nullptr;
  std::shared_mutex discovery_mu;
  std::map<std::string, std::string, std::less<>> discovery_docs;  // issuer -> JSON

  std::string Base() const { return context.settings.context_path + "/oidc"; }
  std::string Issuer(const http::Request& request) const {
    return PublicBase(context.settings, request) + Base();
  }

  // OIDC Core 3.1.2.1 and RFC 9700 §4.1.3: a registered URI, exactly; the
  // prefix match only where the operator chose compatibility.
  bool RedirectUriAllowed(const directory::App& app, std::string_view uri) const {
    return settings.redirect_uri_prefix_match ? RedirectAllowed(app, uri)
                                              : RedirectUriRegistered(app, uri);
  }

  struct HintClaims {
    std::string sub;
    std::string aud;
  };

  // An ID token this provider signed, as id_token_hint (expired ones too:
  // OIDC Core 3.1.2.1). A logout token or one of another issuer is refused.
  Result<HintClaims> VerifyIdTokenHint(std::string_view hint, const http::Request& request) const {
    auto verified = crypto::VerifyJwt(hint, keys.keys());
    if (!verified.ok()) {
      return Error::InvalidArgument("id_token_hint is not a token of this issuer");
    }
    if (!verified->header.typ.empty() && verified->header.typ != "JWT") {
      return Error::InvalidArgument("id_token_hint is not an ID token");
    }
    auto claims = codec::ParseJson(verified->claims_json);
    if (!claims.ok() || !claims->IsObject() || !claims->FindString("aud") ||
        !claims->FindString("sub") || !claims->FindString("iss") ||
        *claims->FindString("iss") != Issuer(request) || claims->Find("events") != nullptr) {
      return Error::InvalidArgument("id_token_hint is not an ID token of this issuer");
    }
    return HintClaims{*claims->FindString("sub"), *claims->FindString("aud")};
  }

  // ---- discovery and keys ----

  void Discovery(const http::Request& request, http::Response& response) {
    response.SetJson(200, DiscoveryJson(Issuer(request)));
    response.AddHeader("Access-Control-Allow-Origin", "*");
  }

  // Rendering the document costs more than issuing a token, and it changes
  // only with the issuer: built once per issuer.
  std::string DiscoveryJson(const std::string& issuer) {
    {
      std::shared_lock lock(discovery_mu);
      if (auto it = discovery_docs.find(issuer); it != discovery_docs.end()) return it->second;
    }
    std::string json = BuildDiscovery(issuer);
    std::unique_lock lock(discovery_mu);
    if (discovery_docs.size() < kMaxCachedIssuers) discovery_docs.emplace(issuer, json);
    return json;
  }

  std::string BuildDiscovery(const std::string& issuer) const {
    codec::Value doc = codec::Value::Object(24);
    doc.Set("issuer", issuer)
        .Set("authorization_endpoint", issuer + "/authorize")
        .Set("token_endpoint", issuer + "/token")
        .Set("userinfo_endpoint", issuer + "/userinfo")
        .Set("jwks_uri", issuer + "/jwks")
        .Set("introspection_endpoint", issuer + "/introspect")
        .Set("revocation_endpoint", issuer + "/revoke")
        .Set("end_session_endpoint", issuer + "/logout");
    auto list = [](std::initializer_list<std::string_view> items) {
      codec::Value a = codec::Value::Array(items.size());
      for (std::string_view i : items) a.Push(i);
      return a;
    };
    codec::Value scopes = codec::Value::Array();
    for (std::string_view s : kKnownScopes) scopes.Push(s);
    doc.Set("scopes_supported", std::move(scopes))
        .Set("response_types_supported", list({"code"}))
        .Set("response_modes_supported", list({"query"}))
        .Set("grant_types_supported",
             list({"authorization_code", "refresh_token", "client_credentials"}))
        .Set("subject_types_supported", list({"public"}))
        .Set("id_token_signing_alg_values_supported",
             list({crypto::SigningAlgorithmName(settings.id_token_alg)}))
        .Set("token_endpoint_auth_methods_supported",
             list({"client_secret_basic", "client_secret_post"}))
        .Set("introspection_endpoint_auth_methods_supported",
             list({"client_secret_basic", "client_secret_post"}))
        .Set("revocation_endpoint_auth_methods_supported",
             list({"client_secret_basic", "client_secret_post"}))
        .Set("code_challenge_methods_supported", list({"S256", "plain"}))
        .Set("claims_supported",
             list({"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "name",
                   "preferred_username", "org", "email", "phone_number", "roles", "acr", "amr"}))
        .Set("prompt_values_supported", list({"none", "login"}))
        .Set("acr_values_supported", list({kAcrMfa}))
        .Set("claims_parameter_supported", false)
        .Set("request_parameter_supported", false)
        .Set("request_uri_parameter_supported", false)
        .Set("authorization_response_iss_parameter_supported", true)
        .Set("backchannel_logout_supported", true)
        .Set("backchannel_logout_session_supported", true)
        .Set("frontchannel_logout_supported", false);
    return codec::RenderJson(doc);
  }

  void Jwks(const http::Request&, http::Response& response) const {
    response.SetJson(200, keys.JwksJson());
    response.AddHeader("Access-Control-Allow-Origin", "*");
    response.AddHeader("Cache-Control", "public, max-age=300");
  }

  // ---- the authorization endpoint ----

  void RedirectWithError(http::Response& response, const http::Request& request,
                         const AuthorizeRequest& r, std::string_view error,
                         std::string_view description) const {
    std::string url = http::AppendQuery(r.redirect_uri, "error", error);
    if (!description.empty()) url = http::AppendQuery(url, "error_description", description);
    if (!r.state.empty()) url = http::AppendQuery(url, "state", r.state);
    url = http::AppendQuery(url, "iss", Issuer(request));
    response.Redirect(url, 302);
    NoStore(response);
  }

  // On a resumed request (the browser comes back from the login page),
  // `sent_to_login_ms` is when it was sent there and `forced` whether a new
  // login was demanded: a login at or after that moment was made for this
  // request and satisfies max_age (even 0) and prompt=login.
  void Authorize(const http::Request& request, http::Response& response, const AuthorizeRequest& r,
                 int64_t sent_to_login_ms, bool forced, bool resumed) {
    auto app = context.directory.CachedApp(r.client_id);
    if (r.client_id.empty() || !app.ok() || !(*app)->enabled || !(*app)->protocols.oidc) {
      SetHtmlPage(response, 400, "无法登录",
                  "未知的应用 (client_id)，或该应用未启用 OpenID Connect。");
      return;
    }
    // A repeated client_id or redirect_uri leaves no trustworthy place to
    // send an error to.
    if (r.repeated == "client_id" || r.repeated == "redirect_uri" || r.redirect_uri.empty() ||
        !RedirectUriAllowed(**app, r.redirect_uri)) {
      SetHtmlPage(
          response, 400, "无法登录",
          "redirect_uri 缺失、重复或不是该应用登记的回调地址，为防止开放重定向，登录已中止。");
      return;
    }
    if (!r.repeated.empty()) {
      return RedirectWithError(response, request, r, "invalid_request",
                               "parameter sent more than once: " + r.repeated);
    }
    for (const std::string* v : {&r.state, &r.nonce, &r.scope}) {
      if (v->size() > kMaxParamBytes) {
        return RedirectWithError(response, request, r, "invalid_request", "parameter too long");
      }
    }
    if (r.response_type.empty()) {
      return RedirectWithError(response, request, r, "invalid_request", "response_type is missing");
    }
    if (r.response_type != "code") {
      return RedirectWithError(response, request, r, "unsupported_response_type",
                               "only response_type=code is supported");
    }
    if (r.has_request) {
      return RedirectWithError(response, request, r, "request_not_supported",
                               "request objects are not supported");
    }
    if (r.has_request_uri) {
      return RedirectWithError(response, request, r, "request_uri_not_supported",
                               "request_uri is not supported");
    }
    if (r.has_registration) {
      return RedirectWithError(response, request, r, "registration_not_supported",
                               "the registration parameter is not supported");
    }
    if (HasScope(r.scope, "offline_access")) {
      return RedirectWithError(response, request, r, "invalid_scope",
                               "offline_access is not supported: refresh tokens end with the "
                               "SSO session");
    }
    if (!r.response_mode.empty() && r.response_mode != "query") {
      return RedirectWithError(response, request, r, "invalid_request",
                               "only response_mode=query is supported");
    }
    std::string method = r.code_challenge_method;
    if (r.code_challenge.empty()) {
      if (settings.require_pkce) {
        return RedirectWithError(response, request, r, "invalid_request",
                                 "code_challenge is required");
      }
      if (!method.empty()) {
        return RedirectWithError(response, request, r, "invalid_request",
                                 "code_challenge_method without code_challenge");
      }
    } else {
      if (method.empty()) method = "plain";
      if (method != "S256" && method != "plain") {
        return RedirectWithError(response, request, r, "invalid_request",
                                 "code_challenge_method must be S256 or plain");
      }
      if (!WellFormedPkceValue(r.code_challenge)) {
        return RedirectWithError(response, request, r, "invalid_request",
                                 "code_challenge must be 43..128 unreserved characters");
      }
    }
    const bool prompt_none = HasScope(r.prompt, "none");
    const bool prompt_login = HasScope(r.prompt, "login");
    if (prompt_none && r.prompt != "none") {
      return RedirectWithError(response, request, r, "invalid_request",
                               "prompt=none cannot be combined with other values");
    }
    // tongban shows no consent page (apps are registered by administrators)
    // and one browser holds one account: say so rather than ignore the ask.
    if (HasScope(r.prompt, "consent")) {
      return RedirectWithError(response, request, r, "consent_required",
                               "this provider does not ask for consent");
    }
    if (HasScope(r.prompt, "select_account")) {
      return RedirectWithError(response, request, r, "account_selection_required",
                               "this provider does not offer account selection");
    }
    if (!ScopeWithin(r.prompt, "none login")) {
      return RedirectWithError(response, request, r, "invalid_request", "unknown prompt value");
    }
    std::string hint_sub;
    if (!r.id_token_hint.empty()) {
      auto hint = VerifyIdTokenHint(r.id_token_hint, request);
      if (!hint.ok()) {
        return RedirectWithError(response, request, r, "invalid_request", hint.error().message);
      }
      if (hint->aud != r.client_id) {
        return RedirectWithError(response, request, r, "invalid_request",
                                 "id_token_hint was issued to another client");
      }
      hint_sub = std::move(hint->sub);
    }
    int64_t max_age_s = -1;
    if (!r.max_age.empty()) {
      auto [end, ec] =
          std::from_chars(r.max_age.data(), r.max_age.data() + r.max_age.size(), max_age_s);
      if (ec != std::errc() || end != r.max_age.data() + r.max_age.size() || max_age_s < 0) {
        return RedirectWithError(response, request, r, "invalid_request", "bad max_age");
      }
    }

    // Step-up: acr_values naming the two-factor level, or an app whose
    // policy requires a second factor, wants a session that has one.
    bool want_mfa = HasScope(r.acr_values, kAcrMfa);
    if (!want_mfa && context.second_factors != nullptr) {
      auto app_requires = context.second_factors->AppRequires(r.client_id);
      if (!app_requires.ok()) {
        return RedirectWithError(response, request, r, "temporarily_unavailable", "");
      }
      want_mfa = *app_requires;
    }

    const int64_t now = context.clock.NowMillis();
    std::optional<BrowserLogin> login = sessions.Current(request);
    bool fresh_enough;
    if (resumed && login && login->auth_time_ms >= sent_to_login_ms) {
      fresh_enough = true;
    } else {
      fresh_enough = login.has_value() && !(resumed && forced);
      // max_age=0 asks for a login made for this request (as Keycloak reads
      // it): an existing session never satisfies it, even one a clock tick old.
      if (fresh_enough && max_age_s >= 0 &&
          (max_age_s == 0 || now - login->auth_time_ms > max_age_s * 1000)) {
        fresh_enough = false;
      }
    }
    // OIDC Core 3.1.2.1: the hint names the user the client expects; another
    // user's session must not answer for them.
    const bool other_user = login && !hint_sub.empty() && login->userid != hint_sub;
    if (other_user && (prompt_none || resumed)) {
      return RedirectWithError(response, request, r, "login_required",
                               "the logged-in user is not the one id_token_hint names");
    }
    const bool lacks_factor = want_mfa && login && !login->HasSecondFactor();
    if (resumed && lacks_factor && context.second_factors != nullptr) {
      return RedirectWithError(response, request, r, "unmet_authentication_requirements",
                               "the login did not include a second factor");
    }
    const bool must_reauthenticate =
        !resumed && (prompt_login || other_user || (lacks_factor && context.second_factors));
    if (!fresh_enough || must_reauthenticate) {
      if (prompt_none) {
        return RedirectWithError(response, request, r, "login_required", "");
      }
      if (resumed) {
        return RedirectWithError(response, request, r, "login_required",
                                 "the login did not complete");
      }
      const bool force = login.has_value();
      codec::Value pending = codec::Value::Object(3);
      pending.Set("q", r.Encode()).Set("t", now).Set("f", force);
      std::string id = context.random.Hex(16);
      std::string key(kPendingPrefix);
      key.append(id);
      if (Status put = context.tickets.Put(key, codec::RenderJson(pending), kPendingTtl);
          !put.ok()) {
        return RedirectWithError(response, request, r, "temporarily_unavailable", "");
      }
      std::string back = http::AppendQuery(Issuer(request) + "/authorize/resume", "id", id);
      std::string login_url = sessions.LoginUrl(request, back, force);
      if (want_mfa && context.second_factors != nullptr) {
        login_url = http::AppendQuery(login_url, "mfa", "1");
      }
      response.Redirect(login_url, 302);
      NoStore(response);
      return;
    }

    auto user = context.directory.CachedUser(login->userid);
    if (!user.ok() || !(*user)->active()) {
      return RedirectWithError(response, request, r, "access_denied", "account not active");
    }
    if (std::string shortfall = AuthLevelShortfall(**user, **app); !shortfall.empty()) {
      return RedirectWithError(response, request, r, "access_denied", shortfall);
    }
    if (!(*app)->open_to_all) {
      auto roles = context.directory.UserRoles(login->userid, (*app)->servicecode);
      if (!roles.ok()) {
        return RedirectWithError(response, request, r, "temporarily_unavailable", "");
      }
      if (roles->empty()) {
        return RedirectWithError(response, request, r, "access_denied",
                                 "the user may not use this application");
      }
    }

    AuthorizationCode code;
    code.client_id = r.client_id;
    code.redirect_uri = r.redirect_uri;
    code.scope = FilterScope(r.scope, true);
    code.nonce = r.nonce;
    code.code_challenge = r.code_challenge;
    code.code_challenge_method = r.code_challenge.empty() ? "" : method;
    code.userid = login->userid;
    code.session_id = login->session_id;
    code.public_id = login->public_id;
    code.issuer = Issuer(request);
    code.auth_time_ms = login->auth_time_ms;
    code.factors = login->factors;
    auto issued = grants.IssueCode(code);
    if (!issued.ok()) {
      spdlog::error("oidc: code not stored: {}", issued.error().message);
      return RedirectWithError(response, request, r, "temporarily_unavailable", "");
    }
    std::string url = http::AppendQuery(r.redirect_uri, "code", *issued);
    if (!r.state.empty()) url = http::AppendQuery(url, "state", r.state);
    url = http::AppendQuery(url, "iss", code.issuer);
    response.Redirect(url, 302);
    NoStore(response);
  }

  void AuthorizeEntry(const http::Request& request, http::Response& response) {
    Authorize(request, response, AuthorizeRequest::From(request.params()), 0, false, false);
  }

  void Resume(const http::Request& request, http::Response& response) {
    std::string key(kPendingPrefix);
    key.append(request.ParamOr("id"));
    auto pending = context.tickets.Redeem(key);
    if (request.ParamOr("id").empty() || !pending.ok()) {
      SetHtmlPage(response, 400, "登录已过期", "这次登录请求已失效，请回到应用重新登录。");
      return;
    }
    auto v = codec::ParseJson(*pending);
    const std::string* query = v.ok() ? v->FindString("q") : nullptr;
    auto params = query ? http::ParseQuery(*query) : Result<http::Params>(Error::Internal("bad"));
    if (!params.ok()) {
      SetHtmlPage(response, 400, "登录已过期", "这次登录请求已失效，请回到应用重新登录。");
      return;
    }
    const codec::Value* forced = v->Find("f");
    const codec::Value* at = v->Find("t");
    if (at == nullptr || !at->IsInteger()) {
      SetHtmlPage(response, 400, "登录已过期", "这次登录请求已失效，请回到应用重新登录。");
      return;
    }
    Authorize(request, response, AuthorizeRequest::From(*params), at->AsInteger(),
              forced && forced->IsBool() && forced->AsBool(), true);
  }

  // ---- client authentication (token, introspection, revocation) ----

  // The authenticated client, or an error answer already written.
  std::optional<ClientAuth> AuthenticateClient(const http::Request& request,
                                               http::Response& response) const {
    auto basic = ParseBasicAuth(request);
    std::string_view post_id = request.ParamOr("client_id");
    std::string_view post_secret = request.ParamOr("client_secret");
    std::string id;
    std::string secret;
    if (basic) {
      if (!post_secret.empty() || (!post_id.empty() && post_id != basic->user)) {
        OAuthError(response, 400, "invalid_request", "use one client authentication method");
        return std::nullopt;
      }
      id = basic->user;
      secret = basic->password;
    } else {
      id = post_id;
      secret = post_secret;
    }
    auto app = id.empty() ? Result<std::shared_ptr<const directory::App>>(Error::NotFound(""))
                          : context.directory.CachedApp(id);
    if (!app.ok() || !(*app)->enabled || !(*app)->protocols.oidc || secret.empty() ||
        !crypto::ConstantTimeEquals(secret, (*app)->servicepwd)) {
      OAuthError(response, 401, "invalid_client", "client authentication failed");
      if (basic) response.AddHeader("WWW-Authenticate", "Basic realm=\"tongban\"");
      return std::nullopt;
    }
    return ClientAuth{std::move(*app), basic.has_value()};
  }

  // ---- the token endpoint ----

  Result<std::string> IdToken(const TokenGrant& grant, const directory::User& user,
                              std::string_view nonce) {
    const int64_t now = context.clock.NowMillis();
    std::vector<directory::Role> roles;
    if (HasScope(grant.scope, "roles")) {
      auto r = context.directory.UserRoles(user.userid, grant.client_id);
      if (!r.ok()) return std::move(r).error();
      roles = std::move(*r);
    }
    codec::Value claims = UserClaims(user, grant.scope, roles);
    claims.Set("iss", grant.issuer)
        .Set("aud", grant.client_id)
        .Set("iat", Seconds(now))
        .Set("exp", Seconds(now) + settings.id_token_ttl.count())
        .Set("auth_time", Seconds(grant.auth_time_ms));
    // How the user authenticated travels in amr (RFC 8176); acr stays the
    // real-name level UserClaims set, the same in the ID token and userinfo
    // (docs/design/second-factors.md "acr and amr").
    const bool otp = grant.factors.find(kFactorOtp) != std::string::npos;
    const bool sms = grant.factors.find(kFactorSms) != std::string::npos;
    codec::Value amr = codec::Value::Array();
    amr.Push(std::string(kFactorPassword));
    if (otp) amr.Push(std::string(kFactorOtp));
    if (sms) amr.Push(std::string(kFactorSms));
    if (otp || sms) amr.Push("mfa");
    claims.Set("amr", std::move(amr));
    if (!nonce.empty()) claims.Set("nonce", nonce);
    if (!grant.public_id.empty()) claims.Set("sid", grant.public_id);
    return crypto::SignJwt(*signing_key, codec::RenderJson(claims));
  }

  void TokenReply(http::Response& response, const IssuedTokens& tokens,
                  const std::string& id_token) {
    codec::Value body = codec::Value::Object(6);
    body.Set("access_token", tokens.access_token)
        .Set("token_type", "Bearer")
        .Set("expires_in", Seconds(tokens.access.expires_ms - tokens.access.issued_ms));
    if (!tokens.refresh_token.empty()) body.Set("refresh_token", tokens.refresh_token);
    if (!id_token.empty()) body.Set("id_token", id_token);
    // Always, so a client learns when it got less than it asked for (RFC
    // 6749 §5.1), even nothing at all.
    body.Set("scope", tokens.access.scope);
    response.SetJson(200, codec::RenderJson(body));
    NoStore(response);
  }

  void Token(const http::Request& request, http::Response& response) {
    if (std::string_view repeated = RepeatedParam(request.params()); !repeated.empty()) {
      std::string message("parameter sent more than once: ");
      message.append(repeated);
      return OAuthError(response, 400, "invalid_request", message);
    }
    auto client = AuthenticateClient(request, response);
    if (!client) return;
    const std::string& client_id = client->app->servicecode;
    std::string_view grant_type = request.ParamOr("grant_type");

    if (grant_type == "authorization_code") {
      auto code = grants.RedeemCode(request.ParamOr("code"));
      if (!code.ok()) {
        if (code.error().code != errc::kNotFound) return Unavailable(response, code.error());
        return OAuthError(response, 400, "invalid_grant", code.error().message);
      }
      if (code->client_id != client_id) {
        return OAuthError(response, 400, "invalid_grant", "the code was issued to another client");
      }
      if (request.ParamOr("redirect_uri") != code->redirect_uri) {
        return OAuthError(response, 400, "invalid_grant", "redirect_uri does not match");
      }
      std::string_view verifier = request.ParamOr("code_verifier");
      if (code->code_challenge.empty()
              ? !verifier.empty()
              : !VerifyPkce(code->code_challenge_method, code->code_challenge, verifier)) {
        return OAuthError(response, 400, "invalid_grant", "PKCE verification failed");
      }
      auto user = context.directory.CachedUser(code->userid);
      if (!user.ok() || !(*user)->active()) {
        return OAuthError(response, 400, "invalid_grant", "account not active");
      }
      auto may = MayUse(**user, *client->app);
      if (!may.ok()) return Unavailable(response, may.error());
      if (!*may) return OAuthError(response, 400, "invalid_grant", kMayNotUse);
      TokenGrant grant;
      grant.client_id = client_id;
      grant.userid = code->userid;
      grant.scope = code->scope;
      grant.session_id = code->session_id;
      grant.public_id = code->public_id;
      grant.issuer = code->issuer;
      grant.auth_time_ms = code->auth_time_ms;
      grant.factors = code->factors;
      auto tokens = grants.IssueTokens(grant, true, request.ParamOr("code"));
      if (!tokens.ok()) return Unavailable(response, tokens.error());
      // The tokens belong to the SSO session and end with it; a session that
      // ended while the code waited (a logout within the code's minute) has
      // revoked what it knew of, not these. Checked after issuing: a logout
      // from now on finds them in the session's set (End removes the session
      // before its listeners read the set).
      if (!grant.session_id.empty()) {
        auto session = session_store.Find(grant.session_id);
        if (!session.ok()) {
          Status family = grants.RevokeFamily(tokens->access.family);
          Status access = grants.RevokeAccessToken(tokens->access_token);
          if (!family.ok() || !access.ok()) {
            return Unavailable(response, family.ok() ? access.error() : family.error());
          }
          if (session.error().code != errc::kNotFound) {
            return Unavailable(response, session.error());
          }
          return OAuthError(response, 400, "invalid_grant",
                            "the login session of this code has ended");
        }
      }
      std::string id_token;
      if (HasScope(grant.scope, "openid")) {
        auto signed_token = IdToken(tokens->access, **user, code->nonce);
        if (!signed_token.ok()) return Unavailable(response, signed_token.error());
        id_token = std::move(*signed_token);
      }
      return TokenReply(response, *tokens, id_token);
    }

    if (grant_type == "refresh_token") {
      std::string_view scope = request.ParamOr("scope");
      auto tokens = grants.Refresh(request.ParamOr("refresh_token"), client_id, scope);
      if (!tokens.ok()) {
        switch (tokens.error().code) {
          case errc::kNotFound:
          case errc::kPermissionDenied:
            return OAuthError(response, 400, "invalid_grant", tokens.error().message);
          case errc::kInvalidArgument:
            return OAuthError(response, 400, "invalid_scope", tokens.error().message);
          default:
            return Unavailable(response, tokens.error());
        }
      }
      auto user = context.directory.CachedUser(tokens->access.userid);
      if (!user.ok() || !(*user)->active()) {
        if (Status revoked = grants.RevokeFamily(tokens->access.family); !revoked.ok()) {
          spdlog::error("oidc: family of an inactive user not revoked: {}",
                        revoked.error().message);
        }
        return OAuthError(response, 400, "invalid_grant", "account not active");
      }
      // What the authorization endpoint checked once holds for every
      // refresh: a user whose role in a closed app was withdrawn (or who no
      // longer meets its real-name level) gets no more tokens for it, and
      // the family is revoked as a lock revokes it.
      auto may = MayUse(**user, *client->app);
      if (!may.ok()) return Unavailable(response, may.error());
      if (!*may) {
        Status revoked = grants.RevokeFamily(tokens->access.family);
        if (!revoked.ok()) return Unavailable(response, revoked.error());
        return OAuthError(response, 400, "invalid_grant", kMayNotUse);
      }
      std::string id_token;
      if (HasScope(tokens->access.scope, "openid")) {
        auto signed_token = IdToken(tokens->access, **user, "");
        if (!signed_token.ok()) return Unavailable(response, signed_token.error());
        id_token = std::move(*signed_token);
      }
      return TokenReply(response, *tokens, id_token);
    }

    if (grant_type == "client_credentials") {
      TokenGrant grant;
      grant.client_id = client_id;
      grant.scope = FilterScope(request.ParamOr("scope"), false);
      grant.issuer = Issuer(request);
      grant.secret_tag = ClientSecretTag(client->app->servicepwd);
      auto tokens = grants.IssueTokens(grant, false);
      if (!tokens.ok()) return Unavailable(response, tokens.error());
      return TokenReply(response, *tokens, "");
    }

    OAuthError(response, 400, grant_type.empty() ? "invalid_request" : "unsupported_grant_type",
               "grant_type must be authorization_code, refresh_token or client_credentials");
  }

  // Whether `user` may still use `app` as the authorization endpoint decided
  // it: the app's real-name level, and a role in it unless it is open to all.
  Result<bool> MayUse(const directory::User& user, const directory::App& app) {
    if (!AuthLevelShortfall(user, app).empty()) return false;
    if (app.open_to_all) return true;
    auto roles = context.directory.UserRoles(user.userid, app.servicecode);
    if (!roles.ok()) return std::move(roles).error();
    return !roles->empty();
  }

  static void Unavailable(http::Response& response, const Error& error) {
    spdlog::error("oidc: {}", error.message);
    OAuthError(response, 503, "temporarily_unavailable", "");
  }

  // ---- userinfo ----

  void UserInfo(const http::Request& request, http::Response& response) {
    std::string_view token;
    if (auto header = request.Header("Authorization"); header) {
      if (header->size() > 7 &&
          (header->substr(0, 7) == "Bearer " || header->substr(0, 7) == "bearer ")) {
        token = header->substr(7);
      }
    } else if (request.method() == "POST") {
      token = request.ParamOr("access_token");
    }
    auto invalid = [&response](std::string_view error, int status) {
      codec::Value body = codec::Value::Object(1);
      body.Set("error", error);
      response.SetJson(status, codec::RenderJson(body));
      std::string challenge = "Bearer realm=\"tongban\", error=\"";
      challenge.append(error).append("\"");
      response.AddHeader("WWW-Authenticate", challenge);
      NoStore(response);
    };
    if (token.empty()) {
      response.SetJson(401, R"({"error":"invalid_request"})");
      response.AddHeader("WWW-Authenticate", "Bearer realm=\"tongban\"");
      NoStore(response);
      return;
    }
    auto grant = grants.CheckAccessToken(token);
    if (!grant.ok()) return invalid("invalid_token", 401);
    if (grant->userid.empty() || !HasScope(grant->scope, "openid")) {
      return invalid("insufficient_scope", 403);
    }
    auto client = context.directory.CachedApp(grant->client_id);
    if (!client.ok() || !(*client)->enabled || !(*client)->protocols.oidc) {
      return invalid("invalid_token", 401);
    }
    auto user = context.directory.CachedUser(grant->userid);
    if (!user.ok() || !(*user)->active()) return invalid("invalid_token", 401);
    std::vector<directory::Role> roles;
    if (HasScope(grant->scope, "roles")) {
      auto r = context.directory.UserRoles(grant->userid, grant->client_id);
      if (!r.ok()) return Unavailable(response, r.error());
      roles = std::move(*r);
    }
    response.SetJson(200, codec::RenderJson(UserClaims(**user, grant->scope, roles)));
    NoStore(response);
  }

  // ---- introspection and revocation ----

  struct FoundToken {
    TokenGrant grant;
    bool refresh = false;
  };

  std::optional<FoundToken> FindToken(std::string_view token, std::string_view hint) {
    if (token.empty()) return std::nullopt;
    bool refresh_first = hint == "refresh_token";
    for (int pass = 0; pass < 2; ++pass) {
      bool refresh = (pass == 0) == refresh_first;
      auto grant = refresh ? grants.CheckRefreshToken(token) : grants.CheckAccessToken(token);
      if (grant.ok()) return FoundToken{std::move(*grant), refresh};
    }
    return std::nullopt;
  }

  void Introspect(const http::Request& request, http::Response& response) {
    auto client = AuthenticateClient(request, response);
    if (!client) return;
    std::string_view token = request.ParamOr("token");
    // RFC 7662 §2.1: token is REQUIRED; its absence is a malformed request.
    if (token.empty()) return OAuthError(response, 400, "invalid_request", "token is missing");
    auto found = FindToken(token, request.ParamOr("token_type_hint"));
    // A client learns only about its own tokens; a locked, disabled or
    // deleted user's tokens are no longer active.
    std::shared_ptr<const directory::User> user;
    if (found && !found->grant.userid.empty()) {
      if (auto u = context.directory.CachedUser(found->grant.userid); u.ok() && (*u)->active()) {
        user = std::move(*u);
      } else {
        found.reset();
      }
    }
    // A client_credentials token ends with the secret it was obtained with.
    if (found && found->grant.userid.empty() &&
        found->grant.secret_tag != ClientSecretTag(client->app->servicepwd)) {
      found.reset();
    }
    if (!found || found->grant.client_id != client->app->servicecode) {
      response.SetJson(200, R"({"active":false})");
      NoStore(response);
      return;
    }
    const TokenGrant& g = found->grant;
    codec::Value body = codec::Value::Object(12);
    body.Set("active", true)
        .Set("scope", g.scope)
        .Set("client_id", g.client_id)
        .Set("token_type", found->refresh ? "refresh_token" : "Bearer")
        .Set("exp", Seconds(g.expires_ms))
        .Set("iat", Seconds(g.issued_ms))
        .Set("iss", g.issuer)
        .Set("aud", g.client_id);
    if (!g.userid.empty()) {
      body.Set("sub", g.userid).Set("username", user->loginname);
    } else {
      body.Set("sub", g.client_id);
    }
    response.SetJson(200, codec::RenderJson(body));
    NoStore(response);
  }

  void Revoke(const http::Request& request, http::Response& response) {
    auto client = AuthenticateClient(request, response);
    if (!client) return;
    std::string_view token = request.ParamOr("token");
    if (token.empty()) return OAuthError(response, 400, "invalid_request", "token is missing");
    auto found = FindToken(token, request.ParamOr("token_type_hint"));
    if (found) {
      if (found->grant.client_id != client->app->servicecode) {
        return OAuthError(response, 400, "unauthorized_client",
                          "the token was issued to another client");
      }
      Status revoked = found->refresh ? grants.RevokeFamily(found->grant.family)
                                      : grants.RevokeAccessToken(token);
      if (!revoked.ok()) return Unavailable(response, revoked.error());
    }
    // RFC 7009 §2.2: an unknown or already invalid token is not an error.
    response.set_status(200);
    response.set_content_type(http::kJsonType);
    response.set_body("{}");
    NoStore(response);
  }

  // ---- RP-initiated logout ----

  void EndSession(const http::Request& request, http::Response& response) {
    std::string_view hint = request.ParamOr("id_token_hint");
    std::string client_id(request.ParamOr("client_id"));
    std::string_view target = request.ParamOr("post_logout_redirect_uri");
    std::string_view state = request.ParamOr("state");
    std::string hint_sub;
    bool hint_valid = false;
    if (!hint.empty()) {
      // An expired hint is fine (RFC: the OP should accept it); a forged one is not.
      auto claims = VerifyIdTokenHint(hint, request);
      if (!claims.ok()) {
        SetHtmlPage(response, 400, "无法退出", "id_token_hint 无效。");
        return;
      }
      if (!client_id.empty() && client_id != claims->aud) {
        SetHtmlPage(response, 400, "无法退出", "client_id 与 id_token_hint 不一致。");
        return;
      }
      client_id = claims->aud;
      hint_sub = std::move(claims->sub);
      hint_valid = true;
    }
    std::string final_url;
    if (!target.empty()) {
      auto app = client_id.empty()
                     ? Result<std::shared_ptr<const directory::App>>(Error::NotFound(""))
                     : context.directory.CachedApp(client_id);
      if (!app.ok() || !(*app)->protocols.oidc || !RedirectUriAllowed(**app, target)) {
        SetHtmlPage(response, 400, "无法退出",
                    "post_logout_redirect_uri 不是该应用登记的地址，为防止开放重定向，已中止。");
        return;
      }
      final_url = std::string(target);
      if (!state.empty()) final_url = http::AppendQuery(final_url, "state", state);
    }

    std::optional<BrowserLogin> login = sessions.Current(request);
    if (!login) {
      if (final_url.empty()) return SetHtmlPage(response, 200, "已退出", "您已退出统一身份认证。");
      response.Redirect(final_url, 302);
      NoStore(response);
      return;
    }
    // Without a hint naming this user, ask: a cross-site page must not be able
    // to log the user out. The confirming POST carries the SameSite=Lax
    // session cookie only when it comes from this server's own page.
    bool confirmed = request.method() == "POST" && request.ParamOr("confirm") == "yes";
    if (!(hint_valid && hint_sub == login->userid) && !confirmed) {
      std::string form =
          "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
          "<title>退出登录</title></head><body><h1>退出登录</h1>"
          "<p>要退出统一身份认证吗？所有应用都将退出。</p><form method=\"post\">"
          "<input type=\"hidden\" name=\"confirm\" value=\"yes\">";
      for (auto [name, value] :
           {std::pair<std::string_view, std::string_view>{"client_id", client_id},
            {"post_logout_redirect_uri", target},
            {"state", state}}) {
        if (value.empty()) continue;
        form.append("<input type=\"hidden\" name=\"").append(name).append("\" value=\"");
        form.append(HtmlEscape(value)).append("\">");
      }
      form.append("<button type=\"submit\">退出</button></form></body></html>\n");
      response.set_status(200);
      response.set_content_type(http::kHtmlType);
      response.set_body(std::move(form));
      ProtectPage(response);
      return;
    }
    std::string id = context.random.Hex(16);
    std::string key(kLogoutPrefix);
    key.append(id);
    if (Status put = context.tickets.Put(key, final_url, kPendingTtl); !put.ok()) {
      return Unavailable(response, put.error());
    }
    std::string back = http::AppendQuery(Issuer(request) + "/logout/done", "id", id);
    response.Redirect(sessions.LogoutUrl(request, back), 302);
    NoStore(response);
  }

  void LogoutDone(const http::Request& request, http::Response& response) {
    std::string key(kLogoutPrefix);
    key.append(request.ParamOr("id"));
    auto target = request.ParamOr("id").empty() ? Result<std::string>(Error::NotFound(""))
                                                : context.tickets.Redeem(key);
    if (target.ok() && !target->empty()) {
      response.Redirect(*target, 302);
      NoStore(response);
      return;
    }
    SetHtmlPage(response, 200, "已退出", "您已退出统一身份认证。");
  }

  // ---- back-channel logout ----

  void SessionEnded(const SessionEnd& ended) {
    auto clients = grants.EndSession(ended.session_id);
    if (!clients.ok()) {
      spdlog::error("oidc: tokens of an ended session not revoked: {}", clients.error().message);
      return;
    }
    const int64_t now_s = Seconds(context.clock.NowMillis());
    for (const SessionClient& c : *clients) {
      auto app = context.directory.CachedApp(c.client_id);
      if (!app.ok() || !(*app)->enabled || !(*app)->protocols.oidc || (*app)->logout_url.empty()) {
        continue;
      }
      codec::Value events = codec::Value::Object(1);
      events.Set(kBackChannelEvent, codec::Value::Object());
      codec::Value claims = codec::Value::Object(8);
      claims.Set("iss", c.issuer)
          .Set("aud", c.client_id)
          .Set("iat", now_s)
          .Set("exp", now_s + 120)
          .Set("jti", context.random.Hex(16))
          .Set("sub", c.userid.empty() ? ended.userid : c.userid)
          .Set("sid", c.public_id.empty() ? ended.public_id : c.public_id)
          .Set("events", std::move(events));
      auto token = crypto::SignJwt(*signing_key, codec::RenderJson(claims), "logout+jwt");
      if (!token.ok()) {
        spdlog::error("oidc: logout token not signed: {}", token.error().message);
        continue;
      }
      back_channel.Post((*app)->logout_url, "application/x-www-form-urlencoded",
                        http::EncodeForm({{"logout_token", *token}}));
    }
  }
};

OidcProvider::OidcProvider(SsoContext& context, const crypto::KeyRing& keys,
                           BrowserSessions& sessions, BackChannel& back_channel,
                           OidcSettings settings)
    : impl_(std::make_unique<Impl>(context, keys, sessions, back_channel, settings)) {}

OidcProvider::~OidcProvider() = default;

std::string OidcProvider::Issuer(const http::Request& request) const {
  return impl_->Issuer(request);
}

void OidcProvider::OnSessionEnded(const SessionEnd& ended) { impl_->SessionEnded(ended); }

void OidcProvider::Register(http::Router& router) {
  Impl* impl = impl_.get();
  const std::string base = impl->Base();
  auto bind = [impl](void (Impl::*method)(const http::Request&, http::Response&)) {
    return [impl, method](const http::Request& request, http::Response& response) {
      (impl->*method)(request, response);
    };
  };
  // Only under the issuer: a document at the host root would have to name the
  // host itself as issuer (OIDC Discovery §4), which tongban's is not.
  router.Add("GET", base + "/.well-known/openid-configuration", bind(&Impl::Discovery));
  router.Add("GET", base + "/jwks", [impl](const http::Request& request, http::Response& response) {
    impl->Jwks(request, response);
  });
  // Everything but discovery and the keys reads or writes the ticket store
  // (sessions, codes, tokens): off the I/O thread when that is Redis.
  auto stored = [impl, &bind](void (Impl::*method)(const http::Request&, http::Response&)) {
    return OffIoWhenRemote(impl->context.tickets, bind(method));
  };
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, base + "/authorize", stored(&Impl::AuthorizeEntry));
    router.Add(method, base + "/userinfo", stored(&Impl::UserInfo));
    router.Add(method, base + "/logout", stored(&Impl::EndSession));
  }
  router.Add("GET", base + "/authorize/resume", stored(&Impl::Resume));
  router.Add("GET", base + "/logout/done", stored(&Impl::LogoutDone));
  router.Add("POST", base + "/token", stored(&Impl::Token));
  router.Add("POST", base + "/introspect", stored(&Impl::Introspect));
  router.Add("POST", base + "/revoke", stored(&Impl::Revoke));
}

}  // namespace tongban::sso
