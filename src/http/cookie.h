// Cookies: finding one cookie in a request's Cookie header and formatting a
// Set-Cookie header value. Request::Cookie and Response::SetCookie use these;
// the SSO session cookie is their main client.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tongban::http {

enum class SameSite { kNone, kLax, kStrict, kUnset };

struct CookieOptions {
  std::string path = "/";
  std::string domain = {};  // empty = host-only cookie
  // Unset = a session cookie (gone when the browser closes); zero or
  // negative = delete the cookie now.
  std::optional<std::chrono::seconds> max_age = {};
  bool http_only = true;
  bool secure = false;  // true when the public URL is https (TLS ends at the balancer)
  SameSite same_site = SameSite::kLax;
};

// The value of the first cookie called `name` in a Cookie header value
// ("a=1; b=2"), without surrounding double quotes; nullopt when absent.
std::optional<std::string_view> FindCookie(std::string_view cookie_header, std::string_view name);

// The value for a Set-Cookie header. Throws std::invalid_argument when `name`
// is not an RFC 6265 token or `value` holds bytes outside cookie-octet
// (space, '"', ',', ';', '\\', controls, non-ASCII): a programming error;
// encode such values first (e.g. UrlEncode). SameSite=None implies Secure.
std::string FormatSetCookie(std::string_view name, std::string_view value,
                            const CookieOptions& options = {});

}  // namespace tongban::http
