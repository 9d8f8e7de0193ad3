#include "codec/xml_doc.h"

#include "codec/xml_internal.h"

namespace tongban::codec {

Status LoadUntrustedXml(std::string_view text, const ParseLimits& limits, std::string_view what,
                        pugi::xml_document* doc) {
  return internal::LoadXml(text, limits, what, doc);
}

}  // namespace tongban::codec
