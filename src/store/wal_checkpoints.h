// WAL checkpoints of a SqlStore on a SQLite file: who runs them and how many
// ran. Tests and benches read and tune them here; nothing else needs to.
//
// A checkpoint copies the WAL's pages back into the database file and
// fdatasyncs both. SQLite's own (wal_autocheckpoint) runs inside the COMMIT
// that took the WAL past its threshold, so that transaction's caller — and
// everything queued behind it, e.g. a batch of audited queries — waited for
// the copy and the fsyncs (tens of ms: docs/performance.md, issue 17, session
// 11). A SqlStore on a SQLite file instead runs them on a thread of its own
// (`tb-sql-ckpt`), on a connection of its own, as PASSIVE checkpoints, which
// never block a reader or a writer: a COMMIT that takes the WAL past the
// threshold only wakes that thread, and commits go on while it copies. The WAL
// restarts from its start only once it has been copied whole, which a writer
// that never pauses can prevent; so at four times the threshold the
// committing connection runs the checkpoint itself, as SQLite would, and then
// copies only what the thread had not yet. Durability is unchanged (WAL +
// synchronous=NORMAL). The store logs its tally at info level when it closes.
#pragma once

#include <chrono>
#include <cstdint>

#include "store/sql_store.h"

namespace tongban {

struct WalCheckpoints {
  int64_t background = 0;  // checkpoints the store's thread ran
  int64_t pages = 0;       // pages they copied into the database file (about)
  int64_t in_commit = 0;   // checkpoints run inside a COMMIT (the fallback)
};

// The WAL size in pages that wakes the thread: ~40 MiB, ten times SQLite's
// default, since a checkpoint rewrites every hot page (approval transitions:
// +8-13% per CPU second against 1,000).
inline constexpr int kWalCheckpointPages = 10'000;

// All zero for PostgreSQL, MySQL, ODBC and in-memory SQLite.
WalCheckpoints WalCheckpointCounts(SqlStore& store);
// Waits until the store's thread has run `background` checkpoints in all, or
// `timeout` passed; returns whether it has.
bool AwaitWalCheckpoints(SqlStore& store, int64_t background, std::chrono::milliseconds timeout);
// The threshold in pages (tests lower it); 0 when the store has no checkpointer.
void SetWalCheckpointPages(SqlStore& store, int pages);
int WalCheckpointPages(SqlStore& store);

}  // namespace tongban
