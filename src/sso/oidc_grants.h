// The OAuth 2.0 / OpenID Connect grants, kept in the TicketStore only (no SQL
// on the token path): authorization codes (single use, PKCE-bound), access
// tokens, rotating refresh tokens with reuse detection, and the per-session
// index that logout uses to revoke tokens and find the apps to notify.
// Used by oidc_provider.cc. Thread-safe; any node sharing the store may
// redeem or check what another issued.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "store/ticket_store.h"

namespace tongban::sso {

// What an authorization code stands for, from the authorization request.
struct AuthorizationCode {
  std::string client_id;
  std::string redirect_uri;
  std::string scope;  // granted scopes, space-separated
  std::string nonce;
  std::string code_challenge;         // "" = no PKCE
  std::string code_challenge_method;  // "S256" or "plain"
  std::string userid;
  std::string session_id;  // the SSO session (secret)
  std::string public_id;   // its public name: the ID token's "sid"
  std::string issuer;      // as the client saw it at the authorization endpoint
  int64_t auth_time_ms = 0;
  std::string factors;  // of that authentication (Session::factors): amr and acr
};

// What an access or refresh token stands for.
struct TokenGrant {
  std::string client_id;
  std::string userid;  // "" for client_credentials
  std::string scope;
  std::string session_id;
  std::string public_id;
  std::string issuer;
  std::string family;  // refresh-token family (one per authorization); "" when none
  int64_t auth_time_ms = 0;
  std::string factors;  // of the authentication (Session::factors)
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  // client_credentials only: ClientSecretTag of the secret the client
  // authenticated with. Rotating the secret ends such tokens: where they are
  // checked, a tag unlike the current secret's is an unknown token.
  std::string secret_tag;
};

// A short digest naming one client secret (not the secret: 64 bits of its
// SHA-256), kept in the token records the secret obtained.
std::string ClientSecretTag(std::string_view servicepwd);

struct IssuedTokens {
  std::string access_token;
  std::string refresh_token;  // "" when none was issued
  TokenGrant access;          // the access token's grant (expires_ms: its expiry)
};

// An app a session's tokens went to: whom back-channel logout tells.
struct SessionClient {
  std::string client_id;
  std::string issuer;
  std::string public_id;
  std::string userid;
};

struct OidcLifetimes {
  std::chrono::seconds code{60};
  std::chrono::seconds access_token{3600};
  std::chrono::seconds refresh_token{86400 * 7};  // sliding: each rotation restarts it
};

class OidcGrants {
 public:
  OidcGrants(TicketStore& store, const Clock& clock, Random& random, OidcLifetimes lifetimes);

  const OidcLifetimes& lifetimes() const { return lifetimes_; }

  Result<std::string> IssueCode(const AuthorizationCode& code);
  // Returns the code's grant exactly once. Presenting a code again revokes
  // every token issued from it (RFC 6749 §4.1.2) and fails with kNotFound,
  // as does an unknown or expired code.
  Result<AuthorizationCode> RedeemCode(std::string_view code);

  // An access token for `grant` and, when `with_refresh`, a refresh token of
  // a new family. `code` (may be "") is remembered so its replay revokes them.
  Result<IssuedTokens> IssueTokens(TokenGrant grant, bool with_refresh, std::string_view code = {});
  // Rotation: the refresh token is used up and replaced by a new one of the
  // same family, with a new access token. `scope` narrows the new access
  // token ("" = unchanged); the new refresh token keeps the granted scope
  // (RFC 6749 §6). Errors: kNotFound (unknown, expired, revoked),
  // kPermissionDenied (another client's), kInvalidArgument (scope wider than
  // granted). Presenting a used refresh token again revokes its whole family.
  Result<IssuedTokens> Refresh(std::string_view refresh_token, std::string_view client_id,
                               std::string_view scope);

  // The live grant of an access token or refresh token (kNotFound otherwise).
  Result<TokenGrant> CheckAccessToken(std::string_view token);
  Result<TokenGrant> CheckRefreshToken(std::string_view token);

  Status RevokeAccessToken(std::string_view token);
  // Revokes the refresh token's family: the refresh token and every access
  // token issued with it.
  Status RevokeFamily(std::string_view family);

  // Revokes every token issued in the SSO session and returns the apps they
  // went to (one entry per app).
  Result<std::vector<SessionClient>> EndSession(std::string_view session_id);

 private:
  Status StoreAccess(const std::string& token, const TokenGrant& grant);
  Result<TokenGrant> LoadGrant(std::string_view key);
  Status IndexFamily(const TokenGrant& grant);

  TicketStore& store_;
  const Clock& clock_;
  Random& random_;
  OidcLifetimes lifetimes_;
};

// RFC 7636: `verifier` (43..128 unreserved characters) matches `challenge`
// under `method` ("S256": Base64url(SHA-256(verifier)); "plain": equal).
bool VerifyPkce(std::string_view method, std::string_view challenge, std::string_view verifier);
// A code_challenge or code_verifier: 43..128 of [A-Za-z0-9-._~].
bool WellFormedPkceValue(std::string_view value);

// True when every space-separated scope of `requested` is in `granted`.
bool ScopeWithin(std::string_view requested, std::string_view granted);
bool HasScope(std::string_view scopes, std::string_view scope);

}  // namespace tongban::sso
