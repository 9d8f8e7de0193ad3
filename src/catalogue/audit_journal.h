// AuditJournal: the base queries' audit rows on one machine (SQLite), first
// in an append-only file and then, behind it, in catalogue_audit. A writer
// batch of rows is one write() to the file, which is as durable against
// kill -9 as a SQLite commit with synchronous=NORMAL (the kernel has the
// bytes; an OS crash can lose the last ones, never mix them up) and costs a
// few hundred bytes instead of five B-tree inserts and their WAL pages; a
// loader thread then moves the rows into catalogue_audit in large
// transactions, and records in the same transaction how far it got, so a
// restart loads exactly what was written and not yet loaded.
// AuditCommitter (audit.h) uses it; docs/design/catalogue.md "Audit of queries".
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::catalogue {

class AuditJournal {
 public:
  struct Options {
    std::string path = {};  // the file; made when missing
    // The loader loads when this many rows wait, or `load_interval` after the
    // oldest waiting row was written, or when asked (Flush); and at most this
    // many in one transaction (a backlog goes in several).
    size_t load_rows = 2048;
    std::chrono::milliseconds load_interval{250};
    // Once the file is this large, the loader starts it over after a load:
    // what it has not loaded yet goes to a new file that replaces the old one
    // (appends wait only for that copy); appends wait for the loader only if
    // the file reaches twice this (a loader that cannot load).
    int64_t restart_bytes = 64 << 20;
    // Appends wait while this many rows wait for the loader.
    size_t max_waiting_rows = 200'000;
  };
  // Opens the file (making it, and the directory entry durable, when new),
  // loads into catalogue_audit what an earlier process wrote and did not load
  // (a torn last record — an OS crash mid-write — is cut off), and starts the
  // loader. Needs the catalogue_audit_journal table (catalogue_base v3).
  // Errors: kUnavailable for a file or database that cannot be used.
  static Result<std::unique_ptr<AuditJournal>> Open(SqlStore& store, Options options);
  // Loads what is written, then stops.
  ~AuditJournal();
  AuditJournal(const AuditJournal&) = delete;
  AuditJournal& operator=(const AuditJournal&) = delete;

  // Appends `rows` (the catalogue_audit columns after id, as text) with one
  // write(). Ok once the kernel has every byte; the rows are then kept
  // whatever happens to this process.
  Status Append(const std::vector<std::vector<std::string>>& rows);
  // Returns once every row appended before the call is in catalogue_audit
  // (the audit page reads the table).
  Status Flush();

  struct Counts {
    int64_t rows_loaded = 0;
    int64_t loads = 0;     // transactions of the loader
    int64_t restarts = 0;  // times the file started over
    int64_t recovered = 0;  // rows loaded at Open from an earlier process
  };
  Counts counts();

  // Appends no longer wait for the loader (the bound on waiting rows, a
  // start-over): for shutdown, when the writer must finish what is queued
  // even if the database has stopped taking rows.
  void ReleaseWaits();

  // Test hook: the loader loads nothing until resumed (rows stay in the file
  // only), as if the process died before its next load.
  void PauseLoaderForTest(bool paused);
  // Test hook: as a kill -9 leaves things — the destructor then loads nothing
  // more (the file keeps what was appended; the lock goes with the process).
  void AbandonForTest();

 private:
  struct Waiting;  // rows written, not yet loaded (audit_journal.cc)
  AuditJournal(SqlStore& store, Options options);
  Status Recover();
  void Load();  // the loader thread
  Status LoadBatch(std::vector<std::vector<std::string>>& rows, int64_t end);
  Status StartOver();  // mu_ held
  void RecordStartOver(const std::string& old_epoch, const std::string& epoch);  // mu_ not held
  // Empties the file and writes a header of a new epoch; offsets follow it.
  Status WriteFreshHeader();
  // This epoch's row of catalogue_audit_journal, inside the caller's transaction.
  static void RecordPosition(soci::session& sql, const std::string& epoch, int64_t pos);

  SqlStore& store_;
  Options options_;
  int fd_ = -1;
  std::string epoch_;  // this file's epoch: its header, and the database's record
  int64_t header_bytes_ = 0;

  std::mutex mu_;
  std::condition_variable wake_;    // the loader: rows, Flush, Stop
  std::condition_variable loaded_;  // Flush: the loader got further
  std::unique_ptr<Waiting> waiting_;
  int64_t written_end_ = 0;  // file offset after the last appended record
  int64_t loaded_end_ = 0;   // ... after the last record in catalogue_audit
  int64_t appended_rows_ = 0;  // since Open (Flush counts rows: offsets start over)
  int64_t loaded_rows_ = 0;
  int64_t flush_target_ = 0;
  bool stopping_ = false;
  bool paused_ = false;
  bool abandoned_ = false;
  // The file passed restart_bytes: the loader loads at once and starts it
  // over when little is left to load.
  bool draining_ = false;
  bool released_ = false;  // ReleaseWaits
  std::chrono::steady_clock::time_point retry_at_{};  // a failed load's backoff
  std::chrono::steady_clock::time_point start_over_retry_at_{};  // a failed StartOver's
  uint64_t load_failures_ = 0;
  Status last_failure_;
  Counts counts_;
  std::thread loader_;
};

}  // namespace tongban::catalogue
