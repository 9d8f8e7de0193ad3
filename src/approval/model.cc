#include "approval/model.h"

#include <array>
#include <utility>

namespace tongban::approval {
namespace {

// Finds `name` among a table's English names or Chinese aliases.
template <typename E, size_t N>
std::optional<E> Lookup(const std::array<std::pair<std::string_view, E>, N>& table,
                        std::string_view name) {
  for (const auto& [text, value] : table) {
    if (text == name) return value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<std::string_view, E>, N>& table, E value) {
  for (const auto& [text, v] : table) {
    if (v == value) return text;
  }
  return {};
}

constexpr std::array<std::pair<std::string_view, TimeUnit>, 15> kUnits{{
    {"workday", TimeUnit::kWorkingDays},
    {"day", TimeUnit::kNaturalDays},
    {"hour", TimeUnit::kHours},
    {"month", TimeUnit::kMonths},
    {"year", TimeUnit::kYears},
    {"工作日", TimeUnit::kWorkingDays},
    {"自然日", TimeUnit::kNaturalDays},
    {"天", TimeUnit::kNaturalDays},
    {"小时", TimeUnit::kHours},
    {"月", TimeUnit::kMonths},
    {"年", TimeUnit::kYears},
    // PROMISETIMEUNIT digits: 1 工作日, 2 自然日, 3 小时, 5 月.
    {"1", TimeUnit::kWorkingDays},
    {"2", TimeUnit::kNaturalDays},
    {"3", TimeUnit::kHours},
    {"5", TimeUnit::kMonths},
}};

constexpr std::array<std::pair<std::string_view, MatterType>, 10> kMatterTypes{{
    {"licence", MatterType::kLicence},
    {"confirmation", MatterType::kConfirmation},
    {"payment", MatterType::kPayment},
    {"other", MatterType::kOtherPower},
    {"service", MatterType::kPublicService},
    {"行政许可", MatterType::kLicence},
    {"行政确认", MatterType::kConfirmation},
    {"行政给付", MatterType::kPayment},
    {"其他行政权力", MatterType::kOtherPower},
    {"公共服务", MatterType::kPublicService},
}};

constexpr std::array<std::pair<std::string_view, CaseState>, 8> kStates{{
    {"registered", CaseState::kRegistered},
    {"in_step", CaseState::kInStep},
    {"correction", CaseState::kCorrection},
    {"suspended", CaseState::kSuspended},
    {"completed", CaseState::kCompleted},
    {"refused", CaseState::kRefused},
    {"withdrawn", CaseState::kWithdrawn},
    {"voided", CaseState::kVoided},
}};

constexpr std::array<std::pair<std::string_view, Action>, 17> kActions{{
    {"register", Action::kRegister},
    {"accept", Action::kAccept},
    {"refuse", Action::kRefuse},
    {"agree", Action::kAgree},
    {"disagree", Action::kDisagree},
    {"return", Action::kReturn},
    {"return_to_applicant", Action::kReturnToApplicant},
    {"transfer", Action::kTransfer},
    {"request_correction", Action::kRequestCorrection},
    {"resubmit", Action::kResubmit},
    {"suspend", Action::kSuspend},
    {"resume", Action::kResume},
    {"withdraw", Action::kWithdraw},
    {"void", Action::kVoid},
    {"complete", Action::kComplete},
    {"recompute", Action::kRecompute},
    {"reported", Action::kReported},
}};

}  // namespace

std::string_view TimeUnitName(TimeUnit unit) { return NameOf(kUnits, unit); }
std::optional<TimeUnit> ParseTimeUnit(std::string_view name) { return Lookup(kUnits, name); }

std::string_view MatterTypeName(MatterType type) { return NameOf(kMatterTypes, type); }
std::optional<MatterType> ParseMatterType(std::string_view name) {
  return Lookup(kMatterTypes, name);
}

std::string_view CaseStateName(CaseState state) { return NameOf(kStates, state); }
std::optional<CaseState> ParseCaseState(std::string_view name) { return Lookup(kStates, name); }

bool IsFinal(CaseState state) {
  switch (state) {
    case CaseState::kCompleted:
    case CaseState::kRefused:
    case CaseState::kWithdrawn:
    case CaseState::kVoided:
      return true;
    default:
      return false;
  }
}

bool NeedsReason(CompletionResult result) { return result != CompletionResult::kApproved; }

std::string_view LightName(Light light) {
  switch (light) {
    case Light::kGreen: return "green";
    case Light::kYellow: return "yellow";
    case Light::kRed: return "red";
    case Light::kNone: break;
  }
  return "";
}

std::string_view ActionName(Action action) { return NameOf(kActions, action); }
std::optional<Action> ParseAction(std::string_view name) { return Lookup(kActions, name); }

}  // namespace tongban::approval
