#include "app/admin.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "app/node.h"
#include "sso/audit.h"
#include "sso/context.h"
#include "sso/logout.h"
#include "sso/sessions.h"

namespace tongban::app {
namespace {

// Ends every session of a user just locked, or whose password was just reset
// (sso::UnifiedLogout::EndUser). Reaches the server's sessions only through a
// shared (Redis) ticket store; beside an in-memory store the server's change
// follower ends them once it has seen a lock (about a second; app/routes.cc),
// and a reset reaches none (docs/security.md).
Status EndUserSessions(Node& node, std::string_view userid, std::string_view reason = "locked") {
  sso::SsoSettings settings;
  const SsoConfig& c = node.config().sso;
  settings.ticket_ttl = std::chrono::seconds(c.ticket_ttl_s);
  settings.authcode_ttl = std::chrono::seconds(c.authcode_ttl_s);
  settings.access_token_ttl = std::chrono::seconds(c.access_token_ttl_s);
  settings.refresh_token_ttl = std::chrono::seconds(c.refresh_token_ttl_s);
  settings.session_ttl = std::chrono::seconds(c.session_ttl_s);
  sso::SsoContext context{node.directory(), node.tickets(), node.outbox(), node.clock(),
                          node.random(), settings, &node.sql()};
  sso::Audit audit(&node.sql(), node.clock());
  sso::SessionStore sessions(node.tickets(), node.clock(), node.random(),
                             sso::LifetimesOf(settings));
  sso::UnifiedLogout logout(context, sessions, audit);
  auto ended = logout.EndUser(userid, reason);
  if (!ended.ok()) return std::move(ended).error();
  return Status::Ok();
}

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

// A user import's progress on stderr after each committed batch: rows read,
// added (committed: a crash from then on keeps them), failed, the rate and
// the time left, estimated from the file's line count. One line a batch when
// stderr is not a terminal (logs, tests), a line rewritten in place when it is.
std::function<void(const directory::ImportReport&)> CommittedPrinter(const std::string& path) {
  int64_t total = 0;
  {
    std::ifstream in(path, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) ++total;
    total = std::max<int64_t>(0, total - 1);  // the header; a quoted newline makes it an estimate
  }
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  return [total, tty, start](const directory::ImportReport& r) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = secs > 0 ? static_cast<double>(r.rows) / secs : 0;
    const double eta = rate > 0 ? static_cast<double>(std::max<int64_t>(0, total - r.rows)) / rate : 0;
    std::fprintf(stderr, "%susers: %lld of ~%lld rows, committed: %lld added, %lld modified, "
                 "%lld failed, %.0f rows/s, ETA %.0f s%s",
                 tty ? "\r" : "", (long long)r.rows, (long long)total, (long long)r.added,
                 (long long)r.modified, (long long)r.failed, rate, eta, tty ? "" : "\n");
  };
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

// "zj,cas,oidc" (any subset, comma-separated) -> the app's sign-on protocols.
Result<directory::Protocols> ParseProtocols(const std::string& list) {
  directory::Protocols p{false, false, false};
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(pos, end - pos);
    pos = end + 1;
    if (item == "zj") {
      p.zj = true;
    } else if (item == "cas") {
      p.cas = true;
    } else if (item == "oidc") {
      p.oidc = true;
    } else if (!item.empty()) {
      return Error::InvalidArgument("unknown protocol " + item + " (expected zj, cas, oidc)");
    }
  }
  return p;
}

struct AppCreateArgs {
  std::string servicecode;
  std::string name;
  std::vector<std::string> callbacks;
  std::vector<std::string> allowed_ips;
  std::string push_url;
  std::string logout_url;
  std::string signtype = "md5";
  std::string sign_mode = "spec";
  std::string org_scope;
  std::string datatype = "json";
  std::string protocols = "zj";
  bool proxy_right = false;
  bool directory_write = false;
  bool open_to_all = false;
  std::vector<std::string> push_urls_for;  // METHOD=URL
  std::string push_password = "placeholder";
  bool md5_login = false;
};

// Applies "METHOD=URL" items to `urls`; "METHOD=" removes the method's own URL.
Status ApplyPushUrls(const std::vector<std::string>& items,
                     std::map<std::string, std::string>& urls) {
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error::InvalidArgument("--push-url-for wants METHOD=URL, got " + item);
    }
    std::string method = item.substr(0, eq);
    std::string url = item.substr(eq + 1);
    if (url.empty()) {
      urls.erase(method);
    } else {
      urls[method] = url;
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterAdminCommands(CLI::App& admin, AdminCommands& commands) {
  admin.require_subcommand(1);

  // --- apps ---
  CLI::App* app = admin.add_subcommand("app", "Access resources (接入资源)");
  app->require_subcommand(1);
  auto mfa_app = std::make_shared<std::string>();
  auto mfa_required = std::make_shared<std::string>();
  CLI::App* mfa_policy = app->add_subcommand(
      "second-factor", "Whether an app requires a second factor at login (shows it without --required)");
  mfa_policy->add_option("servicecode", *mfa_app)->required();
  mfa_policy->add_option("--required", *mfa_required, "true or false")
      ->check(CLI::IsMember({"true", "false"}));
  mfa_policy->callback([&commands, mfa_app, mfa_required] {
    commands.run = [mfa_app, mfa_required](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto found = (*node)->directory().GetApp(*mfa_app);
      if (!found.ok()) return Fail(found.error());
      if (!mfa_required->empty()) {
        Status set = (*node)->second_factors().SetAppRequires(*mfa_app, *mfa_required == "true");
        if (!set.ok()) return Fail(set.error());
      }
      auto now = (*node)->second_factors().AppRequires(*mfa_app);
      if (!now.ok()) return Fail(now.error());
      std::printf("%s: second factor %s\n", mfa_app->c_str(), *now ? "required" : "not required");
      return 0;
    };
  });
  auto create_args = std::make_shared<AppCreateArgs>();
  CLI::App* create = app->add_subcommand("create", "Register an app; prints its servicepwd once");
  create->add_option("--servicecode", create_args->servicecode, "Code (generated when omitted)");
  create->add_option("--name", create_args->name, "Display name")->required();
  create->add_option("--callback", create_args->callbacks, "Allowed callback URL prefix (repeat)");
  create->add_option("--allow-ip", create_args->allowed_ips, "Allowed source IP or CIDR (repeat)");
  create->add_option("--push-url", create_args->push_url, "URL receiving directory pushes");
  create->add_option("--logout-url", create_args->logout_url, "Back-channel logout URL");
  create->add_option("--signtype", create_args->signtype, "md5 (default), sm3 or hmac-sha256");
  create->add_option("--sign-mode", create_args->sign_mode,
                     "spec (default: the spec's sign accepted), hmac-sha256 or hmac-sm3 "
                     "(request signatures required)");
  create->add_option("--org-scope", create_args->org_scope,
                     "orgcoding prefix the app may see and change (default: all)");
  create->add_option("--datatype", create_args->datatype,
                     "Format of pushes: json (default) or xml");
  create->add_option("--protocols", create_args->protocols,
                     "Sign-on protocols, comma-separated: zj (default), cas, oidc");
  create->add_flag("--proxy", create_args->proxy_right, "May obtain proxy tickets");
  create->add_flag("--directory-write", create_args->directory_write,
                   "May synchronize users and orgs");
  create->add_flag("--open-to-all", create_args->open_to_all, "Listed in every user's systems");
  create->add_option("--push-url-for", create_args->push_urls_for,
                     "METHOD=URL: pushes of METHOD go to URL instead of --push-url (repeat)");
  create->add_option("--push-password", create_args->push_password,
                     "loginpwd of a pushed new user: placeholder (default, random) or omit");
  create->add_flag("--md5-login", create_args->md5_login,
                   "idValidation may use encryptiontype 3 (needs [directory] md5_login_variant)");
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
      auto sign_mode = crypto::ParseSignMode(create_args->sign_mode);
      if (!sign_mode.ok()) return Fail(sign_mode.error());
      settings.sign_mode = *sign_mode;
      settings.proxy_right = create_args->proxy_right;
      settings.directory_write = create_args->directory_write;
      settings.open_to_all = create_args->open_to_all;
      settings.org_scope = create_args->org_scope;
      settings.datatype = create_args->datatype;
      settings.push_password = create_args->push_password;
      settings.md5_login = create_args->md5_login;
      if (Status s = ApplyPushUrls(create_args->push_urls_for, settings.push_urls); !s.ok()) {
        return Fail(s.error());
      }
      auto protocols = ParseProtocols(create_args->protocols);
      if (!protocols.ok()) return Fail(protocols.error());
      settings.protocols = *protocols;
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

  auto key_code = std::make_shared<std::string>();
  CLI::App* rotate_key = app->add_subcommand(
      "rotate-password-key",
      "New key for incoming passwords of encryptiontype 4 (AES) and 5 (3DES), printed once");
  rotate_key->add_option("servicecode", *key_code)->required();
  rotate_key->callback([&commands, key_code] {
    commands.run = [key_code](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto key = (*node)->directory().RotatePasswordKey(*key_code);
      if (!key.ok()) return Fail(key.error());
      std::printf("servicecode=%s\npassword_key=%s\n", key_code->c_str(), key->c_str());
      return 0;
    };
  });

  for (bool enable : {false, true}) {
    auto code = std::make_shared<std::string>();
    CLI::App* toggle = app->add_subcommand(enable ? "enable" : "disable",
                                           enable ? "Enable an app" : "Disable an app (9904)");
    toggle->add_option("servicecode", *code)->required();
    toggle->callback([&commands, code, enable] {
      commands.run = [code, enable](const Config& config) {
        auto node = Node::Open(config);
        if (!node.ok()) return Fail(node.error());
        if (auto s = (*node)->directory().SetAppEnabled(*code, enable); !s.ok()) {
          return Fail(s.error());
        }
        std::printf("%s %s\n", code->c_str(), enable ? "enabled" : "disabled");
        return 0;
      };
    });
  }

  // Changes only the settings given; running servers see them within the
  // directory's cache_ttl.
  struct AppSetArgs {
    std::string servicecode;
    std::optional<bool> directory_write;
    std::optional<std::string> org_scope;
    std::optional<std::string> push_url;
    std::optional<std::string> logout_url;
    std::optional<std::string> datatype;
    std::optional<std::string> protocols;
    std::vector<std::string> push_urls_for;
    std::optional<std::string> push_password;
    std::optional<bool> md5_login;
    std::optional<std::string> sign_mode;
    std::optional<int> min_authlevel;
  };
  auto set_args = std::make_shared<AppSetArgs>();
  CLI::App* set = app->add_subcommand("set", "Change settings of an app");
  set->add_option("servicecode", set_args->servicecode)->required();
  set->add_option("--directory-write", set_args->directory_write,
                  "true/false: may synchronize and delete users and orgs");
  set->add_option("--org-scope", set_args->org_scope, "orgcoding prefix; \"\" = all");
  set->add_option("--push-url", set_args->push_url, "URL receiving pushes; \"\" = none");
  set->add_option("--logout-url", set_args->logout_url, "Back-channel logout URL");
  set->add_option("--datatype", set_args->datatype, "Format of pushes: json or xml");
  set->add_option("--protocols", set_args->protocols,
                  "Sign-on protocols, comma-separated: zj, cas, oidc");
  set->add_option("--push-url-for", set_args->push_urls_for,
                  "METHOD=URL: pushes of METHOD go to URL; METHOD= back to --push-url (repeat)");
  set->add_option("--push-password", set_args->push_password,
                  "loginpwd of a pushed new user: placeholder or omit");
  set->add_option("--md5-login", set_args->md5_login,
                  "true/false: idValidation may use encryptiontype 3");
  set->add_option("--sign-mode", set_args->sign_mode,
                  "spec, hmac-sha256 or hmac-sm3 (the latter two require request signatures)");
  set->add_option("--min-authlevel", set_args->min_authlevel,
                  "0-3: the lowest real-name level (authlevel) a user needs; 0 = none");
  set->callback([&commands, set_args] {
    commands.run = [set_args](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto& dir = (*node)->directory();
      auto current = dir.GetApp(set_args->servicecode);
      if (!current.ok()) return Fail(current.error());
      directory::App settings = *current;
      if (set_args->directory_write) settings.directory_write = *set_args->directory_write;
      if (set_args->org_scope) settings.org_scope = *set_args->org_scope;
      if (set_args->push_url) {
        settings.push_url = *set_args->push_url;
        settings.push_enabled = !settings.push_url.empty();
      }
      if (set_args->logout_url) settings.logout_url = *set_args->logout_url;
      if (set_args->datatype) settings.datatype = *set_args->datatype;
      if (set_args->push_password) settings.push_password = *set_args->push_password;
      if (set_args->md5_login) settings.md5_login = *set_args->md5_login;
      if (set_args->min_authlevel) settings.min_authlevel = *set_args->min_authlevel;
      if (Status s = ApplyPushUrls(set_args->push_urls_for, settings.push_urls); !s.ok()) {
        return Fail(s.error());
      }
      if (set_args->protocols) {
        auto protocols = ParseProtocols(*set_args->protocols);
        if (!protocols.ok()) return Fail(protocols.error());
        settings.protocols = *protocols;
      }
      if (set_args->sign_mode) {
        auto sign_mode = crypto::ParseSignMode(*set_args->sign_mode);
        if (!sign_mode.ok()) return Fail(sign_mode.error());
        settings.sign_mode = *sign_mode;
      }
      auto updated = dir.UpdateApp(settings);
      if (!updated.ok()) return Fail(updated.error());
      std::printf("%s updated\n", updated->servicecode.c_str());
      return 0;
    };
  });

  // --- roles and account bindings ---
  CLI::App* role = admin.add_subcommand("role", "Roles of an app and their grants");
  role->require_subcommand(1);
  auto role_args = std::make_shared<directory::Role>();
  CLI::App* role_save = role->add_subcommand("save", "Add or rename a role");
  role_save->add_option("--app", role_args->app, "servicecode")->required();
  role_save->add_option("--code", role_args->rolecode, "rolecode")->required();
  role_save->add_option("--name", role_args->rolename, "rolename")->required();
  role_save->add_option("--memo", role_args->memo, "memo");
  role_save->callback([&commands, role_args] {
    commands.run = [role_args](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto saved = (*node)->directory().SaveRole(*role_args);
      if (!saved.ok()) return Fail(saved.error());
      std::printf("role %s of %s saved\n", saved->rolecode.c_str(), saved->app.c_str());
      return 0;
    };
  });
  for (bool grant : {true, false}) {
    auto grant_args = std::make_shared<directory::Role>();
    auto login = std::make_shared<std::string>();
    CLI::App* cmd = role->add_subcommand(grant ? "grant" : "revoke",
                                         grant ? "Grant a role to a user" : "Revoke a grant");
    cmd->add_option("--app", grant_args->app, "servicecode")->required();
    cmd->add_option("--code", grant_args->rolecode, "rolecode")->required();
    cmd->add_option("--user", *login, "loginname")->required();
    cmd->callback([&commands, grant_args, login, grant] {
      commands.run = [grant_args, login, grant](const Config& config) {
        auto node = Node::Open(config);
        if (!node.ok()) return Fail(node.error());
        auto& dir = (*node)->directory();
        auto user = dir.GetUserByLoginname(directory::Caller::Admin(), *login);
        if (!user.ok()) return Fail(user.error());
        Status s = grant ? dir.GrantRole((*user)->userid, grant_args->app, grant_args->rolecode)
                         : dir.RevokeRole((*user)->userid, grant_args->app, grant_args->rolecode);
        if (!s.ok()) return Fail(s.error());
        std::printf("%s %s %s in %s\n", grant ? "granted" : "revoked", grant_args->rolecode.c_str(),
                    login->c_str(), grant_args->app.c_str());
        return 0;
      };
    });
  }

  CLI::App* binding =
      admin.add_subcommand("binding", "Account bindings (SSO user <-> app account)");
  binding->require_subcommand(1);
  auto bind_args = std::make_shared<directory::Binding>();
  auto bind_login = std::make_shared<std::string>();
  CLI::App* bind = binding->add_subcommand("add", "Bind a user to an account name in an app");
  bind->add_option("--app", bind_args->app, "servicecode")->required();
  bind->add_option("--user", *bind_login, "loginname")->required();
  bind->add_option("--account", bind_args->account, "the user's account name in the app")
      ->required();
  bind->callback([&commands, bind_args, bind_login] {
    commands.run = [bind_args, bind_login](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto& dir = (*node)->directory();
      auto user = dir.GetUserByLoginname(directory::Caller::Admin(), *bind_login);
      if (!user.ok()) return Fail(user.error());
      directory::Binding b = *bind_args;
      b.userid = (*user)->userid;
      if (auto s = dir.Bind(b); !s.ok()) return Fail(s.error());
      std::printf("%s bound to %s in %s\n", bind_login->c_str(), b.account.c_str(), b.app.c_str());
      return 0;
    };
  });

  // --- the push outbox ---
  CLI::App* outbox = admin.add_subcommand("outbox", "Pushes to apps: list, dead letters, retry");
  outbox->require_subcommand(1);
  auto list_state = std::make_shared<std::string>("pending");
  auto list_limit = std::make_shared<size_t>(100);
  CLI::App* outbox_list = outbox->add_subcommand("list", "List messages, one a line");
  outbox_list->add_option("--state", *list_state, "pending (default), delivered or dead")
      ->check(CLI::IsMember({"pending", "delivered", "dead"}));
  outbox_list->add_option("--limit", *list_limit, "At most this many (default 100)");
  outbox_list->callback([&commands, list_state, list_limit] {
    commands.run = [list_state, list_limit](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      OutboxState state = *list_state == "dead"        ? OutboxState::kDead
                          : *list_state == "delivered" ? OutboxState::kDelivered
                                                       : OutboxState::kPending;
      auto messages = (*node)->outbox().List(state, *list_limit);
      if (!messages.ok()) return Fail(messages.error());
      std::printf("id\tdestination\tmethod\tstate\tattempts\tlast_error\n");
      for (const OutboxMessage& m : *messages) {
        std::printf("%lld\t%s\t%s\t%s\t%d\t%s\n", (long long)m.id, m.destination.c_str(),
                    m.method.c_str(), std::string(OutboxStateName(m.state)).c_str(), m.attempts,
                    m.last_error.c_str());
      }
      return 0;
    };
  });
  auto retry_id = std::make_shared<int64_t>(0);
  CLI::App* retry = outbox->add_subcommand("retry", "Make a dead or waiting message due now");
  retry->add_option("id", *retry_id)->required();
  retry->callback([&commands, retry_id] {
    commands.run = [retry_id](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      if (auto s = (*node)->outbox().Retry(*retry_id); !s.ok()) return Fail(s.error());
      std::printf("message %lld is due\n", (long long)*retry_id);
      return 0;
    };
  });
  auto retry_dest = std::make_shared<std::string>();
  CLI::App* retry_dead = outbox->add_subcommand("retry-dead", "Retry every dead message of an app");
  retry_dead->add_option("servicecode", *retry_dest)->required();
  retry_dead->callback([&commands, retry_dest] {
    commands.run = [retry_dest](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto n = (*node)->outbox().RetryAllDead(*retry_dest);
      if (!n.ok()) return Fail(n.error());
      std::printf("%lld dead messages of %s are due\n", (long long)*n, retry_dest->c_str());
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
  auto batch_rows = std::make_shared<int64_t>(20000);
  import->add_option("--batch-rows", *batch_rows,
                     "Rows per transaction (a crash loses at most the batch being written)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  import->callback([&commands, import_path, no_hash, batch_rows] {
    commands.run = [import_path, no_hash, batch_rows](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      std::ifstream in(*import_path);
      directory::ImportOptions options;
      options.hash_passwords = !*no_hash;
      // Larger batches than the default: fewer commits and set reads, and
      // on SQLite fewer rewrites of the index pages a batch dirties; a batch
      // is also what a crash can lose (never a reported one).
      options.batch_rows = *batch_rows;
      options.sqlite_cache_mib = 512;
      options.committed = CommittedPrinter(*import_path);
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
      if (Status ended = EndUserSessions(**node, (*found)->userid, "password_reset");
          !ended.ok()) {
        return Fail(ended.error());
      }
      std::printf("password of %s reset\n", reset_login->c_str());
      return 0;
    };
  });

  auto mfa_login = std::make_shared<std::string>();
  CLI::App* mfa_reset = user->add_subcommand(
      "reset-second-factor",
      "Remove a user's TOTP authenticator and recovery codes (a lost phone); audited");
  mfa_reset->add_option("loginname", *mfa_login)->required();
  mfa_reset->callback([&commands, mfa_login] {
    commands.run = [mfa_login](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      auto found = (*node)->directory().GetUserByLoginname(directory::Caller::Admin(), *mfa_login);
      if (!found.ok()) return Fail(found.error());
      auto removed = (*node)->second_factors().Reset((*found)->userid);
      if (!removed.ok()) return Fail(removed.error());
      std::printf(*removed ? "second factor of %s removed: enrols again at the next login\n"
                           : "%s had no second factor\n",
                  mfa_login->c_str());
      return 0;
    };
  });

  for (bool lock : {true, false}) {
    auto login = std::make_shared<std::string>();
    CLI::App* cmd = user->add_subcommand(lock ? "lock" : "unlock",
                                         lock ? "Lock a user (refused at login and sync)"
                                              : "Unlock a user");
    cmd->add_option("loginname", *login)->required();
    cmd->callback([&commands, login, lock] {
      commands.run = [login, lock](const Config& config) {
        auto node = Node::Open(config);
        if (!node.ok()) return Fail(node.error());
        auto& dir = (*node)->directory();
        auto found = dir.GetUserByLoginname(directory::Caller::Admin(), *login);
        if (!found.ok()) return Fail(found.error());
        Status s = lock ? dir.LockUser((*found)->userid) : dir.UnlockUser((*found)->userid);
        if (!s.ok()) return Fail(s.error());
        if (lock) {
          if (Status ended = EndUserSessions(**node, (*found)->userid); !ended.ok()) {
            return Fail(ended.error());
          }
        }
        std::printf("%s %s\n", login->c_str(), lock ? "locked" : "unlocked");
        return 0;
      };
    });
  }

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

  CLI::App* audit = admin.add_subcommand("audit", "The audit log");
  audit->require_subcommand(1);
  auto audit_limit = std::make_shared<int>(50);
  CLI::App* audit_list = audit->add_subcommand("list", "Newest events first");
  audit_list->add_option("--limit", *audit_limit, "How many (default 50)")
      ->check(CLI::Range(1, 100000));
  audit_list->callback([&commands, audit_limit] {
    commands.run = [audit_limit](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      sso::Audit log(&(*node)->sql(), (*node)->clock());
      auto events = log.Recent(static_cast<size_t>(*audit_limit));
      if (!events.ok()) return Fail(events.error());
      std::printf("at_ms\tevent\tloginname\tservicecode\tip\tdetail\n");
      for (const auto& e : *events) {
        std::printf("%lld\t%s\t%s\t%s\t%s\t%s\n", static_cast<long long>(e.at_ms),
                    e.event.c_str(), e.loginname.c_str(), e.servicecode.c_str(), e.ip.c_str(),
                    e.detail.c_str());
      }
      return 0;
    };
  });

  auto prune_days = std::make_shared<int>(0);
  CLI::App* audit_prune = audit->add_subcommand(
      "prune", "Delete sign-on audit events older than --older-than-days (at least 180)");
  audit_prune
      ->add_option("--older-than-days", *prune_days,
                   "Keep this many days (180 or more: 网络安全法 §21 asks for six months)")
      ->required()
      ->check(CLI::Range(180, 36500));
  audit_prune->callback([&commands, prune_days] {
    commands.run = [prune_days](const Config& config) {
      auto node = Node::Open(config);
      if (!node.ok()) return Fail(node.error());
      sso::Audit log(&(*node)->sql(), (*node)->clock());
      const int64_t before =
          (*node)->clock().NowMillis() - static_cast<int64_t>(*prune_days) * 86'400'000;
      auto pruned = log.Prune(before);
      if (!pruned.ok()) return Fail(pruned.error());
      // The command itself is audited with every admin command (RunAdmin).
      std::printf("deleted %lld events older than %d days\n", static_cast<long long>(*pruned),
                  *prune_days);
      return 0;
    };
  });

  RegisterApprovalAdminCommands(admin, commands);
  RegisterExchangeAdminCommands(admin, commands);
  RegisterCitizenAdminCommands(admin, commands);

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

namespace {

// "app create adminapp1": the parsed subcommand chain and its positional
// arguments. Options are left out: some carry secrets (--password).
std::string DescribeCommand(const CLI::App& admin) {
  std::string text;
  const CLI::App* current = &admin;
  while (true) {
    auto chosen = current->get_subcommands();
    if (chosen.empty()) break;
    current = chosen.front();
    if (!text.empty()) text += ' ';
    text += current->get_name();
  }
  for (const CLI::Option* opt : current->get_options()) {
    if (!opt->get_positional()) continue;
    for (const auto& value : opt->results()) text += ' ' + value;
  }
  return text;
}

std::string OperatingSystemUser() {
  if (const passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return std::to_string(::geteuid());
}

}  // namespace

int RunAdminCommand(const Config& config, AdminCommands& commands, const CLI::App& admin) {
  if (!commands.run) return Fail(Error::InvalidArgument("no admin command given"));
  int code = commands.run(config);
  auto node = Node::Open(config);
  if (!node.ok()) return code == 0 ? Fail(node.error()) : code;
  sso::Audit audit(&(*node)->sql(), (*node)->clock());
  audit.Record(code == 0 ? "admin" : "admin_failed", "", OperatingSystemUser(), "", "cli",
               DescribeCommand(admin) + (code == 0 ? "" : " (exit " + std::to_string(code) + ")"));
  return code;
}

}  // namespace tongban::app
