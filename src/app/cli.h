// The `tongban` command line: `serve`, `admin …`, `--help`, `--version`.
// Used only by main(); tests drive the binary instead.
#pragma once

namespace tongban::app {

// Returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace tongban::app
