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
#include "sso/throttle.h"

namespace tongban::approval {

class Preferences;    // preferences.h: 常用意见 and 过滤事项
class Supervision;    // supervision.h: 电子监察 alerts
class Statistics;     // statistics.h: per org / matter / period figures
class NoticePrinter;  // notices.h: 文书 as PDF

struct ApiSettings {
  std::string public_url;      // external base URL, no trailing slash
  std::string context_path = "/approval";
  std::string hall_path = "/hall";  // the public hall; the QR codes point at its lookup page
  // The distinct bytes one account may upload in 24 hours (applicants and
  // staff), and the free space the file store keeps: past them an upload is
  // refused (409 / 503) before it is written.
  int64_t applicant_upload_bytes_per_day = int64_t{200} << 20;
  int64_t staff_upload_bytes_per_day = int64_t{2048} << 20;
  int64_t min_free_disk_bytes = int64_t{1024} << 20;
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
  // Failed public lookups per client address (api_public.cc); null = unthrottled.
  sso::LoginThrottle* lookup_throttle = nullptr;
  ApiSettings settings;
  // The seam to the payment subsystem (办件收费), connected by src/app since
  // approval and payment do not include each other: raise the payment notice
  // of a case's fee items (idempotent: raising again answers the same notice)
  // and list a case's notices, as JSON. Unset = cases carry no fees.
  std::function<Result<codec::Value>(const Case& c, const Matter& m)> raise_case_fees;
  std::function<Result<codec::Value>(const Case& c)> case_fee_notices;
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
  std::string csrf;               // kStaff: the session's CSRF token (GET me hands it out)
  std::string system_scope;       // kSystem: orgcoding prefix the calling app may act for

  std::string_view Query(std::string_view name) const { return request.ParamOr(name); }
};

using Handler = std::function<Result<codec::Value>(const Services&, Call&)>;

// For a handler whose answer comes later (the engine's group commit,
// CaseEngine::ActAsync): suspends the response and returns the function that
// answers it, once, from any thread — the JSON of a value, or the error as
// every route writes it. The handler then returns codec::Value() at once and
// leaves call.response alone; the Request stays valid until the answer.
using Answer = std::function<void(Result<codec::Value>)>;
Answer AnswerLater(Call& call);

enum class Access {
  kStaff,   // SSO session of a user holding any approval role
  kSystem,  // signed call of a department system (app with the approval scope)
  kPublic,  // anyone (throttled where it reveals anything)
  kApplicant,  // SSO session of any active user, no role needed: the hall's 网上申报
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

// ---- helpers shared by the route files (api_json.cc) ----

// Result codes of the API itself, beside engine.h's code:: (docs/api/approval.md).
namespace api_code {
inline constexpr int kNotLoggedIn = 401;      // no SSO session
inline constexpr int kNotStaff = 403;         // no role of the approval app, or inactive
inline constexpr int kCsrfFailed = 4031;      // X-CSRF-Token / Origin check failed
inline constexpr int kSystemRefused = 4032;   // a signed call: bad signature or app not allowed
inline constexpr int kThrottled = 429;        // too many failed lookups from this address
// 转办 to a user who cannot take the step: answered as 400 with code 5102
// (code::kNotYourStep), a bad target rather than the caller's missing right.
inline constexpr int kBadTransferTarget = -5102;
}  // namespace api_code

// An error with an API code and a Chinese message.
inline Error ApiError(int code, std::string message) { return Error{code, std::move(message)}; }

// The whole of `text` as a decimal integer; false for anything else.
bool ParseInteger(std::string_view text, int64_t* out);

struct Paging {
  int64_t offset = 0;
  int64_t limit = 20;
};
// page (from 1) and size (1..500, default 20) query parameters.
Result<Paging> PagingFrom(const Call& call);
// {"total": total, "items": items}
codec::Value ListOf(int64_t total, codec::Value items);

// Members of a JSON object body; InvalidArgument naming the member when it has
// the wrong type. Absent or null = the fallback.
Result<std::string> TextMember(const codec::Value& object, std::string_view name,
                               std::string fallback = {});
Result<std::vector<std::string>> TextListMember(const codec::Value& object, std::string_view name);
Status RequireObjectBody(const Call& call);

// JSON shapes (docs/api/approval.md "Objects").
codec::Value CaseJson(const Services& s, const Case& c);  // with "case_light" and "step_light"
codec::Value StepRecordJson(const StepRecord& r);
codec::Value MatterJson(const Matter& m);
Result<Matter> MatterFromJson(const codec::Value& v);
Result<Applicant> ApplicantFromJson(const codec::Value& v);
// Electronic materials must name a stored file; media type and size are taken
// from the file store, never from the client.
// Each electronic material's file must be one `actor` may reference
// (CaseEngine::MayReferenceFile); absent and not-theirs answer alike.
Result<std::vector<CaseMaterial>> MaterialsFromJson(const Services& s, const Actor& actor,
                                                    const codec::Value* v);
// kBadMaterial "<what>不存在：<sha>" unless `actor` may reference the stored
// file `sha256` — the same answer for an absent file and another's.
Status RequireReferableFile(const Services& s, const Actor& actor, std::string_view sha256,
                            std::string_view what);
codec::Value StringsJson(const std::vector<std::string>& items);
std::string FormatTime(int64_t at_ms);  // "2026-10-01 09:30:00" CST; "" for 0

// 64 lower-case hex digits.
bool IsSha256Hex(std::string_view text);
// Answers the stored file `sha256` as an attachment with its sniffed type
// (the caller decided the file may be shown). 404 when absent.
Result<codec::Value> WriteStoredFile(const Services& s, Call& call, const std::string& sha256);

// The actor may edit matters (and the calendar) of `orgcoding`: 事项管理 in that org.
Status RequireMatterAdmin(const Actor& actor, std::string_view orgcoding);
// The actor may see the case: it is of one of their orgs, waits on one of
// them, or the actor supervises.
Status RequireCaseVisible(const Actor& actor, const Case& c);

}  // namespace tongban::approval
