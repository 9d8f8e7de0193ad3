#include "sso/cas_oidc_support.h"

#include <spdlog/spdlog.h>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "directory/directory.h"
#include "http/client.h"
#include "http/url.h"
#include "sso/html.h"

namespace tongban::sso {

namespace {

std::optional<BrowserLogin> LoginOf(Result<Session> session) {
  if (!session.ok()) {
    if (session.error().code != errc::kNotFound) {
      spdlog::error("session lookup failed: {}", session.error().message);
    }
    return std::nullopt;
  }
  return BrowserLogin{session->id, session->public_id, session->userid, session->created_ms,
                      session->factors};
}

}  // namespace

std::optional<BrowserLogin> LoginPageSessions::Current(const http::Request& request) {
  auto cookie = request.Cookie(kSessionCookieName);
  if (!cookie || cookie->empty()) return std::nullopt;
  return LoginOf(sessions_.Resume(*cookie));
}

void LoginPageSessions::CurrentAsync(const http::Request& request, CurrentDone done) {
  auto cookie = request.Cookie(kSessionCookieName);
  if (!cookie || cookie->empty()) return done(std::nullopt);
  sessions_.ResumeAsync(*cookie, [done = std::move(done)](Result<Session> session) {
    done(LoginOf(std::move(session)));
  });
}

Result<std::optional<BrowserLogin>> LoginPageSessions::Live(std::string_view session_id) {
  auto session = sessions_.FindLive(session_id);
  if (!session.ok() && session.error().code != errc::kNotFound) return std::move(session).error();
  return LoginOf(std::move(session));
}

std::string LoginPageSessions::LoginUrl(const http::Request& request, std::string_view return_url,
                                        bool force) {
  std::string login = PublicBase(settings_, request);
  login.append(settings_.context_path).append("/usp.do?action=ssoLogin");
  login = http::AppendQuery(login, "goto", return_url);
  // renew asks for the password even with a live session; the same user
  // re-authenticates inside it, so other apps stay signed in.
  if (force) login = http::AppendQuery(login, "renew", "true");
  return login;
}

std::string LoginPageSessions::LogoutUrl(const http::Request& request,
                                         std::string_view return_url) {
  std::string logout = PublicBase(settings_, request);
  logout.append(settings_.context_path).append("/usp.do?action=logout");
  return http::AppendQuery(logout, "goto", return_url);
}

ThreadedBackChannel::ThreadedBackChannel(std::chrono::milliseconds timeout, size_t max_queue,
                                         http::ClientOptions client_options)
    : timeout_(timeout),
      max_queue_(max_queue),
      client_options_(std::move(client_options)),
      worker_([this] { Run(); }) {}

ThreadedBackChannel::~ThreadedBackChannel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void ThreadedBackChannel::Post(std::string url, std::string content_type, std::string body) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= max_queue_) {
      spdlog::warn("back-channel: queue full, notice dropped");
      return;
    }
    queue_.push_back({std::move(url), std::move(content_type), std::move(body)});
  }
  cv_.notify_one();
}

void ThreadedBackChannel::Run() {
  http::Client client(client_options_);
  while (true) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        if (!queue_.empty()) {
          spdlog::warn("back-channel: {} notice(s) not sent at shutdown", queue_.size());
        }
        return;
      }
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    auto sent = client.Post(item.url, item.content_type, item.body, timeout_);
    // The URL's query may carry secrets: log the host part only.
    std::string_view where = item.url;
    where = where.substr(0, where.find('?'));
    if (!sent.ok()) {
      spdlog::warn("back-channel notice to {} failed: {}", where, sent.error().message);
    } else if (sent->status < 200 || sent->status > 299) {
      spdlog::warn("back-channel notice to {} answered HTTP {}", where, sent->status);
    }
  }
}

std::string CallbackForm(std::string_view url) {
  bool dot_segments = false;
  auto normal = http::NormaliseHttpUrl(url, &dot_segments);
  if (!normal.ok() || dot_segments) return {};
  return std::move(*normal);
}

size_t CallbackMatch(const directory::App& app, std::string_view url) {
  const std::string normal = CallbackForm(url);
  if (normal.empty()) return 0;
  size_t best = 0;
  for (const std::string& callback : app.callback_urls) {
    auto prefix = http::NormaliseHttpUrl(callback);
    if (!prefix.ok()) continue;
    if (prefix->size() > best && directory::UrlUnderPrefix(*prefix, normal)) best = prefix->size();
  }
  return best;
}

bool RedirectAllowed(const directory::App& app, std::string_view url) {
  if (url.size() > 2048 || url.find('#') != std::string_view::npos) return false;
  return CallbackMatch(app, url) > 0;
}

bool RedirectUriRegistered(const directory::App& app, std::string_view uri) {
  for (const std::string& callback : app.callback_urls) {
    if (callback == uri) return RedirectAllowed(app, uri);
  }
  return false;
}

std::string PublicBase(const SsoSettings& settings, const http::Request& request) {
  if (!settings.public_url.empty()) return settings.public_url;
  std::string_view host = request.Header("Host").value_or("");
  bool plain = !host.empty() && host.size() <= 255;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) plain = false;
  }
  std::string base = "http://";
  base.append(plain ? host : std::string_view("localhost"));
  return base;
}

void SetHtmlPage(http::Response& response, int status, std::string_view title,
                 std::string_view message) {
  std::string body =
      "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
  body.append(HtmlEscape(title));
  body.append("</title></head><body><h1>");
  body.append(HtmlEscape(title));
  body.append("</h1><p>");
  body.append(HtmlEscape(message));
  body.append("</p></body></html>\n");
  response.set_status(status);
  response.set_content_type(http::kHtmlType);
  ProtectPage(response);
  response.set_body(std::move(body));
}

void ProtectPage(http::Response& response) {
  response.AddHeader("Cache-Control", "no-store");
  response.AddHeader("X-Frame-Options", "DENY");
  response.AddHeader("X-Content-Type-Options", "nosniff");
  response.AddHeader("Referrer-Policy", "no-referrer");
  response.AddHeader("Content-Security-Policy",
                     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                     "frame-ancestors 'none'; base-uri 'none'");
}

std::optional<BasicCredentials> ParseBasicAuth(const http::Request& request) {
  auto header = request.Header("Authorization");
  if (!header) return std::nullopt;
  std::string_view value = *header;
  if (value.size() < 6 || (value.substr(0, 6) != "Basic " && value.substr(0, 6) != "basic ")) {
    return std::nullopt;
  }
  value.remove_prefix(6);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  auto decoded = crypto::Base64Decode(value);
  if (!decoded.ok()) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto user = http::UrlDecode(std::string_view(*decoded).substr(0, colon));
  auto password = http::UrlDecode(std::string_view(*decoded).substr(colon + 1));
  if (!user.ok() || !password.ok()) return std::nullopt;
  return BasicCredentials{std::move(*user), std::move(*password)};
}

std::string SecretKey(std::string_view prefix, std::string_view secret) {
  std::string key(prefix);
  key.append(crypto::Sha256Hex(secret));
  return key;
}

}  // namespace tongban::sso
