#include "store/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace tongban {
namespace {

constexpr size_t kMaxErrorText = 1000;
// Lock class of the per-destination lock that orders enqueues ("ob"): ids are
// handed out before commit, so without it a later enqueue could commit first
// and be delivered ahead of an earlier one (sql_dialect::LockUntilCommit).
constexpr int kEnqueueLockClass = 0x6F62;

// {ID} never reuses ids (AUTOINCREMENT, BIGSERIAL, AUTO_INCREMENT), so ids
// order messages even after PurgeDelivered. MySQL has no partial indexes: there
// the two pending-only indexes cover every row.
constexpr const char* kSchema = R"sql(
CREATE TABLE outbox (
  id {ID},
  destination {KEY} NOT NULL,
  method {TEXT} NOT NULL,
  payload {TEXT} NOT NULL,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  state {KEY} NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  last_error {TEXT},
  delivered_at BIGINT
){END};
CREATE INDEX outbox_pending_by_destination ON outbox (destination, id){WHERE state = 'pending'};
CREATE INDEX outbox_pending_by_due ON outbox (next_attempt_at){WHERE state = 'pending'};
CREATE INDEX outbox_by_state ON outbox (state, id);
)sql";

// Version 2: the ordering key (see outbox.h). The index serves the
// "older message of the same key" lookups of ClaimDue.
constexpr const char* kVersion2 = R"sql(
ALTER TABLE outbox ADD COLUMN ordering_key {KEY} NOT NULL DEFAULT '';
CREATE INDEX outbox_pending_by_key ON outbox (destination, ordering_key, id){WHERE state = 'pending'};
)sql";

constexpr const char* kColumns =
    "id, destination, method, payload, ordering_key, created_at, attempts, next_attempt_at, "
    "state, COALESCE(last_error, ''), COALESCE(delivered_at, 0)";

// Due messages that are the oldest pending one of their key with no older
// barrier (empty key) before them, up to :per per destination (the earliest
// due), skipping destinations with a claim in flight. Such messages never wait
// for one another: two of one key cannot both be the oldest, and a barrier
// qualifies only with nothing older pending, and then nothing younger does. Each NOT EXISTS is an index
// range on (destination, ordering_key, id) or (destination, id). The
// destinations with a claim in flight are read once (NOT IN, uncorrelated;
// destination is NOT NULL): as a NOT EXISTS per candidate it read every
// pending row of the destination for each of up to :per candidates, so a
// claim of a unit's backlog of P cost P * min(P, per) row reads (issue 18).
#define TB_OUTBOX_CLAIMABLE_WHERE                                                           \
  "WHERE o.state = 'pending' AND o.next_attempt_at <= :now1 AND o.claimed_until <= :now2\n"   \
  "  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.destination = o.destination\n"            \
  "                  AND p.ordering_key = o.ordering_key AND p.state = 'pending'\n"           \
  "                  AND p.id < o.id)\n"                                                     \
  "  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.destination = o.destination\n"            \
  "                  AND p.ordering_key = '' AND p.state = 'pending' AND p.id < o.id)\n"      \
  "  AND (o.ordering_key <> '' OR NOT EXISTS (SELECT 1 FROM outbox p\n"                       \
  "       WHERE p.destination = o.destination AND p.state = 'pending' AND p.id < o.id))\n"
#define TB_OUTBOX_CLAIMABLE_TAIL                                                            \
  "WHERE c.rank_in_destination <= :per\n"                                                    \
  "  AND c.destination NOT IN (SELECT f.destination FROM outbox f\n"                         \
  "                            WHERE f.state = 'pending' AND f.claimed_until > :now3)\n"     \
  "ORDER BY c.next_attempt_at, c.id\n"                                                       \
  "LIMIT :n\n"

constexpr const char* kClaimableSql =
    "SELECT id, destination, method, payload, ordering_key, created_at, attempts,\n"
    "       next_attempt_at, state, COALESCE(last_error, ''), COALESCE(delivered_at, 0)\n"
    "FROM (\n"
    "  SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.destination\n"
    "                                 ORDER BY o.next_attempt_at, o.id) AS rank_in_destination\n"
    "  FROM outbox o\n" TB_OUTBOX_CLAIMABLE_WHERE
    ") c\n" TB_OUTBOX_CLAIMABLE_TAIL;

// The same claim over only the first :k claimable messages in due order (an
// index range on the due time that stops after :k), with how many there were.
// A message's rank in its destination counts only messages due before it,
// which that prefix holds whole, so the ranks are the full query's; and the
// result is the start of the full query's, in the same order. It is all of it
// when it has :n messages, or when the prefix held every claimable message
// (fewer than :k): the only case left for the full query is a short result
// from a full prefix (e.g. one destination's backlog ahead of the others with
// per_destination 1). Without it a claim read every pending message, so a
// backlog of P cost P row reads a claim (2.7 µs each on SQLite: a unit's
// backlog of 20,000 took 65 ms a claim of 256; issue 18, session 18).
constexpr const char* kClaimablePrefixSql =
    "SELECT id, destination, method, payload, ordering_key, created_at, attempts,\n"
    "       next_attempt_at, state, COALESCE(last_error, ''), COALESCE(delivered_at, 0),\n"
    "       prefix_rows\n"
    "FROM (\n"
    "  SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.destination\n"
    "                                 ORDER BY o.next_attempt_at, o.id) AS rank_in_destination,\n"
    "         COUNT(*) OVER () AS prefix_rows\n"
    "  FROM (SELECT o.* FROM outbox o /*due index*/\n" TB_OUTBOX_CLAIMABLE_WHERE
    "        ORDER BY o.next_attempt_at, o.id LIMIT :k) o\n"
    ") c\n" TB_OUTBOX_CLAIMABLE_TAIL;

#undef TB_OUTBOX_CLAIMABLE_WHERE
#undef TB_OUTBOX_CLAIMABLE_TAIL

// The prefix ClaimDue reads first: enough for a claim of one destination's
// burst (the unit notifier claims 256) and, at a few µs a message, cheap.
constexpr size_t kClaimPrefixRows = 256;

struct MessageRow {
  long long id = 0;
  std::string destination;
  std::string method;
  std::string payload;
  std::string ordering_key;
  long long created_at = 0;
  int attempts = 0;
  long long next_attempt_at = 0;
  std::string state;
  std::string last_error;
  long long delivered_at = 0;

  OutboxMessage ToMessage() const {
    OutboxMessage m;
    m.id = id;
    m.destination = destination;
    m.method = method;
    m.payload = payload;
    m.ordering_key = ordering_key;
    m.created_at_ms = created_at;
    m.attempts = attempts;
    m.next_attempt_at_ms = next_attempt_at;
    m.state = state == "delivered" ? OutboxState::kDelivered
              : state == "dead"    ? OutboxState::kDead
                                   : OutboxState::kPending;
    m.last_error = last_error;
    m.delivered_at_ms = delivered_at;
    return m;
  }
};

// Binds the kColumns of one row to `r`, in order.
void BindRow(soci::details::prepare_temp_type& p, MessageRow& r) {
  p, soci::into(r.id), soci::into(r.destination), soci::into(r.method), soci::into(r.payload),
      soci::into(r.ordering_key), soci::into(r.created_at), soci::into(r.attempts), soci::into(r.next_attempt_at),
      soci::into(r.state), soci::into(r.last_error), soci::into(r.delivered_at);
}

std::vector<OutboxMessage> FetchAll(soci::details::prepare_temp_type p) {
  MessageRow r;
  BindRow(p, r);
  soci::statement st(p);
  st.execute();
  std::vector<OutboxMessage> out;
  while (st.fetch()) out.push_back(r.ToMessage());
  return out;
}

long long Affected(const soci::details::prepare_temp_type& p) {
  soci::statement st(p);
  st.execute(true);
  return st.get_affected_rows();
}

// Error texts come from remote apps: keep them short, NUL-free and valid
// UTF-8 (PostgreSQL rejects anything else), replacing bad bytes with '?'.
std::string SanitizeText(std::string_view in) {
  std::string out;
  out.reserve(std::min(in.size(), kMaxErrorText));
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool valid = len > 0 && i + len <= in.size() && c != 0 && c != 0xC0 && c != 0xC1 && c < 0xF5;
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (!valid) len = 1;
    if (out.size() + len > kMaxErrorText) break;
    if (valid) {
      out.append(in.substr(i, len));
    } else {
      out.push_back('?');
    }
    i += len;
  }
  return out;
}

long long Clamp(size_t n) {
  return static_cast<long long>(std::min<size_t>(n, std::numeric_limits<long long>::max()));
}

}  // namespace

std::string_view OutboxStateName(OutboxState state) {
  switch (state) {
    case OutboxState::kPending:
      return "pending";
    case OutboxState::kDelivered:
      return "delivered";
    case OutboxState::kDead:
      return "dead";
  }
  return "pending";
}

namespace {

// `sql` with the table (and its indexes) renamed from "outbox" to `table`.
std::string ForTable(std::string_view sql, std::string_view table) {
  std::string out;
  out.reserve(sql.size() + 64);
  constexpr std::string_view kName = "outbox";
  size_t at = 0;
  for (size_t hit; (hit = sql.find(kName, at)) != std::string_view::npos; at = hit + kName.size()) {
    out.append(sql.substr(at, hit - at)).append(table);
  }
  out.append(sql.substr(at));
  return out;
}

// SQLite without statistics (no ANALYZE) reads the prefix through the index on
// state and sorts every pending message; named, the due-time index gives them
// in order and the scan stops at :k.
std::string ClaimablePrefixSql(std::string_view table, SqlDialect dialect) {
  std::string sql = ForTable(kClaimablePrefixSql, table);
  const std::string_view mark = "/*due index*/";
  const std::string hint = dialect == SqlDialect::kSqlite
                               ? "INDEXED BY " + std::string(table) + "_pending_by_due"
                               : std::string();
  sql.replace(sql.find(mark), mark.size(), hint);
  return sql;
}

}  // namespace

std::vector<Migration> Outbox::Migrations(std::string_view table) {
  return {PortableMigration(std::string(table), 1, ForTable(kSchema, table)),
          PortableMigration(std::string(table), 2, ForTable(kVersion2, table))};
}

struct Outbox::PreparedInsert {
  PreparedInsert(soci::session& tx, const std::string& sql)
      : backend(tx.get_backend()),
        statement((tx.prepare << sql, soci::use(destination), soci::use(method),
                   soci::use(payload), soci::use(ordering_key), soci::use(created_at),
                   soci::use(next_attempt_at), soci::into(id))) {}
  soci::details::session_backend* backend;
  std::string destination, method, payload, ordering_key;
  long long created_at = 0, next_attempt_at = 0, id = 0;
  soci::statement statement;
};

Outbox::~Outbox() {
  // Their connections were closed by SqlStore: finalizing could touch a freed handle.
  for (auto& orphan : orphans_) (void)orphan.release();
}

Outbox::PreparedInsert* Outbox::InsertFor(soci::session& tx) {
  std::lock_guard lock(prepared_mu_);
  std::unique_ptr<PreparedInsert>& slot = prepared_[&tx];
  if (slot != nullptr && slot->backend != tx.get_backend()) orphans_.push_back(std::move(slot));
  if (slot == nullptr) {
    slot = std::make_unique<PreparedInsert>(
        tx, "INSERT INTO " + table_ +
                " (destination, method, payload, ordering_key, created_at, next_attempt_at) "
                "VALUES (:d, :m, :p, :k, :c, :n) RETURNING id");
  }
  return slot.get();
}

void Outbox::DropInsert(soci::session& tx) {
  std::lock_guard lock(prepared_mu_);
  prepared_.erase(&tx);
}

Outbox::Outbox(SqlStore& store, OutboxOptions options)
    : store_(store),
      options_(options),
      table_(options_.table),
      claimable_sql_(ForTable(kClaimableSql, table_)),
      claimable_prefix_sql_(ClaimablePrefixSql(table_, store.dialect())),
      claim_key_("store.outbox.claim:" + table_),
      mark_key_("store.outbox.mark:" + table_) {}

std::chrono::milliseconds Outbox::BackoffAfter(int attempts) const {
  auto wait = options_.base_backoff;
  for (int i = 1; i < attempts && wait < options_.max_backoff; ++i) wait *= 2;
  return std::min(wait, options_.max_backoff);
}

Result<int64_t> Outbox::Enqueue(soci::session& tx, std::string_view destination,
                                std::string_view method, std::string_view payload, int64_t now_ms,
                                std::string_view ordering_key) {
  if (destination.empty()) return Error::InvalidArgument("outbox: empty destination");
  if (method.empty()) return Error::InvalidArgument("outbox: empty method");
  const SqlDialect dialect = store_.dialect();
  if (dialect == SqlDialect::kSqlite && tx.get_backend() != nullptr) {
    // SQLite has no advisory lock to take: one writer at a time already.
    PreparedInsert* insert = nullptr;
    try {
      insert = InsertFor(tx);
      insert->destination.assign(destination);
      insert->method.assign(method);
      insert->payload.assign(payload);
      insert->ordering_key.assign(ordering_key);
      insert->created_at = insert->next_attempt_at = now_ms;
      insert->statement.execute(true);
      const long long id = insert->id;
      // Stepping to the end resets the statement, so nothing stays open past COMMIT.
      while (insert->statement.fetch()) {
      }
      return static_cast<int64_t>(id);
    } catch (const std::exception& e) {
      DropInsert(tx);  // prepared afresh next time, from a known state
      return SqlStore::ToError(e);
    }
  }
  std::string d(destination), m(method), p(payload), k(ordering_key);
  long long now = now_ms;
  long long id = 0;
  try {
    sql_dialect::LockUntilCommit(tx, dialect, kEnqueueLockClass, d);
    std::string insert =
        "INSERT INTO " + table_ + " (destination, method, payload, ordering_key, created_at, "
        "next_attempt_at) VALUES (:d, :m, :p, :k, :c, :n)";
    if (sql_dialect::HasReturning(dialect)) {
      tx << insert + " RETURNING id", soci::use(d), soci::use(m), soci::use(p), soci::use(k),
          soci::use(now), soci::use(now), soci::into(id);
    } else {
      tx << insert, soci::use(d), soci::use(m), soci::use(p), soci::use(k), soci::use(now),
          soci::use(now);
      id = sql_dialect::LastInsertId(tx, dialect);
    }
  } catch (const std::exception& e) {
    return SqlStore::ToError(e);
  }
  return static_cast<int64_t>(id);
}

void Outbox::PurgeWhenDue(int64_t now_ms) {
  if (options_.keep_delivered.count() <= 0) return;
  int64_t due = next_purge_ms_.load(std::memory_order_relaxed);
  if (now_ms < due) return;
  // One caller per interval does it; the others go on claiming.
  if (!next_purge_ms_.compare_exchange_strong(due, now_ms + options_.purge_interval.count())) {
    return;
  }
  auto purged = PurgeDelivered(now_ms - options_.keep_delivered.count());
  if (!purged.ok()) {
    spdlog::warn("{}: purging delivered messages failed (retried in {} s): {}", table_,
                 options_.purge_interval.count() / 1000, purged.error().message);
  } else if (*purged > 0) {
    spdlog::info("{}: purged {} messages delivered more than {} days ago", table_, *purged,
                 options_.keep_delivered.count() / 86'400'000);
  }
}

// ClaimDue's two statements, kept per pooled session (SqlStore::KeptFor):
// compiling the window query was a quarter of the payment unit notifier's
// CPU (issue 18). Bound by address to the members below.
struct Outbox::KeptClaim : SqlStore::Kept {
  KeptClaim(soci::session& sql, const std::string& select_sql, const std::string& prefix_sql,
            const std::string& table)
      : select((sql.prepare << select_sql, soci::use(now, "now1"), soci::use(now, "now2"),
                soci::use(per, "per"), soci::use(now, "now3"), soci::use(n, "n"),
                soci::into(row.id), soci::into(row.destination), soci::into(row.method),
                soci::into(row.payload), soci::into(row.ordering_key),
                soci::into(row.created_at), soci::into(row.attempts),
                soci::into(row.next_attempt_at), soci::into(row.state),
                soci::into(row.last_error), soci::into(row.delivered_at))),
        select_prefix((sql.prepare << prefix_sql, soci::use(now, "now1"),
                       soci::use(now, "now2"), soci::use(k, "k"), soci::use(per, "per"),
                       soci::use(now, "now3"), soci::use(n, "n"), soci::into(row.id),
                       soci::into(row.destination), soci::into(row.method),
                       soci::into(row.payload), soci::into(row.ordering_key),
                       soci::into(row.created_at), soci::into(row.attempts),
                       soci::into(row.next_attempt_at), soci::into(row.state),
                       soci::into(row.last_error), soci::into(row.delivered_at),
                       soci::into(prefix_rows))),
        // Conditional, so of two dispatchers racing on PostgreSQL only one wins.
        claim((sql.prepare << "UPDATE " + table + " SET claimed_until = :u WHERE id = :id"
                              " AND state = 'pending' AND claimed_until <= :now",
               soci::use(until), soci::use(id), soci::use(now))) {}
  long long now = 0, per = 0, n = 0, k = 0, until = 0, id = 0, prefix_rows = 0;
  MessageRow row;
  soci::statement select;
  soci::statement select_prefix;
  soci::statement claim;
};

// MarkDelivered's UPDATE, kept likewise (one per claim of the unit notifier).
struct Outbox::KeptMark : SqlStore::Kept {
  KeptMark(soci::session& sql, const std::string& table)
      : mark((sql.prepare << "UPDATE " + table + " SET state = 'delivered', delivered_at = :now,"
                             " claimed_until = 0 WHERE id = :id AND state = 'pending'",
              soci::use(now), soci::use(id))) {}
  long long now = 0, id = 0;
  soci::statement mark;
};

Result<std::vector<OutboxMessage>> Outbox::ClaimDue(int64_t now_ms, size_t limit) {
  PurgeWhenDue(now_ms);
  if (limit == 0) return std::vector<OutboxMessage>();
  return store_.WithTransaction([&](soci::session& sql) -> Result<std::vector<OutboxMessage>> {
    return ClaimIn(sql, now_ms, limit);
  });
}

Result<std::vector<OutboxMessage>> Outbox::MarkDeliveredAndClaimDue(
    const std::vector<int64_t>& delivered, int64_t now_ms, size_t limit, Status& marked) {
  if (delivered.empty()) {
    marked = Status::Ok();
    return ClaimDue(now_ms, limit);
  }
  PurgeWhenDue(now_ms);
  Status first = Status::Ok();
  auto claimed =
      store_.WithTransaction([&](soci::session& sql) -> Result<std::vector<OutboxMessage>> {
        first = Status::Ok();  // a retried transaction starts afresh
        // The marks first: a destination whose messages are still claimed
        // (and a key whose older message is still pending) is not claimable.
        MarkIn(sql, delivered, now_ms, first);
        if (limit == 0) return std::vector<OutboxMessage>();
        return ClaimIn(sql, now_ms, limit);
      });
  marked = claimed.ok() ? first : claimed.error();
  return claimed;
}

std::vector<OutboxMessage> Outbox::ClaimIn(soci::session& sql, int64_t now_ms, size_t limit) {
  auto& k = store_.KeptFor<KeptClaim>(sql, claim_key_, [this](soci::session& s) {
    return std::make_unique<KeptClaim>(s, claimable_sql_, claimable_prefix_sql_, table_);
  });
  k.now = now_ms;
  k.n = Clamp(limit);
  k.k = Clamp(std::max(limit, kClaimPrefixRows));
  k.per = Clamp(std::max<size_t>(options_.per_destination, 1));
  std::vector<OutboxMessage> due;
  // The prefix first (kClaimablePrefixSql says when it is the whole answer).
  // Read to the end: a kept SELECT holds nothing open past the lease.
  k.prefix_rows = 0;
  k.select_prefix.execute();
  while (k.select_prefix.fetch()) due.push_back(k.row.ToMessage());
  if (due.size() < limit && (due.empty() || k.prefix_rows >= k.k)) {
    due.clear();
    k.select.execute();
    while (k.select.fetch()) due.push_back(k.row.ToMessage());
  }
  k.until = now_ms + options_.claim_timeout.count();
  std::vector<OutboxMessage> claimed;
  std::vector<std::string_view> lost;  // destinations another dispatcher claimed
  for (OutboxMessage& m : due) {
    // Once a destination's claim is lost, none of its later messages is
    // taken: the other dispatcher has its earlier ones in flight.
    if (std::find(lost.begin(), lost.end(), m.destination) != lost.end()) continue;
    k.id = m.id;
    k.claim.execute(true);
    if (k.claim.get_affected_rows() == 1) {
      claimed.push_back(std::move(m));
    } else {
      lost.push_back(m.destination);
    }
  }
  return claimed;
}

void Outbox::MarkIn(soci::session& sql, const std::vector<int64_t>& ids, int64_t now_ms,
                    Status& first) {
  auto& k = store_.KeptFor<KeptMark>(sql, mark_key_, [this](soci::session& s) {
    return std::make_unique<KeptMark>(s, table_);
  });
  k.now = now_ms;
  long long key = 0;
  for (int64_t id : ids) {
    key = k.id = id;
    k.mark.execute(true);
    if (k.mark.get_affected_rows() == 1) continue;
    std::string state;
    sql << "SELECT state FROM " + table_ + " WHERE id = :id", soci::use(key), soci::into(state);
    if (!sql.got_data()) {
      if (first.ok()) first = Error::NotFound("outbox: no such message");
    } else if (state != "delivered" && first.ok()) {
      first = Error::Conflict("outbox: message is " + state);
    }
  }
}

Status Outbox::MarkDelivered(int64_t id, int64_t now_ms) {
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long key = id;
    long long now = now_ms;
    if (Affected((sql.prepare << "UPDATE " + table_ + " SET state = 'delivered', delivered_at = :now,"
                                 " claimed_until = 0 WHERE id = :id AND state = 'pending'",
                  soci::use(now), soci::use(key))) == 1) {
      return Status::Ok();
    }
    std::string state;
    soci::indicator ind = soci::i_null;
    sql << "SELECT state FROM " + table_ + " WHERE id = :id", soci::use(key), soci::into(state, ind);
    if (!sql.got_data()) return Error::NotFound("outbox: no such message");
    if (state == "delivered") return Status::Ok();
    return Error::Conflict("outbox: message is " + state);
  });
}

Status Outbox::MarkDelivered(const std::vector<int64_t>& ids, int64_t now_ms) {
  if (ids.empty()) return Status::Ok();
  Status first = Status::Ok();
  Status written = store_.WithTransaction([&](soci::session& sql) -> Status {
    first = Status::Ok();  // a retried transaction starts afresh
    MarkIn(sql, ids, now_ms, first);
    return Status::Ok();
  });
  if (!written.ok()) return written;
  return first;
}

Status Outbox::Release(const std::vector<int64_t>& ids) {
  if (ids.empty()) return Status::Ok();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long key = 0;
    soci::statement release = (sql.prepare << "UPDATE " + table_ + " SET claimed_until = 0"
                                              " WHERE id = :id AND state = 'pending'",
                               soci::use(key));
    for (int64_t id : ids) {
      key = id;
      release.execute(true);
    }
    return Status::Ok();
  });
}

Status Outbox::MarkFailed(int64_t id, std::string_view error, int64_t now_ms) {
  std::string text = SanitizeText(error);
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long key = id;
    std::string state;
    int attempts = 0;
    std::string lock(sql_dialect::ForUpdate(store_.dialect()));
    sql << "SELECT state, attempts FROM " + table_ + " WHERE id = :id" + lock, soci::use(key),
        soci::into(state), soci::into(attempts);
    if (!sql.got_data()) return Error::NotFound("outbox: no such message");
    if (state != "pending") return Error::Conflict("outbox: message is " + state);
    ++attempts;
    std::string next_state = attempts >= options_.max_attempts ? "dead" : "pending";
    long long next = now_ms + BackoffAfter(attempts).count();
    sql << "UPDATE " + table_ + " SET attempts = :a, state = :s, next_attempt_at = :n,"
           " claimed_until = 0, last_error = :e WHERE id = :id",
        soci::use(attempts), soci::use(next_state), soci::use(next), soci::use(text),
        soci::use(key);
    return Status::Ok();
  });
}

Status Outbox::Retry(int64_t id) {
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long key = id;
    if (Affected((sql.prepare << "UPDATE " + table_ + " SET state = 'pending', attempts = 0,"
                                 " next_attempt_at = 0 WHERE id = :id"
                                 " AND state IN ('pending', 'dead')",
                  soci::use(key))) == 1) {
      return Status::Ok();
    }
    int count = 0;
    sql << "SELECT COUNT(*) FROM " + table_ + " WHERE id = :id", soci::use(key), soci::into(count);
    if (count == 0) return Error::NotFound("outbox: no such message");
    return Error::Conflict("outbox: message was already delivered");
  });
}

Result<int64_t> Outbox::RetryAllDead(std::string_view destination) {
  std::string d(destination);
  return store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    return static_cast<int64_t>(
        Affected((sql.prepare << "UPDATE " + table_ + " SET state = 'pending', attempts = 0,"
                                 " next_attempt_at = 0 WHERE destination = :d AND state = 'dead'",
                  soci::use(d))));
  });
}

Result<std::vector<OutboxMessage>> Outbox::List(OutboxState state, size_t limit, size_t offset) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<OutboxMessage>> {
    std::string s(OutboxStateName(state));
    long long n = Clamp(limit);
    long long skip = Clamp(offset);
    std::string order = state == OutboxState::kPending ? "id ASC" : "id DESC";
    return FetchAll((sql.prepare << std::string("SELECT ") + kColumns +
                                        " FROM " + table_ + " WHERE state = :s ORDER BY " + order +
                                        " LIMIT :n OFFSET :o",
                     soci::use(s), soci::use(n), soci::use(skip)));
  });
}

Result<OutboxCounts> Outbox::Counts() {
  return store_.WithSession([&](soci::session& sql) -> Result<OutboxCounts> {
    OutboxCounts counts;
    std::string state;
    long long n = 0;
    long long retrying = 0;
    soci::statement st =
        (sql.prepare << "SELECT state, COUNT(*), SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) "
                        "FROM " + table_ + " GROUP BY state",
         soci::into(state), soci::into(n), soci::into(retrying));
    st.execute();
    while (st.fetch()) {
      if (state == "pending") {
        counts.pending = n;
        counts.retrying = retrying;
      }
      if (state == "delivered") counts.delivered = n;
      if (state == "dead") counts.dead = n;
    }
    return counts;
  });
}

Result<int64_t> Outbox::PurgeDelivered(int64_t before_ms) {
  return store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    long long before = before_ms;
    return static_cast<int64_t>(
        Affected((sql.prepare << "DELETE FROM " + table_ + " WHERE state = 'delivered'"
                                 " AND delivered_at < :t",
                  soci::use(before))));
  });
}

}  // namespace tongban
