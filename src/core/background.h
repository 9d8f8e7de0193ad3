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

// Lowers the calling thread's scheduling priority (nice `nice`, Linux: per
// thread) for work that may wait, such as the audit journal's loader, so that
// on a busy core it yields to the threads answering requests. Not the idle
// class (SCHED_IDLE), though it cut the lookups' p99 further: a thread there
// can be starved while it holds a lock others need (the database's write
// lock, SQLite's checkpoint lock), and an unprivileged process cannot lift it
// back out for the length of a transaction (docs/performance.md, issue 17,
// session 14). Best effort: a refusal leaves the thread as it was.
void LowerThisThreadsPriority(int nice);

}  // namespace tongban
