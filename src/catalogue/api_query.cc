// The base query service (人口 / 法人 / 空间) as HTTP JSON or XML under
// {catalogue}/api/base/{kind}/query, and as the SOAP / servlet methods
// queryPerson, queryLegalPerson, queryPlace of CatalogueQueryService. Result
// codes: base.h result_code; docs/api/catalogue.md.
#include <pugixml.hpp>
#include <spdlog/spdlog.h>

#include <sstream>

#include "catalogue/api_internal.h"
#include "catalogue/base.h"
#include "codec/json_body.h"
#include "codec/render.h"
#include "codec/value.h"
#include "codec/xml_doc.h"
#include "sso/reply.h"
#include "sso/signed_api.h"

namespace tongban::catalogue {

namespace {

std::optional<BaseKind> KindOfPath(std::string_view segment) {
  if (segment == "person") return BaseKind::kPerson;
  if (segment == "legal-person") return BaseKind::kLegalPerson;
  if (segment == "place") return BaseKind::kPlace;
  return std::nullopt;
}

int StatusOf(int code) {
  switch (code) {
    case result_code::kOk:
      return 200;
    case result_code::kBadRequest:
    case result_code::kBadKey:
    case errc::kInvalidArgument:
      return 400;
    case result_code::kNotLoggedIn:
      return 401;
    case result_code::kAuthFailed:
    case result_code::kNoGrant:
    case result_code::kFieldsNotGranted:
      return 403;
    case result_code::kNotFound:
      return 404;
    case errc::kUnavailable:
    case result_code::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// Codes the caller sees: ours as they are; the store's errc as "unavailable"
// (logged, never shown).
std::pair<int, std::string> Visible(const Error& e) {
  if (e.code >= 1000) return {e.code, e.message};
  if (e.code == errc::kInvalidArgument) return {result_code::kBadRequest, e.message};
  spdlog::error("catalogue query: {}", e.message);
  return {result_code::kUnavailable, "服务暂不可用，请稍后重试"};
}

bool WantsXml(const http::Request& request) {
  std::string_view format = request.ParamOr("format");
  if (format == "xml") return true;
  if (format == "json") return false;
  std::string_view type = request.Header("Content-Type").value_or("");
  if (type.find("xml") != std::string_view::npos) return true;
  std::string_view accept = request.Header("Accept").value_or("");
  return accept.find("xml") != std::string_view::npos &&
         accept.find("json") == std::string_view::npos;
}

void Reply(const http::Request& request, http::Response& response, int code,
           const std::string& message, const BaseAnswer* answer) {
  const int status = StatusOf(code);
  if (WantsXml(request)) {
    pugi::xml_document doc;
    auto decl = doc.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    pugi::xml_node root = doc.append_child("response");
    root.append_child("code").text().set(code);
    root.append_child("message").text().set(message.c_str());
    if (answer != nullptr) {
      root.append_child("grant_id").text().set(static_cast<long long>(answer->grant.id));
      pugi::xml_node data = root.append_child("data");
      for (const auto& [field, value] : answer->record) {
        data.append_child(field.c_str()).text().set(value.c_str());
      }
    }
    std::ostringstream out;
    doc.save(out, "", pugi::format_raw);
    response.set_status(status);
    response.set_content_type(http::kXmlType);
    response.set_body(out.str());
    return;
  }
  // codec's writer (one buffer; ill-formed UTF-8 as U+FFFD): a hot path.
  codec::Value body = codec::Value::Object(4);
  body.Set("code", code);
  body.Set("message", message);
  if (answer != nullptr) {
    body.Set("grant_id", static_cast<int64_t>(answer->grant.id));
    codec::Value& data = body.Add("data", codec::Value::Object(answer->record.size()));
    for (const auto& [field, value] : answer->record) data.Set(field, value);
  }
  response.SetJson(status, codec::RenderJson(body));
}

// Every binding's bounds on what a query may name (the lookup's cost and the
// audit row grow with them).
Status CheckSizes(const BaseQuery& q) {
  if (q.key.size() > 64) return Error{result_code::kBadKey, "key 过长"};
  if (q.fields.size() > 64) return Error{result_code::kBadRequest, "fields 过多"};
  return Status::Ok();
}

// The request: JSON {"key", "fields": [..] or "a,b", "grant_id"} or XML
// <request><key/><fields>a,b</fields><grant_id/></request>.
Status ReadRequest(const http::Request& request, BaseQuery& q) {
  std::string_view type = request.Header("Content-Type").value_or("");
  std::string fields, grant;
  if (type.find("xml") != std::string_view::npos) {
    pugi::xml_document doc;
    auto loaded = codec::LoadUntrustedXml(request.body(), codec::ParseLimits{}, "请求", &doc);
    if (!loaded.ok()) return Error{result_code::kBadRequest, loaded.error().message};
    pugi::xml_node root = doc.document_element();
    q.key = root.child("key").text().as_string();
    fields = root.child("fields").text().as_string();
    grant = root.child("grant_id").text().as_string();
  } else {
    nlohmann::json j = codec::ParseJsonBody(request.body());
    if (!j.is_object()) return Error{result_code::kBadRequest, "请求体应为 JSON 对象或 XML"};
    if (j.contains("key") && !j["key"].is_string()) {
      return Error{result_code::kBadRequest, "key 应为字符串"};
    }
    q.key = j.value("key", "");
    if (auto it = j.find("fields"); it != j.end() && !it->is_null()) {
      if (it->is_string()) {
        fields = it->get<std::string>();
      } else if (it->is_array()) {
        for (const auto& f : *it) {
          if (!f.is_string()) return Error{result_code::kBadRequest, "fields 应为字符串数组"};
          fields += (fields.empty() ? "" : ",") + f.get<std::string>();
        }
      } else {
        return Error{result_code::kBadRequest, "fields 应为字符串数组"};
      }
    }
    if (auto it = j.find("grant_id"); it != j.end() && !it->is_null()) {
      if (!it->is_number_integer()) return Error{result_code::kBadRequest, "grant_id 应为整数"};
      grant = std::to_string(it->get<int64_t>());
    }
  }
  if (q.key.empty()) return Error{result_code::kBadRequest, "请提供查询的 key"};
  q.fields = SplitFields(fields);
  TB_RETURN_IF_ERROR(CheckSizes(q));
  if (!grant.empty()) {
    if (grant.size() > 18 || grant.find_first_not_of("0123456789") != std::string::npos) {
      return Error{result_code::kBadRequest, "grant_id 应为整数"};
    }
    q.grant_id = std::stoll(grant);
  }
  return Status::Ok();
}

void FillCaller(const Caller& c, BaseQuery& q) {
  Party p = c.AsParty();
  q.actor = p.actor;
  q.orgs = p.orgs;
  q.app = c.kind == Caller::Kind::kStaff ? "" : c.app;
}

Result<nlohmann::json> QueryBase(Services& s, Call& call) {
  auto kind = KindOfPath(call.args[0]);
  if (!kind) {
    Reply(call.request, call.response, result_code::kBadRequest,
          "没有这项基础信息资源服务（person、legal-person、place）", nullptr);
    call.wrote_response = true;
    return nlohmann::json();
  }
  if (call.caller.kind == Caller::Kind::kStaff && !call.caller.Has(kRoleUser) &&
      !call.caller.Has(kRoleAdmin)) {
    Reply(call.request, call.response, result_code::kAuthFailed, "您没有查询基础信息资源的角色",
          nullptr);
    call.wrote_response = true;
    return nlohmann::json();
  }
  BaseQuery q;
  q.kind = *kind;
  Status read = ReadRequest(call.request, q);
  call.wrote_response = true;
  if (!read.ok()) {
    auto [code, message] = Visible(read.error());
    Reply(call.request, call.response, code, message, nullptr);
    return nlohmann::json();
  }
  FillCaller(call.caller, q);
  // The answer leaves only once its audit row is committed; meanwhile this
  // (pool) thread is free for the next query, whose row can join the same
  // commit. The response is filled in on its connection's I/O thread.
  http::Resumer resume = call.response.Suspend();
  const http::Request& request = call.request;
  s.base.LookupThen(q, [resume, &request](Result<BaseAnswer> answer) {
    auto shared = std::make_shared<Result<BaseAnswer>>(std::move(answer));
    resume([shared, &request](http::Response& response) {
      if (!shared->ok()) {
        auto [code, message] = Visible(shared->error());
        Reply(request, response, code, message, nullptr);
        return;
      }
      Reply(request, response, result_code::kOk, "成功", &**shared);
    });
  });
  return nlohmann::json();
}

}  // namespace

void WriteQueryError(const http::Request& request, http::Response& response, const Error& e) {
  auto [code, message] = Visible(e);
  Reply(request, response, code, message, nullptr);
}

void AddQueryRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST", "base/:kind/query", Access::kQuery, QueryBase});
}

void AddQueryMethods(sso::SignedApi& api, Services& services) {
  struct Method {
    const char* name;
    const char* key_param;
    BaseKind kind;
  };
  for (const Method& m : {Method{"queryPerson", "idnumber", BaseKind::kPerson},
                          Method{"queryLegalPerson", "uscc", BaseKind::kLegalPerson},
                          Method{"queryPlace", "divisioncode", BaseKind::kPlace}}) {
    const std::string key_param = m.key_param;
    const BaseKind kind = m.kind;
    api.AddMethod(
        m.name, {key_param, "fields", "grantid"},
        [&services, key_param, kind](const sso::ApiCall& call) {
          BaseQuery q;
          q.kind = kind;
          q.key = std::string(call.Param(key_param));
          q.fields = SplitFields(call.Param("fields"));
          std::string_view grant = call.Param("grantid");
          if (!grant.empty()) {
            if (grant.size() > 18 || grant.find_first_not_of("0123456789") != std::string::npos) {
              return sso::Reply(result_code::kBadRequest, "grantid 应为整数");
            }
            q.grant_id = std::stoll(std::string(grant));
          }
          if (q.key.empty()) return sso::Reply(result_code::kBadRequest, "请提供 " + key_param);
          if (Status sizes = CheckSizes(q); !sizes.ok()) {
            return sso::Reply(sizes.error().code, sizes.error().message);
          }
          q.app = call.app.servicecode;
          q.actor = {call.app.servicecode, "system", call.app.orgcoding};
          if (!call.app.orgcoding.empty()) q.orgs.push_back(call.app.orgcoding);
          auto answer = services.base.Lookup(q);
          if (!answer.ok()) {
            auto [code, message] = Visible(answer.error());
            return sso::Reply(code, message);
          }
          codec::Value reply = sso::Success();
          reply.Set("grantid", std::to_string(answer->grant.id));
          codec::Value& data = reply.Add("data", codec::Value::Object());
          for (const auto& [field, value] : answer->record) data.Set(field, value);
          return reply;
        },
        sso::MethodCost::kBlocking);
    api.SetEffect(m.name, sso::MethodEffect::kRead);
  }
}

}  // namespace tongban::catalogue
