// RequestParser: incremental HTTP/1.1 request parsing (Boost.Beast's
// basic_parser) straight into a reusable Request, without per-header
// allocations. Internal to the http module: the server's connections use it,
// and so do parser tests and fuzz targets through ParseRequestBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/request.h"

namespace tongban::http {

class TrustedProxies;

class RequestParser {
 public:
  enum class State { kNeedMore, kDone, kError };

  RequestParser(Request& request, size_t max_header_bytes, size_t max_body_bytes);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Path prefixes allowed a larger body than max_body_bytes, each with its
  // limit (ServerOptions::larger_bodies); the first matching prefix wins.
  // The bytes such bodies hold beyond max_body_bytes, summed over every parser
  // of the process, stay within `budget`: past it a request is refused with 503
  // (those routes check their caller only once the body is in).
  static constexpr int64_t kLargerBodiesBudget = int64_t{512} << 20;
  void SetLargerBodies(const std::vector<std::pair<std::string, size_t>>* larger,
                       int64_t budget = kLargerBodiesBudget);
  // The socket peer for every request of this connection.
  void SetPeer(std::string_view peer_ip);
  // Prepares for the next message: empties the request, keeping storage.
  void Begin();
  // Parses as much of `data` as forms the current message; returns the bytes
  // consumed (the rest belongs to the next, pipelined, message). After kError,
  // error_status() (400, 413, 431 or 503) and error_message() say why. A line
  // left unfinished (a chunk-size line, its extensions, a trailer) longer than
  // max_header_bytes is a 400.
  size_t Feed(std::string_view data, State& state);

  bool got_some() const;
  bool header_done() const;
  bool keep_alive() const;
  // The client sent "Expect: 100-continue" on HTTP/1.1 and the body is still to come.
  bool wants_continue() const;
  int error_status() const { return error_status_; }
  std::string_view error_message() const { return error_message_; }

  // Decodes the path, parses query and form, resolves remote_ip (see
  // Request). A failure is a 400 with the error's message.
  Status Finish(const TrustedProxies& proxies);

 private:
  struct Impl;  // holds the Beast parser, re-emplaced in place for each message
  Request& request_;
  std::unique_ptr<Impl> impl_;
  int error_status_ = 0;
  std::string error_message_;
};

// Parses one complete request from `bytes`, as a connection would. On
// failure the Error's code is the HTTP status the server would send (400,
// 413, 431) and its message the reason. For tests and fuzzing.
Result<Request> ParseRequestBytes(std::string_view bytes, size_t max_header_bytes = 16 * 1024,
                                  size_t max_body_bytes = 1024 * 1024);

}  // namespace tongban::http
