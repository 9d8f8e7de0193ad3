// Shared by the console's route files: the request a handler gets, the
// services it may use, the route table, and JSON conversions of directory
// records. Not a public header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/value.h"
#include "core/result.h"
#include "directory/directory.h"
#include "http/request.h"
#include "http/response.h"
#include "sso/audit.h"
#include "sso/context.h"
#include "sso/logout.h"
#include "sso/sessions.h"

namespace tongban::console {

struct Services {
  sso::SsoContext& sso;
  sso::SessionStore& sessions;
  sso::UnifiedLogout& logout;
  sso::Audit& audit;

  directory::Directory& directory() const { return sso.directory; }
};

// One admin API request after authentication.
struct Call {
  const http::Request& request;
  http::Response& response;
  const sso::Session& admin;
  std::vector<std::string> args;  // the path's ":name" segments, in order
  codec::Value body;              // the parsed JSON body; null when there is none
  // The audit's target; handlers set it when the path does not name one.
  std::string target;
  // Set by handlers that wrote the response themselves (CSV downloads).
  bool wrote_response = false;

  std::string_view Query(std::string_view name) const { return request.ParamOr(name); }
  // A string member of the body ("" when absent); numbers and booleans as text.
  std::string BodyText(std::string_view name) const;
};

using Handler = std::function<Result<codec::Value>(const Services&, Call&)>;

struct Route {
  std::string method;
  std::string pattern;  // "users/:id/roles", relative to {ctx}/admin/api/
  std::string action;   // audit event "admin.<action>" for mutations
  Handler handler;
};

void AddDirectoryRoutes(std::vector<Route>& routes);
void AddAppRoutes(std::vector<Route>& routes);
void AddOperationRoutes(std::vector<Route>& routes);
// users/:id/second-factor and apps/:code/second-factor (mfa_routes.cc).
void AddSecondFactorRoutes(std::vector<Route>& routes);
void AddCitizenRoutes(std::vector<Route>& routes);

// ---- helpers shared by the route files ----

// The Chinese reading of a spec code, with the Directory's detail in brackets
// (the detail alone for codes without one).
std::string ConsoleMessage(int code, std::string_view detail);

// The whole of `text` as a decimal integer; false for anything else.
bool ParseInteger(std::string_view text, int64_t* out);

// page/size query parameters: page >= 1, 1 <= size <= 1000 (default 20).
Result<directory::Page> PageFrom(const Call& call);
// {"total": total, "items": items}
codec::Value ListOf(int64_t total, codec::Value items);
// The body as directory Fields (scalars as text); InvalidArgument otherwise.
Result<directory::Fields> BodyFields(const Call& call);

codec::Value OrgJson(const directory::Org& org);
codec::Value UserJson(const directory::User& user);
codec::Value AppJson(const directory::App& app);
codec::Value RoleJson(const directory::Role& role);
codec::Value PositionJson(const directory::Position& position);
// Applies the body's App members onto `app` (unknown members refused).
Status ApplyAppFields(const codec::Value& body, directory::App& app);

}  // namespace tongban::console
