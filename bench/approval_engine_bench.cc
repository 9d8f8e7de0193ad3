// Approval engine figures (docs/performance.md, "Approval"):
//  - BM_SqlLifecycle: the SQL statements of one case lifecycle (register,
//    accept, three steps; every transition's case read, case update, step
//    record and stage-record outbox row, one transaction each) issued
//    straight through SOCI: the baseline the HTTP lifecycle rate is compared
//    with (bench/approval.sh runs both in the same run).
//  - BM_SqlLifecycleGrouped: the same statements with group commit, as the
//    server's write lane commits them: 16 lifecycles in step, each phase one
//    transaction with a savepoint per case (what batching alone is worth).
//  - BM_EngineLifecycle: the same lifecycle through CaseEngine (state
//    machine, permission checks, deadlines, stage records), no HTTP.
//  - BM_Todo: a clerk's 待办 page (20 rows with lights) among
//    APPROVAL_TODO_CASES cases (default 1,000,000), with p50/p99 counters.
// APPROVAL_BENCH_URL picks the database (default: SQLite in a temp dir).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "approval/calendar.h"
#include "approval/demo.h"
#include "approval/engine.h"
#include "approval/engine_internal.h"
#include "approval/matters.h"
#include "approval/stage_records.h"
#include "core/clock.h"
#include "core/random.h"
#include "store/outbox.h"
#include "store/sql_dialect.h"
#include "store/sql_store.h"

namespace tongban::approval {
namespace {

constexpr const char* kOrg = "001";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "approval bench: %s\n", what.c_str());
  std::exit(1);
}

std::string EnvOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// One database with the approval tables, a matter of three steps, and the engine.
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<SqlStore> store;
  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<MatterCatalogue> matters;
  std::unique_ptr<CalendarStore> calendars;
  std::unique_ptr<CaseEngine> engine;
  Actor clerk;
  std::string implement_code;

  Fixture() {
    std::string url = EnvOr("APPROVAL_BENCH_URL", "");
    if (url.empty()) {
      dir = std::filesystem::temp_directory_path() /
            ("tongban-approval-bench-" + std::to_string(::getpid()));
      std::filesystem::create_directories(dir);
      url = "sqlite://" + (dir / "bench.db").string();
    }
    auto opened = SqlStore::Open(url, 4);
    if (!opened.ok()) Fail(opened.error().message);
    store = std::move(*opened);
    std::vector<Migration> m = Outbox::Migrations("approval_outbox");
    for (auto& x : MatterCatalogue::Migrations()) m.push_back(std::move(x));
    for (auto& x : CalendarStore::Migrations()) m.push_back(std::move(x));
    for (auto& x : CaseEngine::Migrations()) m.push_back(std::move(x));
    if (auto migrated = store->Migrate(m); !migrated.ok()) Fail(migrated.error().message);
    OutboxOptions options;
    options.table = "approval_outbox";
    outbox = std::make_unique<Outbox>(*store, options);
    matters = std::make_unique<MatterCatalogue>(*store, SystemClock::Instance());
    calendars = std::make_unique<CalendarStore>(*store);
    EngineOptions engine_options;
    engine_options.lookup_key = "bench-lookup-key";
    engine = std::make_unique<CaseEngine>(*store, *outbox, *matters, *calendars,
                                          SystemClock::Instance(), OpenSslRandom::Instance(),
                                          engine_options);
    // The demo matter: 承办 / 审核 / 批准, 10 working days promised.
    Matter matter = DemoMatter(kOrg);
    implement_code = matter.implement_code;
    if (!matters->Latest(implement_code).ok()) {
      if (auto saved = matters->Save(matter); !saved.ok()) Fail(saved.error().message);
    }
    clerk.kind = Actor::Kind::kStaff;
    clerk.userid = "0123456789abcdef0123456789abcdef";
    clerk.username = "基准";
    clerk.roles = {std::string(kRoleIntake), std::string(kRoleAccept),
                   std::string(kRoleUndertake), std::string(kRoleReview),
                   std::string(kRoleApprove)};
    clerk.orgs = {kOrg};
  }
  ~Fixture() {
    engine.reset();
    store.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

Fixture& Shared() {
  static Fixture* fixture = new Fixture();  // lives for the process: benches share it
  return *fixture;
}

Applicant DemoApplicant() {
  Applicant a;
  a.type = ApplicantType::kPerson;
  a.name = "张三";
  a.id_type = "10";
  a.id_number = "11010519491231002X";
  a.mobile = "13800000000";
  return a;
}

void BM_EngineLifecycle(benchmark::State& state) {
  Fixture& f = Shared();
  Registration reg;
  reg.implement_code = f.implement_code;
  reg.applicant = DemoApplicant();
  Command accept;
  accept.action = Action::kAccept;
  accept.opinion = "受理";
  Command agree;
  agree.action = Action::kAgree;
  agree.opinion = "同意";
  for (auto _ : state) {
    auto r = f.engine->Register(f.clerk, reg);
    if (!r.ok()) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    const std::string number = r->case_.number;
    bool ok = f.engine->Act(f.clerk, number, accept).ok();
    for (int i = 0; i < 3 && ok; ++i) ok = f.engine->Act(f.clerk, number, agree).ok();
    if (!ok) {
      state.SkipWithError("transition failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineLifecycle)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The statements of BM_EngineLifecycle, without the engine: per transition
// one transaction reading the case row for update, updating the columns that
// change, adding the step record and the stage record's outbox row
// (registration: the serial's upsert, the case row, its record and outbox row).
// The registration's statements (serial upsert, case row, its record and outbox row).
Status SqlRegister(Fixture& f, soci::session& sql, engine_internal::CaseStatements& statements,
                   const std::string& number, const std::string& payload) {
  const SqlDialect dialect = f.store->dialect();
  std::string code = f.implement_code, day = "20991231";
  sql_dialect::LockUntilCommit(sql, dialect, 0x6170, code + day);
  if (statements.NextSerial(sql, code, day) < 1) return Error::Internal("serial");
  engine_internal::CaseRow row;
  row.number = number;
  row.implement_code = code;
  row.matter_version = 1;
  row.matter_name = "基准测试事项";
  row.orgcoding = kOrg;
  row.division = "330100";
  row.applicant_type = "person";
  row.applicant_name = "张三";
  row.applicant_id = "11010519491231002X";
  row.applicant_json = R"({"type":"person","name":"张三","id_type":"10"})";
  row.materials_json = "[]";
  row.channel = "0";
  row.state = "registered";
  row.pending_role = kRoleAccept;
  row.pending_org = kOrg;
  row.registered_at = 1;
  row.lookup_hash = std::string(64, 'a');
  row.result = -1;
  row.id = statements.Insert(sql, row);
  StepRecord record;
  record.case_id = row.id;
  record.action = Action::kRegister;
  record.to_state = "registered";
  statements.InsertStep(sql, record);
  auto id = f.outbox->Enqueue(sql, "exchange", "SPSHENQIN", payload, 1, "case:" + number);
  if (!id.ok()) return id.error();
  return Status::Ok();
}

// Transition `step` (0 = 受理, 1..2 = agree, 3 = the agree that completes).
Status SqlStep(Fixture& f, soci::session& sql, engine_internal::CaseStatements& statements,
               const std::string& number, int step, const std::string& payload) {
  auto row = statements.Load(sql, number, true);
  if (!row.has_value()) return Error::NotFound("case");
  const engine_internal::CaseRow loaded = *row;
  // The columns the engine changes: 受理 starts the clock and step 1,
  // each agree moves to the next step, the last one completes the case.
  const long long now = 1800000000000LL + step;
  if (step == 0) {
    row->state = "in_step";
    row->accepted_at = now;
    row->deadline_at = now + 864000000;
  }
  if (step < 3) {
    constexpr std::string_view kRoles[] = {kRoleUndertake, kRoleReview, kRoleApprove};
    row->current_step = step;
    row->pending_role = std::string(kRoles[step]);
    row->step_started_at = now;
    row->step_deadline_at = now + 86400000;
  } else {
    row->state = "completed";
    row->pending_role.clear();
    row->pending_org.clear();
    row->completed_at = now;
    row->result = 0;
  }
  if (!statements.Update(sql, loaded, *row)) return Error::Conflict("stale");
  StepRecord record;
  record.case_id = row->id;
  record.action = step == 0 ? Action::kAccept : Action::kAgree;
  record.opinion = "同意";
  record.from_state = "in_step";
  record.to_state = row->state;
  statements.InsertStep(sql, record);
  auto id = f.outbox->Enqueue(sql, "exchange", "SPSHENPI", payload, 1, "case:" + number);
  if (!id.ok()) return id.error();
  return Status::Ok();
}

engine_internal::CaseStatements& BenchStatements(SqlDialect dialect) {
  // The engine's own statements, prepared once per pooled session as it keeps them.
  static engine_internal::CaseStatements statements(dialect);
  return statements;
}

std::string BenchNumber(const Fixture& f) {
  static long long serial = 0;  // across the runs Google Benchmark makes
  return f.implement_code + "B" + std::to_string(++serial) + "-" + std::to_string(::getpid());
}

// The statements of BM_EngineLifecycle, without the engine: per transition
// one transaction reading the case row for update, updating the columns that
// change, adding the step record and the stage record's outbox row
// (registration: the serial's upsert, the case row, its record and outbox row).
void BM_SqlLifecycle(benchmark::State& state) {
  Fixture& f = Shared();
  SqlStore& store = *f.store;
  const std::string payload(700, 'x');  // about a stage record's JSON
  auto& statements = BenchStatements(store.dialect());
  for (auto _ : state) {
    const std::string number = BenchNumber(f);
    for (int step = -1; step < 4; ++step) {
      auto done = store.WithTransaction([&](soci::session& sql) -> Status {
        return step < 0 ? SqlRegister(f, sql, statements, number, payload)
                        : SqlStep(f, sql, statements, number, step, payload);
      });
      if (!done.ok()) {
        state.SkipWithError(done.error().message.c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqlLifecycle)->Unit(benchmark::kMicrosecond)->UseRealTime();

// What group commit alone does to the same statements (the server's write
// lane, store/write_lane.h): kLanes lifecycles in step, each phase's
// registrations or transitions in one transaction, each in a savepoint of its
// own (prepared once per session, as the lane keeps them). Time per iteration
// is kLanes lifecycles; bench/approval.sh divides.
constexpr int kLanes = 16;

struct BenchSavepoints : SqlStore::Kept {
  explicit BenchSavepoints(soci::session& sql)
      : begin((sql.prepare << "SAVEPOINT bench")), release((sql.prepare << "RELEASE SAVEPOINT bench")) {}
  soci::statement begin;
  soci::statement release;
};

void BM_SqlLifecycleGrouped(benchmark::State& state) {
  Fixture& f = Shared();
  SqlStore& store = *f.store;
  const std::string payload(700, 'x');
  auto& statements = BenchStatements(store.dialect());
  for (auto _ : state) {
    std::vector<std::string> numbers;
    for (int i = 0; i < kLanes; ++i) numbers.push_back(BenchNumber(f));
    for (int step = -1; step < 4; ++step) {
      auto done = store.WithTransaction([&](soci::session& sql) -> Status {
        auto& sp = store.KeptFor<BenchSavepoints>(
            sql, "bench.savepoints", [](soci::session& s) { return std::make_unique<BenchSavepoints>(s); });
        for (const std::string& number : numbers) {
          sp.begin.execute(true);
          TB_RETURN_IF_ERROR(step < 0 ? SqlRegister(f, sql, statements, number, payload)
                                      : SqlStep(f, sql, statements, number, step, payload));
          sp.release.execute(true);
        }
        return Status::Ok();
      });
      if (!done.ok()) {
        state.SkipWithError(done.error().message.c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * kLanes);
}
BENCHMARK(BM_SqlLifecycleGrouped)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Fills approval_cases with `n` open cases spread over 100 orgs and the three
// step roles, in one statement (a recursive CTE; generate_series on PostgreSQL).
void FillCases(SqlStore& store, const std::string& implement_code, long long n) {
  auto filled = store.WithSession([&](soci::session& sql) -> Status {
    long long have = 0;
    sql << "SELECT COUNT(*) FROM approval_cases WHERE number LIKE 'FILL%'", soci::into(have);
    if (have >= n) return Status::Ok();
    const std::string select =
        "SELECT 'FILL' || CAST(i AS VARCHAR(20)), '" + implement_code +
        "', 1, '基准测试事项', '" + kOrg + "', '330100', 'person', '张三', "
        "'11010519491231002X', '{}', '[]', '0', 'in_step', 0, "
        "CASE i % 3 WHEN 0 THEN 'undertake' WHEN 1 THEN 'review' ELSE 'approve' END, "
        "CASE WHEN i % 100 = 0 THEN '" + kOrg + "' ELSE '9' || CAST(i % 100 AS VARCHAR(20)) END, "
        "'', 1700000000000 + i, 1700000000000 + i * 7 % 864000000000, 1, -1";
    const std::string columns =
        "INSERT INTO approval_cases (number, implement_code, matter_version, matter_name, "
        "orgcoding, division, applicant_type, applicant_name, applicant_id, applicant_json, "
        "materials_json, channel, state, current_step, pending_role, pending_org, pending_user, "
        "registered_at, deadline_at, accepted_at, result) ";
    if (store.dialect() == SqlDialect::kPostgres) {
      sql << columns + select + " FROM generate_series(" + std::to_string(have + 1) + ", " +
                 std::to_string(n) + ") AS i";
    } else {
      sql << "WITH RECURSIVE seq(i) AS (SELECT " + std::to_string(have + 1) +
                 " UNION ALL SELECT i + 1 FROM seq WHERE i < " + std::to_string(n) + ") " +
                 columns + select + " FROM seq";
    }
    return Status::Ok();
  });
  if (!filled.ok()) Fail(filled.error().message);
}

void BM_Todo(benchmark::State& state) {
  Fixture& f = Shared();
  const long long n = std::stoll(EnvOr("APPROVAL_TODO_CASES", "1000000"));
  FillCases(*f.store, f.implement_code, n);
  Actor handler = f.clerk;
  handler.roles = {std::string(kRoleUndertake), std::string(kRoleReview),
                   std::string(kRoleApprove)};
  std::vector<double> latencies;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto page = f.engine->Todo(handler, 0, 20);
    auto t1 = std::chrono::steady_clock::now();
    if (!page.ok() || page->size() != 20) {
      state.SkipWithError("todo page short or failed");
      return;
    }
    latencies.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) { return latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  state.counters["cases"] = static_cast<double>(n);
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
}
BENCHMARK(BM_Todo)->Unit(benchmark::kMicrosecond)->Iterations(2000);

}  // namespace
}  // namespace tongban::approval
