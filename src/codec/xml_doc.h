// Untrusted XML as a pugixml document, for modules that read their own XML
// shapes (payment's direct interface) with codec's hardening: size bounded,
// UTF-8 only, no NUL, no DOCTYPE (so no entities), one root element.
#pragma once

#include <pugixml.hpp>
#include <string_view>

#include "codec/parse.h"
#include "core/result.h"

namespace tongban::codec {

// `what` names the input in error messages. Errors: kInvalidArgument, kTooLarge.
Status LoadUntrustedXml(std::string_view text, const ParseLimits& limits, std::string_view what,
                        pugi::xml_document* doc);

}  // namespace tongban::codec
