// ApprovalApi: the JSON API of the approval subsystem under {approval}/api/
// (docs/api/approval.md) — staff by SSO session (CSRF-checked writes),
// department systems by signed call, the public hall without login (lookups
// throttled per address). Dispatches to the route files (api_*.cc); every
// handler runs on the blocking pool. Wired by src/app/routes.cc.
#pragma once

#include <memory>

#include "approval/api_internal.h"
#include "core/result.h"
#include "http/router.h"

namespace tongban::approval {

class ApprovalApi {
 public:
  // `services` must outlive the API (their references are held).
  explicit ApprovalApi(Services services);
  ~ApprovalApi();
  ApprovalApi(const ApprovalApi&) = delete;
  ApprovalApi& operator=(const ApprovalApi&) = delete;

  // Mounts {context_path}/api/ for GET, POST, PUT and DELETE.
  Status Register(http::Router& router);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::approval
