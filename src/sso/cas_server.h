// CasServer: CAS 1.0/2.0/3.0 on the SSO sessions of the Zhejiang interfaces —
// {ctx}/cas/login (service, renew, gateway), /validate, /serviceValidate,
// /proxyValidate, /p3/serviceValidate, /p3/proxyValidate, /proxy and /logout,
// with XML and JSON (format=JSON) responses, proxy-granting tickets delivered
// to a verified pgtUrl, and SAML-less single logout. A CAS service is an app
// with protocols.cas; its service URLs are its callback_urls.
// docs/api/cas.md documents every endpoint.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "http/client.h"
#include "http/router.h"
#include "sso/cas_oidc_support.h"
#include "sso/context.h"

namespace tongban::sso {

struct CasSettings {
  std::chrono::seconds ticket_ttl{10};  // service and proxy tickets
  std::chrono::seconds pgt_ttl{7200};
  // A pgtUrl on http:// is accepted only for loopback hosts unless this is set.
  bool allow_http_proxy_callback = false;
  // How long the service directory (which app owns a service URL) is cached.
  std::chrono::seconds service_cache_ttl{30};
};

// Delivers a PGT to a proxy callback: GET pgtUrl?pgtId=..&pgtIou=.., which
// must answer HTTP 200 (CAS 3.0 §2.5.4). An interface so tests need no server.
class ProxyCallback {
 public:
  virtual ~ProxyCallback() = default;
  virtual bool Deliver(std::string_view pgt_url, std::string_view pgt_id,
                       std::string_view pgt_iou) = 0;
};

// Over http::Client: an https pgtUrl must present a certificate that chains
// to the system trust store and names its host; plain http is accepted too
// (loopback tests, private networks).
class HttpProxyCallback final : public ProxyCallback {
 public:
  explicit HttpProxyCallback(std::chrono::milliseconds timeout,
                             http::ClientOptions client_options = {})
      : timeout_(timeout), client_options_(std::move(client_options)) {}
  bool Deliver(std::string_view pgt_url, std::string_view pgt_id,
               std::string_view pgt_iou) override;

 private:
  std::chrono::milliseconds timeout_;
  http::ClientOptions client_options_;
};

class CasServer {
 public:
  // Everything given must outlive the server.
  CasServer(SsoContext& context, BrowserSessions& sessions, BackChannel& back_channel,
            ProxyCallback& proxy_callback, CasSettings settings = {});
  ~CasServer();

  void Register(http::Router& router);

  // An SSO session ended: revoke its proxy-granting tickets and POST a
  // logoutRequest to every service URL that received a ticket in it.
  void OnSessionEnded(const SessionEnd& ended);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::sso
