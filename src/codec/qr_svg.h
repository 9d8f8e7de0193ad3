// A QR code as an SVG image (libqrencode, error correction M): for pages that
// show a code to scan, such as TOTP enrolment (sso/login_page.cc). The SVG is
// self-contained, so it can be inlined in a page or a data: URL under a CSP
// that allows no scripts.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::codec {

// `text` encoded as 8-bit data; each module `module_px` pixels with a
// four-module quiet zone. InvalidArgument when the text does not fit a QR code.
Result<std::string> QrSvg(std::string_view text, int module_px = 4);

}  // namespace tongban::codec
