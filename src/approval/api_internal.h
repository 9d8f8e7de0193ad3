// Shared by the approval API's route files (api_*.cc): the services a handler
// may use, the authenticated caller, and the route table. Not a public header;
// api.h is. Each route file adds its routes with one Add*Routes function, so
// the files of different features never edit each other.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "approval/calendar.h"
#include "approval/engine.h"
#include "approval/files.h"
#include "approval/matters.h"
#include "codec/value.h"
#include "core/result.h"
#include "http/request.h"
#include "http/response.h"
#include "sso/context.h"

namespace tongban::approval {

class Preferences;    // preferences.h: 常用意见 and 过滤事项
class Supervision;    // supervision.h: 电子监察 alerts
class Statistics;     // statistics.h: per org / matter / period figures
class NoticePrinter;  // notices.h: 文书 as PDF

struct ApiSettings {
  std::string public_url;      // external base URL, no trailing slash
  std::string context_path = "/approval";
  std::string hall_path = "/hall";  // the public hall; the QR codes point at its lookup page
};

struct Services {
  sso::SsoContext& sso;
  CaseEngine& engine;
  MatterCatalogue& matters;
  CalendarStore& calendars;
  FileStore& files;
  Preferences* preferences = nullptr;
  Supervision* supervision = nullptr;
  Statistics* statistics = nullptr;
  NoticePrinter* notices = nullptr;
  ApiSettings settings;
};

// One API request after authentication. Staff come with an SSO session (and
// CSRF token on writes); department systems with a signed call; the public
// routes with neither.
struct Call {
  const http::Request& request;
  http::Response& response;
  Actor actor;                    // kStaff, kSystem, or kApplicant for the public routes
  std::vector<std::string> args;  // the path's ":name" segments, in order
  codec::Value body;              // the parsed JSON body; null when there is none
  bool wrote_response = false;    // set by handlers that wrote a file (PDF, xlsx, CSV)

  std::string_view Query(std::string_view name) const { return request.ParamOr(name); }
};

using Handler = std::function<Result<codec::Value>(const Services&, Call&)>;

enum class Access {
  kStaff,   // SSO session of a user holding any approval role
  kSystem,  // signed call of a department system (app with the approval scope)
  kPublic,  // anyone (throttled where it reveals anything)
};

struct Route {
  std::string method;
  std::string pattern;  // "cases/:number/actions", relative to {approval}/api/
  Access access = Access::kStaff;
  Handler handler;
};

void AddCaseRoutes(std::vector<Route>& routes);         // api_cases.cc
void AddMatterRoutes(std::vector<Route>& routes);       // api_matters.cc (matters, calendar)
void AddPreferenceRoutes(std::vector<Route>& routes);   // api_preferences.cc
void AddSupervisionRoutes(std::vector<Route>& routes);  // api_supervision.cc (alerts, statistics)
void AddNoticeRoutes(std::vector<Route>& routes);       // api_notices.cc
void AddPublicRoutes(std::vector<Route>& routes);       // api_public.cc (hall: guide, lookup, rating)

}  // namespace tongban::approval
