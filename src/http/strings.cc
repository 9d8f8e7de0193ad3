#include "http/strings.h"

#include "http/url.h"

namespace tongban::http {

void AppendJsonString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Invalid UTF-8 would make the whole document invalid JSON; replace it.
  std::string repaired;
  if (!IsValidUtf8(s)) {
    for (unsigned char c : s) {
      if (c < 0x80) {
        repaired.push_back(static_cast<char>(c));
      } else {
        repaired += "\xEF\xBF\xBD";
      }
    }
    s = repaired;
  }
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace tongban::http
