#include "approval/stage_records.h"

#include <pugixml.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"
#include "core/utf8.h"

namespace tongban::approval {
namespace {

constexpr std::string_view kRoot = "APPROVEDATAINFO";
constexpr std::string_view kApplication = "SPSHENQIN";
constexpr std::string_view kAcceptance = "SPSHOULI";
constexpr std::string_view kStep = "SPSHENPI";
constexpr std::string_view kCorrection = "SPBUZHENG";
constexpr std::string_view kSpecial = "SPTEBIECHENGXU";
constexpr std::string_view kCompletion = "SPBANJIE";
constexpr std::array<std::string_view, 6> kStages = {kApplication, kAcceptance, kStep,
                                                      kCorrection, kSpecial, kCompletion};

// The separator of list fields (SBCLQD, BZCLQD): material names are Chinese text,
// where a full-width semicolon is the list separator and unlikely inside a name.
constexpr std::string_view kListSeparator = "；";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// ---- UTF-8 and XML character rules ----

// Length of the well-formed UTF-8 sequence at s[i], or 0 when the bytes there are not one.
std::size_t SequenceLength(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  const unsigned char b1 = byte(i + 1);
  if (b0 == 0xE0 && b1 < 0xA0) return 0;   // overlong
  if (b0 == 0xED && b1 >= 0xA0) return 0;  // surrogate
  if (b0 == 0xF0 && b1 < 0x90) return 0;   // overlong
  if (b0 == 0xF4 && b1 >= 0x90) return 0;  // above U+10FFFF
  return n;
}

// Whether the well-formed sequence s[i, i+n) is a character XML 1.0 cannot carry:
// C0 controls other than TAB, LF and CR, and the non-characters U+FFFE and U+FFFF.
bool ForbiddenInXml(std::string_view s, std::size_t i, std::size_t n) {
  if (n == 1) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
  }
  return n == 3 && (s.compare(i, 3, "\xEF\xBF\xBE") == 0 || s.compare(i, 3, "\xEF\xBF\xBF") == 0);
}

// `s` with what XML cannot carry replaced by U+FFFD and cut to kStageFieldMaxChars
// code points, so every record we build can be rendered and read back by the intake.
// Cutting loses text, but the 前置机 tables have 4000-character columns anyway.
std::string Clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size() && chars < kStageFieldMaxChars; ++chars) {
    const std::size_t n = SequenceLength(s, i);
    if (n == 0) {
      out.append(kReplacement);
      ++i;
    } else if (ForbiddenInXml(s, i, n)) {
      out.append(kReplacement);
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Whether valid UTF-8 `s` holds a character XML cannot carry.
bool HasForbiddenCharacter(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = SequenceLength(s, i);
    if (n == 0 || ForbiddenInXml(s, i, n)) return true;
    i += n;
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// Field names: what a 前置机 column and an XML element can both be called.
bool IsFieldName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!IsAsciiLetter(name[0]) && name[0] != '_') return false;
  for (char c : name) {
    if (!IsAsciiLetter(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

void AppendXmlText(std::string_view s, std::string* out) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = SequenceLength(s, i);
    if (n == 0) {
      out->append(kReplacement);
      ++i;
      continue;
    }
    if (ForbiddenInXml(s, i, n)) {
      out->append(kReplacement);
    } else if (n > 1) {
      out->append(s.substr(i, n));
    } else {
      switch (s[i]) {
        case '&': out->append("&amp;"); break;
        case '<': out->append("&lt;"); break;
        case '>': out->append("&gt;"); break;
        // A literal CR would be read back as LF (XML end-of-line handling).
        case '\r': out->append("&#13;"); break;
        default: out->push_back(s[i]);
      }
    }
    i += n;
  }
}

// A name we did not validate (a caller's own record) still renders well-formed.
void AppendXmlName(std::string_view name, std::string* out) {
  if (name.empty()) {
    out->push_back('_');
    return;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || (i > 0 && (IsDigit(c) || c == '-' || c == '.'));
    out->push_back(ok ? c : '_');
  }
}

void AppendRecordXml(const StageRecord& record, std::string* out) {
  if (record.stage.empty()) return;
  out->push_back('<');
  AppendXmlName(record.stage, out);
  out->push_back('>');
  for (const auto& [name, value] : record.fields) {
    out->push_back('<');
    AppendXmlName(name, out);
    out->push_back('>');
    AppendXmlText(value, out);
    out->append("</");
    AppendXmlName(name, out);
    out->push_back('>');
  }
  out->append("</");
  AppendXmlName(record.stage, out);
  out->push_back('>');
}

codec::Value RecordValue(const StageRecord& record) {
  codec::Value value = codec::Value::Object(2);
  value.Set("stage", record.stage);
  codec::Value& fields = value.Add("fields", codec::Value::Object(record.fields.size()));
  for (const auto& [name, text] : record.fields) fields.Set(name, text);
  return value;
}

// ---- Times and codes ----

// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm, proleptic Gregorian).
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

// yyyy-MM-dd HH:mm:ss in China Standard Time (UTC+8, no daylight saving); "" for 0
// (a time the case does not have yet).
std::string CstTime(int64_t ms) {
  if (ms <= 0) return "";
  constexpr int64_t kCstOffsetSeconds = 8 * 3600;
  const int64_t seconds = ms / 1000 + kCstOffsetSeconds;
  const int64_t days = seconds / 86400;
  const int64_t of_day = seconds % 86400;
  int64_t year = 0;
  int month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  char text[40];
  std::snprintf(text, sizeof text, "%04lld-%02d-%02d %02d:%02d:%02d",
                static_cast<long long>(year), month, day, static_cast<int>(of_day / 3600),
                static_cast<int>(of_day / 60 % 60), static_cast<int>(of_day % 60));
  return text;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

// yyyy-MM-dd HH:mm:ss naming a real calendar moment.
bool IsStageTime(std::string_view s) {
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
      s[16] != ':') {
    return false;
  }
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!IsDigit(s[i])) return false;
  }
  const auto number = [&](std::size_t at, std::size_t len) {
    int n = 0;
    for (std::size_t i = at; i < at + len; ++i) n = n * 10 + (s[i] - '0');
    return n;
  };
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return false;
  }
  return number(11, 2) <= 23 && number(14, 2) <= 59 && number(17, 2) <= 59;
}

// XZQHDM has 12 digits; a GB/T 2260 6-digit code is the 12-digit one with zero
// township and village parts.
std::string Division12(std::string_view division) {
  std::string out(division);
  if (division.size() == 6 && AllDigits(division)) out.append("000000");
  return out;
}

// BJJGDM of notes §1.4(a) and its description (BJJGMS).
std::string_view CompletionDescription(int code, MatterType type) {
  switch (code) {
    case 0: return "出证办结";
    case 1: return "退回办结";
    case 2: return "作废办结";
    case 3: return "删除办结";
    case 4: return "转报办结";
    case 5: return "补正不来办结";
    case 6: return type == MatterType::kLicence ? "准予许可" : "办结";
    case 7: return "不予许可";
    default: return "";
  }
}

// Codes 0 (出证办结) and 6 (办结 / 准予许可) are the positive results; every other
// result must say why (ZFHTHYY), as CompletionResult's NeedsReason.
bool CompletionNeedsReason(int code) { return code != 0 && code != 6; }

// ---- What the engine's StepRecord::detail may carry ----
// detail is the engine's JSON; these keys are read when present (documented in
// docs/approval-stage-records.md), and the record falls back to the opinion text
// when they are absent. A detail that is not JSON is treated as empty: the stage
// record is a rendering of the transition, which has already happened.
struct Detail {
  codec::Value value;

  explicit Detail(std::string_view json) {
    if (json.empty()) return;
    Result<codec::Value> parsed = codec::ParseJson(json);
    if (parsed.ok() && parsed->IsObject()) value = std::move(parsed).value();
  }

  std::string Text(std::string_view key) const {
    const codec::Value* v = value.Find(key);
    return v != nullptr && v->IsScalar() && !v->IsNull() ? v->ToText() : "";
  }
  int64_t Milliseconds(std::string_view key) const {
    const codec::Value* v = value.Find(key);
    return v != nullptr && v->IsInteger() ? v->AsInteger() : 0;
  }
  // A list of names: strings, or objects with a "name" (as CaseMaterial).
  std::vector<std::string> Names(std::string_view key) const {
    std::vector<std::string> names;
    const codec::Value* v = value.Find(key);
    if (v == nullptr) return names;
    if (v->IsString()) {
      names.push_back(v->AsString());
      return names;
    }
    for (const codec::Value& item : v->items()) {
      if (item.IsString()) {
        names.push_back(item.AsString());
      } else if (const std::string* name = item.FindString("name")) {
        names.push_back(*name);
      }
    }
    return names;
  }
};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (item.empty()) continue;
    if (!out.empty()) out.append(kListSeparator);
    out.append(item);
  }
  return out;
}

std::string_view FirstNonEmpty(std::string_view a, std::string_view b) {
  return a.empty() ? b : a;
}
std::string_view FirstNonEmpty(std::string_view a, std::string_view b, std::string_view c) {
  return FirstNonEmpty(FirstNonEmpty(a, b), c);
}

// Builds one record with every value passed through Clean.
class RecordBuilder {
 public:
  RecordBuilder(std::string_view stage, const Case& c) {
    record_.stage = std::string(stage);
    Add("SBLSH", c.number);  // the key of every stage table comes first
  }
  RecordBuilder& Add(std::string_view name, std::string_view value) {
    record_.fields.emplace_back(std::string(name), Clean(value));
    return *this;
  }
  StageRecord Take() { return std::move(record_); }

 private:
  StageRecord record_;
};

std::string_view ActingOrgCode(const Case& c, const StepRecord& record) {
  return FirstNonEmpty(record.orgcoding, c.orgcoding);
}

std::string CaseDivision(const Case& c, const Matter& matter) {
  return Division12(FirstNonEmpty(c.division, matter.division));
}

// SPSHENQIN: the application as registered.
StageRecord Application(const Case& c, const Matter& matter, const StepRecord& record) {
  const Applicant& a = c.applicant;
  const bool person = a.type == ApplicantType::kPerson;
  const bool has_agent = !a.agent_name.empty();
  std::vector<std::string> materials;
  materials.reserve(c.materials.size());
  for (const CaseMaterial& m : c.materials) materials.push_back(m.name);
  const int version = c.matter_version > 0 ? c.matter_version : matter.version;
  RecordBuilder b(kApplication, c);
  b.Add("SBLSH_SHORT", c.id > 0 ? std::to_string(c.id) : "")
      .Add("SXBM", FirstNonEmpty(c.implement_code, matter.implement_code))
      .Add("SXBM_SHORT", matter.basic_code)
      .Add("SXMC", FirstNonEmpty(c.matter_name, matter.name))
      .Add("SQRLX", person ? "1" : "2")
      .Add("SQRMC", a.name)
      .Add("SQRZJLX", FirstNonEmpty(a.id_type, person ? "10" : "49"))
      .Add("SQRZJHM", a.id_number)
      // The contact is whoever comes to the counter: the agent, else the legal
      // person's handler, else the applicant.
      .Add("LXRXM", has_agent ? a.agent_name : FirstNonEmpty(a.contact_name, a.name))
      .Add("LXRSFZJHM", has_agent ? a.agent_id_number : "")
      .Add("LXRSJ", has_agent ? FirstNonEmpty(a.agent_mobile, a.mobile) : a.mobile)
      .Add("SBCLQD", Join(materials))
      .Add("TJFS", c.channel)
      .Add("SBSJ", CstTime(c.registered_at_ms > 0 ? c.registered_at_ms : record.at_ms))
      .Add("XZQHDM", CaseDivision(c, matter))
      .Add("VERSION", std::to_string(version));
  return b.Take();
}

// SPSHOULI: accepted (SLZTDM 1) or refused (SLZTDM 2, with BSLYY).
StageRecord Acceptance(const Case& c, const Matter& matter, const StepRecord& record,
                       std::string_view orgname) {
  const bool refused = record.action == Action::kRefuse;
  RecordBuilder b(kAcceptance, c);
  b.Add("SLBMMC", orgname)
      .Add("SLBMZZJGDM", ActingOrgCode(c, record))
      .Add("XZQHDM", CaseDivision(c, matter))
      .Add("BLRXM", record.username)
      .Add("BLRGH", record.userid)
      .Add("SLZTDM", refused ? "2" : "1")
      .Add("BSLYY", refused ? FirstNonEmpty(record.opinion, c.result_reason) : "")
      .Add("BLYJ", record.opinion)
      .Add("SLSJ", CstTime(record.at_ms));
  return b.Take();
}

// SPSHENPI: one step's result (NODERESULT 1 同意, 0 不同意, 7 退回 of notes §1.4(b)).
StageRecord Step(const Case& c, const StepRecord& record, std::string_view orgname) {
  std::string_view result = "1";
  if (record.action == Action::kDisagree) result = "0";
  if (record.action == Action::kReturn) result = "7";
  RecordBuilder b(kStep, c);
  b.Add("SPHJDM", record.step_code)
      .Add("SPHJMC", record.step_name)
      .Add("SPBMMC", orgname)
      .Add("SPBMZZJGDM", ActingOrgCode(c, record))
      .Add("SPRXM", record.username)
      .Add("SPRDM", record.userid)
      .Add("SPYJ", record.opinion)
      .Add("SPSJ", CstTime(record.at_ms))
      .Add("NODERESULT", result);
  return b.Take();
}

// SPBUZHENG: the notice (BZGZSJ, BZGZYY, BZCLQD) or the resubmission (BZSJ).
StageRecord CorrectionRecord(const Case& c, const StepRecord& record) {
  const Detail detail(record.detail);
  RecordBuilder b(kCorrection, c);
  if (record.action == Action::kRequestCorrection) {
    std::vector<std::string> missing = detail.Names("missing_materials");
    b.Add("BZGZSJ", CstTime(record.at_ms))
        .Add("BZGZYY", record.opinion)
        .Add("BZCLQD", Join(missing))
        .Add("BZSJ", "");
  } else {
    // The notice's time is known only if the engine kept it in the detail, or
    // if it passes the case as it was while the clock was stopped.
    int64_t requested_at = detail.Milliseconds("requested_at_ms");
    if (requested_at == 0 && c.state == CaseState::kCorrection) requested_at = c.stopped_since_ms;
    b.Add("BZGZSJ", CstTime(requested_at))
        .Add("BZGZYY", "")
        .Add("BZCLQD", Join(detail.Names("materials")))
        .Add("BZSJ", CstTime(record.at_ms));
  }
  return b.Take();
}

// SPTEBIECHENGXU: the start (TBCXKSRQ, TBCXQDLY, SQNR) or the end (TBCXJSRQ, TBCXJG).
StageRecord SpecialProcedure(const Case& c, const StepRecord& record) {
  const Detail detail(record.detail);
  const std::string kind = detail.Text("suspension_kind");
  RecordBuilder b(kSpecial, c);
  if (record.action == Action::kSuspend) {
    b.Add("TBCXKSRQ", CstTime(record.at_ms))
        .Add("TBCXQDLY", record.opinion)
        .Add("SQNR", kind)
        .Add("TBCXJSRQ", "")
        .Add("TBCXJG", "");
  } else {
    int64_t started_at = detail.Milliseconds("started_at_ms");
    if (started_at == 0 && c.state == CaseState::kSuspended) started_at = c.stopped_since_ms;
    b.Add("TBCXKSRQ", CstTime(started_at))
        .Add("TBCXQDLY", "")
        .Add("SQNR", kind)
        .Add("TBCXJSRQ", CstTime(record.at_ms))
        .Add("TBCXJG", FirstNonEmpty(detail.Text("result"), record.opinion));
  }
  return b.Take();
}

// The BJJGDM of a completing transition: the case's result when the engine set
// it, else what the action means. 撤回 has no CompletionResult; it is 3 删除办结
// (the application is taken back before anyone decided on it).
int CompletionCode(const Case& c, const StepRecord& record) {
  if (c.result.has_value()) return static_cast<int>(*c.result);
  switch (record.action) {
    case Action::kDisagree: return static_cast<int>(CompletionResult::kNotApproved);
    case Action::kReturnToApplicant: return static_cast<int>(CompletionResult::kReturned);
    case Action::kVoid: return static_cast<int>(CompletionResult::kVoided);
    case Action::kWithdraw: return 3;
    default: return static_cast<int>(CompletionResult::kApproved);
  }
}

// SPBANJIE: the case's result.
StageRecord Completion(const Case& c, const Matter& matter, const StepRecord& record,
                       std::string_view orgname) {
  const int code = CompletionCode(c, record);
  std::string_view reason;
  if (CompletionNeedsReason(code)) {
    reason = FirstNonEmpty(c.result_reason, record.opinion,
                           record.action == Action::kWithdraw ? "申请人撤回申请" : "");
  }
  RecordBuilder b(kCompletion, c);
  b.Add("BJBMMC", orgname)
      .Add("BJBMZZJGDM", ActingOrgCode(c, record))
      .Add("XZQHDM", CaseDivision(c, matter))
      .Add("SPRXM", record.username)
      .Add("SPRDM", record.userid)
      .Add("BJJGDM", std::to_string(code))
      .Add("BJJGMS", CompletionDescription(code, matter.type))
      .Add("ZFHTHYY", reason)
      .Add("BJSJ", CstTime(record.at_ms));
  return b.Take();
}

// Whether this step result completed the case (the last step's 同意 or 不同意).
bool CompletesCase(const Case& c, const StepRecord& record) {
  if (!record.to_state.empty()) return record.to_state == CaseStateName(CaseState::kCompleted);
  return c.state == CaseState::kCompleted && c.completed_at_ms == record.at_ms;
}

// ---- Intake ----

Error RecordError(std::size_t index, const std::string& stage, const std::string& what) {
  std::string message = "stage record " + std::to_string(index + 1);
  if (!stage.empty()) message += " (" + stage + ")";
  return Error::InvalidArgument(message + ": " + what);
}

bool IsKnownStage(std::string_view stage) {
  for (std::string_view known : kStages) {
    if (known == stage) return true;
  }
  return false;
}

// Shape and content rules for one field, whatever its stage.
Status CheckField(std::size_t index, const StageRecord& r, std::string_view name,
                  std::string_view value) {
  if (!IsFieldName(name)) {
    return RecordError(index, r.stage,
                       "a field name must be letters, digits and _ (at most 64), starting with "
                       "a letter or _");
  }
  const std::string field(name);
  if (!IsValidUtf8(value)) return RecordError(index, r.stage, field + " is not UTF-8");
  if (HasForbiddenCharacter(value)) {
    return RecordError(index, r.stage, field + " contains a control character");
  }
  if (CodePoints(value) > kStageFieldMaxChars) {
    return RecordError(index, r.stage,
                       field + " is longer than " + std::to_string(kStageFieldMaxChars) +
                           " characters");
  }
  return Status::Ok();
}

// The rules of docs/approval-stage-records.md "What the intake requires".
Status CheckRecord(std::size_t index, const StageRecord& r) {
  if (!IsKnownStage(r.stage)) {
    return RecordError(index, "",
                       "unknown stage; expected SPSHENQIN, SPSHOULI, SPSHENPI, SPBUZHENG, "
                       "SPTEBIECHENGXU or SPBANJIE");
  }
  if (r.fields.size() > kStageMaxFields) {
    return RecordError(index, r.stage,
                       "more than " + std::to_string(kStageMaxFields) + " fields");
  }
  std::set<std::string_view> seen;
  for (const auto& [name, value] : r.fields) {
    TB_RETURN_IF_ERROR(CheckField(index, r, name, value));
    if (!seen.insert(name).second) {
      return RecordError(index, r.stage, name + " occurs more than once");
    }
  }
  const auto fail = [&](const std::string& what) { return RecordError(index, r.stage, what); };
  const auto require = [&](std::initializer_list<std::string_view> names) -> Status {
    for (std::string_view name : names) {
      if (r.Field(name).empty()) return fail(std::string(name) + " is required");
    }
    return Status::Ok();
  };
  const auto times = [&](std::initializer_list<std::string_view> names) -> Status {
    for (std::string_view name : names) {
      const std::string_view value = r.Field(name);
      if (!value.empty() && !IsStageTime(value)) {
        return fail(std::string(name) + " must be a time as yyyy-MM-dd HH:mm:ss");
      }
    }
    return Status::Ok();
  };
  const auto one_of = [&](std::string_view name,
                          std::initializer_list<std::string_view> codes) -> Status {
    const std::string_view value = r.Field(name);
    if (value.empty()) return Status::Ok();
    for (std::string_view code : codes) {
      if (value == code) return Status::Ok();
    }
    std::string allowed;
    for (std::string_view code : codes) {
      if (!allowed.empty()) allowed += "|";
      allowed += code;
    }
    return fail(std::string(name) + " must be " + allowed);
  };

  // SBLSH: our 43-character case numbers, but also a department's own numbers,
  // whose shapes differ by province; a key for lookups and URLs, so plain ASCII.
  TB_RETURN_IF_ERROR(require({"SBLSH"}));
  const std::string_view number = r.Field("SBLSH");
  if (number.size() > 64) return fail("SBLSH is longer than 64 characters");
  for (char ch : number) {
    if (!IsAsciiLetter(ch) && !IsDigit(ch) && ch != '-' && ch != '_' && ch != '.') {
      return fail("SBLSH may hold only letters, digits, '-', '_' and '.'");
    }
  }

  if (r.stage == kApplication) {
    TB_RETURN_IF_ERROR(require({"SXBM", "SXMC", "SQRLX", "SQRMC", "SBSJ"}));
    TB_RETURN_IF_ERROR(one_of("SQRLX", {"1", "2"}));
    TB_RETURN_IF_ERROR(times({"SBSJ"}));
    const std::string_view division = r.Field("XZQHDM");
    if (!division.empty() && !(AllDigits(division) && (division.size() == 12 ||
                                                        division.size() == 6))) {
      return fail("XZQHDM must have 12 (or 6) digits");
    }
    const std::string_view version = r.Field("VERSION");
    if (!version.empty() && (!AllDigits(version) || version.size() > 9 ||
                             version.find_first_not_of('0') == std::string_view::npos)) {
      return fail("VERSION must be a positive number");
    }
    TB_RETURN_IF_ERROR(one_of("TJFS", {"0", "1", "2", "3", "4", "5", "6", "7", "8"}));
  } else if (r.stage == kAcceptance) {
    TB_RETURN_IF_ERROR(require({"SLZTDM", "SLSJ"}));
    TB_RETURN_IF_ERROR(one_of("SLZTDM", {"1", "2"}));
    TB_RETURN_IF_ERROR(times({"SLSJ"}));
    if (r.Field("SLZTDM") == "2" && r.Field("BSLYY").empty()) {
      return fail("BSLYY (the reason) is required when SLZTDM is 2");
    }
  } else if (r.stage == kStep) {
    TB_RETURN_IF_ERROR(require({"SPHJDM", "SPSJ"}));
    TB_RETURN_IF_ERROR(times({"SPSJ"}));
    TB_RETURN_IF_ERROR(one_of("NODERESULT", {"0", "1", "7"}));
    const std::string_view result = r.Field("NODERESULT");
    if ((result == "0" || result == "7") && r.Field("SPYJ").empty()) {
      return fail("SPYJ (the opinion) is required when NODERESULT is " + std::string(result));
    }
  } else if (r.stage == kCorrection) {
    TB_RETURN_IF_ERROR(times({"BZGZSJ", "BZSJ"}));
    if (r.Field("BZGZSJ").empty() && r.Field("BZSJ").empty()) {
      return fail("BZGZSJ (the notice) or BZSJ (the resubmission) is required");
    }
    if (r.Field("BZSJ").empty() && r.Field("BZGZYY").empty() && r.Field("BZCLQD").empty()) {
      return fail("a correction notice needs BZGZYY or BZCLQD");
    }
  } else if (r.stage == kSpecial) {
    TB_RETURN_IF_ERROR(times({"TBCXKSRQ", "TBCXJSRQ"}));
    const std::string_view start = r.Field("TBCXKSRQ"), end = r.Field("TBCXJSRQ");
    if (start.empty() && end.empty()) {
      return fail("TBCXKSRQ (the start) or TBCXJSRQ (the end) is required");
    }
    // The fixed-width format orders as text.
    if (!start.empty() && !end.empty() && end < start) {
      return fail("TBCXJSRQ is before TBCXKSRQ");
    }
  } else if (r.stage == kCompletion) {
    TB_RETURN_IF_ERROR(require({"BJJGDM", "BJSJ"}));
    TB_RETURN_IF_ERROR(one_of("BJJGDM", {"0", "1", "2", "3", "4", "5", "6", "7"}));
    TB_RETURN_IF_ERROR(times({"BJSJ"}));
    const std::string_view code = r.Field("BJJGDM");
    if (CompletionNeedsReason(code[0] - '0') && r.Field("ZFHTHYY").empty()) {
      return fail("ZFHTHYY (the reason) is required when BJJGDM is " + std::string(code));
    }
  }
  return Status::Ok();
}

bool IsXmlWhitespace(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool IsUtf8EncodingName(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return lower == "utf-8" || lower == "utf8";
}

// pugixml leaves an undeclared entity reference (&xxe;) in the text as it is
// rather than failing, so the references are checked here: only the five XML
// predefines and character references. CDATA sections, comments and processing
// instructions are skipped, as '&' is literal there.
Status CheckEntityReferences(std::string_view xml) {
  const auto skip_to = [&](std::size_t from, std::string_view end) {
    const std::size_t at = xml.find(end, from);
    return at == std::string_view::npos ? xml.size() : at + end.size();
  };
  for (std::size_t i = 0; i < xml.size();) {
    if (xml.compare(i, 9, "<![CDATA[") == 0) {
      i = skip_to(i + 9, "]]>");
    } else if (xml.compare(i, 4, "<!--") == 0) {
      i = skip_to(i + 4, "-->");
    } else if (xml.compare(i, 2, "<?") == 0) {
      i = skip_to(i + 2, "?>");
    } else if (xml[i] == '&') {
      const std::size_t semicolon = xml.find(';', i);
      const std::string_view ref = semicolon == std::string_view::npos
                                       ? std::string_view()
                                       : xml.substr(i + 1, semicolon - i - 1);
      bool ok = ref == "amp" || ref == "lt" || ref == "gt" || ref == "quot" || ref == "apos";
      if (!ok && ref.size() >= 2 && ref[0] == '#') {
        const bool hex = ref[1] == 'x';
        const std::string_view digits = ref.substr(hex ? 2 : 1);
        ok = !digits.empty() && digits.size() <= 8 &&
             digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") ==
                 std::string_view::npos;
      }
      if (!ok) {
        return Error::InvalidArgument(
            "stage records XML uses an undeclared entity or a malformed reference at byte " +
            std::to_string(i));
      }
      i = semicolon + 1;
    } else {
      ++i;
    }
  }
  return Status::Ok();
}

Result<std::vector<StageRecord>> ParseXml(std::string_view body) {
  if (body.find('\0') != std::string_view::npos) {
    return Error::InvalidArgument("stage records XML contains a NUL byte");
  }
  pugi::xml_document doc;
  // parse_doctype and parse_declaration make those nodes visible so they can be
  // refused or checked; parse_ws_pcdata_single keeps a field whose whole value is
  // white space, so such a value survives a round trip.
  constexpr unsigned kOptions = pugi::parse_default | pugi::parse_ws_pcdata_single |
                                pugi::parse_doctype | pugi::parse_declaration;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(body.data(), body.size(), kOptions, pugi::encoding_utf8);
  if (!parsed) {
    return Error::InvalidArgument(std::string("stage records XML is not well-formed: ") +
                                  parsed.description() + " at byte " +
                                  std::to_string(parsed.offset));
  }
  pugi::xml_node root;
  for (const pugi::xml_node& node : doc.children()) {
    switch (node.type()) {
      case pugi::node_doctype:
        return Error::InvalidArgument(
            "stage records XML has a DOCTYPE; DTDs and entities are not accepted");
      case pugi::node_declaration: {
        const pugi::xml_attribute encoding = node.attribute("encoding");
        if (encoding && !IsUtf8EncodingName(encoding.value())) {
          return Error::InvalidArgument("stage records XML must be UTF-8");
        }
        break;
      }
      case pugi::node_element:
        if (root) return Error::InvalidArgument("stage records XML has more than one root");
        root = node;
        break;
      case pugi::node_pcdata:
      case pugi::node_cdata:
        if (!IsXmlWhitespace(node.value())) {
          return Error::InvalidArgument("stage records XML has text outside the root element");
        }
        break;
      default:
        break;
    }
  }
  TB_RETURN_IF_ERROR(CheckEntityReferences(body));
  if (!root || root.name() != kRoot) {
    return Error::InvalidArgument("stage records XML must have the root element APPROVEDATAINFO");
  }
  std::vector<StageRecord> records;
  for (const pugi::xml_node& stage : root.children()) {
    if (stage.type() == pugi::node_pcdata || stage.type() == pugi::node_cdata) {
      if (IsXmlWhitespace(stage.value())) continue;
      return Error::InvalidArgument("stage records XML has text between the stage records");
    }
    if (stage.type() != pugi::node_element) continue;
    const std::size_t index = records.size();
    if (index == kStageMaxRecords) {
      return Error::InvalidArgument("more than " + std::to_string(kStageMaxRecords) +
                                    " stage records");
    }
    StageRecord& record = records.emplace_back();
    record.stage = stage.name();
    if (!IsKnownStage(record.stage)) {
      return RecordError(index, "", "unknown stage; expected SPSHENQIN, SPSHOULI, SPSHENPI, "
                                    "SPBUZHENG, SPTEBIECHENGXU or SPBANJIE");
    }
    for (const pugi::xml_node& field : stage.children()) {
      if (field.type() == pugi::node_pcdata || field.type() == pugi::node_cdata) {
        if (IsXmlWhitespace(field.value())) continue;
        return RecordError(index, record.stage, "text outside a field element");
      }
      if (field.type() != pugi::node_element) continue;
      if (record.fields.size() == kStageMaxFields) {
        return RecordError(index, record.stage,
                           "more than " + std::to_string(kStageMaxFields) + " fields");
      }
      std::string value;
      for (const pugi::xml_node& part : field.children()) {
        if (part.type() == pugi::node_element) {
          return RecordError(index, record.stage,
                             IsFieldName(field.name())
                                 ? std::string(field.name()) + " holds elements; a field is text"
                                 : std::string("a field holds elements; a field is text"));
        }
        if (part.type() == pugi::node_pcdata || part.type() == pugi::node_cdata) {
          value.append(part.value());
        }
      }
      record.fields.emplace_back(field.name(), std::move(value));
    }
  }
  return records;
}

Result<StageRecord> RecordFromJson(std::size_t index, const codec::Value& item) {
  if (!item.IsObject()) return RecordError(index, "", "a stage record must be a JSON object");
  StageRecord record;
  const codec::Value* fields = nullptr;
  for (const codec::Member& member : item.members()) {
    if (member.key == "stage") {
      if (!member.value.IsString()) return RecordError(index, "", "\"stage\" must be a string");
      record.stage = member.value.AsString();
    } else if (member.key == "fields") {
      fields = &member.value;
    } else {
      return RecordError(index, "", "unknown member; a record has \"stage\" and \"fields\"");
    }
  }
  if (!IsKnownStage(record.stage)) {
    return RecordError(index, "",
                       record.stage.empty()
                           ? std::string("\"stage\" is required")
                           : std::string("unknown stage; expected SPSHENQIN, SPSHOULI, SPSHENPI, "
                                         "SPBUZHENG, SPTEBIECHENGXU or SPBANJIE"));
  }
  if (fields == nullptr || !fields->IsObject()) {
    return RecordError(index, record.stage, "\"fields\" must be an object");
  }
  if (fields->size() > kStageMaxFields) {
    return RecordError(index, record.stage,
                       "more than " + std::to_string(kStageMaxFields) + " fields");
  }
  for (const codec::Member& field : fields->members()) {
    const codec::Value& v = field.value;
    // Codes are often sent as numbers ("SLZTDM": 1) and absent values as null.
    if (!v.IsString() && !v.IsInteger() && !v.IsNull()) {
      return RecordError(index, record.stage,
                         (IsFieldName(field.key) ? field.key : std::string("a field")) +
                             " must be a string");
    }
    record.fields.emplace_back(field.key, v.ToText());
  }
  return record;
}

Result<std::vector<StageRecord>> ParseJsonRecords(std::string_view body) {
  codec::ParseLimits limits;
  limits.max_bytes = kStageBodyMaxBytes;
  limits.max_depth = 8;  // array > record > fields > value
  Result<codec::Value> parsed = codec::ParseJson(body, limits);
  if (!parsed.ok()) {
    return Error::InvalidArgument("stage records JSON: " + parsed.error().message);
  }
  std::vector<StageRecord> records;
  if (parsed->IsObject()) {
    Result<StageRecord> record = RecordFromJson(0, *parsed);
    if (!record.ok()) return std::move(record).error();
    records.push_back(std::move(record).value());
    return records;
  }
  if (!parsed->IsArray()) {
    return Error::InvalidArgument("stage records JSON must be an object or an array of them");
  }
  if (parsed->size() > kStageMaxRecords) {
    return Error::InvalidArgument("more than " + std::to_string(kStageMaxRecords) +
                                  " stage records");
  }
  for (std::size_t i = 0; i < parsed->size(); ++i) {
    Result<StageRecord> record = RecordFromJson(i, (*parsed)[i]);
    if (!record.ok()) return std::move(record).error();
    records.push_back(std::move(record).value());
  }
  return records;
}

}  // namespace

std::string_view StageRecord::Field(std::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return {};
}

std::vector<StageRecord> StageRecordsFor(const Case& c, const Matter& matter,
                                         const StepRecord& record, std::string_view orgname) {
  switch (record.action) {
    case Action::kRegister:
      return {Application(c, matter, record)};
    case Action::kAccept:
    case Action::kRefuse:
      return {Acceptance(c, matter, record, orgname)};
    case Action::kAgree:
    case Action::kDisagree:
      // The last step's result is both a step (批准) and the case's 办结: the
      // exchange sees them in the order of DB51/T 1625's stages.
      if (CompletesCase(c, record)) {
        return {Step(c, record, orgname), Completion(c, matter, record, orgname)};
      }
      return {Step(c, record, orgname)};
    case Action::kReturn:
      return {Step(c, record, orgname)};
    case Action::kRequestCorrection:
    case Action::kResubmit:
      return {CorrectionRecord(c, record)};
    case Action::kSuspend:
    case Action::kResume:
      return {SpecialProcedure(c, record)};
    case Action::kReturnToApplicant:
    case Action::kVoid:
    case Action::kWithdraw:
    case Action::kComplete:
      return {Completion(c, matter, record, orgname)};
    case Action::kReported: {
      // A department's record, kept in the detail in our JSON form: passed on as
      // it came, so the exchange publishes reported cases like ours.
      Result<std::vector<StageRecord>> reported = ParseStageRecords(record.detail);
      if (reported.ok()) return std::move(reported).value();
      return {};
    }
    case Action::kTransfer:
    case Action::kRecompute:
      break;
  }
  return {};
}

StageRecord StageRecordFor(const Case& c, const Matter& matter, const StepRecord& record,
                           std::string_view orgname) {
  std::vector<StageRecord> records = StageRecordsFor(c, matter, record, orgname);
  if (records.empty()) return {};
  return std::move(records.back());
}

std::string StageRecordsXml(const std::vector<StageRecord>& records) {
  std::string out = R"(<?xml version="1.0" encoding="UTF-8"?><APPROVEDATAINFO>)";
  for (const StageRecord& record : records) AppendRecordXml(record, &out);
  out.append("</APPROVEDATAINFO>");
  return out;
}

std::string StageRecordXml(const StageRecord& record) {
  return StageRecordsXml(std::vector<StageRecord>{record});
}

std::string StageRecordJson(const StageRecord& record) {
  return codec::RenderJson(RecordValue(record));
}

std::string StageRecordsJson(const std::vector<StageRecord>& records) {
  codec::Value array = codec::Value::Array(records.size());
  for (const StageRecord& record : records) array.Push(RecordValue(record));
  return codec::RenderJson(array);
}

Result<std::vector<StageRecord>> ParseStageRecords(std::string_view body) {
  if (body.size() > kStageBodyMaxBytes) {
    return Error::TooLarge("stage records are larger than " +
                           std::to_string(kStageBodyMaxBytes) + " bytes");
  }
  if (!IsValidUtf8(body)) return Error::InvalidArgument("stage records are not UTF-8");
  std::string_view text = body;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a BOM some senders add
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Error::InvalidArgument("stage records are empty");
  Result<std::vector<StageRecord>> records =
      text[first] == '<'                           ? ParseXml(text)
      : (text[first] == '{' || text[first] == '[') ? ParseJsonRecords(text)
                                                   : Result<std::vector<StageRecord>>(
                                                         Error::InvalidArgument(
                                                             "stage records must be XML or JSON"));
  if (!records.ok()) return records;
  if (records->empty()) return Error::InvalidArgument("stage records: none given");
  for (std::size_t i = 0; i < records->size(); ++i) {
    TB_RETURN_IF_ERROR(CheckRecord(i, (*records)[i]));
  }
  return records;
}

}  // namespace tongban::approval
