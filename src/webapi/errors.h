// The error side of tongban's JSON APIs (console, approval, exchange, payment,
// catalogue): one body shape, {"error":{"code","message"[,"login"]}}, and one
// reading of the generic error codes (core/result.h errc) as HTTP statuses.
// Each API adds its own codes in front of GenericStatus.
#pragma once

#include <string_view>

#include "http/response.h"

namespace tongban::webapi {

// errc::* -> HTTP status (400, 404, 409, 403, 503, 413, 500); 0 for any other code.
int GenericStatus(int code);

// {"error":{"code":code,"message":message}} (+ "login" when given) with `status`.
// Invalid UTF-8 in the message is replaced, never a throw.
void WriteError(http::Response& response, int status, int code, std::string_view message,
                std::string_view login = {});

// The miss of a route table: 405 when the path exists under another method, else 404.
void WriteRouteMiss(http::Response& response, bool path_known);

// The headers every JSON API answer carries: never cached, never sniffed.
void SetApiHeaders(http::Response& response);
// Before writing the 500 of a handler that threw: a response the handler had
// already suspended (its answer was to come later) is reset, so the error is
// sent instead of a resume nobody may ever call; the API headers are set again.
void ResetAfterThrow(http::Response& response);

inline bool IsMutation(std::string_view method) { return method != "GET" && method != "HEAD"; }

// Whether the text is plain ASCII (the English detail of a lower module's error).
bool IsAscii(std::string_view text);

}  // namespace tongban::webapi
