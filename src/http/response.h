// Response: what a handler fills in — status, content type, body, extra
// headers, cookies, redirects. The Server adds Date, Content-Length and
// Connection itself and reuses one Response per connection.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "http/cookie.h"

namespace tongban::http {

inline constexpr std::string_view kJsonType = "application/json;charset=utf-8";
inline constexpr std::string_view kXmlType = "text/xml;charset=utf-8";
inline constexpr std::string_view kTextType = "text/plain;charset=utf-8";
inline constexpr std::string_view kHtmlType = "text/html;charset=utf-8";

class Response;

// What a handler that suspended its response (Response::Suspend) calls, once,
// from any thread, when the I/O it waited on has completed: `finish` fills
// in the response on the connection's I/O thread and the server sends it.
// Copyable; calls after the first are ignored.
class Resumer {
 public:
  void operator()(std::function<void(Response&)> finish) const;

  // Shared by the Resumer's copies and the server (or RunDeferred).
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool resumed = false;
    std::function<void(Response&)> finish;  // set by the Resumer until taken
    // Set by whoever waits once the handler has returned: hands `finish` on
    // (the server posts it to the connection's I/O thread).
    std::function<void(std::function<void(Response&)>)> deliver;
  };
  std::shared_ptr<State> state;
};

class Response {
 public:
  int status() const { return status_; }
  void set_status(int status) { status_ = status; }

  std::string_view content_type() const { return content_type_; }
  void set_content_type(std::string_view type) { content_type_.assign(type); }

  std::string& body() { return body_; }
  const std::string& body() const { return body_; }
  void set_body(std::string body) { body_ = std::move(body); }

  // Adds a header line. Throws std::invalid_argument (a programming error,
  // which the server turns into a 500) when the name is not a token, the value
  // holds CR, LF or NUL, or the name is one the server manages
  // (Content-Length, Transfer-Encoding, Connection, Date, Content-Type).
  void AddHeader(std::string_view name, std::string_view value);
  // The first extra header called `name` (case-insensitive).
  std::optional<std::string_view> Header(std::string_view name) const;
  // The extra headers as written on the wire, each "Name: value\r\n".
  std::string_view raw_headers() const { return headers_; }

  // Adds a Set-Cookie header; see FormatSetCookie for what throws.
  void SetCookie(std::string_view name, std::string_view value, const CookieOptions& options = {});

  // Sets `status` (301, 302, 303, 307 or 308) and a Location header. Bytes
  // not allowed in a URL (controls, space, non-ASCII) are percent-encoded, so
  // a URL taken from a parameter cannot split the header.
  void Redirect(std::string_view url, int status = 302);

  void SetText(int status, std::string_view text);  // text/plain;charset=utf-8
  void SetJson(int status, std::string_view json);  // application/json;charset=utf-8
  // {"error":"<error>","message":"<message>"} as JSON, both escaped.
  void SetJsonError(int status, std::string_view error, std::string_view message);

  // Ask the server to close the connection after sending this response.
  void set_close_connection(bool close) { close_connection_ = close; }
  bool close_connection() const { return close_connection_; }

  // The rest of this request's work blocks (a password hash, a directory
  // write): the Server runs `work` on its pool of blocking threads instead of
  // the I/O thread, whose other connections would wait behind it, and sends
  // the response once `work` has filled it in. The handler's Request stays
  // valid and unchanged until then. Whoever calls a handler outside a Server
  // (a test) calls RunDeferred() after it.
  void Defer(std::function<void(Response&)> work) { deferred_ = std::move(work); }
  bool deferred() const { return static_cast<bool>(deferred_); }

  // The rest of this request waits on asynchronous I/O (a Redis reply): the
  // handler returns at once, the I/O thread serves other connections, and
  // the response is sent once the returned Resumer has been called (it may
  // be called before the handler returns: then no thread switch happens).
  // The Request stays valid until then. RunDeferred() waits for it (tests).
  // The Resumer's `finish` may itself Suspend (a second asynchronous call)
  // or Defer (work that needs the blocking pool) the rest again.
  Resumer Suspend();
  bool suspended() const { return suspension_ != nullptr; }
  // The suspension, handed to the server (and forgotten here).
  std::shared_ptr<Resumer::State> TakeSuspension() { return std::move(suspension_); }
  // Runs the deferred work, if any, here and now (and whatever that work
  // defers in turn), and forgets it. An exception from it propagates.
  void RunDeferred();
  // The server's half of RunDeferred: runs deferred work until none is left
  // or the work suspended the response (it handed the rest to asynchronous
  // I/O, e.g. a group commit); the suspension stays for the server to await
  // on the I/O thread instead of blocking this thread on it.
  void RunDeferredUntilSuspended();

  // Back to a fresh 200 with no headers or body, keeping allocated storage.
  void Reset();

 private:
  int status_ = 200;
  bool close_connection_ = false;
  std::string content_type_;
  std::string body_;
  std::string headers_;
  std::function<void(Response&)> deferred_;
  std::shared_ptr<Resumer::State> suspension_;
};

}  // namespace tongban::http
