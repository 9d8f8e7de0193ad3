// OrgAndUserApi: the users-and-orgs interface of the SSO specification
// (app -> SSO): synchronizeUser, deleteUser, getUserInfoById, ... on HTTP
// `/sso/servlet/organduser` and SOAP `/sso/service/OrgAndUserService`.
#pragma once

#include <memory>

#include "http/router.h"
#include "sso/context.h"

namespace tongban::sso {

class OrgAndUserApi {
 public:
  explicit OrgAndUserApi(SsoContext& context);
  ~OrgAndUserApi();
  // Mounts the HTTP servlet and the SOAP service under settings.context_path.
  void Register(http::Router& router);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::sso
