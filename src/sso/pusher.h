// Pusher: delivers the outbox to apps (SSO -> app pushes of directory changes
// and back-channel logout notices), signed, in order per app and entity (see
// store/outbox.h), with retries and back-off; a background thread owned by the
// node.
//
// Each message is POSTed as a form (servicecode, time, sign, method, args,
// datatype, describe) to the app's URL for the method (push_urls), else its
// push_url, or to its logout_url for method "logout"; it counts as delivered
// only on HTTP 200 with result "0". A synchronizeUser that introduces a user
// to the app carries a random placeholder loginpwd unless the app chose
// push_password "omit".
// docs/api/push.md describes what apps receive.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "sso/context.h"

namespace tongban::sso {

struct PusherOptions {
  // How often an idle pusher looks for due messages. A delivery wakes it at
  // once, so a destination's queue drains without waiting for the poll.
  std::chrono::milliseconds poll_interval{200};
  // One delivery attempt, connect to reply. Must stay well below the outbox's
  // claim_timeout, or a slow app would see a message twice.
  std::chrono::milliseconds request_timeout{10'000};
  // Deliveries in flight at once, each to a different app.
  int workers = 2;
};

// Counters since start, for /metrics.
struct PusherStats {
  uint64_t delivered = 0;  // messages acknowledged by their app
  uint64_t failed = 0;     // failed attempts (each will be retried or dead-lettered)
};

class Pusher {
 public:
  explicit Pusher(SsoContext& context);
  Pusher(SsoContext& context, PusherOptions options);
  ~Pusher();  // stops and joins
  // Starts the background threads; a second call does nothing.
  void Start();
  // Lets deliveries in flight finish (bounded by request_timeout), then joins.
  void Stop();

  // One pass on the calling thread: claims what is due now (at most one
  // message per app, up to `limit`), delivers it and records the outcome.
  // Returns how many messages were attempted. For tests and tools; do not
  // call while the background threads run.
  Result<size_t> DeliverDue(size_t limit = 64);

  PusherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::sso
