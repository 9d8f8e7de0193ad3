#include "http/cookie.h"

#include <stdexcept>

namespace tongban::http {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsTokenChar(unsigned char c) {
  if (c <= 0x20 || c >= 0x7F) return false;
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=': case '{':
    case '}':
      return false;
    default:
      return true;
  }
}

bool IsCookieOctet(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
         (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

// Attribute values (path, domain) end at ';' and must not contain controls.
bool IsAttributeValue(std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7F || c == ';') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> FindCookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (TrimSpaces(pair.substr(0, eq)) != name) continue;
    std::string_view value = TrimSpaces(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return std::nullopt;
}

std::string FormatSetCookie(std::string_view name, std::string_view value,
                            const CookieOptions& options) {
  if (name.empty()) throw std::invalid_argument("cookie name is empty");
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) throw std::invalid_argument("cookie name is not a token");
  }
  for (unsigned char c : value) {
    if (!IsCookieOctet(c)) throw std::invalid_argument("cookie value has a forbidden byte");
  }
  if (!IsAttributeValue(options.path) || !IsAttributeValue(options.domain)) {
    throw std::invalid_argument("cookie path or domain has a forbidden byte");
  }
  std::string out;
  out.reserve(name.size() + value.size() + 64);
  out.append(name);
  out.push_back('=');
  out.append(value);
  if (!options.path.empty()) {
    out += "; Path=";
    out += options.path;
  }
  if (!options.domain.empty()) {
    out += "; Domain=";
    out += options.domain;
  }
  if (options.max_age) {
    long long seconds = options.max_age->count();
    out += "; Max-Age=";
    out += std::to_string(seconds > 0 ? seconds : 0);
    // Old browsers ignore Max-Age; an Expires in the past deletes there too.
    if (seconds <= 0) out += "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
  }
  bool secure = options.secure || options.same_site == SameSite::kNone;
  if (secure) out += "; Secure";
  if (options.http_only) out += "; HttpOnly";
  switch (options.same_site) {
    case SameSite::kNone:
      out += "; SameSite=None";
      break;
    case SameSite::kLax:
      out += "; SameSite=Lax";
      break;
    case SameSite::kStrict:
      out += "; SameSite=Strict";
      break;
    case SameSite::kUnset:
      break;
  }
  return out;
}

}  // namespace tongban::http
