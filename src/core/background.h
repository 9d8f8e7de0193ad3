// One pass of a background thread's loop (sweepers, dispatchers, the exchange
// runner), guarded: an exception the pass throws — a bug, or a library that
// throws where the code expected an error value (nlohmann's dump of bytes that
// are not UTF-8 did, session 12) — is logged and the loop goes on with its next
// pass. Uncaught, it would end the whole process: every subsystem at once.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <string_view>
#include <utility>

namespace tongban {

// Runs `pass`; true when it returned, false when it threw (logged as `loop`).
template <class Pass>
bool RunGuardedPass(std::string_view loop, Pass&& pass) noexcept {
  try {
    std::forward<Pass>(pass)();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("{}: a pass failed and is skipped: {}", loop, e.what());
  } catch (...) {
    spdlog::error("{}: a pass failed and is skipped (not a std::exception)", loop);
  }
  return false;
}

// Puts the calling thread in the idle scheduling class (Linux SCHED_IDLE;
// nice `nice` where that is refused) for work that may wait — a checkpoint,
// a bulk load behind a journal — so that a thread waking to answer a request
// preempts it at once instead of waiting out its time slice: with nice 10
// alone the lookups' p99 kept stalls of 5–130 ms (docs/performance.md,
// issue 17, session 14). It still runs whenever the core is otherwise idle,
// and the work it does is bounded by its callers (the journal's appends wait
// when it falls behind; the WAL's committer checkpoints itself past 4× the
// threshold). Best effort: a refusal leaves the thread as it was.
void LowerThisThreadsPriority(int nice);

}  // namespace tongban
