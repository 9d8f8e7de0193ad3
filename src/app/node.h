// Node: one tongban process's components, built from the config in the one
// place that knows them all — stores, directory, SSO services — and shared by
// `serve` and `admin`. Owns everything it builds; destroyed in reverse order.
#pragma once

#include <memory>

#include "app/config.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "crypto/secret_box.h"
#include "directory/directory.h"
#include "store/outbox.h"
#include "store/sql_store.h"
#include "store/ticket_store.h"

namespace tongban::app {

class Node {
 public:
  // Opens the database (creating data_dir and running migrations), the
  // ticket store and the secret key, and the directory on top of them.
  static Result<std::unique_ptr<Node>> Open(const Config& config);
  ~Node();

  const Config& config() const { return config_; }
  Clock& clock() { return SystemClock::Instance(); }
  Random& random() { return OpenSslRandom::Instance(); }
  SqlStore& sql() { return *sql_; }
  TicketStore& tickets() { return *tickets_; }
  Outbox& outbox() { return *outbox_; }
  const crypto::SecretBox& secret_box() const { return *box_; }
  directory::Directory& directory() { return *directory_; }

 private:
  explicit Node(Config config) : config_(std::move(config)) {}
  Status OpenAll();

  Config config_;
  std::unique_ptr<SqlStore> sql_;
  std::unique_ptr<TicketStore> tickets_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<crypto::SecretBox> box_;
  std::unique_ptr<directory::Directory> directory_;
};

}  // namespace tongban::app
