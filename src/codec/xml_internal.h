// Internal to codec/: the one place untrusted XML is loaded (pugixml with DOCTYPE refused,
// UTF-8 enforced, size bounded) and the namespace helpers pugixml lacks. Used by parse.cc and
// soap.cc; not part of the public API.
#pragma once

#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "codec/parse.h"
#include "core/result.h"

namespace tongban::codec::internal {

// Loads `text` into `doc`. `what` names the input in error messages ("SOAP request").
// Fails on: more than limits.max_bytes (kTooLarge); ill-formed UTF-8; a declared encoding other
// than UTF-8; malformed XML; a DOCTYPE; anything but exactly one root element.
Status LoadXml(std::string_view text, const ParseLimits& limits, std::string_view what,
               pugi::xml_document* doc);

// "b" for "a:b" and for "b".
std::string_view LocalName(const char* qualified_name);
// The namespace URI an element's name resolves to by the xmlns declarations in scope, or ""
// when it has none.
std::string_view NamespaceUri(const pugi::xml_node& element);
// Whether an attribute is a namespace declaration (xmlns or xmlns:p).
bool IsNamespaceDeclaration(const pugi::xml_attribute& attribute);

// The concatenated text and CDATA children of `element`; sets *has_elements when it also has
// child elements.
std::string ElementText(const pugi::xml_node& element, bool* has_elements);
// Whether `s` is only XML white space.
bool IsXmlWhitespace(std::string_view s);

}  // namespace tongban::codec::internal
