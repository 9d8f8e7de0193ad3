// Pusher: delivers the outbox to apps (SSO -> app pushes of directory changes
// and back-channel logout notices), signed, in order per app, with retries and
// back-off; a background thread owned by the node.
#pragma once

#include <memory>

#include "sso/context.h"

namespace tongban::sso {

class Pusher {
 public:
  explicit Pusher(SsoContext& context);
  ~Pusher();  // stops and joins
  void Start();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::sso
