// Mounting a JSON API: every handler of these APIs reads or writes SQL (often
// on another database), so each request runs on the blocking pool, never on an
// I/O thread — unless the API answers it from memory (MountOnPoolUnless). One
// place decides that for the console, approval, exchange, payment and
// catalogue APIs.
#pragma once

#include <functional>
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

// Answers (or suspends) a request on its I/O thread when it can without
// waiting on SQL or the network, and returns true; false leaves the response
// untouched, for the pool.
using OnIoThread = std::function<bool(const http::Request&, http::Response&)>;

// As MountOnPool, each request first offered to `on_io_thread` (a hot path
// whose every step is in memory, e.g. the catalogue's base query on SQLite),
// which saves the hand-off to the pool and back. An empty `on_io_thread` is
// MountOnPool.
void MountOnPoolUnless(http::Router& router, std::string_view prefix, OnIoThread on_io_thread,
                       http::Handler handle, std::string_view label,
                       std::initializer_list<const char*> methods = kReadWriteMethods);

}  // namespace tongban::webapi
