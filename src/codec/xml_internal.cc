#include "codec/xml_internal.h"

#include <cstring>

#include "codec/text_internal.h"
#include "core/utf8.h"

namespace tongban::codec::internal {
namespace {

bool IsUtf8EncodingName(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return lower == "utf-8" || lower == "utf8";
}

}  // namespace

Status LoadXml(std::string_view text, const ParseLimits& limits, std::string_view what,
               pugi::xml_document* doc) {
  if (text.size() > limits.max_bytes) {
    return Error::TooLarge(std::string(what) + " is larger than " +
                           std::to_string(limits.max_bytes) + " bytes");
  }
  if (!IsValidUtf8(text)) return Error::InvalidArgument(std::string(what) + " is not UTF-8");
  // pugixml works on NUL-terminated strings, and XML has no NUL character.
  if (text.find('\0') != std::string_view::npos) {
    return Error::InvalidArgument(std::string(what) + " contains a NUL byte");
  }
  // parse_doctype and parse_declaration make those nodes visible so they can be checked;
  // parse_ws_pcdata keeps white-space-only text, which is data inside a value element.
  constexpr unsigned kOptions =
      pugi::parse_default | pugi::parse_ws_pcdata | pugi::parse_doctype | pugi::parse_declaration;
  const pugi::xml_parse_result parsed =
      doc->load_buffer(text.data(), text.size(), kOptions, pugi::encoding_utf8);
  if (!parsed) {
    return Error::InvalidArgument(std::string(what) +
                                  " is not well-formed: " + parsed.description() + " at byte " +
                                  std::to_string(parsed.offset));
  }
  int elements = 0;
  for (const pugi::xml_node& node : doc->children()) {
    switch (node.type()) {
      case pugi::node_doctype:
        return Error::InvalidArgument(std::string(what) +
                                      " has a DOCTYPE; DTDs and entities are not accepted");
      case pugi::node_declaration: {
        const pugi::xml_attribute encoding = node.attribute("encoding");
        if (encoding && !IsUtf8EncodingName(encoding.value())) {
          return Error::InvalidArgument(std::string(what) + " declares encoding \"" +
                                        Printable(encoding.value()) + "\"; only UTF-8 is accepted");
        }
        break;
      }
      case pugi::node_element:
        ++elements;
        break;
      case pugi::node_pcdata:
      case pugi::node_cdata:
        if (!IsXmlWhitespace(node.value())) {
          return Error::InvalidArgument(std::string(what) + " has text outside the root element");
        }
        break;
      default:
        break;
    }
  }
  if (elements != 1) {
    return Error::InvalidArgument(std::string(what) + (elements == 0
                                                           ? " has no root element"
                                                           : " has more than one root element"));
  }
  return Status::Ok();
}

std::string_view LocalName(const char* qualified_name) {
  std::string_view name(qualified_name);
  const std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string_view NamespaceUri(const pugi::xml_node& element) {
  const std::string_view name(element.name());
  const std::size_t colon = name.find(':');
  std::string declaration = "xmlns";
  if (colon != std::string_view::npos) {
    declaration.push_back(':');
    declaration.append(name.substr(0, colon));
  }
  for (pugi::xml_node n = element; n && n.type() == pugi::node_element; n = n.parent()) {
    const pugi::xml_attribute a = n.attribute(declaration.c_str());
    if (a) return a.value();
  }
  return {};
}

bool IsNamespaceDeclaration(const pugi::xml_attribute& attribute) {
  const char* name = attribute.name();
  return std::strncmp(name, "xmlns", 5) == 0 && (name[5] == '\0' || name[5] == ':');
}

std::string ElementText(const pugi::xml_node& element, bool* has_elements) {
  std::string text;
  *has_elements = false;
  for (pugi::xml_node child = element.first_child(); child; child = child.next_sibling()) {
    switch (child.type()) {
      case pugi::node_pcdata:
      case pugi::node_cdata:
        text.append(child.value());
        break;
      case pugi::node_element:
        *has_elements = true;
        break;
      default:
        break;
    }
  }
  return text;
}

bool IsXmlWhitespace(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

}  // namespace tongban::codec::internal
