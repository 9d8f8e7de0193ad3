// SharingStore: 共享申请 and the grants they create (migration module
// "catalogue_sharing"). A department's staff apply for a published resource
// (purpose, legal basis, fields wanted, optionally the department system that
// will call); the provider approves — possibly fewer fields, with an expiry
// and whether ID numbers / mobiles come unmasked — or refuses with a reason;
// approval creates a grant in the same transaction: an API grant to exactly
// the approved fields, or for share mode "exchange" an exchange task made
// through ExchangeLink. Revocation takes effect on the next request on every
// node: grants are read from the database per request, never cached.
// Every step writes catalogue_audit in its transaction.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "catalogue/model.h"
#include "catalogue/resources.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::catalogue {

// How approval reaches the exchange subsystem for share mode "exchange"
// (wired by src/app from exchange::ExchangeMeta). Unset = exchange-mode
// applications are refused at decision time with a clear message.
struct ExchangeLink {
  // Creates (and enables) a task moving `fields` of the provider's exchange
  // resource to the subscriber resource; returns the task id. `approve`: its
  // 配置工单 is approved in the catalogue's name (both tables are shown to
  // be the two departments' own); otherwise it is submitted and waits for
  // the platform administrator, and the task runs once they approve it.
  // The task runs until `runs_until_ms` (the grant's expiry) and never after,
  // on every node, whatever its enabled flag says.
  std::function<Result<int64_t>(int64_t provider_resource_id, int64_t subscriber_resource_id,
                                const std::vector<std::string>& fields, std::string_view code,
                                std::string_view name, bool approve, int64_t runs_until_ms)>
      create_task;
  // Stops the task at once and for good (revocation, expiry): it ends the
  // task's term, so that no one can enable it again.
  std::function<Status(int64_t task_id)> stop_task;
  // The orgcodings an exchange resource belongs to: those of the access
  // resources (web_apps) allowed to push into and pull from its table; empty
  // when it has none. errc::kNotFound for no such resource. Unset = no table
  // can be shown to be a department's (every task waits for the platform
  // administrator's 工单 approval).
  std::function<Result<std::vector<std::string>>(int64_t resource_id)> resource_orgs;
};

struct NewApplication {
  int64_t resource_id = 0;
  std::string purpose;
  std::string legal_basis;
  std::vector<std::string> fields;
  std::string app;  // servicecode; "" = staff in the browser only
  int64_t subscriber_resource_id = 0;
};

struct Decision {
  bool approve = false;
  std::vector<std::string> fields;  // approve: ⊆ requested, non-empty; empty = all requested
  bool unmasked = false;
  int64_t expires_ms = 0;  // approve: > now; 0 = one year from now
  std::string reason;      // refuse: required
};

// Whose the caller is, for the access checks (the API fills it).
struct Party {
  Actor actor;
  std::vector<std::string> orgs;  // the user's orgs (primary first)
  bool admin = false;
  bool provider = false;
};

class SharingStore {
 public:
  static std::vector<Migration> Migrations();
  SharingStore(SqlStore& store, Clock& clock, ResourceStore& resources);

  void SetExchangeLink(ExchangeLink link) { exchange_ = std::move(link); }

  // `app` must belong to the applicant's org (checked by the caller with the
  // directory, which this store does not see: pass app_org).
  Result<Application> Apply(const Party& who, const NewApplication& request,
                            std::string_view app_org);
  Result<Application> Decide(const Party& who, int64_t application_id, const Decision& decision);
  // The applicant withdraws a pending application.
  Result<Application> Cancel(const Party& who, int64_t application_id);
  // The provider (of the resource's org), an admin, or the grantee's staff.
  Result<Grant> Revoke(const Party& who, int64_t grant_id, std::string_view reason);

  Result<Application> GetApplication(const Party& who, int64_t id);
  // Applications made by the user's orgs.
  Result<std::vector<Application>> MyApplications(const Party& who);
  // Applications for resources of the provider's orgs; pending_only filters.
  Result<std::vector<Application>> ProviderApplications(const Party& who, bool pending_only);
  // Grants held by the user's orgs / given by the provider's orgs.
  Result<std::vector<Grant>> MyGrants(const Party& who);
  Result<std::vector<Grant>> GivenGrants(const Party& who);
  Result<Grant> GetGrant(int64_t id);

  // The live grant a query runs under, read now from the database. For a
  // system: grantee_app = app; for staff: grantee_org in orgs and no grantee_app. `grant_id` 0 =
  // the newest live one for `kind`. kPermissionDenied when none is live.
  Result<Grant> LiveGrant(BaseKind kind, std::string_view app, const std::vector<std::string>& orgs,
                          int64_t grant_id);
  // The same read on a session the caller leased from this store (a query
  // reads its grant and its record through one lease).
  Result<Grant> LiveGrant(soci::session& sql, BaseKind kind, std::string_view app,
                          const std::vector<std::string>& orgs, int64_t grant_id);

  // Stops the exchange tasks of grants that expired, or were revoked while
  // stopping failed (API grants stop by themselves: LiveGrant compares with
  // the clock). Each task once. Returns how many. Run by TaskSweeper.
  Result<int> StopExpiredTasks();

 private:
  Status MarkTaskStopped(int64_t grant_id);
  // Whose an exchange resource is, by ExchangeLink::resource_orgs: `org`'s
  // (one of its web_apps is an app of exactly that org), unknown (it has no
  // web_apps, or the link cannot say) or another department's (PermissionDenied
  // with `refusal`). InvalidArgument for no such resource.
  enum class Owner { kOrg, kUnknown };
  Result<Owner> ExchangeResourceOf(int64_t resource_id, std::string_view org,
                                   std::string_view refusal) const;

  SqlStore& store_;
  Clock& clock_;
  ResourceStore& resources_;
  ExchangeLink exchange_;
};

}  // namespace tongban::catalogue
