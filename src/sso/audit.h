// Audit: the security log of sign-on — logins, failed logins, lockouts,
// logouts, password and profile changes. Each event goes to the spdlog
// logger "audit" and, when a SqlStore is given, to the small table
// `sso_audit` so the console can query it. Used by sso/ (and available to
// admin tools for their own actions). Never records passwords, tickets or
// tokens.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::sso {

struct AuditEvent {
  std::string event;  // "login", "login_failed", "lockout", "logout", "password_changed", ...
  std::string userid;
  std::string loginname;
  std::string servicecode;  // the app concerned; "" = the login page itself
  std::string ip;
  std::string detail;  // a code and a short reason; never a secret
  int64_t at_ms = 0;   // set by Record
};

// Which events Audit::Query returns; empty fields do not filter.
struct AuditFilter {
  std::string event_prefix;  // "login" matches login, login_failed, login_refused
  std::string user;          // a userid or a loginname
  int64_t since_ms = 0;      // inclusive
  int64_t until_ms = 0;      // exclusive; 0 = now
};

struct AuditPage {
  int64_t total = 0;
  std::vector<AuditEvent> items;  // newest first
};

// Migrations of module "sso_audit", for SqlStore::Migrate.
std::vector<Migration> AuditMigrations();

class Audit {
 public:
  // `sql` may be null: events then go to the log only.
  Audit(SqlStore* sql, const Clock& clock) : sql_(sql), clock_(clock) {}

  // Logs the event and stores it. A database failure is logged, not
  // returned: auditing must never block a login.
  void Record(std::string_view event, std::string_view userid, std::string_view loginname,
              std::string_view servicecode, std::string_view ip, std::string_view detail);

  // The newest events first, for the console and tests.
  Result<std::vector<AuditEvent>> Recent(size_t limit);
  // The matching events, newest first, `limit` of them after `offset`.
  Result<AuditPage> Query(const AuditFilter& filter, size_t limit, size_t offset);
  // How many of the events named `event` happened in each of the `minutes`
  // whole minutes up to now, oldest first (the console's charts).
  Result<std::vector<int64_t>> PerMinute(std::string_view event, int minutes);

 private:
  SqlStore* sql_;
  const Clock& clock_;
};

}  // namespace tongban::sso
