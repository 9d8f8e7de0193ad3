// Client: a small synchronous HTTP/1.1 client for server-to-app calls — the
// outbox's push of user/org changes and back-channel logout. One connection
// per call ("Connection: close"), a hard deadline per call, http:// and
// https:// (TLS 1.2+, certificate and host name always verified).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/outbound_policy.h"

namespace tongban::http {

struct ClientResponse {
  int status = 0;
  std::string body = {};
  std::vector<std::pair<std::string, std::string>> headers = {};

  // First header of that name, case-insensitive.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct ClientOptions {
  std::string user_agent = "tongban";
  size_t max_response_bytes = 8 * 1024 * 1024;  // larger = kTooLarge
  // Extra PEM CA bundle trusted for https besides the system store, for
  // private (e.g. government) CAs. Empty = the system store only.
  std::string ca_file = {};
  // Tests against ad-hoc servers only; never set in production wiring.
  bool insecure_skip_verify = false;
  // Addresses this client may connect to; none = any. Calls to a refused
  // address fail with kPermissionDenied before any byte is sent.
  std::shared_ptr<const OutboundPolicy> policy = {};
};

// Thread-safe: every call uses its own connection and I/O context. Redirects
// are not followed (a 3xx is returned as it is).
class Client {
 public:
  explicit Client(ClientOptions options = {});

  // Every call fails with kInvalidArgument for a URL that is not
  // http[s]://host[:port][/path][?query], kUnavailable when the host cannot be
  // resolved or reached, the TLS handshake or certificate verification fails
  // (the message names why), the connection breaks, or `timeout` (covering the
  // whole call: resolve, connect, handshake, send, receive) passes, kTooLarge for an
  // oversized response, and kPermissionDenied when the options' policy refuses
  // every address the host has. Any HTTP status, 500 included, is a success value.
  // Error messages never contain the URL's query (it may carry secrets).
  Result<ClientResponse> Get(std::string_view url, std::chrono::milliseconds timeout) const;
  Result<ClientResponse> Post(std::string_view url, std::string_view content_type,
                              std::string_view body, std::chrono::milliseconds timeout) const;
  // POSTs `params` as application/x-www-form-urlencoded;charset=UTF-8.
  Result<ClientResponse> PostForm(std::string_view url,
                                  const std::vector<std::pair<std::string, std::string>>& params,
                                  std::chrono::milliseconds timeout) const;

  // The general form: `headers` are added as given.
  Result<ClientResponse> Send(std::string_view method, std::string_view url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view body, std::chrono::milliseconds timeout) const;

 private:
  ClientOptions options_;
};

// One connection kept open between calls, for a sender that posts many
// requests one after another to the same server (the payment unit notifier's
// GetPay_Info burst): no connect, no new I/O context per call. http:// only;
// an https:// URL (or a call to another origin than the open connection's)
// is sent as Client::Send does, on a connection of its own. The connection
// is closed after a failure, a response that asks for it ("Connection:
// close", HTTP/1.0) or stray bytes after a response. A call on a reused
// connection that the server had closed meanwhile (nothing received back) is
// sent once more on a fresh connection — so a request may reach the server
// twice: use it only where the receiver deduplicates (PAYNO).
// Not thread-safe: one caller at a time.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(ClientOptions options = {});
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  // As Client::PostForm / Client::Send.
  Result<ClientResponse> PostForm(std::string_view url,
                                  const std::vector<std::pair<std::string, std::string>>& params,
                                  std::chrono::milliseconds timeout);
  Result<ClientResponse> Send(std::string_view method, std::string_view url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view body, std::chrono::milliseconds timeout);
  // Several form POSTs to one http:// URL, pipelined on the kept connection
  // (HTTP/1.1 allows it: every request written at once, the responses read
  // in order), so a burst costs one write and few reads instead of a round
  // trip per call. One result per form, in order: a response (any status) or
  // kUnavailable for a form that got none — it may still have reached the
  // server, so use it only where the receiver deduplicates (PAYNO). A
  // response that closes the connection ends the exchange there. A reused
  // connection found closed before anything came back is tried once more on
  // a fresh one, as Send does. Servers that mishandle pipelining exist: once
  // an exchange to an origin ends with some forms unanswered, that origin
  // gets one call at a time (Send's way) for the life of this client; so do
  // https:// URLs. `timeout` covers the whole exchange.
  std::vector<Result<ClientResponse>> PostFormPipelined(
      std::string_view url,
      const std::vector<std::vector<std::pair<std::string, std::string>>>& forms,
      std::chrono::milliseconds timeout);
  // Connections opened so far (tests, bench: reuse shows as fewer than calls).
  int64_t connections_opened() const { return opened_; }
  // Pipelined exchanges so far (tests: one a burst, or none once refused).
  int64_t pipelined_exchanges() const { return pipelined_; }

 private:
  struct Conn;
  ClientOptions options_;
  Client fallback_;
  std::unique_ptr<Conn> conn_;
  int64_t opened_ = 0;
  int64_t pipelined_ = 0;
  std::vector<std::string> no_pipelining_;  // origins (host:port) that got one at a time
};

}  // namespace tongban::http
