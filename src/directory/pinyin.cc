#include "directory/pinyin.h"

#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tongban::directory {
namespace {

// Surnames of two characters, read as one unit. Readings are the surname
// readings, which often differ from the characters' everyday ones (万俟 is
// mòqí, 尉迟 yùchí, 单于 chányú). Simplified and traditional forms.
constexpr std::pair<std::string_view, std::string_view> kCompoundSurnames[] = {
    {"欧阳", "ouyang"},    {"歐陽", "ouyang"},    {"尉迟", "yuchi"},    {"尉遲", "yuchi"},
    {"长孙", "zhangsun"},  {"長孫", "zhangsun"},  {"万俟", "moqi"},     {"萬俟", "moqi"},
    {"诸葛", "zhuge"},     {"諸葛", "zhuge"},     {"司马", "sima"},     {"司馬", "sima"},
    {"上官", "shangguan"}, {"东方", "dongfang"},  {"東方", "dongfang"}, {"皇甫", "huangfu"},
    {"令狐", "linghu"},    {"夏侯", "xiahou"},    {"公孙", "gongsun"},  {"公孫", "gongsun"},
    {"慕容", "murong"},    {"司徒", "situ"},      {"端木", "duanmu"},   {"宇文", "yuwen"},
    {"轩辕", "xuanyuan"},  {"軒轅", "xuanyuan"},  {"独孤", "dugu"},     {"獨孤", "dugu"},
    {"南宫", "nangong"},   {"南宮", "nangong"},   {"西门", "ximen"},    {"西門", "ximen"},
    {"澹台", "tantai"},    {"澹臺", "tantai"},    {"公冶", "gongye"},   {"宗政", "zongzheng"},
    {"濮阳", "puyang"},    {"濮陽", "puyang"},    {"淳于", "chunyu"},   {"单于", "chanyu"},
    {"單于", "chanyu"},    {"太叔", "taishu"},    {"申屠", "shentu"},   {"钟离", "zhongli"},
    {"鍾離", "zhongli"},   {"闻人", "wenren"},    {"聞人", "wenren"},   {"赫连", "helian"},
    {"赫連", "helian"},    {"拓跋", "tuoba"},     {"呼延", "huyan"},    {"百里", "baili"},
    {"东郭", "dongguo"},   {"東郭", "dongguo"},   {"公羊", "gongyang"}, {"羊舌", "yangshe"},
    {"微生", "weisheng"},  {"梁丘", "liangqiu"},  {"左丘", "zuoqiu"},   {"第五", "diwu"},
    {"乐正", "yuezheng"},  {"樂正", "yuezheng"},  {"鲜于", "xianyu"},   {"鮮于", "xianyu"},
    {"闾丘", "lvqiu"},     {"閭丘", "lvqiu"},     {"司空", "sikong"},   {"亓官", "qiguan"},
    {"司寇", "sikou"},     {"子车", "ziju"},      {"子車", "ziju"},     {"颛孙", "zhuansun"},
    {"顓孫", "zhuansun"},  {"巫马", "wuma"},      {"巫馬", "wuma"},     {"公西", "gongxi"},
    {"漆雕", "qidiao"},    {"壤驷", "rangsi"},    {"壤駟", "rangsi"},   {"谷梁", "guliang"},
    {"段干", "duangan"},   {"仲孙", "zhongsun"},  {"仲孫", "zhongsun"}, {"叔孙", "shusun"},
    {"叔孫", "shusun"},    {"公良", "gongliang"}, {"宰父", "zaifu"},    {"东门", "dongmen"},
    {"東門", "dongmen"},   {"仉督", "zhangdu"},   {"即墨", "jimo"},     {"哥舒", "geshu"},
};

// Single-character surnames whose surname reading differs from the reading a
// transliterator picks for the bare character, or that ICU's name rules get
// wrong (朴 piáo, 缪 miào, 覃 qín). 尉 alone is wèi (尉缭, 尉健行); only in
// 尉迟 is it yù.
constexpr std::pair<std::string_view, std::string_view> kSurnameReadings[] = {
    {"单", "shan"}, {"單", "shan"},  {"曾", "zeng"},  {"解", "xie"},   {"朴", "piao"},
    {"樸", "piao"}, {"仇", "qiu"},   {"区", "ou"},    {"區", "ou"},    {"查", "zha"},
    {"盖", "ge"},   {"蓋", "ge"},    {"乐", "yue"},   {"樂", "yue"},   {"燕", "yan"},
    {"缪", "miao"}, {"繆", "miao"},  {"覃", "qin"},   {"秘", "bi"},    {"员", "yun"},
    {"員", "yun"},  {"重", "chong"}, {"种", "chong"}, {"種", "chong"}, {"翟", "zhai"},
    {"尉", "wei"},  {"沈", "shen"},  {"葛", "ge"},    {"任", "ren"},   {"华", "hua"},
    {"華", "hua"},  {"牟", "mu"},    {"纪", "ji"},    {"紀", "ji"},    {"过", "guo"},
    {"過", "guo"},  {"冼", "xian"},  {"洗", "xian"},  {"长", "chang"}, {"長", "chang"},
    {"繁", "po"},   {"句", "gou"},   {"阚", "kan"},   {"闞", "kan"},   {"隗", "wei"},
    {"訾", "zi"},   {"郇", "huan"},  {"逄", "pang"},  {"眭", "sui"},   {"佴", "nai"},
    {"厍", "she"},  {"厙", "she"},   {"折", "she"},   {"召", "shao"},  {"黑", "he"},
    {"祭", "zhai"}, {"贲", "ben"},   {"賁", "ben"},   {"蕃", "pi"},    {"柏", "bai"},
    {"薄", "bo"},   {"宿", "su"},    {"能", "nai"},   {"都", "du"},    {"么", "yao"},
    {"吕", "lv"},   {"呂", "lv"},    {"闾", "lv"},    {"閭", "lv"},
};

template <size_t N>
std::string_view Lookup(const std::pair<std::string_view, std::string_view> (&table)[N],
                        std::string_view key) {
  for (const auto& [k, v] : table) {
    if (k == key) return v;
  }
  return {};
}

// ICU's transliterators, built once per process (parsing their rules is the
// expensive part) and cloned per thread: an ICU Transliterator must not be
// used by two threads at once.
struct Transliterators {
  std::unique_ptr<icu::Transliterator> han;           // everyday readings
  std::unique_ptr<icu::Transliterator> surname;       // readings as a surname
  std::unique_ptr<icu::Transliterator> to_ascii;      // strip diacritics
  std::unique_ptr<icu::Transliterator> any_to_ascii;  // non-Chinese names
  bool ok = false;
};

std::unique_ptr<icu::Transliterator> Create(const char* id) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> t(icu::Transliterator::createInstance(
      icu::UnicodeString::fromUTF8(id), UTRANS_FORWARD, status));
  if (U_FAILURE(status)) return nullptr;
  return t;
}

const Transliterators& Prototypes() {
  static const Transliterators prototypes = [] {
    Transliterators p;
    p.han = Create("Han-Latin");
    p.surname = Create("Hant-Hans; Han-Latin/Names");
    p.to_ascii = Create("Latin-ASCII");
    p.any_to_ascii = Create("Any-Latin; Latin-ASCII");
    p.ok = p.han && p.surname && p.to_ascii && p.any_to_ascii;
    return p;
  }();
  return prototypes;
}

std::unique_ptr<icu::Transliterator> Clone(const std::unique_ptr<icu::Transliterator>& t) {
  return std::unique_ptr<icu::Transliterator>(t->clone());
}

// Per-thread transliterators and a memo of readings, so a bulk import
// transliterates each distinct character once per thread.
struct ThreadState {
  std::unique_ptr<icu::Transliterator> han;
  std::unique_ptr<icu::Transliterator> surname;
  std::unique_ptr<icu::Transliterator> to_ascii;
  std::unique_ptr<icu::Transliterator> any_to_ascii;
  std::unordered_map<UChar32, std::string> han_readings;
  std::unordered_map<UChar32, std::string> surname_readings;
  std::unordered_map<UChar32, std::string> letter_readings;
};

ThreadState* State() {
  const Transliterators& proto = Prototypes();
  if (!proto.ok) return nullptr;
  thread_local ThreadState state;
  if (!state.han) {
    state.han = Clone(proto.han);
    state.surname = Clone(proto.surname);
    state.to_ascii = Clone(proto.to_ascii);
    state.any_to_ascii = Clone(proto.any_to_ascii);
  }
  return &state;
}

bool IsHan(UChar32 c) {
  UErrorCode status = U_ZERO_ERROR;
  return uscript_getScript(c, &status) == USCRIPT_HAN && U_SUCCESS(status);
}

bool IsUWithDiaeresis(UChar32 c) {
  // ü Ü and the toned ǖ ǘ ǚ ǜ with their capitals.
  static constexpr UChar32 kForms[] = {0x00FC, 0x00DC, 0x01D5, 0x01D6, 0x01D7,
                                       0x01D8, 0x01D9, 0x01DA, 0x01DB, 0x01DC};
  return std::find(std::begin(kForms), std::end(kForms), c) != std::end(kForms);
}

// Pinyin with tones (from Han-Latin) to lowercase ASCII letters, ü as "v".
std::string PinyinToAscii(const icu::UnicodeString& pinyin, icu::Transliterator& to_ascii) {
  icu::UnicodeString s;
  for (int32_t i = 0; i < pinyin.length();) {
    UChar32 c = pinyin.char32At(i);
    s.append(IsUWithDiaeresis(c) ? UChar32{'v'} : c);
    i += U16_LENGTH(c);
  }
  to_ascii.transliterate(s);
  std::string utf8;
  s.toUTF8String(utf8);
  std::string out;
  for (char c : utf8) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c >= 'a' && c <= 'z') out += c;
  }
  return out;
}

const std::string& Reading(UChar32 c, icu::Transliterator& t, icu::Transliterator& to_ascii,
                           std::unordered_map<UChar32, std::string>& memo) {
  auto it = memo.find(c);
  if (it != memo.end()) return it->second;
  icu::UnicodeString s(c);
  t.transliterate(s);
  return memo.emplace(c, PinyinToAscii(s, to_ascii)).first->second;
}

struct CodePoint {
  UChar32 c;
  std::string_view utf8;
};

// Splits UTF-8 into code points; false on malformed input.
bool Decode(std::string_view s, std::vector<CodePoint>* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  int32_t len = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < len) {
    int32_t start = i;
    UChar32 c;
    U8_NEXT(p, i, len, c);
    if (c < 0) return false;
    out->push_back({c, s.substr(static_cast<size_t>(start), static_cast<size_t>(i - start))});
  }
  return true;
}

Result<std::string> Finish(std::string name) {
  if (name.size() > kMaxGeneratedLoginName) name.resize(kMaxGeneratedLoginName);
  if (name.size() < 2) {
    return Error::InvalidArgument("the name yields fewer than 2 letters for a login name");
  }
  return name;
}

}  // namespace

Result<std::string> LoginNameFromChineseName(std::string_view utf8_name) {
  std::vector<CodePoint> all;
  if (!Decode(utf8_name, &all)) return Error::InvalidArgument("name is not valid UTF-8");
  ThreadState* st = State();
  if (st == nullptr) return Error::Unavailable("ICU transliteration data is not available");

  // Only Han characters and letters carry the name; spaces, "·" and the like do not.
  std::vector<CodePoint> cps;
  for (const CodePoint& cp : all) {
    if (IsHan(cp.c) || u_isalpha(cp.c)) cps.push_back(cp);
  }
  if (cps.empty()) return Error::InvalidArgument("the name has no letters");

  if (!IsHan(cps[0].c)) {
    icu::UnicodeString s = icu::UnicodeString::fromUTF8(
        icu::StringPiece(utf8_name.data(), static_cast<int32_t>(utf8_name.size())));
    st->any_to_ascii->transliterate(s);
    std::string utf8;
    s.toUTF8String(utf8);
    std::string out;
    for (char c : utf8) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c >= 'a' && c <= 'z') out += c;
    }
    return Finish(std::move(out));
  }

  std::string out;
  size_t given_start = 1;
  if (cps.size() >= 2 && IsHan(cps[1].c)) {
    std::string two(cps[0].utf8);
    two += cps[1].utf8;
    std::string_view compound = Lookup(kCompoundSurnames, two);
    if (!compound.empty()) {
      out = compound;
      given_start = 2;
    }
  }
  if (given_start == 1) {
    std::string_view reading = Lookup(kSurnameReadings, cps[0].utf8);
    out = !reading.empty() ? std::string(reading)
                           : Reading(cps[0].c, *st->surname, *st->to_ascii, st->surname_readings);
  }
  for (size_t i = given_start; i < cps.size(); ++i) {
    const std::string& reading =
        IsHan(cps[i].c) ? Reading(cps[i].c, *st->han, *st->to_ascii, st->han_readings)
                        : Reading(cps[i].c, *st->to_ascii, *st->to_ascii, st->letter_readings);
    if (!reading.empty()) out += reading[0];
  }
  return Finish(std::move(out));
}

std::string NextFreeLoginName(std::string_view base,
                              const std::function<bool(std::string_view)>& taken) {
  if (!taken(base)) return std::string(base);
  auto candidate = [&base](int64_t n) { return std::string(base) + std::to_string(n); };
  // Gallop to a free suffix, then bisect between the last taken and it.
  int64_t lo = 0;  // suffix 0 stands for `base` itself
  int64_t hi = 1;
  constexpr int64_t kLimit = int64_t{1} << 31;
  while (taken(candidate(hi))) {
    lo = hi;
    if (hi >= kLimit) return "";
    hi *= 2;
  }
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    if (taken(candidate(mid))) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return candidate(hi);
}

}  // namespace tongban::directory
