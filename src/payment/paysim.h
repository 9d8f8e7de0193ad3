// `tongban paysim`: the sandbox payment channel as a separate process. It
// speaks the sandbox protocol (docs/api/payment-channels.md) over real HTTP —
// orders, a pay page and API, signed asynchronous notifications to the order's
// notify_url, queries, daily statements — with switches to drop, repeat, delay
// and reorder notifications and to corrupt statements. Tests and the demo use
// it; nothing here collects money.
#pragma once

#include <string>
#include <vector>

namespace tongban::payment {

// Runs paysim with its command-line arguments (after "paysim"); returns the
// process exit code. Blocks until SIGINT/SIGTERM. `--help` lists the flags.
int RunPaysim(const std::vector<std::string>& args);

}  // namespace tongban::payment
