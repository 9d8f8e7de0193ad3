// `tongban admin …`: directory administration from the shell (apps, users,
// imports, exports, password resets) on the same database the server uses.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "app/config.h"

namespace tongban::app {

// The admin subcommand the user picked, filled in by CLI11 while parsing.
struct AdminCommands {
  std::function<int(const Config&)> run;  // set by the chosen subcommand's callback
};

void RegisterAdminCommands(CLI::App& admin, AdminCommands& commands);
// `admin approval …` (admin_approval.cc): matters, calendars, cases.
void RegisterApprovalAdminCommands(CLI::App& admin, AdminCommands& commands);
// `admin exchange …` (admin_exchange.cc): nodes, resources, tasks, work orders.
void RegisterExchangeAdminCommands(CLI::App& admin, AdminCommands& commands);
// `admin citizen …` (admin_citizen.cc): self-service accounts, counter checks.
void RegisterCitizenAdminCommands(CLI::App& admin, AdminCommands& commands);
// Runs the chosen command and records it in the audit log ("admin" events:
// the subcommand and its positional arguments, never option values such as
// passwords). `admin` is the parsed `admin` subcommand.
int RunAdminCommand(const Config& config, AdminCommands& commands, const CLI::App& admin);

}  // namespace tongban::app
