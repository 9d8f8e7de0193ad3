#include "http/url.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "http/strings.h"

namespace tongban::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

bool PercentDecodeAppend(std::string_view in, bool plus_is_space, std::string& out) {
  size_t i = 0;
  while (i < in.size()) {
    // Copy the run of bytes that need no decoding in one go.
    size_t run = i;
    while (run < in.size() && in[run] != '%' && !(plus_is_space && in[run] == '+')) ++run;
    out.append(in.data() + i, run - i);
    i = run;
    if (i == in.size()) break;
    if (in[i] == '+') {
      out.push_back(' ');
      ++i;
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]);
    int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 3;
  }
  return true;
}

namespace {

std::string_view Shorten(std::string_view name) {
  return name.size() <= 64 ? name : name.substr(0, 64);
}

std::string BadParam(std::string_view name, const char* what) {
  if (!IsValidUtf8(name)) return std::string("a parameter name ") + what;
  std::string m = "parameter '";
  m.append(Shorten(name));
  m += "': value ";
  m += what;
  return m;
}

enum class DecodeResult { kOk, kBadEscape, kNotText };

// Percent-decodes `in` into `out` as UTF-8. UTF-8 input, nearly every
// request, is decoded in place and checked; other charsets go through
// `scratch` and are converted.
DecodeResult DecodeFormText(std::string_view in, Charset charset, std::string& scratch,
                            std::string& out) {
  if (charset == Charset::kUtf8) {
    if (!PercentDecodeAppend(in, true, out)) return DecodeResult::kBadEscape;
    return IsValidUtf8(out) ? DecodeResult::kOk : DecodeResult::kNotText;
  }
  scratch.clear();
  if (!PercentDecodeAppend(in, true, scratch)) return DecodeResult::kBadEscape;
  return AppendAsUtf8(scratch, charset, out) ? DecodeResult::kOk : DecodeResult::kNotText;
}

}  // namespace

void Params::Add(std::string_view name, std::string_view value, ParamSource source) {
  Slot slot;
  slot.name_offset = static_cast<uint32_t>(storage_.size());
  slot.name_size = static_cast<uint32_t>(name.size());
  storage_.append(name);
  slot.value_offset = static_cast<uint32_t>(storage_.size());
  slot.value_size = static_cast<uint32_t>(value.size());
  storage_.append(value);
  slot.source = source;
  slots_.push_back(slot);
}

Params::Entry Params::at(size_t i) const {
  const Slot& s = slots_[i];
  std::string_view all(storage_);
  return Entry{all.substr(s.name_offset, s.name_size), all.substr(s.value_offset, s.value_size),
               s.source};
}

std::optional<std::string_view> Params::Get(std::string_view name) const {
  std::optional<std::string_view> from_query;
  std::string_view all(storage_);
  for (const Slot& s : slots_) {
    if (all.substr(s.name_offset, s.name_size) != name) continue;
    std::string_view value = all.substr(s.value_offset, s.value_size);
    if (s.source == ParamSource::kBody) return value;
    if (!from_query) from_query = value;
  }
  return from_query;
}

std::string_view Params::GetOr(std::string_view name, std::string_view fallback) const {
  return Get(name).value_or(fallback);
}

std::vector<std::string_view> Params::GetAll(std::string_view name) const {
  std::vector<std::string_view> body;
  std::vector<std::string_view> query;
  std::string_view all(storage_);
  for (const Slot& s : slots_) {
    if (all.substr(s.name_offset, s.name_size) != name) continue;
    (s.source == ParamSource::kBody ? body : query)
        .push_back(all.substr(s.value_offset, s.value_size));
  }
  body.insert(body.end(), query.begin(), query.end());
  return body;
}

void Params::Clear() {
  storage_.clear();
  slots_.clear();
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (unsigned char c : s) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::string> UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  if (!PercentDecodeAppend(s, /*plus_is_space=*/true, out)) {
    return Error::InvalidArgument("malformed percent-encoding");
  }
  return out;
}

Result<std::string> UrlDecodePath(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  if (!PercentDecodeAppend(s, /*plus_is_space=*/false, out)) {
    return Error::InvalidArgument("malformed percent-encoding in path");
  }
  return out;
}

Status ParseQueryInto(std::string_view encoded, ParamSource source, Params& out, Charset charset) {
  // Decoded name and value are built in these and then copied into `out`;
  // thread_local keeps their capacity across requests on a server thread.
  thread_local std::string name;
  thread_local std::string value;
  thread_local std::string raw;
  const char* not_text =
      charset == Charset::kUtf8 ? "is not valid UTF-8" : "is not valid GBK/GB18030";
  size_t pos = 0;
  while (pos <= encoded.size()) {
    size_t amp = encoded.find('&', pos);
    if (amp == std::string_view::npos) amp = encoded.size();
    std::string_view pair = encoded.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    name.clear();
    value.clear();
    DecodeResult decoded = DecodeFormText(raw_name, charset, raw, name);
    if (decoded == DecodeResult::kBadEscape) {
      return Error::InvalidArgument("a parameter name has malformed percent-encoding");
    }
    if (decoded == DecodeResult::kNotText) {
      return Error::InvalidArgument(std::string("a parameter name ") + not_text);
    }
    decoded = DecodeFormText(raw_value, charset, raw, value);
    if (decoded == DecodeResult::kBadEscape) {
      return Error::InvalidArgument(BadParam(name, "has malformed percent-encoding"));
    }
    if (decoded == DecodeResult::kNotText) return Error::InvalidArgument(BadParam(name, not_text));
    out.Add(name, value, source);
  }
  return Status::Ok();
}

Result<Params> ParseQuery(std::string_view encoded) {
  Params params;
  TB_RETURN_IF_ERROR(ParseQueryInto(encoded, ParamSource::kQuery, params));
  return params;
}

std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += UrlEncode(key);
    out.push_back('=');
    out += UrlEncode(value);
  }
  return out;
}

namespace {

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

// May stand unescaped in a path segment (RFC 3986 pchar without '%').
bool IsPathChar(unsigned char c) {
  return IsUnreserved(c) || c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' ||
         c == '*' || c == '+' || c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

Error Refused(std::string_view why) {
  std::string m("URL refused: ");
  m.append(why);
  return Error::InvalidArgument(std::move(m));
}

// `seg` (escapes normalised) stripped of a path parameter (";..." or an
// escaped ";") is "." or "..", and a parameter was there.
bool DotSegmentWithParameter(std::string_view seg) {
  size_t cut = std::min(seg.find(';'), seg.find("%3B"));
  if (cut == std::string_view::npos) return false;
  std::string_view head = seg.substr(0, cut);
  return head == "." || head == "..";
}

}  // namespace

Result<std::string> NormaliseHttpUrl(std::string_view url, bool* removed_dot_segments) {
  if (removed_dot_segments != nullptr) *removed_dot_segments = false;
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (url.size() > 8192) return Refused("too long");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') {
      return Refused("whitespace, a control character or a backslash");
    }
  }
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return Refused("not an absolute URL");
  std::string out;
  out.reserve(url.size() + 8);
  for (char c : url.substr(0, scheme_end)) out.push_back(AsciiLower(c));
  if (out != "http" && out != "https") return Refused("not http or https");
  out.append("://");
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return Refused("no host");
  for (char c : authority) {
    if (!IsHostChar(c)) return Refused("user info or an unusual character in the host");
    out.push_back(AsciiLower(c));
  }
  rest.remove_prefix(authority.size());
  const size_t path_end = rest.find_first_of("?#");
  std::string_view path = rest.substr(0, path_end);
  std::string_view tail =
      path_end == std::string_view::npos ? std::string_view() : rest.substr(path_end);
  if (path.empty()) {
    out.append(tail);
    return out;
  }

  // remove_dot_segments over whole segments: `kept` ends where each output
  // segment starts, so ".." drops the last one.
  std::vector<size_t> kept;
  std::string seg;
  path.remove_prefix(1);  // the path of an absolute URL starts with '/'
  while (true) {
    const size_t slash = path.find('/');
    const bool last = slash == std::string_view::npos;
    std::string_view raw = path.substr(0, slash);
    seg.clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      auto c = static_cast<unsigned char>(raw[i]);
      if (c != '%') {
        if (IsPathChar(c)) {
          seg.push_back(static_cast<char>(c));
        } else {
          seg.push_back('%');
          seg.push_back(kHex[c >> 4]);
          seg.push_back(kHex[c & 15]);
        }
        continue;
      }
      int hi = i + 2 < raw.size() ? HexValue(raw[i + 1]) : -1;
      int lo = i + 2 < raw.size() ? HexValue(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Refused("a malformed escape in the path");
      const auto v = static_cast<unsigned char>(hi * 16 + lo);
      if (v == '/' || v == '\\') return Refused("an escaped '/' or '\\' in the path");
      // An escaped '%' is refused outright: whatever follows it (literal hex
      // or more escapes, e.g. %25%32%65) a server that decodes twice would
      // read as a new escape, and no callback path needs one.
      if (v == '%') return Refused("an escaped '%' in the path (a double escape)");
      if (IsUnreserved(v)) {
        seg.push_back(static_cast<char>(v));
      } else {
        seg.push_back('%');
        seg.push_back(kHex[v >> 4]);
        seg.push_back(kHex[v & 15]);
      }
      i += 2;
    }
    if (DotSegmentWithParameter(seg)) return Refused("a dot segment with a path parameter");
    if (seg == "." || seg == "..") {
      if (removed_dot_segments != nullptr) *removed_dot_segments = true;
      if (seg == ".." && !kept.empty()) {
        out.resize(kept.back());
        kept.pop_back();
      }
      // A dot segment at the end leaves the directory: "/a/b/.." is "/a/".
      if (last) {
        kept.push_back(out.size());
        out.push_back('/');
      }
    } else {
      kept.push_back(out.size());
      out.push_back('/');
      out.append(seg);
    }
    if (last) break;
    path.remove_prefix(slash + 1);
  }
  out.append(tail);
  return out;
}

std::string AppendQuery(std::string_view url, std::string_view key, std::string_view value) {
  size_t hash = url.find('#');
  std::string_view base = url.substr(0, hash);
  std::string_view fragment = hash == std::string_view::npos ? std::string_view() : url.substr(hash);
  std::string out(base);
  size_t q = base.find('?');
  if (q == std::string_view::npos) {
    out.push_back('?');
  } else if (!base.ends_with('?') && !base.ends_with('&')) {
    out.push_back('&');
  }
  out += UrlEncode(key);
  out.push_back('=');
  out += UrlEncode(value);
  out.append(fragment);
  return out;
}

}  // namespace tongban::http
