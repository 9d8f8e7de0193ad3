#include "sso/auth_api.h"

#include <string>
#include <utility>

#include "sso/auth_internal.h"
#include "sso/signed_api.h"

namespace tongban::sso {
namespace {

SignedApiOptions ApiOptions(const SsoContext& c, const char* service) {
  SignedApiOptions o;
  o.soap_service = service;
  if (!c.settings.public_url.empty()) {
    o.soap_endpoint_url = c.settings.public_url;
    o.soap_endpoint_url.append(c.settings.context_path).append("/service/").append(service);
  }
  o.sign_window = c.settings.sign_window;
  o.replay_protection = c.settings.replay_protection;
  o.time_zone = c.settings.sign_time_zone;
  o.passwords_over_get = c.settings.passwords_over_get;
  return o;
}

void Mount(http::Router& router, const SignedApi& api, const std::string& servlet_path,
           const std::string& soap_path) {
  http::Handler servlet = [&api](const http::Request& request, http::Response& response) {
    api.HandleHttp(request, response);
  };
  http::Handler soap = [&api](const http::Request& request, http::Response& response) {
    api.HandleSoap(request, response);
  };
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, servlet_path, servlet, {}, http::ParamErrors::kHandler);
    router.Add(method, soap_path, soap);
  }
}

}  // namespace

struct SsoAuth::Impl {
  explicit Impl(SsoContext& c)
      : context(c),
        services(c),
        easy(ApiOptions(c, "SimpleAuthService"), c.directory, c.tickets, c.clock),
        commnet(ApiOptions(c, "SsoAuthService"), c.directory, c.tickets, c.clock) {
    AddEasyAuthMethods(easy, services);
    AddCommnetAuthMethods(commnet, services);
  }

  SsoContext& context;
  AuthServices services;
  SignedApi easy;
  SignedApi commnet;
};

SsoAuth::SsoAuth(SsoContext& context) : impl_(std::make_unique<Impl>(context)) {}
SsoAuth::~SsoAuth() = default;

void SsoAuth::Register(http::Router& router) {
  const std::string& base = impl_->context.settings.context_path;
  Mount(router, impl_->easy, base + "/servlet/simpleauth", base + "/service/SimpleAuthService");
  Mount(router, impl_->commnet, base + "/servlet/ssoauth", base + "/service/SsoAuthService");
  RegisterLoginPages(router, impl_->services);
  RegisterJsApi(router, impl_->services);
}

}  // namespace tongban::sso
