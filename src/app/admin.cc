#include "app/admin.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/node.h"

namespace tongban::app {
namespace {

int Fail(const Error& error) {
  std::fprintf(stderr, "tongban admin: %s\n", error.message.c_str());
  return 1;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ",";
    out += item;
  }
  return out;
}

// One line a second on a terminal; silent when stderr is a file or pipe.
std::function<void(int64_t)> ProgressPrinter(const char* what) {
  if (!::isatty(STDERR_FILENO)) return {};
  return [what](int64_t rows) { std::fprintf(stderr, "\r%s: %lld rows", what, (long long)rows); };
}

int PrintReport(const directory::ImportReport& report) {
  if (::isatty(STDERR_FILENO)) std::fputc('\n', stderr);
  std::printf("rows=%lld added=%lld modified=%lld failed=%lld\n", (long long)report.rows,
              (long long)report.added, (long long)report.modified, (long long)report.failed);
  for (const auto& e : report.errors) {
    std::printf("line %lld: %d %s\n", (long long)e.line, e.code, e.message.c_str());
  }
  return report.failed == 0 ? 0 : 2;
}

struct AppCreateArgs {
  std::string servicecode;
  std::string name;
  std::vector<std::string> callbacks;
  std::vector<std::string> allowed_ips;
  std::string push_url;
  std::string logout_url;
  std::string signtype = "md5";
  bool proxy_right = false;
  bool directory_write = false;
  bool open_to_all = false;
};

}  // namespace

void RegisterAdminCommands(CLI::App& admin, AdminCommands& commands) {
  admin.require_subcommand(1);

  // --- apps ---
  CLI::App* app = admin.add_subcommand("app", "Access resources (接入资源)");
  app->require_subcommand(1);
  auto create_args = std::make_shared<AppCreateArgs>();
  CLI::App* create = app->add_subcommand("create", "Register an app; prints its servicepwd once");
  create->add_option("--servicecode", create_args->servicecode, "Code (generated when omitted)");
  create->add_option("--name", create_args->name, "Display name")->required();
  create->add_option("--callback", create_args->callbacks, "Allowed callback URL prefix (repeat)");
  create->add_option("--allow-ip", create_args->allowed_ips, "Allowed source IP or CIDR (repeat)");
  create->add_option("--push-url", create_args->push_url, "URL receiving directory pushes");
  create->add_option("--logout-url", create_args->logout_url, "Back-channel logout URL");
  create->add_option("--signtype", create_args->signtype, "md5 (default), sm3 or hmac-sha256");
  create->add_flag("--proxy", create_args->proxy_right, "May obtain proxy tickets");
  create->add_flag("--directory-write", create_args->directory_write,
                   "May synchronize users and orgs");
  create->add_flag("--open-to-all", create_args->open_to_all, "Listed in every user's systems");
  create->callback([&commands, create_args] {
    commands.run = [create_args](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      directory::App settings;
      settings.servicecode = create_args->servicecode;
      settings.name = create_args->name;
      settings.callback_urls = create_args->callbacks;
      settings.allowed_ips = create_args->allowed_ips;
      settings.push_url = create_args->push_url;
      settings.push_enabled = !create_args->push_url.empty();
      settings.logout_url = create_args->logout_url;
      auto signtype = crypto::ParseSignType(create_args->signtype);
      if (!signtype.ok()) return Fail(signtype.error());
      settings.signtype = *signtype;
      settings.proxy_right = create_args->proxy_right;
      settings.directory_write = create_args->directory_write;
      settings.open_to_all = create_args->open_to_all;
      auto created = (*node)->directory().CreateApp(settings);
      if (!created.ok()) return Fail(created.error());
      std::printf("servicecode=%s\nservicepwd=%s\n", created->app.servicecode.c_str(),
                  created->servicepwd.c_str());
      return 0;
    };
  });

  CLI::App* list = app->add_subcommand("list", "List apps (never their secrets)");
  list->callback([&commands] {
    commands.run = [](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto apps = (*node)->directory().ListApps();
      if (!apps.ok()) return Fail(apps.error());
      std::printf("servicecode\tname\tenabled\tsigntype\tcallbacks\n");
      for (const auto& a : *apps) {
        std::printf("%s\t%s\t%s\t%s\t%s\n", a.servicecode.c_str(), a.name.c_str(),
                    a.enabled ? "yes" : "no", std::string(crypto::SignTypeName(a.signtype)).c_str(),
                    Join(a.callback_urls).c_str());
      }
      return 0;
    };
  });

  auto rotate_code = std::make_shared<std::string>();
  CLI::App* rotate = app->add_subcommand("rotate-secret", "New servicepwd, printed once");
  rotate->add_option("servicecode", *rotate_code)->required();
  rotate->callback([&commands, rotate_code] {
    commands.run = [rotate_code](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto secret = (*node)->directory().RotateSecret(*rotate_code);
      if (!secret.ok()) return Fail(secret.error());
      std::printf("servicecode=%s\nservicepwd=%s\n", rotate_code->c_str(), secret->c_str());
      return 0;
    };
  });

  // --- users and orgs ---
  CLI::App* user = admin.add_subcommand("user", "Users");
  user->require_subcommand(1);
  auto import_path = std::make_shared<std::string>();
  auto no_hash = std::make_shared<bool>(false);
  CLI::App* import = user->add_subcommand("import", "Import users from CSV (spec field names)");
  import->add_option("file", *import_path, "CSV file, header row of field names")
      ->required()
      ->check(CLI::ExistingFile);
  import->add_flag("--no-hash", *no_hash,
                   "Store loginpwd as plain$… to be upgraded at first login (fast, less safe)");
  import->callback([&commands, import_path, no_hash] {
    commands.run = [import_path, no_hash](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      std::ifstream in(*import_path);
      directory::ImportOptions options;
      options.hash_passwords = !*no_hash;
      options.progress = ProgressPrinter("users");
      auto report = (*node)->directory().ImportUsers(in, options);
      if (!report.ok()) return Fail(report.error());
      return PrintReport(*report);
    };
  });

  CLI::App* export_users = user->add_subcommand("export", "Export users as CSV to stdout");
  export_users->callback([&commands] {
    commands.run = [](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      if (auto s = (*node)->directory().ExportUsers(std::cout); !s.ok()) return Fail(s.error());
      return 0;
    };
  });

  auto reset_login = std::make_shared<std::string>();
  auto reset_password = std::make_shared<std::string>();
  CLI::App* reset = user->add_subcommand("reset-password", "Set a user's password");
  reset->add_option("loginname", *reset_login)->required();
  reset->add_option("--password", *reset_password,
                    "New password (read from stdin when omitted)");
  reset->callback([&commands, reset_login, reset_password] {
    commands.run = [reset_login, reset_password](const Config& config) {
      std::string password = *reset_password;
      if (password.empty() && !std::getline(std::cin, password)) {
        return Fail(Error::InvalidArgument("no password given on stdin"));
      }
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto& dir = (*node)->directory();
      auto found = dir.GetUserByLoginname(directory::Caller::Admin(), *reset_login);
      if (!found.ok()) return Fail(found.error());
      if (auto s = dir.SetPassword((*found)->userid, password); !s.ok()) return Fail(s.error());
      std::printf("password of %s reset\n", reset_login->c_str());
      return 0;
    };
  });

  CLI::App* org = admin.add_subcommand("org", "Orgs");
  org->require_subcommand(1);
  auto org_path = std::make_shared<std::string>();
  CLI::App* org_import = org->add_subcommand("import", "Import orgs from CSV, parents first");
  org_import->add_option("file", *org_path)->required()->check(CLI::ExistingFile);
  org_import->callback([&commands, org_path] {
    commands.run = [org_path](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      std::ifstream in(*org_path);
      directory::ImportOptions options;
      options.progress = ProgressPrinter("orgs");
      auto report = (*node)->directory().ImportOrgs(in, options);
      if (!report.ok()) return Fail(report.error());
      return PrintReport(*report);
    };
  });
  CLI::App* org_export = org->add_subcommand("export", "Export orgs as CSV to stdout");
  org_export->callback([&commands] {
    commands.run = [](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      if (auto s = (*node)->directory().ExportOrgs(std::cout); !s.ok()) return Fail(s.error());
      return 0;
    };
  });

  CLI::App* migrate = admin.add_subcommand("migrate", "Create or upgrade the database schema");
  migrate->callback([&commands] {
    commands.run = [](const Config& config) {
      auto node = Node::Open(config);  // opening migrates
      if (!node.ok()) return Fail(node.error());
      std::printf("database schema is up to date\n");
      return 0;
    };
  });
}

int RunAdminCommand(const Config& config, AdminCommands& commands) {
  if (!commands.run) return Fail(Error::InvalidArgument("no admin command given"));
  return commands.run(config);
}

}  // namespace tongban::app
