#include "sso/cas_protocol.h"

#include <ctime>

#include "codec/render.h"
#include "codec/value.h"

namespace tongban::sso::cas {
namespace {

// Escapes text for element content and attribute values. Characters XML 1.0
// cannot carry (C0 controls other than TAB, LF, CR) are dropped.
void AppendXmlText(std::string& out, std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&apos;");
        break;
      default:
        if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out.push_back(c);
    }
  }
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

std::string XmlEnvelope(const std::string& inner) {
  std::string out = "<cas:serviceResponse xmlns:cas=\"";
  out.append(kNamespace).append("\">\n");
  out.append(inner);
  out.append("\n</cas:serviceResponse>\n");
  return out;
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
  std::string inner = "  <cas:authenticationSuccess>\n    ";
  Element(inner, "user", s.user);
  inner.append("\n");
  if (!s.attributes.empty()) {
    inner.append("    <cas:attributes>\n");
    for (const auto& [name, value] : s.attributes) {
      if (!XmlName(name)) continue;
      inner.append("      ");
      Element(inner, name, value);
      inner.append("\n");
    }
    inner.append("    </cas:attributes>\n");
  }
  if (!s.pgt_iou.empty()) {
    inner.append("    ");
    Element(inner, "proxyGrantingTicket", s.pgt_iou);
    inner.append("\n");
  }
  if (!s.proxies.empty()) {
    inner.append("    <cas:proxies>\n");
    for (const std::string& p : s.proxies) {
      inner.append("      ");
      Element(inner, "proxy", p);
      inner.append("\n");
    }
    inner.append("    </cas:proxies>\n");
  }
  inner.append("  </cas:authenticationSuccess>");
  return XmlEnvelope(inner);
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
  std::string inner = "  <cas:";
  inner.append(element).append(" code=\"");
  AppendXmlText(inner, code);
  inner.append("\">");
  AppendXmlText(inner, description);
  inner.append("</cas:").append(element).append(">");
  return XmlEnvelope(inner);
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
  std::string inner = "  <cas:proxySuccess>\n    ";
  Element(inner, "proxyTicket", proxy_ticket);
  inner.append("\n  </cas:proxySuccess>");
  return XmlEnvelope(inner);
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
