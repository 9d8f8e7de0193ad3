// The CAS protocol's wire formats (Apereo CAS Protocol 3.0): the
// cas:serviceResponse of /serviceValidate, /proxyValidate and /proxy in XML
// (namespace http://www.yale.edu/tp/cas) and JSON (format=JSON), CAS 1.0's
// /validate text, and the SAML-less single-logout logoutRequest. Pure
// functions, used by cas_server.cc and its tests.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tongban::sso::cas {

inline constexpr std::string_view kNamespace = "http://www.yale.edu/tp/cas";

// Failure codes of the specification (§2.5.3, §2.7.2).
inline constexpr std::string_view kInvalidRequest = "INVALID_REQUEST";
inline constexpr std::string_view kInvalidTicketSpec = "INVALID_TICKET_SPEC";
inline constexpr std::string_view kUnauthorizedServiceProxy = "UNAUTHORIZED_SERVICE_PROXY";
inline constexpr std::string_view kInvalidProxyCallback = "INVALID_PROXY_CALLBACK";
inline constexpr std::string_view kInvalidTicket = "INVALID_TICKET";
inline constexpr std::string_view kInvalidService = "INVALID_SERVICE";
inline constexpr std::string_view kUnauthorizedService = "UNAUTHORIZED_SERVICE";
inline constexpr std::string_view kInternalError = "INTERNAL_ERROR";

enum class Format { kXml, kJson };

// Attributes in order; a name may repeat (a multi-valued attribute).
using Attributes = std::vector<std::pair<std::string, std::string>>;

struct Success {
  std::string user;
  Attributes attributes;             // rendered as <cas:attributes> when not empty
  std::string pgt_iou;               // "" = no <cas:proxyGrantingTicket>
  std::vector<std::string> proxies;  // most recent first; rendered when not empty
};

std::string RenderSuccess(const Success& success, Format format);
std::string RenderFailure(std::string_view code, std::string_view description, Format format);
std::string RenderProxySuccess(std::string_view proxy_ticket, Format format);
std::string RenderProxyFailure(std::string_view code, std::string_view description, Format format);

// CAS 1.0 /validate: "yes\n<user>\n" or "no\n\n".
std::string RenderValidate(bool ok, std::string_view user);

// The body of the back-channel logout POST's `logoutRequest` parameter:
// <samlp:LogoutRequest ...><samlp:SessionIndex>ST</samlp:SessionIndex>...
// `issue_instant` is an ISO 8601 UTC time ("2024-01-01T00:00:00Z").
std::string RenderLogoutRequest(std::string_view id, std::string_view issue_instant,
                                std::string_view service_ticket);

// "yyyy-mm-ddThh:mm:ssZ" for milliseconds since the epoch.
std::string IsoUtc(int64_t ms);

}  // namespace tongban::sso::cas
