#include "sso/packed_record.h"

#include <charconv>

namespace tongban::sso {
namespace {

void AppendEscaped(std::string& out, std::string_view f) {
  // A plain loop: string_view::find_first_of calls memchr once per byte.
  size_t run = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%' && f[i] != '|') continue;
    out.append(f.data() + run, i - run).append(f[i] == '%' ? "%25" : "%7C");
    run = i + 1;
  }
  out.append(f.data() + run, f.size() - run);
}

}  // namespace

std::string Pack(std::initializer_list<std::string_view> fields) {
  std::string out;
  size_t size = 0;
  for (std::string_view f : fields) size += f.size() + 1;
  out.reserve(size + 8);
  bool first = true;
  for (std::string_view f : fields) {
    if (!first) out.push_back('|');
    first = false;
    AppendEscaped(out, f);
  }
  return out;
}

std::string PackList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back('|');
    AppendEscaped(out, items[i]);
  }
  return out;
}

std::string Unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t pct; (pct = field.find('%')) != std::string_view::npos;) {
    out.append(field.substr(0, pct));
    std::string_view code = field.substr(pct, 3);
    if (code == "%25" || code == "%7C") {
      out.push_back(code == "%25" ? '%' : '|');
      field.remove_prefix(pct + 3);
    } else {
      out.push_back('%');
      field.remove_prefix(pct + 1);
    }
  }
  out.append(field);
  return out;
}

std::vector<std::string> Unpack(std::string_view record) {
  std::vector<std::string> fields;
  for (size_t bar; (bar = record.find('|')) != std::string_view::npos;) {
    fields.push_back(Unescape(record.substr(0, bar)));
    record.remove_prefix(bar + 1);
  }
  fields.push_back(Unescape(record));
  return fields;
}

bool ParseIntField(std::string_view text, int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string> UnpackList(std::string_view field) {
  if (field.empty()) return {};
  return Unpack(field);
}

}  // namespace tongban::sso
