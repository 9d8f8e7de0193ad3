#include "sso/audit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace tongban::sso {
Result<int64_t> Audit::Prune(int64_t before_ms) {
  if (sql_ == nullptr) return int64_t{0};
  int64_t total = 0;
  for (;;) {
    auto batch = sql_->WithTransaction([&](soci::session& sql) -> Result<int64_t> {
      long long before = before_ms, last = 0;
      soci::indicator ind = soci::i_null;
      // The batch's last id through a derived table: MySQL takes no LIMIT in
      // an IN subquery.
      sql << "SELECT MAX(id) FROM (SELECT id FROM sso_audit WHERE at_ms < :b ORDER BY id "
             "LIMIT 10000) batch",
          soci::use(before), soci::into(last, ind);
      if (ind != soci::i_ok) return int64_t{0};
      soci::statement del = (sql.prepare << "DELETE FROM sso_audit WHERE id <= :m AND at_ms < :b",
                             soci::use(last), soci::use(before));
      del.execute(true);
      return static_cast<int64_t>(del.get_affected_rows());
    });
    if (!batch.ok()) return batch;
    if (*batch == 0) return total;
    total += *batch;
  }
}

namespace {

// "33…(18 bytes)": enough to tell one attacker's list from another in the log,
// not enough to read an ID number, a mobile or a password back.
std::string TypedNameForLog(std::string_view typed) {
  if (typed.empty()) return {};
  std::string out;
  for (char c : typed.substr(0, 2)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x21 && u < 0x7f ? c : '?');
  }
  out.append("…(").append(std::to_string(typed.size())).append(" bytes)");
  return out;
}

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
  return {PortableMigration("sso_audit", 1,
                            "CREATE TABLE sso_audit ("
                            " id {ID},"
                            " at_ms BIGINT NOT NULL,"
                            " event {TEXT} NOT NULL,"
                            " userid {KEY} NOT NULL,"
                            " loginname {TEXT} NOT NULL,"
                            " servicecode {TEXT} NOT NULL,"
                            " ip {TEXT} NOT NULL,"
                            " detail {TEXT} NOT NULL){END};"
                            "CREATE INDEX sso_audit_at ON sso_audit (at_ms);"
                            "CREATE INDEX sso_audit_user ON sso_audit (userid, at_ms);")};
}

void AuditHealth::Stored() {
  if (!failing_.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mu_);
  failing_ = false;
  message_.clear();
}

void AuditHealth::Failed(std::string_view message) {
  lost_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  failing_ = true;
  message_.assign(message);
}

std::string AuditHealth::Failure() const {
  if (!failing_.load(std::memory_order_relaxed)) return {};
  std::lock_guard lock(mu_);
  return message_;
}

void Audit::Record(std::string_view event, std::string_view userid, std::string_view loginname,
                   std::string_view servicecode, std::string_view ip, std::string_view detail) {
  Status ignored = Store(event, userid, loginname, servicecode, ip, detail);
  (void)ignored;  // Store logged it and told the AuditHealth
}

Status Audit::RecordRequired(std::string_view event, std::string_view userid,
                             std::string_view loginname, std::string_view servicecode,
                             std::string_view ip, std::string_view detail) {
  Status stored = Store(event, userid, loginname, servicecode, ip, detail);
  if (stored.ok() || !required_) return Status::Ok();
  return Error::Unavailable("the audit log cannot be written and audit.required is set: " +
                            stored.error().message);
}

Status Audit::Store(std::string_view event, std::string_view userid, std::string_view loginname,
                    std::string_view servicecode, std::string_view ip, std::string_view detail) {
  AuditEvent e;
  e.event = std::string(event);
  e.userid = Bounded(userid, 64);
  e.loginname = Bounded(loginname, 100);
  e.servicecode = Bounded(servicecode, 64);
  e.ip = Bounded(ip, 64);
  e.detail = Bounded(detail);
  e.at_ms = clock_.NowMillis();
  // The server log is read by more people than the audit table (kept whole for
  // the console): what was typed for a login that matched no user — an ID
  // number, a mobile, a password in the wrong box — is shown by its first two
  // bytes and its length only (review16d).
  AuditLogger()->info("{} user={} loginname={} app={} ip={} {}", e.event, e.userid,
                      e.userid.empty() ? TypedNameForLog(e.loginname) : e.loginname,
                      e.servicecode, e.ip, e.detail);
  if (sql_ == nullptr) return Status::Ok();
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
    if (health_) health_->Failed(stored.error().message);
    return stored;
  }
  if (health_) health_->Stored();
  return Status::Ok();
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

namespace {

// WHERE clause and bound values of a filter; `like_escape` keeps a user's
// '%' or '_' literal in the event prefix.
struct AuditWhere {
  std::string sql;
  std::vector<std::pair<std::string, std::string>> text;
  std::vector<std::pair<std::string, long long>> numbers;
};

AuditWhere WhereOf(const AuditFilter& filter) {
  AuditWhere w;
  auto add = [&w](std::string_view condition) {
    w.sql.append(w.sql.empty() ? " WHERE " : " AND ").append(condition);
  };
  if (!filter.event_prefix.empty()) {
    add("event >= :e1 AND event < :e2");
    std::string end = filter.event_prefix;
    end.push_back('\x7f');
    w.text.emplace_back("e1", filter.event_prefix);
    w.text.emplace_back("e2", std::move(end));
  }
  if (!filter.user.empty()) {
    add("(userid = :u OR loginname = :l)");
    w.text.emplace_back("u", filter.user);
    w.text.emplace_back("l", filter.user);
  }
  if (filter.since_ms > 0) {
    add("at_ms >= :since");
    w.numbers.emplace_back("since", filter.since_ms);
  }
  if (filter.until_ms > 0) {
    add("at_ms < :until");
    w.numbers.emplace_back("until", filter.until_ms);
  }
  return w;
}

template <typename Statement>
void Bind(Statement& st, const AuditWhere& w) {
  for (const auto& [name, value] : w.text) st.exchange(soci::use(value, name));
  for (const auto& [name, value] : w.numbers) st.exchange(soci::use(value, name));
}

}  // namespace

Result<AuditPage> Audit::Query(const AuditFilter& filter, size_t limit, size_t offset) {
  if (sql_ == nullptr) return AuditPage{};
  const AuditWhere where = WhereOf(filter);
  return sql_->WithSession([&](soci::session& sql) -> Result<AuditPage> {
    AuditPage page;
    {
      long long total = 0;
      soci::statement count(sql);
      count.exchange(soci::into(total));
      Bind(count, where);
      count.alloc();
      count.prepare("SELECT COUNT(*) FROM sso_audit" + where.sql);
      count.define_and_bind();
      count.execute(true);
      page.total = total;
    }
    AuditEvent row;
    long long at = 0;
    soci::statement st(sql);
    st.exchange(soci::into(at));
    st.exchange(soci::into(row.event));
    st.exchange(soci::into(row.userid));
    st.exchange(soci::into(row.loginname));
    st.exchange(soci::into(row.servicecode));
    st.exchange(soci::into(row.ip));
    st.exchange(soci::into(row.detail));
    Bind(st, where);
    st.alloc();
    st.prepare("SELECT at_ms, event, userid, loginname, servicecode, ip, detail FROM sso_audit" +
               where.sql + " ORDER BY id DESC LIMIT " + std::to_string(limit) + " OFFSET " +
               std::to_string(offset));
    st.define_and_bind();
    if (st.execute(true)) {
      do {
        row.at_ms = at;
        page.items.push_back(row);
      } while (st.fetch());
    }
    return page;
  });
}

Result<std::vector<int64_t>> Audit::PerMinute(std::string_view event, int minutes) {
  constexpr int64_t kMinute = 60'000;
  std::vector<int64_t> counts(static_cast<size_t>(std::max(minutes, 0)), 0);
  if (sql_ == nullptr || counts.empty()) return counts;
  const int64_t first = (clock_.NowMillis() / kMinute - minutes + 1) * kMinute;
  return sql_->WithSession([&](soci::session& sql) -> Result<std::vector<int64_t>> {
    std::string name(event);
    long long since = first;
    long long at = 0;
    // Few rows (one per login): bucketing here keeps the SQL portable.
    soci::statement st =
        (sql.prepare << "SELECT at_ms FROM sso_audit WHERE at_ms >= :since AND event = :e",
         soci::use(since, "since"), soci::use(name, "e"), soci::into(at));
    if (st.execute(true)) {
      do {
        const int64_t slot = (at - first) / kMinute;
        if (slot >= 0 && slot < minutes) ++counts[static_cast<size_t>(slot)];
      } while (st.fetch());
    }
    return counts;
  });
}

}  // namespace tongban::sso
