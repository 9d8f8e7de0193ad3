#include "sso/reply.h"

#include <spdlog/spdlog.h>

namespace tongban::sso {

codec::Value Reply(int code, std::string_view errmsg) {
  codec::Value reply = codec::Value::Object(8);
  reply.Set("result", std::to_string(code));
  reply.Set("errmsg", errmsg);
  return reply;
}

codec::Value Success() { return Reply(code::kOk, "成功"); }

codec::Value ReplyFor(const Error& error, int other_code) {
  if (error.code >= 1000) return Reply(error.code, error.message);
  // Database and other infrastructure failures may name tables or hosts:
  // they go to the log, and the app gets a generic text.
  if (error.code == errc::kUnavailable || error.code == errc::kInternal) {
    spdlog::error("answering {} for: {}", other_code, error.message);
    return Reply(other_code, "服务器内部错误，请稍后重试");
  }
  return Reply(other_code, error.message);
}

}  // namespace tongban::sso
