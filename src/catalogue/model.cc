#include "catalogue/model.h"

#include <algorithm>
#include <array>
#include <unordered_set>

#include "core/utf8.h"

namespace tongban::catalogue {

namespace {

template <typename E, size_t N>
std::optional<E> ParseName(std::string_view name,
                           const std::array<std::pair<E, std::string_view>, N>& table) {
  for (const auto& [value, text] : table) {
    if (text == name) return value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view NameOf(E value, const std::array<std::pair<E, std::string_view>, N>& table) {
  for (const auto& [v, text] : table) {
    if (v == value) return text;
  }
  return {};
}

constexpr std::array<std::pair<ShareType, std::string_view>, 3> kShareTypes{{
    {ShareType::kUnconditional, "unconditional"},
    {ShareType::kConditional, "conditional"},
    {ShareType::kNone, "none"},
}};
constexpr std::array<std::pair<ShareMode, std::string_view>, 2> kShareModes{{
    {ShareMode::kApi, "api"},
    {ShareMode::kExchange, "exchange"},
}};
constexpr std::array<std::pair<OpenAttr, std::string_view>, 3> kOpenAttrs{{
    {OpenAttr::kOpen, "open"},
    {OpenAttr::kConditional, "conditional"},
    {OpenAttr::kClosed, "closed"},
}};
constexpr std::array<std::pair<ResourceState, std::string_view>, 3> kStates{{
    {ResourceState::kDraft, "draft"},
    {ResourceState::kPublished, "published"},
    {ResourceState::kWithdrawn, "withdrawn"},
}};
constexpr std::array<std::pair<BaseKind, std::string_view>, 4> kBaseKinds{{
    {BaseKind::kNone, ""},
    {BaseKind::kPerson, "person"},
    {BaseKind::kLegalPerson, "legal_person"},
    {BaseKind::kPlace, "place"},
}};
constexpr std::array<std::pair<ApplicationState, std::string_view>, 4> kApplicationStates{{
    {ApplicationState::kPending, "pending"},
    {ApplicationState::kApproved, "approved"},
    {ApplicationState::kRefused, "refused"},
    {ApplicationState::kCancelled, "cancelled"},
}};

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decodes one UTF-8 code point at `i` (the text is valid UTF-8); advances i.
char32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len && i + k < s.size(); ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  i += len;
  return cp;
}

bool IsCjk(char32_t cp) {
  return (cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x20000 && cp <= 0x2FFFF);
}

bool IsAsciiAlnum(char32_t cp) {
  return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
}

// Splits text into runs: ASCII words (lowercased) and CJK runs (as UTF-8 pieces
// per character). Anything else separates.
struct Run {
  bool cjk = false;
  std::string word;                // ASCII run
  std::vector<std::string> chars;  // CJK run
};

std::vector<Run> Runs(std::string_view text) {
  std::vector<Run> runs;
  if (!IsValidUtf8(text)) return runs;
  Run current;
  auto flush = [&] {
    if (!current.word.empty() || !current.chars.empty()) runs.push_back(std::move(current));
    current = Run{};
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    char32_t cp = NextCodePoint(text, i);
    if (IsAsciiAlnum(cp)) {
      if (current.cjk) flush();
      current.word += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (IsCjk(cp)) {
      if (!current.cjk) flush();
      current.cjk = true;
      current.chars.emplace_back(text.substr(start, i - start));
    } else {
      flush();
    }
  }
  flush();
  return runs;
}

}  // namespace

std::string_view ShareTypeName(ShareType t) { return NameOf(t, kShareTypes); }
std::optional<ShareType> ParseShareType(std::string_view n) { return ParseName(n, kShareTypes); }
std::string_view ShareModeName(ShareMode m) { return NameOf(m, kShareModes); }
std::optional<ShareMode> ParseShareMode(std::string_view n) { return ParseName(n, kShareModes); }
std::string_view OpenAttrName(OpenAttr a) { return NameOf(a, kOpenAttrs); }
std::optional<OpenAttr> ParseOpenAttr(std::string_view n) { return ParseName(n, kOpenAttrs); }
std::string_view ResourceStateName(ResourceState s) { return NameOf(s, kStates); }
std::optional<ResourceState> ParseResourceState(std::string_view n) { return ParseName(n, kStates); }
std::string_view BaseKindName(BaseKind k) { return NameOf(k, kBaseKinds); }
std::optional<BaseKind> ParseBaseKind(std::string_view n) { return ParseName(n, kBaseKinds); }
std::string_view ApplicationStateName(ApplicationState s) { return NameOf(s, kApplicationStates); }
std::optional<ApplicationState> ParseApplicationState(std::string_view n) {
  return ParseName(n, kApplicationStates);
}

int ClassificationLevel(std::string_view code) {
  if (!AllDigits(code) || code[0] == '0') return 0;
  switch (code.size()) {
    case 1:
      return 1;
    case 3:
      return 2;
    case 6:
      return 3;
    default:
      return code.size() >= 7 && code.size() <= 12 ? 4 : 0;
  }
}

std::string ClassificationParent(std::string_view code) {
  switch (ClassificationLevel(code)) {
    case 2:
      return std::string(code.substr(0, 1));
    case 3:
      return std::string(code.substr(0, 3));
    case 4:
      return std::string(code.substr(0, 6));
    default:
      return {};
  }
}

const InfoItem* Resource::Item(std::string_view code) const {
  for (const InfoItem& item : items) {
    if (item.code == code) return &item;
  }
  return nullptr;
}

bool IsValidResourceCode(std::string_view code) {
  size_t slash = code.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view front = code.substr(0, slash);
  std::string_view back = code.substr(slash + 1);
  return ClassificationLevel(front) > 0 && AllDigits(back) && back.size() <= 10;
}

bool IsValidItemCode(std::string_view code) {
  if (code.empty() || code.size() > 40 || !(code[0] >= 'a' && code[0] <= 'z')) return false;
  return std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsValidItemType(std::string_view type) {
  static constexpr std::string_view kTypes = "CNYDTLMBIF";
  return type.size() == 1 && kTypes.find(type[0]) != std::string_view::npos;
}

bool IsValidDate(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  if (!AllDigits(d.substr(0, 4)) || !AllDigits(d.substr(5, 2)) || !AllDigits(d.substr(8, 2))) {
    return false;
  }
  int y = std::stoi(std::string(d.substr(0, 4)));
  int m = std::stoi(std::string(d.substr(5, 2)));
  int day = std::stoi(std::string(d.substr(8, 2)));
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || day < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return day <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

Status ValidateResource(const Resource& r) {
  auto text = [](const std::string& s, size_t max) {
    return !s.empty() && s.size() <= max && IsValidUtf8(s);
  };
  if (ClassificationLevel(r.classification) == 0) {
    return Error::InvalidArgument("分类代码不正确（类 1 位、项 2 位、目 3 位、细目 1–6 位数字）");
  }
  if (!text(r.name, 300)) return Error::InvalidArgument("资源名称不能为空（最多 300 字节）");
  if (!text(r.provider_name, 300)) return Error::InvalidArgument("提供方不能为空");
  if (r.provider_org.empty()) return Error::InvalidArgument("提供方机构不能为空");
  if (r.provider_code.size() != 18 && r.provider_code.size() != 9 &&
      r.provider_code.size() != 10) {
    return Error::InvalidArgument("提供方代码应为统一社会信用代码或组织机构代码");
  }
  if (!text(r.abstract_text, 4000)) return Error::InvalidArgument("摘要不能为空（最多 4000 字节）");
  if (!text(r.format, 100)) return Error::InvalidArgument("格式不能为空");
  if (r.items.empty() || r.items.size() > 200) {
    return Error::InvalidArgument("信息项应有 1 到 200 项");
  }
  std::unordered_set<std::string> seen;
  for (const InfoItem& item : r.items) {
    if (!IsValidItemCode(item.code)) {
      return Error::InvalidArgument("信息项代码不正确：" + item.code.substr(0, 40));
    }
    if (!seen.insert(item.code).second) {
      return Error::InvalidArgument("信息项代码重复：" + item.code);
    }
    if (!text(item.name, 200)) return Error::InvalidArgument("信息项名称不能为空：" + item.code);
    if (!IsValidItemType(item.type)) {
      return Error::InvalidArgument("信息项类型不正确（C N Y D T L M B I F）：" + item.code);
    }
  }
  if (r.share_type != ShareType::kUnconditional && !text(r.share_condition, 2000)) {
    return Error::InvalidArgument("有条件共享或不予共享时应写明共享条件或不予共享的依据");
  }
  if (r.update_cycle.empty() || r.update_cycle.size() > 60 || !IsValidUtf8(r.update_cycle)) {
    return Error::InvalidArgument("更新周期不能为空");
  }
  if (!r.release_date.empty() && !IsValidDate(r.release_date)) {
    return Error::InvalidArgument("发布日期应为 YYYY-MM-DD");
  }
  if (r.related_codes.size() > 50) return Error::InvalidArgument("关联资源代码最多 50 个");
  for (const std::string& code : r.related_codes) {
    if (!IsValidResourceCode(code)) {
      return Error::InvalidArgument("关联资源代码不正确：" + code.substr(0, 40));
    }
  }
  if (r.share_mode == ShareMode::kExchange && r.base_kind != BaseKind::kNone) {
    return Error::InvalidArgument("基础信息资源以接口方式共享");
  }
  return Status::Ok();
}

bool Grant::Allows(std::string_view field) const {
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

std::vector<std::string> IndexTerms(std::string_view text) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto add = [&](std::string term) {
    if (seen.insert(term).second) out.push_back(std::move(term));
  };
  for (Run& run : Runs(text)) {
    if (!run.cjk) {
      add(std::move(run.word));
      continue;
    }
    for (size_t i = 0; i < run.chars.size(); ++i) {
      add(run.chars[i]);
      if (i + 1 < run.chars.size()) add(run.chars[i] + run.chars[i + 1]);
    }
  }
  return out;
}

std::vector<std::string> QueryTerms(std::string_view text) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto add = [&](std::string term) {
    if (seen.insert(term).second) out.push_back(std::move(term));
  };
  for (Run& run : Runs(text)) {
    if (!run.cjk) {
      add(std::move(run.word));
    } else if (run.chars.size() == 1) {
      add(run.chars[0]);
    } else {
      for (size_t i = 0; i + 1 < run.chars.size(); ++i) add(run.chars[i] + run.chars[i + 1]);
    }
  }
  return out;
}

std::string ClassificationTerm(std::string_view code) { return "zc" + std::string(code); }

std::string ProviderTerm(std::string_view orgcoding) {
  std::string out = "zo";
  for (char c : orgcoding) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) out += c;
    else if (c >= 'A' && c <= 'Z') out += static_cast<char>(c + 32);
  }
  return out;
}

std::string MaskIdNumber(std::string_view id) {
  if (id.size() >= 10) {
    return std::string(id.substr(0, 6)) + std::string(id.size() - 10, '*') +
           std::string(id.substr(id.size() - 4));
  }
  if (id.size() <= 4) return std::string(id.size(), '*');
  return std::string(id.substr(0, 2)) + std::string(id.size() - 4, '*') +
         std::string(id.substr(id.size() - 2));
}

std::string MaskMobile(std::string_view mobile) {
  if (mobile.size() < 7) return std::string(mobile.size(), '*');
  return std::string(mobile.substr(0, 3)) + std::string(mobile.size() - 7, '*') +
         std::string(mobile.substr(mobile.size() - 4));
}

std::vector<std::string> SplitFields(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t at = text.find(',');
    std::string_view item = text.substr(0, at);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

std::string JoinFields(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) {
    if (!out.empty()) out += ',';
    out += f;
  }
  return out;
}

}  // namespace tongban::catalogue
