// CatalogueApi: the HTTP interface of the catalogue (docs/api/catalogue.md).
// Under {catalogue}/api/: the staff JSON API (SSO session + CSRF, roles of
// the "catalogue" app: search, resource pages, locate, registration and
// review, applications, decisions, grants, revocation, audit) and the base
// query service POST base/{person|legal-person|place}/query, which also takes
// department systems by request signature or OIDC client-credentials bearer
// token, and answers JSON or XML. The same query service as SOAP (WSDL at
// {catalogue}/services/CatalogueQueryService?wsdl) and as the SSO-style HTTP
// servlet {catalogue}/servlet/query, signed as the SSO's interfaces. Every
// handler runs on the blocking pool. Wired by src/app/catalogue_wiring.cc.
#pragma once

#include <memory>
#include <string>

#include "catalogue/base.h"
#include "catalogue/resources.h"
#include "catalogue/sharing.h"
#include "core/result.h"
#include "http/router.h"
#include "sso/context.h"

namespace tongban::catalogue {

struct ApiSettings {
  std::string public_url;  // external base URL, no trailing slash ("" = from the request)
  std::string context_path = "/catalogue";
};

struct Services {
  sso::SsoContext& sso;
  ResourceStore& resources;
  SharingStore& sharing;
  BaseResources& base;
  ApiSettings settings;
};

class CatalogueApi {
 public:
  explicit CatalogueApi(Services services);
  ~CatalogueApi();
  CatalogueApi(const CatalogueApi&) = delete;
  CatalogueApi& operator=(const CatalogueApi&) = delete;

  // Mounts {context_path}/api/ (GET, POST, PUT, DELETE), the SOAP service and
  // the servlet.
  Status Register(http::Router& router);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::catalogue
