#include "payment/paid_days.h"

#include <string>

#include "store/sql_dialect.h"

namespace tongban::payment {
namespace {

// A row per (channel, day, shard). PostgreSQL and MySQL spread a day's count
// over the connection's shard: concurrent payment transactions (other nodes'
// lanes) then rarely wait on one row until the other commits. SQLite has one
// writer; one row a day. `paid` is the net count; `changes` only grows (every
// firing adds 1), so that a reader can tell "nothing changed" from "one order
// left the day and another came".
constexpr const char* kTable = R"sql(
CREATE TABLE payment_paid_days (
  channel {KEY} NOT NULL,
  day_no BIGINT NOT NULL,
  shard INTEGER NOT NULL,
  paid BIGINT NOT NULL,
  changes BIGINT NOT NULL,
  PRIMARY KEY (channel, day_no, shard)
){END};
)sql";

// The orders already paid when the triggers arrive, under shard 16 (no
// connection's: the triggers use 0-15). Run while no payment can commit: the
// migration's transaction holds SQLite's write lock; PostgreSQL's and MySQL's
// scripts lock payment_orders first.
constexpr const char* kBackfill =
    "INSERT INTO payment_paid_days (channel, day_no, shard, paid, changes) "
    "SELECT channel, {DAY}, 16, COUNT(*), COUNT(*) FROM payment_orders WHERE paid_at > 0 "
    "GROUP BY channel, {DAY};\n";

std::string DayOf(std::string_view row, SqlDialect dialect) {
  const std::string at = std::string(row) + ".paid_at";
  // Integer division: paid times are positive, so truncation is the floor.
  if (dialect == SqlDialect::kMySql) return "((" + at + " + 28800000) DIV 86400000)";
  return "((" + at + " + 28800000) / 86400000)";
}

std::string Replace(std::string text, std::string_view tag, std::string_view with) {
  for (size_t at; (at = text.find(tag)) != std::string::npos;) text.replace(at, tag.size(), with);
  return text;
}

// One count moved by `delta` for the row `row` (NEW or OLD) names.
std::string Bump(std::string_view row, int delta, SqlDialect dialect) {
  const std::string r(row);
  const std::string values = "VALUES (" + r + ".channel, " + DayOf(row, dialect) + ", " +
                             (dialect == SqlDialect::kPostgres ? "pg_backend_pid() % 16"
                              : dialect == SqlDialect::kMySql  ? "CONNECTION_ID() % 16"
                                                               : "0") +
                             ", " + std::to_string(delta) + ", 1)";
  const std::string insert =
      "INSERT INTO payment_paid_days (channel, day_no, shard, paid, changes) " + values;
  if (dialect == SqlDialect::kMySql) {
    return insert +
           " ON DUPLICATE KEY UPDATE paid = paid + VALUES(paid), changes = changes + 1;";
  }
  if (dialect == SqlDialect::kPostgres) {
    return insert +
           " ON CONFLICT (channel, day_no, shard) DO UPDATE SET paid = payment_paid_days.paid + "
           "EXCLUDED.paid, changes = payment_paid_days.changes + 1;";
  }
  return insert +
         " ON CONFLICT (channel, day_no, shard) DO UPDATE SET paid = paid + excluded.paid, "
         "changes = changes + 1;";
}

// The triggers. A row counts while its paid_at is > 0 (0 = not paid); an
// update counts only when the paid time or the channel changed.
std::string Triggers(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kSqlite: {
      const char* moved =
          "(OLD.paid_at IS NOT NEW.paid_at OR OLD.channel IS NOT NEW.channel)";
      return "CREATE TRIGGER payment_paid_days_insert AFTER INSERT ON payment_orders "
             "WHEN NEW.paid_at > 0 BEGIN " + Bump("NEW", 1, dialect) + " END;\n"
             "CREATE TRIGGER payment_paid_days_delete AFTER DELETE ON payment_orders "
             "WHEN OLD.paid_at > 0 BEGIN " + Bump("OLD", -1, dialect) + " END;\n"
             "CREATE TRIGGER payment_paid_days_update_out AFTER UPDATE OF channel, paid_at ON "
             "payment_orders WHEN OLD.paid_at > 0 AND " + moved + " BEGIN " +
             Bump("OLD", -1, dialect) + " END;\n"
             "CREATE TRIGGER payment_paid_days_update_in AFTER UPDATE OF channel, paid_at ON "
             "payment_orders WHEN NEW.paid_at > 0 AND " + moved + " BEGIN " +
             Bump("NEW", 1, dialect) + " END;\n";
    }
    case SqlDialect::kPostgres:
      return "CREATE FUNCTION payment_paid_days_fn() RETURNS trigger AS $$ BEGIN "
             "IF TG_OP = 'UPDATE' AND OLD.paid_at IS NOT DISTINCT FROM NEW.paid_at AND "
             "OLD.channel IS NOT DISTINCT FROM NEW.channel THEN RETURN NULL; END IF; "
             "IF TG_OP <> 'INSERT' THEN IF OLD.paid_at > 0 THEN " + Bump("OLD", -1, dialect) +
             " END IF; END IF; "
             "IF TG_OP <> 'DELETE' THEN IF NEW.paid_at > 0 THEN " + Bump("NEW", 1, dialect) +
             " END IF; END IF; "
             "RETURN NULL; END $$ LANGUAGE plpgsql;\n"
             "CREATE TRIGGER payment_paid_days AFTER INSERT OR DELETE OR UPDATE OF channel, "
             "paid_at ON payment_orders FOR EACH ROW EXECUTE FUNCTION payment_paid_days_fn();\n";
    case SqlDialect::kMySql:
      return "CREATE TRIGGER payment_paid_days_insert AFTER INSERT ON payment_orders FOR EACH "
             "ROW BEGIN IF NEW.paid_at > 0 THEN " + Bump("NEW", 1, dialect) +
             " END IF; END;\n"
             "CREATE TRIGGER payment_paid_days_delete AFTER DELETE ON payment_orders FOR EACH "
             "ROW BEGIN IF OLD.paid_at > 0 THEN " + Bump("OLD", -1, dialect) +
             " END IF; END;\n"
             "CREATE TRIGGER payment_paid_days_update AFTER UPDATE ON payment_orders FOR EACH "
             "ROW BEGIN IF NOT (OLD.paid_at <=> NEW.paid_at AND OLD.channel <=> NEW.channel) "
             "THEN IF OLD.paid_at > 0 THEN " + Bump("OLD", -1, dialect) +
             " END IF; IF NEW.paid_at > 0 THEN " + Bump("NEW", 1, dialect) +
             " END IF; END IF; END;\n";
  }
  return "";
}

std::string Script(SqlDialect dialect) {
  const std::string body = Replace(kBackfill, "{DAY}", DayOf("payment_orders", dialect)) +
                           Triggers(dialect);
  const std::string table = sql_dialect::ExpandSchema(kTable, dialect);
  switch (dialect) {
    case SqlDialect::kPostgres:
      // Held to the migration's commit: no payment commits between the
      // backfill's snapshot and the triggers.
      return table + "LOCK TABLE payment_orders IN SHARE ROW EXCLUSIVE MODE;\n" + body;
    case SqlDialect::kMySql:
      // Each DDL statement commits on its own: the tables stay locked across them.
      return table + "LOCK TABLES payment_orders WRITE, payment_paid_days WRITE;\n" + body +
             "UNLOCK TABLES;\n";
    case SqlDialect::kSqlite:
      break;
  }
  return table + body;  // the migration's transaction holds the write lock
}

}  // namespace

Migration PaidDaysMigration() {
  Migration m = PortableMigration("payment_paid_days", 1, "");
  m.sqlite = Script(SqlDialect::kSqlite);
  m.postgres = Script(SqlDialect::kPostgres);
  m.mysql = Script(SqlDialect::kMySql);
  return m;
}

Result<PaidDay> PaidOnDay(SqlStore& store, std::string_view channel, int64_t day_start_ms) {
  const std::string ch(channel);
  return store.WithSession([&](soci::session& sql) -> Result<PaidDay> {
    long long day = ChinaDayNumber(day_start_ms), paid = 0, changes = 0;
    PaidDay total;
    soci::statement st = (sql.prepare << "SELECT paid, changes FROM payment_paid_days WHERE "
                                         "channel = :c AND day_no = :d",
                          soci::use(ch), soci::use(day), soci::into(paid), soci::into(changes));
    st.execute();
    while (st.fetch()) {
      total.paid += paid;
      total.changes += changes;
    }
    return total;
  });
}

}  // namespace tongban::payment
