// Form bodies as the SSO interfaces' clients send them: x-www-form-urlencoded
// in UTF-8 or a declared GBK / GB18030 charset, and multipart/form-data.
// Request uses it to merge body parameters with the query's; other code that
// holds a raw body (tests, fuzzers) may call it too.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/url.h"

namespace tongban::http {

// The value of parameter `name` ("charset", "boundary") of a media type such
// as `multipart/form-data; boundary="x"`, unquoted; nullopt when absent.
std::optional<std::string> MediaTypeParam(std::string_view content_type, std::string_view name);

// Appends a form body's parameters to `out` (source kBody):
// - application/x-www-form-urlencoded, its bytes read in the declared
//   charset (CharsetFromLabel);
// - multipart/form-data (RFC 7578): every part without a filename is a
//   parameter, its text in the part's own charset, else the request's, else
//   UTF-8. File parts are skipped: no interface takes a file.
// Other content types add nothing. InvalidArgument on an unsupported
// charset, bytes that are not text in it, or a malformed multipart body.
Status ParseFormBody(std::string_view content_type, std::string_view body, Params& out);

}  // namespace tongban::http
