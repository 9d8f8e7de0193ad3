#include "payment/payer_entries.h"

#include <algorithm>
#include <limits>

#include "store/sql_dialect.h"

namespace tongban::payment {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE payment_payer_entries (
  id {ID},
  entercode {KEY} NOT NULL,
  userid {KEY} NOT NULL,
  state {KEY} NOT NULL,
  body {TEXT} NOT NULL,
  notice_no {KEY} NOT NULL DEFAULT '',
  reason {TEXT},
  decided_by {KEY} NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  decided_at BIGINT NOT NULL DEFAULT 0
){END};
CREATE INDEX payment_payer_entries_by_unit ON payment_payer_entries (entercode, state, id);
CREATE INDEX payment_payer_entries_by_user ON payment_payer_entries (userid, id);
)sql";

// Proposals one payer may have waiting (state proposed): per unit, and in all.
constexpr long long kMaxOpenPerPayerAndUnit = 3;
constexpr long long kMaxOpenPerPayer = 10;

constexpr const char* kColumns =
    "id, entercode, userid, state, body, notice_no, COALESCE(reason, ''), decided_by, created_at, "
    "decided_at";

std::vector<PayerEntry> Fetch(soci::details::prepare_temp_type p) {
  PayerEntry e;
  long long id = 0, created = 0, decided = 0;
  p, soci::into(id), soci::into(e.entercode), soci::into(e.userid), soci::into(e.state),
      soci::into(e.body), soci::into(e.notice_no), soci::into(e.reason), soci::into(e.decided_by),
      soci::into(created), soci::into(decided);
  soci::statement st(p);
  st.execute();
  std::vector<PayerEntry> out;
  while (st.fetch()) {
    e.id = id;
    e.created_at_ms = created;
    e.decided_at_ms = decided;
    out.push_back(e);
  }
  return out;
}

}  // namespace

std::vector<Migration> PayerEntryStore::Migrations() {
  return {PortableMigration("payment_entries", 1, kSchema)};
}

PayerEntryStore::PayerEntryStore(SqlStore& store, Clock& clock) : store_(store), clock_(clock) {}

Result<PayerEntry> PayerEntryStore::Propose(std::string_view entercode, std::string_view userid,
                                            std::string_view body) {
  if (entercode.empty() || userid.empty() || body.empty() || body.size() > 64 * 1024) {
    return Error::InvalidArgument("自助录入需要执收单位、缴款人和缴款单内容（最多 64 KiB）");
  }
  const SqlDialect dialect = store_.dialect();
  const long long now = clock_.NowMillis();
  std::string e(entercode), u(userid), b(body), state = "proposed";
  auto id = store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    // Anyone who can log in may propose (a self-registered citizen too): a
    // bounded number waiting per payer, so that one account cannot bury a
    // unit's queue (review12).
    // Two COUNTs (a SUM is DECIMAL on MySQL), on the payer's index.
    long long open = 0, open_here = 0;
    sql << "SELECT COUNT(*) FROM payment_payer_entries WHERE userid = :u AND state = :s",
        soci::use(u), soci::use(state), soci::into(open);
    sql << "SELECT COUNT(*) FROM payment_payer_entries WHERE userid = :u AND state = :s AND "
           "entercode = :e",
        soci::use(u), soci::use(state), soci::use(e), soci::into(open_here);
    if (open_here >= kMaxOpenPerPayerAndUnit) {
      return Error::Conflict("您在该执收单位已有 " + std::to_string(open_here) +
                             " 条待确认的自助录入，请等待执收单位处理后再提交");
    }
    if (open >= kMaxOpenPerPayer) {
      return Error::Conflict("您已有 " + std::to_string(open) +
                             " 条待确认的自助录入，请等待执收单位处理后再提交");
    }
    const std::string insert =
        "INSERT INTO payment_payer_entries (entercode, userid, state, body, created_at) "
        "VALUES (:e, :u, :s, :b, :t)";
    long long out = 0;
    if (sql_dialect::HasReturning(dialect)) {
      sql << insert + " RETURNING id", soci::use(e), soci::use(u), soci::use(state), soci::use(b),
          soci::use(now), soci::into(out);
    } else {
      sql << insert, soci::use(e), soci::use(u), soci::use(state), soci::use(b), soci::use(now);
      out = sql_dialect::LastInsertId(sql, dialect);
    }
    return static_cast<int64_t>(out);
  });
  if (!id.ok()) return std::move(id).error();
  return Get(*id);
}

Result<PayerEntry> PayerEntryStore::Get(int64_t id) {
  auto rows = store_.WithSession([&](soci::session& sql) -> Result<std::vector<PayerEntry>> {
    long long key = id;
    return Fetch((sql.prepare << std::string("SELECT ") + kColumns +
                                     " FROM payment_payer_entries WHERE id = :id",
                  soci::use(key)));
  });
  if (!rows.ok()) return std::move(rows).error();
  if (rows->empty()) return Error::NotFound("没有这条自助录入");
  return std::move(rows->front());
}

Result<std::vector<PayerEntry>> PayerEntryStore::List(std::string_view entercode,
                                                      std::string_view userid,
                                                      std::string_view state, int limit,
                                                      int64_t before_id) {
  std::string e(entercode), u(userid), s(state);
  long long n = std::clamp(limit, 1, 500);
  long long before = before_id > 0 ? before_id : std::numeric_limits<int64_t>::max();
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<PayerEntry>> {
    return Fetch((sql.prepare << std::string("SELECT ") + kColumns +
                                     " FROM payment_payer_entries WHERE (:e = '' OR entercode = "
                                     ":e2) AND (:u = '' OR userid = :u2) AND (:s = '' OR state = "
                                     ":s2) AND id < :b ORDER BY id DESC LIMIT :n",
                  soci::use(e), soci::use(e), soci::use(u), soci::use(u), soci::use(s),
                  soci::use(s), soci::use(before), soci::use(n)));
  });
}

Status PayerEntryStore::DecideIn(soci::session& sql, int64_t id, bool confirm,
                                 std::string_view notice_no, std::string_view reason,
                                 std::string_view actor) {
  std::string state = confirm ? "confirmed" : "refused", no(notice_no), why(reason), who(actor);
  const long long now = clock_.NowMillis(), key = id;
  soci::statement st =
      (sql.prepare << "UPDATE payment_payer_entries SET state = :s, notice_no = :n, reason = "
                      ":r, decided_by = :a, decided_at = :t WHERE id = :id AND state = "
                      "'proposed'",
       soci::use(state), soci::use(no), soci::use(why), soci::use(who), soci::use(now),
       soci::use(key));
  st.execute(true);
  if (st.get_affected_rows() == 0) return Error::Conflict("这条自助录入已处理过");
  return Status::Ok();
}

Status PayerEntryStore::Decide(int64_t id, bool confirm, std::string_view notice_no,
                               std::string_view reason, std::string_view actor) {
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    return DecideIn(sql, id, confirm, notice_no, reason, actor);
  });
}

}  // namespace tongban::payment
