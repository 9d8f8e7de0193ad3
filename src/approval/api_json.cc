// JSON shapes of the approval API (docs/api/approval.md "Objects") and the
// small request helpers every route file uses.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>

#include "approval/api_internal.h"

namespace tongban::approval {

bool ParseInteger(std::string_view text, int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

Result<Paging> PagingFrom(const Call& call) {
  int64_t page = 1, size = 20;
  std::string_view p = call.Query("page");
  std::string_view z = call.Query("size");
  if (!p.empty() && (!ParseInteger(p, &page) || page < 1 || page > 1'000'000)) {
    return Error::InvalidArgument("page 应为从 1 开始的页码");
  }
  if (!z.empty() && (!ParseInteger(z, &size) || size < 1 || size > 500)) {
    return Error::InvalidArgument("size 应在 1 到 500 之间");
  }
  return Paging{(page - 1) * size, size};
}

codec::Value ListOf(int64_t total, codec::Value items) {
  codec::Value out = codec::Value::Object(2);
  out.Set("total", total).Set("items", std::move(items));
  return out;
}

Result<std::string> TextMember(const codec::Value& object, std::string_view name,
                               std::string fallback) {
  if (!object.IsObject()) return fallback;
  const codec::Value* v = object.Find(name);
  if (v == nullptr || v->IsNull()) return fallback;
  if (v->IsString()) return v->AsString();
  if (v->IsNumber()) return v->ToText();
  return Error::InvalidArgument(std::string(name) + " 应为字符串");
}

Result<std::vector<std::string>> TextListMember(const codec::Value& object, std::string_view name) {
  std::vector<std::string> out;
  if (!object.IsObject()) return out;
  const codec::Value* v = object.Find(name);
  if (v == nullptr || v->IsNull()) return out;
  if (!v->IsArray()) return Error::InvalidArgument(std::string(name) + " 应为字符串数组");
  for (const codec::Value& item : v->items()) {
    if (!item.IsString()) return Error::InvalidArgument(std::string(name) + " 应为字符串数组");
    out.push_back(item.AsString());
  }
  return out;
}

Status RequireObjectBody(const Call& call) {
  if (!call.body.IsObject()) {
    return Error::InvalidArgument("请求体应为 JSON 对象（Content-Type: application/json）");
  }
  return Status::Ok();
}

codec::Value StringsJson(const std::vector<std::string>& items) {
  codec::Value out = codec::Value::Array(items.size());
  for (const std::string& item : items) out.Push(item);
  return out;
}

std::string FormatTime(int64_t at_ms) {
  if (at_ms == 0) return {};
  using namespace std::chrono;
  const sys_seconds t{seconds(at_ms / 1000 + 8 * 3600)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u %02ld:%02ld:%02ld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}

namespace {

std::string_view FormName(MaterialForm form) {
  switch (form) {
    case MaterialForm::kPaper:
      return "paper";
    case MaterialForm::kElectronic:
      return "electronic";
    case MaterialForm::kEither:
      return "either";
  }
  return "either";
}

Result<MaterialForm> ParseForm(std::string_view name) {
  if (name == "paper" || name == "纸质") return MaterialForm::kPaper;
  if (name == "electronic" || name == "电子") return MaterialForm::kElectronic;
  if (name == "either" || name.empty()) return MaterialForm::kEither;
  return Error::InvalidArgument("材料形式应为 paper、electronic 或 either");
}

codec::Value LimitJson(const TimeLimit& limit) {
  codec::Value v = codec::Value::Object(2);
  v.Set("amount", limit.amount).Set("unit", TimeUnitName(limit.unit));
  return v;
}

Result<TimeLimit> LimitFromJson(const codec::Value* v, std::string_view name) {
  TimeLimit limit;
  if (v == nullptr || v->IsNull()) return limit;
  if (!v->IsObject()) return Error::InvalidArgument(std::string(name) + " 应为 {amount, unit}");
  const codec::Value* amount = v->Find("amount");
  if (amount != nullptr && !amount->IsNull()) {
    if (!amount->IsInteger() || amount->AsInteger() < 0 || amount->AsInteger() > 100000) {
      return Error::InvalidArgument(std::string(name) + ".amount 应为非负整数");
    }
    limit.amount = static_cast<int>(amount->AsInteger());
  }
  auto unit = TextMember(*v, "unit", "workday");
  if (!unit.ok()) return unit.error();
  auto parsed = ParseTimeUnit(*unit);
  if (!parsed) {
    return Error::InvalidArgument(std::string(name) +
                                  ".unit 应为 workday、day、hour、month 或 year");
  }
  limit.unit = *parsed;
  return limit;
}

Result<bool> BoolMember(const codec::Value& v, std::string_view name, bool fallback) {
  const codec::Value* b = v.Find(name);
  if (b == nullptr || b->IsNull()) return fallback;
  if (!b->IsBool()) return Error::InvalidArgument(std::string(name) + " 应为 true 或 false");
  return b->AsBool();
}

Result<int64_t> IntMember(const codec::Value& v, std::string_view name, int64_t fallback) {
  const codec::Value* n = v.Find(name);
  if (n == nullptr || n->IsNull()) return fallback;
  if (n->IsInteger()) return n->AsInteger();
  int64_t parsed = 0;
  if (n->IsString() && ParseInteger(n->AsString(), &parsed)) return parsed;
  return Error::InvalidArgument(std::string(name) + " 应为整数");
}

// Moves a parsed member into place, or passes its error on.
template <typename T, typename U>
Status Assign(T& out, Result<U> parsed) {
  if (!parsed.ok()) return parsed.error();
  out = std::move(*parsed);
  return Status::Ok();
}

}  // namespace

codec::Value CaseJson(const Services& s, const Case& c) {
  const int64_t now = s.sso.clock.NowMillis();
  codec::Value applicant = codec::Value::Object(10);
  applicant.Set("type", c.applicant.type == ApplicantType::kPerson ? "person" : "legal_person")
      .Set("name", c.applicant.name)
      .Set("id_type", c.applicant.id_type)
      .Set("id_number", c.applicant.id_number)
      .Set("mobile", c.applicant.mobile)
      .Set("legal_representative", c.applicant.legal_representative)
      .Set("contact_name", c.applicant.contact_name)
      .Set("agent_name", c.applicant.agent_name)
      .Set("agent_id_number", c.applicant.agent_id_number)
      .Set("agent_mobile", c.applicant.agent_mobile);
  codec::Value materials = codec::Value::Array(c.materials.size());
  for (const CaseMaterial& m : c.materials) {
    codec::Value item = codec::Value::Object(6);
    item.Set("name", m.name)
        .Set("form", FormName(m.form))
        .Set("copies", m.copies)
        .Set("sha256", m.sha256)
        .Set("media_type", m.media_type)
        .Set("size", m.size);
    materials.Push(std::move(item));
  }
  codec::Value v = codec::Value::Object(32);
  v.Set("number", c.number)
      .Set("implement_code", c.implement_code)
      .Set("matter_version", c.matter_version)
      .Set("matter_name", c.matter_name)
      .Set("orgcoding", c.orgcoding)
      .Set("division", c.division)
      .Set("applicant", std::move(applicant))
      .Set("materials", std::move(materials))
      .Set("channel", c.channel)
      .Set("state", CaseStateName(c.state))
      .Set("current_step", c.current_step)
      .Set("pending_role", c.pending_role)
      .Set("pending_org", c.pending_org)
      .Set("pending_user", c.pending_user)
      .Set("corrections", c.corrections)
      .Set("registered_at", c.registered_at_ms)
      .Set("accepted_at", c.accepted_at_ms)
      .Set("completed_at", c.completed_at_ms)
      .Set("deadline", c.deadline_ms)
      .Set("deadline_text", FormatTime(c.deadline_ms))
      .Set("step_started_at", c.step_started_at_ms)
      .Set("step_deadline", c.step_deadline_ms)
      .Set("stopped_since", c.stopped_since_ms)
      .Set("stopped_working_days", c.stopped_working_days)
      .Set("result", c.result ? codec::Value(static_cast<int>(*c.result)) : codec::Value())
      .Set("result_reason", c.result_reason)
      .Set("reported", c.reported)
      .Set("revision", c.revision)
      .Set("case_light", LightName(s.engine.CaseLight(c, now)))
      .Set("step_light", LightName(s.engine.StepLight(c, now)));
  return v;
}

codec::Value StepRecordJson(const StepRecord& r) {
  codec::Value v = codec::Value::Object(14);
  v.Set("id", r.id)
      .Set("action", ActionName(r.action))
      .Set("step_code", r.step_code)
      .Set("step_name", r.step_name)
      .Set("userid", r.userid)
      .Set("username", r.username)
      .Set("orgcoding", r.orgcoding)
      .Set("opinion", r.opinion)
      .Set("detail", r.detail)
      .Set("attachments", StringsJson(r.attachments))
      .Set("from_state", r.from_state)
      .Set("to_state", r.to_state)
      .Set("at", r.at_ms)
      .Set("at_text", FormatTime(r.at_ms));
  return v;
}

codec::Value MatterJson(const Matter& m) {
  codec::Value materials = codec::Value::Array(m.materials.size());
  for (const MatterMaterial& item : m.materials) {
    codec::Value v = codec::Value::Object(5);
    v.Set("name", item.name)
        .Set("required", item.required)
        .Set("form", FormName(item.form))
        .Set("copies", item.copies)
        .Set("template_sha256", item.template_sha256);
    materials.Push(std::move(v));
  }
  codec::Value steps = codec::Value::Array(m.steps.size());
  for (const MatterStep& step : m.steps) {
    codec::Value v = codec::Value::Object(5);
    v.Set("code", step.code)
        .Set("name", step.name)
        .Set("role", step.role)
        .Set("org", step.org)
        .Set("limit", LimitJson(step.limit));
    steps.Push(std::move(v));
  }
  codec::Value fees = codec::Value::Array(m.fees.size());
  for (const MatterFee& fee : m.fees) {
    codec::Value v = codec::Value::Object(2);
    v.Set("item_code", fee.item_code).Set("amount_fen", fee.amount_fen);
    fees.Push(std::move(v));
  }
  codec::Value v = codec::Value::Object(21);
  v.Set("basic_code", m.basic_code)
      .Set("implement_code", m.implement_code)
      .Set("item_code", m.item_code)
      .Set("name", m.name)
      .Set("type", MatterTypeName(m.type))
      .Set("orgcoding", m.orgcoding)
      .Set("division", m.division)
      .Set("version", m.version)
      .Set("enabled", m.enabled)
      .Set("legal_limit", LimitJson(m.legal_limit))
      .Set("promised_limit", LimitJson(m.promised_limit))
      .Set("kind", static_cast<int>(m.kind))
      .Set("has_fee", m.has_fee)
      .Set("fees", std::move(fees))
      .Set("online", m.online)
      .Set("online_min_authlevel", m.online_min_authlevel)
      .Set("guide", m.guide)
      .Set("materials", std::move(materials))
      .Set("steps", std::move(steps))
      .Set("updated_at", m.updated_at_ms);
  return v;
}

Result<Matter> MatterFromJson(const codec::Value& v) {
  if (!v.IsObject()) return Error::InvalidArgument("事项应为 JSON 对象");
  Matter m;
  TB_RETURN_IF_ERROR(Assign(m.basic_code, TextMember(v, "basic_code")));
  TB_RETURN_IF_ERROR(Assign(m.implement_code, TextMember(v, "implement_code")));
  TB_RETURN_IF_ERROR(Assign(m.item_code, TextMember(v, "item_code")));
  TB_RETURN_IF_ERROR(Assign(m.name, TextMember(v, "name")));
  TB_RETURN_IF_ERROR(Assign(m.orgcoding, TextMember(v, "orgcoding")));
  TB_RETURN_IF_ERROR(Assign(m.division, TextMember(v, "division")));
  TB_RETURN_IF_ERROR(Assign(m.guide, TextMember(v, "guide")));
  std::string type;
  TB_RETURN_IF_ERROR(Assign(type, TextMember(v, "type", "licence")));
  auto parsed_type = ParseMatterType(type);
  if (!parsed_type) {
    return Error::InvalidArgument("type 应为 licence、confirmation、payment、other 或 service");
  }
  m.type = *parsed_type;
  TB_RETURN_IF_ERROR(Assign(m.legal_limit, LimitFromJson(v.Find("legal_limit"), "legal_limit")));
  TB_RETURN_IF_ERROR(
      Assign(m.promised_limit, LimitFromJson(v.Find("promised_limit"), "promised_limit")));
  int64_t kind = 2;
  TB_RETURN_IF_ERROR(Assign(kind, IntMember(v, "kind", 2)));
  if (kind < 1 || kind > 4) return Error::InvalidArgument("kind（办件类型）应为 1 到 4");
  m.kind = static_cast<CaseKind>(kind);
  TB_RETURN_IF_ERROR(Assign(m.has_fee, BoolMember(v, "has_fee", false)));
  if (const codec::Value* list = v.Find("fees"); list != nullptr && !list->IsNull()) {
    if (!list->IsArray()) return Error::InvalidArgument("fees 应为数组");
    for (const codec::Value& item : list->items()) {
      if (!item.IsObject()) return Error::InvalidArgument("fees 的每一项应为对象");
      MatterFee fee;
      TB_RETURN_IF_ERROR(Assign(fee.item_code, TextMember(item, "item_code")));
      TB_RETURN_IF_ERROR(Assign(fee.amount_fen, IntMember(item, "amount_fen", 0)));
      m.fees.push_back(std::move(fee));
    }
  }
  TB_RETURN_IF_ERROR(Assign(m.online, BoolMember(v, "online", false)));
  int64_t min_level = 0;
  TB_RETURN_IF_ERROR(Assign(min_level, IntMember(v, "online_min_authlevel", 0)));
  if (min_level < 0 || min_level > 3) {
    return Error::InvalidArgument("online_min_authlevel（网上申报最低实名等级）应为 0 到 3");
  }
  m.online_min_authlevel = static_cast<int>(min_level);
  TB_RETURN_IF_ERROR(Assign(m.enabled, BoolMember(v, "enabled", true)));
  if (const codec::Value* list = v.Find("materials"); list != nullptr && !list->IsNull()) {
    if (!list->IsArray()) return Error::InvalidArgument("materials 应为数组");
    for (const codec::Value& item : list->items()) {
      if (!item.IsObject()) return Error::InvalidArgument("materials 的每一项应为对象");
      MatterMaterial material;
      TB_RETURN_IF_ERROR(Assign(material.name, TextMember(item, "name")));
      TB_RETURN_IF_ERROR(Assign(material.required, BoolMember(item, "required", true)));
      std::string form;
      TB_RETURN_IF_ERROR(Assign(form, TextMember(item, "form")));
      TB_RETURN_IF_ERROR(Assign(material.form, ParseForm(form)));
      int64_t copies = 1;
      TB_RETURN_IF_ERROR(Assign(copies, IntMember(item, "copies", 1)));
      if (copies < 0 || copies > 1000) return Error::InvalidArgument("copies 应在 0 到 1000 之间");
      material.copies = static_cast<int>(copies);
      TB_RETURN_IF_ERROR(Assign(material.template_sha256, TextMember(item, "template_sha256")));
      m.materials.push_back(std::move(material));
    }
  }
  if (const codec::Value* list = v.Find("steps"); list != nullptr && !list->IsNull()) {
    if (!list->IsArray()) return Error::InvalidArgument("steps 应为数组");
    for (const codec::Value& item : list->items()) {
      if (!item.IsObject()) return Error::InvalidArgument("steps 的每一项应为对象");
      MatterStep step;
      TB_RETURN_IF_ERROR(Assign(step.code, TextMember(item, "code")));
      TB_RETURN_IF_ERROR(Assign(step.name, TextMember(item, "name")));
      TB_RETURN_IF_ERROR(Assign(step.role, TextMember(item, "role")));
      TB_RETURN_IF_ERROR(Assign(step.org, TextMember(item, "org")));
      TB_RETURN_IF_ERROR(Assign(step.limit, LimitFromJson(item.Find("limit"), "limit")));
      m.steps.push_back(std::move(step));
    }
  }
  return m;
}

Result<Applicant> ApplicantFromJson(const codec::Value& v) {
  if (!v.IsObject()) return Error{code::kBadApplicant, "applicant 应为 JSON 对象"};
  Applicant a;
  std::string type;
  TB_RETURN_IF_ERROR(Assign(type, TextMember(v, "type", "person")));
  if (type == "person" || type == "1") {
    a.type = ApplicantType::kPerson;
  } else if (type == "legal_person" || type == "2") {
    a.type = ApplicantType::kLegalPerson;
  } else {
    return Error{code::kBadApplicant, "applicant.type 应为 person 或 legal_person"};
  }
  TB_RETURN_IF_ERROR(Assign(a.name, TextMember(v, "name")));
  TB_RETURN_IF_ERROR(
      Assign(a.id_type, TextMember(v, "id_type", a.type == ApplicantType::kPerson ? "10" : "49")));
  TB_RETURN_IF_ERROR(Assign(a.id_number, TextMember(v, "id_number")));
  TB_RETURN_IF_ERROR(Assign(a.mobile, TextMember(v, "mobile")));
  TB_RETURN_IF_ERROR(Assign(a.legal_representative, TextMember(v, "legal_representative")));
  TB_RETURN_IF_ERROR(Assign(a.contact_name, TextMember(v, "contact_name")));
  TB_RETURN_IF_ERROR(Assign(a.agent_name, TextMember(v, "agent_name")));
  TB_RETURN_IF_ERROR(Assign(a.agent_id_number, TextMember(v, "agent_id_number")));
  TB_RETURN_IF_ERROR(Assign(a.agent_mobile, TextMember(v, "agent_mobile")));
  return a;
}

Status RequireReferableFile(const Services& s, const Actor& actor, std::string_view sha256,
                            std::string_view what) {
  auto may = s.engine.MayReferenceFile(actor, sha256);
  if (!may.ok()) return may.error();
  if (!*may || !s.files.Stat(sha256).ok()) {
    return Error{code::kBadMaterial, std::string(what) + "不存在：" + std::string(sha256)};
  }
  return Status::Ok();
}

Result<std::vector<CaseMaterial>> MaterialsFromJson(const Services& s, const Actor& actor,
                                                    const codec::Value* v) {
  std::vector<CaseMaterial> out;
  if (v == nullptr || v->IsNull()) return out;
  if (!v->IsArray()) return Error{code::kBadMaterial, "materials 应为数组"};
  for (const codec::Value& item : v->items()) {
    if (!item.IsObject()) return Error{code::kBadMaterial, "materials 的每一项应为对象"};
    CaseMaterial m;
    TB_RETURN_IF_ERROR(Assign(m.name, TextMember(item, "name")));
    if (m.name.empty()) return Error{code::kBadMaterial, "材料名称不能为空"};
    std::string form;
    TB_RETURN_IF_ERROR(Assign(form, TextMember(item, "form", "paper")));
    TB_RETURN_IF_ERROR(Assign(m.form, ParseForm(form)));
    int64_t copies = 0;
    TB_RETURN_IF_ERROR(Assign(copies, IntMember(item, "copies", 0)));
    if (copies < 0 || copies > 1000) return Error{code::kBadMaterial, "copies 应在 0 到 1000 之间"};
    m.copies = static_cast<int>(copies);
    TB_RETURN_IF_ERROR(Assign(m.sha256, TextMember(item, "sha256")));
    if (m.form == MaterialForm::kElectronic || !m.sha256.empty()) {
      if (m.sha256.empty()) return Error{code::kBadMaterial, "电子材料须先上传文件（sha256）"};
      const std::string what = "材料「" + m.name + "」的文件";
      TB_RETURN_IF_ERROR(RequireReferableFile(s, actor, m.sha256, what));
      auto stored = s.files.Stat(m.sha256);
      if (!stored.ok()) return Error{code::kBadMaterial, what + "不存在：" + m.sha256};
      m.form = MaterialForm::kElectronic;
      m.media_type = stored->media_type;
      m.size = stored->size;
    }
    out.push_back(std::move(m));
  }
  return out;
}

Status RequireMatterAdmin(const Actor& actor, std::string_view orgcoding) {
  if (actor.HasRole(kRoleMatterAdmin) && actor.InOrg(orgcoding)) return Status::Ok();
  return Error::PermissionDenied("需要该机构（" + std::string(orgcoding) + "）的事项管理角色");
}

Status RequireCaseVisible(const Actor& actor, const Case& c) {
  if (actor.kind == Actor::Kind::kStaff &&
      (actor.HasRole(kRoleSupervise) || actor.InOrg(c.orgcoding) || actor.InOrg(c.pending_org))) {
    return Status::Ok();
  }
  return Error::PermissionDenied("无权查看该办件：它不属于您所在的机构");
}

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<codec::Value> WriteStoredFile(const Services& s, Call& call, const std::string& sha256) {
  if (!IsSha256Hex(sha256)) {
    return Error::InvalidArgument("文件标识应为 64 位小写十六进制 SHA-256");
  }
  auto stat = s.files.Stat(sha256);
  if (!stat.ok()) {
    if (stat.error().code == errc::kNotFound) return Error::NotFound("文件不存在");
    return stat.error();
  }
  auto bytes = s.files.Get(sha256);
  if (!bytes.ok()) {
    if (bytes.error().code == errc::kNotFound) return Error::NotFound("文件不存在");
    return bytes.error();
  }
  call.response.set_status(200);
  // The type sniffed when it was stored, never one a client declared; the
  // API's X-Content-Type-Options: nosniff (api.cc) keeps browsers to it.
  call.response.set_content_type(stat->media_type);
  call.response.AddHeader("Content-Disposition", "attachment; filename=\"" + sha256 + "\"");
  call.response.set_body(std::move(*bytes));
  call.wrote_response = true;
  return codec::Value();
}

}  // namespace tongban::approval
