// What the standard-protocol endpoints (CAS in cas_*.cc, OpenID Connect in
// oidc_*.cc) share: the browser's SSO session as they see it, where to send a
// browser to log in, checks of the redirect URLs apps send, the public base
// URL, back-channel notices to apps (CAS single logout, OIDC back-channel
// logout) and their small HTML pages. Built by src/app; used by cas and oidc.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.h"
#include "directory/model.h"
#include "http/client.h"
#include "http/request.h"
#include "http/response.h"
#include "sso/context.h"
#include "sso/sessions.h"

namespace tongban::sso {

// A logged-in browser: its SSO session and user.
struct BrowserLogin {
  std::string session_id;  // secret: the session cookie's value; never put it in a URL
  std::string public_id;   // names the session to apps (the OIDC "sid" claim)
  std::string userid;
  int64_t auth_time_ms = 0;  // when the user last entered credentials
  std::string factors = "pwd";  // of that authentication (Session::factors)

  // A one-time code from an authenticator app or by SMS besides the password.
  bool HasSecondFactor() const {
    return factors.find("otp") != std::string::npos || factors.find("sms") != std::string::npos;
  }
};

// The SSO session machinery as CAS and OIDC use it. The production
// implementation reads the session cookie of the login flow (usp.do); tests
// use a fake.
class BrowserSessions {
 public:
  virtual ~BrowserSessions() = default;
  // The request's live SSO session, or nullopt.
  virtual std::optional<BrowserLogin> Current(const http::Request& request) = 0;
  // Current without waiting on the store: `done` runs once, on whichever
  // thread the store answers on (default: Current here and now).
  using CurrentDone = std::function<void(std::optional<BrowserLogin>)>;
  virtual void CurrentAsync(const http::Request& request, CurrentDone done) {
    done(Current(request));
  }
  // The live SSO session `session_id` names (as Current would give it),
  // nullopt once it has ended or expired; an error when the store cannot
  // say (callers fail closed). Its lifetime is left as it is.
  virtual Result<std::optional<BrowserLogin>> Live(std::string_view session_id) = 0;
  // Where to send the browser to log in (again, when `force`) and then come
  // back to `return_url`, an absolute URL of one of this server's endpoints.
  virtual std::string LoginUrl(const http::Request& request, std::string_view return_url,
                               bool force) = 0;
  // Where to send the browser to end its SSO session everywhere (unified
  // logout) and then come back to `return_url` (one of this server's URLs).
  virtual std::string LogoutUrl(const http::Request& request, std::string_view return_url) = 0;
};

// BrowserSessions of the login flow on {ctx}/usp.do: the TBSSO cookie names a
// browser session of the SessionStore; logging in and out goes through
// usp.do with a `goto` back to CAS or OIDC (usp.do accepts this server's own
// URLs as goto). A forced login (CAS renew, OIDC prompt=login or max_age)
// adds renew=true: the login page then asks for the password even with a live
// session, and the same user re-authenticates inside it (no logout elsewhere).
class LoginPageSessions final : public BrowserSessions {
 public:
  LoginPageSessions(const SsoSettings& settings, SessionStore& sessions)
      : settings_(settings), sessions_(sessions) {}
  std::optional<BrowserLogin> Current(const http::Request& request) override;
  void CurrentAsync(const http::Request& request, CurrentDone done) override;
  Result<std::optional<BrowserLogin>> Live(std::string_view session_id) override;
  std::string LoginUrl(const http::Request& request, std::string_view return_url,
                       bool force) override;
  std::string LogoutUrl(const http::Request& request, std::string_view return_url) override;

 private:
  const SsoSettings& settings_;
  SessionStore& sessions_;
};

// Sends one notice to an app on a background thread, so a logout handler
// never waits for an app. Best effort, as CAS servers do for single logout:
// a failed POST is logged, not retried (the app's own session expiry is the
// safety net; the tokens it holds are already revoked).
class BackChannel {
 public:
  virtual ~BackChannel() = default;
  virtual void Post(std::string url, std::string content_type, std::string body) = 0;
};

// BackChannel over http::Client with one worker thread and a bounded queue
// (notices beyond `max_queue` are dropped with a warning).
class ThreadedBackChannel final : public BackChannel {
 public:
  explicit ThreadedBackChannel(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                               size_t max_queue = 10'000, http::ClientOptions client_options = {});
  // Finishes the notice in flight (bounded by the timeout), drops the rest
  // with a warning, and joins: shutting down must not wait on slow apps.
  ~ThreadedBackChannel() override;
  void Post(std::string url, std::string content_type, std::string body) override;

 private:
  struct Item {
    std::string url;
    std::string content_type;
    std::string body;
  };
  void Run();

  std::chrono::milliseconds timeout_;
  size_t max_queue_;
  http::ClientOptions client_options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

// How a redirect URL an app sends is checked against its callback_urls.
// Both sides are compared in RFC 3986 normal form (http::NormaliseHttpUrl),
// so an escaped dot segment cannot climb out of a prefix; a URL the
// normaliser refuses (double escapes, "..;", user info, ...) or whose path has
// any dot segment at all matches nothing. Returns the length of the longest
// matching normalised prefix (prefix at a boundary, see
// directory::UrlUnderPrefix), 0 when none matches.
size_t CallbackMatch(const directory::App& app, std::string_view url);
// The normal form CallbackMatch compares `url` in; "" when it is refused or
// its path has a dot segment. For callers that keep prefixes normalised.
std::string CallbackForm(std::string_view url);

// `url` may receive a browser sent by tongban on the app's behalf as a
// prefix match (CAS service and targetService, OIDC redirect URIs in the
// compatibility mode): at most 2048 bytes, no fragment, and CallbackMatch.
bool RedirectAllowed(const directory::App& app, std::string_view url);

// `uri` is, byte for byte, one of the app's callback_urls: the exact match
// OIDC Core 3.1.2.1 and RFC 9700 §4.1.3 require of redirect_uri and
// post_logout_redirect_uri. It must also pass RedirectAllowed, so a
// registered entry that is itself unsafe is never used.
bool RedirectUriRegistered(const directory::App& app, std::string_view uri);

// The external base URL (scheme://host[:port], no trailing slash): the
// configured public_url, else http:// and the request's Host header.
std::string PublicBase(const SsoSettings& settings, const http::Request& request);

// A minimal HTML page with a heading and a message (both escaped), with the
// headers of ProtectPage.
void SetHtmlPage(http::Response& response, int status, std::string_view title,
                 std::string_view message);
// no-store, no framing, no sniffing, a CSP allowing only inline styles and
// forms posting back here: for every page CAS and OIDC render themselves.
void ProtectPage(http::Response& response);

// application/x-www-form-urlencoded credentials from an "Authorization: Basic"
// header (RFC 6749 §2.3.1: both parts form-encoded before Base64).
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> ParseBasicAuth(const http::Request& request);

// TicketStore key parts are hex digests of secrets, so a dump of the store
// never reveals a usable ticket or token.
std::string SecretKey(std::string_view prefix, std::string_view secret);

}  // namespace tongban::sso
