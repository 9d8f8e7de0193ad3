// OidcProvider: OpenID Connect 1.0 / OAuth 2.0 on the SSO sessions of the
// Zhejiang interfaces — discovery, JWKS, the authorization endpoint
// (authorization code with PKCE), the token endpoint (authorization_code,
// refresh_token with rotation, client_credentials), userinfo, introspection
// (RFC 7662), revocation (RFC 7009), RP-initiated logout and back-channel
// logout. Clients are apps with protocols.oidc; client_id = servicecode,
// client_secret = servicepwd. docs/api/oidc.md documents every endpoint.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "codec/value.h"
#include "crypto/keys.h"
#include "directory/model.h"
#include "http/router.h"
#include "sso/cas_oidc_support.h"
#include "sso/context.h"

namespace tongban::sso {

struct OidcSettings {
  // Signs ID tokens and logout tokens; the key ring must hold a current key
  // of this algorithm.
  crypto::SigningAlgorithm id_token_alg = crypto::SigningAlgorithm::kRs256;
  std::chrono::seconds id_token_ttl{3600};
  std::chrono::seconds code_ttl{60};
  std::chrono::seconds access_token_ttl{3600};
  std::chrono::seconds refresh_token_ttl{86400 * 7};
  // Refuse authorization requests without a code_challenge.
  bool require_pkce = false;
  // redirect_uri and post_logout_redirect_uri may lie anywhere under a
  // callback_urls prefix (the CAS rule) instead of equalling an entry. For
  // clients registered before exact matching; docs/integrate-oidc.md.
  bool redirect_uri_prefix_match = false;
};

class OidcProvider {
 public:
  // Throws std::invalid_argument when `keys` has no current key for
  // settings.id_token_alg (a start-up error). Everything given must outlive
  // the provider.
  OidcProvider(SsoContext& context, const crypto::KeyRing& keys, BrowserSessions& sessions,
               BackChannel& back_channel, OidcSettings settings = {});
  ~OidcProvider();

  // {ctx}/oidc/..., discovery at {ctx}/oidc/.well-known/openid-configuration.
  void Register(http::Router& router);

  // An SSO session ended: revoke every token issued in it and send each app
  // that received one a logout token at its logout_url.
  void OnSessionEnded(const SessionEnd& ended);

  // The issuer as a client reaching this request sees it: PublicBase + {ctx}/oidc.
  std::string Issuer(const http::Request& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The claims the directory gives a user under `scope` (space-separated):
// sub (userid) always; profile: name, preferred_username (loginname), org
// (orgcoding); email: email; phone: phone_number (mobile); roles: roles (the
// rolecodes of `roles`, what Directory::UserRoles returned for the client).
// Empty values are left out.
codec::Value UserClaims(const directory::User& user, std::string_view scope,
                        const std::vector<directory::Role>& roles);

}  // namespace tongban::sso
