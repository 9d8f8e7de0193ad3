// The approval demo: on a fresh installation, the approval app with its roles
// in the SSO directory, a clerk who holds every role, one matter with three
// steps and the default calendar of 2026's holidays, so the workbench
// can be tried at once. `serve` calls it after Directory::SeedDemo.
#pragma once

#include <cstdint>
#include <string>

#include "approval/calendar.h"
#include "approval/matters.h"
#include "core/random.h"
#include "core/result.h"
#include "directory/directory.h"

namespace tongban::approval {

// The demo's org: the province Directory::SeedDemo creates.
inline constexpr std::string_view kDemoOrg = "001";
inline constexpr std::string_view kDemoClerk = "clerk";

struct DemoApproval {
  bool created = false;  // false when the catalogue already had matters (nothing done)
  std::string clerk_loginname;
  std::string clerk_orgcoding;
  std::string clerk_password;    // in clear, shown once; "" when the clerk existed before
  std::string implement_code;    // the demo matter's
  int64_t calendar_entries = 0;  // default-calendar days imported (0: the default had 2026 days)
};

// Does nothing unless the catalogue is empty. Creates what is missing: the app
// kAppCode with the roles of model.h (Chinese names), the clerk in kDemoOrg
// (which must exist: errc::kNotFound otherwise) granted intake, accept,
// undertake, review, approve, supervise and matters, the default calendar from
// ChinaHolidaysCsv2026 (unless the default calendar has 2026 days), and the demo matter —
// saved last, so a seeding cut short is completed by the next call.
// `random` (default: OpenSslRandom) makes the clerk's password.
Result<DemoApproval> SeedApprovalDemo(directory::Directory& directory, MatterCatalogue& matters,
                                      CalendarStore& calendars, Random* random = nullptr);

// The demo matter on its own (tests and docs use it): a 行政许可 of org `orgcoding`,
// 20 working days legal / 10 promised, steps 承办 / 审核 / 批准, two materials.
Matter DemoMatter(std::string orgcoding = std::string(kDemoOrg));

}  // namespace tongban::approval
