#include "core/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace tongban {

Status InitLogging(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return Error::InvalidArgument("unknown log level: " + std::string(level));
  }
  for (const char* name : {"tongban", "access", "audit"}) {
    if (!spdlog::get(name)) spdlog::stderr_color_mt(name);  // creates and registers
  }
  spdlog::set_default_logger(spdlog::get("tongban"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  spdlog::set_level(parsed);
  return Status::Ok();
}

std::string Redact(std::string_view secret) {
  if (secret.size() <= 6) return std::string(secret.size(), '*');
  return std::string(secret.substr(0, 6)) + "…";
}

}  // namespace tongban
