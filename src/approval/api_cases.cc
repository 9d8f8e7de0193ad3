// Approval API: cases (收件登记, lists, detail, history, transitions, 待办 /
// 已办), uploaded files, the caller's own profile, and the signed calls of
// department systems (stage records in, case status out). docs/api/approval.md.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "approval/api_internal.h"
#include "approval/stage_records.h"
#include "crypto/digest.h"
#include "approval/state_machine.h"
#include "directory/codes.h"
#include "directory/directory.h"
#include "http/form.h"

namespace tongban::approval {

namespace {

// 实施编码 (31) + yyyyMMdd + 4-digit serial, in digits and upper-case letters.
Status CheckCaseNumber(std::string_view number) {
  const bool shape = number.size() == 43 && std::all_of(number.begin(), number.end(), [](char c) {
                       return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
                     });
  if (!shape) return Error::InvalidArgument("办件编号格式不正确：应为 43 位数字或大写字母");
  return Status::Ok();
}

Result<Case> VisibleCase(const Services& s, const Call& call, std::string_view number) {
  TB_RETURN_IF_ERROR(CheckCaseNumber(number));
  auto c = s.engine.Get(number);
  if (!c.ok()) return c.error();
  TB_RETURN_IF_ERROR(RequireCaseVisible(call.actor, *c));
  return c;
}

codec::Value WorkItemJson(const Services& s, const WorkItem& item) {
  codec::Value v = CaseJson(s, item.case_);
  // The engine's lights were computed with the list; they win over a recomputation.
  v.Set("case_light", LightName(item.case_light)).Set("step_light", LightName(item.step_light));
  return v;
}

Result<codec::Value> Me(const Services&, Call& call) {
  codec::Value v = codec::Value::Object(6);
  v.Set("userid", call.actor.userid)
      .Set("username", call.actor.username)
      .Set("roles", StringsJson(call.actor.roles))
      .Set("orgs", StringsJson(call.actor.orgs))
      .Set("csrf", call.csrf);
  return v;
}

Result<codec::Value> RegisterCase(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  Registration registration;
  auto code = TextMember(call.body, "implement_code");
  if (!code.ok()) return code.error();
  if (code->empty()) return Error{code::kMatterUnknown, "请选择事项（implement_code）"};
  registration.implement_code = *code;
  const codec::Value* applicant = call.body.Find("applicant");
  if (applicant == nullptr) return Error{code::kBadApplicant, "缺少申请人信息 applicant"};
  auto parsed = ApplicantFromJson(*applicant);
  if (!parsed.ok()) return parsed.error();
  registration.applicant = std::move(*parsed);
  auto materials = MaterialsFromJson(s, call.actor, call.body.Find("materials"));
  if (!materials.ok()) return materials.error();
  registration.materials = std::move(*materials);
  auto note = TextMember(call.body, "note");
  if (!note.ok()) return note.error();
  registration.note = *note;
  registration.channel = "0";  // 窗口收件: staff register at the counter
  if (auto key = call.request.Header("Idempotency-Key")) {
    if (key->empty()) return Error::InvalidArgument("Idempotency-Key 不能为空");
    registration.request_key = std::string(*key);
    // The route is part of the request: a key sent to the window's route and
    // then to the hall's (a user may use both) is another request (review16c).
    std::string request(call.actor.kind == Actor::Kind::kApplicant ? "applicant\n" : "staff\n");
    request.append(call.request.body());
    registration.request_fingerprint = crypto::Sha256Hex(request);
  }
  // Answered once the registration's group commit is done (engine.h).
  Answer answer = AnswerLater(call);
  s.engine.RegisterAsync(call.actor, registration,
                         [&s, answer](Result<Registered> registered) {
                           if (!registered.ok()) return answer(std::move(registered).error());
                           codec::Value out = codec::Value::Object(2);
                           out.Set("case", CaseJson(s, registered->case_))
                               .Set("lookup_password", registered->lookup_password);
                           if (registered->replayed) out.Set("replayed", true);
                           answer(std::move(out));
                         });
  return codec::Value();
}

// The file part of a multipart/form-data body (the first part with a
// filename), or nullopt when there is none.
std::optional<std::string_view> MultipartFile(std::string_view content_type,
                                              std::string_view body) {
  auto boundary = http::MediaTypeParam(content_type, "boundary");
  if (!boundary || boundary->empty()) return std::nullopt;
  const std::string delimiter = "--" + *boundary;
  size_t at = body.find(delimiter);
  while (at != std::string_view::npos) {
    size_t headers_start = body.find("\r\n", at);
    if (headers_start == std::string_view::npos) return std::nullopt;
    headers_start += 2;
    size_t headers_end = body.find("\r\n\r\n", headers_start);
    if (headers_end == std::string_view::npos) return std::nullopt;
    std::string_view headers = body.substr(headers_start, headers_end - headers_start);
    const size_t content_start = headers_end + 4;
    size_t next = body.find("\r\n" + delimiter, content_start);
    if (next == std::string_view::npos) return std::nullopt;
    if (headers.find("filename=") != std::string_view::npos) {
      return body.substr(content_start, next - content_start);
    }
    at = next + 2;
  }
  return std::nullopt;
}

// An account's uploads of the last 24 hours stay within its quota, and the
// file store keeps its free-space floor (review13: one account without any
// role stored 800 MiB in 9 s). Soft under one account's concurrent uploads:
// each is checked against what was recorded before it.
Status CheckUploadRoom(const Services& s, const Actor& actor, int64_t size) {
  if ((actor.kind == Actor::Kind::kStaff || actor.kind == Actor::Kind::kApplicant) &&
      !actor.userid.empty()) {
    const int64_t quota = actor.kind == Actor::Kind::kApplicant
                              ? s.settings.applicant_upload_bytes_per_day
                              : s.settings.staff_upload_bytes_per_day;
    auto used = s.engine.UploadedBytesInLastDay(actor.userid);
    if (!used.ok()) return used.error();
    if (*used + size > quota) {
      return Error::Conflict("24 小时内上传已达上限（" + std::to_string(quota >> 20) +
                             " MiB），请稍后再上传");
    }
  }
  auto free = s.files.FreeBytes();
  if (!free.ok()) return free.error();
  if (*free - size < s.settings.min_free_disk_bytes) {
    spdlog::error("approval: the file store has {} MiB free, below the floor of {} MiB: uploads "
                  "are refused", *free >> 20, s.settings.min_free_disk_bytes >> 20);
    return Error::Unavailable("文件存储空间不足，暂不能上传，请联系管理员");
  }
  return Status::Ok();
}

Result<codec::Value> UploadFile(const Services& s, Call& call) {
  const http::Request& request = call.request;
  // Refused on the declared length before anything is parsed; the stored
  // size is checked again by the file store.
  int64_t declared = 0;
  std::string_view length = request.Header("Content-Length").value_or("");
  constexpr int64_t kMultipartOverhead = 64 * 1024;
  if (ParseInteger(length, &declared) && declared > s.files.max_bytes() + kMultipartOverhead) {
    return Error::TooLarge("文件超过上传大小限制（" +
                           std::to_string(s.files.max_bytes() / (1024 * 1024)) + " MiB）");
  }
  std::string_view type = request.Header("Content-Type").value_or("");
  std::string_view bytes = request.body();
  if (type.starts_with("multipart/form-data")) {
    auto file = MultipartFile(type, bytes);
    if (!file) return Error{code::kBadMaterial, "multipart 请求体中没有文件部分"};
    bytes = *file;
  }
  if (bytes.empty()) return Error{code::kBadMaterial, "上传的文件为空"};
  if (static_cast<int64_t>(bytes.size()) > s.files.max_bytes()) {
    return Error::TooLarge("文件超过上传大小限制（" +
                           std::to_string(s.files.max_bytes() / (1024 * 1024)) + " MiB）");
  }
  TB_RETURN_IF_ERROR(CheckUploadRoom(s, call.actor, static_cast<int64_t>(bytes.size())));
  auto stored = s.files.Put(bytes);
  if (!stored.ok()) return stored.error();
  // The intake form links each upload before the case exists (DownloadFile).
  TB_RETURN_IF_ERROR(s.engine.RecordUpload(call.actor, stored->sha256, stored->size));
  codec::Value v = codec::Value::Object(3);
  v.Set("sha256", stored->sha256).Set("media_type", stored->media_type).Set("size", stored->size);
  return v;
}

// A clerk opens a file only through a case of one of their orgs (or as 监察),
// or one they uploaded themselves (the intake form's link before 收件登记);
// every other file answers 404, as an absent one, so a clerk of one
// department cannot read another's materials by their digest.
Result<codec::Value> DownloadFile(const Services& s, Call& call) {
  const std::string& sha = call.args[0];
  if (!IsSha256Hex(sha)) return Error::InvalidArgument("文件标识应为 64 位小写十六进制 SHA-256");
  auto may = s.engine.StaffMayReadFile(call.actor, sha);
  if (!may.ok()) return may.error();
  if (!*may) {
    auto is_template = s.matters.IsEnabledTemplate(sha);
    if (!is_template.ok()) return is_template.error();
    if (!*is_template) return Error::NotFound("文件不存在");
  }
  return WriteStoredFile(s, call, sha);
}

// An applicant: only the materials of their own online applications; every
// other file answers 404, as an absent one.
Result<codec::Value> ApplicantDownload(const Services& s, Call& call) {
  const std::string& sha = call.args[0];
  if (!IsSha256Hex(sha)) return Error::InvalidArgument("文件标识应为 64 位小写十六进制 SHA-256");
  auto own = s.engine.ApplicantHasFile(call.actor.userid, sha);
  if (!own.ok()) return own.error();
  if (!*own) return Error::NotFound("文件不存在");
  return WriteStoredFile(s, call, sha);
}

// The applicant's own case: applied for online under their SSO user. Anyone
// else's — or one registered for them at a window — answers as absent.
Result<Case> OwnCase(const Services& s, const Call& call, std::string_view number) {
  TB_RETURN_IF_ERROR(CheckCaseNumber(number));
  auto c = s.engine.Get(number);
  if (!c.ok()) return c.error();
  if (c->channel != "1" || c->registered_by.empty() || c->registered_by != call.actor.userid) {
    return Error{code::kCaseUnknown, "办件不存在"};
  }
  return c;
}

Result<codec::Value> ApplicantCases(const Services& s, Call& call) {
  auto paging = PagingFrom(call);
  if (!paging.ok()) return paging.error();
  CaseFilter filter;
  filter.registered_by = call.actor.userid;
  filter.channel = "1";
  filter.offset = paging->offset;
  filter.limit = paging->limit;
  int64_t total = 0;
  auto cases = s.engine.Search(filter, &total);
  if (!cases.ok()) return cases.error();
  codec::Value items = codec::Value::Array(cases->size());
  for (const Case& c : *cases) items.Push(CaseJson(s, c));
  return ListOf(total, std::move(items));
}

Result<codec::Value> ApplicantCase(const Services& s, Call& call) {
  auto c = OwnCase(s, call, call.args[0]);
  if (!c.ok()) return c.error();
  return CaseJson(s, *c);
}

Result<codec::Value> ListCases(const Services& s, Call& call) {
  auto paging = PagingFrom(call);
  if (!paging.ok()) return paging.error();
  CaseFilter filter;
  filter.offset = paging->offset;
  filter.limit = paging->limit;
  if (std::string_view state = call.Query("state"); !state.empty()) {
    auto parsed = ParseCaseState(state);
    if (!parsed) return Error::InvalidArgument("state 不是已知的办件状态");
    filter.state = *parsed;
  }
  filter.orgcoding = std::string(call.Query("org"));
  if (filter.orgcoding.empty() && !call.actor.HasRole(kRoleSupervise)) {
    filter.orgcoding = call.actor.orgs.empty() ? std::string() : call.actor.orgs.front();
  }
  if (!call.actor.HasRole(kRoleSupervise) && !call.actor.InOrg(filter.orgcoding)) {
    return Error::PermissionDenied("只能查询本人所在机构的办件");
  }
  filter.implement_code = std::string(call.Query("implement_code"));
  filter.applicant_id = std::string(call.Query("applicant_id"));
  for (auto [name, out] : {std::pair{"from", &filter.from_ms}, std::pair{"to", &filter.to_ms}}) {
    std::string_view text = call.Query(name);
    if (!text.empty() && (!ParseInteger(text, out) || *out < 0)) {
      return Error::InvalidArgument(std::string(name) + " 应为毫秒时间戳");
    }
  }
  int64_t total = 0;
  auto cases = s.engine.Search(filter, &total);
  if (!cases.ok()) return cases.error();
  codec::Value items = codec::Value::Array(cases->size());
  for (const Case& c : *cases) items.Push(CaseJson(s, c));
  return ListOf(total, std::move(items));
}

Result<codec::Value> GetCase(const Services& s, Call& call) {
  auto c = VisibleCase(s, call, call.args[0]);
  if (!c.ok()) return c.error();
  return CaseJson(s, *c);
}

Result<codec::Value> CaseHistory(const Services& s, Call& call) {
  auto c = VisibleCase(s, call, call.args[0]);
  if (!c.ok()) return c.error();
  auto history = s.engine.History(call.args[0]);
  if (!history.ok()) return history.error();
  codec::Value items = codec::Value::Array(history->size());
  for (const StepRecord& r : *history) items.Push(StepRecordJson(r));
  return ListOf(static_cast<int64_t>(history->size()), std::move(items));
}

// 转办 hands the pending step to one user: they must exist, be active, hold
// the step's role in the approval app and belong to the step's org, or the
// case would wait on someone who can never act. The engine checks the caller.
Status CheckTransferTarget(const Services& s, const Call& call, const std::string& userid) {
  auto c = VisibleCase(s, call, call.args[0]);  // tells outsiders nothing about the directory
  if (!c.ok()) return c.error();
  if (c->pending_role.empty()) return Status::Ok();  // no step pending: the engine says 5101
  auto refuse = [](std::string message) {
    return Error{api_code::kBadTransferTarget, "不能转办：" + std::move(message)};
  };
  auto user = s.sso.directory.CachedUser(userid);
  if (!user.ok()) {
    const int why = user.error().code;
    if (why == directory::code::kUserReadNotFound || why == directory::code::kUserReadBadId ||
        why == errc::kNotFound) {
      return refuse("接办人 " + userid.substr(0, 64) + " 不存在");
    }
    return user.error();
  }
  const directory::User& u = **user;
  const std::string who = "接办人 " + u.username + "（" + u.userid + "）";
  if (!u.active()) return refuse(who + " 已停用或锁定");
  auto roles = s.sso.directory.UserRoles(u.userid, kAppCode);
  if (!roles.ok()) return roles.error();
  const bool has_role = std::any_of(roles->begin(), roles->end(), [&](const directory::Role& r) {
    return r.rolecode == c->pending_role;
  });
  if (!has_role) {
    return refuse(who + " 没有统一审批系统的「" + std::string(RoleLabel(c->pending_role)) +
                  "」角色");
  }
  bool in_org = u.orgcoding == c->pending_org;
  std::string_view extra = u.extendorgcoding;
  while (!in_org && !extra.empty()) {
    const size_t at = extra.find(';');
    in_org = extra.substr(0, at) == c->pending_org;
    extra = at == std::string_view::npos ? std::string_view() : extra.substr(at + 1);
  }
  if (!in_org) return refuse(who + " 不属于机构 " + c->pending_org);
  return Status::Ok();
}

Result<CompletionResult> ParseResult(const codec::Value& v) {
  static constexpr std::pair<std::string_view, CompletionResult> kNames[] = {
      {"approved", CompletionResult::kApproved},
      {"not_approved", CompletionResult::kNotApproved},
      {"returned", CompletionResult::kReturned},
      {"voided", CompletionResult::kVoided},
      {"forwarded", CompletionResult::kForwarded},
      {"correction_timeout", CompletionResult::kCorrectionTimeout},
  };
  std::string text = v.IsString() ? v.AsString() : v.IsInteger() ? v.ToText() : std::string();
  for (const auto& [name, result] : kNames) {
    if (text == name || text == std::to_string(static_cast<int>(result))) return result;
  }
  return Error::InvalidArgument(
      "result 应为 approved、not_approved、returned、voided、forwarded 或 correction_timeout");
}

Result<codec::Value> Act(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(CheckCaseNumber(call.args[0]));
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  Command command;
  auto action_name = TextMember(call.body, "action");
  if (!action_name.ok()) return action_name.error();
  auto action = ParseAction(*action_name);
  if (!action || *action == Action::kRegister || *action == Action::kRecompute ||
      *action == Action::kReported) {
    return Error::InvalidArgument("action 不是可执行的操作：" + *action_name);
  }
  command.action = *action;
  auto opinion = TextMember(call.body, "opinion");
  if (!opinion.ok()) return opinion.error();
  command.opinion = *opinion;
  if (const codec::Value* rev = call.body.Find("expected_revision"); rev && !rev->IsNull()) {
    if (!rev->IsInteger()) return Error::InvalidArgument("expected_revision 应为整数");
    command.expected_revision = rev->AsInteger();
  }
  auto attachments = TextListMember(call.body, "attachments");
  if (!attachments.ok()) return attachments.error();
  for (const std::string& sha : *attachments) {
    TB_RETURN_IF_ERROR(RequireReferableFile(s, call.actor, sha, "附件文件"));
  }
  command.attachments = std::move(*attachments);
  auto missing = TextListMember(call.body, "missing_materials");
  if (!missing.ok()) return missing.error();
  command.missing_materials = std::move(*missing);
  auto kind = TextMember(call.body, "suspension_kind");
  if (!kind.ok()) return kind.error();
  command.suspension_kind = *kind;
  if (const codec::Value* result = call.body.Find("result"); result && !result->IsNull()) {
    auto parsed = ParseResult(*result);
    if (!parsed.ok()) return parsed.error();
    command.result = *parsed;
  }
  auto to_user = TextMember(call.body, "to_user");
  if (!to_user.ok()) return to_user.error();
  command.to_user = *to_user;
  if (command.action == Action::kTransfer && !command.to_user.empty()) {
    TB_RETURN_IF_ERROR(CheckTransferTarget(s, call, command.to_user));
  }
  auto materials = MaterialsFromJson(s, call.actor, call.body.Find("materials"));
  if (!materials.ok()) return materials.error();
  command.materials = std::move(*materials);
  // Answered once the transition's group commit is done (engine.h).
  Answer answer = AnswerLater(call);
  const bool accept = command.action == Action::kAccept;
  s.engine.ActAsync(call.actor, call.args[0], command, [&s, answer, accept](Result<Case> acted) {
    if (!acted.ok()) return answer(std::move(acted).error());
    codec::Value out = CaseJson(s, *acted);
    // 受理 of a matter with fees raises the applicant's payment notice. After
    // the transition committed (on the engine's lane thread, outside its
    // transaction): a failure here leaves the case accepted and the clerk
    // raises it again (POST cases/:number/fees, idempotent).
    if (accept && s.raise_case_fees) {
      auto matter = s.matters.Version(acted->implement_code, acted->matter_version);
      if (matter.ok() && (*matter)->has_fee && !(*matter)->fees.empty()) {
        auto raised = s.raise_case_fees(*acted, **matter);
        if (raised.ok()) {
          out.Set("fees", std::move(*raised));
        } else {
          spdlog::warn("approval: case {} accepted, its fee notice not raised: {}", acted->number,
                       raised.error().message);
        }
      }
    }
    answer(std::move(out));
  });
  return codec::Value();
}

// 办件收费: the case's payment notices (raised on 受理 for a matter with fees).
Result<codec::Value> CaseFees(const Services& s, const Case& c) {
  if (!s.case_fee_notices) return Error::NotFound("本系统未接入统一公共支付");
  return s.case_fee_notices(c);
}

Result<codec::Value> GetCaseFees(const Services& s, Call& call) {
  auto c = VisibleCase(s, call, call.args[0]);
  if (!c.ok()) return c.error();
  return CaseFees(s, *c);
}

// Raises (again) the notice of an accepted case's fees: the intake or accept
// staff of the case's org.
Result<codec::Value> RaiseCaseFees(const Services& s, Call& call) {
  auto c = VisibleCase(s, call, call.args[0]);
  if (!c.ok()) return c.error();
  if (!(call.actor.HasRole(kRoleIntake) || call.actor.HasRole(kRoleAccept)) ||
      !call.actor.InOrg(c->orgcoding)) {
    return Error::PermissionDenied("只有本机构的收件或受理人员可以开具缴款单");
  }
  if (!s.raise_case_fees) return Error::NotFound("本系统未接入统一公共支付");
  if (c->accepted_at_ms == 0) return Error::Conflict("办件受理后才能开具缴款单");
  // (Refused and withdrawn cases were never accepted: the check above.)
  if (c->state == CaseState::kVoided) return Error::Conflict("办件已作废，不能开具缴款单");
  auto matter = s.matters.Version(c->implement_code, c->matter_version);
  if (!matter.ok()) return matter.error();
  if (!(*matter)->has_fee || (*matter)->fees.empty()) {
    return Error::Conflict("该事项不收费（事项未设置收费项目）");
  }
  return s.raise_case_fees(*c, **matter);
}

Result<codec::Value> ApplicantCaseFees(const Services& s, Call& call) {
  auto c = OwnCase(s, call, call.args[0]);
  if (!c.ok()) return c.error();
  return CaseFees(s, *c);
}

Result<codec::Value> Todo(const Services& s, Call& call) {
  auto paging = PagingFrom(call);
  if (!paging.ok()) return paging.error();
  int64_t total = 0;
  auto items = s.engine.Todo(call.actor, paging->offset, paging->limit, &total);
  if (!items.ok()) return items.error();
  codec::Value out = codec::Value::Array(items->size());
  for (const WorkItem& item : *items) out.Push(WorkItemJson(s, item));
  return ListOf(total, std::move(out));
}

Result<codec::Value> Done(const Services& s, Call& call) {
  auto paging = PagingFrom(call);
  if (!paging.ok()) return paging.error();
  auto items = s.engine.Done(call.actor, paging->offset, paging->limit);
  if (!items.ok()) return items.error();
  codec::Value out = codec::Value::Array(items->size());
  for (const WorkItem& item : *items) out.Push(WorkItemJson(s, item));
  return ListOf(static_cast<int64_t>(items->size()), std::move(out));
}

// ---- department systems (signed) ----

bool InScope(std::string_view orgcoding, std::string_view scope) {
  return !scope.empty() && orgcoding.starts_with(scope);
}

Result<codec::Value> ReportStages(const Services& s, Call& call) {
  auto records = ParseStageRecords(call.request.body());
  if (!records.ok()) {
    return Error::InvalidArgument("环节数据不合法：" + records.error().message);
  }
  if (records->empty()) return Error::InvalidArgument("请求体中没有环节数据");
  // The app reports only for matters of the orgs it serves, all or nothing.
  for (const StageRecord& record : *records) {
    std::string_view number = record.Field("SBLSH");
    TB_RETURN_IF_ERROR(CheckCaseNumber(number));
    auto matter = s.matters.Latest(number.substr(0, kImplementCodeLength));
    if (!matter.ok()) {
      if (matter.error().code == errc::kNotFound) {
        return Error{code::kMatterUnknown, "事项不存在：" + std::string(number.substr(0, kImplementCodeLength))};
      }
      return matter.error();
    }
    // An existing case keeps the org it was created with (its matter may have
    // moved since); the engine checks the same again in its transaction.
    std::string orgcoding = matter->orgcoding;
    if (auto existing = s.engine.Get(number); existing.ok()) orgcoding = existing->orgcoding;
    if (!InScope(orgcoding, call.system_scope)) {
      return Error::PermissionDenied("接入资源无权报送机构 " + orgcoding + " 的办件");
    }
  }
  // The engine applies one case's records at a time, all or none; a body may
  // carry several cases, each applied in the order its first record appears.
  std::vector<std::string> numbers;
  for (const StageRecord& record : *records) {
    std::string number(record.Field("SBLSH"));
    if (std::find(numbers.begin(), numbers.end(), number) == numbers.end()) {
      numbers.push_back(std::move(number));
    }
  }
  codec::Value items = codec::Value::Array(numbers.size());
  for (const std::string& number : numbers) {
    std::vector<StageRecord> of_case;
    for (const StageRecord& record : *records) {
      if (record.Field("SBLSH") == number) of_case.push_back(record);
    }
    auto reported = s.engine.Report(call.actor, call.system_scope, of_case);
    if (!reported.ok()) return reported.error();
    items.Push(CaseJson(s, *reported));
  }
  return ListOf(static_cast<int64_t>(numbers.size()), std::move(items));
}

Result<codec::Value> SystemCase(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(CheckCaseNumber(call.args[0]));
  auto c = s.engine.Get(call.args[0]);
  if (!c.ok()) return c.error();
  if (!InScope(c->orgcoding, call.system_scope)) {
    return Error{code::kCaseUnknown, "办件不存在"};  // outside its scope: not told it exists
  }
  auto history = s.engine.History(call.args[0]);
  if (!history.ok()) return history.error();
  codec::Value steps = codec::Value::Array(history->size());
  for (const StepRecord& r : *history) steps.Push(StepRecordJson(r));
  codec::Value out = CaseJson(s, *c);
  out.Set("history", std::move(steps));
  return out;
}

}  // namespace

void AddCaseRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "me", Access::kStaff, Me});
  routes.push_back({"POST", "cases", Access::kStaff, RegisterCase});
  routes.push_back({"GET", "cases", Access::kStaff, ListCases});
  routes.push_back({"GET", "cases/:number", Access::kStaff, GetCase});
  routes.push_back({"GET", "cases/:number/history", Access::kStaff, CaseHistory});
  routes.push_back({"GET", "cases/:number/fees", Access::kStaff, GetCaseFees});
  routes.push_back({"POST", "cases/:number/fees", Access::kStaff, RaiseCaseFees});
  routes.push_back({"POST", "cases/:number/actions", Access::kStaff, Act});
  routes.push_back({"POST", "files", Access::kStaff, UploadFile});
  routes.push_back({"GET", "files/:sha256", Access::kStaff, DownloadFile});
  // The hall's online application (网上申报) under the applicant's own SSO
  // session: the engine takes the matter only when it allows online
  // application, and records the channel as 1 (网上申报).
  routes.push_back({"GET", "applicant/me", Access::kApplicant, Me});
  routes.push_back({"POST", "applicant/files", Access::kApplicant, UploadFile});
  routes.push_back({"POST", "applicant/cases", Access::kApplicant, RegisterCase});
  // 我的办件: the applicant's own online applications and their materials.
  routes.push_back({"GET", "applicant/cases", Access::kApplicant, ApplicantCases});
  routes.push_back({"GET", "applicant/cases/:number", Access::kApplicant, ApplicantCase});
  routes.push_back({"GET", "applicant/cases/:number/fees", Access::kApplicant, ApplicantCaseFees});
  routes.push_back({"GET", "applicant/files/:sha256", Access::kApplicant, ApplicantDownload});
  routes.push_back({"GET", "todo", Access::kStaff, Todo});
  routes.push_back({"GET", "done", Access::kStaff, Done});
  routes.push_back({"POST", "system/stages", Access::kSystem, ReportStages});
  routes.push_back({"GET", "system/cases/:number", Access::kSystem, SystemCase});
}

}  // namespace tongban::approval
