// SOAP 1.1 (and 1.2) document/literal wrapped, as the SSO specification's web services use it:
// parse a request into an operation and its string parameters, wrap a reply's text in
// <ns:out>, build faults, and generate the WSDL that SOAP clients (Axis2, CXF, zeep) read.
// Used by the sso/ SOAP binding; the reply text itself comes from render.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codec/parse.h"
#include "core/result.h"

namespace tongban::codec {

enum class SoapVersion { k11, k12 };

inline constexpr std::string_view kSoap11EnvelopeNamespace =
    "http://schemas.xmlsoap.org/soap/envelope/";
inline constexpr std::string_view kSoap12EnvelopeNamespace =
    "http://www.w3.org/2003/05/soap-envelope";
// The namespace of the specification's services (SimpleAuthService, SsoAuthService, …).
inline constexpr std::string_view kSsoServiceNamespace = "http://webservice.api.commnetsoft.com";

struct SoapParam {
  std::string name;   // the child element's local name
  std::string value;  // its text, exactly as sent (entities and CDATA decoded)

  friend bool operator==(const SoapParam&, const SoapParam&) = default;
};

struct SoapCall {
  SoapVersion version = SoapVersion::k11;  // answer in the same version
  std::string operation;                   // local name of the Body's first element
  std::string operation_namespace;         // its namespace URI; "" when unqualified
  std::vector<SoapParam> params;           // in document order; names are unique

  // The value of parameter `name`, or nullptr when it was not sent (or sent as xsi:nil).
  const std::string* Find(std::string_view name) const;
};

// Parses a SOAP 1.1 or 1.2 request envelope. Namespace prefixes on the Body, the operation and
// its children do not matter (clients qualify them or not); the Envelope must be in the SOAP
// 1.1 or 1.2 namespace. Headers are ignored. A parameter with xsi:nil="true" counts as not
// sent. The SOAPAction header is not needed. Errors (kInvalidArgument, to be answered with a
// soap:Client fault): malformed XML, DOCTYPE, not an Envelope, no Body, an empty Body, a
// parameter holding elements, a repeated parameter; kTooLarge for the limits and for more than
// 64 parameters.
Result<SoapCall> ParseSoapRequest(std::string_view body, const ParseLimits& limits = {});

// `<soap:Envelope xmlns:soap="…"><soap:Body><ns:{operation}Response xmlns:ns="{ns}">
// <ns:out>{out_text, XML-escaped}</ns:out></ns:{operation}Response></soap:Body></soap:Envelope>`
// (without line breaks). `operation` must be an XML name (it is one when it came from
// ParseSoapRequest).
std::string BuildSoapResponse(std::string_view operation, std::string_view ns,
                              std::string_view out_text, SoapVersion version = SoapVersion::k11);

// Who is at fault: the request (soap:Client, 1.2 soap:Sender) or the server (soap:Server,
// 1.2 soap:Receiver). Faults are sent with HTTP status 500.
enum class SoapFaultCode { kClient, kServer };
std::string BuildSoapFault(SoapFaultCode code, std::string_view message,
                           SoapVersion version = SoapVersion::k11);

// "text/xml;charset=utf-8" for 1.1, "application/soap+xml;charset=utf-8" for 1.2.
std::string_view SoapContentType(SoapVersion version);

struct WsdlOperation {
  std::string name;                 // e.g. "ticketValidation"
  std::vector<std::string> params;  // child element names in order, all xsd:string
};

struct WsdlService {
  std::string name;              // e.g. "SimpleAuthService"
  std::string target_namespace;  // e.g. kSsoServiceNamespace
  std::string endpoint_url;      // soap:address location
  std::vector<WsdlOperation> operations;
};

// A WSDL 1.1 document/literal wrapped description: an element per operation (a sequence of
// optional, nillable xsd:string children) and {op}Response (one `out` xsd:string), messages
// {op}Request/{op}Response, port type {Service}PortType, SOAP 1.1 binding {Service}HttpBinding
// with soapAction "", and service {Service} with port {Service}HttpPort. Names must be XML
// NCNames; all values are attribute-escaped.
std::string BuildWsdl(const WsdlService& service);

}  // namespace tongban::codec
