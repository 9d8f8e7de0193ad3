// Request: one parsed HTTP request as a handler sees it — method, decoded
// path, headers, body, client address, cookies and the merged query + form
// parameters. Built by the Server (storage reused per connection) or by
// Request::Create for handler tests and in-process calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/url.h"

namespace tongban::http {

class TrustedProxies;

// Everything needed to build a Request without a socket.
struct RequestInit {
  std::string method = "GET";
  std::string target = "/";  // as on the request line: "/sso/servlet/ssoauth?method=x"
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string body = {};
  std::string peer_ip = "127.0.0.1";
  // false: Create fails on unreadable parameters, as the server answers 400
  // on most routes; true: the Request carries them in param_error(), as the
  // routes that render the error themselves receive it.
  bool keep_param_error = false;
};

class Request {
 public:
  Request() = default;

  // Builds a request exactly as the server would from these parts (path
  // decoding, query + form parsing, charset and UTF-8 checks). Fails with
  // InvalidArgument where the server would answer 400; the message is the
  // 400's message (see RequestInit::keep_param_error).
  static Result<Request> Create(const RequestInit& init);

  std::string_view method() const { return method_; }  // "GET", "POST", ...
  std::string_view target() const { return target_; }  // raw request-target
  // Percent-decoded path without the query: "/sso/usp.do". Always starts with
  // '/' (or is "*" for OPTIONS *), is valid UTF-8, and has no "." or ".."
  // segments and no NUL bytes: the server answers 400 to such paths.
  std::string_view path() const { return path_; }
  // The raw query string after '?', still encoded (may carry secrets: never log it).
  std::string_view query() const { return query_; }
  int version() const { return version_; }  // 10 or 11
  std::string_view body() const { return body_; }

  // First header of that name, compared case-insensitively.
  std::optional<std::string_view> Header(std::string_view name) const;
  size_t header_count() const { return headers_.size(); }
  std::pair<std::string_view, std::string_view> header_at(size_t i) const;

  // A cookie from the Cookie header(s); nullopt when absent.
  std::optional<std::string_view> Cookie(std::string_view name) const;

  // URL query merged with the form body (x-www-form-urlencoded in UTF-8 or
  // a declared GBK/GB18030, or multipart/form-data; see form.h); see
  // Params::Get for which value wins when a name is in both.
  const Params& params() const { return params_; }
  std::optional<std::string_view> Param(std::string_view name) const { return params_.Get(name); }
  std::string_view ParamOr(std::string_view name, std::string_view fallback = {}) const {
    return params_.GetOr(name, fallback);
  }
  // Why the query or form could not be read (InvalidArgument: a malformed
  // %-escape, bytes that are not text in the declared charset, a charset
  // tongban does not decode, a broken multipart body); params() then holds
  // the parameters read before the problem. The server answers such
  // requests with 400 itself unless the route takes ParamErrors::kHandler
  // (router.h), as the SSO interfaces do to answer with their result codes.
  const std::optional<Error>& param_error() const { return param_error_; }

  // The client's address: the socket peer, or the X-Forwarded-For client
  // when the peer is a trusted proxy (see TrustedProxies::ClientIp).
  std::string_view remote_ip() const { return remote_ip_; }
  std::string_view peer_ip() const { return peer_ip_; }

 private:
  friend class RequestParser;

  struct HeaderSlot {
    uint32_t name_offset;
    uint32_t name_size;
    uint32_t value_offset;
    uint32_t value_size;
  };

  // Empties the request for the next one on the connection, keeping storage.
  void Reset();
  void AddHeader(std::string_view name, std::string_view value);
  // Decodes the target, parses query and form, resolves remote_ip. Fails on
  // a bad target; unreadable parameters go to param_error_.
  Status Finish(const TrustedProxies& proxies);

  std::string method_;
  std::string target_;
  std::string path_;
  std::string query_;
  std::string body_;
  std::string header_data_;
  std::vector<HeaderSlot> headers_;
  Params params_;
  std::optional<Error> param_error_;
  std::string peer_ip_;
  std::string remote_ip_;
  int version_ = 11;
};

}  // namespace tongban::http
