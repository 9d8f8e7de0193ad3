// The case state machine: every (state, action) pair, legal or not, with the
// code it fails with; where each legal move leads; what needs a reason; and who
// may act. The expected table is written out here, not derived from the code.
#include "approval/state_machine.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace tongban::approval {
namespace {

const std::vector<Action> kAllActions = {
    Action::kRegister,  Action::kAccept,   Action::kRefuse,   Action::kAgree,
    Action::kDisagree,  Action::kReturn,   Action::kReturnToApplicant,
    Action::kTransfer,  Action::kRequestCorrection,           Action::kResubmit,
    Action::kSuspend,   Action::kResume,   Action::kWithdraw, Action::kVoid,
    Action::kComplete,  Action::kRecompute, Action::kReported};

const std::vector<CaseState> kAllStates = {
    CaseState::kRegistered, CaseState::kInStep,   CaseState::kCorrection, CaseState::kSuspended,
    CaseState::kCompleted,  CaseState::kRefused,  CaseState::kWithdrawn,  CaseState::kVoided};

// A 3-step matter (承办, 审核, 批准); the in-step case waits on the middle step.
CaseShape ShapeIn(CaseState state) {
  CaseShape s;
  s.state = state;
  s.step_count = 3;
  s.current_step = state == CaseState::kRegistered ? -1 : 1;
  return s;
}

Move MoveOf(Action action, std::string_view opinion = "",
            std::optional<CompletionResult> result = std::nullopt, std::string_view to_user = "",
            size_t missing_materials = 0) {
  Move m;
  m.action = action;
  m.opinion = opinion;
  m.result = result;
  m.to_user = to_user;
  m.missing_materials = missing_materials;
  return m;
}

// A move that satisfies every requirement, so only the state decides.
Move Full(Action action) {
  Move m;
  m.action = action;
  m.opinion = "理由";
  m.to_user = "u2";
  if (action == Action::kComplete) m.result = CompletionResult::kApproved;
  return m;
}

TEST(ApprovalStateMachine, EveryStateActionPairIsLegalOrFailsWithTheRightCode) {
  // Legal actions per state for ShapeIn (middle step of three, a 承诺件).
  const std::map<CaseState, std::set<Action>> legal = {
      {CaseState::kRegistered,
       {Action::kAccept, Action::kRefuse, Action::kWithdraw, Action::kVoid,
        Action::kRequestCorrection}},
      {CaseState::kInStep,
       {Action::kAgree, Action::kDisagree, Action::kReturn, Action::kReturnToApplicant,
        Action::kTransfer, Action::kRequestCorrection, Action::kSuspend, Action::kVoid}},
      {CaseState::kCorrection, {Action::kResubmit, Action::kVoid, Action::kComplete}},
      {CaseState::kSuspended, {Action::kResume, Action::kVoid}},
      {CaseState::kCompleted, {}},
      {CaseState::kRefused, {}},
      {CaseState::kWithdrawn, {}},
      {CaseState::kVoided, {}},
  };
  const std::set<Action> not_transitions = {Action::kRegister, Action::kRecompute,
                                            Action::kReported};
  int checked = 0;
  for (CaseState state : kAllStates) {
    for (Action action : kAllActions) {
      SCOPED_TRACE(std::string(CaseStateName(state)) + " / " + std::string(ActionName(action)));
      Move move = Full(action);
      if (state == CaseState::kCorrection && action == Action::kComplete) {
        move.result = CompletionResult::kCorrectionTimeout;
      }
      Status state_check = CheckState(ShapeIn(state), action);
      auto next = Next(ShapeIn(state), move);
      if (not_transitions.count(action) > 0) {
        ASSERT_FALSE(next.ok());
        EXPECT_EQ(next.error().code, errc::kInvalidArgument);
        EXPECT_FALSE(state_check.ok());
      } else if (legal.at(state).count(action) > 0) {
        EXPECT_TRUE(state_check.ok());
        EXPECT_TRUE(next.ok()) << next.error().message;
      } else {
        ASSERT_FALSE(next.ok());
        EXPECT_EQ(next.error().code, code::kWrongState);
        EXPECT_FALSE(next.error().message.empty());
        ASSERT_FALSE(state_check.ok());
        EXPECT_EQ(state_check.error().code, code::kWrongState);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8 * 17);
}

TEST(ApprovalStateMachine, FinalStatesSayWhyInChinese) {
  EXPECT_EQ(CheckState(ShapeIn(CaseState::kCompleted), Action::kComplete).error().message,
            "办件已办结");
  EXPECT_EQ(CheckState(ShapeIn(CaseState::kRefused), Action::kAccept).error().message,
            "办件已不予受理");
  EXPECT_EQ(CheckState(ShapeIn(CaseState::kWithdrawn), Action::kAccept).error().message,
            "办件已撤回");
  EXPECT_EQ(CheckState(ShapeIn(CaseState::kVoided), Action::kVoid).error().message, "办件已作废");
}

TEST(ApprovalStateMachine, AReportedCaseIsReadOnlyWhateverItsState) {
  for (CaseState state : kAllStates) {
    CaseShape s = ShapeIn(state);
    s.reported = true;
    auto next = Next(s, Full(Action::kVoid));
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.error().code, code::kWrongState);
    EXPECT_EQ(next.error().message, "部门自建系统办件，只读");
  }
}

TEST(ApprovalStateMachine, AcceptanceStartsTheClockAtTheFirstStep) {
  auto t = Next(ShapeIn(CaseState::kRegistered), MoveOf(Action::kAccept));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->to, CaseState::kInStep);
  EXPECT_EQ(t->step, 0);
  EXPECT_TRUE(t->starts_step);
  EXPECT_EQ(t->clock, ClockEffect::kStart);
  EXPECT_EQ(t->records, std::vector<Action>{Action::kAccept});
  EXPECT_FALSE(t->result.has_value());
}

TEST(ApprovalStateMachine, AcceptingAMatterWithoutStepsCompletesIt) {
  CaseShape s = ShapeIn(CaseState::kRegistered);
  s.step_count = 0;
  auto t = Next(s, MoveOf(Action::kAccept));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->to, CaseState::kCompleted);
  EXPECT_EQ(t->result, CompletionResult::kApproved);
  EXPECT_EQ(t->records, std::vector<Action>{Action::kAccept});
}

TEST(ApprovalStateMachine, AgreeingMovesToTheNextStepAndAtTheLastCompletesApproved) {
  CaseShape s = ShapeIn(CaseState::kInStep);
  s.current_step = 0;
  auto first = Next(s, MoveOf(Action::kAgree));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->to, CaseState::kInStep);
  EXPECT_EQ(first->step, 1);
  EXPECT_TRUE(first->starts_step);
  EXPECT_EQ(first->records, std::vector<Action>{Action::kAgree});

  s.current_step = 2;
  auto last = Next(s, MoveOf(Action::kAgree));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->to, CaseState::kCompleted);
  EXPECT_EQ(last->result, CompletionResult::kApproved);
  EXPECT_EQ(last->records, std::vector<Action>{Action::kAgree});
}

TEST(ApprovalStateMachine, DisagreeingAtAnyStepEndsAsNotApprovedWithAReason) {
  for (int step = 0; step < 3; ++step) {
    CaseShape s = ShapeIn(CaseState::kInStep);
    s.current_step = step;
    auto t = Next(s, MoveOf(Action::kDisagree, "材料不实"));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->to, CaseState::kCompleted);
    EXPECT_EQ(t->result, CompletionResult::kNotApproved);
    EXPECT_EQ(t->records, std::vector<Action>{Action::kDisagree});
  }
}

TEST(ApprovalStateMachine, NegativeOutcomesWithoutAReasonAreRefused) {
  const std::vector<std::pair<CaseState, Action>> negative = {
      {CaseState::kRegistered, Action::kRefuse},
      {CaseState::kRegistered, Action::kVoid},
      {CaseState::kRegistered, Action::kRequestCorrection},
      {CaseState::kInStep, Action::kDisagree},
      {CaseState::kInStep, Action::kReturn},
      {CaseState::kInStep, Action::kReturnToApplicant},
      {CaseState::kInStep, Action::kSuspend},
      {CaseState::kInStep, Action::kVoid},
      {CaseState::kCorrection, Action::kVoid},
      {CaseState::kCorrection, Action::kComplete},  // 补正不来办结
      {CaseState::kSuspended, Action::kVoid},
  };
  for (const auto& [state, action] : negative) {
    SCOPED_TRACE(std::string(ActionName(action)));
    for (std::string_view blank : {"", "  ", "\u3000\n"}) {
      auto t = Next(ShapeIn(state), MoveOf(action, blank));
      ASSERT_FALSE(t.ok());
      EXPECT_EQ(t.error().code, code::kReasonRequired);
    }
  }
}

TEST(ApprovalStateMachine, PositiveOutcomesNeedNoReason) {
  for (auto [state, action] : std::vector<std::pair<CaseState, Action>>{
           {CaseState::kRegistered, Action::kAccept},
           {CaseState::kRegistered, Action::kWithdraw},
           {CaseState::kInStep, Action::kAgree},
           {CaseState::kCorrection, Action::kResubmit},
           {CaseState::kSuspended, Action::kResume}}) {
    EXPECT_TRUE(Next(ShapeIn(state), MoveOf(action)).ok()) << ActionName(action);
  }
}

TEST(ApprovalStateMachine, ACorrectionNoticeListingMaterialsNeedsNoOtherReason) {
  Move m = MoveOf(Action::kRequestCorrection, "", std::nullopt, "", 2);
  EXPECT_TRUE(Next(ShapeIn(CaseState::kInStep), m).ok());
}

TEST(ApprovalStateMachine, ReturnGoesToThePreviousStepButNotBeforeTheFirst) {
  CaseShape s = ShapeIn(CaseState::kInStep);
  s.current_step = 2;
  auto t = Next(s, MoveOf(Action::kReturn, "请补充审核意见"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->to, CaseState::kInStep);
  EXPECT_EQ(t->step, 1);
  EXPECT_TRUE(t->starts_step);

  s.current_step = 0;
  auto first = Next(s, MoveOf(Action::kReturn, "x"));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, code::kWrongState);
}

TEST(ApprovalStateMachine, ReturnToTheApplicantCompletesAsReturned) {
  auto t = Next(ShapeIn(CaseState::kInStep),
                MoveOf(Action::kReturnToApplicant, "非本机关管辖"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->to, CaseState::kCompleted);
  EXPECT_EQ(t->result, CompletionResult::kReturned);
}

TEST(ApprovalStateMachine, TransferKeepsTheStepAndNeedsAUser) {
  auto t = Next(ShapeIn(CaseState::kInStep), MoveOf(Action::kTransfer, "", std::nullopt, "u9"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->to, CaseState::kInStep);
  EXPECT_EQ(t->step, 1);
  EXPECT_FALSE(t->starts_step);
  EXPECT_EQ(t->clock, ClockEffect::kNone);

  auto none = Next(ShapeIn(CaseState::kInStep), MoveOf(Action::kTransfer));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, errc::kInvalidArgument);
}

TEST(ApprovalStateMachine, CorrectionAfterAcceptanceStopsAndResumesTheClock) {
  auto stop = Next(ShapeIn(CaseState::kInStep),
                   MoveOf(Action::kRequestCorrection, "缺营业执照"));
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->to, CaseState::kCorrection);
  EXPECT_EQ(stop->step, 1);
  EXPECT_EQ(stop->clock, ClockEffect::kStop);
  EXPECT_TRUE(stop->counts_correction);

  auto back = Next(ShapeIn(CaseState::kCorrection), MoveOf(Action::kResubmit));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->to, CaseState::kInStep);
  EXPECT_EQ(back->step, 1);
  EXPECT_EQ(back->clock, ClockEffect::kResume);
  EXPECT_FALSE(back->starts_step);
}

TEST(ApprovalStateMachine, CorrectionBeforeAcceptanceReturnsToIntakeWithNoClock) {
  auto stop = Next(ShapeIn(CaseState::kRegistered),
                   MoveOf(Action::kRequestCorrection, "缺身份证复印件"));
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->to, CaseState::kCorrection);
  EXPECT_EQ(stop->step, -1);
  EXPECT_EQ(stop->clock, ClockEffect::kNone);
  EXPECT_TRUE(stop->counts_correction);

  CaseShape waiting = ShapeIn(CaseState::kCorrection);
  waiting.current_step = -1;
  auto back = Next(waiting, MoveOf(Action::kResubmit));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->to, CaseState::kRegistered);
  EXPECT_EQ(back->clock, ClockEffect::kNone);
}

TEST(ApprovalStateMachine, SuspensionStopsTheClockUntilResumed) {
  auto stop = Next(ShapeIn(CaseState::kInStep), MoveOf(Action::kSuspend, "专家评审"));
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->to, CaseState::kSuspended);
  EXPECT_EQ(stop->clock, ClockEffect::kStop);
  EXPECT_FALSE(stop->counts_correction);
  auto back = Next(ShapeIn(CaseState::kSuspended), MoveOf(Action::kResume));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->to, CaseState::kInStep);
  EXPECT_EQ(back->clock, ClockEffect::kResume);
}

TEST(ApprovalStateMachine, EndingAStoppedCaseResumesItsClockFirst) {
  auto voided = Next(ShapeIn(CaseState::kSuspended), MoveOf(Action::kVoid, "x"));
  ASSERT_TRUE(voided.ok());
  EXPECT_EQ(voided->to, CaseState::kVoided);
  EXPECT_EQ(voided->result, CompletionResult::kVoided);
  EXPECT_EQ(voided->clock, ClockEffect::kResume);
  EXPECT_EQ(voided->records, std::vector<Action>{Action::kVoid});

  auto voided_early =
      Next(ShapeIn(CaseState::kRegistered), MoveOf(Action::kVoid, "重复登记"));
  ASSERT_TRUE(voided_early.ok());
  EXPECT_EQ(voided_early->clock, ClockEffect::kNone);
}

TEST(ApprovalStateMachine, CorrectionTimeoutIsTheOnlyCompletionOfACaseInCorrection) {
  Move m = MoveOf(Action::kComplete, "逾期未补正");
  auto t = Next(ShapeIn(CaseState::kCorrection), m);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->result, CompletionResult::kCorrectionTimeout);
  EXPECT_EQ(t->clock, ClockEffect::kResume);
  m.result = CompletionResult::kApproved;
  auto approved = Next(ShapeIn(CaseState::kCorrection), m);
  ASSERT_FALSE(approved.ok());
  EXPECT_EQ(approved.error().code, errc::kInvalidArgument);
}

TEST(ApprovalStateMachine, ExplicitCompletionOnlyAtTheLastStep) {
  CaseShape s = ShapeIn(CaseState::kInStep);
  s.current_step = 1;
  auto early = Next(s, MoveOf(Action::kComplete));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, code::kWrongState);

  s.current_step = 2;
  auto forwarded = Next(s, MoveOf(Action::kComplete, "报省厅", CompletionResult::kForwarded));
  ASSERT_TRUE(forwarded.ok());
  EXPECT_EQ(forwarded->result, CompletionResult::kForwarded);
  EXPECT_EQ(forwarded->records, std::vector<Action>{Action::kComplete});

  auto no_reason = Next(s, MoveOf(Action::kComplete, "", CompletionResult::kForwarded));
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.error().code, code::kReasonRequired);

  auto voided = Next(s, MoveOf(Action::kComplete, "x", CompletionResult::kVoided));
  ASSERT_FALSE(voided.ok());
  EXPECT_EQ(voided.error().code, errc::kInvalidArgument);
}

TEST(ApprovalStateMachine, AnImmediateCaseCompletesAtAcceptance) {
  CaseShape s = ShapeIn(CaseState::kRegistered);
  s.kind = CaseKind::kImmediate;
  auto t = Next(s, MoveOf(Action::kComplete));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->to, CaseState::kCompleted);
  EXPECT_EQ(t->result, CompletionResult::kApproved);
  EXPECT_EQ(t->clock, ClockEffect::kStart);
  EXPECT_EQ(t->records, (std::vector<Action>{Action::kAccept, Action::kComplete}));

  s.kind = CaseKind::kPromised;
  auto promised = Next(s, MoveOf(Action::kComplete));
  ASSERT_FALSE(promised.ok());
  EXPECT_EQ(promised.error().code, code::kWrongState);
}

// ---- Who may act ----

Case PendingCase() {
  Case c;
  c.orgcoding = "001";
  c.state = CaseState::kInStep;
  c.current_step = 1;
  c.pending_role = std::string(kRoleReview);
  c.pending_org = "001002";
  return c;
}

Actor Staff(std::string userid, std::vector<std::string> roles, std::vector<std::string> orgs) {
  Actor a;
  a.userid = std::move(userid);
  a.roles = std::move(roles);
  a.orgs = std::move(orgs);
  return a;
}

TEST(ApprovalStateMachineActors, TheStepRoleInTheStepOrgActs) {
  Case c = PendingCase();
  CaseShape s = ShapeIn(CaseState::kInStep);
  EXPECT_TRUE(CheckActor(Staff("r1", {"review"}, {"001002"}), c, s, Action::kAgree, "").ok());

  Status wrong_role = CheckActor(Staff("a1", {"approve"}, {"001002"}), c, s, Action::kAgree, "");
  ASSERT_FALSE(wrong_role.ok());
  EXPECT_EQ(wrong_role.error().code, code::kNotYourStep);
  EXPECT_NE(wrong_role.error().message.find("审核"), std::string::npos);

  Status wrong_org = CheckActor(Staff("r2", {"review"}, {"001"}), c, s, Action::kAgree, "");
  ASSERT_FALSE(wrong_org.ok());
  EXPECT_EQ(wrong_org.error().code, code::kNotYourStep);
  EXPECT_NE(wrong_org.error().message.find("001002"), std::string::npos);
}

TEST(ApprovalStateMachineActors, ATransferredStepIsOnlyForItsUser) {
  Case c = PendingCase();
  c.pending_user = "r2";
  CaseShape s = ShapeIn(CaseState::kInStep);
  Status other = CheckActor(Staff("r1", {"review"}, {"001002"}), c, s, Action::kAgree, "");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, code::kNotYourStep);
  EXPECT_TRUE(CheckActor(Staff("r2", {"review"}, {"001002"}), c, s, Action::kAgree, "").ok());
}

TEST(ApprovalStateMachineActors, AcceptanceAndVoidNeedTheAcceptRoleOfTheCasesOrg) {
  Case c = PendingCase();
  CaseShape registered = ShapeIn(CaseState::kRegistered);
  EXPECT_TRUE(CheckActor(Staff("s", {"accept"}, {"001"}), c, registered, Action::kAccept, "").ok());
  EXPECT_EQ(CheckActor(Staff("s", {"intake"}, {"001"}), c, registered, Action::kAccept, "")
                .error()
                .code,
            code::kNotYourStep);
  // 作废 in a step is the acceptor's too, not the step handler's.
  CaseShape in_step = ShapeIn(CaseState::kInStep);
  EXPECT_TRUE(CheckActor(Staff("s", {"accept"}, {"001"}), c, in_step, Action::kVoid, "").ok());
  EXPECT_FALSE(CheckActor(Staff("r", {"review"}, {"001002"}), c, in_step, Action::kVoid, "").ok());
}

TEST(ApprovalStateMachineActors, SupervisorsAndMatterAdminsActOnNothing) {
  Case c = PendingCase();
  Actor watcher = Staff("w", {"supervise", "matters"}, {"001", "001002"});
  for (CaseState state : {CaseState::kRegistered, CaseState::kInStep, CaseState::kCorrection,
                          CaseState::kSuspended}) {
    for (Action action : kAllActions) {
      Status s = CheckActor(watcher, c, ShapeIn(state), action, "");
      EXPECT_FALSE(s.ok()) << ActionName(action);
    }
  }
}

TEST(ApprovalStateMachineActors, TheRegisteringApplicantWithdrawsAndResubmitsButNothingElse) {
  Case c = PendingCase();
  Actor applicant;
  applicant.kind = Actor::Kind::kApplicant;
  applicant.userid = "citizen1";
  CaseShape registered = ShapeIn(CaseState::kRegistered);
  EXPECT_TRUE(CheckActor(applicant, c, registered, Action::kWithdraw, "citizen1").ok());
  EXPECT_EQ(CheckActor(applicant, c, registered, Action::kWithdraw, "citizen2").error().code,
            code::kNotYourStep);
  EXPECT_TRUE(CheckActor(applicant, c, ShapeIn(CaseState::kCorrection), Action::kResubmit,
                         "citizen1")
                  .ok());
  EXPECT_EQ(CheckActor(applicant, c, registered, Action::kAccept, "citizen1").error().code,
            code::kNotYourStep);
  // An anonymous applicant is never "the registrant" of a window case.
  applicant.userid.clear();
  EXPECT_FALSE(CheckActor(applicant, c, registered, Action::kWithdraw, "").ok());
}

TEST(ApprovalStateMachineActors, ClerksOfTheOrgWithdrawAndResubmitForTheApplicant) {
  Case c = PendingCase();
  EXPECT_TRUE(CheckActor(Staff("i", {"intake"}, {"001"}), c, ShapeIn(CaseState::kRegistered),
                         Action::kWithdraw, "someone")
                  .ok());
  EXPECT_FALSE(CheckActor(Staff("i", {"intake"}, {"009"}), c, ShapeIn(CaseState::kRegistered),
                          Action::kWithdraw, "someone")
                   .ok());
  EXPECT_TRUE(CheckActor(Staff("k", {"accept"}, {"001"}), c, ShapeIn(CaseState::kCorrection),
                         Action::kResubmit, "someone")
                  .ok());
}

TEST(ApprovalStateMachineActors, DepartmentSystemsOnlyReport) {
  Actor system;
  system.kind = Actor::Kind::kSystem;
  system.system = "dept-app";
  Status s = CheckActor(system, PendingCase(), ShapeIn(CaseState::kInStep), Action::kAgree, "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, errc::kPermissionDenied);
}

TEST(ApprovalStateMachineActors, RolesHaveChineseLabels) {
  EXPECT_EQ(RoleLabel(kRoleAccept), "受理");
  EXPECT_EQ(RoleLabel(kRoleUndertake), "承办");
  EXPECT_EQ(RoleLabel("custom9"), "custom9");
}

}  // namespace
}  // namespace tongban::approval
