#include "sso/cas_protocol.h"

#include <ctime>
#include <utility>

#include "codec/render.h"
#include "codec/value.h"

namespace tongban::sso::cas {
namespace {

// The replacement for a character that cannot appear as itself in element
// content or an attribute value; nullptr when it can. XML 1.0 cannot carry
// C0 controls other than TAB, LF and CR at all: they are dropped ("").
const char* XmlEscapeOf(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&apos;";
    case '\t':
    case '\n':
    case '\r':
      return nullptr;
    default:
      return static_cast<unsigned char>(c) < 0x20 ? "" : nullptr;
  }
}

// Escapes text, copying runs of plain characters at once (a push_back per
// character showed in serviceValidate's profile).
void AppendXmlText(std::string& out, std::string_view text) {
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char* escaped = XmlEscapeOf(text[i]);
    if (escaped == nullptr) continue;
    out.append(text.data() + run, i - run).append(escaped);
    run = i + 1;
  }
  out.append(text.data() + run, text.size() - run);
}

void Element(std::string& out, std::string_view name, std::string_view text) {
  out.append("<cas:").append(name).append(">");
  AppendXmlText(out, text);
  out.append("</cas:").append(name).append(">");
}

// An attribute name usable as an XML element name: letters, digits, '_',
// '-', '.'; not starting with a digit, '-' or '.'. tongban's own names all
// are; anything else is skipped rather than breaking the document.
bool XmlName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool other = (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!letter && !(i > 0 && other)) return false;
  }
  return true;
}

// The document is written into one buffer, opened and closed around the
// response element: a validation renders one per call.
std::string XmlOpen(size_t expected_size) {
  std::string out;
  out.reserve(expected_size + 128);
  out.append("<cas:serviceResponse xmlns:cas=\"").append(kNamespace).append("\">\n");
  return out;
}

std::string XmlClose(std::string& out) {
  out.append("\n</cas:serviceResponse>\n");
  return std::move(out);
}

std::string JsonEnvelope(codec::Value inner_name_value) {
  codec::Value root = codec::Value::Object(1);
  root.Set("serviceResponse", std::move(inner_name_value));
  return codec::RenderJson(root);
}

}  // namespace

std::string RenderSuccess(const Success& s, Format format) {
  if (format == Format::kJson) {
    codec::Value success = codec::Value::Object(4);
    success.Set("user", s.user);
    if (!s.pgt_iou.empty()) success.Set("proxyGrantingTicket", s.pgt_iou);
    if (!s.proxies.empty()) {
      codec::Value proxies = codec::Value::Array(s.proxies.size());
      for (const std::string& p : s.proxies) proxies.Push(p);
      success.Set("proxies", std::move(proxies));
    }
    if (!s.attributes.empty()) {
      // As Apereo CAS renders them: every attribute a list of strings.
      codec::Value attributes = codec::Value::Object(s.attributes.size());
      for (const auto& [name, value] : s.attributes) {
        codec::Value* list = attributes.Find(name);
        if (list == nullptr) list = &attributes.Add(name, codec::Value::Array(1));
        list->Push(value);
      }
      success.Set("attributes", std::move(attributes));
    }
    codec::Value response = codec::Value::Object(1);
    response.Set("authenticationSuccess", std::move(success));
    return JsonEnvelope(std::move(response));
  }
  size_t expected = 256 + s.user.size() + s.pgt_iou.size();
  for (const auto& [name, value] : s.attributes) expected += 2 * name.size() + value.size() + 20;
  for (const std::string& p : s.proxies) expected += p.size() + 32;
  std::string xml = XmlOpen(expected);
  xml.append("  <cas:authenticationSuccess>\n    ");
  Element(xml, "user", s.user);
  xml.append("\n");
  if (!s.attributes.empty()) {
    xml.append("    <cas:attributes>\n");
    for (const auto& [name, value] : s.attributes) {
      if (!XmlName(name)) continue;
      xml.append("      ");
      Element(xml, name, value);
      xml.append("\n");
    }
    xml.append("    </cas:attributes>\n");
  }
  if (!s.pgt_iou.empty()) {
    xml.append("    ");
    Element(xml, "proxyGrantingTicket", s.pgt_iou);
    xml.append("\n");
  }
  if (!s.proxies.empty()) {
    xml.append("    <cas:proxies>\n");
    for (const std::string& p : s.proxies) {
      xml.append("      ");
      Element(xml, "proxy", p);
      xml.append("\n");
    }
    xml.append("    </cas:proxies>\n");
  }
  xml.append("  </cas:authenticationSuccess>");
  return XmlClose(xml);
}

namespace {

std::string RenderCodedFailure(std::string_view element, std::string_view code,
                               std::string_view description, Format format) {
  if (format == Format::kJson) {
    codec::Value failure = codec::Value::Object(2);
    failure.Set("code", code).Set("description", description);
    codec::Value response = codec::Value::Object(1);
    response.Set(element, std::move(failure));
    return JsonEnvelope(std::move(response));
  }
  std::string xml = XmlOpen(element.size() * 2 + code.size() + description.size() + 16);
  xml.append("  <cas:").append(element).append(" code=\"");
  AppendXmlText(xml, code);
  xml.append("\">");
  AppendXmlText(xml, description);
  xml.append("</cas:").append(element).append(">");
  return XmlClose(xml);
}

}  // namespace

std::string RenderFailure(std::string_view code, std::string_view description, Format format) {
  return RenderCodedFailure("authenticationFailure", code, description, format);
}

std::string RenderProxyFailure(std::string_view code, std::string_view description, Format format) {
  return RenderCodedFailure("proxyFailure", code, description, format);
}

std::string RenderProxySuccess(std::string_view proxy_ticket, Format format) {
  if (format == Format::kJson) {
    codec::Value success = codec::Value::Object(1);
    success.Set("proxyTicket", proxy_ticket);
    codec::Value response = codec::Value::Object(1);
    response.Set("proxySuccess", std::move(success));
    return JsonEnvelope(std::move(response));
  }
  std::string xml = XmlOpen(proxy_ticket.size() + 80);
  xml.append("  <cas:proxySuccess>\n    ");
  Element(xml, "proxyTicket", proxy_ticket);
  xml.append("\n  </cas:proxySuccess>");
  return XmlClose(xml);
}

std::string RenderValidate(bool ok, std::string_view user) {
  if (!ok) return "no\n\n";
  std::string out = "yes\n";
  out.append(user).append("\n");
  return out;
}

std::string RenderLogoutRequest(std::string_view id, std::string_view issue_instant,
                                std::string_view service_ticket) {
  std::string out =
      "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
      "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"";
  AppendXmlText(out, id);
  out.append("\" Version=\"2.0\" IssueInstant=\"");
  AppendXmlText(out, issue_instant);
  out.append("\"><saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>");
  AppendXmlText(out, service_ticket);
  out.append("</samlp:SessionIndex></samlp:LogoutRequest>");
  return out;
}

std::string IsoUtc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace tongban::sso::cas
