// The catalogue subsystem on a node ([catalogue] in the config): its stores on
// the node's SqlStore and clock, the audit key derived from the node's secret
// key, the API's routes, the link to the exchange for exchange-mode grants,
// and the demo seed. Node owns one when the catalogue is enabled; Routes
// registers it; serve seeds its demo. The one place src/app knows catalogue/.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue/api.h"
#include "catalogue/base.h"
#include "catalogue/demo.h"
#include "catalogue/resources.h"
#include "catalogue/sharing.h"
#include "catalogue/task_sweeper.h"
#include "core/clock.h"
#include "directory/directory.h"
#include "http/router.h"
#include "sso/context.h"
#include "store/sql_store.h"

namespace tongban::exchange {
class ExchangeMeta;
}

namespace tongban::app {

class CatalogueWiring {
 public:
  static std::vector<Migration> Migrations();
  CatalogueWiring(SqlStore& sql, Clock& clock, std::string_view secret_key);
  ~CatalogueWiring();

  catalogue::ResourceStore& resources() { return resources_; }
  catalogue::SharingStore& sharing() { return sharing_; }
  catalogue::BaseResources& base() { return base_; }

  // Mounts /catalogue/api/, the SOAP service and the servlet. `exchange` (may
  // be null: exchange disabled) makes and stops the tasks of exchange-mode grants.
  Status Register(http::Router& router, sso::SsoContext& sso, exchange::ExchangeMeta* exchange);
  Result<catalogue::DemoCatalogue> SeedDemo(directory::Directory& directory);
  // The sweeper stopping exchange tasks of expired grants (once a minute).
  void StartBackground() { sweeper_.Start(); }
  void StopBackground() { sweeper_.Stop(); }

 private:
  catalogue::ResourceStore resources_;
  catalogue::SharingStore sharing_;
  catalogue::BaseResources base_;
  catalogue::TaskSweeper sweeper_;
  std::unique_ptr<catalogue::CatalogueApi> api_;
};

}  // namespace tongban::app
