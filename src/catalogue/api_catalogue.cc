// The catalogue's staff routes: who am I, the classification tree, search and
// browse, resource pages with versions and "locate", registration, review
// (publish / withdraw) and the audit trail. docs/api/catalogue.md.
#include "catalogue/api_internal.h"
#include "catalogue/audit.h"
#include "catalogue/base.h"
#include "catalogue/json.h"

namespace tongban::catalogue {

namespace {

bool OwnsResource(const Caller& c, const Resource& r) {
  return c.Has(kRoleProvider) &&
         std::find(c.orgs.begin(), c.orgs.end(), r.provider_org) != c.orgs.end();
}

int IntParam(std::string_view text, int fallback) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != text.npos) {
    return fallback;
  }
  return std::stoi(std::string(text));
}

Result<nlohmann::json> Me(Services&, Call& call) {
  const Caller& c = call.caller;
  return nlohmann::json{{"userid", c.userid},   {"loginname", c.loginname},
                        {"username", c.username}, {"orgs", c.orgs},
                        {"roles", c.roles},       {"csrf", call.csrf}};
}

Result<nlohmann::json> ListTree(Services& s, Call&) {
  auto tree = s.resources.ListClassifications();
  if (!tree.ok()) return std::move(tree).error();
  nlohmann::json items = nlohmann::json::array();
  for (const Classification& c : *tree) {
    items.push_back({{"code", c.code}, {"name", c.name}, {"parent", c.parent}, {"level", c.level}});
  }
  return nlohmann::json{{"items", std::move(items)}};
}

Result<nlohmann::json> PutTree(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  Classification c{call.args[0], Text(call.body, "name"), "", 0};
  TB_RETURN_IF_ERROR(s.resources.PutClassification(c, call.caller.AsParty().actor));
  return nlohmann::json{{"code", c.code}, {"name", c.name}};
}

Result<nlohmann::json> DeleteTree(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  TB_RETURN_IF_ERROR(s.resources.DeleteClassification(call.args[0], call.caller.AsParty().actor));
  return nlohmann::json{{"deleted", call.args[0]}};
}

nlohmann::json Summary(const Resource& r) {
  std::string abstract_text = r.abstract_text;
  if (abstract_text.size() > 300) {
    size_t cut = 300;
    while (cut > 0 && (static_cast<unsigned char>(abstract_text[cut]) & 0xC0) == 0x80) --cut;
    abstract_text = abstract_text.substr(0, cut) + "…";
  }
  return {{"id", r.id},
          {"code", r.code},
          {"name", r.name},
          {"classification", r.classification},
          {"provider_name", r.provider_name},
          {"provider_org", r.provider_org},
          {"abstract", abstract_text},
          {"share_type", ShareTypeName(r.share_type)},
          {"share_mode", ShareModeName(r.share_mode)},
          {"base_kind", BaseKindName(r.base_kind)},
          {"release_date", r.release_date},
          {"update_cycle", r.update_cycle}};
}

Result<nlohmann::json> Search(Services& s, Call& call) {
  SearchQuery q;
  q.text = std::string(call.Query("q"));
  q.classification = std::string(call.Query("classification"));
  q.provider_org = std::string(call.Query("provider"));
  q.offset = IntParam(call.Query("offset"), 0);
  q.limit = IntParam(call.Query("limit"), 20);
  auto page = s.resources.Search(q);
  if (!page.ok()) return std::move(page).error();
  nlohmann::json items = nlohmann::json::array();
  for (const Resource& r : page->items) items.push_back(Summary(r));
  return nlohmann::json{{"items", std::move(items)}, {"more", page->more}, {"offset", q.offset}};
}

// The published version for everyone; the provider's staff and admins also
// get the latest (a draft or an edit awaiting review).
Result<nlohmann::json> GetResource(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto latest = s.resources.Get(id);
  if (!latest.ok()) return std::move(latest).error();
  const bool insider = call.caller.Has(kRoleAdmin) || OwnsResource(call.caller, *latest);
  nlohmann::json out;
  auto published = s.resources.GetPublished(id);
  if (published.ok()) {
    out["published"] = ResourceToJson(*published);
  } else if (published.error().code != errc::kNotFound) {
    return std::move(published).error();
  } else if (!insider) {
    return Error::NotFound("没有这个目录资源");
  }
  if (insider) out["latest"] = ResourceToJson(*latest);
  out["may_edit"] = insider;
  return out;
}

Result<nlohmann::json> GetVersion(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  TB_ASSIGN_OR_RETURN(int64_t version, IdArg(call.args[1]));
  auto latest = s.resources.Get(id);
  if (!latest.ok()) return std::move(latest).error();
  if (!call.caller.Has(kRoleAdmin) && !OwnsResource(call.caller, *latest)) {
    // Others see what the catalogue shows them: the version published now.
    // Drafts superseded before a publication, and a withdrawn resource's
    // versions, are the provider's (review15b).
    auto published = s.resources.GetPublished(id);
    if (!published.ok() && published.error().code != errc::kNotFound) {
      return std::move(published).error();
    }
    if (!published.ok() || version != published->published_version) {
      return Error::NotFound("没有这个版本");
    }
  }
  auto r = s.resources.GetVersion(id, static_cast<int>(version));
  if (!r.ok()) return std::move(r).error();
  return ResourceToJson(*r);
}

// Who provides it and how to get it, with the caller's own applications and
// live grants for it.
Result<nlohmann::json> Locate(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto r = s.resources.GetPublished(id);
  if (!r.ok()) return std::move(r).error();
  const std::string ctx = s.settings.context_path;
  nlohmann::json how;
  if (r->share_type == ShareType::kNone) {
    how = {{"mode", "none"}, {"note", "不予共享：" + r->share_condition}};
  } else if (r->share_mode == ShareMode::kExchange) {
    how = {{"mode", "exchange"},
           {"exchange_resource_id", r->exchange_resource_id},
           {"note", "申请获批后由数据交换任务将批准的信息项送到您的交换资源"}};
  } else if (r->base_kind != BaseKind::kNone) {
    std::string kind = r->base_kind == BaseKind::kLegalPerson ? "legal-person"
                                                               : std::string(BaseKindName(r->base_kind));
    std::string method = r->base_kind == BaseKind::kPerson        ? "queryPerson"
                         : r->base_kind == BaseKind::kLegalPerson ? "queryLegalPerson"
                                                                  : "queryPlace";
    how = {{"mode", "api"},
           {"http", ctx + "/api/base/" + kind + "/query"},
           {"soap_wsdl", ctx + "/services/CatalogueQueryService?wsdl"},
           {"servlet", ctx + "/servlet/query?method=" + method},
           {"note", r->share_type == ShareType::kUnconditional
                        ? "申请获批后按授权的信息项调用"
                        : "有条件共享：" + r->share_condition}};
  } else {
    how = {{"mode", "api"}, {"note", "接口共享，申请获批后由提供方提供接口"}};
  }
  Party who = call.caller.AsParty();
  nlohmann::json mine = nlohmann::json::array();
  auto apps = s.sharing.MyApplications(who);
  if (!apps.ok()) return std::move(apps).error();
  for (const Application& a : *apps) {
    if (a.resource_id == id) mine.push_back(ApplicationToJson(a));
  }
  nlohmann::json grants = nlohmann::json::array();
  auto held = s.sharing.MyGrants(who);
  if (!held.ok()) return std::move(held).error();
  const int64_t now = s.sso.clock.NowMillis();
  for (const Grant& g : *held) {
    if (g.resource_id == id) grants.push_back(GrantToJson(g, now));
  }
  return nlohmann::json{{"resource", Summary(*r)},
                        {"provider",
                         {{"name", r->provider_name},
                          {"code", r->provider_code},
                          {"org", r->provider_org}}},
                        {"share_type", ShareTypeName(r->share_type)},
                        {"share_condition", r->share_condition},
                        {"how", std::move(how)},
                        {"my_applications", std::move(mine)},
                        {"my_grants", std::move(grants)}};
}

Result<Resource> FromBody(const Call& call, Resource r) {
  TB_RETURN_IF_ERROR(MetadataFromJson(call.body, r));
  // A provider registers for their own org; an admin for any.
  if (!call.caller.Has(kRoleAdmin)) {
    if (r.provider_org.empty()) r.provider_org = call.caller.orgs.front();
    if (std::find(call.caller.orgs.begin(), call.caller.orgs.end(), r.provider_org) ==
        call.caller.orgs.end()) {
      return Error::PermissionDenied("只能登记本机构提供的资源");
    }
  }
  return r;
}

Result<nlohmann::json> CreateResource(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleProvider, kRoleAdmin}));
  TB_ASSIGN_OR_RETURN(Resource r, FromBody(call, Resource{}));
  auto created = s.resources.Create(std::move(r), call.caller.AsParty().actor);
  if (!created.ok()) return std::move(created).error();
  return ResourceToJson(*created);
}

Result<nlohmann::json> UpdateResource(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto current = s.resources.Get(id);
  if (!current.ok()) return std::move(current).error();
  if (!call.caller.Has(kRoleAdmin) && !OwnsResource(call.caller, *current)) {
    return Error::PermissionDenied("只能修改本机构提供的资源");
  }
  if (!call.body.is_object() || !call.body.contains("version") ||
      !call.body["version"].is_number_integer()) {
    return Error::InvalidArgument("请带上所修改的版本号 version");
  }
  TB_ASSIGN_OR_RETURN(Resource r, FromBody(call, *current));
  auto saved = s.resources.Update(id, std::move(r), call.body["version"].get<int>(),
                                  call.caller.AsParty().actor);
  if (!saved.ok()) return std::move(saved).error();
  return ResourceToJson(*saved);
}

Result<nlohmann::json> Publish(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto r = s.resources.Publish(id, call.caller.AsParty().actor);
  if (!r.ok()) return std::move(r).error();
  return ResourceToJson(*r);
}

Result<nlohmann::json> Withdraw(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto current = s.resources.Get(id);
  if (!current.ok()) return std::move(current).error();
  if (!call.caller.Has(kRoleAdmin) && !OwnsResource(call.caller, *current)) {
    return Error::PermissionDenied("只能撤回本机构提供的资源");
  }
  auto r = s.resources.Withdraw(id, call.caller.AsParty().actor);
  if (!r.ok()) return std::move(r).error();
  return ResourceToJson(*r);
}

Result<nlohmann::json> Review(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  auto list = s.resources.ListPendingReview();
  if (!list.ok()) return std::move(list).error();
  nlohmann::json items = nlohmann::json::array();
  for (const Resource& r : *list) items.push_back(ResourceToJson(r));
  return nlohmann::json{{"items", std::move(items)}};
}

Result<nlohmann::json> MyResources(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleProvider}));
  nlohmann::json items = nlohmann::json::array();
  for (const std::string& org : call.caller.orgs) {
    auto list = s.resources.ListByProvider(org);
    if (!list.ok()) return std::move(list).error();
    for (const Resource& r : *list) items.push_back(ResourceToJson(r));
  }
  return nlohmann::json{{"items", std::move(items)}};
}

Result<nlohmann::json> Audit(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  AuditFilter f;
  f.action_prefix = std::string(call.Query("action"));
  f.actor = std::string(call.Query("actor"));
  if (std::string_view key = call.Query("key"); !key.empty()) f.subject_mac = s.base.SubjectMac(key);
  if (std::string_view g = call.Query("grant"); !g.empty()) {
    TB_ASSIGN_OR_RETURN(f.grant_id, IdArg(std::string(g)));
  }
  if (std::string_view b = call.Query("before"); !b.empty()) {
    TB_ASSIGN_OR_RETURN(f.before_id, IdArg(std::string(b)));
  }
  f.limit = IntParam(call.Query("limit"), 50);
  // Queries answered a moment ago may still be in the journal only.
  TB_RETURN_IF_ERROR(s.base.FlushAudit());
  auto rows = ListAudit(s.resources.store(), f);
  if (!rows.ok()) return std::move(rows).error();
  nlohmann::json items = nlohmann::json::array();
  for (const AuditEntry& e : *rows) {
    items.push_back({{"id", e.id},
                     {"at_ms", e.at_ms},
                     {"actor", e.actor},
                     {"actor_kind", e.actor_kind},
                     {"actor_org", e.actor_org},
                     {"action", e.action},
                     {"resource_id", e.resource_id},
                     {"application_id", e.application_id},
                     {"grant_id", e.grant_id},
                     {"subject", e.subject},
                     {"fields", e.fields},
                     {"outcome", e.outcome},
                     {"detail", e.detail}});
  }
  return nlohmann::json{{"items", std::move(items)}};
}

Result<nlohmann::json> BaseServices(Services&, Call&) {
  nlohmann::json out = nlohmann::json::array();
  for (BaseKind k : {BaseKind::kPerson, BaseKind::kLegalPerson, BaseKind::kPlace}) {
    nlohmann::json fields = nlohmann::json::array();
    for (const BaseField& f : BaseFields(k)) {
      fields.push_back({{"code", f.code}, {"name", f.name}, {"type", f.type},
                        {"masked", f.mask != BaseField::Mask::kNone}});
    }
    out.push_back({{"kind", BaseKindName(k)}, {"title", BaseKindTitle(k)}, {"fields", fields}});
  }
  return nlohmann::json{{"items", std::move(out)}};
}

}  // namespace

void AddCatalogueRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "me", Access::kStaff, Me});
  routes.push_back({"GET", "classifications", Access::kStaff, ListTree});
  routes.push_back({"PUT", "classifications/:code", Access::kStaff, PutTree});
  routes.push_back({"DELETE", "classifications/:code", Access::kStaff, DeleteTree});
  routes.push_back({"GET", "resources", Access::kStaff, Search});
  routes.push_back({"POST", "resources", Access::kStaff, CreateResource});
  routes.push_back({"GET", "resources/:id", Access::kStaff, GetResource});
  routes.push_back({"PUT", "resources/:id", Access::kStaff, UpdateResource});
  routes.push_back({"GET", "resources/:id/versions/:v", Access::kStaff, GetVersion});
  routes.push_back({"GET", "resources/:id/locate", Access::kStaff, Locate});
  routes.push_back({"POST", "resources/:id/publish", Access::kStaff, Publish});
  routes.push_back({"POST", "resources/:id/withdraw", Access::kStaff, Withdraw});
  routes.push_back({"GET", "review", Access::kStaff, Review});
  routes.push_back({"GET", "my/resources", Access::kStaff, MyResources});
  routes.push_back({"GET", "audit", Access::kStaff, Audit});
  routes.push_back({"GET", "base", Access::kStaff, BaseServices});
}

}  // namespace tongban::catalogue
