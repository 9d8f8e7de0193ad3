// Stages in: a department's own business system reports its cases through the
// hall interface (stage records), and the engine keeps them as read-only cases
// (reported = 1) whose state and deadlines follow the records, so they show
// with lights beside the platform's own.
#include <algorithm>
#include <charconv>
#include <optional>

#include "approval/engine.h"
#include "approval/engine_internal.h"

namespace tongban::approval {

using engine_internal::CaseRow;
using engine_internal::kNeedPrefetch;
using engine_internal::Prefetch;

namespace {

// "yyyy-MM-dd HH:mm:ss" (or a bare date) in China Standard Time; nullopt when
// absent or malformed.
std::optional<int64_t> ParseCstTime(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view date = text.substr(0, text.find(' '));
  auto day = ParseDay(date);
  if (!day.ok()) return std::nullopt;
  int64_t ms = StartOfDay(*day);
  if (date.size() == text.size()) return ms;
  std::string_view clock = text.substr(date.size() + 1);
  int h = 0, m = 0, s = 0;
  if (clock.size() != 8 || clock[2] != ':' || clock[5] != ':') return std::nullopt;
  auto num = [&](size_t at, int& out) {
    auto r = std::from_chars(clock.data() + at, clock.data() + at + 2, out);
    return r.ec == std::errc() && r.ptr == clock.data() + at + 2;
  };
  if (!num(0, h) || !num(3, m) || !num(6, s) || h > 23 || m > 59 || s > 59) return std::nullopt;
  return ms + ((h * 60 + m) * 60 + s) * int64_t{1000};
}

int StepIndex(const Matter& matter, std::string_view code) {
  for (size_t i = 0; i < matter.steps.size(); ++i) {
    if (matter.steps[i].code == code) return static_cast<int>(i);
  }
  return -1;
}

TimeLimit ReportedLimit(const Matter& m) {
  return m.promised_limit.amount > 0 ? m.promised_limit : m.legal_limit;
}

// The case's state as the department's records tell it. Records that arrive
// after the case ended are kept in the history but move nothing (a re-sent
// batch must not reopen a case); a record that would start a stop already
// running is not counted twice.
class ReportedCase {
 public:
  ReportedCase(Case& c, int& step_stopped_days, const Matter& matter, const WorkCalendar& cal,
               int64_t now)
      : c_(c), step_stopped_days_(step_stopped_days), matter_(matter), cal_(cal), now_(now) {}

  Status Apply(const StageRecord& r) {
    const std::string& stage = r.stage;
    if (stage == "SPSHENQIN") return Application(r);
    if (stage == "SPBANJIE") return Completion(r);
    if (IsFinal(c_.state)) return Status::Ok();
    if (stage == "SPSHOULI") return Acceptance(r);
    if (stage == "SPSHENPI") return Step(r);
    if (stage == "SPBUZHENG") {
      return Stop(r, "BZGZSJ", "BZSJ", CaseState::kCorrection, /*counts=*/true);
    }
    if (stage == "SPTEBIECHENGXU") {
      return Stop(r, "TBCXKSRQ", "TBCXJSRQ", CaseState::kSuspended, /*counts=*/false);
    }
    return Error::InvalidArgument("未知的环节：" + stage);
  }

 private:
  int64_t TimeOf(const StageRecord& r, std::string_view field) const {
    return ParseCstTime(r.Field(field)).value_or(now_);
  }

  Status Application(const StageRecord& r) {
    Applicant& a = c_.applicant;
    a.type = r.Field("SQRLX") == "2" ? ApplicantType::kLegalPerson : ApplicantType::kPerson;
    a.name = std::string(r.Field("SQRMC"));
    a.id_type = std::string(r.Field("SQRZJLX"));
    a.id_number = std::string(r.Field("SQRZJHM"));
    a.mobile = std::string(r.Field("LXRSJ"));
    if (!r.Field("SXMC").empty()) c_.matter_name = std::string(r.Field("SXMC"));
    if (!r.Field("TJFS").empty()) c_.channel = std::string(r.Field("TJFS"));
    c_.registered_at_ms = TimeOf(r, "SBSJ");
    return Status::Ok();
  }

  void StartStep(int index, int64_t at) {
    c_.current_step = index;
    c_.step_started_at_ms = at;
    step_stopped_days_ = 0;
    const MatterStep* step =
        index >= 0 && index < static_cast<int>(matter_.steps.size()) ? &matter_.steps[index] : nullptr;
    c_.step_deadline_ms = step != nullptr ? cal_.Deadline(at, step->limit, 0) : 0;
  }

  Status Acceptance(const StageRecord& r) {
    const int64_t at = TimeOf(r, "SLSJ");
    if (r.Field("SLZTDM") == "2") {
      c_.state = CaseState::kRefused;
      c_.result_reason = std::string(r.Field("BSLYY"));
      c_.completed_at_ms = at;
      return Status::Ok();
    }
    c_.state = CaseState::kInStep;
    c_.accepted_at_ms = at;
    c_.deadline_ms = cal_.Deadline(at, ReportedLimit(matter_), c_.stopped_working_days);
    StartStep(matter_.steps.empty() ? -1 : 0, at);
    return Status::Ok();
  }

  Status Step(const StageRecord& r) {
    if (c_.state != CaseState::kInStep) return Status::Ok();
    int index = StepIndex(matter_, r.Field("SPHJDM"));
    if (index < 0) return Status::Ok();  // a step our catalogue does not list: history only
    const int64_t at = TimeOf(r, "SPSJ");
    if (r.Field("NODERESULT") == "7") {
      StartStep(std::max(index - 1, 0), at);
    } else if (index + 1 < static_cast<int>(matter_.steps.size())) {
      StartStep(index + 1, at);
    }
    return Status::Ok();
  }

  // A stop (补正 or 特别程序) starting at `start_field` and, when reported,
  // ending at `end_field`; both may come in one record.
  Status Stop(const StageRecord& r, std::string_view start_field, std::string_view end_field,
              CaseState stopped_state, bool counts) {
    auto start = ParseCstTime(r.Field(start_field));
    auto end = ParseCstTime(r.Field(end_field));
    if (c_.state != stopped_state && start.has_value()) {
      if (counts) ++c_.corrections;
      c_.state = stopped_state;
      c_.stopped_since_ms = *start;
    }
    if (c_.state == stopped_state && end.has_value()) Resume(*end);
    return Status::Ok();
  }

  void Resume(int64_t at) {
    if (c_.accepted_at_ms > 0 && c_.stopped_since_ms > 0) {
      int days = cal_.WorkingDaysBetween(DayOf(c_.stopped_since_ms), DayOf(at));
      c_.stopped_working_days += days;
      step_stopped_days_ += days;
      c_.deadline_ms =
          cal_.Deadline(c_.accepted_at_ms, ReportedLimit(matter_), c_.stopped_working_days);
      if (c_.current_step >= 0 && c_.current_step < static_cast<int>(matter_.steps.size())) {
        c_.step_deadline_ms = cal_.Deadline(
            c_.step_started_at_ms, matter_.steps[c_.current_step].limit, step_stopped_days_);
      }
    }
    c_.stopped_since_ms = 0;
    c_.state = c_.accepted_at_ms > 0 ? CaseState::kInStep : CaseState::kRegistered;
  }

  Status Completion(const StageRecord& r) {
    std::string_view text = r.Field("BJJGDM");
    int code = -1;
    auto parsed = std::from_chars(text.data(), text.data() + text.size(), code);
    if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size() || code < 0 ||
        code > 7) {
      return Error::InvalidArgument("SPBANJIE: BJJGDM 须为 0-7");
    }
    const int64_t at = TimeOf(r, "BJSJ");
    if (c_.stopped_since_ms > 0) Resume(at);
    c_.completed_at_ms = at;
    c_.result_reason = std::string(r.Field("ZFHTHYY"));
    switch (code) {
      case 0:  // 出证办结: approved with a licence issued
      case 6:
        c_.state = CaseState::kCompleted;
        c_.result = CompletionResult::kApproved;
        break;
      case 2:
        c_.state = CaseState::kVoided;
        c_.result = CompletionResult::kVoided;
        break;
      case 3:  // 删除办结: taken back before a decision
        c_.state = CaseState::kWithdrawn;
        c_.result.reset();
        break;
      default:
        c_.state = CaseState::kCompleted;
        c_.result = static_cast<CompletionResult>(code);
        break;
    }
    return Status::Ok();
  }

  Case& c_;
  int& step_stopped_days_;
  const Matter& matter_;
  const WorkCalendar& cal_;
  int64_t now_;
};

}  // namespace

Result<Case> CaseEngine::Report(const Actor& system, std::string_view org_scope,
                                const std::vector<StageRecord>& records) {
  Impl& im = *impl_;
  if (system.kind != Actor::Kind::kSystem) {
    return Error::PermissionDenied("只有部门自建系统可以报送环节数据");
  }
  if (org_scope.empty()) return Error::PermissionDenied("报送方未绑定机构，不能报送环节数据");
  if (records.empty()) return Error::InvalidArgument("没有环节数据");
  // What the intake accepts, checked here too: a record is kept in its step
  // record's detail and re-published from there, so it must read back.
  auto readable = ParseStageRecords(StageRecordsJson(records));
  if (!readable.ok()) return std::move(readable).error();
  const std::string number(records.front().Field("SBLSH"));
  if (number.empty()) return Error::InvalidArgument("环节数据缺少 SBLSH");
  std::string application_code;
  for (const StageRecord& r : records) {
    if (r.Field("SBLSH") != number) {
      return Error::InvalidArgument("一次报送只能是同一办件（SBLSH）的环节数据");
    }
    if (r.stage == "SPSHENQIN") {
      // The case number begins with its matter's implement code, and the
      // caller's scope was checked on that prefix: SXBM may not name another.
      std::string_view sxbm = r.Field("SXBM");
      if (number.size() < kImplementCodeLength ||
          sxbm != std::string_view(number).substr(0, kImplementCodeLength)) {
        return Error::InvalidArgument("申请环节的事项编码（SXBM）须为办件编号（SBLSH）的前 " +
                                      std::to_string(kImplementCodeLength) + " 位");
      }
      if (application_code.empty()) application_code = std::string(sxbm);
    }
  }
  // The matter of a new case is its latest version, read before the transaction.
  std::shared_ptr<const Matter> latest;
  if (!application_code.empty()) {
    auto matter = im.matters.Latest(application_code);
    if (!matter.ok()) {
      if (matter.error().code == errc::kNotFound) {
        return Error{code::kMatterUnknown, "事项不存在：" + application_code};
      }
      return std::move(matter).error();
    }
    latest = std::make_shared<const Matter>(std::move(matter).value());
    std::lock_guard lock(im.mu);
    im.matter_cache.emplace(std::make_pair(latest->implement_code, latest->version), latest);
  }

  return im.Transact<Case>([&](soci::session& sql, Prefetch* need) -> Result<Case> {
    std::optional<CaseRow> row = im.statements.Load(sql, number, true);
    const bool is_new = !row.has_value();
    CaseRow r;
    if (is_new) {
      if (latest == nullptr) {
        return Error{code::kCaseUnknown, "未收到该办件的申请环节数据（SPSHENQIN）"};
      }
      r.number = number;
      r.implement_code = latest->implement_code;
      r.matter_version = latest->version;
      r.matter_name = latest->name;
      r.orgcoding = latest->orgcoding;
      r.division = latest->division;
      r.state = std::string(CaseStateName(CaseState::kRegistered));
      r.reported = 1;
      r.registered_by = system.system;
    } else {
      if (row->reported == 0) {
        return Error::Conflict("办件编号已被本平台受理的办件使用，不能报送");
      }
      r = std::move(*row);
    }
    // The case's own org, not the org its number's matter has today.
    if (!r.orgcoding.starts_with(org_scope)) {
      return Error::PermissionDenied("报送方无权报送机构 " + r.orgcoding +
                                     " 的办件（它报送的机构为 " + std::string(org_scope) + "）");
    }
    auto matter = im.CachedMatter(r.implement_code, r.matter_version, need);
    if (matter == nullptr) return Error{kNeedPrefetch, ""};
    auto cal = im.CachedCalendar(r.division, need);
    if (cal == nullptr) return Error{kNeedPrefetch, ""};

    const int64_t now = im.clock.NowMillis();
    Case c = r.ToCase();
    c.reported = true;
    const Case before = c;
    int step_stopped_days = r.step_stopped_days;
    ReportedCase reported(c, step_stopped_days, *matter, *cal, now);
    std::vector<StepRecord> history;
    for (const StageRecord& stage : records) {
      const CaseState from = c.state;
      TB_RETURN_IF_ERROR(reported.Apply(stage));
      StepRecord h;
      h.action = Action::kReported;
      h.step_code = stage.stage == "SPSHENPI" ? std::string(stage.Field("SPHJDM")) : "";
      h.step_name = stage.stage == "SPSHENPI" ? std::string(stage.Field("SPHJMC")) : stage.stage;
      h.username = system.system;
      h.orgcoding = c.orgcoding;
      for (std::string_view reason : {stage.Field("BSLYY"), stage.Field("SPYJ"),
                                      stage.Field("BZGZYY"), stage.Field("TBCXQDLY"),
                                      stage.Field("ZFHTHYY")}) {
        if (!reason.empty()) {
          h.opinion = std::string(reason);
          break;
        }
      }
      h.detail = StageRecordJson(stage);
      h.from_state = std::string(CaseStateName(from));
      h.to_state = std::string(CaseStateName(c.state));
      h.at_ms = now;
      history.push_back(std::move(h));
    }

    r.applicant_type =
        c.applicant.type == ApplicantType::kLegalPerson ? "legal_person" : "person";
    r.applicant_name = c.applicant.name;
    r.applicant_id = c.applicant.id_number;
    r.applicant_json = engine_internal::ApplicantJson(c.applicant);
    r.matter_name = c.matter_name;
    r.channel = c.channel;
    r.registered_at = c.registered_at_ms;
    r.Assign(c);
    r.step_stopped_days = step_stopped_days;
    if (is_new) {
      c.id = im.statements.Insert(sql, r);
      c.revision = 0;
    } else {
      // Registration columns change with a re-sent SPSHENQIN; Assign covers the rest.
      sql << "UPDATE approval_cases SET applicant_type = :t, applicant_name = :n, "
             "applicant_id = :i, applicant_json = :j, matter_name = :m, channel = :c, "
             "registered_at = :ra WHERE id = :id",
          soci::use(r.applicant_type), soci::use(r.applicant_name), soci::use(r.applicant_id),
          soci::use(r.applicant_json), soci::use(r.matter_name), soci::use(r.channel),
          soci::use(r.registered_at), soci::use(r.id);
      if (!im.statements.Update(sql, r)) {
        return Error{code::kStale, "办件已被他人处理，请刷新"};
      }
      c.revision = r.revision + 1;
    }
    for (StepRecord& h : history) {
      h.case_id = c.id;
      im.statements.InsertStep(sql, h);
      TB_RETURN_IF_ERROR(im.EnqueueStage(sql, c, *matter, h));
    }
    // Supervision judges the report as one transition: from the case before
    // the records to the case after them (a refusal reported without a reason
    // raises its alert like one made here).
    if (im.options.on_transition && !history.empty()) {
      TB_RETURN_IF_ERROR(
          im.options.on_transition(sql, before, c, history.back(), now, cal.get()));
    }
    return c;
  });
}

}  // namespace tongban::approval
