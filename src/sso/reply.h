// Replies of the SSO interfaces: the flat object every method answers with,
// `result` (a string, "0" = success) and `errmsg`, then the method's fields.
// Used by every handler in sso/.
#pragma once

#include <string>
#include <string_view>

#include "codec/value.h"
#include "core/result.h"

namespace tongban::sso {

// {"result": "<code>", "errmsg": "<message>"}.
codec::Value Reply(int code, std::string_view errmsg);
// {"result": "0", "errmsg": "成功"}; add the method's fields with Set.
codec::Value Success();
// The reply for `error`: its own code when it is a specification code
// (>= 1000), else `other_code`, the method's "other error" code (e.g. 6099).
// Infrastructure failures (kUnavailable, kInternal) are logged and answered
// with a generic errmsg, so database details never reach an app.
codec::Value ReplyFor(const Error& error, int other_code);

// Auth codes shared by every signed interface (spec §5.1).
namespace code {
inline constexpr int kOk = 0;
inline constexpr int kUnknownServicecode = 9900;
inline constexpr int kBadSign = 9901;
inline constexpr int kBadTime = 9902;
inline constexpr int kIpNotAllowed = 9903;
inline constexpr int kAppDisabled = 9904;
// Free range (documented in docs/api/): a `datatype` other than xml/json/0/1.
inline constexpr int kBadDatatype = 9905;
// Free range: the same signed request seen twice inside the time window.
inline constexpr int kReplayed = 9906;
// Free range: a state-changing method called over HTTP GET (its URL, sign
// included, would end up in proxy and server logs).
inline constexpr int kPostRequired = 9907;
// Free range: the parameters cannot be read — bytes that are not text in the
// declared charset (or UTF-8), a charset tongban does not decode, a broken
// multipart body.
inline constexpr int kUnreadableParams = 9908;
inline constexpr int kUnknownMethod = 9800;
// Free range: the server could not complete the call (database down, ...).
inline constexpr int kUnavailable = 9999;
}  // namespace code

}  // namespace tongban::sso
