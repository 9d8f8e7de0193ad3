// SsoContext: what every SSO endpoint needs — the directory, the ticket
// store, the outbox, time, randomness and the SSO settings. Built once by
// src/app and passed by reference to each interface's Register function.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "directory/directory.h"
#include "sso/activity.h"
#include "sso/audit.h"
#include "sso/sessions.h"
#include "sso/signed_api.h"
#include "store/outbox.h"
#include "store/sql_store.h"
#include "store/ticket_store.h"

namespace tongban::http {
class OutboundPolicy;
}  // namespace tongban::http

namespace tongban::sso {

class CitizenAccounts;

struct SsoSettings {
  std::string context_path = "/sso";
  // External base URL without trailing slash. src/app always sets it
  // (Config::PublicUrl: public_url, else the bind address and port); "" =
  // from the Host header, for tests only: a client chooses that header.
  std::string public_url;
  // Path of the SSO session cookie. "" = context_path. The server sets "/"
  // when the platform's own web apps outside the context path (the approval
  // workbench at /approval/, the hall at /hall/) share the SSO session.
  std::string cookie_path;
  // Further path prefixes on public_url that are the platform's own pages, so
  // always an acceptable login `goto` (e.g. "/approval/", "/hall/").
  std::vector<std::string> own_paths;
  std::chrono::seconds sign_window{300};
  bool replay_protection = true;
  // sso.passwords_over_get: idValidation may carry its password in a GET URL.
  bool passwords_over_get = false;
  // How signed calls' and pushes' `time` is read and written (China Standard
  // Time unless configured otherwise).
  SpecTimeZone sign_time_zone;
  std::chrono::seconds ticket_ttl{60};
  std::chrono::seconds authcode_ttl{60};
  std::chrono::seconds access_token_ttl{7200};
  std::chrono::seconds refresh_token_ttl{86400 * 7};
  std::chrono::seconds session_ttl{8 * 3600};
  // Extra PEM CA bundle for outbound https calls to apps; "" = system store.
  std::string outbound_ca_file;
  // Addresses those calls may reach (none = any: unit tests).
  std::shared_ptr<const http::OutboundPolicy> outbound_policy;
  // Login throttling (see throttle.h and docs/security.md): failures per
  // account and source, per client IP and per app before a lockout, the
  // window they are counted in, the lockout length, and the per-account
  // progressive delay for unfamiliar sources (max 0 = none).
  int login_account_failures = 5;
  int login_ip_failures = 20;
  int login_app_failures = 30;
  std::chrono::seconds login_failure_window{900};
  std::chrono::seconds login_lockout{900};
  int login_delay_after = 10;
  std::chrono::seconds login_max_delay{300};
  // audit.required: a login whose audit row cannot be stored is refused.
  bool audit_required = false;
};

// The lifetimes SessionStore hands out, as configured.
inline SessionLifetimes LifetimesOf(const SsoSettings& s) {
  SessionLifetimes l;
  l.session = s.session_ttl;
  l.ticket = s.ticket_ttl;
  l.authcode = s.authcode_ttl;
  l.access_token = s.access_token_ttl;
  l.refresh_token = s.refresh_token_ttl;
  return l;
}

// An SSO session that unified logout ended (sso/logout.cc), as the protocols
// with their own logout messages hear of it: CAS single logout and OIDC
// back-channel logout (added with issue 5, see cas_oidc_support.h).
struct SessionEnd {
  std::string session_id;
  std::string public_id;  // "" when the session had already expired
  std::string userid;
};

class SecondFactors;

struct SsoContext {
  directory::Directory& directory;
  TicketStore& tickets;
  Outbox& outbox;
  Clock& clock;
  Random& random;
  SsoSettings settings;
  // For writes that must share a transaction with the outbox (logout
  // notices) and for the audit table; null = log-only audit, no notices.
  SqlStore* sql = nullptr;
  // Called, in order, after unified logout has ended a session and revoked
  // its grants. Filled by src/app before the server starts; read-only after.
  // Listeners must not block: they queue their notices.
  std::vector<std::function<void(const SessionEnd&)>> on_session_end = {};
  // Per-minute validation counts for the console's dashboard; null = not counted.
  Activity* activity = nullptr;
  // Every Audit built on this context reports to it; /healthz reads it.
  // Null = not tracked (tests).
  std::shared_ptr<AuditHealth> audit_health = nullptr;
  // TOTP and the second-factor policy (sso/second_factors.h); null = no
  // second factors (unit tests of other parts).
  SecondFactors* second_factors = nullptr;
  // Self-service registration, recovery and real-name levels (citizen.h);
  // null when [citizen] is off. Set by src/app before the server starts.
  CitizenAccounts* citizen = nullptr;
};

}  // namespace tongban::sso
