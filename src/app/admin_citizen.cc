// `tongban admin citizen …`: self-service citizen and company accounts from
// the shell — list them (pending counter checks first of all) and record an
// operator's counter check that sets the real-name level (issue 20).
#include <cstdio>
#include <memory>
#include <string>

#include "app/admin.h"
#include "app/citizen_wiring.h"
#include "app/node.h"

namespace tongban::app {
namespace {

int Fail(const Error& error) {
  std::fprintf(stderr, "tongban admin: %s\n", error.message.c_str());
  return 1;
}

struct LevelArgs {
  std::string user;  // loginname or userid
  int level = 0;
  std::string note;
  std::string by = "cli";
};

struct ListArgs {
  bool pending = false;
  std::string kind;
  int level = 0;
};

}  // namespace

void RegisterCitizenAdminCommands(CLI::App& admin, AdminCommands& commands) {
  CLI::App* citizen = admin.add_subcommand(
      "citizen", "Self-registered citizen and company accounts: list, counter checks");
  citizen->require_subcommand(1);

  auto level_args = std::make_shared<LevelArgs>();
  CLI::App* level = citizen->add_subcommand(
      "level", "Record a counter check (窗口核验): set the account's real-name level");
  level->add_option("user", level_args->user, "loginname or userid")->required();
  level->add_option("level", level_args->level, "1, 2 or 3")->required();
  level->add_option("--note", level_args->note, "What was checked (goes to the audit log)");
  level->add_option("--by", level_args->by, "The operator's name (audit log)");
  level->callback([&commands, level_args] {
    commands.run = [level_args](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto wiring = CitizenWiring::OpenForAdmin(**node);
      if (!wiring.ok()) return Fail(wiring.error());
      auto& dir = (*node)->directory();
      std::string userid = level_args->user;
      if (auto user = dir.GetUserByLoginname(directory::Caller::Admin(), level_args->user);
          user.ok()) {
        userid = (*user)->userid;
      }
      auto changed = (*wiring)->accounts().SetLevel(userid, level_args->level,
                                                    "counter:" + level_args->by, level_args->note);
      if (!changed.ok()) return Fail(changed.error());
      std::printf("%s\tlevel %d\n", changed->loginname.c_str(), changed->level);
      return 0;
    };
  });

  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = citizen->add_subcommand("list", "List self-registered accounts, newest first");
  list->add_flag("--pending", list_args->pending, "Only accounts waiting for a counter check");
  list->add_option("--kind", list_args->kind, "personal or legal");
  list->add_option("--level", list_args->level, "1, 2 or 3");
  list->callback([&commands, list_args] {
    commands.run = [list_args](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto wiring = CitizenWiring::OpenForAdmin(**node);
      if (!wiring.ok()) return Fail(wiring.error());
      sso::AccountFilter filter{list_args->kind, list_args->level, list_args->pending};
      auto listed = (*wiring)->accounts().List(filter, directory::Page{1, 1000});
      if (!listed.ok()) return Fail(listed.error());
      std::printf("loginname\tkind\tlevel\tcheck\treason\tcompany\n");
      for (const auto& a : listed->items) {
        std::printf("%s\t%s\t%d\t%s\t%s\t%s\n", a.loginname.c_str(),
                    std::string(sso::AccountKindName(a.kind)).c_str(), a.level,
                    a.check_state.c_str(), a.check_reason.c_str(), a.company_name.c_str());
      }
      return 0;
    };
  });
}

}  // namespace tongban::app
