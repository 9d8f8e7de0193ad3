// SsoContext: what every SSO endpoint needs — the directory, the ticket
// store, the outbox, time, randomness and the SSO settings. Built once by
// src/app and passed by reference to each interface's Register function.
#pragma once

#include <chrono>
#include <string>

#include "core/clock.h"
#include "core/random.h"
#include "directory/directory.h"
#include "store/outbox.h"
#include "store/ticket_store.h"

namespace tongban::sso {

struct SsoSettings {
  std::string context_path = "/sso";
  std::string public_url;  // external base URL without trailing slash; "" = from Host
  std::chrono::seconds sign_window{600};
  bool replay_protection = true;
  std::chrono::seconds ticket_ttl{60};
  std::chrono::seconds authcode_ttl{60};
  std::chrono::seconds access_token_ttl{7200};
  std::chrono::seconds refresh_token_ttl{86400 * 7};
  std::chrono::seconds session_ttl{8 * 3600};
};

struct SsoContext {
  directory::Directory& directory;
  TicketStore& tickets;
  Outbox& outbox;
  Clock& clock;
  Random& random;
  SsoSettings settings;
};

}  // namespace tongban::sso
