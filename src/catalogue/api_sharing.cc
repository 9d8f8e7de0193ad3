// The sharing routes: apply, my applications, the provider's queue and
// decisions, cancellation, grants held and given, revocation.
// docs/api/catalogue.md.
#include "catalogue/api_internal.h"
#include "catalogue/json.h"

namespace tongban::catalogue {

namespace {

Result<std::vector<std::string>> Strings(const nlohmann::json& body, const char* key) {
  std::vector<std::string> out;
  if (!body.is_object() || !body.contains(key) || body[key].is_null()) return out;
  const auto& v = body[key];
  if (!v.is_array()) return Error::InvalidArgument(std::string(key) + " 应为字符串数组");
  for (const auto& item : v) {
    if (!item.is_string()) return Error::InvalidArgument(std::string(key) + " 应为字符串数组");
    out.push_back(item.get<std::string>());
  }
  return out;
}

int64_t Number(const nlohmann::json& body, const char* key) {
  if (!body.is_object() || !body.contains(key) || !body[key].is_number_integer()) return 0;
  return body[key].get<int64_t>();
}

Result<nlohmann::json> Apply(Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleUser}));
  NewApplication req;
  req.resource_id = Number(call.body, "resource_id");
  req.purpose = Text(call.body, "purpose");
  req.legal_basis = Text(call.body, "legal_basis");
  TB_ASSIGN_OR_RETURN(req.fields, Strings(call.body, "fields"));
  req.app = Text(call.body, "app");
  req.subscriber_resource_id = Number(call.body, "subscriber_resource_id");
  std::string app_org;
  if (!req.app.empty()) {
    auto app = s.sso.directory.GetApp(req.app);
    if (!app.ok()) return Error::InvalidArgument("没有这个调用系统：" + req.app.substr(0, 64));
    app_org = app->orgcoding;
  }
  auto a = s.sharing.Apply(call.caller.AsParty(), req, app_org);
  if (!a.ok()) return std::move(a).error();
  return ApplicationToJson(*a);
}

Result<nlohmann::json> List(const Result<std::vector<Application>>& list) {
  if (!list.ok()) return list.error();
  nlohmann::json items = nlohmann::json::array();
  for (const Application& a : *list) items.push_back(ApplicationToJson(a));
  return nlohmann::json{{"items", std::move(items)}};
}

Result<nlohmann::json> Mine(Services& s, Call& call) {
  return List(s.sharing.MyApplications(call.caller.AsParty()));
}

Result<nlohmann::json> Incoming(Services& s, Call& call) {
  return List(s.sharing.ProviderApplications(call.caller.AsParty(), call.Query("pending") == "1"));
}

Result<nlohmann::json> GetOne(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto a = s.sharing.GetApplication(call.caller.AsParty(), id);
  if (!a.ok()) return std::move(a).error();
  return ApplicationToJson(*a);
}

Result<nlohmann::json> Decide(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  if (!call.body.is_object() || !call.body.contains("approve") ||
      !call.body["approve"].is_boolean()) {
    return Error::InvalidArgument("approve 应为 true 或 false");
  }
  Decision d;
  d.approve = call.body["approve"].get<bool>();
  TB_ASSIGN_OR_RETURN(d.fields, Strings(call.body, "fields"));
  d.unmasked = call.body.value("unmasked", false);
  d.expires_ms = Number(call.body, "expires_ms");
  d.reason = Text(call.body, "reason");
  auto a = s.sharing.Decide(call.caller.AsParty(), id, d);
  if (!a.ok()) return std::move(a).error();
  return ApplicationToJson(*a);
}

Result<nlohmann::json> Cancel(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto a = s.sharing.Cancel(call.caller.AsParty(), id);
  if (!a.ok()) return std::move(a).error();
  return ApplicationToJson(*a);
}

Result<nlohmann::json> Grants(Services& s, const Result<std::vector<Grant>>& list) {
  if (!list.ok()) return list.error();
  const int64_t now = s.sso.clock.NowMillis();
  nlohmann::json items = nlohmann::json::array();
  for (const Grant& g : *list) items.push_back(GrantToJson(g, now));
  return nlohmann::json{{"items", std::move(items)}};
}

Result<nlohmann::json> MyGrants(Services& s, Call& call) {
  return Grants(s, s.sharing.MyGrants(call.caller.AsParty()));
}

Result<nlohmann::json> GivenGrants(Services& s, Call& call) {
  return Grants(s, s.sharing.GivenGrants(call.caller.AsParty()));
}

Result<nlohmann::json> Revoke(Services& s, Call& call) {
  TB_ASSIGN_OR_RETURN(int64_t id, IdArg(call.args[0]));
  auto g = s.sharing.Revoke(call.caller.AsParty(), id, Text(call.body, "reason"));
  if (!g.ok()) return std::move(g).error();
  return GrantToJson(*g, s.sso.clock.NowMillis());
}

}  // namespace

void AddSharingRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST", "applications", Access::kStaff, Apply});
  routes.push_back({"GET", "applications/mine", Access::kStaff, Mine});
  routes.push_back({"GET", "applications/incoming", Access::kStaff, Incoming});
  routes.push_back({"GET", "applications/:id", Access::kStaff, GetOne});
  routes.push_back({"POST", "applications/:id/decision", Access::kStaff, Decide});
  routes.push_back({"POST", "applications/:id/cancel", Access::kStaff, Cancel});
  routes.push_back({"GET", "grants/mine", Access::kStaff, MyGrants});
  routes.push_back({"GET", "grants/given", Access::kStaff, GivenGrants});
  routes.push_back({"POST", "grants/:id/revoke", Access::kStaff, Revoke});
}

}  // namespace tongban::catalogue
