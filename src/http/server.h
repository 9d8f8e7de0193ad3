// Server: tongban's HTTP/1.1 server (Boost.Asio, plain TCP: TLS ends at the
// load balancer). One io_context per thread; each connection lives on one
// thread, so the hot path takes no locks and a 1 s sweep, not per-read
// timers, enforces the timeouts. Work a handler defers (Response::Defer) runs
// on a separate pool, so a password hash never stalls an I/O thread's other
// connections. src/app builds it from ServerConfig.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/metrics.h"
#include "http/router.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace tongban::http {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";  // an IPv4 or IPv6 address; "::" = all
  uint16_t port = 8080;                    // 0 = any free port (see Server::port())
  int threads = 0;                         // I/O threads; 0 = one per hardware core
  // Threads that run deferred work (Response::Defer: password hashing,
  // directory writes) so that it never holds up an I/O thread; 0 = one per
  // hardware core, at least two.
  int blocking_threads = 0;
  size_t max_header_bytes = 16 * 1024;  // request line + headers; over = 431
  size_t max_body_bytes = 1024 * 1024;  // over = 413
  // Path prefixes whose requests may carry larger bodies (uploads), each with
  // its own limit: {"/approval/api/", 20 MiB}. Every other path keeps
  // max_body_bytes, so an upload route's allowance is no one else's.
  std::vector<std::pair<std::string, size_t>> larger_bodies = {};
  // A keep-alive connection waiting for its next request is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // From a request's first byte until it is complete, and for writing a
  // response; a slower client is disconnected.
  std::chrono::milliseconds read_timeout{15'000};
  // Stop() waits this long for in-flight requests before closing them.
  std::chrono::milliseconds shutdown_timeout{10'000};
  // Peers whose X-Forwarded-For is believed: addresses or CIDR blocks.
  std::vector<std::string> trusted_proxies = {};
  // One "access" log line per request: method, route label, status, bytes,
  // microseconds, client address. Never the query string or the body.
  bool access_log = true;
  // Open connections at most; 0 = the file-descriptor limit (RLIMIT_NOFILE)
  // less a reserve for the database, logs and outbound calls, which is also
  // the most a larger value is lowered to (with a warning). At the cap a
  // new connection closes the longest-idle keep-alive connection to make
  // room; with none idle it gets 503 and is closed.
  size_t max_connections = 0;
  // Open connections from one client at most (0 = no cap), so that one
  // client cannot take every descriptor: an IPv4 address, or an IPv6 /64
  // (ClientNetwork). Trusted proxies, which carry many clients, are exempt.
  // Over it a new connection gets 503 and is closed.
  size_t max_connections_per_ip = 256;
  // Sent as Strict-Transport-Security on every response when not empty
  // (e.g. "max-age=31536000"): for an https public URL.
  std::string strict_transport_security = {};
};

// Companions of each I/O thread's event loop (e.g. a Redis connection per
// I/O thread, so that its replies need no thread hand-off). Each runs on
// the I/O thread itself, with the loop that thread runs.
struct IoThreadHooks {
  std::function<void(boost::asio::io_context&)> start;     // before it serves
  // When the server begins to stop: close whatever would keep the loop
  // running once idle (an open socket with a read pending).
  std::function<void(boost::asio::io_context&)> stopping;
  // After its loop has run out, before any loop is destroyed.
  std::function<void(boost::asio::io_context&)> stopped;
};

class Server {
 public:
  // `router` and `metrics` must outlive the server; the router must not
  // change once Listen() was called.
  Server(const Router& router, Metrics& metrics, ServerOptions options);
  // Run() must have returned (or never been called): call Stop() and join first.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket, so that port() is known (connections wait
  // in the kernel's queue) before the routes that need the address are
  // built. Fails (kUnavailable) when the address is taken or not local,
  // (kInvalidArgument) on a bad option. Optional: Listen() binds if needed.
  Status Bind();
  // Binds (unless Bind() did) and starts accepting. Call once, before Run().
  Status Listen();
  // The port bound: the configured one, or the one picked for 0.
  uint16_t port() const;
  // The connection cap in effect (ServerOptions::max_connections resolved).
  size_t max_connections() const;

  // Serves on options.threads threads (the caller's is one of them) until
  // Stop(), then returns once in-flight requests are done or
  // shutdown_timeout passed. A server runs once.
  void Run();

  // Call before Run(); see IoThreadHooks.
  void SetIoThreadHooks(IoThreadHooks hooks);

  // Thread-safe, idempotent, returns at once: stops accepting, closes idle
  // connections, lets requests being read or handled finish (their response
  // says Connection: close). May be called before Run() or from a handler.
  void Stop();

  // Calls Stop() on SIGINT or SIGTERM while Run() runs. Call after a
  // successful Listen(), before Run().
  void StopOnSignals();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::http
