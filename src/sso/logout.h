// UnifiedLogout: ends one SSO session everywhere — the session itself, every
// ticket and token it issued to any app — and tells each app that received
// one (and has a logout_url) through the outbox, which retries until the app
// acknowledges. Used by usp.do?action=logout, the easyAuth and commnetAuth
// `logout` methods, a login that replaces an earlier session, and (EndUser)
// locking, disabling or deleting a user from the console, the admin CLI or
// the organduser API.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sso/audit.h"
#include "sso/context.h"
#include "sso/sessions.h"

namespace tongban::sso {

struct LogoutRequest {
  std::string session_id;
  std::string userid;     // whose session it is (known even when it expired)
  std::string initiator;  // servicecode of the app that asked; it gets no notice
  std::string ip;         // the browser's, for the audit; "" for app calls
  std::string reason;     // "user", "app", "relogin": for the audit
};

struct LogoutOutcome {
  std::vector<std::string> apps;  // every app that had received a grant in the session
  size_t notices = 0;             // logout messages enqueued
};

class UnifiedLogout {
 public:
  UnifiedLogout(SsoContext& context, SessionStore& sessions, Audit& audit)
      : context_(context), sessions_(sessions), audit_(audit) {}

  // The session and its grants are gone when this returns OK; the notices
  // are committed to the outbox (JSON payload: userid, loginname, sessionid
  // (the session's public id), and the `token` and `accesstoken` values the
  // app held, each ';'-separated).
  Result<LogoutOutcome> Run(const LogoutRequest& request);

  // Ends every session of the user (browser and API) and revokes every grant
  // they issued, as Run does for one, with the apps told the same way; one
  // audit row ("user_sessions_ended") for all. The sessions live in the
  // TicketStore, so with Redis this takes effect on every node at once.
  // `reason`: "locked", "disabled", "deleted". Returns how many sessions
  // were still live. `audit_when_none` false: a user with no sessions listed
  // leaves no audit row (the change follower, which sees a change many times).
  // `keep_session`: one session left as it is (a password change ends the
  // user's other sessions, not the one it was made in); "" for none.
  Result<size_t> EndUser(std::string_view userid, std::string_view reason,
                         std::string_view initiator = {}, bool audit_when_none = true,
                         std::string_view keep_session = {});

 private:
  // Tells CAS, OIDC and the apps that had grants in `ended`; returns the
  // apps and the notices committed.
  LogoutOutcome Notify(const LogoutRequest& request, const EndedSession& ended);

  SsoContext& context_;
  SessionStore& sessions_;
  Audit& audit_;
};

}  // namespace tongban::sso
