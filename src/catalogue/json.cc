#include "catalogue/json.h"

namespace tongban::catalogue {

namespace {

Status ReadString(const nlohmann::json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Error::InvalidArgument(std::string(key) + " 应为字符串");
  out = it->get<std::string>();
  return Status::Ok();
}

Status ReadStrings(const nlohmann::json& j, const char* key, std::vector<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Error::InvalidArgument(std::string(key) + " 应为字符串数组");
  out.clear();
  for (const auto& v : *it) {
    if (!v.is_string()) return Error::InvalidArgument(std::string(key) + " 应为字符串数组");
    out.push_back(v.get<std::string>());
  }
  return Status::Ok();
}

template <typename E, typename Parse>
Status ReadEnum(const nlohmann::json& j, const char* key, E& out, Parse parse) {
  std::string text;
  bool present = j.contains(key) && !j[key].is_null();
  TB_RETURN_IF_ERROR(ReadString(j, key, text));
  if (!present) return Status::Ok();
  auto v = parse(text);
  if (!v) return Error::InvalidArgument(std::string(key) + " 的取值不正确：" + text.substr(0, 40));
  out = *v;
  return Status::Ok();
}

}  // namespace

nlohmann::json MetadataToJson(const Resource& r) {
  nlohmann::json items = nlohmann::json::array();
  for (const InfoItem& i : r.items) {
    items.push_back({{"code", i.code}, {"name", i.name}, {"type", i.type}});
  }
  return {{"classification", r.classification},
          {"name", r.name},
          {"provider_org", r.provider_org},
          {"provider_name", r.provider_name},
          {"provider_code", r.provider_code},
          {"abstract", r.abstract_text},
          {"format", r.format},
          {"items", std::move(items)},
          {"share_type", ShareTypeName(r.share_type)},
          {"share_condition", r.share_condition},
          {"share_mode", ShareModeName(r.share_mode)},
          {"open_attr", OpenAttrName(r.open_attr)},
          {"update_cycle", r.update_cycle},
          {"release_date", r.release_date},
          {"related_codes", r.related_codes},
          {"base_kind", BaseKindName(r.base_kind)},
          {"exchange_resource_id", r.exchange_resource_id}};
}

Status MetadataFromJson(const nlohmann::json& j, Resource& r) {
  if (!j.is_object()) return Error::InvalidArgument("资源应为 JSON 对象");
  TB_RETURN_IF_ERROR(ReadString(j, "classification", r.classification));
  TB_RETURN_IF_ERROR(ReadString(j, "name", r.name));
  TB_RETURN_IF_ERROR(ReadString(j, "provider_org", r.provider_org));
  TB_RETURN_IF_ERROR(ReadString(j, "provider_name", r.provider_name));
  TB_RETURN_IF_ERROR(ReadString(j, "provider_code", r.provider_code));
  TB_RETURN_IF_ERROR(ReadString(j, "abstract", r.abstract_text));
  TB_RETURN_IF_ERROR(ReadString(j, "format", r.format));
  if (auto it = j.find("items"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Error::InvalidArgument("items 应为数组");
    r.items.clear();
    for (const auto& v : *it) {
      if (!v.is_object()) return Error::InvalidArgument("items 的每一项应为对象");
      InfoItem item;
      TB_RETURN_IF_ERROR(ReadString(v, "code", item.code));
      TB_RETURN_IF_ERROR(ReadString(v, "name", item.name));
      TB_RETURN_IF_ERROR(ReadString(v, "type", item.type));
      r.items.push_back(std::move(item));
    }
  }
  TB_RETURN_IF_ERROR(ReadEnum(j, "share_type", r.share_type, ParseShareType));
  TB_RETURN_IF_ERROR(ReadString(j, "share_condition", r.share_condition));
  TB_RETURN_IF_ERROR(ReadEnum(j, "share_mode", r.share_mode, ParseShareMode));
  TB_RETURN_IF_ERROR(ReadEnum(j, "open_attr", r.open_attr, ParseOpenAttr));
  TB_RETURN_IF_ERROR(ReadString(j, "update_cycle", r.update_cycle));
  TB_RETURN_IF_ERROR(ReadString(j, "release_date", r.release_date));
  TB_RETURN_IF_ERROR(ReadStrings(j, "related_codes", r.related_codes));
  TB_RETURN_IF_ERROR(ReadEnum(j, "base_kind", r.base_kind, ParseBaseKind));
  if (auto it = j.find("exchange_resource_id"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer()) return Error::InvalidArgument("exchange_resource_id 应为整数");
    r.exchange_resource_id = it->get<int64_t>();
  }
  return Status::Ok();
}

nlohmann::json ResourceToJson(const Resource& r) {
  nlohmann::json j = MetadataToJson(r);
  j["id"] = r.id;
  j["code"] = r.code;
  j["state"] = ResourceStateName(r.state);
  j["version"] = r.version;
  j["published_version"] = r.published_version;
  j["created_ms"] = r.created_ms;
  j["updated_ms"] = r.updated_ms;
  return j;
}

nlohmann::json ApplicationToJson(const Application& a) {
  return {{"id", a.id},
          {"resource_id", a.resource_id},
          {"resource_code", a.resource_code},
          {"resource_name", a.resource_name},
          {"provider_org", a.provider_org},
          {"applicant", a.applicant},
          {"applicant_org", a.applicant_org},
          {"app", a.app},
          {"purpose", a.purpose},
          {"legal_basis", a.legal_basis},
          {"fields", a.fields},
          {"subscriber_resource_id", a.subscriber_resource_id},
          {"state", ApplicationStateName(a.state)},
          {"decided_by", a.decided_by},
          {"approved_fields", a.approved_fields},
          {"reason", a.reason},
          {"grant_id", a.grant_id},
          {"created_ms", a.created_ms},
          {"decided_ms", a.decided_ms}};
}

nlohmann::json GrantToJson(const Grant& g, int64_t now_ms) {
  std::string state = g.revoked_ms != 0 ? "revoked" : now_ms >= g.expires_ms ? "expired" : "active";
  return {{"id", g.id},
          {"application_id", g.application_id},
          {"resource_id", g.resource_id},
          {"resource_name", g.resource_name},
          {"base_kind", BaseKindName(g.base_kind)},
          {"grantee_org", g.grantee_org},
          {"grantee_app", g.grantee_app},
          {"fields", g.fields},
          {"unmasked", g.unmasked},
          {"kind", g.kind == GrantKind::kApi ? "api" : "exchange"},
          {"exchange_task_id", g.exchange_task_id},
          {"expires_ms", g.expires_ms},
          {"revoked_ms", g.revoked_ms},
          {"revoked_by", g.revoked_by},
          {"revoke_reason", g.revoke_reason},
          {"created_ms", g.created_ms},
          {"state", state}};
}

}  // namespace tongban::catalogue
