#include "sso/html.h"

namespace tongban::sso {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string FillTemplate(std::string_view tpl, TemplateVars vars) {
  auto lookup = [&](std::string_view name) -> std::string_view {
    for (const auto& [key, value] : vars) {
      if (key == name) return value;
    }
    return {};
  };
  std::string out;
  out.reserve(tpl.size() + 256);
  size_t pos = 0;
  while (pos < tpl.size()) {
    size_t open = tpl.find("{{", pos);
    if (open == std::string_view::npos) break;
    out.append(tpl.substr(pos, open - pos));
    const bool raw = tpl.substr(open, 3) == "{{{";
    const size_t name_start = open + (raw ? 3 : 2);
    const std::string_view close_mark = raw ? "}}}" : "}}";
    size_t close = tpl.find(close_mark, name_start);
    if (close == std::string_view::npos) {
      pos = open;
      break;
    }
    std::string_view value = lookup(tpl.substr(name_start, close - name_start));
    if (raw) {
      out.append(value);
    } else {
      out.append(HtmlEscape(value));
    }
    pos = close + close_mark.size();
  }
  out.append(tpl.substr(pos));
  return out;
}

}  // namespace tongban::sso
