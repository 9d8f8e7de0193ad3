// Shared by the catalogue API's files (api*.cc): the caller, the call and the
// route table. Not a public header; api.h is.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue/api.h"
#include "catalogue/sharing.h"
#include "core/result.h"
#include "http/request.h"
#include "http/response.h"

// `lhs = *expr` for a Result, or return its error.
#define CATALOGUE_CONCAT_INNER(a, b) a##b
#define CATALOGUE_CONCAT(a, b) CATALOGUE_CONCAT_INNER(a, b)
#define TB_ASSIGN_OR_RETURN(lhs, expr)                                       \
  auto CATALOGUE_CONCAT(assign_result_, __LINE__) = (expr);                  \
  if (!CATALOGUE_CONCAT(assign_result_, __LINE__).ok())                      \
    return std::move(CATALOGUE_CONCAT(assign_result_, __LINE__)).error();   \
  lhs = std::move(*CATALOGUE_CONCAT(assign_result_, __LINE__))

namespace tongban::catalogue {

// Who calls: staff (SSO session, roles of the catalogue app, orgs), a
// department system (request signature) or an OIDC client (bearer token).
struct Caller {
  enum class Kind { kNone, kStaff, kSystem, kClient };
  Kind kind = Kind::kNone;
  std::string userid;  // staff
  std::string loginname;
  std::string username;
  std::vector<std::string> roles;
  std::vector<std::string> orgs;
  std::string app;  // system / client: the servicecode

  bool Has(std::string_view role) const;
  Party AsParty() const;
};

struct Call {
  const http::Request& request;
  http::Response& response;
  Caller caller;
  std::vector<std::string> args;
  nlohmann::json body;
  bool wrote_response = false;
  std::string csrf;
  std::string_view Query(std::string_view name) const { return request.ParamOr(name); }
};

using Handler = std::function<Result<nlohmann::json>(Services&, Call&)>;

// kStaff: an SSO session with any catalogue role; kQuery: staff, a signed
// system or an OIDC client (the handler writes its own reply).
enum class Access { kStaff, kQuery };

struct Route {
  std::string method;
  std::string pattern;  // relative to {catalogue}/api/
  Access access;
  Handler handler;
};

void AddCatalogueRoutes(std::vector<Route>& routes);  // api_catalogue.cc
void AddSharingRoutes(std::vector<Route>& routes);    // api_sharing.cc
void AddQueryRoutes(std::vector<Route>& routes);      // api_query.cc

namespace api_code {
inline constexpr int kNotLoggedIn = 401;
inline constexpr int kNoRole = 403;
inline constexpr int kCsrfFailed = 4031;
}  // namespace api_code

Status RequireRole(const Caller& caller, std::initializer_list<std::string_view> roles);
Result<int64_t> IdArg(const std::string& text);
std::string Text(const nlohmann::json& j, const char* key);

}  // namespace tongban::catalogue
