#include "approval/matters.h"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "codec/csv.h"
#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"
#include "codec/xlsx.h"
#include "core/utf8.h"
#include "directory/validators.h"
#include "store/sql_dialect.h"

namespace tongban::approval {
namespace {

// Lock class of the per-implement-code lock that serialises Save ("ma"): two
// saves of one matter must not both read version n and both write n + 1.
constexpr int kSaveLockClass = 0x6D61;

constexpr size_t kMaxNameChars = 200;
constexpr size_t kMaxGuideBytes = 64 * 1024;
constexpr size_t kMaxMaterials = 200;
constexpr size_t kMaxSteps = 50;
constexpr int kMaxCopies = 99;
constexpr size_t kMaxStepCodeChars = 8;
constexpr size_t kMaxItemCodeChars = 64;
// Versions are immutable, so the cache never goes stale; the bound only keeps a
// catalogue edited for years from growing the process without limit.
constexpr size_t kMaxCachedVersions = 20'000;

// approval_matters: one row per matter (its latest version, and the switch
// 启用/停用 that belongs to the matter, not to a version), the table List and
// SetEnabled work on. approval_matter_versions: every version ever saved,
// never updated, the materials and steps as JSON (matters.cc's MaterialsJson /
// StepsJson).
constexpr const char* kSchema = R"sql(
CREATE TABLE approval_matters (
  implement_code {KEY} PRIMARY KEY,
  latest_version INTEGER NOT NULL,
  basic_code {KEY} NOT NULL,
  name {KEY} NOT NULL,
  orgcoding {KEY} NOT NULL,
  enabled INTEGER NOT NULL,
  updated_at BIGINT NOT NULL
){END};
CREATE INDEX approval_matters_by_org ON approval_matters (orgcoding, implement_code);
CREATE INDEX approval_matters_by_name ON approval_matters (name);

CREATE TABLE approval_matter_versions (
  implement_code {KEY} NOT NULL,
  version INTEGER NOT NULL,
  basic_code {KEY} NOT NULL,
  item_code {TEXT} NOT NULL,
  name {TEXT} NOT NULL,
  matter_type {TEXT} NOT NULL,
  orgcoding {KEY} NOT NULL,
  division {TEXT} NOT NULL,
  enabled INTEGER NOT NULL,
  legal_amount INTEGER NOT NULL,
  legal_unit {TEXT} NOT NULL,
  promised_amount INTEGER NOT NULL,
  promised_unit {TEXT} NOT NULL,
  kind INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  guide {TEXT} NOT NULL,
  materials {TEXT} NOT NULL,
  steps {TEXT} NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (implement_code, version)
){END};
)sql";

// flags bits.
constexpr int kFlagHasFee = 1;
constexpr int kFlagOnline = 2;
// Bits 2-3: online_min_authlevel (0..3), so old rows read 0 (no minimum).
constexpr int kMinLevelShift = 2;
constexpr int kMinLevelMask = 3;

bool IsCodeChar(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The largest amount of each unit a limit may have: ten years' worth, so a
// typo (2000 instead of 20) is caught instead of promising a deadline nobody meets.
int MaxAmount(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kWorkingDays:
      return 2500;
    case TimeUnit::kNaturalDays:
      return 3650;
    case TimeUnit::kHours:
      return 87600;
    case TimeUnit::kMonths:
      return 120;
    case TimeUnit::kYears:
      return 10;
  }
  return 0;
}

std::string_view MaterialFormName(MaterialForm form) {
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

std::optional<MaterialForm> ParseMaterialForm(std::string_view name) {
  if (name == "paper" || name == "纸质") return MaterialForm::kPaper;
  if (name == "electronic" || name == "电子") return MaterialForm::kElectronic;
  if (name == "either" || name == "纸质或电子" || name == "均可") return MaterialForm::kEither;
  return std::nullopt;
}

std::optional<CaseKind> ParseCaseKind(std::string_view name) {
  if (name == "1" || name == "即办件" || name == "immediate") return CaseKind::kImmediate;
  if (name == "2" || name == "承诺件" || name == "promised") return CaseKind::kPromised;
  if (name == "3" || name == "联办件" || name == "joint") return CaseKind::kJoint;
  if (name == "4" || name == "上报件" || name == "reported") return CaseKind::kReported;
  return std::nullopt;
}

std::optional<bool> ParseFlag(std::string_view text) {
  for (std::string_view yes : {"1", "true", "yes", "y", "是", "启用"}) {
    if (text == yes) return true;
  }
  for (std::string_view no : {"0", "false", "no", "n", "否", "停用"}) {
    if (text == no) return false;
  }
  return std::nullopt;
}

// The roles that may handle a step. 收件, 监察 and 事项管理 are duties around
// cases, not steps of one.
bool IsStepRole(std::string_view role) {
  return role == kRoleAccept || role == kRoleUndertake || role == kRoleReview ||
         role == kRoleApprove;
}

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(),
                                       [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); });
}

// A broken rule of CheckMatter: the field (the CSV column name) and what is wrong.
struct FieldError {
  std::string field;
  std::string message;
};

std::optional<FieldError> CheckLimit(const char* field, const TimeLimit& limit) {
  if (limit.amount < 0) return FieldError{field, "must not be negative"};
  if (limit.amount > MaxAmount(limit.unit)) {
    return FieldError{field, "more than " + std::to_string(MaxAmount(limit.unit)) + " " +
                                 std::string(TimeUnitName(limit.unit))};
  }
  return std::nullopt;
}

std::optional<FieldError> FindMatterError(const Matter& m) {
  if (Status s = CheckImplementCode(m.implement_code); !s.ok()) {
    return FieldError{"implement_code", s.error().message};
  }
  if (Status s = CheckBasicCode(m.basic_code); !s.ok()) {
    return FieldError{"basic_code", s.error().message};
  }
  if (std::string_view(m.implement_code).substr(19) != m.basic_code) {
    return FieldError{"basic_code", "is not the last 12 characters of the implement code"};
  }
  if (m.item_code.size() > kMaxItemCodeChars ||
      !std::all_of(m.item_code.begin(), m.item_code.end(),
                   [](char c) { return IsCodeChar(c) || c == '-'; })) {
    return FieldError{"item_code", "at most 64 digits, upper-case letters and '-'"};
  }
  if (m.name.empty()) return FieldError{"name", "is empty"};
  if (m.online_min_authlevel < 0 || m.online_min_authlevel > 3) {
    return FieldError{"online_min_authlevel", "must be 0, 1, 2 or 3"};
  }
  if (!IsValidUtf8(m.name)) return FieldError{"name", "is not UTF-8 text"};
  if (Utf8Chars(m.name) > kMaxNameChars) return FieldError{"name", "longer than 200 characters"};
  if (MatterTypeName(m.type).empty()) return FieldError{"type", "unknown matter type"};
  if (!directory::IsValidOrgCoding(m.orgcoding)) {
    return FieldError{"orgcoding", "not an orgcoding (3 digits a level)"};
  }
  if (Status s = CheckDivisionCode(m.division); !s.ok()) {
    return FieldError{"division", s.error().message};
  }
  if (m.version < 1) return FieldError{"version", "must be at least 1"};
  if (auto e = CheckLimit("legal_limit", m.legal_limit)) return e;
  if (auto e = CheckLimit("promised_limit", m.promised_limit)) return e;
  if (m.legal_limit.amount > 0 && m.promised_limit.amount > m.legal_limit.amount &&
      m.legal_limit.unit == m.promised_limit.unit) {
    return FieldError{"promised_limit", "longer than the legal limit"};
  }
  int kind = static_cast<int>(m.kind);
  if (kind < 1 || kind > 4) return FieldError{"kind", "must be 1, 2, 3 or 4"};
  if (!m.fees.empty() && !m.has_fee) return FieldError{"fees", "need has_fee"};
  if (m.fees.size() > 50) return FieldError{"fees", "more than 50"};
  for (size_t i = 0; i < m.fees.size(); ++i) {
    const MatterFee& f = m.fees[i];
    std::string where = "fee " + std::to_string(i + 1) + ": ";
    if (f.item_code.empty() || f.item_code.size() > 32 ||
        !std::all_of(f.item_code.begin(), f.item_code.end(), IsCodeChar)) {
      return FieldError{"fees", where + "item_code must be 1 to 32 digits or upper-case letters"};
    }
    if (f.amount_fen <= 0 || f.amount_fen > 100'000'000'000) {
      return FieldError{"fees", where + "amount_fen must be 1 to 100000000000"};
    }
    for (size_t j = 0; j < i; ++j) {
      if (m.fees[j].item_code == f.item_code) {
        return FieldError{"fees", where + "item_code '" + f.item_code + "' repeats"};
      }
    }
  }
  if (m.guide.size() > kMaxGuideBytes) return FieldError{"guide", "longer than 64 KiB"};
  if (!IsValidUtf8(m.guide)) return FieldError{"guide", "is not UTF-8 text"};

  if (m.materials.size() > kMaxMaterials) return FieldError{"materials", "more than 200"};
  std::set<std::string_view> material_names;
  for (size_t i = 0; i < m.materials.size(); ++i) {
    const MatterMaterial& mat = m.materials[i];
    std::string where = "material " + std::to_string(i + 1) + ": ";
    if (mat.name.empty()) return FieldError{"materials", where + "name is empty"};
    if (!IsValidUtf8(mat.name) || Utf8Chars(mat.name) > kMaxNameChars) {
      return FieldError{"materials", where + "name is not text of at most 200 characters"};
    }
    if (!material_names.insert(mat.name).second) {
      return FieldError{"materials", where + "name '" + mat.name + "' repeats"};
    }
    if (mat.copies < 0 || mat.copies > kMaxCopies) {
      return FieldError{"materials", where + "copies must be 0 to 99"};
    }
    if (!mat.template_sha256.empty() && !IsSha256Hex(mat.template_sha256)) {
      return FieldError{"materials", where + "template is not a lower-case SHA-256 hex digest"};
    }
  }

  if (m.steps.empty()) return FieldError{"steps", "a matter needs at least one step"};
  if (m.steps.size() > kMaxSteps) return FieldError{"steps", "more than 50"};
  std::set<std::string_view> step_codes;
  for (size_t i = 0; i < m.steps.size(); ++i) {
    const MatterStep& step = m.steps[i];
    std::string where = "step " + std::to_string(i + 1) + ": ";
    if (step.code.empty() || step.code.size() > kMaxStepCodeChars ||
        !std::all_of(step.code.begin(), step.code.end(), IsCodeChar)) {
      return FieldError{"steps", where + "code must be 1 to 8 digits or upper-case letters"};
    }
    if (!step_codes.insert(step.code).second) {
      return FieldError{"steps", where + "code '" + step.code + "' repeats"};
    }
    if (step.name.empty() || !IsValidUtf8(step.name) || Utf8Chars(step.name) > kMaxNameChars) {
      return FieldError{"steps", where + "name must be text of 1 to 200 characters"};
    }
    if (!IsStepRole(step.role)) {
      return FieldError{"steps", where + "role must be accept, undertake, review or approve"};
    }
    if (!step.org.empty() && !directory::IsValidOrgCoding(step.org)) {
      return FieldError{"steps", where + "org is not an orgcoding"};
    }
    if (auto e = CheckLimit("steps", step.limit)) {
      return FieldError{"steps", where + "limit " + e->message};
    }
  }
  return std::nullopt;
}

// ---- JSON of materials and steps (the versions table and the CSV columns) ----

codec::Value MaterialsJson(const std::vector<MatterMaterial>& materials) {
  codec::Value out = codec::Value::Array(materials.size());
  for (const MatterMaterial& m : materials) {
    codec::Value item = codec::Value::Object(5);
    item.AppendNew("name", m.name);
    item.AppendNew("required", m.required);
    item.AppendNew("form", MaterialFormName(m.form));
    item.AppendNew("copies", m.copies);
    if (!m.template_sha256.empty()) item.AppendNew("template", m.template_sha256);
    out.Push(std::move(item));
  }
  return out;
}

codec::Value StepsJson(const std::vector<MatterStep>& steps) {
  codec::Value out = codec::Value::Array(steps.size());
  for (const MatterStep& s : steps) {
    codec::Value item = codec::Value::Object(6);
    item.AppendNew("code", s.code);
    item.AppendNew("name", s.name);
    item.AppendNew("role", s.role);
    if (!s.org.empty()) item.AppendNew("org", s.org);
    item.AppendNew("limit", s.limit.amount);
    item.AppendNew("unit", TimeUnitName(s.limit.unit));
    out.Push(std::move(item));
  }
  return out;
}

codec::Value FeesJson(const std::vector<MatterFee>& fees) {
  codec::Value out = codec::Value::Array(fees.size());
  for (const MatterFee& f : fees) {
    codec::Value item = codec::Value::Object(2);
    item.AppendNew("item_code", f.item_code);
    item.AppendNew("amount_fen", f.amount_fen);
    out.Push(std::move(item));
  }
  return out;
}

// Reads an optional member of a JSON object, with the type the key wants.
// Numbers may be given as strings ("5"), as spreadsheet users write them.
Result<std::string> JsonText(const codec::Value& object, std::string_view key) {
  const codec::Value* v = object.Find(key);
  if (v == nullptr || v->IsNull()) return std::string();
  if (v->IsString()) return v->AsString();
  if (v->IsInteger()) return v->ToText();
  return Error::InvalidArgument("\"" + std::string(key) + "\" must be text");
}

Result<int> JsonInt(const codec::Value& object, std::string_view key, int fallback) {
  const codec::Value* v = object.Find(key);
  if (v == nullptr || v->IsNull()) return fallback;
  int64_t n = 0;
  if (v->IsInteger()) {
    n = v->AsInteger();
  } else if (v->IsString() && !v->AsString().empty() && v->AsString().size() <= 9 &&
             std::all_of(v->AsString().begin(), v->AsString().end(), IsDigit)) {
    n = std::stoll(v->AsString());
  } else {
    return Error::InvalidArgument("\"" + std::string(key) + "\" must be a whole number");
  }
  if (n < -1'000'000'000 || n > 1'000'000'000) {
    return Error::InvalidArgument("\"" + std::string(key) + "\" is out of range");
  }
  return static_cast<int>(n);
}

Result<bool> JsonBool(const codec::Value& object, std::string_view key, bool fallback) {
  const codec::Value* v = object.Find(key);
  if (v == nullptr || v->IsNull()) return fallback;
  if (v->IsBool()) return v->AsBool();
  if (v->IsInteger() && (v->AsInteger() == 0 || v->AsInteger() == 1)) return v->AsInteger() == 1;
  if (v->IsString()) {
    if (auto flag = ParseFlag(v->AsString())) return *flag;
  }
  return Error::InvalidArgument("\"" + std::string(key) + "\" must be true or false");
}

Status CheckKeys(const codec::Value& object, std::initializer_list<std::string_view> known) {
  for (const codec::Member& member : object.members()) {
    if (std::find(known.begin(), known.end(), member.key) == known.end()) {
      return Error::InvalidArgument("unknown key \"" + member.key.substr(0, 40) + "\"");
    }
  }
  return Status::Ok();
}

Result<std::vector<MatterMaterial>> ParseMaterials(std::string_view json) {
  std::vector<MatterMaterial> out;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  auto parsed = codec::ParseJson(json);
  if (!parsed.ok()) return std::move(parsed).error();
  if (!parsed->IsArray()) return Error::InvalidArgument("must be a JSON array of objects");
  for (const codec::Value& item : parsed->items()) {
    std::string where = "material " + std::to_string(out.size() + 1) + ": ";
    auto fail = [&](const Error& e) { return Error::InvalidArgument(where + e.message); };
    if (!item.IsObject()) return Error::InvalidArgument(where + "not a JSON object");
    if (Status s = CheckKeys(item, {"name", "required", "form", "copies", "template"}); !s.ok()) {
      return fail(s.error());
    }
    MatterMaterial m;
    auto name = JsonText(item, "name");
    if (!name.ok()) return fail(name.error());
    m.name = std::move(*name);
    auto required = JsonBool(item, "required", true);
    if (!required.ok()) return fail(required.error());
    m.required = *required;
    auto form = JsonText(item, "form");
    if (!form.ok()) return fail(form.error());
    if (!form->empty()) {
      auto parsed_form = ParseMaterialForm(*form);
      if (!parsed_form) {
        return Error::InvalidArgument(where + "form must be paper, electronic or either");
      }
      m.form = *parsed_form;
    }
    auto copies = JsonInt(item, "copies", 1);
    if (!copies.ok()) return fail(copies.error());
    m.copies = *copies;
    auto sha = JsonText(item, "template");
    if (!sha.ok()) return fail(sha.error());
    m.template_sha256 = std::move(*sha);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<MatterFee>> ParseFees(std::string_view json) {
  std::vector<MatterFee> out;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  auto parsed = codec::ParseJson(json);
  if (!parsed.ok()) return std::move(parsed).error();
  if (!parsed->IsArray()) return Error::InvalidArgument("must be a JSON array of objects");
  for (const codec::Value& item : parsed->items()) {
    std::string where = "fee " + std::to_string(out.size() + 1) + ": ";
    if (!item.IsObject()) return Error::InvalidArgument(where + "not a JSON object");
    if (Status s = CheckKeys(item, {"item_code", "amount_fen"}); !s.ok()) {
      return Error::InvalidArgument(where + s.error().message);
    }
    MatterFee fee;
    auto code = JsonText(item, "item_code");
    if (!code.ok()) return Error::InvalidArgument(where + code.error().message);
    fee.item_code = std::move(*code);
    const codec::Value* amount = item.Find("amount_fen");
    if (amount == nullptr || !amount->IsInteger()) {
      return Error::InvalidArgument(where + "amount_fen must be a whole number of fen");
    }
    fee.amount_fen = amount->AsInteger();
    out.push_back(std::move(fee));
  }
  return out;
}

Result<std::vector<MatterStep>> ParseSteps(std::string_view json) {
  std::vector<MatterStep> out;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  auto parsed = codec::ParseJson(json);
  if (!parsed.ok()) return std::move(parsed).error();
  if (!parsed->IsArray()) return Error::InvalidArgument("must be a JSON array of objects");
  for (const codec::Value& item : parsed->items()) {
    std::string where = "step " + std::to_string(out.size() + 1) + ": ";
    auto fail = [&](const Error& e) { return Error::InvalidArgument(where + e.message); };
    if (!item.IsObject()) return Error::InvalidArgument(where + "not a JSON object");
    if (Status s = CheckKeys(item, {"code", "name", "role", "org", "limit", "unit"}); !s.ok()) {
      return fail(s.error());
    }
    MatterStep step;
    for (auto [key, field] : {std::pair<std::string_view, std::string*>{"code", &step.code},
                              {"name", &step.name},
                              {"role", &step.role},
                              {"org", &step.org}}) {
      auto text = JsonText(item, key);
      if (!text.ok()) return fail(text.error());
      *field = std::move(*text);
    }
    auto limit = JsonInt(item, "limit", 0);
    if (!limit.ok()) return fail(limit.error());
    step.limit.amount = *limit;
    auto unit = JsonText(item, "unit");
    if (!unit.ok()) return fail(unit.error());
    if (!unit->empty()) {
      auto parsed_unit = ParseTimeUnit(*unit);
      if (!parsed_unit) return Error::InvalidArgument(where + "unknown unit '" + *unit + "'");
      step.limit.unit = *parsed_unit;
    }
    out.push_back(std::move(step));
  }
  return out;
}

// ---- rows of the versions table ----

constexpr const char* kVersionColumns =
    "v.implement_code, v.version, v.basic_code, v.item_code, v.name, v.matter_type, v.orgcoding, "
    "v.division, v.enabled, v.legal_amount, v.legal_unit, v.promised_amount, v.promised_unit, "
    "v.kind, v.flags, v.guide, v.materials, v.steps, v.updated_at, COALESCE(v.fees, '')";

struct VersionRow {
  std::string implement_code, basic_code, item_code, name, type, orgcoding, division;
  int version = 0, enabled = 0, legal_amount = 0, promised_amount = 0, kind = 0, flags = 0;
  std::string legal_unit, promised_unit, guide, materials, steps;
  long long updated_at = 0;
  std::string fees;

  // Rows were checked when written, so a failure here means the database was
  // edited by hand or by a newer tongban: an internal error naming the matter.
  Result<Matter> ToMatter() const {
    Matter m;
    m.implement_code = implement_code;
    m.version = version;
    m.basic_code = basic_code;
    m.item_code = item_code;
    m.name = name;
    m.orgcoding = orgcoding;
    m.division = division;
    m.enabled = enabled != 0;
    m.kind = static_cast<CaseKind>(kind);
    m.has_fee = (flags & kFlagHasFee) != 0;
    m.online = (flags & kFlagOnline) != 0;
    m.online_min_authlevel = (flags >> kMinLevelShift) & kMinLevelMask;
    m.guide = guide;
    m.updated_at_ms = updated_at;
    auto bad = [&](std::string what) {
      return Error::Internal("matters: version " + std::to_string(version) + " of " +
                             implement_code + " has " + what);
    };
    auto parsed_type = ParseMatterType(type);
    auto parsed_legal = ParseTimeUnit(legal_unit);
    auto parsed_promised = ParseTimeUnit(promised_unit);
    if (!parsed_type || !parsed_legal || !parsed_promised) return bad("an unknown type or unit");
    m.type = *parsed_type;
    m.legal_limit = {legal_amount, *parsed_legal};
    m.promised_limit = {promised_amount, *parsed_promised};
    auto mats = ParseMaterials(materials);
    if (!mats.ok()) return bad("unreadable materials: " + mats.error().message);
    m.materials = std::move(*mats);
    auto stps = ParseSteps(steps);
    if (!stps.ok()) return bad("unreadable steps: " + stps.error().message);
    m.steps = std::move(*stps);
    auto fee_list = ParseFees(fees);
    if (!fee_list.ok()) return bad("unreadable fees: " + fee_list.error().message);
    m.fees = std::move(*fee_list);
    return m;
  }
};

void BindVersionRow(soci::details::prepare_temp_type& p, VersionRow& r) {
  p, soci::into(r.implement_code), soci::into(r.version), soci::into(r.basic_code),
      soci::into(r.item_code), soci::into(r.name), soci::into(r.type), soci::into(r.orgcoding),
      soci::into(r.division), soci::into(r.enabled), soci::into(r.legal_amount),
      soci::into(r.legal_unit), soci::into(r.promised_amount), soci::into(r.promised_unit),
      soci::into(r.kind), soci::into(r.flags), soci::into(r.guide), soci::into(r.materials),
      soci::into(r.steps), soci::into(r.updated_at), soci::into(r.fees);
}

// Runs the SELECT and converts every row; `head_enabled` (when not null) is an
// extra last column carrying the matter's current switch.
Result<std::vector<Matter>> FetchMatters(soci::details::prepare_temp_type p, bool head_enabled) {
  VersionRow r;
  int enabled_now = 0;
  BindVersionRow(p, r);
  if (head_enabled) p, soci::into(enabled_now);
  soci::statement st(p);
  st.execute();
  std::vector<Matter> out;
  while (st.fetch()) {
    auto m = r.ToMatter();
    if (!m.ok()) return std::move(m).error();
    if (head_enabled) m->enabled = enabled_now != 0;
    out.push_back(std::move(*m));
  }
  return out;
}

// '%' and '_' in the user's text match themselves ('!' escapes, a character no
// dialect treats specially in a string literal).
std::string ContainsPattern(std::string_view text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '!') out += '!';
    out += c;
  }
  out += '%';
  return out;
}

// ---- CSV / xlsx table ----

// The catalogue's columns, in export order (docs/approval-matters.md).
constexpr std::array<std::string_view, 21> kColumns{
    "implement_code", "version",    "basic_code",
    "item_code",      "name",       "type",
    "orgcoding",      "division",   "enabled",
    "legal_limit",    "legal_unit", "promised_limit",
    "promised_unit",  "kind",       "has_fee",
    "online",         "guide",      "materials",
    "steps",          "fees",       "online_min_authlevel"};
// Without these a row cannot make a matter; the others have defaults.
constexpr std::array<std::string_view, 6> kRequiredColumns{"implement_code", "name",     "type",
                                                           "orgcoding",      "division", "steps"};

std::vector<std::string> MatterCells(const Matter& m) {
  return {m.implement_code,
          std::to_string(m.version),
          m.basic_code,
          m.item_code,
          m.name,
          std::string(MatterTypeName(m.type)),
          m.orgcoding,
          m.division,
          m.enabled ? "1" : "0",
          std::to_string(m.legal_limit.amount),
          std::string(TimeUnitName(m.legal_limit.unit)),
          std::to_string(m.promised_limit.amount),
          std::string(TimeUnitName(m.promised_limit.unit)),
          std::to_string(static_cast<int>(m.kind)),
          m.has_fee ? "1" : "0",
          m.online ? "1" : "0",
          m.guide,
          codec::RenderJson(MaterialsJson(m.materials)),
          codec::RenderJson(StepsJson(m.steps)),
          m.fees.empty() ? std::string() : codec::RenderJson(FeesJson(m.fees)),
          std::to_string(m.online_min_authlevel)};
}

// One row of an imported table, with the line (CSV) or row number (xlsx) it
// came from, so errors can name it.
struct TableRow {
  int64_t line = 0;
  std::vector<std::string> cells;
};

std::string Trimmed(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// `line` is a CSV line or a sheet's row number; both count from 1 at the header.
Error CellError(int64_t line, std::string_view column, std::string_view message) {
  return Error::InvalidArgument("line " + std::to_string(line) + ", column " + std::string(column) +
                                ": " + std::string(message));
}

// Maps the header to column indexes; unknown, repeated or missing columns are
// errors (a typo must not silently drop a column).
Result<std::map<std::string, size_t, std::less<>>> ReadHeader(
    const std::vector<std::string>& header) {
  std::map<std::string, size_t, std::less<>> index;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name = Trimmed(header[i]);
    if (name.empty() && i + 1 == header.size() && i > 0) break;  // a trailing comma
    if (std::find(kColumns.begin(), kColumns.end(), name) == kColumns.end()) {
      return Error::InvalidArgument("line 1: unknown column '" + name.substr(0, 64) + "'");
    }
    if (!index.emplace(name, i).second) {
      return Error::InvalidArgument("line 1: column '" + name + "' appears twice");
    }
  }
  for (std::string_view required : kRequiredColumns) {
    if (!index.contains(required)) {
      return Error::InvalidArgument("line 1: column '" + std::string(required) + "' is missing");
    }
  }
  return index;
}

Result<Matter> MatterFromRow(const std::map<std::string, size_t, std::less<>>& index,
                             const TableRow& row) {
  auto cell = [&](std::string_view column) -> std::string {
    auto it = index.find(column);
    if (it == index.end() || it->second >= row.cells.size()) return {};
    return Trimmed(row.cells[it->second]);
  };
  auto error = [&](std::string_view column, std::string_view message) {
    return CellError(row.line, column, message);
  };
  Matter m;
  m.implement_code = cell("implement_code");
  m.basic_code = cell("basic_code");
  if (m.basic_code.empty() && m.implement_code.size() == 31) {
    m.basic_code = m.implement_code.substr(19);
  }
  m.item_code = cell("item_code");
  m.name = cell("name");
  auto type = ParseMatterType(cell("type"));
  if (!type) return error("type", "unknown matter type '" + cell("type") + "'");
  m.type = *type;
  m.orgcoding = cell("orgcoding");
  m.division = cell("division");
  for (auto [column, flag] : {std::pair<std::string_view, bool*>{"enabled", &m.enabled},
                              {"has_fee", &m.has_fee},
                              {"online", &m.online}}) {
    std::string text = cell(column);
    if (text.empty()) continue;
    auto parsed = ParseFlag(text);
    if (!parsed) return error(column, "must be 1 or 0");
    *flag = *parsed;
  }
  if (std::string level = cell("online_min_authlevel"); !level.empty()) {
    if (level.size() != 1 || level[0] < '0' || level[0] > '3') {
      return error("online_min_authlevel", "must be 0, 1, 2 or 3");
    }
    m.online_min_authlevel = level[0] - '0';
  }
  for (auto [amount_column, unit_column, limit] :
       {std::tuple<std::string_view, std::string_view, TimeLimit*>{"legal_limit", "legal_unit",
                                                                   &m.legal_limit},
        {"promised_limit", "promised_unit", &m.promised_limit}}) {
    std::string amount = cell(amount_column);
    if (!amount.empty()) {
      if (amount.size() > 6 || !std::all_of(amount.begin(), amount.end(), IsDigit)) {
        return error(amount_column, "must be a whole number");
      }
      limit->amount = std::stoi(amount);
    }
    std::string unit = cell(unit_column);
    if (!unit.empty()) {
      auto parsed = ParseTimeUnit(unit);
      if (!parsed) return error(unit_column, "unknown unit '" + unit + "'");
      limit->unit = *parsed;
    }
  }
  if (std::string kind = cell("kind"); !kind.empty()) {
    auto parsed = ParseCaseKind(kind);
    if (!parsed) return error("kind", "must be 1 即办件, 2 承诺件, 3 联办件 or 4 上报件");
    m.kind = *parsed;
  }
  // The guide keeps its own spacing.
  if (auto it = index.find("guide"); it != index.end() && it->second < row.cells.size()) {
    m.guide = row.cells[it->second];
  }
  auto materials = ParseMaterials(cell("materials"));
  if (!materials.ok()) return error("materials", materials.error().message);
  m.materials = std::move(*materials);
  auto steps = ParseSteps(cell("steps"));
  if (!steps.ok()) return error("steps", steps.error().message);
  m.steps = std::move(*steps);
  auto fees = ParseFees(cell("fees"));
  if (!fees.ok()) return error("fees", fees.error().message);
  m.fees = std::move(*fees);
  if (auto e = FindMatterError(m)) return error(e->field, e->message);
  return m;
}

// ---- xlsx cells ----

// Columns written as numbers, so a spreadsheet can sum and sort them. Codes
// stay text: Excel would show a 12-digit division as 3.30106E+11.
bool IsNumberColumn(std::string_view column) {
  return column == "version" || column == "legal_limit" || column == "promised_limit" ||
         column == "kind" || column == "enabled" || column == "has_fee" || column == "online" ||
         column == "online_min_authlevel";
}

// A cell as the text the CSV importer would have read: whole numbers without a
// fraction (a division typed as a number, 330100, reads "330100").
std::string CellText(const codec::Cell& cell) {
  switch (cell.type) {
    case codec::Cell::Type::kEmpty:
      return {};
    case codec::Cell::Type::kText:
      return cell.text;
    case codec::Cell::Type::kBoolean:
      return cell.number != 0 ? "1" : "0";
    case codec::Cell::Type::kNumber: {
      double n = cell.number;
      if (n == static_cast<double>(static_cast<long long>(n)) && n > -1e15 && n < 1e15) {
        return std::to_string(static_cast<long long>(n));
      }
      // Not a whole number: no column takes one, so the importer names the cell.
      return codec::Value(n).ToText();
    }
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------- code checks

Status CheckBasicCode(std::string_view code) {
  if (code.size() != 12 || !std::all_of(code.begin(), code.end(), IsCodeChar)) {
    return Error::InvalidArgument("basic code must be 12 digits or upper-case letters");
  }
  return Status::Ok();
}

Status CheckImplementCode(std::string_view code) {
  if (code.size() != 31) return Error::InvalidArgument("implement code must be 31 characters");
  if (!directory::IsValidSocialCreditCode(code.substr(0, 18))) {
    return Error::InvalidArgument(
        "implement code must start with the implementing body's unified social credit code "
        "(GB 32100, check character included)");
  }
  if (!IsCodeChar(code[18])) {
    return Error::InvalidArgument(
        "implement code's 19th character must be a digit or an upper-case letter");
  }
  if (!CheckBasicCode(code.substr(19)).ok()) {
    return Error::InvalidArgument("implement code must end with a 12-character basic code");
  }
  return Status::Ok();
}

Status CheckDivisionCode(std::string_view code) {
  bool ok = false;
  if (code.size() == 6) {
    ok = directory::IsValidDivisionCode(code);
  } else if (code.size() == 12) {
    ok = std::all_of(code.begin(), code.end(), IsDigit) &&
         directory::IsValidDivisionCode(code.substr(0, 6));
  }
  if (!ok) {
    return Error::InvalidArgument(
        "division code must be a GB/T 2260 code of 6 digits, or 12 digits starting with one");
  }
  return Status::Ok();
}

Status CheckMatter(const Matter& matter) {
  if (auto e = FindMatterError(matter)) return Error::InvalidArgument(e->field + ": " + e->message);
  return Status::Ok();
}

// ---------------------------------------------------------------- catalogue

struct MatterCatalogue::Impl {
  Impl(SqlStore& s, Clock& c) : store(s), clock(c) {}

  SqlStore& store;
  Clock& clock;
  std::mutex cache_mu;
  std::map<std::pair<std::string, int>, std::shared_ptr<const Matter>, std::less<>> cache;
  // Current(): the latest version per implement code, and when it was read
  // (steady clock, ms).
  std::map<std::string, std::pair<std::shared_ptr<const Matter>, int64_t>, std::less<>> current;

  void Forget(std::string_view implement_code) {
    std::lock_guard lock(cache_mu);
    if (auto it = current.find(implement_code); it != current.end()) current.erase(it);
  }

  // Writes the next version of `m` inside the caller's transaction.
  Result<Matter> SaveIn(soci::session& sql, Matter m, int64_t now_ms) {
    const SqlDialect dialect = store.dialect();
    sql_dialect::LockUntilCommit(sql, dialect, kSaveLockClass, m.implement_code);
    Forget(m.implement_code);
    int latest = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT latest_version FROM approval_matters WHERE implement_code = :c" +
               std::string(sql_dialect::ForUpdate(dialect)),
        soci::use(m.implement_code), soci::into(latest, ind);
    const bool exists = sql.got_data() && ind == soci::i_ok;
    m.version = exists ? latest + 1 : 1;
    m.updated_at_ms = now_ms;
    std::string type(MatterTypeName(m.type));
    std::string legal_unit(TimeUnitName(m.legal_limit.unit));
    std::string promised_unit(TimeUnitName(m.promised_limit.unit));
    std::string materials = codec::RenderJson(MaterialsJson(m.materials));
    std::string steps = codec::RenderJson(StepsJson(m.steps));
    std::string fees = m.fees.empty() ? std::string() : codec::RenderJson(FeesJson(m.fees));
    int enabled = m.enabled ? 1 : 0;
    int kind = static_cast<int>(m.kind);
    int flags = (m.has_fee ? kFlagHasFee : 0) | (m.online ? kFlagOnline : 0) |
                ((m.online_min_authlevel & kMinLevelMask) << kMinLevelShift);
    long long now = now_ms;
    sql << "INSERT INTO approval_matter_versions (implement_code, version, basic_code, "
           "item_code, name, matter_type, orgcoding, division, enabled, legal_amount, legal_unit, "
           "promised_amount, promised_unit, kind, flags, guide, materials, steps, updated_at, "
           "fees) VALUES (:ic, :v, :bc, :item, :name, :type, :org, :div, :en, :la, :lu, :pa, "
           ":pu, :kind, :flags, :guide, :mat, :steps, :now, :fees)",
        soci::use(m.implement_code), soci::use(m.version), soci::use(m.basic_code),
        soci::use(m.item_code), soci::use(m.name), soci::use(type), soci::use(m.orgcoding),
        soci::use(m.division), soci::use(enabled), soci::use(m.legal_limit.amount),
        soci::use(legal_unit), soci::use(m.promised_limit.amount), soci::use(promised_unit),
        soci::use(kind), soci::use(flags), soci::use(m.guide), soci::use(materials),
        soci::use(steps), soci::use(now), soci::use(fees);
    if (exists) {
      sql << "UPDATE approval_matters SET latest_version = :v, basic_code = :bc, name = :name, "
             "orgcoding = :org, enabled = :en, updated_at = :now WHERE implement_code = :ic",
          soci::use(m.version), soci::use(m.basic_code), soci::use(m.name), soci::use(m.orgcoding),
          soci::use(enabled), soci::use(now), soci::use(m.implement_code);
    } else {
      sql << "INSERT INTO approval_matters (implement_code, latest_version, basic_code, name, "
             "orgcoding, enabled, updated_at) VALUES (:ic, :v, :bc, :name, :org, :en, :now)",
          soci::use(m.implement_code), soci::use(m.version), soci::use(m.basic_code),
          soci::use(m.name), soci::use(m.orgcoding), soci::use(enabled), soci::use(now);
    }
    return m;
  }

  void Remember(const std::shared_ptr<const Matter>& m) {
    std::lock_guard lock(cache_mu);
    if (cache.size() >= kMaxCachedVersions) cache.clear();
    cache.emplace(std::make_pair(m->implement_code, m->version), m);
  }

  // Every latest version, in implement-code order, as table rows.
  Result<std::vector<std::vector<std::string>>> ExportRows(MatterCatalogue& catalogue) {
    std::vector<std::vector<std::string>> rows;
    rows.emplace_back(kColumns.begin(), kColumns.end());
    MatterFilter filter;
    filter.limit = 500;
    while (true) {
      auto page = catalogue.List(filter);
      if (!page.ok()) return std::move(page).error();
      for (const Matter& m : *page) rows.push_back(MatterCells(m));
      if (static_cast<int64_t>(page->size()) < filter.limit) break;
      filter.offset += filter.limit;
    }
    return rows;
  }

  // All rows or none: every row is parsed and checked before the one
  // transaction that saves them.
  Result<int64_t> ImportRows(const std::vector<std::string>& header,
                             const std::vector<TableRow>& rows,
                             const MatterCatalogue::ImportCheck& check) {
    auto index = ReadHeader(header);
    if (!index.ok()) return std::move(index).error();
    std::vector<Matter> matters;
    std::map<std::string, int64_t, std::less<>> first_line;
    for (const TableRow& row : rows) {
      if (row.cells.size() > header.size() &&
          std::any_of(row.cells.begin() + static_cast<std::ptrdiff_t>(header.size()),
                      row.cells.end(), [](const std::string& c) { return !Trimmed(c).empty(); })) {
        return Error::InvalidArgument("line " + std::to_string(row.line) +
                                      ": more fields than the header has columns");
      }
      auto m = MatterFromRow(*index, row);
      if (!m.ok()) return std::move(m).error();
      auto [it, added] = first_line.emplace(m->implement_code, row.line);
      if (!added) {
        return CellError(row.line, "implement_code",
                         m->implement_code + " repeats line " + std::to_string(it->second));
      }
      if (check) {
        if (Status allowed = check(*m); !allowed.ok()) {
          Error e = allowed.error();
          e.message = "第 " + std::to_string(row.line) + " 行（" + m->implement_code + "）：" +
                      e.message;
          return e;
        }
      }
      matters.push_back(std::move(*m));
    }
    // A table without the column (exported before it existed) keeps each
    // matter's minimum real-name level: a re-import never drops one.
    const bool level_given = index->contains("online_min_authlevel");
    const int64_t now = clock.NowMillis();
    return store.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
      for (Matter& m : matters) {
        if (!level_given) {
          auto kept = FetchMatters(
              (sql.prepare << std::string("SELECT ") + kVersionColumns +
                                  ", h.enabled FROM approval_matters h JOIN "
                                  "approval_matter_versions v ON v.implement_code = "
                                  "h.implement_code AND v.version = h.latest_version WHERE "
                                  "h.implement_code = :c",
               soci::use(m.implement_code)),
              true);
          if (!kept.ok()) return std::move(kept).error();
          if (!kept->empty()) m.online_min_authlevel = kept->front().online_min_authlevel;
        }
        auto saved = SaveIn(sql, std::move(m), now);
        if (!saved.ok()) return std::move(saved).error();
      }
      return static_cast<int64_t>(matters.size());
    });
  }
};

std::vector<Migration> MatterCatalogue::Migrations() {
  return {PortableMigration("approval_matters", 1, kSchema),
          // A version's fee items (JSON [{item_code, amount_fen}]); '' = none.
          PortableMigration("approval_matters", 2,
                            "ALTER TABLE approval_matter_versions ADD COLUMN fees {TEXT} NOT NULL "
                            "DEFAULT '';")};
}

MatterCatalogue::MatterCatalogue(SqlStore& store, Clock& clock)
    : impl_(std::make_shared<Impl>(store, clock)) {}

Result<Matter> MatterCatalogue::Save(Matter matter) {
  if (matter.basic_code.empty() && matter.implement_code.size() == 31) {
    matter.basic_code = matter.implement_code.substr(19);
  }
  matter.version = std::max(matter.version, 1);  // replaced by the next version below
  TB_RETURN_IF_ERROR(CheckMatter(matter));
  const int64_t now = impl_->clock.NowMillis();
  return impl_->store.WithTransaction([&](soci::session& sql) -> Result<Matter> {
    return impl_->SaveIn(sql, std::move(matter), now);
  });
}

Status MatterCatalogue::SetEnabled(std::string_view implement_code, bool enabled) {
  std::string code(implement_code);
  int flag = enabled ? 1 : 0;
  long long now = impl_->clock.NowMillis();
  impl_->Forget(code);
  return impl_->store.WithTransaction([&](soci::session& sql) -> Status {
    soci::statement st = (sql.prepare << "UPDATE approval_matters SET enabled = :en, "
                                         "updated_at = :now WHERE implement_code = :c",
                          soci::use(flag), soci::use(now), soci::use(code));
    st.execute(true);
    if (st.get_affected_rows() == 0) return Error::NotFound("matters: no matter " + code);
    return Status::Ok();
  });
}

Result<Matter> MatterCatalogue::Latest(std::string_view implement_code) {
  std::string code(implement_code);
  auto found = impl_->store.WithSession([&](soci::session& sql) -> Result<std::vector<Matter>> {
    return FetchMatters(
        (sql.prepare << std::string("SELECT ") + kVersionColumns +
                            ", h.enabled FROM approval_matters h JOIN approval_matter_versions v "
                            "ON v.implement_code = h.implement_code AND v.version = "
                            "h.latest_version WHERE h.implement_code = :c",
         soci::use(code)),
        true);
  });
  if (!found.ok()) return std::move(found).error();
  if (found->empty()) return Error::NotFound("matters: no matter " + code);
  return std::move(found->front());
}

Result<std::shared_ptr<const Matter>> MatterCatalogue::Current(std::string_view implement_code) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  {
    std::lock_guard lock(impl_->cache_mu);
    auto it = impl_->current.find(implement_code);
    if (it != impl_->current.end() && now - it->second.second < kCurrentTtl.count()) {
      return it->second.first;
    }
  }
  auto latest = Latest(implement_code);
  if (!latest.ok()) return std::move(latest).error();
  auto shared = std::make_shared<const Matter>(std::move(*latest));
  std::lock_guard lock(impl_->cache_mu);
  if (impl_->current.size() >= 20'000) impl_->current.clear();  // bounded, like the versions
  impl_->current[std::string(implement_code)] = {shared, now};
  return shared;
}

Result<std::shared_ptr<const Matter>> MatterCatalogue::Version(std::string_view implement_code,
                                                               int version) {
  {
    std::lock_guard lock(impl_->cache_mu);
    auto it = impl_->cache.find(std::make_pair(std::string(implement_code), version));
    if (it != impl_->cache.end()) return it->second;
  }
  std::string code(implement_code);
  auto found = impl_->store.WithSession([&](soci::session& sql) -> Result<std::vector<Matter>> {
    return FetchMatters((sql.prepare << std::string("SELECT ") + kVersionColumns +
                                            " FROM approval_matter_versions v "
                                            "WHERE v.implement_code = :c AND v.version = :v",
                         soci::use(code), soci::use(version)),
                        false);
  });
  if (!found.ok()) return std::move(found).error();
  if (found->empty()) {
    return Error::NotFound("matters: no version " + std::to_string(version) + " of " + code);
  }
  auto matter = std::make_shared<const Matter>(std::move(found->front()));
  impl_->Remember(matter);
  return matter;
}

Result<std::vector<Matter>> MatterCatalogue::List(const MatterFilter& filter, int64_t* total) {
  if (filter.offset < 0 || filter.limit < 1 || filter.limit > 1000) {
    return Error::InvalidArgument("matters: offset >= 0 and limit 1..1000");
  }
  std::string where = " WHERE 1 = 1";
  std::string org = filter.orgcoding;
  std::string pattern = ContainsPattern(filter.text);
  if (!org.empty()) where += " AND h.orgcoding = :org";
  if (!filter.text.empty()) {
    where +=
        " AND (h.name LIKE :p1 ESCAPE '!' OR h.implement_code LIKE :p2 ESCAPE '!' OR "
        "h.basic_code LIKE :p3 ESCAPE '!')";
  }
  if (filter.enabled_only) where += " AND h.enabled = 1";
  long long offset = filter.offset;
  long long limit = filter.limit;
  // Binds the filter's values in the order `where` names them.
  auto bind = [&](soci::details::prepare_temp_type& p) {
    if (!org.empty()) p, soci::use(org, "org");
    if (!filter.text.empty()) {
      p, soci::use(pattern, "p1"), soci::use(pattern, "p2"), soci::use(pattern, "p3");
    }
  };
  return impl_->store.WithSession([&](soci::session& sql) -> Result<std::vector<Matter>> {
    if (total != nullptr) {
      long long count = 0;
      soci::details::prepare_temp_type p =
          (sql.prepare << "SELECT COUNT(*) FROM approval_matters h" + where);
      bind(p);
      p, soci::into(count);
      soci::statement st(p);
      st.execute(true);
      *total = count;
    }
    soci::details::prepare_temp_type p =
        (sql.prepare << std::string("SELECT ") + kVersionColumns +
                            ", h.enabled FROM approval_matters h JOIN approval_matter_versions v "
                            "ON v.implement_code = h.implement_code AND v.version = "
                            "h.latest_version" +
                            where + " ORDER BY h.implement_code LIMIT :lim OFFSET :off");
    bind(p);
    p, soci::use(limit, "lim"), soci::use(offset, "off");
    return FetchMatters(std::move(p), true);
  });
}

Result<bool> MatterCatalogue::IsEnabledTemplate(std::string_view sha256) {
  if (!IsSha256Hex(sha256)) return false;
  // Hex has no LIKE wildcards. LIKE narrows the scan to the versions naming the
  // digest somewhere; only a material's template counts (not a name or guide).
  std::string pattern = "%" + std::string(sha256) + "%";
  return impl_->store.WithSession([&](soci::session& sql) -> Result<bool> {
    std::string materials;
    soci::statement st =
        (sql.prepare << "SELECT v.materials FROM approval_matters h JOIN approval_matter_versions v "
                        "ON v.implement_code = h.implement_code AND v.version = h.latest_version "
                        "WHERE h.enabled = 1 AND v.materials LIKE :p",
         soci::use(pattern, "p"), soci::into(materials));
    if (st.execute(true)) {
      do {
        auto parsed = ParseMaterials(materials);
        if (!parsed.ok()) return std::move(parsed).error();
        for (const MatterMaterial& m : *parsed) {
          if (m.template_sha256 == sha256) return true;
        }
      } while (st.fetch());
    }
    return false;
  });
}

namespace {
// Matters in one import (a city's catalogue is a few thousand): larger files are
// split. Bounds the memory an .xlsx of tiny, far-apart values can make (review16c).
constexpr size_t kMaxImportRows = 50'000;
Error TooManyImportRows() {
  return Error::InvalidArgument("an import holds at most " + std::to_string(kMaxImportRows) +
                                " matters: split the file");
}
}  // namespace

Result<int64_t> MatterCatalogue::ImportCsv(std::istream& in, const ImportCheck& check) {
  codec::CsvReader reader(in);
  std::vector<std::string> header;
  auto got = reader.Next(&header);
  if (!got.ok()) return std::move(got).error();
  if (!*got) return Error::InvalidArgument("line 1: the CSV has no header row");
  std::vector<TableRow> rows;
  while (true) {
    TableRow row;
    got = reader.Next(&row.cells);
    if (!got.ok()) return std::move(got).error();
    if (!*got) break;
    if (row.cells.size() == 1 && Trimmed(row.cells[0]).empty()) continue;  // a blank line
    if (rows.size() >= kMaxImportRows) return TooManyImportRows();
    row.line = reader.record_line();
    rows.push_back(std::move(row));
  }
  return impl_->ImportRows(header, rows, check);
}

Status MatterCatalogue::ExportCsv(std::ostream& out) {
  auto rows = impl_->ExportRows(*this);
  if (!rows.ok()) return std::move(rows).error();
  std::string text;
  for (const auto& row : *rows) {
    std::vector<std::string_view> fields(row.begin(), row.end());
    codec::AppendCsvRecord(fields, &text);
  }
  out << text;
  out.flush();
  if (!out) return Error::Unavailable("matters: cannot write the CSV");
  return Status::Ok();
}

Result<int64_t> MatterCatalogue::ImportXlsx(std::string_view bytes,
                                            const ImportCheck& check) {
  // Bounds sized to the catalogue: its columns (and a few blank ones), the first
  // sheet only (review16a: one value far to the right costs every cell before it).
  codec::XlsxLimits limits;
  limits.max_columns = kColumns.size() + 8;
  limits.max_cells = (kMaxImportRows + 1) * kColumns.size();
  limits.first_sheet_only = true;
  auto sheets = codec::ReadXlsx(bytes, limits);
  if (!sheets.ok()) return std::move(sheets).error();
  if (sheets->empty() || sheets->front().rows.empty()) {
    return Error::InvalidArgument("line 1: the workbook's first sheet has no header row");
  }
  const auto& table = sheets->front().rows;
  std::vector<std::string> header;
  for (const codec::Cell& cell : table[0]) header.push_back(CellText(cell));
  std::vector<TableRow> rows;
  if (table.size() - 1 > kMaxImportRows) return TooManyImportRows();
  for (size_t i = 1; i < table.size(); ++i) {
    TableRow row;
    row.line = static_cast<int64_t>(i) + 1;
    for (const codec::Cell& cell : table[i]) row.cells.push_back(CellText(cell));
    if (std::all_of(row.cells.begin(), row.cells.end(),
                    [](const std::string& c) { return Trimmed(c).empty(); })) {
      continue;  // an empty row
    }
    rows.push_back(std::move(row));
  }
  return impl_->ImportRows(header, rows, check);
}

Result<std::string> MatterCatalogue::ExportXlsx() {
  auto rows = impl_->ExportRows(*this);
  if (!rows.ok()) return std::move(rows).error();
  codec::Sheet sheet;
  sheet.name = "matters";
  for (size_t r = 0; r < rows->size(); ++r) {
    std::vector<codec::Cell> cells;
    for (size_t c = 0; c < (*rows)[r].size(); ++c) {
      std::string& text = (*rows)[r][c];
      if (r > 0 && IsNumberColumn(kColumns[c])) {
        cells.push_back(codec::Cell::Number(std::stod(text)));
      } else {
        cells.push_back(codec::Cell::Text(std::move(text)));
      }
    }
    sheet.rows.push_back(std::move(cells));
  }
  return codec::WriteXlsx({std::move(sheet)});
}

}  // namespace tongban::approval
