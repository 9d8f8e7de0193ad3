// ExchangeApi: the JSON API of the exchange under {ctx}/exchange/api/ (default /sso/exchange/api/)
// (docs/api/exchange.md). Platform administrators, by their SSO browser session (CSRF-checked
// writes, as the admin console), manage nodes, resources, tasks, 配置工单, dead letters and read
// health; department systems without a front-end database use web access (web 接入) with signed
// calls: push records into a resource and pull its changes after a cursor. Wired by src/app.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "exchange/delivery.h"
#include "exchange/meta.h"
#include "http/router.h"
#include "sso/context.h"

namespace tongban::exchange {

class ExchangeRunner;

struct ApiServices {
  sso::SsoContext& sso;
  ExchangeMeta& meta;
  DeliveryEngine& engine;
  NodePool& nodes;
  ExchangeRunner* runner = nullptr;  // woken after approvals and pushes; may be null
};

class ExchangeApi {
 public:
  explicit ExchangeApi(ApiServices services);
  ~ExchangeApi();
  ExchangeApi(const ExchangeApi&) = delete;
  ExchangeApi& operator=(const ExchangeApi&) = delete;

  // Mounts {sso context_path}/exchange/api/ (default /sso/exchange/api/) for GET, POST and PUT.
  Status Register(http::Router& router);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::exchange
