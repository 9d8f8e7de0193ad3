#include "webapi/errors.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"

namespace tongban::webapi {

int GenericStatus(int code) {
  switch (code) {
    case errc::kInvalidArgument:
    case errc::kExpired:
      return 400;
    case errc::kNotFound:
      return 404;
    case errc::kAlreadyExists:
    case errc::kConflict:
      return 409;
    case errc::kPermissionDenied:
      return 403;
    case errc::kTooLarge:
      return 413;
    case errc::kUnavailable:
      return 503;
    case errc::kInternal:
      return 500;
    default:
      return 0;
  }
}

void WriteError(http::Response& response, int status, int code, std::string_view message,
                std::string_view login) {
  nlohmann::ordered_json error;
  error["code"] = code;
  error["message"] = std::string(message);
  if (!login.empty()) error["login"] = std::string(login);
  nlohmann::ordered_json body;
  body["error"] = std::move(error);
  response.SetJson(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void WriteRouteMiss(http::Response& response, bool path_known) {
  if (path_known) {
    WriteError(response, 405, 405, "不支持的请求方法");
  } else {
    WriteError(response, 404, 404, "没有这个接口");
  }
}

void SetApiHeaders(http::Response& response) {
  response.AddHeader("Cache-Control", "no-store");
  response.AddHeader("X-Content-Type-Options", "nosniff");
}

void ResetAfterThrow(http::Response& response) {
  if (!response.suspended()) return;
  response.Reset();
  SetApiHeaders(response);
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace tongban::webapi
