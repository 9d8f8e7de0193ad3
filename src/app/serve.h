// `tongban serve`: builds a node from the config, serves HTTP until SIGTERM or
// SIGINT, then shuts down gracefully. Returns the process exit code.
#pragma once

#include "app/config.h"

namespace tongban::app {

int Serve(const Config& config);

}  // namespace tongban::app
