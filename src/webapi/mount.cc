#include "webapi/mount.h"

#include <memory>
#include <utility>

namespace tongban::webapi {

void MountOnPool(http::Router& router, std::string_view prefix, http::Handler handle,
                 std::string_view label, std::initializer_list<const char*> methods) {
  auto shared = std::make_shared<const http::Handler>(std::move(handle));
  for (const char* method : methods) {
    router.AddPrefix(
        method, prefix,
        [shared](const http::Request& request, http::Response& response) {
          response.Defer([shared, &request](http::Response& r) { (*shared)(request, r); });
        },
        label);
  }
}

}  // namespace tongban::webapi
