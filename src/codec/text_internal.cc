#include "codec/text_internal.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tongban::codec::internal {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kHexDigits[] = "0123456789ABCDEF";

bool InRange(unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; }

// Decodes the well-formed sequence of `len` bytes at s[i].
char32_t DecodeAt(std::string_view s, std::size_t i, std::size_t len) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  switch (len) {
    case 1:
      return b(0);
    case 2:
      return (char32_t{b(0)} & 0x1F) << 6 | (b(1) & 0x3F);
    case 3:
      return (char32_t{b(0)} & 0x0F) << 12 | (char32_t{b(1)} & 0x3F) << 6 | (b(2) & 0x3F);
    default:
      return (char32_t{b(0)} & 0x07) << 18 | (char32_t{b(1)} & 0x3F) << 12 |
             (char32_t{b(2)} & 0x3F) << 6 | (b(3) & 0x3F);
  }
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Bytes that every writer copies as they are: printable ASCII except the characters each one
// escapes. Anything else (controls, markup characters, non-ASCII) takes the slow path.
enum class Context { kJson, kXmlText, kXmlAttribute };

constexpr std::array<bool, 256> PlainBytes(Context context) {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = true;
  if (context == Context::kJson) {
    plain['"'] = plain['\\'] = false;
  } else {
    plain['&'] = plain['<'] = plain['>'] = false;
    if (context == Context::kXmlAttribute) plain['"'] = plain['\''] = false;
    if (context == Context::kXmlText) plain['\t'] = plain['\n'] = true;
  }
  return plain;
}

constexpr std::array<bool, 256> kJsonPlain = PlainBytes(Context::kJson);
constexpr std::array<bool, 256> kXmlTextPlain = PlainBytes(Context::kXmlText);
constexpr std::array<bool, 256> kXmlAttributePlain = PlainBytes(Context::kXmlAttribute);

// The XML writers share one loop; only the set of escaped ASCII characters differs.
template <bool kAttribute>
void AppendXmlEscaped(std::string_view s, std::string* out) {
  const std::array<bool, 256>& plain = kAttribute ? kXmlAttributePlain : kXmlTextPlain;
  std::size_t run = 0;  // start of the pending unescaped run
  std::size_t i = 0;
  const auto flush = [&](std::size_t end) { out->append(s.data() + run, end - run); };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (plain[c]) {
      ++i;
      continue;
    }
    std::string_view replacement;
    std::size_t consumed = 1;
    if (c >= 0x80) {
      consumed = Utf8SequenceLength(s, i);
      if (consumed == 0) {
        consumed = 1;
        replacement = kReplacementChar;
      } else if (consumed == 3 && c == 0xEF && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                 static_cast<unsigned char>(s[i + 2]) >= 0xBE) {
        replacement = kReplacementChar;  // U+FFFE and U+FFFF are not XML characters
      }
    } else {
      switch (c) {
        case '&':
          replacement = "&amp;";
          break;
        case '<':
          replacement = "&lt;";
          break;
        case '>':
          replacement = "&gt;";
          break;
        case '"':
          replacement = "&quot;";
          break;
        case '\'':
          replacement = "&apos;";
          break;
        case '\r':
          replacement = "&#13;";
          break;
        case '\n':
          replacement = "&#10;";
          break;  // only reached in attributes
        case '\t':
          replacement = "&#9;";
          break;  // only reached in attributes
        default:
          replacement = kReplacementChar;  // the other C0 controls
      }
    }
    if (!replacement.empty()) {
      flush(i);
      out->append(replacement);
      run = i + consumed;
    }
    i += consumed;
  }
  flush(i);
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// Length (7 or 11) of an _xHHHH_ / _xHHHHHHHH_ escape starting at s[i], or 0.
std::size_t EscapeLengthAt(std::string_view s, std::size_t i) {
  if (i + 1 >= s.size() || s[i] != '_' || s[i + 1] != 'x') return 0;
  for (std::size_t digits : {4u, 8u}) {
    if (i + 2 + digits >= s.size()) return 0;
    bool hex = true;
    for (std::size_t k = 0; k < digits && hex; ++k) hex = IsHex(s[i + 2 + k]);
    if (!hex) return 0;
    if (s[i + 2 + digits] == '_') return digits + 3;
  }
  return 0;
}

constexpr bool IsNameStartChar(char32_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (c >= 0xC0 && c <= 0xD6) ||
         (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
         (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) ||
         (c >= 0x2070 && c <= 0x218F) || (c >= 0x2C00 && c <= 0x2FEF) ||
         (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
         (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

constexpr bool IsNameChar(char32_t c) {
  return IsNameStartChar(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
         (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

constexpr std::array<bool, 256> AsciiNameChars(bool start) {
  std::array<bool, 256> chars{};
  for (int c = 0; c < 0x80; ++c) {
    chars[c] =
        start ? IsNameStartChar(static_cast<char32_t>(c)) : IsNameChar(static_cast<char32_t>(c));
  }
  return chars;
}

constexpr std::array<bool, 256> kAsciiNameStartChar = AsciiNameChars(true);
constexpr std::array<bool, 256> kAsciiNameChar = AsciiNameChars(false);

void AppendHexEscape(char32_t c, std::string* out) {
  const int digits = c > 0xFFFF ? 8 : 4;
  out->append("_x");
  for (int k = digits - 1; k >= 0; --k) out->push_back(kHexDigits[(c >> (4 * k)) & 0xF]);
  out->push_back('_');
}

}  // namespace

std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) noexcept {
  const std::size_t n = s.size() - i;
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (InRange(c, 0xC2, 0xDF)) return n >= 2 && InRange(b(1), 0x80, 0xBF) ? 2 : 0;
  if (InRange(c, 0xE0, 0xEF)) {
    if (n < 3) return 0;
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return InRange(b(1), lo, hi) && InRange(b(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (InRange(c, 0xF0, 0xF4)) {
    if (n < 4) return 0;
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return InRange(b(1), lo, hi) && InRange(b(2), 0x80, 0xBF) && InRange(b(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}


void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  std::size_t run = 0;
  std::size_t i = 0;
  const auto flush = [&](std::size_t end) { out->append(s.data() + run, end - run); };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (kJsonPlain[c]) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t len = Utf8SequenceLength(s, i);
      if (len != 0) {
        i += len;
        continue;
      }
      flush(i);
      out->append(kReplacementChar);
    } else {
      flush(i);
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default: {
          const char escape[] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
          out->append(escape, sizeof(escape));
        }
      }
    }
    ++i;
    run = i;
  }
  flush(i);
  out->push_back('"');
}

void AppendXmlText(std::string_view s, std::string* out) { AppendXmlEscaped<false>(s, out); }

void AppendXmlAttributeValue(std::string_view s, std::string* out) {
  AppendXmlEscaped<true>(s, out);
}

bool IsPlainXmlName(std::string_view name) noexcept {
  if (name.empty()) return false;
  // Fast path for the usual ASCII key: letters, digits, '_', '-', '.', no "_x" escape look-alike.
  bool ascii = true;
  for (std::size_t i = 0; i < name.size() && ascii; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80 || (c == '_' && i + 1 < name.size() && name[i + 1] == 'x')) {
      ascii = false;
    } else if (!kAsciiNameChar[c] || (i == 0 && !kAsciiNameStartChar[c])) {
      return false;
    }
  }
  if (ascii) return true;
  std::size_t i = 0;
  while (i < name.size()) {
    const std::size_t len = Utf8SequenceLength(name, i);
    if (len == 0) return false;
    const char32_t c = DecodeAt(name, i, len);
    if (!(i == 0 ? IsNameStartChar(c) : IsNameChar(c))) return false;
    if (c == '_' && EscapeLengthAt(name, i) != 0) return false;
    i += len;
  }
  return true;
}

void AppendXmlName(std::string_view name, std::string* out) {
  if (IsPlainXmlName(name)) {
    out->append(name);
    return;
  }
  if (name.empty()) {
    out->push_back('_');
    return;
  }
  std::size_t i = 0;
  while (i < name.size()) {
    std::size_t len = Utf8SequenceLength(name, i);
    const bool ill_formed = len == 0;
    char32_t c = 0xFFFD;  // an ill-formed byte cannot be represented; encode a replacement
    if (ill_formed) {
      len = 1;
    } else {
      c = DecodeAt(name, i, len);
    }
    const bool allowed = !ill_formed && (i == 0 ? IsNameStartChar(c) : IsNameChar(c)) &&
                         !(c == '_' && EscapeLengthAt(name, i) != 0);
    if (allowed) {
      out->append(name.substr(i, len));
    } else {
      AppendHexEscape(c, out);
    }
    i += len;
  }
}

std::string DecodeXmlName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  std::size_t i = 0;
  while (i < name.size()) {
    const std::size_t len = EscapeLengthAt(name, i);
    if (len != 0) {
      char32_t c = 0;
      for (std::size_t k = 2; k + 1 < len; ++k) {
        const char h = name[i + k];
        c = c << 4 | static_cast<char32_t>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
      }
      if (c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF) && c != 0) {
        AppendUtf8(c, &out);
        i += len;
        continue;
      }
    }
    out.push_back(name[i]);
    ++i;
  }
  return out;
}

void AppendDouble(double d, bool json, std::string* out) {
  if (!std::isfinite(d)) {
    if (json) {
      out->append("null");
    } else {
      out->append(std::isnan(d) ? "NaN" : (d > 0 ? "INF" : "-INF"));
    }
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out->append(text);
  if (text.find_first_of(".e") == std::string_view::npos) out->append(".0");
}

std::string Printable(std::string_view s, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : Utf8SequenceLength(s, i);
    if (out.size() + (len == 0 ? 1 : len) > max_bytes) {
      out.append("...");
      break;
    }
    if (len == 0 || c < 0x20 || c == 0x7F) {
      out.push_back('?');
      len = 1;
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace tongban::codec::internal
