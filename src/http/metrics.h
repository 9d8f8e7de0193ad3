// Metrics: request counters by route label and status, a latency histogram
// per route and connection gauges, rendered in the Prometheus text format.
// The Server records every request; src/app mounts GET /metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tongban::http {

class Metrics {
 public:
  // The counters of one route label. Opaque; obtained from Register.
  struct Series;

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The series for `route_label`, created on first use; the same label
  // always yields the same series. Takes a lock: call at start-up, not per
  // request. Labels must stay few (route patterns, never raw paths).
  Series* Register(std::string_view route_label);

  // Hot path: lock-free and allocation-free. `shard` spreads writers over
  // separate cache lines (the server passes its thread index); any value is
  // correct. Status codes outside the common set are counted as "other".
  void Observe(Series* series, int status, std::chrono::nanoseconds latency, unsigned shard);

  void ConnectionOpened();
  void ConnectionClosed();

  // Prometheus text exposition format (version 0.0.4):
  // tongban_http_requests_total{route,status}, tongban_http_request_duration_seconds
  // histogram per route, tongban_http_connections_open and _total.
  std::string RenderPrometheus() const;

  // The count of requests for `route_label` answered with `status` (tests
  // and diagnostics; takes a lock).
  uint64_t RequestCount(std::string_view route_label, int status) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::http
