// The delivery engine: moves the changes of a task's provider table to each subscriber.
// Change capture by a high-water mark over the provider's monotone tong_seq (never a time
// comparison); deletes travel as sync_status D rows; each batch is applied on the subscriber
// in ONE transaction with an idempotent upsert on (tongid, dataversion) — insert when absent,
// update only when newer — so replays and reordering never move data backwards. Rows that
// fail go to exchange_dead_letters with the reason while the rest of the batch moves. The
// high-water mark is saved in tongban's database only after the subscriber commits: a crash
// in between replays the batch, which the idempotent apply makes harmless.
// Used by the runner (runner.h), the API (run once, dead letters, health) and web access.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "exchange/meta.h"
#include "exchange/model.h"
#include "store/sql_store.h"

namespace tongban::exchange {

// Connections to the nodes, opened on first use from their sealed urls and kept; a node whose
// connection failed is reopened on the next use. Records each node's last outcome (health).
class NodePool {
 public:
  static constexpr int64_t kRetiredGraceMs = 60'000;
  explicit NodePool(ExchangeMeta& meta, size_t sessions_per_node = 2,
                    int64_t retired_grace_ms = kRetiredGraceMs);
  ~NodePool();

  // The node's store, held by the caller for as long as it uses it.
  Result<std::shared_ptr<SqlStore>> Acquire(int64_t node_id);
  // The same as a pointer, for use within one call (see Drop).
  Result<SqlStore*> Get(int64_t node_id);
  // Forgets the connection (after an unavailable error), so the next Get reopens it. The old
  // store is freed once no Acquire holder has it and the grace (kRetiredGraceMs) has passed
  // (checked at the next Drop).
  void Drop(int64_t node_id);
  size_t RetiredCount();  // dropped stores not yet freed
  void Record(int64_t node_id, const Status& outcome);

  struct Health {
    bool ok = false;
    std::string last_error;  // "" when ok
    int64_t checked_ms = 0;
  };
  std::map<int64_t, Health> HealthSnapshot();

 private:
  ExchangeMeta& meta_;
  size_t sessions_;
  int64_t retired_grace_ms_;
  std::mutex mu_;
  std::map<int64_t, std::shared_ptr<SqlStore>> open_;
  struct Retired {
    std::shared_ptr<SqlStore> store;
    int64_t since_ms;  // steady clock
  };
  std::vector<Retired> retired_;  // dropped, maybe still in use
  std::map<int64_t, Health> health_;
};

// What one batch for one subscriber did.
struct BatchReport {
  int64_t subscriber_id = 0;
  int read = 0;       // rows read from the provider (vertical: changed field rows)
  int filtered = 0;   // left out by the task's filter
  int applied = 0;    // inserted or updated on the subscriber
  int unchanged = 0;  // the subscriber already held that version or a newer one
  int dead = 0;       // sent to the dead-letter list
  int64_t hwm_before = 0;
  int64_t hwm_after = 0;
  bool more = false;  // a full batch was read: more may be waiting
};

// Progress of one task for one subscriber, kept in exchange_progress.
struct Progress {
  int64_t task_id = 0;
  int64_t subscriber_id = 0;
  int64_t hwm = 0;
  int64_t rows_applied = 0;
  int64_t rows_dead = 0;
  int64_t last_run_ms = 0;
  int64_t last_ok_ms = 0;
  std::string last_error;
  int64_t failures = 0;
  int64_t next_attempt_ms = 0;  // backoff: no attempt before this
};

struct DeadLetter {
  int64_t id = 0;
  int64_t task_id = 0;
  int64_t subscriber_id = 0;
  std::string tongid;
  int64_t dataversion = 0;
  std::string payload;  // the provider record as JSON (RecordToJson)
  std::string reason;
  std::string state;  // "open" or "resolved"
  int64_t attempts = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Outcome of writing records into one table (subscriber apply, or web access push).
struct ApplyReport {
  int applied = 0;
  int unchanged = 0;
  struct Failure {
    size_t index;  // into the records given
    std::string reason;
  };
  std::vector<Failure> failures;
};

// JSON forms of a record: horizontal {"tongid":…, "sync_status":…, "dataversion":…, …,
// "fields": {code: value|null}}; RecordFromJson also accepts the vertical shape
// {"tongid":…, "record_key":…, "values": [{"field_code":…, "field_value":…}, …]}.
std::string RecordToJson(const Record& record);
Result<Record> RecordFromJson(const std::string& json);

// Checks a value against its field definition: type, length, required. "" = fine, else the
// reason, naming the field and what it expects but never repeating the value (it may be
// an ID number; reasons reach dead letters, logs and the console).
std::string CheckValue(const Field& field, const std::optional<std::string>& value);
// The same for a value that may be absent (nullptr = NULL), without copying it.
std::string CheckValueAt(const Field& field, const std::string* value);

class DeliveryEngine {
 public:
  DeliveryEngine(ExchangeMeta& meta, NodePool& nodes, Clock& clock);

  // One batch from the provider to one subscriber. `save_progress` = false leaves the
  // high-water mark where it was (tests use it to act out a crash after the subscriber's
  // commit). On a failure (a node down, a table that does not fit) the error is returned,
  // recorded in the progress row and the subscriber backs off (1 s doubling to 5 min).
  Result<BatchReport> DeliverBatch(const Task& task, const Subscriber& subscriber,
                                   bool save_progress = true);

  // Batches for every subscriber not in backoff until each is caught up, `max_batches`
  // per subscriber are done, or `keep_going` returns false (the runner's lease was lost).
  // `force` ignores backoff. Returns one report per batch; the first error is returned
  // after the other subscribers had their turn. Conflict unless the task is approved and
  // enabled; the task is read again before every batch, and a run whose task was
  // disabled or lost its approval meanwhile stops there (its reports so far returned).
  // While a batch is applied on the subscriber, the next one is read from the provider on
  // another thread (horizontal tables); it is used only if the next batch starts exactly where
  // it was read from (the saved mark, same definition), else thrown away and read again. A read
  // ahead writes nothing, so a failure or a crash at any point re-delivers, never skips.
  Result<std::vector<BatchReport>> RunTask(int64_t task_id, int max_batches = 100,
                                           const std::function<bool()>& keep_going = {},
                                           bool force = false);

  // What the reads ahead came to since the engine was made (tests, benchmarks).
  struct ReadAheadCounts {
    int64_t used = 0;       // became the next batch
    int64_t discarded = 0;  // not used (the batch before failed, or the mark moved elsewhere)
    int64_t failed = 0;     // the read failed: the batch was read again on the engine's thread
  };
  ReadAheadCounts read_ahead_counts() const;
  // Tests: called on the read-ahead's thread with the mark it reads after; an error fails it.
  void SetReadAheadFaultForTest(std::function<Status(int64_t after)> fault) {
    read_ahead_fault_ = std::move(fault);
  }

  // Retries the open dead letters of a task (0 = all tasks): each is applied again; those
  // that now apply (or were overtaken by a newer version) become "resolved".
  struct RetryReport {
    int resolved = 0;
    int still_failing = 0;
    // Left open: letters of disabled or unapproved tasks, of removed subscribers,
    // or of rows the task's filter now excludes.
    int skipped = 0;
  };
  Result<RetryReport> RetryDeadLetters(int64_t task_id);
  Result<std::vector<DeadLetter>> ListDeadLetters(int64_t task_id, const std::string& state);
  Result<std::vector<Progress>> ListProgress(int64_t task_id);  // 0 = all

  // ---- Web access ----
  // Writes records into a resource's table on its node as the department would (so the
  // exchange picks them up): the same idempotent upsert, with per-record failures.
  Result<ApplyReport> Push(int64_t resource_id, const std::vector<Record>& records);
  // Changes of a resource's table after `cursor` (a tong_seq), at most `limit` records, in
  // order; the next cursor is the last record's seq (or `cursor` when none).
  Result<std::vector<Record>> Pull(int64_t resource_id, int64_t cursor, int limit,
                                   int64_t* next_cursor);

 private:
  Result<std::vector<Record>> ReadChanges(SqlStore& node, const Resource& resource, int64_t after,
                                          int limit, int* rows_read, int64_t* last_seq);
  // Applies in one transaction on `node`; failures per record.
  Result<ApplyReport> Apply(SqlStore& node, const Resource& target,
                            const std::vector<Record>& records);
  struct ReadAhead;  // delivery.cc
  Result<BatchReport> Deliver(const Task& task, const Subscriber& subscriber, bool save_progress,
                              ReadAhead* ahead);
  Result<Progress> LoadProgress(int64_t task_id, int64_t subscriber_id);
  Status SaveFailure(int64_t task_id, int64_t subscriber_id, const Error& error);

  ExchangeMeta& meta_;
  NodePool& nodes_;
  Clock& clock_;
  std::function<Status(int64_t)> read_ahead_fault_;
  std::atomic<int64_t> ahead_used_{0}, ahead_discarded_{0}, ahead_failed_{0};
};

}  // namespace tongban::exchange
