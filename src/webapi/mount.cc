#include "webapi/mount.h"

#include <memory>
#include <utility>

namespace tongban::webapi {

void MountOnPool(http::Router& router, std::string_view prefix, http::Handler handle,
                 std::string_view label, std::initializer_list<const char*> methods) {
  MountOnPoolUnless(router, prefix, nullptr, std::move(handle), label, methods);
}

void MountOnPoolUnless(http::Router& router, std::string_view prefix, OnIoThread on_io_thread,
                       http::Handler handle, std::string_view label,
                       std::initializer_list<const char*> methods) {
  auto fast = std::make_shared<const OnIoThread>(std::move(on_io_thread));
  auto shared = std::make_shared<const http::Handler>(std::move(handle));
  for (const char* method : methods) {
    router.AddPrefix(
        method, prefix,
        [fast, shared](const http::Request& request, http::Response& response) {
          if (*fast && (*fast)(request, response)) return;
          response.Defer([shared, &request](http::Response& r) { (*shared)(request, r); });
        },
        label);
  }
}

}  // namespace tongban::webapi
