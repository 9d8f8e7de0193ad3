#include "sso/oidc_grants.h"

#include <algorithm>
#include <set>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "sso/cas_oidc_support.h"

namespace tongban::sso {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kCodePrefix = "oidc:code:";
constexpr std::string_view kUsedCodePrefix = "oidc:code-used:";
constexpr std::string_view kAccessPrefix = "oidc:at:";
constexpr std::string_view kRefreshPrefix = "oidc:rt:";
constexpr std::string_view kUsedRefreshPrefix = "oidc:rt-used:";
constexpr std::string_view kFamilyPrefix = "oidc:family:";
constexpr std::string_view kSessionPrefix = "oidc:session:";
// How long a redeemed code or rotated refresh token is remembered, so that
// presenting it again is recognised as a replay rather than an unknown value.
constexpr milliseconds kUsedCodeMemory{600'000};

std::string Str(const codec::Value& v, std::string_view key) {
  const std::string* s = v.FindString(key);
  return s ? *s : std::string();
}

int64_t Int(const codec::Value& v, std::string_view key) {
  const codec::Value* f = v.Find(key);
  return f && f->IsInteger() ? f->AsInteger() : 0;
}

std::string EncodeCode(const AuthorizationCode& c) {
  codec::Value v = codec::Value::Object(12);
  v.Set("c", c.client_id)
      .Set("r", c.redirect_uri)
      .Set("s", c.scope)
      .Set("n", c.nonce)
      .Set("cc", c.code_challenge)
      .Set("cm", c.code_challenge_method)
      .Set("u", c.userid)
      .Set("sid", c.session_id)
      .Set("pid", c.public_id)
      .Set("iss", c.issuer)
      .Set("at", c.auth_time_ms)
      .Set("am", c.factors);
  return codec::RenderJson(v);
}

Result<AuthorizationCode> DecodeCode(std::string_view json) {
  auto v = codec::ParseJson(json);
  if (!v.ok() || !v->IsObject()) return Error::Internal("corrupt authorization code record");
  AuthorizationCode c;
  c.client_id = Str(*v, "c");
  c.redirect_uri = Str(*v, "r");
  c.scope = Str(*v, "s");
  c.nonce = Str(*v, "n");
  c.code_challenge = Str(*v, "cc");
  c.code_challenge_method = Str(*v, "cm");
  c.userid = Str(*v, "u");
  c.session_id = Str(*v, "sid");
  c.public_id = Str(*v, "pid");
  c.issuer = Str(*v, "iss");
  c.auth_time_ms = Int(*v, "at");
  c.factors = Str(*v, "am");
  return c;
}

std::string EncodeGrant(const TokenGrant& g) {
  codec::Value v = codec::Value::Object(10);
  v.Set("c", g.client_id)
      .Set("u", g.userid)
      .Set("s", g.scope)
      .Set("sid", g.session_id)
      .Set("pid", g.public_id)
      .Set("iss", g.issuer)
      .Set("f", g.family)
      .Set("at", g.auth_time_ms)
      .Set("am", g.factors)
      .Set("iat", g.issued_ms)
      .Set("exp", g.expires_ms);
  if (!g.secret_tag.empty()) v.Set("st", g.secret_tag);
  return codec::RenderJson(v);
}

Result<TokenGrant> DecodeGrant(std::string_view json) {
  auto v = codec::ParseJson(json);
  if (!v.ok() || !v->IsObject()) return Error::Internal("corrupt token record");
  TokenGrant g;
  g.client_id = Str(*v, "c");
  g.userid = Str(*v, "u");
  g.scope = Str(*v, "s");
  g.session_id = Str(*v, "sid");
  g.public_id = Str(*v, "pid");
  g.issuer = Str(*v, "iss");
  g.family = Str(*v, "f");
  g.auth_time_ms = Int(*v, "at");
  g.factors = Str(*v, "am");
  g.issued_ms = Int(*v, "iat");
  g.expires_ms = Int(*v, "exp");
  g.secret_tag = Str(*v, "st");
  return g;
}

}  // namespace

std::string ClientSecretTag(std::string_view servicepwd) {
  return crypto::Sha256Hex(std::string("tongban client secret tag v1\n").append(servicepwd))
      .substr(0, 16);
}

namespace {

std::string FamilyKey(std::string_view family) {
  std::string key(kFamilyPrefix);
  key.append(family);
  return key;
}

bool IsNotFound(const Error& e) { return e.code == errc::kNotFound; }

}  // namespace

OidcGrants::OidcGrants(TicketStore& store, const Clock& clock, Random& random,
                       OidcLifetimes lifetimes)
    : store_(store), clock_(clock), random_(random), lifetimes_(lifetimes) {}

Result<std::string> OidcGrants::IssueCode(const AuthorizationCode& code) {
  std::string value = "OC-" + random_.Hex(20);
  TB_RETURN_IF_ERROR(store_.Put(SecretKey(kCodePrefix, value), EncodeCode(code),
                                std::chrono::duration_cast<milliseconds>(lifetimes_.code)));
  return value;
}

Result<AuthorizationCode> OidcGrants::RedeemCode(std::string_view code) {
  auto record = store_.Redeem(SecretKey(kCodePrefix, code));
  if (record.ok()) return DecodeCode(*record);
  if (!IsNotFound(record.error())) return std::move(record).error();
  auto used = store_.Get(SecretKey(kUsedCodePrefix, code));
  if (used.ok()) {
    auto v = codec::ParseJson(*used);
    if (v.ok()) {
      std::string family = Str(*v, "f");
      std::string access = Str(*v, "a");
      if (!family.empty()) TB_RETURN_IF_ERROR(RevokeFamily(family));
      if (!access.empty()) TB_RETURN_IF_ERROR(store_.Erase(access));
    }
    return Error::NotFound("authorization code already used; the tokens issued for it are revoked");
  }
  return Error::NotFound("unknown or expired authorization code");
}

Status OidcGrants::StoreAccess(const std::string& token, const TokenGrant& grant) {
  return store_.Put(SecretKey(kAccessPrefix, token), EncodeGrant(grant),
                    std::chrono::duration_cast<milliseconds>(lifetimes_.access_token));
}

Status OidcGrants::IndexFamily(const TokenGrant& grant) {
  if (grant.session_id.empty()) return Status::Ok();
  codec::Value member = codec::Value::Object(6);
  member.Set("c", grant.client_id)
      .Set("f", grant.family)
      .Set("i", grant.issuer)
      .Set("p", grant.public_id)
      .Set("u", grant.userid);
  return store_.AddToSet(SecretKey(kSessionPrefix, grant.session_id), codec::RenderJson(member),
                         std::chrono::duration_cast<milliseconds>(lifetimes_.refresh_token));
}

Result<IssuedTokens> OidcGrants::IssueTokens(TokenGrant grant, bool with_refresh,
                                             std::string_view code) {
  const int64_t now = clock_.NowMillis();
  const auto refresh_ttl = std::chrono::duration_cast<milliseconds>(lifetimes_.refresh_token);
  IssuedTokens out;
  grant.family = with_refresh ? random_.Hex(16) : std::string();
  grant.issued_ms = now;
  if (with_refresh) {
    out.refresh_token = "RT-" + random_.Hex(24);
    TB_RETURN_IF_ERROR(store_.Put(FamilyKey(grant.family), grant.client_id, refresh_ttl));
    TokenGrant refresh = grant;
    refresh.expires_ms = now + refresh_ttl.count();
    TB_RETURN_IF_ERROR(store_.Put(SecretKey(kRefreshPrefix, out.refresh_token),
                                  EncodeGrant(refresh), refresh_ttl));
  }
  out.access_token = "AT-" + random_.Hex(24);
  grant.expires_ms =
      now + std::chrono::duration_cast<milliseconds>(lifetimes_.access_token).count();
  TB_RETURN_IF_ERROR(StoreAccess(out.access_token, grant));
  out.access = grant;
  // Tokens without a family are revoked one by one at logout; index them too.
  if (!grant.session_id.empty()) {
    codec::Value member = codec::Value::Object(6);
    member.Set("c", grant.client_id)
        .Set("f", grant.family)
        .Set("a", SecretKey(kAccessPrefix, out.access_token))
        .Set("i", grant.issuer)
        .Set("p", grant.public_id)
        .Set("u", grant.userid);
    TB_RETURN_IF_ERROR(store_.AddToSet(SecretKey(kSessionPrefix, grant.session_id),
                                       codec::RenderJson(member), refresh_ttl));
  }
  if (!code.empty()) {
    codec::Value used = codec::Value::Object(2);
    used.Set("f", grant.family).Set("a", SecretKey(kAccessPrefix, out.access_token));
    TB_RETURN_IF_ERROR(
        store_.Put(SecretKey(kUsedCodePrefix, code), codec::RenderJson(used), kUsedCodeMemory));
  }
  return out;
}

Result<IssuedTokens> OidcGrants::Refresh(std::string_view refresh_token, std::string_view client_id,
                                         std::string_view scope) {
  const std::string key = SecretKey(kRefreshPrefix, refresh_token);
  const std::string used_key = SecretKey(kUsedRefreshPrefix, refresh_token);
  auto peek = store_.Get(key);
  if (peek.ok()) {
    auto g = DecodeGrant(*peek);
    if (!g.ok()) return std::move(g).error();
    if (g->client_id != client_id) {
      return Error::PermissionDenied("the refresh token was issued to another client");
    }
  }
  auto record = store_.Redeem(key);
  if (!record.ok()) {
    if (!IsNotFound(record.error())) return std::move(record).error();
    auto family = store_.Get(used_key);
    if (family.ok()) {
      TB_RETURN_IF_ERROR(RevokeFamily(*family));
      return Error::NotFound("refresh token already used; its whole family is revoked");
    }
    return Error::NotFound("unknown, expired or revoked refresh token");
  }
  auto grant = DecodeGrant(*record);
  if (!grant.ok()) return std::move(grant).error();
  if (grant->client_id != client_id) {
    return Error::PermissionDenied("the refresh token was issued to another client");
  }
  const auto refresh_ttl = std::chrono::duration_cast<milliseconds>(lifetimes_.refresh_token);
  TB_RETURN_IF_ERROR(store_.Put(used_key, grant->family, refresh_ttl));
  if (!store_.Get(FamilyKey(grant->family)).ok()) {
    return Error::NotFound("the refresh token was revoked");
  }
  // RFC 6749 §6: a narrower scope is for this access token only; the refresh
  // token keeps what the user granted, so a later refresh may ask for it again.
  std::string access_scope = grant->scope;
  if (!scope.empty()) {
    if (!ScopeWithin(scope, grant->scope)) {
      return Error::InvalidArgument("the requested scope exceeds the granted scope");
    }
    access_scope = std::string(scope);
  }

  const int64_t now = clock_.NowMillis();
  IssuedTokens out;
  TB_RETURN_IF_ERROR(store_.Touch(FamilyKey(grant->family), refresh_ttl));
  out.refresh_token = "RT-" + random_.Hex(24);
  TokenGrant refresh = *grant;
  refresh.issued_ms = now;
  refresh.expires_ms = now + refresh_ttl.count();
  TB_RETURN_IF_ERROR(
      store_.Put(SecretKey(kRefreshPrefix, out.refresh_token), EncodeGrant(refresh), refresh_ttl));
  out.access_token = "AT-" + random_.Hex(24);
  TokenGrant access = *grant;
  access.scope = std::move(access_scope);
  access.issued_ms = now;
  access.expires_ms =
      now + std::chrono::duration_cast<milliseconds>(lifetimes_.access_token).count();
  TB_RETURN_IF_ERROR(StoreAccess(out.access_token, access));
  TB_RETURN_IF_ERROR(IndexFamily(access));
  out.access = access;
  return out;
}

Result<TokenGrant> OidcGrants::LoadGrant(std::string_view key) {
  auto record = store_.Get(key);
  if (!record.ok()) return std::move(record).error();
  auto grant = DecodeGrant(*record);
  if (!grant.ok()) return grant;
  if (!grant->family.empty() && !store_.Get(FamilyKey(grant->family)).ok()) {
    return Error::NotFound("token revoked");
  }
  if (grant->expires_ms <= clock_.NowMillis()) return Error::NotFound("token expired");
  return grant;
}

Result<TokenGrant> OidcGrants::CheckAccessToken(std::string_view token) {
  return LoadGrant(SecretKey(kAccessPrefix, token));
}

Result<TokenGrant> OidcGrants::CheckRefreshToken(std::string_view token) {
  return LoadGrant(SecretKey(kRefreshPrefix, token));
}

Status OidcGrants::RevokeAccessToken(std::string_view token) {
  return store_.Erase(SecretKey(kAccessPrefix, token));
}

Status OidcGrants::RevokeFamily(std::string_view family) {
  if (family.empty()) return Status::Ok();
  return store_.Erase(FamilyKey(family));
}

Result<std::vector<SessionClient>> OidcGrants::EndSession(std::string_view session_id) {
  const std::string set_key = SecretKey(kSessionPrefix, session_id);
  auto members = store_.Members(set_key);
  if (!members.ok()) return std::move(members).error();
  std::vector<SessionClient> clients;
  std::set<std::string> seen;
  for (const std::string& m : *members) {
    auto v = codec::ParseJson(m);
    if (!v.ok()) continue;
    TB_RETURN_IF_ERROR(RevokeFamily(Str(*v, "f")));
    std::string access = Str(*v, "a");
    if (!access.empty()) TB_RETURN_IF_ERROR(store_.Erase(access));
    std::string client = Str(*v, "c");
    if (seen.insert(client).second) {
      clients.push_back({client, Str(*v, "i"), Str(*v, "p"), Str(*v, "u")});
    }
  }
  TB_RETURN_IF_ERROR(store_.EraseSet(set_key));
  return clients;
}

bool WellFormedPkceValue(std::string_view value) {
  if (value.size() < 43 || value.size() > 128) return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
}

bool VerifyPkce(std::string_view method, std::string_view challenge, std::string_view verifier) {
  if (!WellFormedPkceValue(verifier)) return false;
  if (method == "S256") {
    return crypto::ConstantTimeEquals(crypto::Base64UrlEncode(crypto::Sha256(verifier)), challenge);
  }
  if (method == "plain") return crypto::ConstantTimeEquals(verifier, challenge);
  return false;
}

bool HasScope(std::string_view scopes, std::string_view scope) {
  size_t pos = 0;
  while (pos <= scopes.size()) {
    size_t end = scopes.find(' ', pos);
    if (end == std::string_view::npos) end = scopes.size();
    if (scopes.substr(pos, end - pos) == scope) return true;
    pos = end + 1;
  }
  return false;
}

bool ScopeWithin(std::string_view requested, std::string_view granted) {
  size_t pos = 0;
  while (pos < requested.size()) {
    size_t end = requested.find(' ', pos);
    if (end == std::string_view::npos) end = requested.size();
    std::string_view s = requested.substr(pos, end - pos);
    if (!s.empty() && !HasScope(granted, s)) return false;
    pos = end + 1;
  }
  return true;
}

}  // namespace tongban::sso
