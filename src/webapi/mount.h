// Mounting a JSON API: every handler of these APIs reads or writes SQL (often
// on another database), so each request runs on the blocking pool, never on an
// I/O thread. One place decides that for the console, approval, exchange,
// payment and catalogue APIs.
#pragma once

#include <initializer_list>
#include <string_view>

#include "http/router.h"

namespace tongban::webapi {

inline constexpr std::initializer_list<const char*> kReadWriteMethods = {"GET", "POST", "PUT",
                                                                        "DELETE"};

// Routes `methods` under `prefix` to `handle`, deferred to the blocking pool;
// `label` names the route in metrics and the access log ("/payment/api/*").
void MountOnPool(http::Router& router, std::string_view prefix, http::Handler handle,
                 std::string_view label,
                 std::initializer_list<const char*> methods = kReadWriteMethods);

}  // namespace tongban::webapi
