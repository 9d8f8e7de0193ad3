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
int RunAdminCommand(const Config& config, AdminCommands& commands);

}  // namespace tongban::app
