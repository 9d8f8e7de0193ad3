// Login names derived from people's names, as Chinese government systems
// conventionally build them: full pinyin of the surname plus the initials of
// the given name (张三 -> "zhangs"). Used by the directory when an app or an
// import creates a user without a login name. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::directory {

// The longest name LoginNameFromChineseName returns, leaving room for the
// numeric suffix NextFreeLoginName adds within IsValidLoginName's 50 characters.
inline constexpr size_t kMaxGeneratedLoginName = 40;

// Lowercase ASCII letters only, 2..kMaxGeneratedLoginName long (cut to fit).
// - A name starting with a Han character: the surname in full pinyin, the
//   given name as initials: 李小龙 -> "lixl". Compound surnames are whole
//   (欧阳修 -> "ouyangx", 万俟 -> "moqi"), and characters read differently as
//   surnames use that reading (单 -> "shan", 曾 -> "zeng", 朴 -> "piao").
//   ü is written "v" (吕 -> "lv"), as pinyin keyboards do. Traditional
//   characters work too. Separators such as spaces and "·" are skipped;
//   Latin letters in the given name count as their own initials.
// - Any other name: its letters transliterated to ASCII and lowercased
//   ("John Smith" -> "johnsmith", "José" -> "jose").
// InvalidArgument when the input is not UTF-8 or yields fewer than 2 letters;
// Unavailable if ICU's transliteration data is missing.
Result<std::string> LoginNameFromChineseName(std::string_view utf8_name);

// The first of base, base1, base2, ... for which `taken` is false. It probes
// base, then base1, base2, base4, ... doubling, then bisects, so a name shared
// by n users costs O(log n) calls of `taken`: an import of a million users
// with thousands of 张伟 stays fast. When the taken names are exactly base..
// baseN this yields base(N+1); with gaps it may return a later free name.
// Returns "" only if `taken` claims more than two billion candidates.
std::string NextFreeLoginName(std::string_view base,
                              const std::function<bool(std::string_view)>& taken);

}  // namespace tongban::directory
