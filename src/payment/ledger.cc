// soci-sqlite3.h (through native_sql.h) comes first: it wraps <sqlite3.h>.
#include "payment/ledger.h"

#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "payment/model.h"
#include "store/native_sql.h"
#include "store/sql_dialect.h"

namespace tongban::payment {
namespace {

namespace sq = sqlite_api;

// BLOB per dialect: the page body is binary (lengths and amounts packed).
constexpr const char* kSchema = R"sql(
CREATE TABLE payment_ledger_pages (
  id {ID},
  channel {KEY} NOT NULL,
  day {KEY} NOT NULL,
  records BIGINT NOT NULL,
  body {BODY} NOT NULL
){END};
CREATE INDEX payment_ledger_pages_by_day ON payment_ledger_pages (channel, day, id);
)sql";

std::string WithBody(std::string script, std::string_view type) {
  const std::string tag = "{BODY}";
  script.replace(script.find(tag), tag.size(), type);
  return script;
}

using PgResult = std::unique_ptr<PGresult, void (*)(PGresult*)>;

// The pages of the day, native per backend: sink(id, records, body).
// Only pages of fewer than `below` records (compaction's small pages).
Status ReadPages(SqlStore& store, soci::session& sql, const std::string& channel,
                 const std::string& day, long long below,
                 const std::function<Status(int64_t, int64_t, std::string_view)>& sink) {
  if (store.backend() == SqlStore::Backend::kSqlite) {
    sq::sqlite3* db = native_sql::SqliteOf(sql);
    const char* text =
        "SELECT id, records, body FROM payment_ledger_pages WHERE channel = ?1 AND day = ?2 "
        "AND records < ?3 ORDER BY id";
    sq::sqlite3_stmt* raw = nullptr;
    int rc = sq::sqlite3_prepare_v2(db, text, -1, &raw, nullptr);
    if (rc != SQLITE_OK) native_sql::ThrowSqlite(db, rc);
    std::unique_ptr<sq::sqlite3_stmt, int (*)(sq::sqlite3_stmt*)> st(raw, sq::sqlite3_finalize);
    sq::sqlite3_bind_text(raw, 1, channel.data(), static_cast<int>(channel.size()), nullptr);
    sq::sqlite3_bind_text(raw, 2, day.data(), static_cast<int>(day.size()), nullptr);
    sq::sqlite3_bind_int64(raw, 3, below);
    while ((rc = sq::sqlite3_step(raw)) == SQLITE_ROW) {
      const void* body = sq::sqlite3_column_blob(raw, 2);
      const int n = sq::sqlite3_column_bytes(raw, 2);
      TB_RETURN_IF_ERROR(sink(sq::sqlite3_column_int64(raw, 0), sq::sqlite3_column_int64(raw, 1),
                              {static_cast<const char*>(body), static_cast<size_t>(n)}));
    }
    if (rc != SQLITE_DONE) native_sql::ThrowSqlite(db, rc);
    return Status::Ok();
  }
  if (store.backend() == SqlStore::Backend::kPostgres) {
    // Binary results: the body's bytes as they are (text would be hex).
    PGconn* conn = native_sql::PgOf(sql);
    const std::string max = std::to_string(below);
    const char* values[3] = {channel.c_str(), day.c_str(), max.c_str()};
    PgResult res(
        PQexecParams(conn,
                     "SELECT id::text, records::text, body FROM payment_ledger_pages "
                     "WHERE channel = $1 AND day = $2 AND records < $3::bigint ORDER BY id",
                     3, nullptr, values, nullptr, nullptr, 1),
        PQclear);
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) native_sql::ThrowPg(conn, res.release());
    for (int i = 0; i < PQntuples(res.get()); ++i) {
      const int64_t id = std::stoll(std::string(PQgetvalue(res.get(), i, 0),
                                                static_cast<size_t>(PQgetlength(res.get(), i, 0))));
      const int64_t records = std::stoll(std::string(
          PQgetvalue(res.get(), i, 1), static_cast<size_t>(PQgetlength(res.get(), i, 1))));
      TB_RETURN_IF_ERROR(
          sink(id, records,
               {PQgetvalue(res.get(), i, 2), static_cast<size_t>(PQgetlength(res.get(), i, 2))}));
    }
    return Status::Ok();
  }
  long long id = 0, records = 0;
  std::string body;
  soci::statement st = (sql.prepare << "SELECT id, records, body FROM payment_ledger_pages WHERE "
                                       "channel = :c AND day = :d AND records < :b ORDER BY id",
                        soci::use(channel), soci::use(day), soci::use(below), soci::into(id),
                        soci::into(records), soci::into(body));
  st.execute();
  while (st.fetch()) TB_RETURN_IF_ERROR(sink(id, records, body));
  return Status::Ok();
}

// The SQLite insert of a page, prepared once per pooled session.
struct KeptLedgerInsert : SqlStore::Kept {
  sq::sqlite3_stmt* st = nullptr;
  explicit KeptLedgerInsert(soci::session& sql) {
    sq::sqlite3* db = native_sql::SqliteOf(sql);
    int rc = sq::sqlite3_prepare_v3(
        db,
        "INSERT INTO payment_ledger_pages (channel, day, records, body) VALUES (?1, ?2, ?3, ?4)",
        -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) native_sql::ThrowSqlite(db, rc);
  }
  ~KeptLedgerInsert() override { sq::sqlite3_finalize(st); }
};

}  // namespace

bool AppendLedgerRecord(std::string& page, const LedgerRecord& r) {
  if (r.order_no.size() > 255 || r.channel_serial.size() > 255 || r.disposition.size() > 255) {
    return false;
  }
  char head[20] = {static_cast<char>(r.order_no.size()), static_cast<char>(r.channel_serial.size()),
                   static_cast<char>(r.disposition.size()), static_cast<char>(r.amends ? 1 : 0)};
  std::memcpy(head + 4, &r.amount_fen, 8);
  std::memcpy(head + 12, &r.paid_at_ms, 8);
  page.append(head, sizeof head);
  page.append(r.order_no);
  page.append(r.channel_serial);
  page.append(r.disposition);
  return true;
}

Migration LedgerMigration() {
  Migration m = PortableMigration("payment_ledger", 1, "");
  m.sqlite = sql_dialect::ExpandSchema(WithBody(kSchema, "BLOB"), SqlDialect::kSqlite);
  m.postgres = sql_dialect::ExpandSchema(WithBody(kSchema, "BYTEA"), SqlDialect::kPostgres);
  m.mysql = sql_dialect::ExpandSchema(WithBody(kSchema, "LONGBLOB"), SqlDialect::kMySql);
  return m;
}

Status AppendLedgerPageIn(SqlStore& store, soci::session& tx, std::string_view channel,
                          std::string_view day, int64_t records, std::string_view body) {
  const std::string ch(channel), d(day);
  if (store.backend() == SqlStore::Backend::kSqlite) {
    auto& k = store.KeptFor<KeptLedgerInsert>(tx, "payment.ledger_insert", [](soci::session& s) {
      return std::make_unique<KeptLedgerInsert>(s);
    });
    sq::sqlite3_stmt* raw = k.st;
    sq::sqlite3_bind_text(raw, 1, ch.data(), static_cast<int>(ch.size()),
                          reinterpret_cast<sq::sqlite3_destructor_type>(-1));
    sq::sqlite3_bind_text(raw, 2, d.data(), static_cast<int>(d.size()),
                          reinterpret_cast<sq::sqlite3_destructor_type>(-1));
    sq::sqlite3_bind_int64(raw, 3, records);
    sq::sqlite3_bind_blob(raw, 4, body.data(), static_cast<int>(body.size()),
                          reinterpret_cast<sq::sqlite3_destructor_type>(-1));
    const int rc = sq::sqlite3_step(raw);
    sq::sqlite3_reset(raw);
    sq::sqlite3_clear_bindings(raw);
    if (rc != SQLITE_DONE) native_sql::ThrowSqlite(native_sql::SqliteOf(tx), rc);
    return Status::Ok();
  }
  if (store.backend() == SqlStore::Backend::kPostgres) {
    PGconn* conn = native_sql::PgOf(tx);
    const std::string n = std::to_string(records);
    const char* values[4] = {ch.c_str(), d.c_str(), n.c_str(), body.data()};
    const int lengths[4] = {0, 0, 0, static_cast<int>(body.size())};
    const int formats[4] = {0, 0, 0, 1};  // the body binary
    PgResult res(PQexecParams(conn,
                              "INSERT INTO payment_ledger_pages (channel, day, records, body) "
                              "VALUES ($1, $2, $3::bigint, $4::bytea)",
                              4, nullptr, values, lengths, formats, 0),
                 PQclear);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) native_sql::ThrowPg(conn, res.release());
    return Status::Ok();
  }
  long long n = records;
  std::string b(body);
  tx << "INSERT INTO payment_ledger_pages (channel, day, records, body) VALUES (:c, :d, :n, :b)",
      soci::use(ch), soci::use(d), soci::use(n), soci::use(b);
  return Status::Ok();
}

Status RecordPaidIn(SqlStore& store, soci::session& tx, std::string_view channel,
                    const LedgerRecord& r) {
  std::string page;
  if (!AppendLedgerRecord(page, r)) {
    // Not recorded: the day's count no longer agrees, reconciliation reads the orders.
    return Status::Ok();
  }
  return AppendLedgerPageIn(store, tx, channel, ChinaDate(r.paid_at_ms), 1, page);
}

Status RecordAmendedIn(SqlStore& store, soci::session& tx, std::string_view channel,
                       const LedgerRecord& r) {
  LedgerRecord amended = r;
  amended.amends = true;
  std::string page;
  if (!AppendLedgerRecord(page, amended)) return Status::Ok();
  return AppendLedgerPageIn(store, tx, channel, ChinaDate(r.paid_at_ms), 1, page);
}

Status ReadLedgerDay(SqlStore& store, std::string_view channel, std::string_view day,
                     const std::function<Status(int64_t, std::string_view)>& sink) {
  const std::string ch(channel), d(day);
  return store.WithSession([&](soci::session& sql) -> Status {
    return ReadPages(
        store, sql, ch, d, std::numeric_limits<long long>::max(),
        [&](int64_t, int64_t records, std::string_view body) { return sink(records, body); });
  });
}

Result<int64_t> CompactLedgerDay(SqlStore& store, std::string_view channel, std::string_view day,
                                 int64_t small, size_t page_bytes) {
  const std::string ch(channel), d(day);
  return store.WithTransaction([&](soci::session& tx) -> Result<int64_t> {
    // The small pages read, then deleted by the ids read (never a range: on
    // PostgreSQL a page committed meanwhile must stay), their records folded
    // (a repeated order keeps its last record) into new pages.
    std::vector<long long> ids;
    std::vector<std::string> order;  // first-seen order of orders
    // order -> its packed record, and whether an amendment wrote it. An
    // amendment beats a plain record whatever the page order: a fold that read
    // its pages before a refund's amendment committed writes its folded page
    // (the order still credited, not an amendment) after the amendment's page.
    std::unordered_map<std::string, std::pair<std::string, bool>> latest;
    bool malformed = false, amended = false;
    auto read = [&](long long below) -> Status {
      ids.clear();
      order.clear();
      latest.clear();
      return ReadPages(store, tx, ch, d, below,
                       [&](int64_t id, int64_t, std::string_view body) -> Status {
                         ids.push_back(id);
                         malformed |= !ForEachLedgerRecord(body, [&](const LedgerRecord& r) {
                           amended |= r.amends;
                           LedgerRecord folded = r;
                           folded.amends = false;  // the order's state as it now is
                           std::string packed;
                           AppendLedgerRecord(packed, folded);
                           auto [it, added] = latest.try_emplace(std::string(r.order_no));
                           if (added) order.push_back(it->first);
                           if (added || r.amends || !it->second.second) {
                             it->second = {std::move(packed), it->second.second || r.amends};
                           }
                         });
                         return Status::Ok();
                       });
    };
    TB_RETURN_IF_ERROR(read(small));
    if (amended) TB_RETURN_IF_ERROR(read(std::numeric_limits<long long>::max()));
    if (malformed) return Error::Internal("a malformed ledger page of " + ch + " " + d);
    if (ids.size() < 2) return int64_t{0};
    for (size_t at = 0; at < ids.size(); at += 500) {
      std::string in;
      for (size_t i = at; i < std::min(ids.size(), at + 500); ++i) {
        if (!in.empty()) in += ',';
        in += std::to_string(ids[i]);
      }
      soci::statement del =
          (tx.prepare << "DELETE FROM payment_ledger_pages WHERE id IN (" + in + ")");
      del.execute(true);
      // Another fold of the day took these pages first (PostgreSQL and MySQL
      // let both read them): this one writes nothing, or the day's records
      // would be there twice.
      const size_t want = std::min(ids.size(), at + 500) - at;
      if (del.get_affected_rows() != static_cast<long long>(want)) {
        return Error::Conflict("the ledger of " + ch + " " + d + " was folded meanwhile");
      }
    }
    std::string page;
    int64_t records = 0;
    for (const std::string& o : order) {
      page += latest[o].first;
      if (++records, page.size() >= page_bytes) {
        TB_RETURN_IF_ERROR(AppendLedgerPageIn(store, tx, ch, d, records, page));
        page.clear();
        records = 0;
      }
    }
    if (records > 0) TB_RETURN_IF_ERROR(AppendLedgerPageIn(store, tx, ch, d, records, page));
    return static_cast<int64_t>(ids.size());
  });
}

}  // namespace tongban::payment
