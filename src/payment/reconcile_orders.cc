// soci-sqlite3.h wraps <sqlite3.h> in namespace sqlite_api, so it comes before
// anything else that could include it (as in exchange/batch.cc).
#include <soci/sqlite3/soci-sqlite3.h>

#include "payment/reconcile_orders.h"

#include "store/native_sql.h"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

#include <cctype>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#include <memory>
#include <string>

namespace tongban::payment {
namespace {

namespace sq = sqlite_api;

constexpr const char* kColumns =
    "SELECT order_no, amount_fen, state, channel_serial, paid_at, disposition FROM payment_orders ";

// The placement window is read in kSlices slices of time, then the orders
// paid that day but placed outside the window (so no order comes twice: an
// order's created_at never changes).
constexpr size_t kSlices = 16;

// One part's query: the placement slice [from, to), or (paid_outside) the
// orders paid in [pf, pt) placed outside the window [cf, ct).
std::string PartQuery(bool paid_outside, const std::string& channel, const std::string& from,
                      const std::string& to, const std::string& cf, const std::string& ct,
                      const std::string& pf, const std::string& pt) {
  if (!paid_outside) {
    return std::string(kColumns) + "WHERE channel = " + channel + " AND created_at >= " + from +
           " AND created_at < " + to;
  }
  return std::string(kColumns) + "WHERE channel = " + channel + " AND paid_at >= " + pf +
         " AND paid_at < " + pt + " AND state = 'paid' AND (created_at < " + cf +
         " OR created_at >= " + ct + ")";
}

struct Part {
  bool paid_outside;
  int64_t from, to;             // the placement slice
  int64_t cf, ct, pf, pt;       // the window and the day
};

std::string_view TextColumn(sq::sqlite3_stmt* st, int col) {
  const unsigned char* p = sq::sqlite3_column_text(st, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sq::sqlite3_column_bytes(st, col))};
}

Status ReadSqlite(soci::session& sql, const std::string& channel, const Part& part,
                  const std::function<void(const OrderView&)>& sink) {
  sq::sqlite3* db = native_sql::SqliteOf(sql);
  const std::string text = PartQuery(part.paid_outside, "?1", "?2", "?3", "?4", "?5", "?6", "?7");
  sq::sqlite3_stmt* raw = nullptr;
  int rc = sq::sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()), &raw, nullptr);
  if (rc != SQLITE_OK) native_sql::ThrowSqlite(db, rc);
  std::unique_ptr<sq::sqlite3_stmt, int (*)(sq::sqlite3_stmt*)> st(raw, sq::sqlite3_finalize);
  sq::sqlite3_bind_text(raw, 1, channel.data(), static_cast<int>(channel.size()), nullptr);
  // Only the parameters the part's query names are bound (the others are absent).
  if (!part.paid_outside) {
    sq::sqlite3_bind_int64(raw, 2, part.from);
    sq::sqlite3_bind_int64(raw, 3, part.to);
  } else {
    sq::sqlite3_bind_int64(raw, 4, part.cf);
    sq::sqlite3_bind_int64(raw, 5, part.ct);
    sq::sqlite3_bind_int64(raw, 6, part.pf);
    sq::sqlite3_bind_int64(raw, 7, part.pt);
  }
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
  if (rc != SQLITE_DONE) native_sql::ThrowSqlite(db, rc);
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

Status ReadPostgres(soci::session& sql, const std::string& channel, const Part& part,
                    const std::function<void(const OrderView&)>& sink) {
  PGconn* conn = native_sql::PgOf(sql);
  // COPY takes no parameters: the channel code goes in as an escaped literal.
  std::unique_ptr<char, void (*)(void*)> literal(
      PQescapeLiteral(conn, channel.data(), channel.size()), PQfreemem);
  if (!literal) native_sql::ThrowPg(conn, nullptr);
  const std::string text = "COPY (" +
                           PartQuery(part.paid_outside, literal.get(), std::to_string(part.from),
                                     std::to_string(part.to), std::to_string(part.cf),
                                     std::to_string(part.ct), std::to_string(part.pf),
                                     std::to_string(part.pt)) +
                           ") TO STDOUT";
  PGresult* res = PQexec(conn, text.c_str());
  if (PQresultStatus(res) != PGRES_COPY_OUT) native_sql::ThrowPg(conn, res);
  PQclear(res);
  OrderView o;
  std::string scratch[4];
  bool bad = false;
  std::exception_ptr thrown;
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
    if (thrown) continue;
    try {
      sink(o);
    } catch (...) {
      // Rethrown once the COPY is drained: a pooled connection left in the
      // COPY state would fail its next user's every statement.
      thrown = std::current_exception();
    }
  }
  res = PQgetResult(conn);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) native_sql::ThrowPg(conn, res);
  PQclear(res);
  while ((res = PQgetResult(conn)) != nullptr) PQclear(res);
  if (thrown) std::rethrow_exception(thrown);
  if (bad) return Error::Internal("unreadable row in the COPY of payment_orders");
  return Status::Ok();
}

}  // namespace

DayOrders::DayOrders(ChannelPayments& payments, int64_t created_from, int64_t created_to,
                     int64_t paid_from, int64_t paid_to)
    : payments_(payments),
      created_from_(created_from),
      created_to_(created_to),
      paid_from_(paid_from),
      paid_to_(paid_to),
      native_(payments.store().backend() == SqlStore::Backend::kSqlite ||
              payments.store().backend() == SqlStore::Backend::kPostgres),
      parts_(native_ ? kSlices + 1 : 1) {}

Status DayOrders::ReadPart(size_t part, const std::function<void(size_t, const OrderView&)>& sink) {
  auto to_part = [&](const OrderView& o) { sink(part, o); };
  if (!native_) {
    // MySQL and ODBC: SOCI's rows, converted.
    auto orders =
        payments_.OrdersCreatedOrPaid(created_from_, created_to_, paid_from_, paid_to_);
    if (!orders.ok()) return std::move(orders).error();
    OrderView v;
    for (const PaymentOrder& o : *orders) {
      v.order_no = o.order_no;
      v.amount_fen = o.amount_fen;
      v.state = o.state;
      v.channel_serial = o.channel_serial;
      v.paid_at_ms = o.paid_at_ms;
      v.disposition = o.disposition;
      to_part(v);
    }
    return Status::Ok();
  }
  const int64_t span = created_to_ - created_from_;
  Part p{part == kSlices, 0, 0, created_from_, created_to_, paid_from_, paid_to_};
  if (!p.paid_outside) {
    p.from = created_from_ + span * static_cast<int64_t>(part) / static_cast<int64_t>(kSlices);
    p.to = part + 1 == kSlices
               ? created_to_
               : created_from_ + span * static_cast<int64_t>(part + 1) / static_cast<int64_t>(kSlices);
  }
  SqlStore& store = payments_.store();
  const std::string channel(payments_.channel().code());
  return store.WithSession([&](soci::session& sql) -> Status {
    return store.backend() == SqlStore::Backend::kSqlite ? ReadSqlite(sql, channel, p, to_part)
                                                         : ReadPostgres(sql, channel, p, to_part);
  });
}

Status OrdersByNumber(ChannelPayments& payments, const std::vector<std::string_view>& order_nos,
                      int64_t created_from, int64_t created_to, int64_t paid_from,
                      int64_t paid_to, const std::function<void(size_t, const OrderView&)>& sink) {
  if (order_nos.empty()) return Status::Ok();
  const std::string channel(payments.channel().code());
  return payments.store().WithSession([&](soci::session& sql) -> Status {
    std::string key, order_no, state, serial, disposition;
    long long amount = 0, paid_at = 0, created_at = 0;
    soci::statement st =
        (sql.prepare << "SELECT order_no, amount_fen, state, channel_serial, paid_at, "
                        "disposition, created_at FROM payment_orders WHERE order_no = :o AND "
                        "channel = :c",
         soci::use(key), soci::use(channel), soci::into(order_no), soci::into(amount),
         soci::into(state), soci::into(serial), soci::into(paid_at), soci::into(disposition),
         soci::into(created_at));
    for (size_t i = 0; i < order_nos.size(); ++i) {
      key.assign(order_nos[i]);
      if (!st.execute(true)) continue;
      const bool placed = created_at >= created_from && created_at < created_to;
      const bool paid = state == "paid" && paid_at >= paid_from && paid_at < paid_to;
      if (!placed && !paid) continue;  // DayOrders would not have read it
      sink(i, OrderView{order_no, amount, state, serial, paid_at, disposition});
    }
    return Status::Ok();
  });
}

Status DayOrders::ForEach(size_t threads,
                          const std::function<void(size_t, const OrderView&)>& sink) {
  threads = std::clamp<size_t>(threads, 1, parts_);
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status failed = Status::Ok();
  std::atomic<bool> stop{false};
  auto work = [&] {
    for (size_t part; !stop.load() && (part = next.fetch_add(1)) < parts_;) {
      Status s = ReadPart(part, sink);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (failed.ok()) failed = s;
        stop = true;
      }
    }
  };
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < threads; ++i) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  return failed;
}

}  // namespace tongban::payment
