// The notice routes of the approval API: GET cases/:number/notices/:kind answers the PDF of one
// notice (notices.h), for staff of the case's orgs and supervisors. Only the notices the case's
// history supports exist; any other is 404.
#include <string>

#include "approval/api_internal.h"
#include "approval/notices.h"
#include "directory/codes.h"
#include "directory/directory.h"

namespace tongban::approval {
namespace {

// Staff see the notices of cases their org implements or handled a step of; supervisors all.
bool MaySee(const Actor& actor, const Case& c, const std::vector<StepRecord>& history) {
  if (actor.kind == Actor::Kind::kSystem) return true;  // signed calls carry the approval scope
  if (actor.HasRole(kRoleSupervise) || actor.InOrg(c.orgcoding)) return true;
  if (!c.pending_org.empty() && actor.InOrg(c.pending_org)) return true;
  for (const StepRecord& r : history) {
    if (!r.orgcoding.empty() && actor.InOrg(r.orgcoding)) return true;
  }
  return false;
}

// The org's full name for the heading and signature; its code when the directory no longer
// has it (a notice of an old case stays printable).
Result<std::string> OrgName(const Services& services, const std::string& orgcoding) {
  auto org = services.sso.directory.GetOrg(directory::Caller::Admin(), orgcoding);
  if (!org.ok()) {
    const int code = org.error().code;
    if (code == directory::code::kOrgReadNotFound || code == directory::code::kOrgReadBadCoding) {
      return orgcoding;
    }
    return std::move(org).error();
  }
  return org->orgallname.empty() ? org->orgname : org->orgallname;
}

// Case numbers are [0-9A-Z]; anything else is dropped so the header cannot be bent.
std::string SafeFileName(std::string_view number, std::string_view kind) {
  std::string name;
  for (char c : number) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
      name.push_back(c);
    }
  }
  return name + "-" + std::string(kind) + ".pdf";
}

Result<codec::Value> GetNotice(const Services& services, Call& call) {
  const std::string& number = call.args.at(0);
  const std::optional<NoticeKind> kind = ParseNoticeKind(call.args.at(1));
  if (!kind) {
    return Error::NotFound("no notice kind \"" + call.args.at(1) +
                           "\" (acceptance, refusal, correction, completion)");
  }
  auto c = services.engine.Get(number);
  if (!c.ok()) return std::move(c).error();
  auto history = services.engine.History(number);
  if (!history.ok()) return std::move(history).error();
  if (!MaySee(call.actor, *c, *history)) {
    return Error::PermissionDenied("case " + number + " is not of your orgs");
  }
  auto data = NoticeDataFromHistory(*kind, *c, *history);
  if (!data.ok()) return std::move(data).error();
  auto org = OrgName(services, c->orgcoding);
  if (!org.ok()) return std::move(org).error();
  data->org_name = std::move(*org);
  if (!services.settings.public_url.empty()) {
    data->lookup_url =
        services.settings.public_url + services.settings.hall_path + "/#/lookup?number=" + c->number;
  }
  static const NoticePrinter kDefaultPrinter;
  const NoticePrinter& printer = services.notices ? *services.notices : kDefaultPrinter;
  auto pdf = printer.Print(*kind, *data);
  if (!pdf.ok()) return std::move(pdf).error();

  call.response.set_status(200);
  call.response.set_content_type("application/pdf");
  call.response.AddHeader(
      "Content-Disposition",
      "attachment; filename=\"" + SafeFileName(c->number, NoticeKindName(*kind)) + "\"");
  call.response.AddHeader("Cache-Control", "no-store");
  call.response.set_body(std::move(*pdf));
  call.wrote_response = true;
  return codec::Value();
}

}  // namespace

void AddNoticeRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "cases/:number/notices/:kind", Access::kStaff, GetNotice});
}

}  // namespace tongban::approval
