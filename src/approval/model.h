// The records of the approval subsystem (统一审批): matters (事项) with their
// materials and ordered steps, cases (办件) with applicants, materials and the
// history of step records, and the codes of gov-domain-notes §1.4 they carry.
// Plain values shared by the engine (engine.h), the catalogue (matters.h), the
// calendar (calendar.h) and the API; no behaviour beyond small helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tongban::approval {

// ---- Roles of the approval app in the SSO directory (docs/design/approval.md) ----
// The app's servicecode, and the rolecodes a user holds in it. A role acts only on
// work of the orgs the user belongs to (orgcoding and extendorgcoding).
inline constexpr std::string_view kAppCode = "approval";
inline constexpr std::string_view kRoleIntake = "intake";        // 收件
inline constexpr std::string_view kRoleAccept = "accept";        // 受理
inline constexpr std::string_view kRoleUndertake = "undertake";  // 承办
inline constexpr std::string_view kRoleReview = "review";        // 审核
inline constexpr std::string_view kRoleApprove = "approve";      // 批准
inline constexpr std::string_view kRoleSupervise = "supervise";  // 监察
inline constexpr std::string_view kRoleMatterAdmin = "matters";  // 事项管理

// ---- Time limits ----
// PROMISETIMEUNIT-like units; a month is 30 days and a year 365 (approval.md).
enum class TimeUnit { kWorkingDays, kNaturalDays, kHours, kMonths, kYears };
std::string_view TimeUnitName(TimeUnit unit);  // "workday", "day", "hour", "month", "year"
std::optional<TimeUnit> ParseTimeUnit(std::string_view name);  // also 工作日 自然日 小时 月 年

struct TimeLimit {
  int amount = 0;  // 0 = no limit
  TimeUnit unit = TimeUnit::kWorkingDays;
};

// ---- Matters (事项) ----
enum class MatterType {  // 事项类型
  kLicence,              // 行政许可
  kConfirmation,         // 行政确认
  kPayment,              // 行政给付
  kOtherPower,           // 其他行政权力
  kPublicService,        // 公共服务
};
std::string_view MatterTypeName(MatterType type);  // "licence", ...
std::optional<MatterType> ParseMatterType(std::string_view name);  // also the Chinese

// 办件类型 (APPROVALTYPE): 1 即办件, 2 承诺件, 3 联办件, 4 上报件.
enum class CaseKind { kImmediate = 1, kPromised = 2, kJoint = 3, kReported = 4 };

enum class MaterialForm { kPaper, kElectronic, kEither };

struct MatterMaterial {
  std::string name;
  bool required = true;
  MaterialForm form = MaterialForm::kEither;
  int copies = 1;
  std::string template_sha256;  // a template file in the file store; "" = none
};

// One step of the 办理流程 between acceptance and completion.
// code: SPHJDM 1 承办, 2 审核, 3 批准, or a custom code ("9x").
struct MatterStep {
  std::string code;
  std::string name;
  std::string role;     // the approval rolecode whose holders act on it
  std::string org;      // the orgcoding whose staff act on it; "" = the matter's org
  TimeLimit limit;      // the step's own limit (0 = none)
};

// A fee of a matter (收费项目): the payment subsystem's charge item code and
// the standard amount in fen. A case of a matter with fees raises a payment
// notice of these lines for its applicant (connected by src/app).
struct MatterFee {
  std::string item_code;  // 收费项目编码 (CHITCODE), 1..32 digits or upper-case letters
  int64_t amount_fen = 0; // > 0
};

struct Matter {
  std::string basic_code;      // 基本编码, 12 characters
  std::string implement_code;  // 实施编码, 31 characters
  std::string item_code;       // 办理项编码, optional
  std::string name;
  MatterType type = MatterType::kLicence;
  std::string orgcoding;       // the implementing org (directory)
  std::string division;        // GB/T 2260 6-digit or 12-digit code
  int version = 1;             // versions ascend; a case keeps its version
  bool enabled = true;         // 启用 / 停用
  TimeLimit legal_limit;       // 法定时限
  TimeLimit promised_limit;    // 承诺时限
  CaseKind kind = CaseKind::kPromised;
  bool has_fee = false;
  std::vector<MatterFee> fees;  // non-empty only when has_fee; at most 50
  bool online = false;         // 可网上申报
  // The lowest SSO real-name level (authlevel 1..3) an online applicant's
  // account must hold; 0: none beyond the approval app's min_authlevel.
  // Agents apply for others, so the account is not tied to the applicant's
  // ID: a matter whose online application must come from a checked person
  // asks 2 (初级实名) or 3 (高级实名).
  int online_min_authlevel = 0;
  std::string guide;           // free text for the public guide (where to go, fees…)
  std::vector<MatterMaterial> materials;
  std::vector<MatterStep> steps;  // in order; acceptance first and 办结 last are implied
  int64_t updated_at_ms = 0;
};

// ---- Cases (办件) ----
enum class ApplicantType { kPerson, kLegalPerson };

struct Applicant {
  ApplicantType type = ApplicantType::kPerson;
  std::string name;        // person's name or the legal person's name
  std::string id_type;     // 证件类型: "10" resident ID (GB 11643); "49" USCC for legal persons
  std::string id_number;   // checked: GB 11643 / GB 32100
  std::string mobile;
  std::string legal_representative;  // legal person only
  std::string contact_name;          // legal person's handler (经办人)
  std::string agent_name;            // 代办人, optional
  std::string agent_id_number;       // checked when present
  std::string agent_mobile;
};

// Where a case is. A case in kInStep waits on steps[current_step].
enum class CaseState {
  kRegistered,   // 收件: waiting for acceptance
  kInStep,       // 受理 done; a step is pending
  kCorrection,   // 补齐补正: waiting for the applicant (clock stopped)
  kSuspended,    // 特别程序 (clock stopped)
  kCompleted,    // 办结 (any result)
  kRefused,      // 不予受理 (final)
  kWithdrawn,    // 撤回 by the applicant before acceptance (final)
  kVoided,       // 作废 (final)
};
std::string_view CaseStateName(CaseState state);  // "registered", ...
std::optional<CaseState> ParseCaseState(std::string_view name);
bool IsFinal(CaseState state);

// BJJGDM / DONERESULT of notes §1.4; `approved` and `not_approved` are the two
// a step list ends in.
enum class CompletionResult {
  kApproved = 6,     // 办结 / 准予许可
  kNotApproved = 7,  // 不予许可 (reason required)
  kReturned = 1,     // 退回办结 (reason required)
  kVoided = 2,       // 作废办结 (reason required)
  kForwarded = 4,    // 转报办结 (reason required)
  kCorrectionTimeout = 5,  // 补正不来办结 (reason required)
};
bool NeedsReason(CompletionResult result);

enum class Light { kNone, kGreen, kYellow, kRed };
std::string_view LightName(Light light);  // "", "green", "yellow", "red"

// What a transition does (the step record's action).
enum class Action {
  kRegister,     // 收件
  kAccept,       // 受理 (SLZTDM 1)
  kRefuse,       // 不予受理 (SLZTDM 2)
  kAgree,        // step result 同意 (NODERESULT 1)
  kDisagree,     // step result 不同意 (NODERESULT 0): ends as 不予许可 at the last step
  kReturn,       // 退回 to the previous step (NODERESULT 7)
  kReturnToApplicant,  // 退回 to the applicant: 退回办结
  kTransfer,     // 转办 to another handler of the same role
  kRequestCorrection,  // 补齐补正 notice
  kResubmit,     // the applicant's corrected materials arrive
  kSuspend,      // 特别程序 start
  kResume,       // 特别程序 end, with its result
  kWithdraw,     // 撤回
  kVoid,         // 作废
  kComplete,     // 办结 (the last step's agreement completes; explicit for 即办件)
  kRecompute,    // deadline recomputed after a calendar change
  kReported,     // a stage record reported by a department system
};
std::string_view ActionName(Action action);  // "register", "accept", ...
std::optional<Action> ParseAction(std::string_view name);

struct CaseMaterial {
  std::string name;
  MaterialForm form = MaterialForm::kPaper;
  int copies = 0;          // paper copies received
  std::string sha256;      // electronic: the file in the file store
  std::string media_type;  // sniffed: application/pdf, image/jpeg, image/png, application/ofd
  int64_t size = 0;
};

struct Case {
  int64_t id = 0;
  std::string number;          // 办件编号, 43 characters
  std::string implement_code;
  int matter_version = 0;
  std::string matter_name;
  std::string orgcoding;       // the matter's implementing org
  std::string division;
  Applicant applicant;
  std::vector<CaseMaterial> materials;
  std::string channel = "0";   // SUBMIT: 0 窗口, 1 网上 ...
  CaseState state = CaseState::kRegistered;
  int current_step = -1;       // index into the matter version's steps; -1 before acceptance
  std::string pending_role;    // who acts next ("" when final)
  std::string pending_org;
  std::string pending_user;    // set by 转办: only this user acts ("" = any of role and org)
  int corrections = 0;         // 补正 count
  int64_t registered_at_ms = 0;
  // Who registered it: the clerk's userid (窗口), the applicant's (网上申报),
  // a department system's servicecode (reported cases).
  std::string registered_by;
  int64_t accepted_at_ms = 0;  // 0 before acceptance
  int64_t completed_at_ms = 0;
  int64_t deadline_ms = 0;     // promised deadline (0 = none yet / no limit)
  int64_t step_started_at_ms = 0;
  int64_t step_deadline_ms = 0;
  int64_t stopped_since_ms = 0;  // when the clock stopped (correction, suspension); 0 = running
  int stopped_working_days = 0;  // working days added by finished stops
  std::optional<CompletionResult> result;
  std::string result_reason;
  bool reported = false;       // read-only: reported by a department's own system
  int64_t revision = 0;        // bumped by every transition (optimistic concurrency)
};

// One entry of a case's history: a transition and who made it.
struct StepRecord {
  int64_t id = 0;
  int64_t case_id = 0;
  Action action = Action::kRegister;
  std::string step_code;       // SPHJDM of the step acted on ("" for acceptance etc.)
  std::string step_name;
  std::string userid;          // "" for the applicant or a department system
  std::string username;
  std::string orgcoding;
  std::string opinion;         // 意见 / reason
  std::string detail;          // JSON: materials asked for, suspension kind, result code...
  std::vector<std::string> attachments;  // sha256 of files in the file store
  std::string from_state;
  std::string to_state;
  int64_t at_ms = 0;           // server time
};

}  // namespace tongban::approval
