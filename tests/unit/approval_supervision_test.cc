// 电子监察: alerts raised by the sweep (overdue case / step, undecided
// applications) and by transitions (refusal without a reason, late acceptance,
// completion after the deadline); listing, counting and acknowledging them.
#include <gtest/gtest.h>

#include <memory>

#include "approval/supervision.h"
#include "approval_sup_support.h"
#include "core/clock.h"

namespace tongban::approval {
namespace {

using approval_test::CaseSeed;
using approval_test::Cst;
using approval_test::D;

AlertFilter OrgFilter(std::string org) {
  AlertFilter f;
  f.orgs = {std::move(org)};
  return f;
}
AlertFilter KindFilter(AlertKind kind) {
  AlertFilter f;
  f.kind = kind;
  return f;
}
AlertFilter PageFilter(int64_t offset, int64_t limit) {
  AlertFilter f;
  f.offset = offset;
  f.limit = limit;
  return f;
}
AlertFilter AckFilter(bool acknowledged) {
  AlertFilter f;
  f.acknowledged = acknowledged;
  return f;
}
AlertFilter FromFilter(int64_t from_ms) {
  AlertFilter f;
  f.from_ms = from_ms;
  return f;
}

class SupervisionTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string why = db.Open(GetParam());
    if (!why.empty()) GTEST_SKIP() << why;
    calendars = std::make_unique<CalendarStore>(db.store());
    supervision = std::make_unique<Supervision>(db.store(), *calendars);
  }

  approval_test::Db db;
  std::unique_ptr<CalendarStore> calendars;
  std::unique_ptr<Supervision> supervision;

  AlertPage All() {
    auto page = supervision->List({});
    EXPECT_TRUE(page.ok()) << page.error().message;
    return page.ok() ? *page : AlertPage{};
  }

  int64_t SweepAt(int64_t now) {
    auto raised = supervision->Sweep(now);
    EXPECT_TRUE(raised.ok()) << raised.error().message;
    return raised.ok() ? *raised : -1;
  }

  // A case in its first step, on time for both the case and the step until `deadline`.
  CaseSeed Running(int64_t deadline) {
    CaseSeed c;
    c.registered_at = Cst(2026, 3, 2, 9);
    c.accepted_at = Cst(2026, 3, 2, 10);
    c.step_started_at = c.accepted_at;
    c.deadline_at = deadline;
    c.step_deadline_at = deadline;
    return c;
  }

  Status Transition(const Case& before, const Case& after, const StepRecord& rec, int64_t now) {
    return db.store().WithTransaction(
        [&](soci::session& tx) { return supervision->OnTransition(tx, before, after, rec, now); });
  }
};

TEST_P(SupervisionTest, CaseIsOverdueFromTheMillisecondAfterItsDeadline) {
  const int64_t deadline = Cst(2026, 3, 9, 23, 59, 59, 999);
  CaseSeed seed = Running(deadline);
  seed.step_deadline_at = 0;  // the step has no limit of its own
  int64_t id = db.Insert(seed);

  EXPECT_EQ(SweepAt(deadline), 0);
  EXPECT_EQ(All().total, 0);

  EXPECT_EQ(SweepAt(deadline + 1), 1);
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  const Alert& alert = page.alerts[0];
  EXPECT_EQ(alert.kind, AlertKind::kOverdueCase);
  EXPECT_EQ(alert.case_id, id);
  EXPECT_EQ(alert.orgcoding, "org-a");
  EXPECT_EQ(alert.step_code, "");
  EXPECT_EQ(alert.raised_at_ms, deadline + 1);
  EXPECT_NE(alert.detail.find("\"deadline_at\":" + std::to_string(deadline)), std::string::npos)
      << alert.detail;
}

TEST_P(SupervisionTest, StoppedClockIsNotOverdueUntilItRuns) {
  const int64_t deadline = Cst(2026, 3, 9, 23, 59, 59, 999);
  CaseSeed seed = Running(deadline);
  seed.state = "correction";
  seed.stopped_since = Cst(2026, 3, 5, 10);
  int64_t id = db.Insert(seed);

  EXPECT_EQ(SweepAt(deadline + 86'400'000), 0);
  EXPECT_EQ(All().total, 0);

  db.Exec("UPDATE approval_cases SET state = 'in_step', stopped_since = 0 WHERE id = " +
          std::to_string(id));
  EXPECT_EQ(SweepAt(deadline + 86'400'000), 2);  // the case and its step
}

TEST_P(SupervisionTest, TwoSweepsRaiseOneAlertPerCase) {
  db.Insert(Running(Cst(2026, 3, 9, 23, 59, 59, 999)));
  const int64_t now = Cst(2026, 3, 10, 8);
  EXPECT_EQ(SweepAt(now), 2);
  EXPECT_EQ(SweepAt(now + 60'000), 0);
  AlertPage page = All();
  EXPECT_EQ(page.total, 2);
  EXPECT_EQ(page.alerts[0].raised_at_ms, now);
  EXPECT_EQ(page.alerts[1].raised_at_ms, now);
}

TEST_P(SupervisionTest, OverdueStepOfACaseOnTimeNamesTheStepPosition) {
  CaseSeed seed = Running(Cst(2026, 3, 20, 23, 59, 59, 999));
  seed.current_step = 1;  // the second step
  seed.pending_role = "review";
  seed.step_started_at = Cst(2026, 3, 3, 9);
  seed.step_deadline_at = Cst(2026, 3, 4, 23, 59, 59, 999);
  db.Insert(seed);

  EXPECT_EQ(SweepAt(Cst(2026, 3, 5, 9)), 1);
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.alerts[0].kind, AlertKind::kOverdueStep);
  EXPECT_EQ(page.alerts[0].step_code, "2");
  EXPECT_NE(page.alerts[0].detail.find("\"pending_role\":\"review\""), std::string::npos);
}

TEST_P(SupervisionTest, NextStepOverdueIsAnotherAlert) {
  CaseSeed seed = Running(Cst(2026, 3, 20, 23, 59, 59, 999));
  seed.step_deadline_at = Cst(2026, 3, 3, 23, 59, 59, 999);
  int64_t id = db.Insert(seed);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 4, 9)), 1);

  // The case moves on to its second step, which also runs late.
  db.Exec("UPDATE approval_cases SET current_step = 1, step_started_at = " +
          std::to_string(Cst(2026, 3, 4, 10)) + ", step_deadline_at = " +
          std::to_string(Cst(2026, 3, 5, 23, 59, 59, 999)) + " WHERE id = " + std::to_string(id));
  EXPECT_EQ(SweepAt(Cst(2026, 3, 5, 12)), 0);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 6, 9)), 1);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 6, 10)), 0);
  AlertPage page = All();
  ASSERT_EQ(page.total, 2);
  EXPECT_EQ(page.alerts[0].step_code, "2");
  EXPECT_EQ(page.alerts[1].step_code, "1");
}

TEST_P(SupervisionTest, FinishedCasesAreNeverOverdue) {
  const int64_t deadline = Cst(2026, 3, 9, 23, 59, 59, 999);
  CaseSeed done = Running(deadline);
  done.state = "completed";
  done.completed_at = Cst(2026, 3, 12, 9);
  done.pending_role = "";
  db.Insert(done);
  CaseSeed voided = Running(deadline);
  voided.state = "voided";
  voided.pending_role = "";
  db.Insert(voided);
  EXPECT_EQ(SweepAt(Cst(2026, 4, 1)), 0);
}

TEST_P(SupervisionTest, UndecidedApplicationIsLateAfterFiveWorkingDays) {
  // Registered on Monday 2 March; the 5 working days are Tue 3 … Mon 9 March.
  CaseSeed seed;
  seed.state = "registered";
  seed.current_step = -1;
  seed.pending_role = "accept";
  seed.registered_at = Cst(2026, 3, 2, 15);
  db.Insert(seed);

  EXPECT_EQ(SweepAt(Cst(2026, 3, 9, 23, 59, 59, 999)), 0);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 10, 0, 0, 0, 0)), 1);
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.alerts[0].kind, AlertKind::kLateAcceptance);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 11)), 0);
}

TEST_P(SupervisionTest, HolidayOnTheDivisionCalendarDefersLateAcceptance) {
  approval_test::AddHoliday(*calendars, "330102", D(2026, 3, 4));
  CaseSeed seed;
  seed.division = "330102";
  seed.state = "registered";
  seed.current_step = -1;
  seed.pending_role = "accept";
  seed.registered_at = Cst(2026, 3, 2, 15);
  db.Insert(seed);
  // With Wed 4 March off, the fifth working day is Tue 10 March.
  EXPECT_EQ(SweepAt(Cst(2026, 3, 10, 12)), 0);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 11, 0)), 1);
}

Case Registered() {
  Case c;
  c.id = 41;
  c.number = "N-41";
  c.implement_code = "11330000000000000X000000000000001";
  c.orgcoding = "org-a";
  c.division = "330100";
  c.state = CaseState::kRegistered;
  c.registered_at_ms = Cst(2026, 3, 2, 15);
  return c;
}

TEST_P(SupervisionTest, AcceptanceOnTheFifthWorkingDayIsOnTimeAndOnTheSixthIsLate) {
  Case before = Registered();
  Case after = before;
  after.state = CaseState::kInStep;
  StepRecord rec;
  rec.action = Action::kAccept;

  after.accepted_at_ms = Cst(2026, 3, 9, 23, 59, 59, 999);
  rec.at_ms = after.accepted_at_ms;
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  EXPECT_EQ(All().total, 0);

  after.accepted_at_ms = Cst(2026, 3, 10, 0, 0, 0, 0);
  rec.at_ms = after.accepted_at_ms;
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.alerts[0].kind, AlertKind::kLateAcceptance);
  EXPECT_EQ(page.alerts[0].case_id, 41);
  EXPECT_EQ(page.alerts[0].raised_at_ms, Cst(2026, 3, 10));
}

TEST_P(SupervisionTest, LateRefusalIsALateAcceptanceDecisionToo) {
  Case before = Registered();
  Case after = before;
  after.state = CaseState::kRefused;
  StepRecord rec;
  rec.action = Action::kRefuse;
  rec.opinion = "材料不全";
  rec.at_ms = Cst(2026, 3, 12, 9);
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.alerts[0].kind, AlertKind::kLateAcceptance);
}

TEST_P(SupervisionTest, RefusalWithoutAReasonIsRaisedAndOneWithAReasonIsNot) {
  Case before = Registered();
  Case after = before;
  after.state = CaseState::kRefused;
  StepRecord rec;
  rec.action = Action::kReported;
  rec.at_ms = Cst(2026, 3, 3, 9);

  rec.opinion = "不符合受理条件";
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  EXPECT_EQ(All().total, 0);

  rec.opinion = " \xE3\x80\x80 ";  // spaces only, the ideographic one included
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.alerts[0].kind, AlertKind::kRefusalWithoutReason);
}

TEST_P(SupervisionTest, NegativeCompletionWithoutAReasonIsRaised) {
  Case before = Registered();
  before.state = CaseState::kInStep;
  before.accepted_at_ms = Cst(2026, 3, 2, 16);
  Case after = before;
  after.state = CaseState::kCompleted;
  after.completed_at_ms = Cst(2026, 3, 4, 9);
  after.result = CompletionResult::kNotApproved;
  StepRecord rec;
  rec.action = Action::kDisagree;
  rec.at_ms = after.completed_at_ms;
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.alerts[0].kind, AlertKind::kRefusalWithoutReason);
}

TEST_P(SupervisionTest, CompletionAfterTheDeadlineIsRaisedAtTheMillisecond) {
  Case before = Registered();
  before.state = CaseState::kInStep;
  before.accepted_at_ms = Cst(2026, 3, 2, 16);
  before.deadline_ms = Cst(2026, 3, 9, 23, 59, 59, 999);
  Case after = before;
  after.state = CaseState::kCompleted;
  after.result = CompletionResult::kApproved;
  StepRecord rec;
  rec.action = Action::kAgree;

  after.completed_at_ms = before.deadline_ms;
  rec.at_ms = after.completed_at_ms;
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  EXPECT_EQ(All().total, 0);

  after.completed_at_ms = before.deadline_ms + 1;
  rec.at_ms = after.completed_at_ms;
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  AlertPage page = All();
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.alerts[0].kind, AlertKind::kLateCompletion);
}

TEST_P(SupervisionTest, SweptLateAcceptanceIsNotRaisedAgainByTheAcceptance) {
  CaseSeed seed;
  seed.state = "registered";
  seed.current_step = -1;
  seed.registered_at = Cst(2026, 3, 2, 15);
  int64_t id = db.Insert(seed);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 11)), 1);

  Case before = Registered();
  before.id = id;
  Case after = before;
  after.state = CaseState::kInStep;
  after.accepted_at_ms = Cst(2026, 3, 11, 9);
  StepRecord rec;
  rec.action = Action::kAccept;
  rec.at_ms = after.accepted_at_ms;
  ASSERT_TRUE(Transition(before, after, rec, rec.at_ms).ok());
  EXPECT_EQ(All().total, 1);
}

TEST_P(SupervisionTest, CountsPerOrgByKindAndAcknowledgement) {
  const int64_t deadline = Cst(2026, 3, 9, 23, 59, 59, 999);
  for (const char* org : {"org-a", "org-a", "org-b"}) {
    CaseSeed c = Running(deadline);
    c.orgcoding = org;
    c.step_deadline_at = 0;
    db.Insert(c);
  }
  CaseSeed step_late = Running(Cst(2026, 3, 30));
  step_late.orgcoding = "org-b";
  step_late.step_deadline_at = deadline;
  db.Insert(step_late);
  EXPECT_EQ(SweepAt(Cst(2026, 3, 10, 9)), 4);

  auto page = supervision->List(OrgFilter("org-b"));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, 2);
  ASSERT_TRUE(supervision->Acknowledge(page->alerts[0].id, "jiancha01", Cst(2026, 3, 10, 10)).ok());

  auto counts = supervision->CountsByOrg(0, 0);
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].orgcoding, "org-a");
  EXPECT_EQ((*counts)[0].total, 2);
  EXPECT_EQ((*counts)[0].unacknowledged, 2);
  EXPECT_EQ((*counts)[0].overdue_case, 2);
  EXPECT_EQ((*counts)[0].overdue_step, 0);
  EXPECT_EQ((*counts)[1].orgcoding, "org-b");
  EXPECT_EQ((*counts)[1].total, 2);
  EXPECT_EQ((*counts)[1].unacknowledged, 1);
  EXPECT_EQ((*counts)[1].overdue_case, 1);
  EXPECT_EQ((*counts)[1].overdue_step, 1);

  // Alerts raised before the period are not counted in it.
  auto later = supervision->CountsByOrg(Cst(2026, 3, 10, 9) + 1, 0);
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->empty());
}

TEST_P(SupervisionTest, ListFiltersAndPages) {
  const int64_t deadline = Cst(2026, 3, 9, 23, 59, 59, 999);
  for (int i = 0; i < 5; ++i) {
    CaseSeed c = Running(deadline);
    c.step_deadline_at = 0;
    db.Insert(c);
  }
  CaseSeed step_late = Running(Cst(2026, 3, 30));
  step_late.step_deadline_at = deadline;
  db.Insert(step_late);
  ASSERT_EQ(SweepAt(Cst(2026, 3, 10, 9)), 6);

  auto steps = supervision->List(KindFilter(AlertKind::kOverdueStep));
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->total, 1);

  auto second = supervision->List(PageFilter(2, 2));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->total, 6);
  ASSERT_EQ(second->alerts.size(), 2u);
  auto all = All();
  EXPECT_EQ(second->alerts[0].id, all.alerts[2].id);
  EXPECT_EQ(second->alerts[1].id, all.alerts[3].id);

  ASSERT_TRUE(supervision->Acknowledge(all.alerts[0].id, "u1", Cst(2026, 3, 10, 10)).ok());
  auto open = supervision->List(AckFilter(false));
  auto seen = supervision->List(AckFilter(true));
  ASSERT_TRUE(open.ok() && seen.ok());
  EXPECT_EQ(open->total, 5);
  EXPECT_EQ(seen->total, 1);

  auto none = supervision->List(FromFilter(Cst(2026, 3, 10, 9) + 1));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->total, 0);
}

TEST_P(SupervisionTest, FirstAcknowledgementStands) {
  CaseSeed c = Running(Cst(2026, 3, 9, 23, 59, 59, 999));
  db.Insert(c);
  SweepAt(Cst(2026, 3, 10, 9));
  int64_t id = All().alerts[0].id;

  auto first = supervision->Acknowledge(id, "u1", Cst(2026, 3, 10, 10));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->acknowledged_by, "u1");
  EXPECT_EQ(first->acknowledged_at_ms, Cst(2026, 3, 10, 10));
  auto second = supervision->Acknowledge(id, "u2", Cst(2026, 3, 10, 11));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->acknowledged_by, "u1");
  EXPECT_EQ(second->acknowledged_at_ms, Cst(2026, 3, 10, 10));

  auto unknown = supervision->Acknowledge(id + 1000, "u1", Cst(2026, 3, 10, 10));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, errc::kNotFound);
}

TEST_P(SupervisionTest, SweeperSweepsOnStartAndOnDemandAndStopsAtOnce) {
  db.Insert(Running(Cst(2026, 3, 9, 23, 59, 59, 999)));
  FakeClock clock{
      std::chrono::system_clock::time_point(std::chrono::milliseconds(Cst(2026, 3, 10, 9)))};
  SupervisionSweeper sweeper(*supervision, clock, std::chrono::hours(1));
  sweeper.Start();
  ASSERT_TRUE(sweeper.WaitForSweeps(1, std::chrono::seconds(30)));
  EXPECT_EQ(All().total, 2);
  EXPECT_EQ(All().alerts[0].raised_at_ms, Cst(2026, 3, 10, 9));

  sweeper.SweepNow();
  ASSERT_TRUE(sweeper.WaitForSweeps(2, std::chrono::seconds(30)));

  // With an hour to the next sweep, Stop must not wait for it.
  auto started = std::chrono::steady_clock::now();
  sweeper.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(sweeper.sweeps(), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, SupervisionTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tongban::approval
