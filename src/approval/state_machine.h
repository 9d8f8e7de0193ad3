// The case lifecycle (办件状态机) as pure functions: which (state, action) pairs
// are legal, where they lead, what they require (a reason, a result), and who
// may make them. No SQL and no clock: the engine (engine.cc) applies the
// effects and the deadlines; the table of docs/design/approval-engine.md is this file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "approval/engine.h"
#include "approval/model.h"
#include "core/result.h"

namespace tongban::approval {

// What the state machine needs to know of a case.
struct CaseShape {
  CaseState state = CaseState::kRegistered;
  int current_step = -1;  // -1 before acceptance (and in a correction before it)
  int step_count = 0;     // steps of the case's matter version
  CaseKind kind = CaseKind::kPromised;
  bool reported = false;  // a department system's case: read-only
};

// The request, as far as the state machine judges it.
struct Move {
  Action action = Action::kAccept;
  std::string_view opinion;                // the reason of a negative outcome
  std::optional<CompletionResult> result;  // kComplete only
  std::string_view to_user;                // kTransfer only
  size_t missing_materials = 0;            // kRequestCorrection: listed materials count as its reason
};

// What the clock does on a transition.
enum class ClockEffect {
  kNone,
  kStart,   // acceptance: the promised deadline starts
  kStop,    // 补齐补正 / 特别程序 after acceptance: stopped_since = now
  kResume,  // leaving a stopped state: the stopped working days are added
};

struct Transition {
  CaseState to = CaseState::kRegistered;
  int step = -1;            // current_step afterwards
  bool starts_step = false; // a step (re)starts: its clock restarts, 转办 is cleared
  ClockEffect clock = ClockEffect::kNone;
  bool counts_correction = false;
  std::optional<CompletionResult> result;  // set when the case ends (办结 or 作废)
  // The step records the transition writes, in order: the action itself, but
  // {kAccept, kComplete} for a 即办件 completed at acceptance. (A record that
  // ends the case carries to_state; StageRecordsFor makes its SPBANJIE.)
  std::vector<Action> records;
};

// Whether `action` is possible at all in the case's state (kWrongState with
// a Chinese message when not; errc::kInvalidArgument for actions that are no
// transition: register, recompute, reported).
Status CheckState(const CaseShape& from, Action action);

// The full judgement: CheckState, then what the action needs (kReasonRequired,
// errc::kInvalidArgument for a missing to_user or an impossible result).
Result<Transition> Next(const CaseShape& from, const Move& move);

// Who must act on `action` in `state` (the engine checks the actor against it).
enum class Duty {
  kAcceptor,     // 受理 role in the case's org
  kStepHandler,  // the pending step's role in its org (and the 转办 user, if any)
  kResubmitter,  // the registering applicant, or an intake/accept clerk of the org
  kWithdrawer,   // the registering applicant, or an intake clerk of the org
};
Duty DutyOf(const CaseShape& from, Action action);

// Checks that `actor` may do `action` on `c` (whose pending_* fields name the
// step): code::kNotYourStep naming the role and org needed, or
// errc::kPermissionDenied for a department system. `registered_by` is the
// userid that registered the case (the applicant's for an online case).
Status CheckActor(const Actor& actor, const Case& c, const CaseShape& shape, Action action,
                  std::string_view registered_by);

// The Chinese name of an approval role ("受理" for kRoleAccept); a custom role as it is.
std::string RoleLabel(std::string_view role);

}  // namespace tongban::approval
