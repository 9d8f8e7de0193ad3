#include "catalogue/demo.h"

#include <array>
#include <span>

#include "directory/codes.h"

namespace tongban::catalogue {

namespace {

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

Resource BaseResource(BaseKind kind, std::string classification, std::string name,
                      std::string abstract_text, std::string provider) {
  Resource r;
  r.classification = std::move(classification);
  r.name = std::move(name);
  r.provider_org = std::string(kDemoProviderOrg);
  r.provider_name = std::move(provider);
  r.provider_code = "113301000024991243";
  r.abstract_text = std::move(abstract_text);
  r.format = "数据库";
  for (const BaseField& f : BaseFields(kind)) r.items.push_back({f.code, f.name, f.type});
  r.share_type = ShareType::kConditional;
  r.share_condition = "用于政务服务事项办理中的核验，须写明法律依据";
  r.share_mode = ShareMode::kApi;
  r.open_attr = OpenAttr::kClosed;
  r.update_cycle = "实时";
  r.base_kind = kind;
  return r;
}

}  // namespace

Result<DemoCatalogue> SeedCatalogueDemo(directory::Directory& directory, ResourceStore& resources,
                                        BaseResources& base, Random* random) {
  DemoCatalogue demo;
  auto tree = resources.ListClassifications();
  if (!tree.ok()) return std::move(tree).error();
  if (!tree->empty()) return demo;
  Random& rng = random != nullptr ? *random : OpenSslRandom::Instance();
  const directory::Caller admin = directory::Caller::Admin();

  for (const auto& [coding, name] : {std::pair<std::string_view, const char*>{kDemoProviderOrg,
                                                                                "演示市公安局"},
                                     {kDemoUserOrg, "演示市民政局"}}) {
    auto org = directory.GetOrg(admin, coding);
    if (org.ok()) continue;
    if (org.error().code != directory::code::kOrgReadNotFound) return std::move(org).error();
    auto saved = directory.SaveOrg(admin, {{"orgcoding", std::string(coding)}, {"orgname", name}},
                                   directory::SaveMode::kAddOnly);
    if (!saved.ok()) return std::move(saved).error();
  }
  auto app = directory.GetApp(kAppCode);
  if (!app.ok()) {
    if (app.error().code != directory::code::kAppNotFound) return std::move(app).error();
    directory::App settings;
    settings.servicecode = std::string(kAppCode);
    settings.name = "目录与共享服务";
    auto created = directory.CreateApp(settings);
    if (!created.ok()) return std::move(created).error();
  }
  for (const auto& [code, name] :
       std::array<std::pair<std::string_view, const char*>, 3>{{{kRoleAdmin, "目录管理"},
                                                                {kRoleProvider, "资源提供方"},
                                                                {kRoleUser, "资源使用方"}}}) {
    directory::Role role;
    role.app = std::string(kAppCode);
    role.rolecode = std::string(code);
    role.rolename = name;
    auto saved = directory.SaveRole(role);
    if (!saved.ok()) return std::move(saved).error();
  }
  struct Account {
    const char* loginname;
    const char* username;
    std::string_view org;
    std::vector<std::string_view> roles;
  };
  for (const Account& a :
       {Account{"catadmin", "目录管理员", "001001", {kRoleAdmin, kRoleUser}},
        Account{"catprovider", "公安局数据专员", kDemoProviderOrg, {kRoleProvider, kRoleUser}},
        Account{"catuser", "民政局经办人", kDemoUserOrg, {kRoleUser}}}) {
    DemoAccount account{std::string(a.roles.front()), a.loginname, "", std::string(a.org)};
    std::string userid;
    auto user = directory.GetUserByLoginname(admin, a.loginname, a.org);
    if (user.ok()) {
      userid = (*user)->userid;
    } else if (user.error().code == directory::code::kUserReadNotFound) {
      account.password = ReadablePassword(rng, 16);
      auto saved = directory.SaveUser(admin,
                                      {{"loginname", a.loginname},
                                       {"username", a.username},
                                       {"orgcoding", std::string(a.org)},
                                       {"loginpwd", account.password}},
                                      directory::SaveMode::kAddOnly);
      if (!saved.ok()) return std::move(saved).error();
      userid = saved->user.userid;
    } else {
      return std::move(user).error();
    }
    for (std::string_view role : a.roles) {
      TB_RETURN_IF_ERROR(directory.GrantRole(userid, kAppCode, role));
    }
    demo.accounts.push_back(std::move(account));
  }

  const Actor seed{"demo-seed", "admin", "001001"};
  for (const auto& [code, name] : std::vector<std::pair<std::string, std::string>>{
           {"1", "基础信息资源"},
           {"101", "人口"},
           {"101001", "人口基本信息"},
           {"102", "法人单位"},
           {"102001", "法人基本信息"},
           {"103", "自然资源和空间地理"},
           {"103001", "行政区划"},
           {"2", "主题信息资源"},
           {"201", "社会救助"},
           {"201001", "最低生活保障"},
           {"3", "部门信息资源"},
           {"301", "民政"},
           {"301001", "社会组织"}}) {
    TB_RETURN_IF_ERROR(resources.PutClassification({code, name, "", 0}, seed));
  }
  std::vector<Resource> list = {
      BaseResource(BaseKind::kPerson, "101001", "人口基础信息",
                   "全市户籍人口的公民身份号码、姓名、性别、出生日期、民族、住址、手机号码和户籍地",
                   "演示市公安局"),
      BaseResource(BaseKind::kLegalPerson, "102001", "法人单位基础信息",
                   "全市企业、机关、事业单位和社会组织的统一社会信用代码、名称、法定代表人、注册资本"
                   "和登记状态",
                   "演示市公安局（代市场监管局汇集）"),
      BaseResource(BaseKind::kPlace, "103001", "行政区划空间信息",
                   "全市行政区划代码、名称、级别、上级区划和中心点经纬度", "演示市公安局"),
  };
  Resource relief;
  relief.classification = "201001";
  relief.name = "最低生活保障对象名单";
  relief.provider_org = std::string(kDemoUserOrg);
  relief.provider_name = "演示市民政局";
  relief.provider_code = "113301000024991243";
  relief.abstract_text = "享受城乡最低生活保障的家庭户主姓名、保障人数和月保障金额，按月更新";
  relief.format = "电子表格";
  relief.items = {{"holder_name", "户主姓名", "C"},
                  {"persons", "保障人数", "I"},
                  {"amount", "月保障金额", "Y"},
                  {"division", "所在行政区划", "C"}};
  relief.share_type = ShareType::kConditional;
  relief.share_condition = "仅用于社会救助核对";
  relief.share_mode = ShareMode::kApi;
  relief.open_attr = OpenAttr::kClosed;
  relief.update_cycle = "每月";
  list.push_back(relief);
  Resource orgs = relief;
  orgs.classification = "301001";
  orgs.name = "社会组织登记信息";
  orgs.abstract_text = "在民政部门登记的社会团体、民办非企业单位和基金会的名称、类型和登记日期";
  orgs.items = {{"org_name", "组织名称", "C"}, {"org_type", "组织类型", "C"},
                {"reg_date", "登记日期", "D"}};
  orgs.share_type = ShareType::kUnconditional;
  orgs.share_condition = "";
  orgs.open_attr = OpenAttr::kOpen;
  list.push_back(orgs);
  for (Resource& r : list) {
    auto created = resources.Create(std::move(r), seed);
    if (!created.ok()) return std::move(created).error();
    auto published = resources.Publish(created->id, seed);
    if (!published.ok()) return std::move(published).error();
    ++demo.resources;
  }
  TB_RETURN_IF_ERROR(base.Put(
      BaseKind::kPerson,
      {{"11010519491231002X", "张三", "男", "1949-12-31", "汉族", "演示市朝阳区演示路 1 号",
        "13800138000", "110105"},
       {"110105198001011238", "李四", "男", "1980-01-01", "回族", "演示市海淀区演示街 2 号",
        "13900139001", "110108"}}));
  TB_RETURN_IF_ERROR(base.Put(BaseKind::kLegalPerson,
                              {{"113301000024991243", "演示市民政局", "王五", "110105198001011238",
                                "0", "2001-05-01", "演示市政务路 3 号", "存续", "01087000001",
                                "110105"}}));
  TB_RETURN_IF_ERROR(base.Put(BaseKind::kPlace,
                              {{"110105", "朝阳区", "区县", "110100", "北京市朝阳区", "116.443",
                                "39.921"},
                               {"110108", "海淀区", "区县", "110100", "北京市海淀区", "116.298",
                                "39.959"}}));
  demo.created = true;
  return demo;
}

}  // namespace tongban::catalogue
