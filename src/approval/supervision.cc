#include "approval/supervision.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <utility>

#include "codec/render.h"
#include "codec/value.h"

namespace tongban::approval {
namespace {

// Lock class of the per-kind lock under which an alert is checked and inserted
// ("al"), so two nodes' sweeps, or a sweep and the engine, never both insert the
// same (case, kind, step): on PostgreSQL the loser's failed INSERT would abort
// its whole transaction, the engine's included.
constexpr int kAlertLockClass = 0x616C;

constexpr int64_t kDayMs = 86'400'000;

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE approval_alerts (
  id {ID},
  case_id BIGINT NOT NULL,
  case_number {KEY} NOT NULL,
  orgcoding {KEY} NOT NULL,
  implement_code {KEY} NOT NULL,
  kind {KEY} NOT NULL,
  step_code {KEY} NOT NULL DEFAULT '',
  detail {TEXT} NOT NULL DEFAULT '',
  raised_at BIGINT NOT NULL,
  acknowledged_by {KEY} NOT NULL DEFAULT '',
  acknowledged_at BIGINT NOT NULL DEFAULT 0
){END};
CREATE UNIQUE INDEX approval_alerts_once ON approval_alerts (case_id, kind, step_code);
CREATE INDEX approval_alerts_by_time ON approval_alerts (raised_at, id);
CREATE INDEX approval_alerts_by_org ON approval_alerts (orgcoding, raised_at, id);
)sql";

constexpr std::array<std::pair<std::string_view, AlertKind>, 5> kKinds{{
    {"overdue_case", AlertKind::kOverdueCase},
    {"overdue_step", AlertKind::kOverdueStep},
    {"refusal_without_reason", AlertKind::kRefusalWithoutReason},
    {"late_acceptance", AlertKind::kLateAcceptance},
    {"late_completion", AlertKind::kLateCompletion},
}};

// States in which a case is still being handled (the rest are final).
constexpr const char* kRunning =
    "c.completed_at = 0 AND c.state NOT IN ('completed', 'refused', 'withdrawn', 'voided')";

constexpr const char* kAlertColumns =
    "id, case_id, case_number, orgcoding, implement_code, kind, step_code, detail, raised_at, "
    "acknowledged_by, acknowledged_at";

struct AlertRow {
  long long id = 0;
  long long case_id = 0;
  std::string case_number, orgcoding, implement_code, kind, step_code, detail;
  long long raised_at = 0;
  std::string acknowledged_by;
  long long acknowledged_at = 0;

  void Bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(case_id));
    st.exchange(soci::into(case_number));
    st.exchange(soci::into(orgcoding));
    st.exchange(soci::into(implement_code));
    st.exchange(soci::into(kind));
    st.exchange(soci::into(step_code));
    st.exchange(soci::into(detail));
    st.exchange(soci::into(raised_at));
    st.exchange(soci::into(acknowledged_by));
    st.exchange(soci::into(acknowledged_at));
  }

  Alert ToAlert() const {
    Alert a;
    a.id = id;
    a.case_id = case_id;
    a.case_number = case_number;
    a.orgcoding = orgcoding;
    a.implement_code = implement_code;
    a.kind = ParseAlertKind(kind).value_or(AlertKind::kOverdueCase);
    a.step_code = step_code;
    a.detail = detail;
    a.raised_at_ms = raised_at;
    a.acknowledged_by = acknowledged_by;
    a.acknowledged_at_ms = acknowledged_at;
    return a;
  }
};

// Named parameters of a query assembled from optional filters. The values live
// in deques, so the references SOCI keeps stay valid while more are added.
class Params {
 public:
  std::string Text(std::string value) {
    std::string name = "p" + std::to_string(++count_);
    texts_.emplace_back(name, std::move(value));
    return ":" + name;
  }
  std::string Int(int64_t value) {
    std::string name = "p" + std::to_string(++count_);
    ints_.emplace_back(name, static_cast<long long>(value));
    return ":" + name;
  }
  void Bind(soci::statement& st) {
    for (auto& [n, v] : texts_) st.exchange(soci::use(v, n));
    for (auto& [n, v] : ints_) st.exchange(soci::use(v, n));
  }

 private:
  int count_ = 0;
  std::deque<std::pair<std::string, std::string>> texts_;
  std::deque<std::pair<std::string, long long>> ints_;
};

// The fields of a case a sweep needs.
struct CaseRow {
  long long id = 0;
  std::string number, orgcoding, implement_code, division, pending_role, pending_org;
  long long registered_at = 0, deadline_at = 0, step_started_at = 0, step_deadline_at = 0;
  int current_step = -1;
  int stopped_days = 0;
};

constexpr const char* kCaseColumns =
    "c.id, c.number, c.orgcoding, c.implement_code, c.division, c.pending_role, c.pending_org, "
    "c.registered_at, c.deadline_at, c.step_started_at, c.step_deadline_at, c.current_step, "
    "c.stopped_days";

std::vector<CaseRow> FetchCases(soci::session& sql, const std::string& query, Params& params) {
  CaseRow r;
  soci::statement st(sql);
  st.exchange(soci::into(r.id));
  st.exchange(soci::into(r.number));
  st.exchange(soci::into(r.orgcoding));
  st.exchange(soci::into(r.implement_code));
  st.exchange(soci::into(r.division));
  st.exchange(soci::into(r.pending_role));
  st.exchange(soci::into(r.pending_org));
  st.exchange(soci::into(r.registered_at));
  st.exchange(soci::into(r.deadline_at));
  st.exchange(soci::into(r.step_started_at));
  st.exchange(soci::into(r.step_deadline_at));
  st.exchange(soci::into(r.current_step));
  st.exchange(soci::into(r.stopped_days));
  params.Bind(st);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  std::vector<CaseRow> out;
  if (st.execute(true)) {
    do {
      out.push_back(r);
    } while (st.fetch());
  }
  return out;
}

// What to raise: the row to insert once per (case_id, kind, step_code).
struct NewAlert {
  int64_t case_id = 0;
  std::string case_number, orgcoding, implement_code;
  AlertKind kind = AlertKind::kOverdueCase;
  std::string step_code;
  codec::Value detail = codec::Value::Object();
};

// Inserts `alert` unless its (case, kind, step) was raised before; true when
// inserted. The caller holds the kind's lock (LockKind) in the same transaction.
bool InsertOnce(soci::session& sql, const NewAlert& alert, int64_t now_ms) {
  long long case_id = alert.case_id;
  std::string kind(AlertKindName(alert.kind));
  int existing = 0;
  sql << "SELECT COUNT(*) FROM approval_alerts WHERE case_id = :c AND kind = :k AND step_code = :s",
      soci::use(case_id), soci::use(kind), soci::use(alert.step_code), soci::into(existing);
  if (existing > 0) return false;
  std::string detail = codec::RenderJson(alert.detail);
  long long raised_at = now_ms;
  sql << "INSERT INTO approval_alerts (case_id, case_number, orgcoding, implement_code, kind, "
         "step_code, detail, raised_at) VALUES (:c, :n, :o, :i, :k, :s, :d, :t)",
      soci::use(case_id), soci::use(alert.case_number), soci::use(alert.orgcoding),
      soci::use(alert.implement_code), soci::use(kind), soci::use(alert.step_code),
      soci::use(detail), soci::use(raised_at);
  return true;
}

void LockKind(soci::session& sql, SqlDialect dialect, AlertKind kind) {
  sql_dialect::LockUntilCommit(sql, dialect, kAlertLockClass, AlertKindName(kind));
}

// A reason counts when it has more than whitespace (ASCII or the ideographic space).
bool IsBlank(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (text.substr(i, 3) == "\xE3\x80\x80") {  // U+3000
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

NewAlert AlertFor(const Case& c, AlertKind kind) {
  NewAlert a;
  a.case_id = c.id;
  a.case_number = c.number;
  a.orgcoding = c.orgcoding;
  a.implement_code = c.implement_code;
  a.kind = kind;
  return a;
}

NewAlert AlertFor(const CaseRow& c, AlertKind kind) {
  NewAlert a;
  a.case_id = c.id;
  a.case_number = c.number;
  a.orgcoding = c.orgcoding;
  a.implement_code = c.implement_code;
  a.kind = kind;
  return a;
}

// Inserts `alerts` (all of one kind) in transactions of `batch` alerts,
// so a first sweep over a backlog holds the kind's lock only briefly at a time.
Result<int64_t> InsertAll(SqlStore& store, const std::vector<NewAlert>& alerts, size_t batch,
                          int64_t now_ms) {
  int64_t raised = 0;
  for (size_t begin = 0; begin < alerts.size(); begin += batch) {
    const size_t end = std::min(alerts.size(), begin + batch);
    auto inserted = store.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
      LockKind(sql, store.dialect(), alerts[begin].kind);
      int64_t n = 0;
      for (size_t i = begin; i < end; ++i) {
        if (InsertOnce(sql, alerts[i], now_ms)) ++n;
      }
      return n;
    });
    if (!inserted.ok()) return std::move(inserted).error();
    raised += *inserted;
  }
  return raised;
}

}  // namespace

std::string_view AlertKindName(AlertKind kind) {
  for (const auto& [name, k] : kKinds) {
    if (k == kind) return name;
  }
  return {};
}

std::optional<AlertKind> ParseAlertKind(std::string_view name) {
  for (const auto& [n, k] : kKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::vector<Migration> Supervision::Migrations() {
  return {PortableMigration("approval_supervision", 1, kSchemaV1)};
}

Supervision::Supervision(SqlStore& store, CalendarStore& calendars, SupervisionOptions options)
    : store_(store), calendars_(calendars), options_(options) {
  options_.acceptance_working_days = std::max(options_.acceptance_working_days, 1);
  options_.sweep_batch = std::max(options_.sweep_batch, 1);
}

Result<int64_t> Supervision::Sweep(int64_t now_ms) {
  int64_t raised = 0;
  for (AlertKind kind : {AlertKind::kOverdueCase, AlertKind::kOverdueStep}) {
    auto n = SweepOverdue(now_ms, kind);
    if (!n.ok()) return std::move(n).error();
    raised += *n;
  }
  auto n = SweepUndecided(now_ms);
  if (!n.ok()) return std::move(n).error();
  return raised + *n;
}

// Candidates are read outside the write transaction, all at once: they are the
// cases that turned overdue since the last sweep (the alerts already raised
// exclude the rest), so normally few. Without an ORDER BY the running-cases
// index (WHERE completed_at = 0) serves the read instead of a walk of every case.
// They are then inserted in batches, each under the kind's lock and checked
// again against the unique key.
Result<int64_t> Supervision::SweepOverdue(int64_t now_ms, AlertKind kind) {
  const bool step = kind == AlertKind::kOverdueStep;
  // A step alert belongs to the visit of the step that started at step_started_at;
  // one raised before it (the case came back to an earlier step) does not hide it
  // from the candidates, and InsertOnce then keeps the rule to once per step.
  // Parameters: p1 now, p2 the kind (Params names them in that order).
  const std::string query =
      std::string("SELECT ") + kCaseColumns + " FROM approval_cases c WHERE " + kRunning +
      " AND c.stopped_since = 0 AND " +
      (step ? "c.pending_role <> '' AND c.step_deadline_at > 0 AND c.step_deadline_at < :p1"
            : "c.deadline_at > 0 AND c.deadline_at < :p1") +
      " AND NOT EXISTS (SELECT 1 FROM approval_alerts a WHERE a.case_id = c.id AND a.kind = :p2" +
      (step ? " AND a.raised_at >= c.step_started_at)" : ")");
  auto rows = store_.WithSession([&](soci::session& sql) -> Result<std::vector<CaseRow>> {
    Params params;
    params.Int(now_ms);
    params.Text(std::string(AlertKindName(kind)));
    return FetchCases(sql, query, params);
  });
  if (!rows.ok()) return std::move(rows).error();
  std::vector<NewAlert> alerts;
  alerts.reserve(rows->size());
  for (const CaseRow& c : *rows) {
    NewAlert alert = AlertFor(c, kind);
    if (step) {
      alert.step_code = std::to_string(c.current_step + 1);
      alert.detail.Set("step_started_at", static_cast<int64_t>(c.step_started_at))
          .Set("step_deadline_at", static_cast<int64_t>(c.step_deadline_at))
          .Set("pending_role", c.pending_role)
          .Set("pending_org", c.pending_org);
    } else {
      alert.detail.Set("deadline_at", static_cast<int64_t>(c.deadline_at));
    }
    alert.detail.Set("overdue_ms",
                     now_ms - static_cast<int64_t>(step ? c.step_deadline_at : c.deadline_at));
    alerts.push_back(std::move(alert));
  }
  return InsertAll(store_, alerts, static_cast<size_t>(options_.sweep_batch), now_ms);
}

// Cases still in 收件 after the acceptance rule's working days. N working days
// are at least N natural days, so that bound narrows the candidates in SQL; the
// division's calendar decides.
Result<int64_t> Supervision::SweepUndecided(int64_t now_ms) {
  const int days = options_.acceptance_working_days;
  const std::string query = std::string("SELECT ") + kCaseColumns +
                            " FROM approval_cases c WHERE c.state = 'registered' AND "
                            "c.completed_at = 0 AND c.stopped_since = 0 AND c.registered_at > 0 "
                            "AND c.registered_at < :p1 AND NOT EXISTS (SELECT 1 "
                            "FROM approval_alerts a WHERE a.case_id = c.id AND a.kind = :p2)";
  auto rows = store_.WithSession([&](soci::session& sql) -> Result<std::vector<CaseRow>> {
    Params params;
    params.Int(now_ms - days * kDayMs);
    params.Text(std::string(AlertKindName(AlertKind::kLateAcceptance)));
    return FetchCases(sql, query, params);
  });
  if (!rows.ok()) return std::move(rows).error();
  std::map<std::string, WorkCalendar> calendars;
  std::vector<NewAlert> late;
  for (const CaseRow& c : *rows) {
    auto it = calendars.find(c.division);
    if (it == calendars.end()) {
      auto loaded = calendars_.Load(c.division);
      if (!loaded.ok()) return std::move(loaded).error();
      it = calendars.emplace(c.division, std::move(*loaded)).first;
    }
    int64_t due =
        it->second.Deadline(c.registered_at, {days, TimeUnit::kWorkingDays}, c.stopped_days);
    if (now_ms <= due) continue;
    NewAlert alert = AlertFor(c, AlertKind::kLateAcceptance);
    alert.detail.Set("registered_at", static_cast<int64_t>(c.registered_at))
        .Set("due_at", due)
        .Set("decided_at", 0)
        .Set("working_days", days);
    late.push_back(std::move(alert));
  }
  return InsertAll(store_, late, static_cast<size_t>(options_.sweep_batch), now_ms);
}

Status Supervision::OnTransition(soci::session& tx, const Case& before, const Case& after,
                                 const StepRecord& record, int64_t now_ms,
                                 const WorkCalendar* calendar) {
  auto entered = [&](CaseState state) { return after.state == state && before.state != state; };
  std::vector<NewAlert> alerts;

  // A negative outcome the engine would refuse without a reason can still
  // arrive from a department system's stage records.
  const bool negative_completion =
      entered(CaseState::kCompleted) && after.result.has_value() && NeedsReason(*after.result);
  const bool negative = entered(CaseState::kRefused) || entered(CaseState::kVoided) ||
                        record.action == Action::kDisagree || negative_completion;
  if (negative && IsBlank(record.opinion) && IsBlank(after.result_reason)) {
    NewAlert alert = AlertFor(after, AlertKind::kRefusalWithoutReason);
    alert.detail.Set("action", ActionName(record.action))
        .Set("state", CaseStateName(after.state))
        .Set("userid", record.userid)
        .Set("step_code", record.step_code);
    if (after.result) alert.detail.Set("result", static_cast<int>(*after.result));
    alerts.push_back(std::move(alert));
  }

  // The acceptance decision: 受理 sets accepted_at, 不予受理 ends the case.
  const bool decided =
      before.accepted_at_ms == 0 && (after.accepted_at_ms > 0 || entered(CaseState::kRefused));
  if (decided && after.registered_at_ms > 0) {
    const int64_t decided_at = after.accepted_at_ms > 0 ? after.accepted_at_ms : record.at_ms;
    std::optional<WorkCalendar> loaded;
    if (calendar == nullptr) {
      auto cal = calendars_.Load(after.division);
      if (!cal.ok()) return std::move(cal).error();
      loaded.emplace(std::move(*cal));
      calendar = &*loaded;
    }
    // Stops before the decision (a correction asked for at intake) extend it.
    const int64_t due = calendar->Deadline(
        after.registered_at_ms, {options_.acceptance_working_days, TimeUnit::kWorkingDays},
        before.stopped_working_days);
    if (decided_at > due) {
      NewAlert alert = AlertFor(after, AlertKind::kLateAcceptance);
      alert.detail.Set("registered_at", after.registered_at_ms)
          .Set("due_at", due)
          .Set("decided_at", decided_at)
          .Set("working_days", options_.acceptance_working_days)
          .Set("action", ActionName(record.action));
      alerts.push_back(std::move(alert));
    }
  }

  if (entered(CaseState::kCompleted) && after.deadline_ms > 0) {
    const int64_t completed_at = after.completed_at_ms > 0 ? after.completed_at_ms : record.at_ms;
    if (completed_at > after.deadline_ms) {
      NewAlert alert = AlertFor(after, AlertKind::kLateCompletion);
      alert.detail.Set("deadline_at", after.deadline_ms)
          .Set("completed_at", completed_at)
          .Set("overdue_ms", completed_at - after.deadline_ms);
      alerts.push_back(std::move(alert));
    }
  }

  if (alerts.empty()) return Status::Ok();
  try {
    for (const NewAlert& alert : alerts) {
      LockKind(tx, store_.dialect(), alert.kind);
      InsertOnce(tx, alert, now_ms);
    }
  } catch (const std::exception& e) {
    return SqlStore::ToError(e);
  }
  return Status::Ok();
}

Result<AlertPage> Supervision::List(const AlertFilter& filter) {
  Params params;
  std::string where = " WHERE 1 = 1";
  if (!filter.orgs.empty()) {
    where += " AND orgcoding IN (";
    for (size_t i = 0; i < filter.orgs.size(); ++i) {
      if (i > 0) where += ", ";
      where += params.Text(filter.orgs[i]);
    }
    where += ")";
  }
  if (filter.kind) where += " AND kind = " + params.Text(std::string(AlertKindName(*filter.kind)));
  if (filter.from_ms > 0) where += " AND raised_at >= " + params.Int(filter.from_ms);
  if (filter.to_ms > 0) where += " AND raised_at < " + params.Int(filter.to_ms);
  if (filter.acknowledged)
    where += *filter.acknowledged ? " AND acknowledged_at > 0" : " AND acknowledged_at = 0";
  const int64_t limit = std::clamp<int64_t>(filter.limit, 1, 1000);
  const int64_t offset = std::max<int64_t>(filter.offset, 0);
  return store_.WithSession([&](soci::session& sql) -> Result<AlertPage> {
    AlertPage page;
    {
      long long total = 0;
      soci::statement st(sql);
      st.exchange(soci::into(total));
      params.Bind(st);
      st.alloc();
      st.prepare("SELECT COUNT(*) FROM approval_alerts" + where);
      st.define_and_bind();
      st.execute(true);
      page.total = total;
    }
    if (page.total <= offset) return page;
    AlertRow row;
    soci::statement st(sql);
    row.Bind(st);
    params.Bind(st);
    st.alloc();
    st.prepare(std::string("SELECT ") + kAlertColumns + " FROM approval_alerts" + where +
               " ORDER BY raised_at DESC, id DESC LIMIT " + std::to_string(limit) + " OFFSET " +
               std::to_string(offset));
    st.define_and_bind();
    if (st.execute(true)) {
      do {
        page.alerts.push_back(row.ToAlert());
      } while (st.fetch());
    }
    return page;
  });
}

Result<std::vector<OrgAlertCounts>> Supervision::CountsByOrg(int64_t from_ms, int64_t to_ms) {
  Params params;
  std::string where = " WHERE 1 = 1";
  if (from_ms > 0) where += " AND raised_at >= " + params.Int(from_ms);
  if (to_ms > 0) where += " AND raised_at < " + params.Int(to_ms);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<OrgAlertCounts>> {
    std::string org, kind;
    long long total = 0, unacknowledged = 0;
    soci::statement st(sql);
    st.exchange(soci::into(org));
    st.exchange(soci::into(kind));
    st.exchange(soci::into(total));
    st.exchange(soci::into(unacknowledged));
    params.Bind(st);
    st.alloc();
    st.prepare(
        "SELECT orgcoding, kind, COUNT(*), SUM(CASE WHEN acknowledged_at = 0 THEN 1 ELSE 0 END) "
        "FROM approval_alerts" +
        where + " GROUP BY orgcoding, kind ORDER BY orgcoding, kind");
    st.define_and_bind();
    std::vector<OrgAlertCounts> out;
    if (st.execute(true)) {
      do {
        if (out.empty() || out.back().orgcoding != org) {
          out.emplace_back();
          out.back().orgcoding = org;
        }
        OrgAlertCounts& counts = out.back();
        counts.total += total;
        counts.unacknowledged += unacknowledged;
        switch (ParseAlertKind(kind).value_or(AlertKind::kOverdueCase)) {
          case AlertKind::kOverdueCase:
            counts.overdue_case += total;
            break;
          case AlertKind::kOverdueStep:
            counts.overdue_step += total;
            break;
          case AlertKind::kRefusalWithoutReason:
            counts.refusal_without_reason += total;
            break;
          case AlertKind::kLateAcceptance:
            counts.late_acceptance += total;
            break;
          case AlertKind::kLateCompletion:
            counts.late_completion += total;
            break;
        }
      } while (st.fetch());
    }
    return out;
  });
}

Result<Alert> Supervision::Get(int64_t id) {
  return store_.WithSession([&](soci::session& sql) -> Result<Alert> {
    AlertRow row;
    long long key = id;
    soci::statement st(sql);
    row.Bind(st);
    st.exchange(soci::use(key, "id"));
    st.alloc();
    st.prepare(std::string("SELECT ") + kAlertColumns + " FROM approval_alerts WHERE id = :id");
    st.define_and_bind();
    if (!st.execute(true)) return Error::NotFound("no such alert");
    return row.ToAlert();
  });
}

Result<Alert> Supervision::Acknowledge(int64_t id, std::string_view userid, int64_t now_ms) {
  auto done = store_.WithTransaction([&](soci::session& sql) -> Status {
    long long key = id, at = now_ms;
    std::string user(userid);
    // The first acknowledgement stands: a second one changes nothing.
    soci::statement st =
        (sql.prepare << "UPDATE approval_alerts SET acknowledged_by = :u, acknowledged_at = :t "
                        "WHERE id = :id AND acknowledged_at = 0",
         soci::use(user, "u"), soci::use(at, "t"), soci::use(key, "id"));
    st.execute(true);
    return Status::Ok();
  });
  if (!done.ok()) return std::move(done).error();
  return Get(id);
}

// ---- SupervisionSweeper ----

SupervisionSweeper::SupervisionSweeper(Supervision& supervision, Clock& clock,
                                       std::chrono::milliseconds interval)
    : supervision_(supervision),
      clock_(clock),
      interval_(std::max(interval, std::chrono::milliseconds(1))) {}

SupervisionSweeper::~SupervisionSweeper() { Stop(); }

void SupervisionSweeper::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void SupervisionSweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lock(mu_);
  thread_ = std::thread();
}

int64_t SupervisionSweeper::sweeps() const {
  std::lock_guard lock(mu_);
  return sweeps_;
}

void SupervisionSweeper::SweepNow() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

bool SupervisionSweeper::WaitForSweeps(int64_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return sweeps_ >= n; });
}

void SupervisionSweeper::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_ = false;
    lock.unlock();
    auto raised = supervision_.Sweep(clock_.NowMillis());
    if (!raised.ok()) {
      spdlog::warn("supervision: sweep failed: {}", raised.error().message);
    } else if (*raised > 0) {
      spdlog::info("supervision: {} alert(s) raised", *raised);
    }
    lock.lock();
    ++sweeps_;
    cv_.notify_all();
    cv_.wait_for(lock, interval_, [this] { return stop_ || wake_; });
  }
}

}  // namespace tongban::approval
