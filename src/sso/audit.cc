#include "sso/audit.h"

#include <spdlog/spdlog.h>

#include <memory>

namespace tongban::sso {
namespace {

// Clients choose login names and other fields: bounded, so that a log line or
// row stays small whatever they send.
std::string Bounded(std::string_view text, size_t max = 200) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  // Do not split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

std::shared_ptr<spdlog::logger> AuditLogger() {
  auto logger = spdlog::get("audit");
  return logger ? logger : spdlog::default_logger();
}

}  // namespace

std::vector<Migration> AuditMigrations() {
  return {Migration{"sso_audit", 1,
                    "CREATE TABLE sso_audit ("
                    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " at_ms BIGINT NOT NULL,"
                    " event TEXT NOT NULL,"
                    " userid TEXT NOT NULL,"
                    " loginname TEXT NOT NULL,"
                    " servicecode TEXT NOT NULL,"
                    " ip TEXT NOT NULL,"
                    " detail TEXT NOT NULL);"
                    "CREATE INDEX sso_audit_at ON sso_audit (at_ms);"
                    "CREATE INDEX sso_audit_user ON sso_audit (userid, at_ms);",
                    "CREATE TABLE sso_audit ("
                    " id BIGSERIAL PRIMARY KEY,"
                    " at_ms BIGINT NOT NULL,"
                    " event TEXT NOT NULL,"
                    " userid TEXT NOT NULL,"
                    " loginname TEXT NOT NULL,"
                    " servicecode TEXT NOT NULL,"
                    " ip TEXT NOT NULL,"
                    " detail TEXT NOT NULL);"
                    "CREATE INDEX sso_audit_at ON sso_audit (at_ms);"
                    "CREATE INDEX sso_audit_user ON sso_audit (userid, at_ms);"}};
}

void Audit::Record(std::string_view event, std::string_view userid, std::string_view loginname,
                   std::string_view servicecode, std::string_view ip, std::string_view detail) {
  AuditEvent e;
  e.event = std::string(event);
  e.userid = Bounded(userid, 64);
  e.loginname = Bounded(loginname, 100);
  e.servicecode = Bounded(servicecode, 64);
  e.ip = Bounded(ip, 64);
  e.detail = Bounded(detail);
  e.at_ms = clock_.NowMillis();
  AuditLogger()->info("{} user={} loginname={} app={} ip={} {}", e.event, e.userid, e.loginname,
                      e.servicecode, e.ip, e.detail);
  if (sql_ == nullptr) return;
  Status stored = sql_->WithSession([&](soci::session& sql) -> Status {
    long long at = e.at_ms;
    sql << "INSERT INTO sso_audit (at_ms, event, userid, loginname, servicecode, ip, detail) "
           "VALUES (:a, :e, :u, :l, :s, :i, :d)",
        soci::use(at, "a"), soci::use(e.event, "e"), soci::use(e.userid, "u"),
        soci::use(e.loginname, "l"), soci::use(e.servicecode, "s"), soci::use(e.ip, "i"),
        soci::use(e.detail, "d");
    return Status::Ok();
  });
  if (!stored.ok()) {
    AuditLogger()->error("audit event {} not stored: {}", e.event, stored.error().message);
  }
}

Result<std::vector<AuditEvent>> Audit::Recent(size_t limit) {
  if (sql_ == nullptr) return std::vector<AuditEvent>();
  return sql_->WithSession([&](soci::session& sql) -> Result<std::vector<AuditEvent>> {
    std::vector<AuditEvent> out;
    AuditEvent row;
    long long at = 0;
    long long n = static_cast<long long>(limit);
    soci::statement st =
        (sql.prepare << "SELECT at_ms, event, userid, loginname, servicecode, ip, detail "
                        "FROM sso_audit ORDER BY id DESC LIMIT :n",
         soci::use(n, "n"), soci::into(at), soci::into(row.event), soci::into(row.userid),
         soci::into(row.loginname), soci::into(row.servicecode), soci::into(row.ip),
         soci::into(row.detail));
    if (st.execute(true)) {
      do {
        row.at_ms = at;
        out.push_back(row);
      } while (st.fetch());
    }
    return out;
  });
}

}  // namespace tongban::sso
