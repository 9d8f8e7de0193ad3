// Shared by the case engine's files (engine.cc, engine_report.cc): the row of
// approval_cases as SOCI binds it, its JSON columns, and the engine's state
// (caches of matter versions and division calendars). Not a public header.
#pragma once

#include <soci/soci.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "approval/engine.h"
#include "approval/files.h"
#include "store/write_lane.h"

namespace tongban::approval::engine_internal {

// Every column of approval_cases, in CaseRow's order.
extern const char* const kCaseColumns;

// One approval_cases row in the types SOCI binds on every backend.
struct CaseRow {
  long long id = 0;
  std::string number, implement_code;
  int matter_version = 0;
  std::string matter_name, orgcoding, division;
  std::string applicant_type, applicant_name, applicant_id, applicant_json, materials_json;
  std::string channel, state;
  int current_step = -1;
  std::string pending_role, pending_org, pending_user;
  int corrections = 0;
  long long registered_at = 0;
  std::string registered_by;
  long long accepted_at = 0, completed_at = 0, deadline_at = 0;
  long long step_started_at = 0, step_deadline_at = 0, stopped_since = 0;
  int stopped_days = 0, step_stopped_days = 0;
  int result = -1;
  std::string result_reason, lookup_hash;
  int reported = 0;
  long long revision = 0;

  Case ToCase() const;
  // The mutable fields of `c` into this row (id, number, registration and
  // lookup columns stay as they are).
  void Assign(const Case& c);
};

// Binds the kCaseColumns of one row to `r`, in order.
void BindCaseRow(soci::details::prepare_temp_type& p, CaseRow& r);

// Runs a prepared SELECT of kCaseColumns and returns every row.
std::vector<CaseRow> FetchCases(soci::details::prepare_temp_type p);

// The case `number` (read FOR UPDATE when `for_update`), or none.
std::optional<CaseRow> LoadCase(soci::session& sql, SqlDialect dialect, std::string_view number,
                                bool for_update);

// Inserts every column of `r` but id and revision; returns the new id.
long long InsertCase(soci::session& sql, SqlDialect dialect, const CaseRow& r);

// The UPDATE of a transition: every mutable column, revision + 1, guarded by
// the revision read. False when another transaction changed the row first.
bool UpdateCase(soci::session& sql, const CaseRow& row);

std::string ApplicantJson(const Applicant& a);
Applicant ParseApplicant(std::string_view json);
std::string MaterialsJson(const std::vector<CaseMaterial>& materials);
std::vector<CaseMaterial> ParseMaterials(std::string_view json);
std::string StringsJson(const std::vector<std::string>& items);
std::vector<std::string> ParseStrings(std::string_view json);

// One step record to insert; `attachments` as given.
void InsertStepRecord(soci::session& sql, const StepRecord& record);

// The statements of every transition, kept prepared per pooled session on
// SQLite, where preparing (parser and code generator) is over half the cost of
// a transition; other dialects prepare each time (PostgreSQL would pay a round
// trip to prepare, MySQL's client substitutes values anyway). A session is used
// by one thread at a time (its lease), and so are its statements. A statement
// that throws is dropped and prepared afresh; statements of a connection that
// SqlStore has since reopened are set aside, never finalized on a dead handle.
class CaseStatements {
 public:
  explicit CaseStatements(SqlDialect dialect);  // out of line: Prepared is incomplete here
  ~CaseStatements();
  CaseStatements(const CaseStatements&) = delete;
  CaseStatements& operator=(const CaseStatements&) = delete;

  std::optional<CaseRow> Load(soci::session& sql, std::string_view number, bool for_update);
  bool Update(soci::session& sql, const CaseRow& row);
  // The same UPDATE as far as the row is concerned, naming only the mutable
  // columns that differ between `before` (as loaded) and `after`: SQLite
  // rewrites an index whenever its columns are SET, changed or not, and each
  // rewritten page is another 4 KiB WAL frame (an agree between steps leaves
  // state and completed_at, hence approval_cases_running, alone). Guarded by
  // before.revision; on SQLite one prepared statement per set of columns.
  bool Update(soci::session& sql, const CaseRow& before, const CaseRow& after);
  long long Insert(soci::session& sql, const CaseRow& row);
  // The next daily serial of `implement_code` on `day` (1 for the first case),
  // counted in approval_serials within the transaction; the caller refuses
  // anything above 9999, which rolls the count back. On SQLite one prepared
  // upsert; elsewhere the row is read FOR UPDATE and written.
  int NextSerial(soci::session& sql, const std::string& implement_code, const std::string& day);
  void InsertStep(soci::session& sql, const StepRecord& record);

 private:
  struct Prepared;
  Prepared* For(soci::session& sql);
  void Drop(soci::session& sql);
  template <typename F>
  auto Run(soci::session& sql, F&& f) -> decltype(f(std::declval<Prepared&>()));

  SqlDialect dialect_;
  std::mutex mu_;
  std::map<soci::session*, std::unique_ptr<Prepared>> sessions_;
  std::vector<std::unique_ptr<Prepared>> orphans_;
};

// An internal code: the transaction needs a matter version or calendar that is
// not cached yet. It rolls back, the caller loads them outside any transaction
// (a nested lease could wait for the pool), and tries again. Never returned.
inline constexpr int kNeedPrefetch = -5100;

struct Prefetch {
  std::string implement_code;
  int version = 0;
  std::string division;
  bool calendar = false;
  // The calendar loaded for this transition's retry, used even when the cache
  // would already call it stale (a calendar_ttl shorter than a round trip).
  std::string loaded_division;
  std::shared_ptr<const WorkCalendar> loaded_calendar;
};


// A registration checked and ready to be written: what Register decided
// before its transaction (the matter, the applicant, the time, the password).
struct RegisterPlan {
  Actor actor;
  std::shared_ptr<const Matter> matter;
  Applicant applicant;
  std::vector<CaseMaterial> materials;
  std::string note;
  std::string channel;
  std::string day;  // yyyyMMdd of `now`
  std::string password;  // unkeyed registrations (keyed ones: KeyedLookupPassword)
  std::string request_key, request_fingerprint;  // Registration's, checked
  int64_t now = 0;
};

}  // namespace tongban::approval::engine_internal

namespace tongban::approval {

struct CaseEngine::Impl {
  Impl(SqlStore& s, Outbox& o, MatterCatalogue& m, CalendarStore& c, Clock& cl, Random& r,
       EngineOptions opt)
      : store(s), outbox(o), matters(m), calendars(c), clock(cl), random(r),
        options(std::move(opt)), statements(s.dialect()) {}

  SqlStore& store;
  Outbox& outbox;
  MatterCatalogue& matters;
  CalendarStore& calendars;
  Clock& clock;
  Random& random;
  EngineOptions options;
  engine_internal::CaseStatements statements;

  std::mutex mu;
  // Matter versions never change, so they are kept for good.
  std::map<std::pair<std::string, int>, std::shared_ptr<const Matter>> matter_cache;
  // Division calendars, dropped by RecomputeDeadlines. `calendar_generation`
  // keeps a load that raced an invalidation from caching the old calendar.
  // Each with when it was loaded (steady clock, ms): kept for options.calendar_ttl.
  std::map<std::string, std::pair<std::shared_ptr<const WorkCalendar>, int64_t>, std::less<>>
      calendar_cache;
  bool Fresh(int64_t loaded_at_ms) const;
  uint64_t calendar_generation = 0;

  // From the caches only (safe inside a transaction); nullptr when not cached,
  // with `need` saying what to load.
  std::shared_ptr<const Matter> CachedMatter(std::string_view code, int version,
                                             engine_internal::Prefetch* need);
  std::shared_ptr<const WorkCalendar> CachedCalendar(std::string_view division,
                                                     engine_internal::Prefetch* need);
  // Loads what a transaction asked for; never inside a transaction.
  Status Load(engine_internal::Prefetch& need);
  Result<std::shared_ptr<const WorkCalendar>> Calendar(std::string_view division);

  // The registration's checks before its transaction (Register's errors).
  Result<engine_internal::RegisterPlan> PlanRegistration(const Actor& actor,
                                                         const Registration& registration);
  // The writes of a registration and of a transition, inside the caller's
  // transaction (Transact's or the write lane's).
  Result<Registered> RegisterIn(soci::session& sql, const engine_internal::RegisterPlan& plan);
  Result<Case> ActIn(soci::session& sql, engine_internal::Prefetch* need, const Actor& actor,
                     std::string_view case_number, const Command& checked);

  // Group commit of the API's registrations and transitions (ActAsync,
  // RegisterAsync): made by the constructor, stopped first by the destructor.
  std::unique_ptr<WriteLane> lane;

  // As Transact, through the write lane: `done` gets the body's result once
  // the piece committed. A cache miss rolls back the piece alone; the matter
  // or calendar is loaded on the lane's thread (after the commit, outside any
  // transaction) and the body runs again in a later batch.
  template <typename T, typename F>
  void TransactAsync(F body, std::function<void(Result<T>)> done) {
    struct Job {
      F body;
      std::function<void(Result<T>)> done;
      engine_internal::Prefetch need;
      std::optional<Result<T>> out;
      int attempt = 0;
    };
    auto job = std::make_shared<Job>(Job{std::move(body), std::move(done), {}, std::nullopt, 0});
    SubmitJob(job);
  }
  template <typename Job>
  void SubmitJob(const std::shared_ptr<Job>& job) {
    lane->Submit(
        [job](soci::session& sql) -> Status {
          job->need.implement_code.clear();
          job->need.version = 0;
          job->need.division.clear();
          job->need.calendar = false;
          job->out.emplace(job->body(sql, &job->need));
          if (!job->out->ok()) return job->out->error();
          return Status::Ok();
        },
        [this, job](Status status) {
          if (!status.ok() && status.error().code == engine_internal::kNeedPrefetch) {
            if (job->attempt >= 3) {
              return job->done(Error::Internal("approval: matter or calendar cache keeps missing"));
            }
            ++job->attempt;
            if (Status loaded = Load(job->need); !loaded.ok()) return job->done(loaded.error());
            return SubmitJob(job);
          }
          if (!status.ok()) return job->done(status.error());
          job->done(std::move(*job->out));
        });
  }

  // Runs `body` in a transaction, loading what it asks for and retrying.
  template <typename T, typename F>
  Result<T> Transact(F&& body) {
    engine_internal::Prefetch need;
    for (int attempt = 0;; ++attempt) {
      need.implement_code.clear();
      need.version = 0;
      need.division.clear();
      need.calendar = false;
      Result<T> r = store.WithTransaction([&](soci::session& sql) { return body(sql, &need); });
      if (r.ok() || r.error().code != engine_internal::kNeedPrefetch) return r;
      if (attempt >= 3) return Error::Internal("approval: matter or calendar cache keeps missing");
      TB_RETURN_IF_ERROR(Load(need));
    }
  }

  std::string OrgName(std::string_view orgcoding) const {
    return options.org_name ? options.org_name(orgcoding) : std::string();
  }
  // Enqueues the stage record of `record` (none for 转办, 重算).
  Status EnqueueStage(soci::session& sql, const Case& c, const Matter& matter,
                      const StepRecord& record);
};

}  // namespace tongban::approval
