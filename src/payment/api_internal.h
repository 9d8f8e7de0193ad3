// Shared by the payment API's route files (api_*.cc): the caller, the call and
// the route table. Not a public header; api.h is.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/request.h"
#include "http/response.h"
#include "payment/api.h"

namespace tongban::payment {

// Who calls. Staff carry their roles of the payment app and their orgs; a
// unit's system (kSystem) is bound to its unit; a payer (kPayer) is any SSO
// user, with the ID number and mobile the directory has for them.
struct Caller {
  enum class Kind { kPublic, kStaff, kSystem, kPayer };
  Kind kind = Kind::kPublic;
  std::string userid;
  std::string loginname;
  std::vector<std::string> roles;
  std::vector<std::string> orgs;
  std::string app;        // kSystem: the servicecode
  std::string entercode;  // kSystem: the unit it acts for
  std::string idnum;      // kPayer
  // The ID number was checked (real-name level 2 or more): only then does it
  // find the payer's notices — a self-registered account may claim anyone's.
  bool idnum_verified = false;
  std::string mobile;     // kPayer (finds notices only when proven: MyNotices)

  bool Has(std::string_view role) const;
  // Operators see every unit: admin, finance (财政局), egov, province.
  bool SeesAllUnits() const;
};

struct Call {
  const http::Request& request;
  http::Response& response;
  Caller caller;
  std::vector<std::string> args;  // the path's ":name" segments
  nlohmann::json body;            // a JSON body (console); null otherwise
  bool wrote_response = false;    // the handler wrote its own reply (PDF, XML)
  std::string csrf;               // staff and payers: the session's CSRF token (GET me)
  std::string_view Query(std::string_view name) const { return request.ParamOr(name); }
};

using Handler = std::function<Result<nlohmann::json>(const Services&, Call&)>;

enum class Access { kPublic, kStaff, kSystem, kPayer };

struct Route {
  std::string method;
  std::string pattern;  // relative to {payment}/api/
  Access access;
  Handler handler;
};

void AddDirectRoutes(std::vector<Route>& routes);   // api_direct.cc
void AddConsoleRoutes(std::vector<Route>& routes);  // api_console.cc
void AddPayerRoutes(std::vector<Route>& routes);    // api_payer.cc
void AddChannelRoutes(std::vector<Route>& routes);  // api_channel.cc
void AddEntryRoutes(std::vector<Route>& routes);    // api_entries.cc (scheme 7)

namespace api_code {
inline constexpr int kNotLoggedIn = 401;
inline constexpr int kNotStaff = 403;
inline constexpr int kCsrfFailed = 4031;
inline constexpr int kSystemRefused = 4032;
inline constexpr int kThrottled = 429;
}  // namespace api_code

// The caller may act for the unit: operators always; a clerk when the unit's
// orgcoding is one of theirs; a system for its own unit. NotFound otherwise
// (a unit one may not see is as good as absent).
Status RequireUnit(const Caller& caller, const CollectingUnit& unit);
Status RequireRole(const Caller& caller, std::initializer_list<std::string_view> roles);

// Members of the console's JSON bodies.
std::string Text(const nlohmann::json& j, const char* key);
Result<CollectingUnit> UnitFromBody(const nlohmann::json& j);
Result<PaymentNotice> NoticeFromBody(const nlohmann::json& j);

// A notice asked for by its number on a public route: unknown numbers count
// against the caller's address (Services::lookup_throttle) and a locked-out
// address is refused (kThrottled) before anything is read.
Result<PaymentNotice> PublicLookup(const Services& s, const Call& call, std::string_view notice_no);

// The payer's view of a notice: the ID masked, the amount due now with its late fee.
nlohmann::json PayerView(const PaymentNotice& n, int64_t now_ms);

// Absolute URL of a path under the context: public_url (or the request's
// base) + context_path + path.
std::string ExternalUrl(const Services& s, const http::Request& request, std::string_view path);

}  // namespace tongban::payment
