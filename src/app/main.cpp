// tongban: the command-line entry point. Parses flags, loads the config and
// hands over to `serve` or `admin`; everything else lives in src/app/.
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/cli.h"

int main(int argc, char** argv) {
  // Everything tongban writes — the database, keys, journals, uploads,
  // statements, spools — holds personal data or secrets: private to the
  // service's user whatever umask it was started with (review17b F1).
  ::umask(077);
  return tongban::app::RunCli(argc, argv);
}
