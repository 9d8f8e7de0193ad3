#include "approval/demo.h"

#include <array>
#include <chrono>
#include <span>
#include <sstream>
#include <utility>

#include "directory/codes.h"

namespace tongban::approval {
namespace {

// The approval app's roles and the names the console shows for them.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kRoles{{
    {kRoleIntake, "收件"},
    {kRoleAccept, "受理"},
    {kRoleUndertake, "承办"},
    {kRoleReview, "审核"},
    {kRoleApprove, "批准"},
    {kRoleSupervise, "监察"},
    {kRoleMatterAdmin, "事项管理"},
}};

// A fictitious implementing body in Hangzhou (330100) whose code carries
// correct GB 32100 and GB 11714 check characters, and a basic code of the
// national catalogue's shape.
constexpr std::string_view kDemoUscc = "113301000024991243";
constexpr std::string_view kDemoBasicCode = "000117009000";

// No 0/O, 1/l/I: a password read off a terminal and typed.
std::string ReadablePassword(Random& random, size_t length) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  while (out.size() < length) {
    uint8_t b = 0;
    random.Fill(std::span<uint8_t>(&b, 1));
    if (b >= 256 - 256 % kAlphabet.size()) continue;  // keeps the characters uniform
    out += kAlphabet[b % kAlphabet.size()];
  }
  return out;
}

Status EnsureApp(directory::Directory& directory) {
  auto app = directory.GetApp(kAppCode);
  if (app.ok()) return Status::Ok();
  if (app.error().code != directory::code::kAppNotFound) return std::move(app).error();
  directory::App settings;
  settings.servicecode = std::string(kAppCode);
  settings.name = "统一审批";
  // The workbench is tongban's own page: it signs in with the SSO session and
  // never receives a ticket at a callback of its own.
  auto created = directory.CreateApp(settings);
  if (!created.ok()) return std::move(created).error();
  return Status::Ok();
}

}  // namespace

Matter DemoMatter(std::string orgcoding) {
  Matter m;
  m.basic_code = std::string(kDemoBasicCode);
  m.implement_code = std::string(kDemoUscc) + "3" + m.basic_code;
  m.name = "建设工程规划许可证核发（演示）";
  m.type = MatterType::kLicence;
  m.orgcoding = std::move(orgcoding);
  m.division = "330100";
  m.legal_limit = {20, TimeUnit::kWorkingDays};
  m.promised_limit = {10, TimeUnit::kWorkingDays};
  m.kind = CaseKind::kPromised;
  m.guide = "办理地点：演示市政务服务中心一楼综合窗口\n收费：不收费";
  m.materials = {
      {"建设工程规划许可证申请表", true, MaterialForm::kEither, 1, ""},
      {"建设项目用地权属证明", true, MaterialForm::kPaper, 1, ""},
  };
  m.steps = {
      {"1", "承办", std::string(kRoleUndertake), "", {4, TimeUnit::kWorkingDays}},
      {"2", "审核", std::string(kRoleReview), "", {3, TimeUnit::kWorkingDays}},
      {"3", "批准", std::string(kRoleApprove), "", {3, TimeUnit::kWorkingDays}},
  };
  return m;
}

Result<DemoApproval> SeedApprovalDemo(directory::Directory& directory, MatterCatalogue& matters,
                                      CalendarStore& calendars, Random* random) {
  DemoApproval demo;
  int64_t total = 0;
  MatterFilter any;
  any.limit = 1;
  auto listed = matters.List(any, &total);
  if (!listed.ok()) return std::move(listed).error();
  if (total > 0) return demo;

  const directory::Caller admin = directory::Caller::Admin();
  auto org = directory.GetOrg(admin, kDemoOrg);
  if (!org.ok()) {
    if (org.error().code == directory::code::kOrgReadNotFound) {
      return Error::NotFound("approval demo: the demo org " + std::string(kDemoOrg) +
                             " does not exist (Directory::SeedDemo creates it)");
    }
    return std::move(org).error();
  }

  TB_RETURN_IF_ERROR(EnsureApp(directory));
  for (const auto& [code, name] : kRoles) {
    directory::Role role;
    role.app = std::string(kAppCode);
    role.rolecode = std::string(code);
    role.rolename = std::string(name);
    auto saved = directory.SaveRole(role);
    if (!saved.ok()) return std::move(saved).error();
  }

  demo.clerk_loginname = std::string(kDemoClerk);
  demo.clerk_orgcoding = std::string(kDemoOrg);
  std::string clerk_id;
  auto existing = directory.GetUserByLoginname(admin, kDemoClerk, kDemoOrg);
  if (existing.ok()) {
    clerk_id = (*existing)->userid;
  } else if (existing.error().code == directory::code::kUserReadNotFound) {
    demo.clerk_password =
        ReadablePassword(random != nullptr ? *random : OpenSslRandom::Instance(), 16);
    auto saved = directory.SaveUser(admin,
                                    {{"loginname", std::string(kDemoClerk)},
                                     {"username", "演示办事员"},
                                     {"orgcoding", std::string(kDemoOrg)},
                                     {"loginpwd", demo.clerk_password}},
                                    directory::SaveMode::kAddOnly);
    if (!saved.ok()) return std::move(saved).error();
    clerk_id = saved->user.userid;
  } else {
    return std::move(existing).error();
  }
  for (const auto& [code, name] : kRoles) {
    TB_RETURN_IF_ERROR(directory.GrantRole(clerk_id, kAppCode, code));
  }

  // The default calendar, unless one was kept already: its rows are upserts,
  // and an administrator's corrections must not be overwritten.
  using std::chrono::January;
  using std::chrono::year;
  const Day from{year(2026) / January / 1}, to{year(2027) / January / 1};
  auto existing_days = calendars.List("", from, to);
  if (!existing_days.ok()) return std::move(existing_days).error();
  if (existing_days->empty()) {
    std::istringstream csv{std::string(ChinaHolidaysCsv2026())};
    auto imported = calendars.ImportCsv(csv);
    if (!imported.ok()) return std::move(imported).error();
    auto days = calendars.List("", from, to);
    if (!days.ok()) return std::move(days).error();
    demo.calendar_entries = static_cast<int64_t>(days->size());
  }

  auto saved = matters.Save(DemoMatter());
  if (!saved.ok()) return std::move(saved).error();
  demo.implement_code = saved->implement_code;
  demo.created = true;
  return demo;
}

}  // namespace tongban::approval
