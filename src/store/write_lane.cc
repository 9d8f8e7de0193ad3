#include "store/write_lane.h"

#include <pthread.h>

#include <utility>

namespace tongban {
namespace {

// The savepoint statements, compiled once per session on SQLite (where they
// run for every piece and parsing them would cost as much as running them).
struct SavepointStatements : SqlStore::Kept {
  explicit SavepointStatements(soci::session& sql)
      : begin((sql.prepare << "SAVEPOINT tb_lane")),
        release((sql.prepare << "RELEASE SAVEPOINT tb_lane")),
        rollback((sql.prepare << "ROLLBACK TO SAVEPOINT tb_lane")) {}
  soci::statement begin;
  soci::statement release;
  soci::statement rollback;
};

enum class Step { kBegin, kRelease, kRollback };

void Savepoint(SqlStore& store, soci::session& sql, Step step) {
  if (store.dialect() != SqlDialect::kSqlite) {
    // One round trip either way on a server database; no prepared utility
    // statements there (PostgreSQL's PREPARE takes only DML).
    sql << (step == Step::kBegin     ? "SAVEPOINT tb_lane"
            : step == Step::kRelease ? "RELEASE SAVEPOINT tb_lane"
                                     : "ROLLBACK TO SAVEPOINT tb_lane");
    return;
  }
  auto& kept = store.KeptFor<SavepointStatements>(sql, "store.write_lane.savepoint", [](soci::session& s) {
    return std::make_unique<SavepointStatements>(s);
  });
  soci::statement& st = step == Step::kBegin     ? kept.begin
                        : step == Step::kRelease ? kept.release
                                                 : kept.rollback;
  st.execute(true);
}

}  // namespace

WriteLane::WriteLane(SqlStore& store, std::string name, size_t max_batch)
    : store_(store), max_batch_(max_batch == 0 ? 1 : max_batch), thread_([this] { Loop(); }) {
  // Linux thread names are 15 bytes at most.
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
}

WriteLane::~WriteLane() { Stop(); }

void WriteLane::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  // Only the first caller joins; the lane's own thread never calls Stop.
  std::lock_guard join(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void WriteLane::Submit(Body body, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Piece{std::move(body), std::move(done)});
      if (queue_.size() == 1) wake_.notify_one();
      return;
    }
  }
  done(Error::Unavailable("database: the write lane is shutting down"));
}

WriteLane::Counts WriteLane::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void WriteLane::Loop() {
  std::deque<Piece> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything reported
      // Everything queued now, up to the cap: no piece waits for a timer or
      // for company; one alone is a transaction of its own.
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    {
      std::lock_guard lock(mu_);
      counts_.pieces += static_cast<int64_t>(batch.size());
      counts_.commits += 1;
    }
    for (Piece& piece : batch) {
      try {
        piece.done(std::move(piece.status));
      } catch (const std::exception&) {
        // A callback's failure is its own; the lane and the other pieces go on.
      }
    }
    batch.clear();
  }
}

bool WriteLane::LostToConcurrency(const Status& status) {
  if (status.ok() || status.error().code != errc::kUnavailable) return false;
  // The texts SqlStore::ToError gives these (store/sql_store.cc): PostgreSQL's
  // deadlock and serialization failure, MySQL's deadlock (InnoDB has then
  // rolled back the whole transaction, savepoints included).
  const std::string& m = status.error().message;
  return m.find("(SQLSTATE 40P01)") != std::string::npos ||
         m.find("(SQLSTATE 40001)") != std::string::npos ||
         m.find("(MySQL error 1213)") != std::string::npos;
}

// A batch whose pieces all succeed — nearly every batch — runs them straight
// in one transaction, without savepoints: a savepoint makes SQLite journal
// every page a piece changes into a sub-journal (once that passes its spill
// size, one write to a temporary file a page: a fifth of the payment
// notification lane's time, docs/performance.md issue 18, session 13). Only
// when a piece fails is that transaction rolled back whole and the batch run
// again piece by piece in savepoints, so that the failure takes only its own
// writes with it (a body may run twice: see Body).
Status WriteLane::RunStraight(std::deque<Piece>& batch, bool* piece_failed) {
  *piece_failed = false;
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    for (Piece& piece : batch) {
      try {
        piece.status = piece.body(sql);
      } catch (const std::exception& e) {
        piece.status = SqlStore::ToError(e);
        store_.DropKept(sql);
      }
      if (!piece.status.ok()) {
        *piece_failed = true;
        return piece.status;  // rolls the whole transaction back
      }
    }
    return Status::Ok();
  });
}

void WriteLane::RunBatch(std::deque<Piece>& batch) {
  const bool alone = batch.size() == 1;
  bool lost_to_concurrency = false;
  if (!alone) {
    bool piece_failed = false;
    Status straight = RunStraight(batch, &piece_failed);
    if (straight.ok()) return;
    if (!piece_failed) {
      // Every piece succeeded and the transaction itself failed (COMMIT):
      // as below for a batch lost whole.
      for (Piece& piece : batch) {
        piece.status = straight;
        piece.batch_lost = true;
      }
      if (!LostToConcurrency(straight)) return;
      RerunLost(batch, /*batch_lost_to_concurrency=*/true);
      return;
    }
    {
      std::lock_guard lock(mu_);
      counts_.straight_rolled_back += 1;
    }
    for (Piece& piece : batch) piece.status = Status::Ok();
  }
  Status committed = store_.WithTransaction([&](soci::session& sql) -> Status {
    for (Piece& piece : batch) {
      if (alone) {
        // The transaction is the piece's own: its error rolls it back.
        piece.status = piece.body(sql);
        lost_to_concurrency = LostToConcurrency(piece.status);
        return piece.status;
      }
      Savepoint(store_, sql, Step::kBegin);
      try {
        piece.status = piece.body(sql);
      } catch (const std::exception& e) {
        piece.status = SqlStore::ToError(e);
        // The statement that threw is in an unknown state; the session's
        // kept statements are made afresh (the savepoint's among them).
        store_.DropKept(sql);
      }
      if (LostToConcurrency(piece.status)) lost_to_concurrency = true;
      Savepoint(store_, sql, piece.status.ok() ? Step::kRelease : Step::kRollback);
      if (!piece.status.ok()) Savepoint(store_, sql, Step::kRelease);
    }
    return Status::Ok();
  });
  if (LostToConcurrency(committed)) lost_to_concurrency = true;
  if (!committed.ok()) {
    // Nothing of this batch is in the database. A piece that failed on its own
    // keeps its error; the others get the one that lost them all.
    for (Piece& piece : batch) {
      if (piece.status.ok() || alone) {
        piece.status = committed;
        piece.batch_lost = true;
      }
    }
  }
  if (!lost_to_concurrency) return;
  RerunLost(batch, LostToConcurrency(committed));
}

void WriteLane::RerunLost(std::deque<Piece>& batch, bool batch_lost_to_concurrency) {
  // A deadlock or serialization failure against another node's transaction
  // (two nodes' batches taking the same locks in different orders) is no
  // fault of the pieces: those it lost run once more, each in a transaction
  // of its own, so that no lock is held across pieces and the same conflict
  // cannot recur between two batches. If the whole batch was lost, so is
  // every piece that had succeeded in it: they run again too. A second
  // failure is reported as it is (the submitter's caller retries: the
  // payment channel resends).
  // A batch lost to anything else (a connection reset at COMMIT) may in fact
  // have committed: its pieces are not run again, they report the error.
  for (Piece& piece : batch) {
    const bool rerun =
        piece.batch_lost ? batch_lost_to_concurrency : LostToConcurrency(piece.status);
    if (!rerun) continue;
    Status own = Status::Ok();
    Status again = store_.WithTransaction([&](soci::session& sql) -> Status {
      own = piece.body(sql);
      return own;
    });
    piece.status = again.ok() ? own : again;
    std::lock_guard lock(mu_);
    counts_.commits += 1;
    counts_.retried += 1;
  }
}

}  // namespace tongban
