#include "app/catalogue_wiring.h"

#include "crypto/digest.h"
#include "exchange/meta.h"

namespace tongban::app {

std::vector<Migration> CatalogueWiring::Migrations() {
  std::vector<Migration> out = catalogue::ResourceStore::Migrations();
  for (auto& m : catalogue::SharingStore::Migrations()) out.push_back(std::move(m));
  for (auto& m : catalogue::BaseResources::Migrations()) out.push_back(std::move(m));
  return out;
}

CatalogueWiring::CatalogueWiring(SqlStore& sql, Clock& clock, std::string_view secret_key)
    : resources_(sql, clock),
      sharing_(sql, clock, resources_),
      // Every node of a cluster shares the secret key, so the audit's keyed
      // hashes of ID numbers match whichever node wrote them.
      base_(sql, clock, sharing_, crypto::HmacSha256(secret_key, "tongban catalogue audit v1")),
      sweeper_(sharing_, std::chrono::minutes(1)) {}

CatalogueWiring::~CatalogueWiring() { sweeper_.Stop(); }

Status CatalogueWiring::Register(http::Router& router, sso::SsoContext& sso,
                                 exchange::ExchangeMeta* meta) {
  if (meta != nullptr) {
    catalogue::ExchangeLink link;
    // The provider's approval of the 共享申请 is the approval of the task
    // (the work order made, submitted and approved in its name) when both
    // tables are shown to be the departments' own; else the order waits for
    // the platform administrator.
    link.create_task = [meta](int64_t provider_resource, int64_t subscriber_resource,
                              const std::vector<std::string>& fields, std::string_view code,
                              std::string_view name, bool approve,
                              int64_t runs_until_ms) -> Result<int64_t> {
      exchange::Task task;
      task.code = std::string(code);
      task.name = std::string(name);
      task.runs_until_ms = runs_until_ms;
      task.provider_resource_id = provider_resource;
      exchange::Subscriber subscriber;
      subscriber.resource_id = subscriber_resource;
      for (const std::string& f : fields) subscriber.mapping[f] = f;  // only these reach it
      task.subscribers.push_back(std::move(subscriber));
      auto created = meta->CreateTask(std::move(task));
      if (!created.ok()) return std::move(created).error();
      auto order = meta->CreateWorkOrder(created->id, {{"目录与共享服务", "", ""}}, "catalogue");
      if (!order.ok()) return std::move(order).error();
      TB_RETURN_IF_ERROR(meta->SubmitWorkOrder(order->id));
      if (approve) {
        TB_RETURN_IF_ERROR(meta->DecideWorkOrder(order->id, true, "catalogue", "共享申请已批准"));
      }
      return created->id;
    };
    link.stop_task = [meta](int64_t task_id) { return meta->EndTaskTerm(task_id); };
    // A table belongs to the departments whose systems may push into it and
    // pull from it (its web_apps): the apps' orgs, from the directory.
    link.resource_orgs = [meta, &sso](int64_t resource_id) -> Result<std::vector<std::string>> {
      auto resource = meta->GetResource(resource_id);
      if (!resource.ok()) return std::move(resource).error();
      std::vector<std::string> orgs;
      for (const std::string& code : resource->web_apps) {
        auto app = sso.directory.CachedApp(code);
        if (app.ok() && (*app)->enabled && !(*app)->orgcoding.empty()) {
          orgs.push_back((*app)->orgcoding);
        } else if (!app.ok() && app.error().code != errc::kNotFound && app.error().code < 1000) {
          return std::move(app).error();
        }
      }
      return orgs;
    };
    sharing_.SetExchangeLink(std::move(link));
  }
  api_ = std::make_unique<catalogue::CatalogueApi>(catalogue::Services{
      .sso = sso,
      .resources = resources_,
      .sharing = sharing_,
      .base = base_,
      .settings = {.public_url = sso.settings.public_url, .context_path = "/catalogue"}});
  return api_->Register(router);
}

Result<catalogue::DemoCatalogue> CatalogueWiring::SeedDemo(directory::Directory& directory) {
  return catalogue::SeedCatalogueDemo(directory, resources_, base_);
}

}  // namespace tongban::app
