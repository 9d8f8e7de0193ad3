// Outbox: the transactional outbox for messages to apps (directory changes,
// logout notices). Domain code enqueues inside the transaction that makes the
// change, so both commit or neither does; the push dispatcher (sso/) claims
// due messages, delivers them and records the outcome. All state is in SQL, so
// a crash or kill -9 loses nothing: delivery is at least once.
//
// Ordering: each message carries an ordering key naming the entity it is
// about ("u:<userid>", "o:<orgcoding>", ...). Per destination and key,
// messages are delivered in enqueue order: only the oldest pending message of
// its key is claimable, so a later message about the same entity never
// overtakes an earlier undelivered one (including one waiting for its retry).
// Messages about other entities go ahead, so one message an app keeps
// rejecting holds back only its own entity, not the app's whole queue. A
// message with an empty key is a barrier: it waits for every older pending
// message of its destination, and every younger one waits for it (rows written
// before keys existed have "" and so keep the old strict order).
// A message that fails max_attempts times becomes 'dead': it is recorded and
// skipped, and its key continues with the next message. An admin can Retry it
// later; it is then delivered before its key's remaining pending messages, but
// after those that went ahead.
//
// Thread-safe; several dispatchers (threads or nodes) may claim concurrently:
// a claim reserves a message for claim_timeout, and no two claims overlap.
// A claim takes at most one message per destination and none of a
// destination that has a message in flight, so an app receives one push at a
// time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sql_store.h"

namespace tongban {

enum class OutboxState { kPending, kDelivered, kDead };

// "pending", "delivered", "dead": the values of the state column.
std::string_view OutboxStateName(OutboxState state);

struct OutboxMessage {
  int64_t id = 0;  // increases in enqueue order
  std::string destination;
  std::string method;
  std::string payload;
  std::string ordering_key;  // the entity the message is about; "" = a barrier
  int64_t created_at_ms = 0;
  int attempts = 0;  // failed deliveries so far
  int64_t next_attempt_at_ms = 0;
  OutboxState state = OutboxState::kPending;
  std::string last_error;
  int64_t delivered_at_ms = 0;  // 0 unless delivered
};

struct OutboxCounts {
  int64_t pending = 0;
  int64_t delivered = 0;
  int64_t dead = 0;
  int64_t retrying = 0;  // pending ones that failed at least once
};

struct OutboxOptions {
  // The table (and migration module) this outbox lives in. The SSO's pushes use
  // "outbox"; a subsystem with its own consumers keeps its own table (the
  // approval stage records: "approval_outbox"), so no dispatcher claims the
  // other's messages.
  std::string table = "outbox";
  // Wait after the n-th failure: base_backoff * 2^(n-1), at most max_backoff.
  std::chrono::milliseconds base_backoff{1'000};
  std::chrono::milliseconds max_backoff{600'000};
  // Failures before a message is dead-lettered. The default gives up after
  // about two hours (1+2+...+512 s, then every 10 minutes).
  int max_attempts = 20;
  // How long a claim reserves a message. A dispatcher that dies mid-delivery
  // leaves its claim to lapse, and the message is claimed again. Must exceed
  // the longest delivery attempt.
  std::chrono::milliseconds claim_timeout{60'000};
  // How many messages one claim may take of one destination, each the oldest
  // pending one of its key (so none waits for another of the same claim),
  // earliest due first; still none of a destination with a claim in flight.
  // 1 = one message per claim (the SSO's pushes). A dispatcher that sends a
  // destination's claimed messages one after another still sends one at a
  // time, and a burst to one destination costs one claim instead of one per
  // message (the unit notifications of a payment burst: issue 18).
  size_t per_destination = 1;
  // Delivered messages are kept this long for the console and audits, then
  // deleted by ClaimDue (at most once per purge_interval per process), so a
  // busy outbox does not grow without end. 0 = keep them forever. Pending and
  // dead messages are never purged.
  std::chrono::milliseconds keep_delivered{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds purge_interval{std::chrono::hours(1)};
};

class Outbox {
 public:
  // The outbox table (module "outbox"), for SqlStore::Migrate.
  static std::vector<Migration> Migrations(std::string_view table = "outbox");

  // `store` must outlive the outbox and hold the outbox migrations.
  explicit Outbox(SqlStore& store, OutboxOptions options = {});
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Adds a message for `destination` inside the caller's transaction `tx`
  // (from SqlStore::WithTransaction); it becomes visible when `tx` commits
  // and vanishes if it rolls back. Returns the message id. On PostgreSQL it
  // holds a per-destination lock until `tx` ends, so that ids follow commit
  // order: enqueue near the end of long transactions. `ordering_key` names
  // the entity (see Ordering above); "" orders the message after and before
  // everything of its destination.
  // Errors: errc::kInvalidArgument (empty destination or method), or the
  // database's error (then return it, so that `tx` rolls back).
  Result<int64_t> Enqueue(soci::session& tx, std::string_view destination, std::string_view method,
                          std::string_view payload, int64_t now_ms,
                          std::string_view ordering_key = {});

  // Claims up to `limit` due messages, at most per_destination of one
  // destination and none of a destination with a message in flight; each the
  // oldest pending one of its ordering key; earliest due first. The caller must
  // then call MarkDelivered, MarkFailed or Release for each.
  Result<std::vector<OutboxMessage>> ClaimDue(int64_t now_ms, size_t limit);

  // Records a delivery. Marking a delivered message again succeeds.
  // Errors: errc::kNotFound; errc::kConflict if the message is dead.
  Status MarkDelivered(int64_t id, int64_t now_ms);

  // MarkDelivered for each of `ids` in one transaction. Every id is recorded
  // that can be; the first error (as MarkDelivered's) is returned after.
  Status MarkDelivered(const std::vector<int64_t>& ids, int64_t now_ms);

  // MarkDelivered(delivered) and then ClaimDue, in one transaction: a
  // dispatcher that claims again straight after a round of deliveries commits
  // once per round instead of twice (and writes the pages the two share
  // once). `marked` gets what MarkDelivered(ids) would return (the
  // transaction's error if it failed: then nothing is marked or claimed).
  Result<std::vector<OutboxMessage>> MarkDeliveredAndClaimDue(const std::vector<int64_t>& delivered,
                                                              int64_t now_ms, size_t limit,
                                                              Status& marked);

  // Gives back claimed messages that were not attempted (their destination
  // failed on an earlier one of the claim): claimable again at once, their
  // attempts unchanged. Messages no longer pending are left as they are.
  Status Release(const std::vector<int64_t>& ids);

  // Records a failed attempt: schedules the next one after the backoff, or
  // dead-letters the message after max_attempts. `error` is stored (bounded,
  // made valid UTF-8); it must not contain secrets.
  // Errors: errc::kNotFound; errc::kConflict if the message is not pending.
  Status MarkFailed(int64_t id, std::string_view error, int64_t now_ms);

  // Admin: makes a dead or pending message due now, with its attempts reset.
  // Errors: errc::kNotFound; errc::kConflict if it was already delivered.
  Status Retry(int64_t id);

  // Admin: Retry for every dead message of `destination`; returns how many.
  Result<int64_t> RetryAllDead(std::string_view destination);

  // For the console: messages in `state`, pending ones oldest first (queue
  // order), delivered and dead ones newest first.
  Result<std::vector<OutboxMessage>> List(OutboxState state, size_t limit, size_t offset = 0);

  // For metrics: how many messages are in each state.
  Result<OutboxCounts> Counts();

  // Deletes delivered messages delivered before `before_ms`; returns how many.
  Result<int64_t> PurgeDelivered(int64_t before_ms);

  const OutboxOptions& options() const { return options_; }

  // The wait after the `attempts`-th failure (attempts >= 1).
  std::chrono::milliseconds BackoffAfter(int attempts) const;

 private:
  // ClaimDue's and MarkDelivered(ids)'s work inside `sql`'s transaction;
  // MarkIn records the first per-message error in `first`.
  std::vector<OutboxMessage> ClaimIn(soci::session& sql, int64_t now_ms, size_t limit);
  void MarkIn(soci::session& sql, const std::vector<int64_t>& ids, int64_t now_ms, Status& first);

  // Deletes what keep_delivered allows when purge_interval has passed; a
  // failure is logged and retried at the next interval (claims go on).
  void PurgeWhenDue(int64_t now_ms);

  SqlStore& store_;
  OutboxOptions options_;
  std::atomic<int64_t> next_purge_ms_{0};
  std::string table_;
  std::string claimable_sql_;
  std::string claimable_prefix_sql_;
  // ClaimDue's and MarkDelivered(ids)'s statements, kept per pooled session
  // under these keys (the table's name in them: several outboxes share a store).
  struct KeptClaim;
  struct KeptMark;
  std::string claim_key_;
  std::string mark_key_;
  // Enqueue's INSERT, prepared once per pooled SQLite session: preparing it
  // was a third of an approval transition's cost. Entries of sessions that
  // SqlStore reconnected are kept unfinalized (their handle is gone).
  struct PreparedInsert;
  PreparedInsert* InsertFor(soci::session& tx);
  void DropInsert(soci::session& tx);
  std::mutex prepared_mu_;
  std::map<soci::session*, std::unique_ptr<PreparedInsert>> prepared_;
  std::vector<std::unique_ptr<PreparedInsert>> orphans_;
};

}  // namespace tongban
