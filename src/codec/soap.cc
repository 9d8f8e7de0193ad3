#include "codec/soap.h"

#include <pugixml.hpp>
#include <utility>

#include "codec/text_internal.h"
#include "codec/xml_internal.h"

namespace tongban::codec {
namespace {

using internal::AppendXmlAttributeValue;
using internal::AppendXmlText;
using internal::Printable;

std::string QuotedName(const pugi::xml_node& element) {
  std::string quoted = "<";  // appended, not `"<" + …`: GCC 12 warns falsely on that (-Wrestrict)
  quoted.append(Printable(internal::LocalName(element.name())));
  quoted.push_back('>');
  return quoted;
}

bool IsNil(const pugi::xml_node& element) {
  for (pugi::xml_attribute a = element.first_attribute(); a; a = a.next_attribute()) {
    if (internal::LocalName(a.name()) == "nil") {
      const std::string_view v = a.value();
      return v == "true" || v == "1";
    }
  }
  return false;
}

pugi::xml_node FirstChildElement(const pugi::xml_node& parent, std::string_view local_name) {
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    if (local_name.empty() || internal::LocalName(child.name()) == local_name) return child;
  }
  return {};
}

std::string_view EnvelopeNamespace(SoapVersion version) {
  return version == SoapVersion::k12 ? kSoap12EnvelopeNamespace : kSoap11EnvelopeNamespace;
}

void AppendEnvelopeStart(SoapVersion version, std::string* out) {
  out->append(R"(<soap:Envelope xmlns:soap=")");
  out->append(EnvelopeNamespace(version));
  out->append(R"("><soap:Body>)");
}

// The specification's operations take at most 8 parameters; the bound also keeps the
// repeated-parameter check (a linear scan per parameter) cheap on hostile input.
constexpr std::size_t kMaxParams = 64;

constexpr std::string_view kEnvelopeEnd = "</soap:Body></soap:Envelope>";

// Appends `name` as an attribute value.
void Attr(std::string_view name, std::string_view value, std::string* out) {
  out->push_back(' ');
  out->append(name);
  out->append("=\"");
  AppendXmlAttributeValue(value, out);
  out->push_back('"');
}

}  // namespace

const std::string* SoapCall::Find(std::string_view name) const {
  for (const SoapParam& p : params) {
    if (p.name == name) return &p.value;
  }
  return nullptr;
}

Result<SoapCall> ParseSoapRequest(std::string_view body, const ParseLimits& limits) {
  pugi::xml_document doc;
  TB_RETURN_IF_ERROR(internal::LoadXml(body, limits, "SOAP request", &doc));
  const pugi::xml_node envelope = doc.document_element();
  if (internal::LocalName(envelope.name()) != "Envelope") {
    return Error::InvalidArgument("SOAP request root is " + QuotedName(envelope) +
                                  ", not a SOAP Envelope");
  }
  SoapCall call;
  const std::string_view envelope_ns = internal::NamespaceUri(envelope);
  if (envelope_ns == kSoap11EnvelopeNamespace) {
    call.version = SoapVersion::k11;
  } else if (envelope_ns == kSoap12EnvelopeNamespace) {
    call.version = SoapVersion::k12;
  } else {
    return Error::InvalidArgument("SOAP Envelope namespace \"" + Printable(envelope_ns, 80) +
                                  "\" is neither SOAP 1.1 nor SOAP 1.2");
  }
  const pugi::xml_node soap_body = FirstChildElement(envelope, "Body");
  if (!soap_body) return Error::InvalidArgument("SOAP Envelope has no Body");
  const pugi::xml_node operation = FirstChildElement(soap_body, "");
  if (!operation) return Error::InvalidArgument("SOAP Body has no operation element");
  call.operation = internal::LocalName(operation.name());
  // pugixml accepts a name like "p:" whose local part is empty; no operation is called that.
  if (call.operation.empty()) return Error::InvalidArgument("SOAP operation element has no name");
  call.operation_namespace = internal::NamespaceUri(operation);
  call.params.reserve(8);  // the specification's operations take at most 8 parameters

  for (pugi::xml_node child = operation.first_child(); child; child = child.next_sibling()) {
    switch (child.type()) {
      case pugi::node_element:
        break;
      case pugi::node_pcdata:
      case pugi::node_cdata:
        if (!internal::IsXmlWhitespace(child.value())) {
          return Error::InvalidArgument("SOAP operation " + QuotedName(operation) +
                                        " has text outside its parameters");
        }
        continue;
      default:
        continue;
    }
    if (call.params.size() == kMaxParams) {
      return Error::TooLarge("SOAP operation " + QuotedName(operation) + " has more than " +
                             std::to_string(kMaxParams) + " parameters");
    }
    std::string name(internal::LocalName(child.name()));
    if (name.empty()) {
      return Error::InvalidArgument("SOAP parameter of " + QuotedName(operation) + " has no name");
    }
    if (call.Find(name) != nullptr) {
      return Error::InvalidArgument("SOAP parameter " + QuotedName(child) + " of " +
                                    QuotedName(operation) + " is repeated");
    }
    bool has_elements = false;
    std::string value = internal::ElementText(child, &has_elements);
    if (has_elements) {
      return Error::InvalidArgument("SOAP parameter " + QuotedName(child) + " of " +
                                    QuotedName(operation) +
                                    " contains elements; parameters are strings");
    }
    if (IsNil(child)) continue;
    call.params.push_back(SoapParam{std::move(name), std::move(value)});
  }
  return call;
}

std::string BuildSoapResponse(std::string_view operation, std::string_view ns,
                              std::string_view out_text, SoapVersion version) {
  std::string out;
  out.reserve(256 + out_text.size() + out_text.size() / 8);
  AppendEnvelopeStart(version, &out);
  out.append("<ns:");
  internal::AppendXmlName(operation, &out);
  out.append("Response");
  Attr("xmlns:ns", ns, &out);
  out.append("><ns:out>");
  AppendXmlText(out_text, &out);
  out.append("</ns:out></ns:");
  internal::AppendXmlName(operation, &out);
  out.append("Response>");
  out.append(kEnvelopeEnd);
  return out;
}

std::string BuildSoapFault(SoapFaultCode code, std::string_view message, SoapVersion version) {
  std::string out;
  AppendEnvelopeStart(version, &out);
  if (version == SoapVersion::k12) {
    out.append("<soap:Fault><soap:Code><soap:Value>");
    out.append(code == SoapFaultCode::kClient ? "soap:Sender" : "soap:Receiver");
    out.append(R"(</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">)");
    AppendXmlText(message, &out);
    out.append("</soap:Text></soap:Reason></soap:Fault>");
  } else {
    out.append("<soap:Fault><faultcode>");
    out.append(code == SoapFaultCode::kClient ? "soap:Client" : "soap:Server");
    out.append("</faultcode><faultstring>");
    AppendXmlText(message, &out);
    out.append("</faultstring></soap:Fault>");
  }
  out.append(kEnvelopeEnd);
  return out;
}

std::string_view SoapContentType(SoapVersion version) {
  return version == SoapVersion::k12 ? "application/soap+xml;charset=utf-8"
                                     : "text/xml;charset=utf-8";
}

std::string BuildWsdl(const WsdlService& service) {
  std::string out;
  out.reserve(4096);
  const std::string& svc = service.name;
  out.append(R"(<?xml version="1.0" encoding="UTF-8"?>)"
             "\n<wsdl:definitions"
             R"( xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/")"
             R"( xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/")"
             R"( xmlns:xsd="http://www.w3.org/2001/XMLSchema")");
  Attr("xmlns:tns", service.target_namespace, &out);
  Attr("targetNamespace", service.target_namespace, &out);
  Attr("name", svc, &out);
  out.append(">\n  <wsdl:types>\n    <xsd:schema");
  Attr("targetNamespace", service.target_namespace, &out);
  out.append(R"( elementFormDefault="qualified">)");
  out.push_back('\n');
  for (const WsdlOperation& op : service.operations) {
    out.append("      <xsd:element");
    Attr("name", op.name, &out);
    out.append(">\n        <xsd:complexType>\n          <xsd:sequence>\n");
    for (const std::string& param : op.params) {
      out.append("            <xsd:element");
      Attr("name", param, &out);
      out.append(R"( type="xsd:string" minOccurs="0" nillable="true"/>)");
      out.push_back('\n');
    }
    out.append("          </xsd:sequence>\n        </xsd:complexType>\n      </xsd:element>\n");
    out.append("      <xsd:element");
    Attr("name", op.name + "Response", &out);
    out.append(
        ">\n        <xsd:complexType>\n          <xsd:sequence>\n"
        R"(            <xsd:element name="out" type="xsd:string" minOccurs="1" nillable="true"/>)"
        "\n          </xsd:sequence>\n        </xsd:complexType>\n      </xsd:element>\n");
  }
  out.append("    </xsd:schema>\n  </wsdl:types>\n");

  for (const WsdlOperation& op : service.operations) {
    // The request message carries the operation's element, the response its {op}Response.
    const std::string response = op.name + "Response";
    const std::pair<std::string, const std::string&> messages[] = {{op.name + "Request", op.name},
                                                                   {response, response}};
    for (const auto& [message, element] : messages) {
      out.append("  <wsdl:message");
      Attr("name", message, &out);
      out.append(">\n    <wsdl:part name=\"parameters\"");
      Attr("element", "tns:" + element, &out);
      out.append("/>\n  </wsdl:message>\n");
    }
  }

  out.append("  <wsdl:portType");
  Attr("name", svc + "PortType", &out);
  out.append(">\n");
  for (const WsdlOperation& op : service.operations) {
    out.append("    <wsdl:operation");
    Attr("name", op.name, &out);
    out.append(">\n      <wsdl:input");
    Attr("name", op.name + "Request", &out);
    Attr("message", "tns:" + op.name + "Request", &out);
    out.append("/>\n      <wsdl:output");
    Attr("name", op.name + "Response", &out);
    Attr("message", "tns:" + op.name + "Response", &out);
    out.append("/>\n    </wsdl:operation>\n");
  }
  out.append("  </wsdl:portType>\n");

  out.append("  <wsdl:binding");
  Attr("name", svc + "HttpBinding", &out);
  Attr("type", "tns:" + svc + "PortType", &out);
  out.append(
      ">\n    <soap:binding style=\"document\""
      " transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n");
  for (const WsdlOperation& op : service.operations) {
    out.append("    <wsdl:operation");
    Attr("name", op.name, &out);
    out.append(">\n      <soap:operation soapAction=\"\"/>\n      <wsdl:input");
    Attr("name", op.name + "Request", &out);
    out.append(">\n        <soap:body use=\"literal\"/>\n      </wsdl:input>\n      <wsdl:output");
    Attr("name", op.name + "Response", &out);
    out.append(
        ">\n        <soap:body use=\"literal\"/>\n      </wsdl:output>\n"
        "    </wsdl:operation>\n");
  }
  out.append("  </wsdl:binding>\n");

  out.append("  <wsdl:service");
  Attr("name", svc, &out);
  out.append(">\n    <wsdl:port");
  Attr("name", svc + "HttpPort", &out);
  Attr("binding", "tns:" + svc + "HttpBinding", &out);
  out.append(">\n      <soap:address");
  Attr("location", service.endpoint_url, &out);
  out.append("/>\n    </wsdl:port>\n  </wsdl:service>\n</wsdl:definitions>\n");
  return out;
}

}  // namespace tongban::codec
