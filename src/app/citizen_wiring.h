// Citizen and company self-service accounts on a node ([citizen] in the
// config, issue 20): the SMS channel and its sender, the one-time codes, the
// identity verifier and CitizenAccounts, built from the node's stores. Routes
// owns one when [citizen] enabled and hands it to the SSO context; the admin
// CLI builds one without SMS for counter checks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/node.h"
#include "core/result.h"
#include "sso/audit.h"
#include "sso/citizen.h"
#include "sso/one_time_codes.h"
#include "sso/sms_channel.h"
#include "sso/throttle.h"

namespace tongban::app {

class CitizenWiring {
 public:
  static std::vector<Migration> Migrations();
  // Everything, for `serve`. Start-up errors (a sandbox channel in a
  // production config, an unknown verifier, a missing key) are returned.
  // Creates the configured orgs when missing.
  static Result<std::unique_ptr<CitizenWiring>> Open(Node& node,
                                                     std::shared_ptr<sso::AuditHealth> health);
  // Levels and lists only (no SMS): the admin CLI.
  static Result<std::unique_ptr<CitizenWiring>> OpenForAdmin(Node& node);
  ~CitizenWiring();

  sso::CitizenAccounts& accounts() { return *accounts_; }

 private:
  CitizenWiring(Node& node, std::shared_ptr<sso::AuditHealth> health);
  Status EnsureOrgs();

  Node& node_;
  sso::Audit audit_;
  std::unique_ptr<sso::CountingSmsChannel> channel_;
  std::unique_ptr<sso::AsyncSmsSender> sender_;
  std::unique_ptr<sso::LoginThrottle> failures_;
  std::unique_ptr<sso::OneTimeCodes> codes_;
  std::unique_ptr<sso::IdentityVerifier> verifier_;
  std::unique_ptr<sso::CitizenAccounts> accounts_;
};

}  // namespace tongban::app
