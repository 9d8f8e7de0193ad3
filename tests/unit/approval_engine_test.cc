// The case engine on a real database (a temp SQLite file, and a private
// PostgreSQL when one can be started): every outcome of a case, errors that
// change nothing, optimistic concurrency and racing threads, case numbers per
// CST day, deadlines that move with clock stops and calendar edits, lights,
// 待办/已办 lists, the stage records on the approval outbox, and department
// systems' reported cases.
#include "approval/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "approval/calendar.h"
#include "approval/files.h"
#include "approval/matters.h"
#include "approval/stage_records.h"
#include "core/clock.h"
#include "core/random.h"
#include "store/outbox.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban::approval {
namespace {

using namespace std::chrono;
using store_test::TempDir;

// A USCC with valid GB 32100 / GB 11714 check characters (Hangzhou).
constexpr const char* kUscc = "113301000024991243";
const std::string kCode = std::string(kUscc) + "3" + "000117009000";
const std::string kImmediateCode = std::string(kUscc) + "3" + "000117009001";
constexpr const char* kPersonId = "330106198001010013";
constexpr const char* kAgentId = "330106199002150020";

// A CST wall-clock instant in ms.
int64_t Cst(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  sys_days day{year{y} / month{m} / std::chrono::day{d}};
  return duration_cast<milliseconds>((day + hours{h} + minutes{min} - hours{8}).time_since_epoch())
      .count();
}
// The last millisecond of a CST day.
int64_t EndOfCstDay(int y, unsigned m, unsigned d) { return Cst(y, m, d) + 86'400'000 - 1; }

Matter ThreeStepMatter() {
  Matter m;
  m.implement_code = kCode;
  m.basic_code = "000117009000";
  m.name = "建设工程规划许可证核发";
  m.type = MatterType::kLicence;
  m.orgcoding = "001";
  m.division = "330100";
  m.legal_limit = {20, TimeUnit::kWorkingDays};
  m.promised_limit = {10, TimeUnit::kWorkingDays};
  m.online = true;
  m.materials = {{"申请书", true, MaterialForm::kEither, 1, ""}};
  m.steps = {{"1", "承办", std::string(kRoleUndertake), "", {3, TimeUnit::kWorkingDays}},
             {"2", "审核", std::string(kRoleReview), "", {3, TimeUnit::kWorkingDays}},
             {"3", "批准", std::string(kRoleApprove), "001001", {2, TimeUnit::kWorkingDays}}};
  return m;
}

Matter ImmediateMatter() {
  Matter m = ThreeStepMatter();
  m.implement_code = kImmediateCode;
  m.basic_code = "000117009001";
  m.name = "个体工商户名称变更（即办）";
  m.kind = CaseKind::kImmediate;
  m.promised_limit = {1, TimeUnit::kWorkingDays};
  return m;
}

Actor Staff(std::string userid, std::string_view role, std::string org) {
  Actor a;
  a.userid = userid;
  a.username = "用户" + userid;
  a.roles = {std::string(role)};
  a.orgs = {std::move(org)};
  return a;
}

Command Do(Action action, std::string opinion = "") {
  Command c;
  c.action = action;
  c.opinion = std::move(opinion);
  return c;
}

class ApprovalEngine : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (url.empty()) GTEST_SKIP() << why;
    auto store = SqlStore::Open(url, 4);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    std::vector<Migration> migrations = CaseEngine::Migrations();
    for (auto list : {MatterCatalogue::Migrations(), CalendarStore::Migrations(),
                      Outbox::Migrations("approval_outbox")}) {
      migrations.insert(migrations.end(), list.begin(), list.end());
    }
    Status migrated = store_->Migrate(migrations);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;

    clock_.Set(Clock::time_point(milliseconds(Cst(2026, 3, 2, 9))));  // Monday 09:00 CST
    OutboxOptions outbox_options;
    outbox_options.table = "approval_outbox";
    outbox_ = std::make_unique<Outbox>(*store_, outbox_options);
    matters_ = std::make_unique<MatterCatalogue>(*store_, clock_);
    calendars_ = std::make_unique<CalendarStore>(*store_);
    auto files = FileStore::Open(std::filesystem::path(dir_.path()) / "files", 1 << 20);
    ASSERT_TRUE(files.ok());
    files_ = std::make_unique<FileStore>(std::move(files).value());
    ASSERT_TRUE(matters_->Save(ThreeStepMatter()).ok());
    ASSERT_TRUE(matters_->Save(ImmediateMatter()).ok());
    engine_ = MakeEngine();
  }

  std::unique_ptr<CaseEngine> MakeEngine(milliseconds calendar_ttl = milliseconds(60'000),
                                         bool stage_records = true) {
    EngineOptions options;
    options.calendar_ttl = calendar_ttl;
    options.stage_records = stage_records;
    options.lookup_key = "test lookup key";
    options.files = files_.get();
    options.org_name = [](std::string_view org) { return "机构" + std::string(org); };
    return std::make_unique<CaseEngine>(*store_, *outbox_, *matters_, *calendars_, clock_,
                                        random_, options);
  }

  Registration PersonApplication(std::string code = kCode) {
    Registration r;
    r.implement_code = std::move(code);
    r.applicant.name = "张三";
    r.applicant.id_number = kPersonId;
    r.applicant.mobile = "13800000000";
    r.materials = {{"申请书", MaterialForm::kPaper, 1, "", "", 0}};
    return r;
  }

  Registered MustRegister(Registration r = {}) {
    if (r.implement_code.empty()) r = PersonApplication();
    auto reg = engine_->Register(intake_, r);
    EXPECT_TRUE(reg.ok()) << reg.error().message;
    return std::move(reg).value();
  }

  Case MustAct(const Actor& actor, const std::string& number, const Command& command) {
    auto c = engine_->Act(actor, number, command);
    EXPECT_TRUE(c.ok()) << ActionName(command.action) << ": " << c.error().message;
    return c.ok() ? std::move(c).value() : Case{};
  }

  // Registers and accepts: a case waiting on 承办.
  std::string Accepted() {
    std::string number = MustRegister().case_.number;
    MustAct(acceptor_, number, Do(Action::kAccept));
    return number;
  }

  std::vector<Action> Actions(const std::string& number) {
    auto history = engine_->History(number);
    EXPECT_TRUE(history.ok());
    std::vector<Action> out;
    for (const StepRecord& r : *history) out.push_back(r.action);
    return out;
  }

  // The stage records enqueued for `number`, oldest first.
  std::vector<std::string> Stages(const std::string& number) {
    auto pending = outbox_->List(OutboxState::kPending, 1000);
    EXPECT_TRUE(pending.ok());
    std::vector<std::string> out;
    for (const OutboxMessage& m : *pending) {
      if (m.ordering_key != "case:" + number) continue;
      EXPECT_EQ(m.destination, "exchange");
      EXPECT_NE(m.payload.find("\"stage\":\"" + m.method + "\""), std::string::npos);
      out.push_back(m.method);
    }
    return out;
  }

  void Advance(milliseconds d) { clock_.Advance(d); }
  void At(int64_t ms) { clock_.Set(Clock::time_point(milliseconds(ms))); }

  TempDir dir_;
  std::unique_ptr<SqlStore> store_;
  FakeClock clock_;
  FakeRandom random_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<MatterCatalogue> matters_;
  std::unique_ptr<CalendarStore> calendars_;
  std::unique_ptr<FileStore> files_;
  std::unique_ptr<CaseEngine> engine_;

  Actor intake_ = Staff("intake1", kRoleIntake, "001");
  Actor acceptor_ = Staff("accept1", kRoleAccept, "001");
  Actor undertaker_ = Staff("under1", kRoleUndertake, "001");
  Actor undertaker2_ = Staff("under2", kRoleUndertake, "001");
  Actor reviewer_ = Staff("review1", kRoleReview, "001");
  Actor approver_ = Staff("approve1", kRoleApprove, "001001");
};

// ---- Registration ----

TEST_P(ApprovalEngine, RegistrationGivesA43CharacterNumberAndASixDigitPassword) {
  Registered first = MustRegister();
  Registered second = MustRegister();
  EXPECT_EQ(first.case_.number, kCode + "20260302" + "0001");
  EXPECT_EQ(second.case_.number, kCode + "20260302" + "0002");
  EXPECT_EQ(first.case_.number.size(), 43u);
  ASSERT_EQ(first.lookup_password.size(), 6u);
  EXPECT_TRUE(std::all_of(first.lookup_password.begin(), first.lookup_password.end(),
                          [](char c) { return c >= '0' && c <= '9'; }));
  EXPECT_EQ(first.case_.state, CaseState::kRegistered);
  EXPECT_EQ(first.case_.pending_role, kRoleAccept);
  EXPECT_EQ(first.case_.pending_org, "001");
  EXPECT_EQ(first.case_.matter_version, 1);
  EXPECT_EQ(first.case_.registered_at_ms, Cst(2026, 3, 2, 9));
  auto stored = engine_->Get(first.case_.number);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->applicant.name, "张三");
  EXPECT_EQ(stored->applicant.id_type, "10");
  EXPECT_EQ(Actions(first.case_.number), std::vector<Action>{Action::kRegister});
  EXPECT_EQ(Stages(first.case_.number), std::vector<std::string>{"SPSHENQIN"});
}

TEST_P(ApprovalEngine, TheSerialRestartsAtCstMidnightNotUtcMidnight) {
  At(Cst(2026, 3, 2, 7, 59));  // 23:59 UTC the day before
  EXPECT_EQ(MustRegister().case_.number, kCode + "202603020001");
  At(Cst(2026, 3, 2, 8, 1));  // UTC midnight has passed, CST day has not
  EXPECT_EQ(MustRegister().case_.number, kCode + "202603020002");
  At(Cst(2026, 3, 2, 23, 59));
  EXPECT_EQ(MustRegister().case_.number, kCode + "202603020003");
  At(Cst(2026, 3, 3, 0, 0));
  EXPECT_EQ(MustRegister().case_.number, kCode + "202603030001");
}

TEST_P(ApprovalEngine, AnExhaustedDailySerialIsAClearError) {
  MustRegister();
  Status exhausted = store_->WithSession([](soci::session& sql) -> Status {
    sql << "UPDATE approval_serials SET last_serial = 9999";
    return Status::Ok();
  });
  ASSERT_TRUE(exhausted.ok());
  auto reg = engine_->Register(intake_, PersonApplication());
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.error().code, errc::kConflict);
  EXPECT_NE(reg.error().message.find("当日办件编号已用尽"), std::string::npos);
  // The refusal rolled the count back: the serial stays at 9999, not 10000.
  int last = 0;
  Status read = store_->WithSession([&](soci::session& sql) -> Status {
    sql << "SELECT MAX(last_serial) FROM approval_serials", soci::into(last);
    return Status::Ok();
  });
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(last, 9999);
}

TEST_P(ApprovalEngine, TheLookupPasswordOpensTheCaseAndNothingElseDoes) {
  Registered r = MustRegister();
  auto found = engine_->Lookup(r.case_.number, r.lookup_password);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->number, r.case_.number);
  std::string wrong = r.lookup_password;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  auto bad = engine_->Lookup(r.case_.number, wrong);
  auto unknown = engine_->Lookup(kCode + "202603029999", r.lookup_password);
  ASSERT_FALSE(bad.ok());
  ASSERT_FALSE(unknown.ok());
  // Same code, same words: no oracle for which case numbers exist.
  EXPECT_EQ(bad.error().code, code::kLookupFailed);
  EXPECT_EQ(unknown.error().code, code::kLookupFailed);
  EXPECT_EQ(bad.error().message, unknown.error().message);
  // Only a keyed hash is stored.
  std::string hash;
  Status read = store_->WithSession([&](soci::session& sql) -> Status {
    sql << "SELECT lookup_hash FROM approval_cases", soci::into(hash);
    return Status::Ok();
  });
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find(r.lookup_password), std::string::npos);
}

TEST_P(ApprovalEngine, BadApplicantsUnknownMattersAndMissingFilesAreRefused) {
  Registration bad_id = PersonApplication();
  bad_id.applicant.id_number = "330106198001010014";  // wrong check digit
  auto r1 = engine_->Register(intake_, bad_id);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, code::kBadApplicant);
  EXPECT_NE(r1.error().message.find("证件号码"), std::string::npos);

  Registration legal = PersonApplication();
  legal.applicant.type = ApplicantType::kLegalPerson;
  legal.applicant.name = "杭州某某有限公司";
  legal.applicant.id_number = "113301000024991244";  // wrong GB 32100 check
  EXPECT_EQ(engine_->Register(intake_, legal).error().code, code::kBadApplicant);
  legal.applicant.id_number = kUscc;
  EXPECT_TRUE(engine_->Register(intake_, legal).ok());

  Registration bad_agent = PersonApplication();
  bad_agent.applicant.agent_name = "李四";
  bad_agent.applicant.agent_id_number = "330106199002150021";
  EXPECT_EQ(engine_->Register(intake_, bad_agent).error().code, code::kBadApplicant);
  bad_agent.applicant.agent_id_number = kAgentId;
  EXPECT_TRUE(engine_->Register(intake_, bad_agent).ok());

  Registration no_name = PersonApplication();
  no_name.applicant.name = "";
  EXPECT_EQ(engine_->Register(intake_, no_name).error().code, code::kBadApplicant);
  no_name.applicant.name = std::string(101 * 3, '\xE5');  // over 100 characters either way
  EXPECT_EQ(engine_->Register(intake_, no_name).error().code, code::kBadApplicant);

  Registration unknown = PersonApplication(std::string(kUscc) + "3" + "000117009099");
  EXPECT_EQ(engine_->Register(intake_, unknown).error().code, code::kMatterUnknown);

  Registration missing_file = PersonApplication();
  missing_file.materials = {{"申请书", MaterialForm::kElectronic, 0, std::string(64, 'a'), "", 0}};
  EXPECT_EQ(engine_->Register(intake_, missing_file).error().code, code::kBadMaterial);

  // Nothing half-written: only the two good registrations exist.
  CaseFilter all;
  int64_t total = 0;
  ASSERT_TRUE(engine_->Search(all, &total).ok());
  EXPECT_EQ(total, 2);
}

TEST_P(ApprovalEngine, AnUploadedMaterialKeepsTheStoresTypeNotTheCallers) {
  auto stored = files_->Put(std::string("\x89PNG\r\n\x1A\n", 8) + "image");
  ASSERT_TRUE(stored.ok());
  Registration r = PersonApplication();
  r.materials = {{"申请书.pdf", MaterialForm::kElectronic, 0, stored->sha256, "application/pdf", 1}};
  Registered reg = MustRegister(r);
  ASSERT_EQ(reg.case_.materials.size(), 1u);
  EXPECT_EQ(reg.case_.materials[0].media_type, "image/png");
  EXPECT_EQ(reg.case_.materials[0].size, stored->size);
}

TEST_P(ApprovalEngine, OnlyIntakeClerksOfTheMattersOrgRegister) {
  auto other_org = engine_->Register(Staff("x", kRoleIntake, "002"), PersonApplication());
  ASSERT_FALSE(other_org.ok());
  EXPECT_EQ(other_org.error().code, code::kNotYourStep);
  EXPECT_EQ(engine_->Register(acceptor_, PersonApplication()).error().code, code::kNotYourStep);
  Actor system;
  system.kind = Actor::Kind::kSystem;
  EXPECT_EQ(engine_->Register(system, PersonApplication()).error().code, errc::kPermissionDenied);
}

// ---- Outcomes ----

TEST_P(ApprovalEngine, ACaseIsApprovedThroughItsThreeSteps) {
  std::string number = MustRegister().case_.number;
  Case c = MustAct(acceptor_, number, Do(Action::kAccept, "材料齐全"));
  EXPECT_EQ(c.state, CaseState::kInStep);
  EXPECT_EQ(c.current_step, 0);
  EXPECT_EQ(c.pending_role, kRoleUndertake);
  EXPECT_EQ(c.pending_org, "001");
  EXPECT_EQ(c.accepted_at_ms, Cst(2026, 3, 2, 9));
  EXPECT_EQ(c.deadline_ms, EndOfCstDay(2026, 3, 16));      // 10 working days
  EXPECT_EQ(c.step_deadline_ms, EndOfCstDay(2026, 3, 5));  // 3 working days

  c = MustAct(undertaker_, number, Do(Action::kAgree, "拟同意"));
  EXPECT_EQ(c.current_step, 1);
  EXPECT_EQ(c.pending_role, kRoleReview);
  c = MustAct(reviewer_, number, Do(Action::kAgree));
  EXPECT_EQ(c.pending_role, kRoleApprove);
  EXPECT_EQ(c.pending_org, "001001");  // the step's own org
  Advance(hours{1});
  c = MustAct(approver_, number, Do(Action::kAgree, "同意"));
  EXPECT_EQ(c.state, CaseState::kCompleted);
  EXPECT_EQ(c.result, CompletionResult::kApproved);
  EXPECT_EQ(c.completed_at_ms, Cst(2026, 3, 2, 10));
  EXPECT_EQ(c.pending_role, "");

  EXPECT_EQ(Actions(number), (std::vector<Action>{Action::kRegister, Action::kAccept,
                                                   Action::kAgree, Action::kAgree,
                                                   Action::kAgree}));
  EXPECT_EQ(Stages(number), (std::vector<std::string>{"SPSHENQIN", "SPSHOULI", "SPSHENPI",
                                                       "SPSHENPI", "SPSHENPI", "SPBANJIE"}));
  auto history = engine_->History(number);
  ASSERT_TRUE(history.ok());
  const StepRecord& last = history->back();
  EXPECT_EQ(last.userid, "approve1");
  EXPECT_EQ(last.orgcoding, "001001");
  EXPECT_EQ(last.step_code, "3");
  EXPECT_EQ(last.opinion, "同意");
  EXPECT_EQ(last.from_state, "in_step");
  EXPECT_EQ(last.to_state, "completed");
  EXPECT_EQ(last.at_ms, Cst(2026, 3, 2, 10));
  // A second 办结 is a wrong state.
  auto again = engine_->Act(approver_, number, Do(Action::kAgree));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, code::kWrongState);
  EXPECT_EQ(again.error().message, "办件已办结");
}

TEST_P(ApprovalEngine, ACaseIsRefusedAtAcceptanceOnlyWithAReason) {
  std::string number = MustRegister().case_.number;
  auto silent = engine_->Act(acceptor_, number, Do(Action::kRefuse));
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(silent.error().code, code::kReasonRequired);
  EXPECT_EQ(engine_->Get(number)->state, CaseState::kRegistered);
  Case c = MustAct(acceptor_, number, Do(Action::kRefuse, "不属于本机关职权范围"));
  EXPECT_EQ(c.state, CaseState::kRefused);
  EXPECT_EQ(c.result_reason, "不属于本机关职权范围");
  EXPECT_EQ(engine_->Act(acceptor_, number, Do(Action::kAccept)).error().code, code::kWrongState);
  EXPECT_EQ(Stages(number), (std::vector<std::string>{"SPSHENQIN", "SPSHOULI"}));
}

TEST_P(ApprovalEngine, ACorrectionStopsTheClockAndItsWorkingDaysMoveTheDeadlines) {
  std::string number = Accepted();
  At(Cst(2026, 3, 3, 10));  // Tuesday
  Command notice = Do(Action::kRequestCorrection, "请补交规划图");
  notice.missing_materials = {"规划图"};
  Case c = MustAct(undertaker_, number, notice);
  EXPECT_EQ(c.state, CaseState::kCorrection);
  EXPECT_EQ(c.corrections, 1);
  EXPECT_EQ(c.stopped_since_ms, Cst(2026, 3, 3, 10));
  // The handler cannot move it on while the applicant is away.
  EXPECT_EQ(engine_->Act(undertaker_, number, Do(Action::kAgree)).error().code,
            code::kWrongState);

  At(Cst(2026, 3, 6, 15));  // Friday: Tue, Wed, Thu were stopped
  c = MustAct(intake_, number, Do(Action::kResubmit));
  EXPECT_EQ(c.state, CaseState::kInStep);
  EXPECT_EQ(c.current_step, 0);
  EXPECT_EQ(c.stopped_since_ms, 0);
  EXPECT_EQ(c.stopped_working_days, 3);
  EXPECT_EQ(c.deadline_ms, EndOfCstDay(2026, 3, 19));       // 16th + 3 working days
  EXPECT_EQ(c.step_deadline_ms, EndOfCstDay(2026, 3, 10));  // 5th + 3 working days

  MustAct(undertaker_, number, Do(Action::kAgree));
  MustAct(reviewer_, number, Do(Action::kAgree));
  c = MustAct(approver_, number, Do(Action::kAgree));
  EXPECT_EQ(c.result, CompletionResult::kApproved);
  EXPECT_EQ(Stages(number),
            (std::vector<std::string>{"SPSHENQIN", "SPSHOULI", "SPBUZHENG", "SPBUZHENG",
                                      "SPSHENPI", "SPSHENPI", "SPSHENPI", "SPBANJIE"}));
}

TEST_P(ApprovalEngine, ASuspensionStopsTheClockUntilItsEnd) {
  std::string number = Accepted();
  Command start = Do(Action::kSuspend, "需专家评审");
  start.suspension_kind = "专家评审";
  At(Cst(2026, 3, 4, 9));  // Wednesday
  Case c = MustAct(undertaker_, number, start);
  EXPECT_EQ(c.state, CaseState::kSuspended);
  EXPECT_EQ(c.corrections, 0);
  At(Cst(2026, 3, 4, 17));  // the same day: nothing added
  c = MustAct(undertaker_, number, Do(Action::kResume, "评审通过"));
  EXPECT_EQ(c.state, CaseState::kInStep);
  EXPECT_EQ(c.stopped_working_days, 0);
  EXPECT_EQ(c.deadline_ms, EndOfCstDay(2026, 3, 16));

  At(Cst(2026, 3, 5, 9));  // Thursday → next Monday: Thu and Fri stopped
  MustAct(undertaker_, number, start);
  At(Cst(2026, 3, 9, 9));
  c = MustAct(undertaker_, number, Do(Action::kResume, "听证结束"));
  EXPECT_EQ(c.stopped_working_days, 2);
  EXPECT_EQ(c.deadline_ms, EndOfCstDay(2026, 3, 18));
  MustAct(undertaker_, number, Do(Action::kAgree));
  MustAct(reviewer_, number, Do(Action::kAgree));
  EXPECT_EQ(MustAct(approver_, number, Do(Action::kAgree)).result, CompletionResult::kApproved);
}

// A transition writes only the columns it changes (on SQLite): whatever each
// kind of transition returns is what a fresh read finds, column by column.
TEST_P(ApprovalEngine, EachTransitionStoresExactlyTheCaseItReturns) {
  std::string number = MustRegister().case_.number;
  auto same_as_stored = [&](const Case& c, const char* after) {
    SCOPED_TRACE(after);
    auto stored = engine_->Get(number);
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->state, c.state);
    EXPECT_EQ(stored->current_step, c.current_step);
    EXPECT_EQ(stored->pending_role, c.pending_role);
    EXPECT_EQ(stored->pending_org, c.pending_org);
    EXPECT_EQ(stored->pending_user, c.pending_user);
    EXPECT_EQ(stored->corrections, c.corrections);
    EXPECT_EQ(stored->materials.size(), c.materials.size());
    EXPECT_EQ(stored->accepted_at_ms, c.accepted_at_ms);
    EXPECT_EQ(stored->completed_at_ms, c.completed_at_ms);
    EXPECT_EQ(stored->deadline_ms, c.deadline_ms);
    EXPECT_EQ(stored->step_started_at_ms, c.step_started_at_ms);
    EXPECT_EQ(stored->step_deadline_ms, c.step_deadline_ms);
    EXPECT_EQ(stored->stopped_since_ms, c.stopped_since_ms);
    EXPECT_EQ(stored->stopped_working_days, c.stopped_working_days);
    EXPECT_EQ(stored->result, c.result);
    EXPECT_EQ(stored->result_reason, c.result_reason);
    EXPECT_EQ(stored->revision, c.revision);
  };
  At(Cst(2026, 3, 2, 10));
  same_as_stored(MustAct(acceptor_, number, Do(Action::kAccept)), "accept");
  At(Cst(2026, 3, 3, 10));
  Command notice = Do(Action::kRequestCorrection, "请补交规划图");
  notice.missing_materials = {"规划图"};
  same_as_stored(MustAct(undertaker_, number, notice), "correction");
  At(Cst(2026, 3, 5, 10));
  Command resubmit = Do(Action::kResubmit);
  resubmit.materials = {{"规划图", MaterialForm::kPaper, 2, "", "", 0}};
  same_as_stored(MustAct(intake_, number, resubmit), "resubmit");
  Command transfer = Do(Action::kTransfer, "转同事");
  transfer.to_user = undertaker2_.userid;
  same_as_stored(MustAct(undertaker_, number, transfer), "transfer");
  Command start = Do(Action::kSuspend, "需专家评审");
  start.suspension_kind = "专家评审";
  At(Cst(2026, 3, 6, 9));
  same_as_stored(MustAct(undertaker2_, number, start), "suspend");
  At(Cst(2026, 3, 10, 9));
  same_as_stored(MustAct(undertaker2_, number, Do(Action::kResume, "评审通过")), "resume");
  same_as_stored(MustAct(undertaker2_, number, Do(Action::kAgree)), "agree 1");
  same_as_stored(MustAct(reviewer_, number, Do(Action::kReturn, "退回承办")), "return");
  same_as_stored(MustAct(undertaker_, number, Do(Action::kAgree)), "agree 1 again");
  same_as_stored(MustAct(reviewer_, number, Do(Action::kAgree)), "agree 2");
  Case done = MustAct(approver_, number, Do(Action::kAgree));
  same_as_stored(done, "agree 3");
  EXPECT_EQ(done.state, CaseState::kCompleted);
  EXPECT_EQ(done.result, CompletionResult::kApproved);
  EXPECT_EQ(done.revision, 11);
}

TEST_P(ApprovalEngine, TheApplicantOrAnIntakeClerkWithdrawsBeforeAcceptance) {
  std::string by_clerk = MustRegister().case_.number;
  EXPECT_EQ(MustAct(intake_, by_clerk, Do(Action::kWithdraw)).state, CaseState::kWithdrawn);

  Actor citizen;
  citizen.kind = Actor::Kind::kApplicant;
  citizen.userid = "citizen-1";
  auto online = engine_->Register(citizen, PersonApplication());
  ASSERT_TRUE(online.ok()) << online.error().message;
  EXPECT_EQ(online->case_.channel, "1");
  Actor stranger = citizen;
  stranger.userid = "citizen-2";
  EXPECT_EQ(engine_->Act(stranger, online->case_.number, Do(Action::kWithdraw)).error().code,
            code::kNotYourStep);
  EXPECT_EQ(MustAct(citizen, online->case_.number, Do(Action::kWithdraw)).state,
            CaseState::kWithdrawn);

  std::string accepted = Accepted();
  EXPECT_EQ(engine_->Act(intake_, accepted, Do(Action::kWithdraw)).error().code,
            code::kWrongState);
}

// review13: one account may have only a few online applications waiting for
// 受理 (5 per matter, 20 in all); the window is not limited, and an accepted
// or withdrawn application makes room again.
TEST_P(ApprovalEngine, AnApplicantHasFewOnlineApplicationsWaiting) {
  Actor citizen;
  citizen.kind = Actor::Kind::kApplicant;
  citizen.userid = "citizen-cap";
  std::vector<std::string> waiting;
  for (int i = 0; i < 5; ++i) {
    auto online = engine_->Register(citizen, PersonApplication());
    ASSERT_TRUE(online.ok()) << i << ": " << online.error().message;
    waiting.push_back(online->case_.number);
  }
  auto sixth = engine_->Register(citizen, PersonApplication());
  ASSERT_FALSE(sixth.ok());
  EXPECT_EQ(sixth.error().code, errc::kConflict);
  Actor other = citizen;
  other.userid = "citizen-other";
  EXPECT_TRUE(engine_->Register(other, PersonApplication()).ok());
  EXPECT_TRUE(engine_->Register(intake_, PersonApplication()).ok());
  MustAct(citizen, waiting[0], Do(Action::kWithdraw));
  EXPECT_TRUE(engine_->Register(citizen, PersonApplication()).ok());
  Registration long_note = PersonApplication();
  long_note.note = std::string(6001, 'x');
  EXPECT_EQ(engine_->Register(intake_, long_note).error().code, errc::kInvalidArgument);
}

// review13: the uploads of the last 24 hours, per account, for the upload
// quota: distinct files counted once, older ones no longer.
TEST_P(ApprovalEngine, UploadsAreSummedPerAccountOverTheLastDay) {
  const std::string a(64, 'a'), b(64, 'b');
  ASSERT_TRUE(engine_->RecordUpload(intake_, a, 1000).ok());
  ASSERT_TRUE(engine_->RecordUpload(intake_, a, 1000).ok());  // the same file again
  Advance(std::chrono::hours(12));
  ASSERT_TRUE(engine_->RecordUpload(intake_, b, 250).ok());
  ASSERT_TRUE(engine_->RecordUpload(acceptor_, b, 250).ok());
  EXPECT_EQ(*engine_->UploadedBytesInLastDay(intake_.userid), 1250);
  EXPECT_EQ(*engine_->UploadedBytesInLastDay(acceptor_.userid), 250);
  EXPECT_EQ(*engine_->UploadedBytesInLastDay("nobody"), 0);
  Advance(std::chrono::hours(13));  // the first upload is 25 hours old
  EXPECT_EQ(*engine_->UploadedBytesInLastDay(intake_.userid), 250);
}

TEST_P(ApprovalEngine, AnAcceptorVoidsWithAReason) {
  std::string number = Accepted();
  EXPECT_EQ(engine_->Act(acceptor_, number, Do(Action::kVoid)).error().code,
            code::kReasonRequired);
  EXPECT_EQ(engine_->Act(undertaker_, number, Do(Action::kVoid, "x")).error().code,
            code::kNotYourStep);
  Case c = MustAct(acceptor_, number, Do(Action::kVoid, "重复登记"));
  EXPECT_EQ(c.state, CaseState::kVoided);
  EXPECT_EQ(c.result, CompletionResult::kVoided);
  EXPECT_EQ(c.result_reason, "重复登记");
  EXPECT_EQ(Stages(number).back(), "SPBANJIE");
}

TEST_P(ApprovalEngine, ReturnGoesBackAStepAndReturnToTheApplicantEndsTheCase) {
  std::string number = Accepted();
  MustAct(undertaker_, number, Do(Action::kAgree));
  At(Cst(2026, 3, 3, 9));
  EXPECT_EQ(engine_->Act(reviewer_, number, Do(Action::kReturn)).error().code,
            code::kReasonRequired);
  Case c = MustAct(reviewer_, number, Do(Action::kReturn, "请补充现场勘查意见"));
  EXPECT_EQ(c.current_step, 0);
  EXPECT_EQ(c.pending_role, kRoleUndertake);
  EXPECT_EQ(c.step_started_at_ms, Cst(2026, 3, 3, 9));
  EXPECT_EQ(c.step_deadline_ms, EndOfCstDay(2026, 3, 6));
  EXPECT_EQ(engine_->Act(undertaker_, number, Do(Action::kReturn, "x")).error().code,
            code::kWrongState);
  c = MustAct(undertaker_, number, Do(Action::kReturnToApplicant, "申请事项不属于本机关"));
  EXPECT_EQ(c.state, CaseState::kCompleted);
  EXPECT_EQ(c.result, CompletionResult::kReturned);
}

TEST_P(ApprovalEngine, DisagreeingEndsTheCaseAsNotApproved) {
  std::string number = Accepted();
  MustAct(undertaker_, number, Do(Action::kAgree));
  Case c = MustAct(reviewer_, number, Do(Action::kDisagree, "不符合规划条件"));
  EXPECT_EQ(c.state, CaseState::kCompleted);
  EXPECT_EQ(c.result, CompletionResult::kNotApproved);
  EXPECT_EQ(c.result_reason, "不符合规划条件");
  EXPECT_EQ(Stages(number).back(), "SPBANJIE");
}

TEST_P(ApprovalEngine, AnImmediateMatterCompletesAtAcceptance) {
  std::string number = MustRegister(PersonApplication(kImmediateCode)).case_.number;
  Case c = MustAct(acceptor_, number, Do(Action::kComplete));
  EXPECT_EQ(c.state, CaseState::kCompleted);
  EXPECT_EQ(c.accepted_at_ms, c.completed_at_ms);
  EXPECT_EQ(Actions(number),
            (std::vector<Action>{Action::kRegister, Action::kAccept, Action::kComplete}));
  EXPECT_EQ(Stages(number), (std::vector<std::string>{"SPSHENQIN", "SPSHOULI", "SPBANJIE"}));
}

TEST_P(ApprovalEngine, ATransferredStepIsForItsNewHandlerOnly) {
  std::string number = Accepted();
  Command transfer = Do(Action::kTransfer);
  transfer.to_user = "under2";
  Case c = MustAct(undertaker_, number, transfer);
  EXPECT_EQ(c.pending_user, "under2");
  EXPECT_EQ(engine_->Act(undertaker_, number, Do(Action::kAgree)).error().code,
            code::kNotYourStep);
  c = MustAct(undertaker2_, number, Do(Action::kAgree));
  EXPECT_EQ(c.pending_user, "");  // the next step is open to its role again
  EXPECT_EQ(Stages(number),  // 转办 has no stage record
            (std::vector<std::string>{"SPSHENQIN", "SPSHOULI", "SPSHENPI"}));
}

// ---- Errors change nothing ----

TEST_P(ApprovalEngine, WrongStatesAndWrongRolesChangeNothing) {
  std::string number = Accepted();
  auto before = engine_->Get(number);
  ASSERT_TRUE(before.ok());
  size_t history = Actions(number).size();
  size_t stages = Stages(number).size();

  struct Attempt {
    Actor actor;
    Command command;
    int code;
  };
  Actor supervisor = Staff("sup", kRoleSupervise, "001");
  supervisor.roles.push_back(std::string(kRoleMatterAdmin));
  Actor system;
  system.kind = Actor::Kind::kSystem;
  std::vector<Attempt> attempts = {
      {acceptor_, Do(Action::kAccept), code::kWrongState},
      {reviewer_, Do(Action::kAgree), code::kNotYourStep},
      {Staff("u9", kRoleUndertake, "002"), Do(Action::kAgree), code::kNotYourStep},
      {supervisor, Do(Action::kAgree), code::kNotYourStep},
      {system, Do(Action::kAgree), errc::kPermissionDenied},
      {undertaker_, Do(Action::kResume), code::kWrongState},
      {undertaker_, Do(Action::kDisagree), code::kReasonRequired},
      {undertaker_, Do(Action::kRegister), errc::kInvalidArgument},
  };
  for (const Attempt& a : attempts) {
    auto r = engine_->Act(a.actor, number, a.command);
    ASSERT_FALSE(r.ok()) << ActionName(a.command.action);
    EXPECT_EQ(r.error().code, a.code) << ActionName(a.command.action) << ": " << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
  }
  auto after = engine_->Get(number);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->revision, before->revision);
  EXPECT_EQ(after->state, before->state);
  EXPECT_EQ(after->current_step, before->current_step);
  EXPECT_EQ(after->pending_role, before->pending_role);
  EXPECT_EQ(Actions(number).size(), history);
  EXPECT_EQ(Stages(number).size(), stages);
  EXPECT_EQ(engine_->Act(acceptor_, kCode + "202603029999", Do(Action::kAccept)).error().code,
            code::kCaseUnknown);
}

TEST_P(ApprovalEngine, AStaleRevisionIsTold) {
  std::string number = MustRegister().case_.number;
  int64_t seen = engine_->Get(number)->revision;
  Command accept = Do(Action::kAccept);
  accept.expected_revision = seen;
  Case c = MustAct(acceptor_, number, accept);
  EXPECT_EQ(c.revision, seen + 1);
  Command refuse = Do(Action::kRefuse, "材料不全");
  refuse.expected_revision = seen;  // the page the second clerk loaded
  auto late = engine_->Act(acceptor_, number, refuse);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, code::kStale);
  EXPECT_EQ(late.error().message, "办件已被他人处理，请刷新");
  EXPECT_EQ(engine_->Get(number)->state, CaseState::kInStep);
}

TEST_P(ApprovalEngine, TwoThreadsRacingOneTransitionHaveOneWinner) {
  for (int round = 0; round < 5; ++round) {
    std::string number = MustRegister().case_.number;
    int64_t seen = engine_->Get(number)->revision;
    std::atomic<int> wins{0}, stale{0}, other{0};
    auto race = [&](Action action, std::string opinion) {
      Command c = Do(action, std::move(opinion));
      c.expected_revision = seen;
      auto r = engine_->Act(acceptor_, number, c);
      if (r.ok()) {
        ++wins;
      } else if (r.error().code == code::kStale) {
        ++stale;
      } else {
        ++other;
      }
    };
    std::thread a(race, Action::kAccept, "");
    std::thread b(race, Action::kRefuse, "材料不全");
    a.join();
    b.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(stale.load(), 1);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(Actions(number).size(), 2u);
    EXPECT_EQ(Stages(number).size(), 2u);
  }
}

TEST_P(ApprovalEngine, ConcurrentRegistrationsNeverShareANumber) {
  std::vector<std::string> numbers[2];
  auto burst = [&](int t) {
    for (int i = 0; i < 15; ++i) {
      auto r = engine_->Register(intake_, PersonApplication());
      ASSERT_TRUE(r.ok()) << r.error().message;
      numbers[t].push_back(r->case_.number);
    }
  };
  std::thread a(burst, 0), b(burst, 1);
  a.join();
  b.join();
  std::set<std::string> all(numbers[0].begin(), numbers[0].end());
  all.insert(numbers[1].begin(), numbers[1].end());
  EXPECT_EQ(all.size(), 30u);
  EXPECT_EQ(*all.rbegin(), kCode + "202603020030");
}

// ---- Lights, lists, calendars ----

TEST_P(ApprovalEngine, LightsTurnYellowOnTheLastWorkingDayAndRedAfterTheDeadline) {
  std::string number = Accepted();  // deadline: end of Monday 16 March
  Case c = *engine_->Get(number);
  EXPECT_EQ(engine_->CaseLight(c, Cst(2026, 3, 12, 23, 59)), Light::kGreen);
  EXPECT_EQ(engine_->CaseLight(c, Cst(2026, 3, 13, 0, 0)), Light::kYellow);  // Friday
  EXPECT_EQ(engine_->CaseLight(c, EndOfCstDay(2026, 3, 16)), Light::kYellow);
  EXPECT_EQ(engine_->CaseLight(c, EndOfCstDay(2026, 3, 16) + 1), Light::kRed);
  // The step (3 working days, to Thursday 5th) goes red first, while the case is green.
  EXPECT_EQ(engine_->StepLight(c, Cst(2026, 3, 6, 9)), Light::kRed);
  EXPECT_EQ(engine_->CaseLight(c, Cst(2026, 3, 6, 9)), Light::kGreen);
}

TEST_P(ApprovalEngine, AStoppedClockKeepsTheLightItHadWhenItStopped) {
  std::string number = Accepted();
  At(Cst(2026, 3, 3, 9));
  Case c = MustAct(undertaker_, number, Do(Action::kSuspend, "听证"));
  EXPECT_EQ(engine_->CaseLight(c, Cst(2026, 4, 30, 9)), Light::kGreen);
  EXPECT_EQ(engine_->StepLight(c, Cst(2026, 4, 30, 9)), Light::kGreen);
}

TEST_P(ApprovalEngine, TodoListsWhatTheActorMayActOnMostUrgentFirst) {
  std::string waiting = MustRegister().case_.number;
  std::string early = Accepted();
  At(Cst(2026, 3, 4, 9));
  std::string late = Accepted();
  Command transfer = Do(Action::kTransfer);
  transfer.to_user = "under2";
  std::string transferred = Accepted();
  MustAct(undertaker_, transferred, transfer);

  int64_t total = 0;
  auto mine = engine_->Todo(undertaker_, 0, 10, &total);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].case_.number, early);
  EXPECT_EQ((*mine)[1].case_.number, late);
  EXPECT_EQ((*mine)[0].case_light, Light::kGreen);
  EXPECT_EQ(total, 2);
  auto theirs = engine_->Todo(undertaker2_, 0, 10);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->size(), 3u);  // the two open ones and the one transferred to them

  auto acceptance = engine_->Todo(acceptor_, 0, 10);
  ASSERT_TRUE(acceptance.ok());
  ASSERT_EQ(acceptance->size(), 1u);
  EXPECT_EQ((*acceptance)[0].case_.number, waiting);
  EXPECT_EQ((*acceptance)[0].case_light, Light::kNone);

  auto page = engine_->Todo(undertaker_, 1, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].case_.number, late);
  EXPECT_TRUE(engine_->Todo(reviewer_, 0, 10)->empty());
  EXPECT_TRUE(engine_->Todo(Staff("sup", kRoleSupervise, "001"), 0, 10)->empty());
}

TEST_P(ApprovalEngine, DoneListsTheCasesTheUserActedOnNewestFirst) {
  std::string first = Accepted();
  std::string second = Accepted();
  MustAct(undertaker_, second, Do(Action::kAgree));
  MustAct(undertaker_, first, Do(Action::kAgree));
  auto done = engine_->Done(undertaker_, 0, 10);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), 2u);
  EXPECT_EQ((*done)[0].case_.number, first);
  EXPECT_EQ((*done)[1].case_.number, second);
  EXPECT_EQ(engine_->Done(acceptor_, 0, 10)->size(), 2u);
}

TEST_P(ApprovalEngine, SearchFiltersByStateOrgMatterApplicantAndTime) {
  std::string a = MustRegister().case_.number;
  At(Cst(2026, 3, 5, 9));
  std::string b = Accepted();
  CaseFilter f;
  f.state = CaseState::kInStep;
  int64_t total = 0;
  auto in_step = engine_->Search(f, &total);
  ASSERT_TRUE(in_step.ok());
  ASSERT_EQ(in_step->size(), 1u);
  EXPECT_EQ((*in_step)[0].number, b);
  EXPECT_EQ(total, 1);
  CaseFilter by_time;
  by_time.to_ms = Cst(2026, 3, 3);
  by_time.applicant_id = kPersonId;
  by_time.orgcoding = "001";
  by_time.implement_code = kCode;
  auto early = engine_->Search(by_time);
  ASSERT_TRUE(early.ok());
  ASSERT_EQ(early->size(), 1u);
  EXPECT_EQ((*early)[0].number, a);
}

// Another node's calendar edit (here: straight into the store, with no
// RecomputeDeadlines on this engine) reaches an engine once its cached copy
// is older than calendar_ttl, and not before.
TEST_P(ApprovalEngine, ACalendarEditedElsewhereIsSeenWhenTheCachedCopyExpires) {
  auto keeping = MakeEngine(milliseconds(3'600'000));
  auto expiring = MakeEngine(milliseconds(0));
  for (CaseEngine* e : {keeping.get(), expiring.get()}) {
    auto reg = e->Register(intake_, PersonApplication());
    ASSERT_TRUE(reg.ok()) << reg.error().message;
    auto accepted = e->Act(acceptor_, reg->case_.number, Do(Action::kAccept));
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->deadline_ms, EndOfCstDay(2026, 3, 16));  // both load the calendar
  }
  ASSERT_TRUE(calendars_->Put({"330100", sys_days{2026y / 3 / 4}, DayKind::kHoliday, "测试"}).ok());
  auto deadline_from = [&](CaseEngine& e) {
    auto reg = e.Register(intake_, PersonApplication());
    EXPECT_TRUE(reg.ok());
    auto accepted = e.Act(acceptor_, reg->case_.number, Do(Action::kAccept));
    EXPECT_TRUE(accepted.ok());
    return accepted.ok() ? accepted->deadline_ms : 0;
  };
  EXPECT_EQ(deadline_from(*keeping), EndOfCstDay(2026, 3, 16));   // still its cached copy
  EXPECT_EQ(deadline_from(*expiring), EndOfCstDay(2026, 3, 17));  // reloaded: the holiday counts
}

TEST_P(ApprovalEngine, ACalendarEditMovesTheDeadlinesOfRunningCasesAndSaysSo) {
  std::string number = Accepted();  // deadline 16 March; step deadline 5 March
  Light before = engine_->CaseLight(*engine_->Get(number), Cst(2026, 3, 13, 9));
  EXPECT_EQ(before, Light::kYellow);
  // A holiday on Wednesday 4 March (the division's own calendar).
  ASSERT_TRUE(calendars_->Put({"330100", sys_days{2026y / 3 / 4}, DayKind::kHoliday, "测试"}).ok());
  auto moved = engine_->RecomputeDeadlines("330100");
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(*moved, 1);
  Case c = *engine_->Get(number);
  EXPECT_EQ(c.deadline_ms, EndOfCstDay(2026, 3, 17));
  EXPECT_EQ(c.step_deadline_ms, EndOfCstDay(2026, 3, 6));
  EXPECT_EQ(Actions(number).back(), Action::kRecompute);
  // The cached calendar was dropped: Friday 13th is green again.
  EXPECT_EQ(engine_->CaseLight(c, Cst(2026, 3, 13, 9)), Light::kGreen);
  // Nothing moves the second time.
  EXPECT_EQ(*engine_->RecomputeDeadlines("330100"), 0);
  // A new acceptance uses the new calendar at once.
  std::string fresh = MustRegister().case_.number;
  EXPECT_EQ(MustAct(acceptor_, fresh, Do(Action::kAccept)).deadline_ms, EndOfCstDay(2026, 3, 17));
}

// ---- Reported cases ----

StageRecord Record(std::string stage, std::vector<std::pair<std::string, std::string>> fields) {
  StageRecord r;
  r.stage = std::move(stage);
  r.fields = std::move(fields);
  return r;
}

TEST_P(ApprovalEngine, ADepartmentsReportedCaseIsReadOnlyWithLights) {
  Actor system;
  system.kind = Actor::Kind::kSystem;
  system.system = "dept-planning";
  const std::string sblsh = kCode + "202603010001";
  std::vector<StageRecord> records = {
      Record("SPSHENQIN", {{"SBLSH", sblsh}, {"SXBM", kCode}, {"SXMC", "建设工程规划许可证核发"},
                           {"SQRLX", "1"}, {"SQRMC", "王五"},
                           {"SQRZJHM", kPersonId}, {"SBSJ", "2026-03-02 08:30:00"}}),
      Record("SPSHOULI", {{"SBLSH", sblsh}, {"SLZTDM", "1"}, {"SLSJ", "2026-03-02 09:00:00"}}),
      Record("SPSHENPI", {{"SBLSH", sblsh}, {"SPHJDM", "1"}, {"SPSJ", "2026-03-03 09:00:00"},
                          {"NODERESULT", "1"}}),
  };
  auto reported = engine_->Report(system, "001", records);
  ASSERT_TRUE(reported.ok()) << reported.error().message;
  EXPECT_TRUE(reported->reported);
  EXPECT_EQ(reported->state, CaseState::kInStep);
  EXPECT_EQ(reported->current_step, 1);
  EXPECT_EQ(reported->accepted_at_ms, Cst(2026, 3, 2, 9));
  EXPECT_EQ(reported->deadline_ms, EndOfCstDay(2026, 3, 16));
  EXPECT_EQ(reported->pending_role, "");  // in nobody's 待办
  EXPECT_EQ(engine_->CaseLight(*reported, Cst(2026, 3, 17, 9)), Light::kRed);

  auto act = engine_->Act(reviewer_, sblsh, Do(Action::kAgree));
  ASSERT_FALSE(act.ok());
  EXPECT_EQ(act.error().code, code::kWrongState);
  EXPECT_EQ(act.error().message, "部门自建系统办件，只读");

  auto done = engine_->Report(
      system, "001",
      {Record("SPBANJIE", {{"SBLSH", sblsh}, {"BJJGDM", "6"}, {"BJSJ", "2026-03-10 16:00:00"}})});
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->state, CaseState::kCompleted);
  EXPECT_EQ(done->result, CompletionResult::kApproved);
  EXPECT_EQ(done->completed_at_ms, Cst(2026, 3, 10, 16));
  EXPECT_EQ(Actions(sblsh), std::vector<Action>(4, Action::kReported));
  EXPECT_EQ(Stages(sblsh), (std::vector<std::string>{"SPSHENQIN", "SPSHOULI", "SPSHENPI",
                                                      "SPBANJIE"}));

  // Staff cannot report; a case never applied for is unknown.
  EXPECT_EQ(engine_->Report(reviewer_, "001", records).error().code, errc::kPermissionDenied);
  auto orphan = engine_->Report(system, "001",
                                {Record("SPSHOULI", {{"SBLSH", kCode + "202603019999"},
                                                     {"SLZTDM", "1"},
                                                     {"SLSJ", "2026-03-02 09:00:00"}})});
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, code::kCaseUnknown);
  // A platform case's number cannot be taken over by a report.
  std::string ours = MustRegister().case_.number;
  StageRecord takeover = records[0];
  takeover.fields[0].second = ours;
  auto clash = engine_->Report(system, "001", {takeover});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, errc::kConflict);
  // A record the intake would refuse is refused here too, and nothing is kept.
  auto malformed = engine_->Report(
      system, "001",
      {Record("SPSHOULI", {{"SBLSH", sblsh}, {"SLZTDM", "2"}, {"SLSJ", "2026-03-02"}})});
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, errc::kInvalidArgument);
  EXPECT_EQ(Actions(sblsh).size(), 4u);
}

// The signed API checks the caller's scope on the SBLSH's matter prefix; a
// new case's matter is read from SXBM, so the two must agree.
TEST_P(ApprovalEngine, AReportedApplicationsSxbmMustBeItsNumbersMatter) {
  Actor system;
  system.kind = Actor::Kind::kSystem;
  system.system = "dept-planning";
  const std::string other = std::string(kUscc) + "3" + "000117009999";
  const std::string sblsh = other + "202603010001";
  auto smuggled = engine_->Report(system, "001",
                                  {Record("SPSHENQIN", {{"SBLSH", sblsh},
                                                        {"SXBM", kCode},
                                                        {"SXMC", "许可"},
                                                        {"SQRLX", "1"},
                                                        {"SQRMC", "王五"},
                                                        {"SQRZJHM", kPersonId},
                                                        {"SBSJ", "2026-03-02 08:30:00"}})});
  ASSERT_FALSE(smuggled.ok());
  EXPECT_EQ(smuggled.error().code, errc::kInvalidArgument);
  EXPECT_NE(smuggled.error().message.find("SXBM"), std::string::npos);
}

// A department system speaks for its org's cases only, judged by the case's
// own org: after the matter moved to org 009 (a new version), 009's system
// still may not touch the case created under 001, and 001's still may. No
// scope at all reports nothing.
TEST_P(ApprovalEngine, AReportTouchesOnlyCasesOfTheReportersOrg) {
  Actor system;
  system.kind = Actor::Kind::kSystem;
  system.system = "dept-planning";
  const std::string sblsh = kCode + "202603010002";
  auto applied = engine_->Report(system, "001",
                                 {Record("SPSHENQIN", {{"SBLSH", sblsh},
                                                       {"SXBM", kCode},
                                                       {"SXMC", "许可"},
                                                       {"SQRLX", "1"},
                                                       {"SQRMC", "王五"},
                                                       {"SQRZJHM", kPersonId},
                                                       {"SBSJ", "2026-03-02 08:30:00"}})});
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(applied->orgcoding, "001");
  Matter moved = ThreeStepMatter();
  moved.orgcoding = "009";
  ASSERT_TRUE(matters_->Save(moved).ok());
  const StageRecord accept =
      Record("SPSHOULI", {{"SBLSH", sblsh}, {"SLZTDM", "1"}, {"SLSJ", "2026-03-02 09:00:00"}});
  auto foreign = engine_->Report(system, "009", {accept});
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, errc::kPermissionDenied);
  EXPECT_NE(foreign.error().message.find("001"), std::string::npos);
  EXPECT_EQ(Actions(sblsh).size(), 1u);
  EXPECT_EQ(engine_->Report(system, "", {accept}).error().code, errc::kPermissionDenied);
  auto own = engine_->Report(system, "001", {accept});
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->state, CaseState::kInStep);
  // A new case is judged on its matter's org today: 009's now.
  auto fresh = engine_->Report(system, "001",
                               {Record("SPSHENQIN", {{"SBLSH", kCode + "202603010003"},
                                                     {"SXBM", kCode},
                                                     {"SXMC", "许可"},
                                                     {"SQRLX", "1"},
                                                     {"SQRMC", "王五"},
                                                     {"SQRZJHM", kPersonId},
                                                     {"SBSJ", "2026-03-02 08:30:00"}})});
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(fresh.error().code, errc::kPermissionDenied);
}

// Without a hall target nothing drains the stage outbox: the engine queues
// nothing there (and the transitions themselves are unchanged).
TEST_P(ApprovalEngine, NoStageRecordsAreQueuedWhereNothingConsumesThem) {
  engine_ = MakeEngine(milliseconds(60'000), /*stage_records=*/false);
  std::string number = MustRegister().case_.number;
  Case c = MustAct(acceptor_, number, Do(Action::kAccept));
  EXPECT_EQ(c.state, CaseState::kInStep);
  EXPECT_TRUE(Stages(number).empty());
  engine_ = MakeEngine();  // the default queues them, as the other tests show
  MustAct(undertaker_, number, Do(Action::kAgree));
  EXPECT_EQ(Stages(number), std::vector<std::string>{"SPSHENPI"});
}

TEST_P(ApprovalEngine, AFreshEngineLoadsMattersAndCalendarsItHasNotSeen) {
  std::string number = MustRegister().case_.number;
  engine_ = MakeEngine();  // empty caches, as after a restart
  Case c = MustAct(acceptor_, number, Do(Action::kAccept));
  EXPECT_EQ(c.deadline_ms, EndOfCstDay(2026, 3, 16));
}

INSTANTIATE_TEST_SUITE_P(Backends, ApprovalEngine, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tongban::approval
