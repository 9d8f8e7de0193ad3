// The catalogue's audit trail (catalogue_audit): every registration, review,
// application, decision, revocation and base-resource query, written in the
// same transaction as the change it records (a query's row in its own, before
// the answer leaves, through AuditCommitter's group commit). Keys of people
// are kept masked, with a keyed hash so an auditor can still find every query
// of one ID number.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catalogue/audit_journal.h"
#include "catalogue/audit_rows.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::catalogue {

struct AuditFilter {
  std::string action_prefix;  // "" = all
  std::string actor;
  std::string subject_mac;
  int64_t grant_id = 0;
  int64_t before_id = 0;  // paging: rows with a smaller id
  int limit = 50;
};

Status WriteAudit(soci::session& sql, SqlDialect dialect, const AuditEntry& entry);

// Group commit of the base queries' audit rows, on a writer thread of its
// own. Append returns only once the entry's own transaction has committed,
// so a caller that answers after it never answers a query whose row a kill -9
// could lose (docs/design/catalogue.md "Audit of queries"). Callers on any
// thread only queue their rows; the writer takes everything queued whenever
// it is free and commits it in one transaction (one BEGIN/COMMIT, one WAL
// append or fsync, for all), so rows batch across every pool thread instead
// of only behind a commit one of them happens to be running, and no row waits
// for a timer: alone, a row is a transaction of its own. When a batch's
// commit fails, its rows are committed one by one, so a row the database
// refuses fails its own query only; none is ever answered unaudited.
class AuditCommitter {
 public:
  explicit AuditCommitter(SqlStore& store);
  // From now on a batch is one write() to `journal` instead of a transaction
  // (SQLite: audit_journal.h); its reads (AppendMadeThen) run on a session
  // without a transaction. Call before the first row.
  void UseJournal(std::unique_ptr<AuditJournal> journal);
  // Returns once every row answered so far is in catalogue_audit (at once
  // without a journal: a row is there before its answer).
  Status Flush();
  // The journal's figures, when there is one (bench, tests).
  AuditJournal* journal() { return journal_.get(); }
  // Commits what is queued, then stops the writer.
  ~AuditCommitter();
  // What the destructor does, earlier (at shutdown, before the HTTP server
  // whose suspended responses the callbacks resume goes). Idempotent; rows
  // queued afterwards are refused (kUnavailable), their queries unanswered.
  void Stop();
  AuditCommitter(const AuditCommitter&) = delete;
  AuditCommitter& operator=(const AuditCommitter&) = delete;

  Status Append(AuditEntry entry);

  // As Append, without waiting: `done` runs on the writer thread once the
  // entry's transaction has committed (or failed). So a caller that answers
  // only from `done` keeps the promise above, and its thread is not held: it
  // serves the next query, whose row joins the same batch.
  void AppendThen(AuditEntry entry, std::function<void(Status)> done);

  // Fills a row on the writer, inside the transaction of its batch, on the
  // writer's session: reads what the row records (the query's live grant and
  // record) and completes `row` (which starts as the entry given to
  // AppendMadeThen). Returns false when no row is to be written (its query is
  // answered with an error it keeps itself). May throw soci errors: the batch
  // then fails and each of its rows is made and committed again on its own.
  using MakeRow = std::function<bool(soci::session& sql, AuditEntry& row)>;
  // As AppendThen, with the row made on the writer by `make` — so a query's
  // reads and its audit row are one transaction, and on SQLite they use the
  // writer's page cache, which its own commits keep (another session's cache
  // is dropped whole by every commit it did not make: docs/performance.md,
  // issue 17, session 10).
  void AppendMadeThen(AuditEntry entry, MakeRow make, std::function<void(Status)> done);

  // Rows committed and transactions used so far (bench and tests: rows per
  // commit shows the batching).
  struct Counts {
    int64_t rows = 0;
    int64_t commits = 0;
  };
  Counts counts();
  // How long the writer's batches took, from taking the batch to its COMMIT
  // returning (reads of AppendMadeThen rows included), as quantiles of all
  // batches so far, each the upper bound of a histogram bucket (within 10 %).
  // What the answers of a batch waited for the database; logged at shutdown
  // (bench/catalogue_lookup.py reads it).
  struct CommitTimes {
    int64_t p50_us = 0;
    int64_t p99_us = 0;
    int64_t p999_us = 0;
    int64_t max_us = 0;
  };
  CommitTimes commit_times();
  static constexpr size_t kCommitBuckets = 200;

 private:
  struct Item {
    AuditEntry entry;
    MakeRow make;  // empty: `entry` is the row
  };
  struct Batch {
    std::vector<Item> entries;
    // AppendThen's callbacks, each with its entry's index.
    std::vector<std::pair<size_t, std::function<void(Status)>>> then;
    bool done = false;
    std::vector<Status> statuses;  // per entry, once done
  };
  // Queues `entry` (waking the writer for a new batch); returns its batch and
  // its index there, or no batch once the writer is stopping. mu_ held.
  std::pair<std::shared_ptr<Batch>, size_t> Queue(Item item);
  // The batch's rows in one transaction; when that fails, each row in its
  // own, so that one row the database refuses fails only its own query.
  // `*commits`: the transactions that committed.
  std::vector<Status> CommitEach(const std::vector<Item>& entries, int64_t* commits);
  // The writer thread: commits whatever is queued, until stopped and empty.
  void Write();
  Status Commit(const std::vector<Item>& entries);
  // The journal's way: reads, then one write() for the batch's rows.
  std::vector<Status> Journal(const std::vector<Item>& entries, int64_t* writes);

  SqlStore& store_;
  std::mutex mu_;
  std::condition_variable queued_;     // the writer waits for rows
  std::condition_variable committed_;  // Append waits for its batch
  std::shared_ptr<Batch> open_;        // rows queued for the next commit
  bool stopping_ = false;
  Counts counts_;
  // Batches by commit time (buckets of 10 % width, audit.cc).
  std::vector<int64_t> commit_buckets_ = std::vector<int64_t>(kCommitBuckets);
  int64_t commit_max_us_ = 0;
  std::unique_ptr<AuditJournal> journal_;  // set before the first row, or never
  std::mutex join_mu_;  // Stop() from two threads joins once
  std::thread writer_;  // last: started once everything above exists
};
Result<std::vector<AuditEntry>> ListAudit(SqlStore& store, const AuditFilter& filter);

}  // namespace tongban::catalogue
