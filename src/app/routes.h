// Routes: every HTTP endpoint of a node, mounted on one router — operations
// (/healthz, /metrics), the SSO interfaces, and later subsystems — plus the
// background workers those endpoints rely on (outbox delivery).
#pragma once

#include <memory>
#include <string>

#include "app/node.h"
#include "http/metrics.h"
#include "http/router.h"

namespace tongban::app {

class Routes {
 public:
  Routes(Node& node, http::Metrics& metrics);
  ~Routes();

  // Fails when a configured part cannot be served (e.g. [console] dir).
  Status Register(http::Router& router);
  void StartBackground();
  void StopBackground();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::app
