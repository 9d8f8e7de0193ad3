#include "approval/state_machine.h"

#include <algorithm>

namespace tongban::approval {

bool Actor::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Actor::InOrg(std::string_view orgcoding) const {
  return !orgcoding.empty() && std::find(orgs.begin(), orgs.end(), orgcoding) != orgs.end();
}

namespace {

Error WrongState(std::string message) { return Error{code::kWrongState, std::move(message)}; }

// A reason is text a person wrote: blanks (ASCII and the ideographic space) do not count.
bool Blank(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') {
      ++i;
    } else if (text.substr(i, 3) == "\u3000") {
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

std::string_view ActionLabel(Action action) {
  switch (action) {
    case Action::kAccept: return "受理";
    case Action::kRefuse: return "不予受理";
    case Action::kAgree: return "同意";
    case Action::kDisagree: return "不同意";
    case Action::kReturn: return "退回上一环节";
    case Action::kReturnToApplicant: return "退回申请人";
    case Action::kTransfer: return "转办";
    case Action::kRequestCorrection: return "补齐补正";
    case Action::kResubmit: return "补正材料提交";
    case Action::kSuspend: return "特别程序";
    case Action::kResume: return "特别程序结束";
    case Action::kWithdraw: return "撤回";
    case Action::kVoid: return "作废";
    case Action::kComplete: return "办结";
    case Action::kRegister: return "收件";
    case Action::kRecompute: return "重算时限";
    case Action::kReported: return "报送";
  }
  return "";
}

Error ReasonRequired(Action action) {
  return Error{code::kReasonRequired, std::string(ActionLabel(action)) + "须填写理由（意见）"};
}

bool IsStopped(const CaseShape& s) {
  return s.state == CaseState::kSuspended ||
         (s.state == CaseState::kCorrection && s.current_step >= 0);
}

}  // namespace

std::string RoleLabel(std::string_view role) {
  if (role == kRoleIntake) return "收件";
  if (role == kRoleAccept) return "受理";
  if (role == kRoleUndertake) return "承办";
  if (role == kRoleReview) return "审核";
  if (role == kRoleApprove) return "批准";
  if (role == kRoleSupervise) return "监察";
  if (role == kRoleMatterAdmin) return "事项管理";
  return std::string(role);
}

Status CheckState(const CaseShape& from, Action action) {
  if (action == Action::kRegister || action == Action::kRecompute ||
      action == Action::kReported) {
    return Error::InvalidArgument("「" + std::string(ActionLabel(action)) +
                                  "」不是可执行的办理动作");
  }
  if (from.reported) return WrongState("部门自建系统办件，只读");
  switch (from.state) {
    case CaseState::kCompleted: return WrongState("办件已办结");
    case CaseState::kRefused: return WrongState("办件已不予受理");
    case CaseState::kWithdrawn: return WrongState("办件已撤回");
    case CaseState::kVoided: return WrongState("办件已作废");
    case CaseState::kRegistered:
      switch (action) {
        case Action::kAccept:
        case Action::kRefuse:
        case Action::kWithdraw:
        case Action::kVoid:
        case Action::kRequestCorrection:
          return Status::Ok();
        case Action::kComplete:
          if (from.kind == CaseKind::kImmediate) return Status::Ok();
          return WrongState("非即办件须先受理，再逐环节办理后办结");
        default:
          return WrongState("办件尚未受理，不能" + std::string(ActionLabel(action)));
      }
    case CaseState::kInStep:
      switch (action) {
        case Action::kAgree:
        case Action::kDisagree:
        case Action::kReturnToApplicant:
        case Action::kTransfer:
        case Action::kRequestCorrection:
        case Action::kSuspend:
        case Action::kVoid:
          return Status::Ok();
        case Action::kReturn:
          if (from.current_step > 0) return Status::Ok();
          return WrongState("已是第一个办理环节，不能退回上一环节（可退回申请人）");
        case Action::kComplete:
          if (from.current_step == from.step_count - 1) return Status::Ok();
          return WrongState("尚未到最后一个办理环节，不能办结");
        case Action::kAccept:
        case Action::kRefuse:
          return WrongState("办件已受理");
        case Action::kWithdraw:
          return WrongState("办件已受理，不能撤回");
        case Action::kResubmit:
          return WrongState("办件不在补齐补正中");
        case Action::kResume:
          return WrongState("办件不在特别程序中");
        default:
          return WrongState("办件办理中，不能" + std::string(ActionLabel(action)));
      }
    case CaseState::kCorrection:
      switch (action) {
        case Action::kResubmit:
        case Action::kVoid:
        case Action::kComplete:  // 补正不来办结 only (Next checks the result)
          return Status::Ok();
        default:
          return WrongState("办件等待申请人补齐补正，不能" + std::string(ActionLabel(action)));
      }
    case CaseState::kSuspended:
      switch (action) {
        case Action::kResume:
        case Action::kVoid:
          return Status::Ok();
        default:
          return WrongState("办件处于特别程序中，不能" + std::string(ActionLabel(action)));
      }
  }
  return WrongState("未知的办件状态");
}

Result<Transition> Next(const CaseShape& from, const Move& move) {
  TB_RETURN_IF_ERROR(CheckState(from, move.action));
  const Action action = move.action;
  const bool has_reason = !Blank(move.opinion);
  Transition t;
  t.step = from.current_step;
  t.records = {action};
  auto end_with = [&](CaseState to, CompletionResult result) {
    t.to = to;
    t.result = result;
    if (IsStopped(from)) t.clock = ClockEffect::kResume;
  };
  switch (action) {
    case Action::kAccept:
      t.clock = ClockEffect::kStart;
      if (from.step_count == 0) {  // nothing to handle: acceptance is the 办结
        t.to = CaseState::kCompleted;
        t.result = CompletionResult::kApproved;
      } else {
        t.to = CaseState::kInStep;
        t.step = 0;
        t.starts_step = true;
      }
      return t;
    case Action::kRefuse:
      if (!has_reason) return ReasonRequired(action);
      t.to = CaseState::kRefused;
      return t;
    case Action::kWithdraw:
      t.to = CaseState::kWithdrawn;
      return t;
    case Action::kVoid:
      if (!has_reason) return ReasonRequired(action);
      end_with(CaseState::kVoided, CompletionResult::kVoided);
      return t;
    case Action::kRequestCorrection:
      if (!has_reason && move.missing_materials == 0) return ReasonRequired(action);
      t.to = CaseState::kCorrection;
      t.counts_correction = true;
      if (from.state == CaseState::kInStep) t.clock = ClockEffect::kStop;
      return t;
    case Action::kResubmit:
      if (from.current_step < 0) {
        t.to = CaseState::kRegistered;
      } else {
        t.to = CaseState::kInStep;
        t.clock = ClockEffect::kResume;
      }
      return t;
    case Action::kAgree:
      if (from.current_step + 1 >= from.step_count) {
        end_with(CaseState::kCompleted, CompletionResult::kApproved);
      } else {
        t.to = CaseState::kInStep;
        t.step = from.current_step + 1;
        t.starts_step = true;
      }
      return t;
    case Action::kDisagree:
      if (!has_reason) return ReasonRequired(action);
      end_with(CaseState::kCompleted, CompletionResult::kNotApproved);
      return t;
    case Action::kReturn:
      if (!has_reason) return ReasonRequired(action);
      t.to = CaseState::kInStep;
      t.step = from.current_step - 1;
      t.starts_step = true;
      return t;
    case Action::kReturnToApplicant:
      if (!has_reason) return ReasonRequired(action);
      end_with(CaseState::kCompleted, CompletionResult::kReturned);
      return t;
    case Action::kTransfer:
      if (Blank(move.to_user)) return Error::InvalidArgument("转办须指定接办人（to_user）");
      t.to = CaseState::kInStep;
      return t;
    case Action::kSuspend:
      if (!has_reason) return ReasonRequired(action);
      t.to = CaseState::kSuspended;
      t.clock = ClockEffect::kStop;
      return t;
    case Action::kResume:
      t.to = CaseState::kInStep;
      t.clock = ClockEffect::kResume;
      return t;
    case Action::kComplete: {
      CompletionResult result = move.result.value_or(
          from.state == CaseState::kCorrection ? CompletionResult::kCorrectionTimeout
                                               : CompletionResult::kApproved);
      if (result == CompletionResult::kVoided) {
        return Error::InvalidArgument("作废请使用「作废」操作");
      }
      if (from.state == CaseState::kCorrection) {
        if (result != CompletionResult::kCorrectionTimeout) {
          return Error::InvalidArgument("补正中的办件只能以「补正不来办结」办结");
        }
      } else if (result == CompletionResult::kCorrectionTimeout) {
        return Error::InvalidArgument("办件不在补齐补正中，不能以「补正不来办结」办结");
      }
      if (NeedsReason(result) && !has_reason) return ReasonRequired(action);
      t.to = CaseState::kCompleted;
      t.result = result;
      if (from.state == CaseState::kRegistered) {  // 即办件: accepted and completed at once
        t.clock = ClockEffect::kStart;
        t.records = {Action::kAccept, Action::kComplete};
      } else if (IsStopped(from)) {
        t.clock = ClockEffect::kResume;
      }
      return t;
    }
    case Action::kRegister:
    case Action::kRecompute:
    case Action::kReported:
      break;
  }
  return Error::InvalidArgument("「" + std::string(ActionLabel(action)) + "」不是可执行的办理动作");
}

Duty DutyOf(const CaseShape& from, Action action) {
  if (action == Action::kWithdraw) return Duty::kWithdrawer;
  if (action == Action::kResubmit) return Duty::kResubmitter;
  if (action == Action::kVoid || from.current_step < 0) return Duty::kAcceptor;
  return Duty::kStepHandler;
}

Status CheckActor(const Actor& actor, const Case& c, const CaseShape& shape, Action action,
                  std::string_view registered_by) {
  if (actor.kind == Actor::Kind::kSystem) {
    return Error::PermissionDenied("部门系统只能报送环节数据，不能办理办件");
  }
  const bool is_registrant = actor.kind == Actor::Kind::kApplicant && !actor.userid.empty() &&
                             actor.userid == registered_by;
  const bool staff = actor.kind == Actor::Kind::kStaff;
  auto need = [&](std::string_view role, std::string_view org) {
    return Error{code::kNotYourStep, "您无权" + std::string(ActionLabel(action)) + "：需要机构 " +
                                         std::string(org) + " 的「" + RoleLabel(role) + "」角色"};
  };
  switch (DutyOf(shape, action)) {
    case Duty::kWithdrawer:
      if (is_registrant) return Status::Ok();
      if (staff && actor.HasRole(kRoleIntake) && actor.InOrg(c.orgcoding)) return Status::Ok();
      if (!staff) return Error{code::kNotYourStep, "只有提交申请的申请人本人可以撤回"};
      return need(kRoleIntake, c.orgcoding);
    case Duty::kResubmitter:
      if (is_registrant) return Status::Ok();
      if (staff && (actor.HasRole(kRoleIntake) || actor.HasRole(kRoleAccept)) &&
          actor.InOrg(c.orgcoding)) {
        return Status::Ok();
      }
      if (!staff) return Error{code::kNotYourStep, "只有提交申请的申请人本人可以提交补正材料"};
      return need(kRoleIntake, c.orgcoding);
    case Duty::kAcceptor:
      if (staff && actor.HasRole(kRoleAccept) && actor.InOrg(c.orgcoding)) return Status::Ok();
      if (!staff) return Error{code::kNotYourStep, "申请人不能办理此操作"};
      return need(kRoleAccept, c.orgcoding);
    case Duty::kStepHandler:
      if (!staff) return Error{code::kNotYourStep, "申请人不能办理此操作"};
      if (!actor.HasRole(c.pending_role) || !actor.InOrg(c.pending_org)) {
        return need(c.pending_role, c.pending_org);
      }
      if (!c.pending_user.empty() && c.pending_user != actor.userid) {
        return Error{code::kNotYourStep, "此环节已转办给用户 " + c.pending_user + "，由其办理"};
      }
      return Status::Ok();
  }
  return Error{code::kNotYourStep, "您无权办理此办件"};
}

}  // namespace tongban::approval
