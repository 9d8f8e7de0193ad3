// Audit: the security log of sign-on — logins, failed logins, lockouts,
// logouts, password and profile changes. Each event goes to the spdlog
// logger "audit" and, when a SqlStore is given, to the small table
// `sso_audit` so the console can query it. Used by sso/ (and available to
// admin tools for their own actions). Never records passwords, tickets or
// tokens.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

// Whether audit rows are being stored, shared by every Audit of a node and
// read by /healthz: a full disk must not pass unnoticed while logins go on.
class AuditHealth {
 public:
  void Stored();
  void Failed(std::string_view message);
  // The last failure's message while the latest write failed; "" once a
  // write succeeds again (or none ever failed).
  std::string Failure() const;
  // Rows lost since the start.
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> failing_{false};
  std::atomic<uint64_t> lost_{0};
  mutable std::mutex mu_;
  std::string message_;
};

// Migrations of module "sso_audit", for SqlStore::Migrate.
std::vector<Migration> AuditMigrations();

class Audit {
 public:
  // `sql` may be null: events then go to the log only. `health`, when
  // given, hears of every stored or lost row. `required`: RecordRequired
  // fails when the row is lost (the audit.required setting).
  Audit(SqlStore* sql, const Clock& clock, std::shared_ptr<AuditHealth> health = nullptr,
        bool required = false)
      : sql_(sql), clock_(clock), health_(std::move(health)), required_(required) {}

  // Logs the event and stores it. A database failure is logged and counted
  // in the AuditHealth, not returned: most events must not block the action.
  void Record(std::string_view event, std::string_view userid, std::string_view loginname,
              std::string_view servicecode, std::string_view ip, std::string_view detail);
  // As Record, for an action that must not happen unrecorded when audit
  // rows are required (a login): kUnavailable when the row was not stored
  // and `required` is set; Ok otherwise.
  Status RecordRequired(std::string_view event, std::string_view userid, std::string_view loginname,
                        std::string_view servicecode, std::string_view ip, std::string_view detail);

  // The newest events first, for the console and tests.
  Result<std::vector<AuditEvent>> Recent(size_t limit);
  // Deletes the events older than `before_ms`, in transactions of at most
  // 10,000 rows (other writers wait milliseconds, not minutes); returns how
  // many. The retention policy (how old) is the operator's: `tongban admin
  // audit prune` keeps at least 180 days (网络安全法 §21: six months).
  Result<int64_t> Prune(int64_t before_ms);
  // The matching events, newest first, `limit` of them after `offset`.
  Result<AuditPage> Query(const AuditFilter& filter, size_t limit, size_t offset);
  // How many of the events named `event` happened in each of the `minutes`
  // whole minutes up to now, oldest first (the console's charts).
  Result<std::vector<int64_t>> PerMinute(std::string_view event, int minutes);

 private:
  // The row's storage outcome (Ok when there is no table).
  Status Store(std::string_view event, std::string_view userid, std::string_view loginname,
               std::string_view servicecode, std::string_view ip, std::string_view detail);

  SqlStore* sql_;
  const Clock& clock_;
  std::shared_ptr<AuditHealth> health_;
  bool required_ = false;
};

}  // namespace tongban::sso
