// Small string helpers shared by the http module's .cc files (internal:
// other modules should not include this header).
#pragma once

#include <string>
#include <string_view>

namespace tongban::http {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

inline bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

inline std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Appends the percent-decoding of `in` to `out` ('+' as space when
// `plus_is_space`); false on a '%' without two hex digits.
bool PercentDecodeAppend(std::string_view in, bool plus_is_space, std::string& out);

// Appends `s` as a JSON string literal (with quotes). Invalid UTF-8 bytes
// become U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string_view s, std::string& out);

}  // namespace tongban::http
