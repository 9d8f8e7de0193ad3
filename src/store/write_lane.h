// WriteLane: group commit for short write transactions that arrive
// concurrently (a clerk's case transitions). Pieces of work submitted from
// any thread queue up; the lane's own thread takes everything queued, runs
// the pieces in one transaction (each in a savepoint of its own only when one
// of them fails: see RunStraight), commits once, and only then tells each
// piece's submitter how it ended. Concurrent pieces so share one
// BEGIN/COMMIT and one write of every page they have in common (on SQLite:
// one WAL append instead of one per piece), and no submitter waits on a
// thread of its own: the answer comes by callback. docs/design/approval-engine.md
// "Group commit" explains why it exists and what it promises.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "store/sql_store.h"

namespace tongban {

class WriteLane {
 public:
  // What a piece does inside the shared transaction. An Error (or an
  // exception, converted by SqlStore::ToError) rolls back this piece's writes
  // only; the other pieces of the batch commit. A piece must not open a
  // transaction of its own (on SQLite it would wait for the lane's write lock).
  // A body may run twice: when its piece (or its whole batch) was lost to a
  // deadlock or serialization failure against another transaction (another
  // node's), it runs once more alone, in a transaction of its own. So a body
  // writes only through `sql` and sets afresh whatever it reports.
  using Body = std::function<Status(soci::session&)>;
  // Called once, on the lane's thread, after the transaction that held the
  // piece committed (with the body's Status) or failed (with the error that
  // failed it, which then fails every piece of the batch: none is reported
  // done that a crash could still lose). May submit again; must not block long
  // (the next batch waits for it).
  using Done = std::function<void(Status)>;

  // `max_batch`: pieces per transaction at most, so that one commit never
  // holds the database's write lock for long.
  explicit WriteLane(SqlStore& store, std::string name = "tb-writes", size_t max_batch = 64);
  // Runs and reports every piece already submitted, then stops the thread.
  ~WriteLane();
  // What the destructor does, earlier: for an owner whose pieces' `done`
  // uses things that go before the lane itself (a server's suspended
  // responses, route state at shutdown). Idempotent; pieces submitted
  // afterwards are refused as after the destructor began.
  void Stop();
  WriteLane(const WriteLane&) = delete;
  WriteLane& operator=(const WriteLane&) = delete;

  // Queues a piece. Thread-safe. After the destructor has begun, the piece
  // is refused at once: `done` gets errc::kUnavailable on the caller's thread.
  void Submit(Body body, Done done);

  // Pieces committed (or failed) and transactions used so far: pieces per
  // commit shows the batching (tests, bench).
  struct Counts {
    int64_t pieces = 0;
    int64_t commits = 0;
    int64_t retried = 0;  // pieces run again alone after a deadlock (see Body)
    // Batches run straight (no savepoints) whose failing piece sent them
    // round again piece by piece in savepoints.
    int64_t straight_rolled_back = 0;
  };
  // PostgreSQL's deadlock (40P01) or serialization failure (40001), MySQL's
  // deadlock (1213), as SqlStore::ToError words them.
  static bool LostToConcurrency(const Status& status);
  Counts counts() const;

 private:
  struct Piece {
    Body body;
    Done done;
    Status status = Status::Ok();
    bool batch_lost = false;  // its batch's transaction failed as a whole
  };
  void Loop();
  void RunBatch(std::deque<Piece>& batch);
  // The batch in one transaction without savepoints; *piece_failed when a
  // piece (not the COMMIT) failed, which rolled everything back.
  Status RunStraight(std::deque<Piece>& batch, bool* piece_failed);
  // Runs again, each alone, the pieces a deadlock or serialization failure lost.
  void RerunLost(std::deque<Piece>& batch, bool batch_lost_to_concurrency);

  SqlStore& store_;
  const size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Piece> queue_;
  bool stopping_ = false;
  Counts counts_;
  std::mutex join_mu_;  // Stop() from two threads joins once
  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace tongban
