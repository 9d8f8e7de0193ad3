// Charsets a request body may declare (`Content-Type: ...; charset=GBK`) and
// their conversion to UTF-8, the only text tongban keeps. Used by the form
// parsers (url.h, form.h); GBK-family text is decoded with ICU.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::http {

enum class Charset : uint8_t {
  kUtf8,
  // GB18030, the superset of GBK and GB2312: one decoder for the three.
  kGb18030,
};

// The charset a `charset=` label names, compared case-insensitively:
// "" and utf-8 -> kUtf8; gbk, gb2312, gb18030, cp936, windows-936, x-gbk ->
// kGb18030. iso-8859-1 and us-ascii -> kUtf8 as well: Java HTTP stacks
// declare them by default while the bytes are percent-encoded UTF-8, and
// reading those as Latin-1 would garble Chinese text without an error.
// Anything else: InvalidArgument naming the label.
Result<Charset> CharsetFromLabel(std::string_view label);

// Appends `bytes`, text in `charset`, to `out` as UTF-8. False (with `out`
// holding a partial result) when the bytes are not well-formed text in that
// charset.
bool AppendAsUtf8(std::string_view bytes, Charset charset, std::string& out);

}  // namespace tongban::http
