// AdminApi: the web console of tongban — the JSON admin API under
// {ctx}/admin/api/ (docs/api/admin.md) and the console's built files
// (web/admin/dist) under {ctx}/admin/. Only platform administrators with a
// live SSO browser session get in; every change is checked for CSRF and
// audited. Wired by src/app/routes.cc.
#pragma once

#include <filesystem>
#include <memory>

#include "http/router.h"
#include "sso/context.h"

namespace tongban::console {

class AdminApi {
 public:
  // `context.activity` feeds the dashboard's validation series when set.
  explicit AdminApi(sso::SsoContext& context);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  // Mounts the API, and the console's files when `console_dir` is not empty.
  // Fails when `console_dir` is not a directory with an index.html.
  Status Register(http::Router& router, const std::filesystem::path& console_dir);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::console
