// tongban: the command-line entry point. Parses flags, loads the config and
// hands over to `serve` or `admin`; everything else lives in src/app/.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/cli.h"

int main(int argc, char** argv) {
  return tongban::app::RunCli(argc, argv);
}
