// Logging set-up for the whole process: spdlog loggers "tongban" (default),
// "access" (one line a request) and "audit" (security events). Messages never
// carry secrets: passwords, servicepwd, tickets, tokens or signatures.
#pragma once

#include <string_view>

#include "core/result.h"

namespace tongban {

// Sets the default level ("info", ...) and a compact pattern on stderr.
Status InitLogging(std::string_view level);

// A ticket or token shortened for logs: its first 6 characters and "…",
// enough to correlate lines, never enough to replay.
std::string Redact(std::string_view secret);

}  // namespace tongban
