#include "payment/demo.h"

#include <array>
#include <span>
#include <utility>

#include "directory/codes.h"

namespace tongban::payment {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kRoles{{
    {kRoleClerk, "执收单位经办"},
    {kRoleFinance, "财政局审核"},
    {kRoleEgov, "电子政务办审核"},
    {kRoleProvince, "省级审核"},
    {kRoleAdmin, "支付平台管理"},
}};

// No 0/O, 1/l/I: a password read off a terminal and typed.
std::string ReadablePassword(Random& random, size_t length) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  while (out.size() < length) {
    uint8_t b = 0;
    random.Fill(std::span<uint8_t>(&b, 1));
    if (b >= 256 - 256 % kAlphabet.size()) continue;
    out += kAlphabet[b % kAlphabet.size()];
  }
  return out;
}

CollectingUnit DemoUnit() {
  CollectingUnit u;
  u.entercode = std::string(kDemoEntercode);
  u.name = "演示市自然资源和规划局";
  u.regicode = "330100";
  u.address = "浙江省杭州市演示路 1 号";
  u.channel_no = "330001296";
  u.coordinator = {"张协调", "0571-87000001", "13800138000", "coordinator@example.cn"};
  u.business = {"李业务", "0571-87000002", "13800138001", "business@example.cn"};
  u.technical = {"王技术", "0571-87000003", "13800138002", "tech@example.cn"};
  u.charge_items = {"00034002", "00034003"};
  u.areas = {"330100"};
  u.scheme = Scheme::kBatchImport;
  u.orgcoding = std::string(kDemoOrg);
  return u;
}

}  // namespace

Result<DemoPayment> SeedPaymentDemo(directory::Directory& directory, UnitStore& units,
                                    NoticeStore& notices, Clock& clock, std::string_view demo_app,
                                    Random* random) {
  DemoPayment demo;
  auto existing_units = units.ListUnits();
  if (!existing_units.ok()) return std::move(existing_units).error();
  if (!existing_units->empty()) return demo;
  const directory::Caller admin = directory::Caller::Admin();
  auto org = directory.GetOrg(admin, kDemoOrg);
  if (!org.ok()) return std::move(org).error();

  auto app = directory.GetApp(kAppCode);
  if (!app.ok()) {
    if (app.error().code != directory::code::kAppNotFound) return std::move(app).error();
    directory::App settings;
    settings.servicecode = std::string(kAppCode);
    settings.name = "统一公共支付";
    auto created = directory.CreateApp(settings);
    if (!created.ok()) return std::move(created).error();
  }
  for (const auto& [code, name] : kRoles) {
    directory::Role role;
    role.app = std::string(kAppCode);
    role.rolecode = std::string(code);
    role.rolename = std::string(name);
    auto saved = directory.SaveRole(role);
    if (!saved.ok()) return std::move(saved).error();
  }
  demo.user_loginname = std::string(kDemoUser);
  std::string userid;
  auto user = directory.GetUserByLoginname(admin, kDemoUser, kDemoOrg);
  if (user.ok()) {
    userid = (*user)->userid;
  } else if (user.error().code == directory::code::kUserReadNotFound) {
    demo.user_password =
        ReadablePassword(random != nullptr ? *random : OpenSslRandom::Instance(), 16);
    auto saved = directory.SaveUser(admin,
                                    {{"loginname", std::string(kDemoUser)},
                                     {"username", "演示支付经办"},
                                     {"orgcoding", std::string(kDemoOrg)},
                                     {"mobile", "13900139000"},
                                     // Checked at a counter (real-name level 2):
                                     // its mobile finds the demo notice in the hall
                                     // (an unproven mobile finds none).
                                     {"authlevel", "2"},
                                     {"loginpwd", demo.user_password}},
                                    directory::SaveMode::kAddOnly);
    if (!saved.ok()) return std::move(saved).error();
    userid = saved->user.userid;
  } else {
    return std::move(user).error();
  }
  for (const auto& [code, name] : kRoles) {
    TB_RETURN_IF_ERROR(directory.GrantRole(userid, kAppCode, code));
  }

  ChargeItem forest;
  forest.chitcode = "00034002";
  forest.name = "森林植被恢复费";
  forest.metric_unit = "平方米";
  forest.standard_fen = 1000;
  forest.late_fee = {true, "", 500, 0};  // 0.5‰ a day, capped at the amount
  TB_RETURN_IF_ERROR(units.PutItem(forest));
  ChargeItem fine;
  fine.chitcode = "00034003";
  fine.name = "罚没收入";
  fine.metric_unit = "次";
  TB_RETURN_IF_ERROR(units.PutItem(fine));

  // Through the 联系单 workflow, so the console shows a form with opinions.
  auto application = units.CreateApplication(DemoUnit(), demo.user_loginname);
  if (!application.ok()) return std::move(application).error();
  auto submitted = units.Submit(application->id);
  if (!submitted.ok()) return std::move(submitted).error();
  const std::string today = ChinaDate(clock.NowMillis());
  for (auto [stage, text] : {std::pair{ReviewStage::kFinance, "同意该单位接入统一公共支付平台。"},
                             std::pair{ReviewStage::kEgov, "同意，按方案（1）批量导入接入。"}}) {
    Opinion o;
    o.stage = stage;
    o.approve = true;
    o.date = today;
    o.text = text;
    o.reviewer = demo.user_loginname;
    auto given = units.GiveOpinion(application->id, o);
    if (!given.ok()) return std::move(given).error();
  }
  if (!demo_app.empty()) {
    TB_RETURN_IF_ERROR(units.SetUnitLinks(kDemoEntercode, demo_app, ""));
  }

  PaymentNotice n;
  n.entercode = std::string(kDemoEntercode);
  n.original_notice_no = "DEMO0001";
  n.ywcode = "DEMO-YW-0001";
  n.payer = {"张三", PayerIdKind::kResident, "11010519491231002X", "13900139000", "", "", ""};
  n.true_name = true;
  n.expires_at_ms = clock.NowMillis() + 30LL * 86'400'000;
  n.count_overdue = true;
  NoticeLine a;
  a.chitcode = "00034002";
  a.count_milli = 120'000;  // 120 平方米 × 10.00
  NoticeLine b;
  b.chitcode = "00034003";
  b.amount_fen = 50'000;
  n.lines = {a, b};
  auto created = notices.Create(std::move(n), NoticeSource::kConsole);
  if (!created.ok()) return std::move(created).error();
  demo.entercode = std::string(kDemoEntercode);
  demo.notice_no = created->notice_no;
  demo.created = true;
  return demo;
}

}  // namespace tongban::payment
