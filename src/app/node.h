// Node: one tongban process's components, built from the config in the one
// place that knows them all — stores, directory, SSO services — and shared by
// `serve` and `admin`. Owns everything it builds; destroyed in reverse order.
#pragma once

#include <memory>

#include "app/config.h"
#include "app/catalogue_wiring.h"
#include "app/payment_wiring.h"
#include "approval/calendar.h"
#include "approval/engine.h"
#include "approval/files.h"
#include "approval/matters.h"
#include "approval/preferences.h"
#include "approval/statistics.h"
#include "approval/supervision.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "crypto/secret_box.h"
#include "directory/directory.h"
#include "sso/second_factors.h"
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
  // TOTP, recovery codes and the second-factor policy ([mfa]).
  sso::SecondFactors& second_factors() { return *second_factors_; }

  // The approval subsystem ([approval]); all null when it is disabled.
  bool approval_enabled() const { return approval_engine_ != nullptr; }
  Outbox* approval_outbox() { return approval_outbox_.get(); }
  approval::FileStore* approval_files() { return approval_files_.get(); }
  approval::MatterCatalogue* approval_matters() { return approval_matters_.get(); }
  approval::CalendarStore* approval_calendars() { return approval_calendars_.get(); }
  approval::CaseEngine* approval_engine() { return approval_engine_.get(); }
  approval::Preferences* approval_preferences() { return approval_preferences_.get(); }
  approval::Supervision* approval_supervision() { return approval_supervision_.get(); }
  approval::Statistics* approval_statistics() { return approval_statistics_.get(); }
  // The payment subsystem ([payment]); null when it is disabled.
  PaymentWiring* payment() { return payment_.get(); }
  // The catalogue subsystem ([catalogue]); null when it is disabled.
  CatalogueWiring* catalogue() { return catalogue_.get(); }

 private:
  explicit Node(Config config) : config_(std::move(config)) {}
  Status OpenAll();
  Status OpenApproval(std::string_view secret_key);

  Config config_;
  std::unique_ptr<SqlStore> sql_;
  std::unique_ptr<TicketStore> tickets_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<crypto::SecretBox> box_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<sso::SecondFactors> second_factors_;
  // Declared in dependency order: the engine uses the catalogue, the
  // calendars and the outbox, and is destroyed before them.
  std::unique_ptr<Outbox> approval_outbox_;
  std::unique_ptr<approval::FileStore> approval_files_;
  std::unique_ptr<approval::MatterCatalogue> approval_matters_;
  std::unique_ptr<approval::CalendarStore> approval_calendars_;
  std::unique_ptr<approval::Preferences> approval_preferences_;
  std::unique_ptr<approval::Supervision> approval_supervision_;
  std::unique_ptr<approval::Statistics> approval_statistics_;
  std::unique_ptr<approval::CaseEngine> approval_engine_;
  std::unique_ptr<PaymentWiring> payment_;
  std::unique_ptr<CatalogueWiring> catalogue_;
};

}  // namespace tongban::app
