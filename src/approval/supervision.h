// 电子监察 (electronic supervision) of approval cases: alerts for overdue cases and
// steps, refusals without a reason, late acceptance decisions and completions after
// the deadline, kept in SQL (module "approval_supervision") for 监察 users to list,
// count per org and acknowledge. The engine reports transitions (OnTransition);
// SupervisionSweeper runs Sweep in the background for what only time reveals.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "approval/calendar.h"
#include "approval/model.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::approval {

enum class AlertKind {
  kOverdueCase,           // a running case past its promised deadline (clock running)
  kOverdueStep,           // the pending step past its own limit, even if the case is on time
  kRefusalWithoutReason,  // 不予受理 / 不同意 / a negative 办结 with no reason (reported cases)
  kLateAcceptance,        // 受理 or 不予受理 decided after N working days, or still undecided
  kLateCompletion,        // 办结 after the promised deadline
};
std::string_view AlertKindName(AlertKind kind);  // "overdue_case", "overdue_step", ...
std::optional<AlertKind> ParseAlertKind(std::string_view name);

struct Alert {
  int64_t id = 0;
  int64_t case_id = 0;
  std::string case_number;
  std::string orgcoding;  // the case's implementing org
  std::string implement_code;
  AlertKind kind = AlertKind::kOverdueCase;
  // "" for alerts about the whole case; for kOverdueStep the step's 1-based
  // position in the case's step list ("1", "2", ...): the case row knows the
  // position of its pending step, not the step's SPHJDM.
  std::string step_code;
  std::string detail;           // JSON object: the figures behind the alert
  int64_t raised_at_ms = 0;     // server time
  std::string acknowledged_by;  // userid; "" while unacknowledged
  int64_t acknowledged_at_ms = 0;
};

struct AlertFilter {
  std::vector<std::string> orgs;  // any of these orgcodings; empty = every org
  std::optional<AlertKind> kind;
  int64_t from_ms = 0, to_ms = 0;  // raised in [from, to); 0 = open
  std::optional<bool> acknowledged;
  int64_t offset = 0, limit = 50;  // limit is capped at 1000
};

struct AlertPage {
  std::vector<Alert> alerts;  // newest first
  int64_t total = 0;          // matching the filter, ignoring offset/limit
};

// Alerts of one org in a period, per kind; for the dashboard.
struct OrgAlertCounts {
  std::string orgcoding;
  int64_t total = 0;
  int64_t unacknowledged = 0;
  int64_t overdue_case = 0;
  int64_t overdue_step = 0;
  int64_t refusal_without_reason = 0;
  int64_t late_acceptance = 0;
  int64_t late_completion = 0;
};

struct SupervisionOptions {
  // 行政许可法 art. 32 and 82: the decision to accept or refuse an application is
  // due within 5 working days of receiving it (the receiving day not counted).
  int acceptance_working_days = 5;
  // Alerts a sweep inserts per transaction, so a first sweep over a large
  // backlog holds no lock for long.
  int sweep_batch = 500;
};

class Supervision {
 public:
  static std::vector<Migration> Migrations();  // module "approval_supervision"

  // Working calendars come from `calendars` (CalendarStore::Load of a case's division).
  Supervision(SqlStore& store, CalendarStore& calendars, SupervisionOptions options = {});

  // Raises the alerts that only the passing of time reveals: overdue cases and
  // steps (clock running, i.e. stopped_since == 0, deadline < now_ms) and cases
  // still waiting for the acceptance decision after the rule's working days.
  // Idempotent: each (case, kind, step) is raised once. Returns how many it raised.
  Result<int64_t> Sweep(int64_t now_ms);

  // Called by the engine inside the transaction `tx` of every transition, with
  // the case before and after it and the step record written: raises refusal
  // without a reason, late acceptance and completion after the deadline.
  // `calendar`, when the engine has the case division's calendar at hand, saves
  // loading it (only a transition out of 收件 needs it); otherwise it is loaded
  // through the CalendarStore on a second pooled session.
  Status OnTransition(soci::session& tx, const Case& before, const Case& after,
                      const StepRecord& record, int64_t now_ms,
                      const WorkCalendar* calendar = nullptr);

  Result<AlertPage> List(const AlertFilter& filter);
  // Alerts raised in [from, to) (0 = open), per org, orgs in code order.
  Result<std::vector<OrgAlertCounts>> CountsByOrg(int64_t from_ms, int64_t to_ms);
  // Marks an alert as seen by `userid` at `now_ms`. errc::kNotFound for an
  // unknown id; acknowledging twice keeps the first acknowledgement.
  Result<Alert> Acknowledge(int64_t id, std::string_view userid, int64_t now_ms);
  Result<Alert> Get(int64_t id);

  const SupervisionOptions& options() const { return options_; }

 private:
  Result<int64_t> SweepOverdue(int64_t now_ms, AlertKind kind);
  Result<int64_t> SweepUndecided(int64_t now_ms);

  SqlStore& store_;
  CalendarStore& calendars_;
  SupervisionOptions options_;
};

// Runs Supervision::Sweep every `interval` on its own thread until Stop (or
// destruction). Stop wakes the thread at once; a sweep in progress finishes.
// A failed sweep is logged and retried at the next interval.
class SupervisionSweeper {
 public:
  SupervisionSweeper(Supervision& supervision, Clock& clock,
                     std::chrono::milliseconds interval = std::chrono::seconds(60));
  ~SupervisionSweeper();
  SupervisionSweeper(const SupervisionSweeper&) = delete;
  SupervisionSweeper& operator=(const SupervisionSweeper&) = delete;

  void Start();  // no-op when running
  void Stop();   // joins the thread; no-op when stopped

  // Sweeps completed since Start, for health pages and tests.
  int64_t sweeps() const;
  // Wakes the thread for a sweep now (a test, or after a calendar change).
  void SweepNow();
  // Blocks until at least `n` sweeps have completed or `timeout` passed; true if they did.
  bool WaitForSweeps(int64_t n, std::chrono::milliseconds timeout) const;

 private:
  void Run();

  Supervision& supervision_;
  Clock& clock_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  int64_t sweeps_ = 0;
  std::thread thread_;
};

}  // namespace tongban::approval
