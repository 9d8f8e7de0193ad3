// The delivery's column-wise fast path (see batch.h). soci-sqlite3.h wraps <sqlite3.h> in
// namespace sqlite_api, so it comes before anything else that could include it.
#include <soci/sqlite3/soci-sqlite3.h>

#include "exchange/batch.h"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>

#include "exchange/ddl.h"
#include "exchange/sql_util.h"
#include "store/native_sql.h"

namespace tongban::exchange {

namespace sq = sqlite_api;

// SQLITE_STATIC / SQLITE_TRANSIENT, whose casts name the type outside sqlite_api.
const sq::sqlite3_destructor_type kSqliteStatic = nullptr;
const sq::sqlite3_destructor_type kSqliteTransient =
    reinterpret_cast<sq::sqlite3_destructor_type>(-1);

namespace {

using native_sql::PgOf;
using native_sql::SqliteOf;
using native_sql::ThrowPg;
using native_sql::ThrowSqlite;

constexpr std::string_view kWritten[] = {"tongid",    "sync_status", "dataversion", "create_time",
                                         "tong_time", "xk_lydw",     "xk_lydwdm",   "areacode"};

// The page read of a batch. SQLite's columns are read as stored (ReadSqlite formats integers
// itself and lets SQLite give the text of the rest, which is what CAST(x AS TEXT) gives); the
// others cast to text in the query.
std::string SelectText(SqlDialect d, const Resource& r, const char* after, const char* limit) {
  std::string s =
      "SELECT tong_seq, tongid, sync_status, dataversion, create_time, xk_lydw, xk_lydwdm, "
      "areacode";
  for (const Field& f : r.fields) {
    const std::string q = QuoteIdent(d, f.code);
    s += d == SqlDialect::kSqlite  ? ", " + q
         : d == SqlDialect::kMySql ? ", CAST(" + q + " AS CHAR)"
                                   : ", CAST(" + q + " AS TEXT)";
  }
  return s + " FROM " + QuoteIdent(d, r.code) + " WHERE tong_seq > " + after +
         " ORDER BY tong_seq LIMIT " + limit;
}

// Filling a batch in place: element `i` of a column overwrites what an earlier batch left there
// (a string keeps its capacity), or is appended; Trim drops what the new batch did not reach.
// Elements are written in order, so `i` is never past the end.
void Put(std::vector<std::string>& v, size_t i, const char* p, size_t n) {
  if (i < v.size()) {
    v[i].assign(p, n);
  } else {
    v.emplace_back(p, n);
  }
}
template <typename T>
void Put(std::vector<T>& v, size_t i, T x) {
  if (i < v.size()) {
    v[i] = x;
  } else {
    v.push_back(x);
  }
}

void Trim(RowBatch& b, size_t rows) {
  for (auto* v : {&b.tongid, &b.xk_lydw, &b.xk_lydwdm, &b.areacode}) v->resize(rows);
  b.sync_status.resize(rows);
  b.dataversion.resize(rows);
  b.create_time.resize(rows);
  b.seq.resize(rows);
  b.cells.resize(rows * b.width);
  b.null.resize(rows * b.width);
}

void Reserve(RowBatch& b, size_t n) {
  for (auto* v : {&b.tongid, &b.xk_lydw, &b.xk_lydwdm, &b.areacode}) v->reserve(n);
  b.sync_status.reserve(n);
  b.dataversion.reserve(n);
  b.create_time.reserve(n);
  b.seq.reserve(n);
  b.cells.reserve(n * b.width);
  b.null.reserve(n * b.width);
}

char StatusChar(std::string_view s) { return s.empty() ? 'I' : s[0]; }
void AddStatus(RowBatch& b, std::string_view s) { b.sync_status.push_back(StatusChar(s)); }

// Runs a statement without results; returns its row count (PQcmdTuples).
long long PgExec(PGconn* conn, const std::string& text) {
  PGresult* res = PQexec(conn, text.c_str());
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) ThrowPg(conn, res);
  const char* n = PQcmdTuples(res);
  long long count = n != nullptr && *n != '\0' ? std::atoll(n) : 0;
  PQclear(res);
  return count;
}

void ReadSqlite(soci::session& sql, const Resource& r, int64_t after, int limit, RowBatch& b) {
  sq::sqlite3* db = SqliteOf(sql);
  const std::string text = SelectText(SqlDialect::kSqlite, r, "?", "?");
  sq::sqlite3_stmt* raw = nullptr;
  int rc = sq::sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()), &raw, nullptr);
  if (rc != SQLITE_OK) ThrowSqlite(db, rc);
  std::unique_ptr<sq::sqlite3_stmt, int (*)(sq::sqlite3_stmt*)> st(raw, sq::sqlite3_finalize);
  sq::sqlite3_bind_int64(raw, 1, after);
  sq::sqlite3_bind_int64(raw, 2, limit);
  b.width = r.fields.size();
  Reserve(b, static_cast<size_t>(std::max(0, limit)));
  auto put_text = [&](std::vector<std::string>& v, size_t i, int col) {
    const unsigned char* p = sq::sqlite3_column_text(raw, col);
    const size_t n = static_cast<size_t>(sq::sqlite3_column_bytes(raw, col));
    Put(v, i, p == nullptr ? "" : reinterpret_cast<const char*>(p), p == nullptr ? 0 : n);
  };
  size_t row = 0;
  size_t cell = 0;
  while ((rc = sq::sqlite3_step(raw)) == SQLITE_ROW) {
    Put(b.seq, row, static_cast<int64_t>(sq::sqlite3_column_int64(raw, 0)));
    put_text(b.tongid, row, 1);
    const unsigned char* status = sq::sqlite3_column_text(raw, 2);
    Put(b.sync_status, row, status == nullptr || *status == 0 ? 'I' : static_cast<char>(*status));
    Put(b.dataversion, row, static_cast<int64_t>(sq::sqlite3_column_int64(raw, 3)));
    Put(b.create_time, row, static_cast<int64_t>(sq::sqlite3_column_int64(raw, 4)));
    put_text(b.xk_lydw, row, 5);
    put_text(b.xk_lydwdm, row, 6);
    put_text(b.areacode, row, 7);
    for (size_t i = 0; i < b.width; ++i, ++cell) {
      const int col = static_cast<int>(8 + i);
      switch (sq::sqlite3_column_type(raw, col)) {
        case SQLITE_NULL:
          Put(b.null, cell, char{1});
          Put(b.cells, cell, "", 0);
          break;
        case SQLITE_INTEGER: {
          // What CAST(x AS TEXT) gives ("%lld"), without SQLite converting the value in place.
          char digits[24];
          auto [end, ec] =
              std::to_chars(digits, digits + sizeof(digits), sq::sqlite3_column_int64(raw, col));
          Put(b.null, cell, char{0});
          Put(b.cells, cell, digits, static_cast<size_t>(end - digits));
          break;
        }
        default:  // TEXT, and REAL/BLOB as SQLite turns them into text (the CAST's conversion)
          Put(b.null, cell, char{0});
          put_text(b.cells, cell, col);
      }
    }
    ++row;
  }
  if (rc != SQLITE_DONE) ThrowSqlite(db, rc);
  Trim(b, row);
}

void ReadPostgres(soci::session& sql, const Resource& r, int64_t after, int limit, RowBatch& b) {
  PGconn* conn = PgOf(sql);
  const std::string text = SelectText(SqlDialect::kPostgres, r, "$1", "$2");
  const std::string a = std::to_string(after), l = std::to_string(limit);
  const char* params[] = {a.c_str(), l.c_str()};
  // A keyset page must walk the tong_seq index: on a table autovacuum has not analysed yet the
  // planner scans and sorts the whole table for every batch instead (measured: 100-150 ms a
  // batch of 5000 at 100k rows, most of a PostgreSQL provider's time). Hence a read-only
  // transaction with those plans switched off for it alone (the store ends it should this throw).
  PgExec(conn, "BEGIN READ ONLY; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off");
  PGresult* res = PQexecParams(conn, text.c_str(), 2, nullptr, params, nullptr, nullptr, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) ThrowPg(conn, res);
  std::unique_ptr<PGresult, void (*)(PGresult*)> owned(res, PQclear);
  PgExec(conn, "COMMIT");
  b.width = r.fields.size();
  const int n = PQntuples(res);
  Reserve(b, static_cast<size_t>(n));
  auto put_text = [&](std::vector<std::string>& v, size_t i, int row, int col) {
    Put(v, i, PQgetvalue(res, row, col), static_cast<size_t>(PQgetlength(res, row, col)));
  };
  size_t cell = 0;
  for (int row = 0; row < n; ++row) {
    const size_t at = static_cast<size_t>(row);
    Put(b.seq, at, static_cast<int64_t>(std::atoll(PQgetvalue(res, row, 0))));
    put_text(b.tongid, at, row, 1);
    Put(b.sync_status, at, StatusChar(PQgetvalue(res, row, 2)));
    Put(b.dataversion, at, static_cast<int64_t>(std::atoll(PQgetvalue(res, row, 3))));
    Put(b.create_time, at, static_cast<int64_t>(std::atoll(PQgetvalue(res, row, 4))));
    put_text(b.xk_lydw, at, row, 5);
    put_text(b.xk_lydwdm, at, row, 6);
    put_text(b.areacode, at, row, 7);
    for (size_t i = 0; i < b.width; ++i, ++cell) {
      const int col = static_cast<int>(8 + i);
      const bool is_null = PQgetisnull(res, row, col) != 0;
      Put(b.null, cell, is_null ? char{1} : char{0});
      if (is_null) {
        Put(b.cells, cell, "", 0);
      } else {
        put_text(b.cells, cell, row, col);
      }
    }
  }
  Trim(b, static_cast<size_t>(n));
}

RowBatch ReadGeneric(soci::session& sql, SqlDialect d, const Resource& r, int64_t after,
                     int limit) {
  long long a = after, lim = limit;
  soci::rowset<soci::row> rows = (sql.prepare << SelectText(d, r, ":a", ":l"), soci::use(a),
                                  soci::use(lim));
  RowBatch b;
  b.width = r.fields.size();
  for (const soci::row& row : rows) {
    b.seq.push_back(sql_util::I64(row, "tong_seq"));
    b.tongid.push_back(sql_util::Text(row, "tongid"));
    AddStatus(b, sql_util::Text(row, "sync_status"));
    b.dataversion.push_back(sql_util::I64(row, "dataversion"));
    b.create_time.push_back(sql_util::I64(row, "create_time"));
    b.xk_lydw.push_back(sql_util::Text(row, "xk_lydw"));
    b.xk_lydwdm.push_back(sql_util::Text(row, "xk_lydwdm"));
    b.areacode.push_back(sql_util::Text(row, "areacode"));
    for (size_t i = 0; i < b.width; ++i) {
      const bool is_null = sql_util::IsNull(row, 8 + i);
      b.null.push_back(is_null ? 1 : 0);
      b.cells.push_back(is_null ? std::string() : sql_util::Text(row, 8 + i));
    }
  }
  return b;
}

// The value written for target field `f` of a row: NULL for a missing source column, and for
// "" in a non-text field (as the record path binds it).
const std::string* Value(const RowBatch& b, size_t row, int src, const Field& f) {
  if (src < 0) return nullptr;
  const std::string* v = b.Cell(row, static_cast<size_t>(src));
  if (v != nullptr && v->empty() && f.type != FieldType::kString) return nullptr;
  return v;
}

void AppendCopy(std::string& out, const std::string* v) {
  if (v == nullptr) {
    out += "\\N";
    return;
  }
  size_t start = 0;
  for (size_t i = 0; i < v->size(); ++i) {
    const char c = (*v)[i];
    const char* esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                                                                                            : nullptr;
    if (esc == nullptr) continue;
    out.append(*v, start, i - start);
    out += esc;
    start = i + 1;
  }
  out.append(*v, start, std::string::npos);
}

std::string ColumnList(SqlDialect d, const Resource& target) {
  std::string s;
  for (const Field& f : target.fields) s += (s.empty() ? "" : ", ") + QuoteIdent(d, f.code);
  for (std::string_view c : kWritten) s += ", " + QuoteIdent(d, c);
  return s;
}

// ON CONFLICT … DO UPDATE of every written column (and tong_seq when `with_seq`: the apply
// numbers the rows itself), only when the incoming version is newer.
std::string UpsertTail(SqlDialect d, const Resource& target, bool with_seq = false) {
  std::string s = " ON CONFLICT (tongid) DO UPDATE SET ";
  bool first = true;
  auto add = [&](std::string_view c) {
    if (c == "tongid") return;
    const std::string q = QuoteIdent(d, c);
    s += (first ? "" : ", ") + q + " = excluded." + q;
    first = false;
  };
  for (const Field& f : target.fields) add(f.code);
  for (std::string_view c : kWritten) add(c);
  if (with_seq) add("tong_seq");
  return s + " WHERE " + QuoteIdent(d, target.code) + ".dataversion < excluded.dataversion";
}

bool ConnectionGone(PGconn* conn) { return PQstatus(conn) != CONNECTION_OK; }

// Runs `text` (one or more statements); returns the first value of the last result.
long long PgScalar(PGconn* conn, const std::string& text) {
  PGresult* res = PQexec(conn, text.c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) ThrowPg(conn, res);
  long long v = std::atoll(PQgetvalue(res, 0, 0));
  PQclear(res);
  return v;
}

// Whether `target`'s table carries the capture of CreateTableStatements that delivered rows
// may skip (its trigger guarded by kPgApplySetting, and its sequence). Tables made by hand or
// before that guard keep the trigger's work per row. Asked per batch (one catalog query), so a
// trigger dropped or replaced by the department is seen at the next batch.
bool PgOwnCapture(PGconn* conn, const Resource& target) {
  const std::string table = QuoteIdent(SqlDialect::kPostgres, target.code);
  const std::string trigger = target.code + "_tong";
  const std::string guard = "%current_setting('" + std::string(kPgApplySetting) + "'%";
  const std::string seq = PgCaptureSequence(target.code);
  const char* params[] = {table.c_str(), trigger.c_str(), guard.c_str(), seq.c_str()};
  PGresult* res = PQexecParams(
      conn,
      "SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = to_regclass($1) AND g.tgname = $2 "
      "AND g.tgenabled <> 'D' AND pg_get_triggerdef(g.oid) LIKE $3 AND to_regclass($4) IS NOT NULL",
      4, nullptr, params, nullptr, nullptr, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) ThrowPg(conn, res);
  const bool own = std::atoll(PQgetvalue(res, 0, 0)) == 1;
  PQclear(res);
  return own;
}

// A table whose capture trigger is tongban's own from before the guard (named <code>_tong,
// row-level, calling <code>_tong_fn, enabled, with its sequence) gets the guard in this
// transaction, so a table created by an older tongban is as fast as a new one without an
// operator's step. Anything else — a trigger of another shape, a disabled one, a table made by
// hand — is left as it is. Returns whether it replaced the trigger.
bool PgUpgradeCapture(PGconn* conn, const Resource& target) {
  const std::string table = QuoteIdent(SqlDialect::kPostgres, target.code);
  const std::string trigger = target.code + "_tong";
  const std::string function = QuoteIdent(SqlDialect::kPostgres, target.code + "_tong_fn");
  // pg_get_triggerdef names the function unquoted: "<code>_tong_fn" never needs quotes.
  const std::string old_shape =
      "% BEFORE INSERT OR UPDATE ON % FOR EACH ROW EXECUTE FUNCTION " + target.code + "_tong_fn()";
  const std::string seq = PgCaptureSequence(target.code);
  const char* params[] = {table.c_str(), trigger.c_str(), old_shape.c_str(), seq.c_str()};
  PGresult* res = PQexecParams(
      conn,
      "SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = to_regclass($1) AND g.tgname = $2 "
      "AND g.tgenabled <> 'D' AND pg_get_triggerdef(g.oid) LIKE $3 "
      "AND to_regclass($4) IS NOT NULL",
      4, nullptr, params, nullptr, nullptr, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) ThrowPg(conn, res);
  const bool old = std::atoll(PQgetvalue(res, 0, 0)) == 1;
  PQclear(res);
  if (!old) return false;
  const std::string replace =
      "CREATE OR REPLACE TRIGGER " + QuoteIdent(SqlDialect::kPostgres, trigger) +
      " BEFORE INSERT OR UPDATE ON " + table + " FOR EACH ROW WHEN (current_setting('" +
      std::string(kPgApplySetting) + "', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION " +
      function + "()";
  res = PQexec(conn, replace.c_str());
  if (PQresultStatus(res) != PGRES_COMMAND_OK) ThrowPg(conn, res);
  PQclear(res);
  spdlog::info("exchange: capture trigger of {} upgraded (delivered rows skip it)", target.code);
  return true;
}

// Per pooled connection and target: whether to try COPY straight into the target. It works
// when no row of the batch is held yet (a first load, new rows); a held tongid fails it at
// that row (unique violation) and the batch goes the staging way, so after a failure the
// next 2, 4, … 64 batches skip the attempt.
// The COPY text of a batch, kept per pooled connection (see ApplyPostgres).
struct CopyBuffer : SqlStore::Kept {
  std::string data;
};
constexpr size_t kMaxKeptCopyBuffer = 32u << 20;

struct DirectCopyHint : SqlStore::Kept {
  int failures = 0;
  int skip = 0;
};

Result<RowApply> ApplyPostgres(SqlStore& node, const Resource& target, const RowBatch& b,
                               const std::vector<int>& source_col,
                               const std::vector<size_t>& rows, int64_t now_ms) {
  const SqlDialect d = SqlDialect::kPostgres;
  const std::string t = QuoteIdent(d, target.code);
  const std::string stage = QuoteIdent(d, StagingTableName(target.code));
  const std::string columns = ColumnList(d, target);
  const std::string now = std::to_string(now_ms);
  // The rows as COPY text, each with tong_seq = `first` + its position in `rows`: with the
  // target's own capture those are the target's tong_seq values; otherwise (the trigger
  // numbers the rows) the staging table's tong_seq only carries the position, so any range of
  // the batch can be moved on its own.
  auto copy_data = [&](std::string& data, long long first, bool own_capture) {
    data.clear();
    data.reserve(rows.size() * (b.width * 12 + 64));
    for (size_t k = 0; k < rows.size(); ++k) {
      const size_t r = rows[k];
      for (size_t j = 0; j < target.fields.size(); ++j) {
        AppendCopy(data, Value(b, r, source_col[j], target.fields[j]));
        data += '\t';
      }
      AppendCopy(data, &b.tongid[r]);
      data += '\t';
      data += b.sync_status[r];
      data += '\t';
      data += std::to_string(b.dataversion[r]);
      data += '\t';
      // The trigger's rule for an insert without a creation time, when the trigger is skipped.
      data += own_capture && b.create_time[r] == 0 ? now : std::to_string(b.create_time[r]);
      data += '\t';
      data += now;
      data += '\t';
      AppendCopy(data, &b.xk_lydw[r]);
      data += '\t';
      AppendCopy(data, &b.xk_lydwdm[r]);
      data += '\t';
      AppendCopy(data, &b.areacode[r]);
      data += '\t';
      data += std::to_string(first + static_cast<long long>(k));
      data += '\n';
    }
  };
  const std::string hint_key = "exchange.direct_copy." + target.code;

  return node.WithTransaction([&](soci::session& sql) -> Result<RowApply> {
    RowApply out;
    if (rows.empty()) return out;
    PGconn* conn = PgOf(sql);
    // The target's capture (ddl.h): with the guarded trigger this transaction does its work
    // once for the batch — the per-table lock until commit, then one range of the sequence for
    // all rows — instead of a plpgsql call (lock, nextval) per row. Under the lock no other
    // writer takes values, so the range is as ordered as per-row nextval would be, and a value
    // still never becomes visible after a larger one. The lock and range come before any
    // savepoint (rolling one back would release the lock).
    const bool own_capture =
        PgOwnCapture(conn, target) || (PgUpgradeCapture(conn, target) && PgOwnCapture(conn, target));
    long long first = 0;
    if (own_capture) {
      const std::string seq = PgCaptureSequence(target.code);
      const std::string n = std::to_string(rows.size());
      first = PgScalar(conn, "SET LOCAL " + std::string(kPgApplySetting) + " = 'on'; SELECT " +
                                 PgCaptureLockSql(target.code) + "; SELECT setval('" + seq +
                                 "', nextval('" + seq + "') + " + n + " - 1) - (" + n + " - 1)");
    }
    // The COPY text is built in the connection's kept buffer: a fresh megabyte per batch cost
    // page faults on every batch.
    auto& buffer = node.KeptFor<CopyBuffer>(
        sql, "exchange.copy_buffer", [](soci::session&) { return std::make_unique<CopyBuffer>(); });
    struct Shrink {  // an exceptional batch of long texts does not stay held
      std::string& data;
      ~Shrink() {
        if (data.capacity() > kMaxKeptCopyBuffer) std::string().swap(data);
      }
    } shrink{buffer.data};
    const std::string& data = buffer.data;
    copy_data(buffer.data, first, own_capture);

    // New rows only (a first load, an append-only source): COPY straight into the target.
    auto& hint = node.KeptFor<DirectCopyHint>(
        sql, hint_key, [](soci::session&) { return std::make_unique<DirectCopyHint>(); });
    if (own_capture && hint.skip > 0) {
      --hint.skip;
    } else if (own_capture) {
      PgExec(conn, "SAVEPOINT tb_direct");
      try {
        PgCopyIn(sql, "COPY " + t + " (" + columns + ", tong_seq) FROM STDIN", data);
        PgExec(conn, "RELEASE SAVEPOINT tb_direct");
        hint.failures = 0;
        out.applied = static_cast<int>(rows.size());
        return out;
      } catch (const std::exception&) {
        if (ConnectionGone(conn)) throw;
        PgExec(conn, "ROLLBACK TO SAVEPOINT tb_direct");
        PgExec(conn, "RELEASE SAVEPOINT tb_direct");
        hint.failures = std::min(hint.failures + 1, 6);
        hint.skip = 1 << hint.failures;
      }
    }

    // The staging table lives as long as the connection and is emptied at every commit (so
    // no TRUNCATE). Should it refuse the batch, it may predate a change of the target's
    // columns: it is made afresh once; a second refusal leaves the batch to the record path.
    bool staged = false;
    for (int attempt = 0; attempt < 2 && !staged; ++attempt) {
      PgExec(conn, "SAVEPOINT tb_stage");
      try {
        if (attempt > 0) PgExec(conn, "DROP TABLE IF EXISTS " + stage);
        PgExec(conn, "CREATE TEMP TABLE IF NOT EXISTS " + stage + " (LIKE " + t +
                         ") ON COMMIT DELETE ROWS");
        PgCopyIn(sql, "COPY " + stage + " (" + columns + ", tong_seq) FROM STDIN", data);
        PgExec(conn, "RELEASE SAVEPOINT tb_stage");
        staged = true;
      } catch (const std::exception&) {
        if (ConnectionGone(conn)) throw;
        PgExec(conn, "ROLLBACK TO SAVEPOINT tb_stage");
        PgExec(conn, "RELEASE SAVEPOINT tb_stage");
      }
    }
    if (!staged) {
      out.fallback = true;
      return out;
    }
    const std::string written = own_capture ? columns + ", tong_seq" : columns;
    const std::string insert =
        "INSERT INTO " + t + " (" + written + ") SELECT " + written + " FROM " + stage;
    const std::string tail = UpsertTail(d, target, own_capture);
    std::optional<Error> misfit;
    std::function<void(size_t, size_t)> move = [&](size_t lo, size_t hi) {
      PgExec(conn, "SAVEPOINT tb_range");
      try {
        const std::string range = hi - lo == rows.size()
                                      ? ""
                                      : " WHERE tong_seq >= " + std::to_string(first + lo) +
                                            " AND tong_seq < " + std::to_string(first + hi);
        const long long n = PgExec(conn, insert + range + tail);
        PgExec(conn, "RELEASE SAVEPOINT tb_range");
        out.applied += static_cast<int>(n);
        out.unchanged += static_cast<int>(hi - lo) - static_cast<int>(n);
        return;
      } catch (const std::exception& e) {
        if (ConnectionGone(conn)) throw;
        PgExec(conn, "ROLLBACK TO SAVEPOINT tb_range");
        PgExec(conn, "RELEASE SAVEPOINT tb_range");
        if (hi - lo == rows.size()) {
          // The whole batch failed: a table that no longer fits is the task's error, not
          // thousands of dead letters. (CheckTable's failed probes abort the transaction,
          // hence the savepoint.)
          PgExec(conn, "SAVEPOINT tb_check");
          Status fits = CheckTable(sql, d, target);
          PgExec(conn, "ROLLBACK TO SAVEPOINT tb_check");
          PgExec(conn, "RELEASE SAVEPOINT tb_check");
          if (!fits.ok()) {
            misfit = fits.error();
            return;
          }
        }
        if (hi - lo == 1) {
          out.failures.push_back({rows[lo], SqlStore::ToError(e).message});
          return;
        }
      }
      const size_t mid = lo + (hi - lo) / 2;
      move(lo, mid);
      move(mid, hi);
    };
    move(0, rows.size());
    if (misfit) return *misfit;
    return out;
  });
}

// A kept native upsert on an SQLite session.
class SqliteUpsert : public SqlStore::Kept {
 public:
  explicit SqliteUpsert(sq::sqlite3_stmt* st) : st_(st) {}
  ~SqliteUpsert() override { sq::sqlite3_finalize(st_); }
  sq::sqlite3_stmt* get() const { return st_; }

 private:
  sq::sqlite3_stmt* st_;
};

bool RowLevelSqliteError(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return true;
    default:
      return false;
  }
}

Result<RowApply> ApplySqlite(SqlStore& node, const Resource& target, const RowBatch& b,
                             const std::vector<int>& source_col, const std::vector<size_t>& rows,
                             int64_t now_ms) {
  const SqlDialect d = SqlDialect::kSqlite;
  const size_t width = target.fields.size() + std::size(kWritten);
  std::string text = "INSERT INTO " + QuoteIdent(d, target.code) + " (" + ColumnList(d, target) +
                     ") VALUES (";
  for (size_t i = 0; i < width; ++i) text += i ? ", ?" : "?";
  text += ')';
  text += UpsertTail(d, target);
  const std::string key = "exchange.upsert." + target.code + "." +
                          std::to_string(std::hash<std::string>{}(text));
  return node.WithTransaction([&](soci::session& sql) -> Result<RowApply> {
    RowApply out;
    sq::sqlite3* db = SqliteOf(sql);
    auto& kept = node.KeptFor<SqliteUpsert>(sql, key, [&](soci::session&) {
      sq::sqlite3_stmt* st = nullptr;
      int rc = sq::sqlite3_prepare_v3(db, text.c_str(), static_cast<int>(text.size()),
                                      SQLITE_PREPARE_PERSISTENT, &st, nullptr);
      if (rc != SQLITE_OK) {
        sq::sqlite3_finalize(st);
        ThrowSqlite(db, rc);
      }
      return std::make_unique<SqliteUpsert>(st);
    });
    sq::sqlite3_stmt* st = kept.get();
    auto bind_text = [&](int at, const std::string* v) {
      if (v == nullptr) {
        sq::sqlite3_bind_null(st, at);
      } else {
        sq::sqlite3_bind_text(st, at, v->data(), static_cast<int>(v->size()), kSqliteStatic);
      }
    };
    for (size_t r : rows) {
      int at = 1;
      for (size_t j = 0; j < target.fields.size(); ++j) {
        bind_text(at++, Value(b, r, source_col[j], target.fields[j]));
      }
      const char status = b.sync_status[r];
      bind_text(at++, &b.tongid[r]);
      sq::sqlite3_bind_text(st, at++, &status, 1, kSqliteTransient);
      sq::sqlite3_bind_int64(st, at++, b.dataversion[r]);
      sq::sqlite3_bind_int64(st, at++, b.create_time[r]);
      sq::sqlite3_bind_int64(st, at++, now_ms);
      bind_text(at++, &b.xk_lydw[r]);
      bind_text(at++, &b.xk_lydwdm[r]);
      bind_text(at++, &b.areacode[r]);
      const int rc = sq::sqlite3_step(st);
      if (rc == SQLITE_DONE) {
        ++(sq::sqlite3_changes(db) > 0 ? out.applied : out.unchanged);
        sq::sqlite3_reset(st);
        continue;
      }
      std::string message = sq::sqlite3_errmsg(db);
      sq::sqlite3_reset(st);
      // A refused row is undone alone (the statement's own rollback); anything that ends the
      // transaction (I/O, full disk, busy) fails the batch.
      if (!RowLevelSqliteError(rc) || sq::sqlite3_get_autocommit(db) != 0) {
        throw soci::sqlite3_soci_error(message, rc);
      }
      out.failures.push_back({r, SqlStore::ToError(soci::sqlite3_soci_error(message, rc)).message});
    }
    sq::sqlite3_clear_bindings(st);  // they point into this batch
    return out;
  });
}

}  // namespace

void PgCopyIn(soci::session& sql, const std::string& copy, const std::string& data) {
  PGconn* conn = PgOf(sql);
  PGresult* started = PQexec(conn, copy.c_str());
  if (PQresultStatus(started) != PGRES_COPY_IN) ThrowPg(conn, started);
  PQclear(started);
  bool sent = true;
  constexpr size_t kPiece = 1 << 20;
  for (size_t at = 0; sent && at < data.size(); at += kPiece) {
    const size_t n = std::min(kPiece, data.size() - at);
    sent = PQputCopyData(conn, data.data() + at, static_cast<int>(n)) == 1;
  }
  if (PQputCopyEnd(conn, sent ? nullptr : "client failed to send") != 1) sent = false;
  PGresult* failed = nullptr;
  while (PGresult* r = PQgetResult(conn)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && failed == nullptr) {
      failed = r;
    } else {
      PQclear(r);
    }
  }
  if (failed != nullptr) ThrowPg(conn, failed);
  if (!sent) ThrowPg(conn, nullptr);
}

Record RowBatch::ToRecord(size_t row, const std::vector<Field>& fields) const {
  Record r;
  r.tongid = tongid[row];
  r.sync_status = sync_status[row];
  r.dataversion = dataversion[row];
  r.create_time = create_time[row];
  r.xk_lydw = xk_lydw[row];
  r.xk_lydwdm = xk_lydwdm[row];
  r.areacode = areacode[row];
  r.seq = seq[row];
  for (size_t i = 0; i < width && i < fields.size(); ++i) {
    const std::string* v = Cell(row, i);
    r.values[fields[i].code] = v == nullptr ? std::nullopt : std::optional<std::string>(*v);
  }
  return r;
}

Result<RowBatch> ReadRowBatch(SqlStore& node, const Resource& resource, int64_t after,
                              int limit, RowBatch reuse) {
  return node.WithSession([&](soci::session& sql) -> Result<RowBatch> {
    TB_RETURN_IF_ERROR(CheckTable(sql, node.dialect(), resource));
    switch (node.backend()) {
      case SqlStore::Backend::kSqlite:
        ReadSqlite(sql, resource, after, limit, reuse);
        return std::move(reuse);
      case SqlStore::Backend::kPostgres:
        ReadPostgres(sql, resource, after, limit, reuse);
        return std::move(reuse);
      default:
        return ReadGeneric(sql, node.dialect(), resource, after, limit);
    }
  });
}

bool FastApplySupported(const SqlStore& node) {
  return node.backend() == SqlStore::Backend::kSqlite ||
         node.backend() == SqlStore::Backend::kPostgres;
}

Result<RowApply> ApplyRowBatch(SqlStore& node, const Resource& target, const RowBatch& batch,
                               const std::vector<int>& source_col, const std::vector<size_t>& rows,
                               int64_t now_ms) {
  if (node.backend() == SqlStore::Backend::kPostgres) {
    return ApplyPostgres(node, target, batch, source_col, rows, now_ms);
  }
  return ApplySqlite(node, target, batch, source_col, rows, now_ms);
}

std::string StagingTableName(std::string_view code) {
  constexpr size_t kMaxName = 63;  // PostgreSQL's NAMEDATALEN - 1
  std::string name = "tbs_" + std::string(code);
  if (name.size() <= kMaxName) return name;
  // FNV-1a: stable across processes and builds, unlike std::hash.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : code) h = (h ^ c) * 1099511628211ULL;
  char digest[17];
  std::snprintf(digest, sizeof(digest), "%016llx", static_cast<unsigned long long>(h));
  return "tbs_" + std::string(code.substr(0, 42)) + "_" + digest;
}

}  // namespace tongban::exchange
