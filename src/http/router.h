// Router: maps (method, decoded path) to a handler. Routes are exact paths or
// path prefixes (longest prefix wins). src/app registers every route before
// the Server starts; lookups are then read-only and safe from all threads.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/response.h"

namespace tongban::http {

// Runs synchronously on a server I/O thread: must not block for long. An
// exception escaping it becomes a 500 (see Server).
using Handler = std::function<void(const Request&, Response&)>;

// Who answers a request whose parameters could not be read
// (Request::param_error): the server, with a 400 JSON error, or the handler,
// which answers in its protocol's own terms (the SSO interfaces' codes).
enum class ParamErrors : uint8_t { kServer, kHandler };

class Router {
 public:
  static constexpr size_t kNoRoute = std::numeric_limits<size_t>::max();

  struct Match {
    const Handler* handler = nullptr;  // set when status == 0
    int status = 0;                    // 0 = found, 404 = no such path, 405 = wrong method
    size_t route = kNoRoute;           // index of the matched (or, for 405, path-owning) route
  };

  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // `method` is "GET", "POST", ... or "*" for any method; a GET route also
  // answers HEAD unless a HEAD route exists. `label` names the route in
  // metrics and the access log (keep it a pattern, not a raw path); empty =
  // the path itself for Add, the prefix followed by '*' for AddPrefix.
  // Throws std::invalid_argument when the path does not start with '/' or
  // the same (method, path) is registered twice: start-up errors.
  void Add(std::string_view method, std::string_view path, Handler handler,
           std::string_view label = {}, ParamErrors param_errors = ParamErrors::kServer);
  // Matches every path that starts with `prefix` ("/static/" matches
  // "/static/app.js"). Among prefixes the longest matching one wins.
  void AddPrefix(std::string_view method, std::string_view prefix, Handler handler,
                 std::string_view label = {});

  // Exact routes are tried first, then prefixes from longest to shortest; the
  // first route whose method fits wins (explicit method before "*"). When
  // routes match the path but none the method, the result is 405, else 404.
  Match Find(std::string_view method, std::string_view path) const;

  // "GET, HEAD, POST": what the 405 answer's Allow header lists for `path`.
  std::string AllowedMethods(std::string_view path) const;

  size_t size() const;
  std::string_view label(size_t route) const;
  ParamErrors param_errors(size_t route) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::http
