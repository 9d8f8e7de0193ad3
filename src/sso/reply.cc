#include "sso/reply.h"

namespace tongban::sso {

codec::Value Reply(int code, std::string_view errmsg) {
  codec::Value reply = codec::Value::Object(8);
  reply.Set("result", std::to_string(code));
  reply.Set("errmsg", errmsg);
  return reply;
}

codec::Value Success() { return Reply(code::kOk, "成功"); }

codec::Value ReplyFor(const Error& error, int other_code) {
  if (error.code < 1000) return Reply(other_code, error.message);
  return Reply(error.code, error.message);
}

}  // namespace tongban::sso
