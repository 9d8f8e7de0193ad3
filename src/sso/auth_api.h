// SsoAuth: single sign-on itself — the browser login flow (usp.do), SSO
// sessions, tickets and tokens, the easyAuth (`/sso/servlet/simpleauth`,
// SOAP SimpleAuthService) and commnetAuth (`/sso/servlet/ssoauth`, SOAP
// SsoAuthService) interfaces, js.do and unified logout.
#pragma once

#include <memory>

#include "http/router.h"
#include "sso/context.h"

namespace tongban::sso {

class SsoAuth {
 public:
  explicit SsoAuth(SsoContext& context);
  ~SsoAuth();
  void Register(http::Router& router);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::sso
