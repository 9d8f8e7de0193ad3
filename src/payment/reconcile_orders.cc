// soci-sqlite3.h wraps <sqlite3.h> in namespace sqlite_api, so it comes before
// anything else that could include it (as in exchange/batch.cc).
#include <soci/sqlite3/soci-sqlite3.h>

#include "payment/reconcile_orders.h"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

#include <cctype>
#include <charconv>
#include <memory>
#include <string>

namespace tongban::payment {
namespace {

namespace sq = sqlite_api;

constexpr const char* kColumns =
    "SELECT order_no, amount_fen, state, channel_serial, paid_at, disposition FROM payment_orders ";

// The two index ranges of ChannelPayments::OrdersCreatedOrPaid: placed in the
// window, then paid that day but placed outside it (so no order comes twice).
std::string DayQuery(const std::string& channel, const std::string& cf, const std::string& ct,
                     const std::string& pf, const std::string& pt) {
  return std::string(kColumns) + "WHERE channel = " + channel + " AND created_at >= " + cf +
         " AND created_at < " + ct + " UNION ALL " + kColumns + "WHERE channel = " + channel +
         " AND paid_at >= " + pf + " AND paid_at < " + pt + " AND state = 'paid' AND (created_at < " +
         cf + " OR created_at >= " + ct + ")";
}

std::string_view TextColumn(sq::sqlite3_stmt* st, int col) {
  const unsigned char* p = sq::sqlite3_column_text(st, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sq::sqlite3_column_bytes(st, col))};
}

Status ReadSqlite(soci::session& sql, const std::string& channel, int64_t cf, int64_t ct,
                  int64_t pf, int64_t pt, const std::function<void(const OrderView&)>& sink) {
  auto* backend = static_cast<soci::sqlite3_session_backend*>(sql.get_backend());
  if (backend == nullptr || backend->conn_ == nullptr) {
    return Error::Unavailable("no SQLite connection");
  }
  sq::sqlite3* db = backend->conn_;
  const std::string text = DayQuery("?1", "?2", "?3", "?4", "?5");
  sq::sqlite3_stmt* raw = nullptr;
  int rc = sq::sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()), &raw, nullptr);
  if (rc != SQLITE_OK) throw soci::sqlite3_soci_error(sq::sqlite3_errmsg(db), rc);
  std::unique_ptr<sq::sqlite3_stmt, int (*)(sq::sqlite3_stmt*)> st(raw, sq::sqlite3_finalize);
  sq::sqlite3_bind_text(raw, 1, channel.data(), static_cast<int>(channel.size()), nullptr);
  sq::sqlite3_bind_int64(raw, 2, cf);
  sq::sqlite3_bind_int64(raw, 3, ct);
  sq::sqlite3_bind_int64(raw, 4, pf);
  sq::sqlite3_bind_int64(raw, 5, pt);
  OrderView o;
  while ((rc = sq::sqlite3_step(raw)) == SQLITE_ROW) {
    o.order_no = TextColumn(raw, 0);
    o.amount_fen = sq::sqlite3_column_int64(raw, 1);
    o.state = TextColumn(raw, 2);
    o.channel_serial = TextColumn(raw, 3);
    o.paid_at_ms = sq::sqlite3_column_int64(raw, 4);
    o.disposition = TextColumn(raw, 5);
    sink(o);
  }
  if (rc != SQLITE_DONE) throw soci::sqlite3_soci_error(sq::sqlite3_errmsg(db), rc);
  return Status::Ok();
}

// COPY's text format escapes backslash, tab, newline, carriage return (and may
// use \b \f \v and octal/hex bytes); decoded into `scratch` only when needed.
std::string_view CopyField(std::string_view f, std::string& scratch) {
  if (f.find('\\') == std::string_view::npos) return f;
  scratch.clear();
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c != '\\' || i + 1 == f.size()) {
      scratch.push_back(c);
      continue;
    }
    char e = f[++i];
    switch (e) {
      case 'b': scratch.push_back('\b'); break;
      case 'f': scratch.push_back('\f'); break;
      case 'n': scratch.push_back('\n'); break;
      case 'r': scratch.push_back('\r'); break;
      case 't': scratch.push_back('\t'); break;
      case 'v': scratch.push_back('\v'); break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < f.size() && std::isxdigit(static_cast<unsigned char>(f[i + 1]))) {
          char h = f[++i];
          v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++n;
        }
        scratch.push_back(static_cast<char>(v));
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', n = 1;
          while (n < 3 && i + 1 < f.size() && f[i + 1] >= '0' && f[i + 1] <= '7') {
            v = v * 8 + (f[++i] - '0');
            ++n;
          }
          scratch.push_back(static_cast<char>(v));
        } else {
          scratch.push_back(e);
        }
    }
  }
  return scratch;
}

[[noreturn]] void ThrowPg(PGconn* conn, PGresult* res) {
  std::string message = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  if (res != nullptr) PQclear(res);
  throw soci::postgresql_soci_error(message, sqlstate.c_str());
}

Status ReadPostgres(soci::session& sql, const std::string& channel, int64_t cf, int64_t ct,
                    int64_t pf, int64_t pt, const std::function<void(const OrderView&)>& sink) {
  auto* backend = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
  if (backend == nullptr || backend->conn_ == nullptr) {
    return Error::Unavailable("no PostgreSQL connection");
  }
  PGconn* conn = backend->conn_;
  // COPY takes no parameters: the channel code goes in as an escaped literal.
  std::unique_ptr<char, void (*)(void*)> literal(
      PQescapeLiteral(conn, channel.data(), channel.size()), PQfreemem);
  if (!literal) ThrowPg(conn, nullptr);
  const std::string text = "COPY (" +
                           DayQuery(literal.get(), std::to_string(cf), std::to_string(ct),
                                    std::to_string(pf), std::to_string(pt)) +
                           ") TO STDOUT";
  PGresult* res = PQexec(conn, text.c_str());
  if (PQresultStatus(res) != PGRES_COPY_OUT) ThrowPg(conn, res);
  PQclear(res);
  OrderView o;
  std::string scratch[4];
  bool bad = false;
  while (true) {
    char* row = nullptr;
    int n = PQgetCopyData(conn, &row, 0);
    if (n < 0) break;
    std::unique_ptr<char, void (*)(void*)> owned(row, PQfreemem);
    std::string_view line(row, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    std::string_view f[6];
    size_t count = 0, start = 0;
    while (count < 6) {
      size_t tab = line.find('\t', start);
      f[count++] = line.substr(start, tab == std::string_view::npos ? tab : tab - start);
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    long long amount = 0, paid = 0;
    if (count != 6 ||
        std::from_chars(f[1].data(), f[1].data() + f[1].size(), amount).ec != std::errc() ||
        std::from_chars(f[4].data(), f[4].data() + f[4].size(), paid).ec != std::errc()) {
      bad = true;  // keep draining: the connection must leave the COPY state
      continue;
    }
    o.order_no = CopyField(f[0], scratch[0]);
    o.amount_fen = amount;
    o.state = CopyField(f[2], scratch[1]);
    o.channel_serial = CopyField(f[3], scratch[2]);
    o.paid_at_ms = paid;
    o.disposition = CopyField(f[5], scratch[3]);
    sink(o);
  }
  res = PQgetResult(conn);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) ThrowPg(conn, res);
  PQclear(res);
  while ((res = PQgetResult(conn)) != nullptr) PQclear(res);
  if (bad) return Error::Internal("unreadable row in the COPY of payment_orders");
  return Status::Ok();
}

}  // namespace

Status ForEachOrderOfDay(ChannelPayments& payments, int64_t created_from, int64_t created_to,
                         int64_t paid_from, int64_t paid_to,
                         const std::function<void(const OrderView&)>& sink) {
  SqlStore& store = payments.store();
  const std::string channel(payments.channel().code());
  if (store.backend() == SqlStore::Backend::kSqlite ||
      store.backend() == SqlStore::Backend::kPostgres) {
    return store.WithSession([&](soci::session& sql) -> Status {
      return store.backend() == SqlStore::Backend::kSqlite
                 ? ReadSqlite(sql, channel, created_from, created_to, paid_from, paid_to, sink)
                 : ReadPostgres(sql, channel, created_from, created_to, paid_from, paid_to, sink);
    });
  }
  // MySQL and ODBC: SOCI's rows, converted.
  auto orders = payments.OrdersCreatedOrPaid(created_from, created_to, paid_from, paid_to);
  if (!orders.ok()) return std::move(orders).error();
  OrderView v;
  for (const PaymentOrder& o : *orders) {
    v.order_no = o.order_no;
    v.amount_fen = o.amount_fen;
    v.state = o.state;
    v.channel_serial = o.channel_serial;
    v.paid_at_ms = o.paid_at_ms;
    v.disposition = o.disposition;
    sink(v);
  }
  return Status::Ok();
}

}  // namespace tongban::payment
