// The case engine (办件引擎): registers cases and moves them through their
// lifecycle — 收件 → 受理/不予受理 → each step → 办结, with 补齐补正, 特别程序,
// 退回, 转办, 撤回 and 作废 — checking who may act. Every transition is one
// transaction writing the case, a step record and a stage record on the
// approval outbox (stage_records.h); two clerks acting at once: one wins, the
// other gets code::kStale. The API (api.h) and the CLI call it. The lifecycle
// itself (which action is legal where, who acts) is state_machine.h; the
// decisions are in docs/design/approval-engine.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "approval/calendar.h"
#include "approval/matters.h"
#include "approval/model.h"
#include "approval/stage_records.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "store/outbox.h"
#include "store/sql_store.h"

namespace tongban::approval {

// Result codes of the approval API (docs/api/approval.md), beside errc's.
namespace code {
inline constexpr int kWrongState = 5101;      // the transition is not allowed in this state
inline constexpr int kNotYourStep = 5102;     // role/org/user does not match the pending step
inline constexpr int kReasonRequired = 5103;  // a negative outcome without a reason
inline constexpr int kStale = 5104;           // the case changed since the caller read it
inline constexpr int kMatterUnknown = 5105;   // no such matter, or disabled
inline constexpr int kBadApplicant = 5106;    // applicant ID / USCC / name invalid
inline constexpr int kBadMaterial = 5107;     // upload too large, wrong type, unknown file
inline constexpr int kCaseUnknown = 5108;     // no such case
inline constexpr int kLookupFailed = 5109;    // case number + lookup password do not match
inline constexpr int kRealNameTooLow =
    5110;  // the applicant's real-name level is below the matter's
inline constexpr int kRequestKeyReused =
    5111;  // an Idempotency-Key already registered a case from another request
}  // namespace code

// Who acts. Staff come from the SSO directory; the applicant from the public
// hall (their SSO userid, if logged in); a department system by signed call.
struct Actor {
  enum class Kind { kStaff, kApplicant, kSystem };
  Kind kind = Kind::kStaff;
  std::string userid;
  std::string username;
  std::vector<std::string> roles;  // approval rolecodes (model.h kRole*)
  std::vector<std::string> orgs;   // orgcoding + extendorgcoding
  std::string system;              // servicecode of a department system
  int authlevel = 0;               // an applicant's SSO real-name level (1..3)

  bool HasRole(std::string_view role) const;
  bool InOrg(std::string_view orgcoding) const;  // the org itself (not its children)
};

struct Registration {
  std::string implement_code;
  Applicant applicant;
  std::vector<CaseMaterial> materials;  // electronic ones name a stored file by sha256
  std::string channel = "0";            // SUBMIT code
  std::string note;
  // The caller's Idempotency-Key (empty: none) and a digest of its request.
  // A keyed registration that committed is answered again — the same case and
  // lookup password — when its key comes back with the same request; with
  // another request the key is refused (kRequestKeyReused).
  std::string request_key;
  std::string request_fingerprint;
};

struct Registered {
  Case case_;
  std::string lookup_password;  // 6 digits, shown once; only its hash is kept
  bool replayed = false;        // the answer of an earlier request with this key
};

// One transition request. `expected_revision` (when set) must equal the case's
// revision, so a clerk acting on a stale page is told (code::kStale).
struct Command {
  Action action = Action::kAccept;
  std::string opinion;        // required for negative outcomes
  std::optional<int64_t> expected_revision;
  std::vector<std::string> attachments;  // sha256 of stored files
  // kRequestCorrection: the missing materials. kSuspend: kind (专家评审, 听证…).
  // kResume: the procedure's result text. kComplete: result. kTransfer: to_user.
  std::vector<std::string> missing_materials;
  std::string suspension_kind;
  std::optional<CompletionResult> result;
  std::string to_user;  // kTransfer: the userid who takes the step
  std::vector<CaseMaterial> materials;  // kResubmit: the corrected materials
};

struct CaseFilter {
  std::optional<CaseState> state;
  std::string orgcoding;
  std::string implement_code;
  std::string applicant_id;
  // The hall's 我的办件: cases this user registered ("" = anyone) through this
  // channel ("" = any; "1" = 网上申报).
  std::string registered_by;
  std::string channel;
  int64_t from_ms = 0, to_ms = 0;  // registered in [from, to); 0 = open
  int64_t offset = 0, limit = 20;
};

struct WorkItem {  // a row of a 待办 list
  Case case_;
  Light case_light = Light::kNone;
  Light step_light = Light::kNone;
};

class FileStore;

struct EngineOptions {
  // HMAC-SHA256 key of the lookup passwords' stored hashes (a server secret
  // from the configuration). Register fails while it is empty.
  std::string lookup_key;
  // Electronic materials and attachments must name a file stored here; with
  // none, electronic materials are refused (code::kBadMaterial).
  FileStore* files = nullptr;
  // The org's name for the stage records (SLBMMC, BJBMMC...); "" when unset.
  std::function<std::string(std::string_view orgcoding)> org_name;
  // Queue each transition's DB51 stage records on the stage outbox for the
  // hall (the exchange drains it). Off where nothing consumes them (no
  // `[exchange] hall_out_node`): the table would only grow, and turning the
  // hall on later would send it a backlog of stale records.
  bool stage_records = true;
  // How long a division's calendar is kept in memory. RecomputeDeadlines
  // drops it at once on this node; an edit made on another node of a
  // cluster is seen here within this time.
  std::chrono::milliseconds calendar_ttl{60'000};
  // Called inside each transition's transaction after its step record is
  // written (电子监察 raises its alerts here, so they commit with the change);
  // an error rolls the transition back. `calendar` is the case division's.
  std::function<Status(soci::session& tx, const Case& before, const Case& after,
                       const StepRecord& record, int64_t now_ms, const WorkCalendar* calendar)>
      on_transition;
};

class CaseEngine {
 public:
  static std::vector<Migration> Migrations();  // module "approval_cases"

  CaseEngine(SqlStore& store, Outbox& stage_outbox, MatterCatalogue& matters,
             CalendarStore& calendars, Clock& clock, Random& random, EngineOptions options = {});
  ~CaseEngine();

  // 收件: a staff actor needs kRoleIntake in the matter's org; an applicant
  // registers online (channel 1). Errors: kMatterUnknown, kBadApplicant, kBadMaterial.
  Result<Registered> Register(const Actor& actor, const Registration& registration);
  // Any transition but register. Errors: kCaseUnknown, kWrongState, kNotYourStep,
  // kReasonRequired, kStale (another transition won), errc::kPermissionDenied.
  Result<Case> Act(const Actor& actor, std::string_view case_number, const Command& command);

  // Register and Act answered later, for the API: concurrent registrations
  // and transitions share one commit (group commit: each in a savepoint of
  // its own, so one's error rolls back only its writes). `done` is called
  // once with the outcome: at once on this thread for a refusal found before
  // any SQL, else on the engine's write-lane thread after the commit that
  // holds the change (nothing is reported done that a crash could lose).
  // `done` should be quick (render, hand on): the next batch waits for it.
  void RegisterAsync(const Actor& actor, const Registration& registration,
                     std::function<void(Result<Registered>)> done);
  void ActAsync(const Actor& actor, std::string_view case_number, const Command& command,
                std::function<void(Result<Case>)> done);
  // Shutdown: runs and reports what RegisterAsync/ActAsync queued, then
  // refuses more (errc::kUnavailable). Their `done` answers HTTP responses
  // with the routes' state, so the server calls this before either goes.
  void StopAsyncWrites();

  Result<Case> Get(std::string_view case_number);
  Result<std::vector<StepRecord>> History(std::string_view case_number);
  // The public lookup: the case when the password matches, else kLookupFailed.
  Result<Case> Lookup(std::string_view case_number, std::string_view lookup_password);

  // 待办: open cases whose pending step the actor may act on, most urgent first.
  Result<std::vector<WorkItem>> Todo(const Actor& actor, int64_t offset, int64_t limit,
                                     int64_t* total = nullptr);
  // 已办: cases the actor acted on, newest first.
  Result<std::vector<WorkItem>> Done(const Actor& actor, int64_t offset, int64_t limit);
  Result<std::vector<Case>> Search(const CaseFilter& filter, int64_t* total = nullptr);
  // Whether `sha256` is a material of a case `userid` applied for online
  // (channel 1, registered by them): what the hall lets an applicant download.
  Result<bool> ApplicantHasFile(std::string_view userid, std::string_view sha256);
  // Whether a staff actor may open a stored file: a material or attachment of
  // a case of one of the actor's orgs (the case's org, or the org its pending
  // step waits in), a file the actor uploaded (RecordUpload), or any file for
  // a 监察 (supervise) holder.
  Result<bool> StaffMayReadFile(const Actor& actor, std::string_view sha256);
  // Notes that a staff actor or an applicant uploaded `sha256` (once per user
  // and file), so they can open and reference it before any case refers to it.
  // Others' rights are unchanged.
  Status RecordUpload(const Actor& actor, std::string_view sha256, int64_t size);
  // The bytes `userid` uploaded in the last 24 hours (distinct files).
  Result<int64_t> UploadedBytesInLastDay(std::string_view userid);
  // Whether `actor` may name the stored file `sha256` in what it writes (a
  // material, a step attachment, a matter's template): staff — a file they
  // may read (StaffMayReadFile); an applicant — one they uploaded or a
  // material of their own online case. Knowing a digest is not enough.
  Result<bool> MayReferenceFile(const Actor& actor, std::string_view sha256);

  // A department system's own case (the hall interface, stages in): upserts a
  // read-only case keyed by SBLSH (reported = true) and applies the records in
  // order — SPSHENQIN creates it; SPSHOULI, the steps, SPBUZHENG,
  // SPTEBIECHENGXU and SPBANJIE move its state and deadlines, so it shows with
  // lights — writing a kReported step record each. Only Actor::Kind::kSystem.
  // `org_scope` (an orgcoding prefix, required) is the orgs the system speaks
  // for: the case's own org must be under it — checked in the transaction on
  // the case row (an existing case keeps the org it was created with, even
  // after its matter moved to another org), or on the matter of a new case.
  // Errors: errc::kPermissionDenied, errc::kInvalidArgument (a record that does
  // not fit), kMatterUnknown (SXBM not in the catalogue), kCaseUnknown (no
  // SPSHENQIN yet for that SBLSH).
  Result<Case> Report(const Actor& system, std::string_view org_scope,
                      const std::vector<StageRecord>& records);

  // Recomputes the deadlines of the running cases of `division` after its
  // calendar changed, writing a kRecompute record to each case whose deadline moved.
  // "" (the default calendar every division inherits) recomputes every division.
  // Also drops the engine's cached calendar(s), which nothing else does.
  Result<int64_t> RecomputeDeadlines(std::string_view division);

  // Lights on the case's division calendar. A stopped clock (补正, 特别程序)
  // keeps the light it had when it stopped; a completed case shows the light
  // it ended with; other ended cases and cases not yet accepted: kNone.
  Light CaseLight(const Case& c, int64_t now_ms);
  Light StepLight(const Case& c, int64_t now_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::approval
