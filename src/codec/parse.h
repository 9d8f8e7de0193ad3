// Parses the JSON or <SSO> XML text that apps send (the `args` of synchronizeUser and
// synchronizeOrg, push replies) into a codec::Value. Used by sso/ handlers and the push outbox.
// Input is untrusted: sizes and nesting are bounded, DOCTYPE (and so entity declarations) is
// refused, and every failure is an Error value with a message that does not echo values.
#pragma once

#include <cstddef>
#include <string_view>

#include "codec/value.h"
#include "core/result.h"

namespace tongban::codec {

struct ParseLimits {
  std::size_t max_bytes = 1 << 20;  // larger input -> errc::kTooLarge
  int max_depth = 64;               // deeper nesting of arrays/objects/elements -> kTooLarge
};

// Any JSON value (RFC 8259, strict: no comments, no trailing text). Integers that fit int64
// become integers; larger ones and numbers with a fraction or exponent become doubles (a number
// beyond the range of a double is an error). Object
// keys keep their order; a key repeated within one object is an error (it would be ambiguous
// which one a handler reads). Errors: kInvalidArgument (syntax, with line and column; invalid
// UTF-8; duplicate key) or kTooLarge.
Result<Value> ParseJson(std::string_view text, const ParseLimits& limits = {});

// The inverse of RenderSsoXml, for UTF-8 <SSO> XML (any root element name is accepted; the
// root is always an object). For each element, by its shape:
//   text only (or empty)            -> string (`<a/>` and `<a></a>` both give "")
//   with attributes                 -> object of its attributes (and child elements), and an
//                                      item of an array even when it occurs once
//   with child elements             -> object
//   the same name repeated          -> array of the occurrences, in order
// Every scalar comes back as a string (XML has no types: <total>2</total> gives "2"), and a
// one-item array of scalars comes back as the scalar itself. Names are decoded from _xHHHH_
// and namespace prefixes dropped. Errors (kInvalidArgument): malformed XML, a DOCTYPE, a
// declared encoding other than UTF-8, ill-formed UTF-8, text mixed with elements or attributes,
// an attribute and a child element with the same name; kTooLarge for the limits.
Result<Value> ParseSsoXml(std::string_view text, const ParseLimits& limits = {});

}  // namespace tongban::codec
