#include "app/cli.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "app/admin.h"
#include "app/config.h"
#include "app/serve.h"
#include "core/logging.h"
#include "payment/paysim.h"

namespace tongban::app {
namespace {

constexpr const char* kVersion = "0.1.0";

// Flags shared by `serve` and `admin`; each overrides the config file.
struct CommonFlags {
  std::string config_path;
  std::string data_dir;
  std::string database;
  std::string tickets;
  std::string log_level;

  void AddTo(CLI::App& cmd) {
    cmd.add_option("-c,--config", config_path, "TOML config file (see docs/configuration.md)")
        ->check(CLI::ExistingFile);
    cmd.add_option("--data-dir", data_dir, "Directory for the embedded SQLite database and keys");
    // A URL with a password belongs in the environment or a 0600 config file:
    // argv is readable by every local user (/proc/PID/cmdline) for the
    // server's whole life (review17b F7).
    cmd.add_option("--db", database,
                   "Database URL: sqlite:///path.db, postgresql://user:pass@host:port/db, "
                   "mysql://user:pass@host:port/db or odbc://DSN=...;dialect=mysql|postgresql "
                   "(with a password: set TONGBAN_DATABASE_URL instead, argv is public)")
        ->envname("TONGBAN_DATABASE_URL");
    cmd.add_option("--tickets", tickets,
                   "Ticket store: memory, redis://host:port or unix:///path (with a password: "
                   "set TONGBAN_TICKETS instead)")
        ->envname("TONGBAN_TICKETS");
    cmd.add_option("--log-level", log_level, "trace, debug, info, warn, error, off");
  }

  Status Apply(Config& config) const {
    if (!config_path.empty()) TB_RETURN_IF_ERROR(LoadConfigFile(config_path, config));
    if (!data_dir.empty()) config.storage.data_dir = data_dir;
    if (!database.empty()) config.storage.database = database;
    if (!tickets.empty()) config.storage.tickets = tickets;
    if (!log_level.empty()) config.log.level = log_level;
    return Status::Ok();
  }
};

// Overwrites in place the passwords of URLs given on the command line
// ("scheme://user:PASSWORD@host…", ODBC "PWD=…;"), so /proc/PID/cmdline and ps
// no longer show them once the flags are parsed (CLI11 holds copies). Returns
// whether it found one: argv was public until now, so the caller warns.
bool ScrubPasswordsInArgv(int argc, char** argv) {
  bool found = false;
  auto blank = [&](char* from, char* to) {
    for (char* c = from; c < to; ++c) *c = '*';
    found = found || from < to;
  };
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    char* scheme_end = std::strstr(arg, "://");
    if (scheme_end != nullptr) {
      // The last '@' of the argument: tongban's URL parsers take '/', '?' and
      // '#' inside a password (review17c), so the userinfo may hold them.
      // Blanking more than a password costs nothing: argv is not read again.
      char* authority = scheme_end + 3;
      char* at = std::strrchr(authority, '@');
      if (at != nullptr) {
        char* colon = static_cast<char*>(std::memchr(authority, ':', at - authority));
        if (colon != nullptr) blank(colon + 1, at);
      }
    }
    for (const char* key : {"pwd=", "password="}) {
      for (char* c = arg; (c = strcasestr(c, key)) != nullptr;) {
        char* value = c + std::strlen(key);
        char* stop = value + std::strcspn(value, ";");
        if (*value == '{') {  // ODBC braces: ';' inside, '}}' for a '}'
          stop = value + 1;
          while (*stop != '\0' && !(stop[0] == '}' && stop[1] != '}')) stop += stop[0] == '}' ? 2 : 1;
          if (*stop == '}') ++stop;
        }
        blank(value, stop);
        c = stop;
      }
    }
  }
  return found;
}

int Fail(const Error& error) {
  std::fprintf(stderr, "tongban: %s\n", error.message.c_str());
  return 1;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App cli{"tongban — 一网通办: unified identity, SSO and government services"};
  cli.set_version_flag("--version", kVersion);
  cli.require_subcommand(1);

  Config config;
  CommonFlags serve_flags;
  CLI::App* serve = cli.add_subcommand("serve", "Run the server");
  serve_flags.AddTo(*serve);
  std::string bind;
  int port = -1;
  int threads = -1;
  std::string public_url;
  serve->add_option("--bind", bind, "Address to listen on (default 127.0.0.1)");
  serve->add_option("--port", port, "Port to listen on; 0 picks a free one (default 8080)");
  serve->add_option("--threads", threads, "I/O threads; 0 = one per core");
  serve->add_option("--public-url", public_url, "External base URL, e.g. https://sso.example.gov.cn");
  std::string admin_second_factor;
  serve->add_option("--admin-second-factor", admin_second_factor,
                    "required (default) or optional: development and tests only")
      ->check(CLI::IsMember({"required", "optional"}));
  bool allow_outbound_loopback = false;
  serve->add_flag("--allow-outbound-loopback", allow_outbound_loopback,
                  "Let pushes, callbacks and unit notifications reach 127.0.0.1 / ::1 "
                  "(outbound.allow_loopback): development and tests only");

  CommonFlags admin_flags;
  CLI::App* admin = cli.add_subcommand("admin", "Administer the directory from the shell");
  admin_flags.AddTo(*admin);
  AdminCommands admin_commands;
  RegisterAdminCommands(*admin, admin_commands);

  CLI::App* paysim =
      cli.add_subcommand("paysim", "Run the sandbox payment channel (tests, demo)")->prefix_command();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (ScrubPasswordsInArgv(argc, argv)) {
    std::fprintf(stderr,
                 "tongban: warning: a password was given on the command line, where every local "
                 "user could read it until now; set TONGBAN_DATABASE_URL / TONGBAN_TICKETS / "
                 "TONGBAN_NODE_URL or use a config file only this user can read\n");
  }

  if (paysim->parsed()) return payment::RunPaysim(paysim->remaining());
  if (serve->parsed()) {
    if (auto s = serve_flags.Apply(config); !s.ok()) return Fail(s.error());
    if (!bind.empty()) config.server.bind = bind;
    if (port >= 0) config.server.port = port;
    if (threads >= 0) config.server.threads = threads;
    if (!public_url.empty()) config.server.public_url = public_url;
    if (!admin_second_factor.empty()) config.mfa.admin_required = admin_second_factor == "required";
    if (allow_outbound_loopback) config.outbound.allow_loopback = true;
    if (auto s = ValidateConfig(config); !s.ok()) return Fail(s.error());
    if (auto s = InitLogging(config.log.level); !s.ok()) return Fail(s.error());
    return Serve(config);
  }
  if (admin->parsed()) {
    if (auto s = admin_flags.Apply(config); !s.ok()) return Fail(s.error());
    // Admin commands make no base queries: they only load a journal an
    // earlier server left (when no server holds it), never append to one.
    config.catalogue.audit_journal = false;
    if (auto s = ValidateConfig(config); !s.ok()) return Fail(s.error());
    if (config.log.level == "info") config.log.level = "warn";  // keep admin output clean
    if (auto s = InitLogging(config.log.level); !s.ok()) return Fail(s.error());
    return RunAdminCommand(config, admin_commands, *admin);
  }
  return 0;
}

}  // namespace tongban::app
