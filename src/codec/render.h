// Renders a codec::Value reply as the SSO specification's <SSO> XML or as JSON, chosen by the
// request's `datatype`. Used by sso/ handlers (HTTP and, wrapped by soap.h, SOAP) and by the
// push outbox when it sends `args`. On the ticket-validation hot path: no I/O, one output
// allocation in the common case (guarded by bench/codec_render_bench.cc).
#pragma once

#include <string>
#include <string_view>

#include "codec/value.h"
#include "core/result.h"

namespace tongban::codec {

enum class Format { kXml, kJson };

// The request's `datatype`: "xml" or "0" -> kXml, "json" or "1" -> kJson (letters
// case-insensitive; "0"/"1" is what some push receivers use). Empty -> kXml, the
// specification's default. Anything else -> an InvalidArgument error.
Result<Format> ParseFormat(std::string_view datatype);

// "text/xml;charset=utf-8" or "application/json;charset=utf-8".
std::string_view ContentType(Format format);

// Compact JSON. Strings are UTF-8 as they are (not \u-escaped); quotes, backslashes and control
// characters are escaped; ill-formed UTF-8 becomes U+FFFD. Integers render as JSON integers,
// doubles in the shortest exact form (non-finite ones as null), so a field that must be a
// string on the wire (the spec's "result":"0") must be stored as a string.
std::string RenderJson(const Value& value);
void AppendJson(const Value& value, std::string* out);

// The specification's XML: `<?xml version="1.0" encoding="UTF-8"?><SSO>…</SSO>` where each
// member of the object `reply` becomes, by the kind of its value:
//   scalar            <key>text</key> (text as Value::ToText, XML-escaped)
//   null              <key/>          (so XML does not tell null from ""; both parse back as "")
//   object            <key>…members, by these same rules…</key>
//   array of objects  one <key a="v" b="w"/> per item: the item's scalar members become
//                     attributes (null as ""); its array/object members become child elements
//   array of scalars  one <key>text</key> per item
//   array item that is itself an array: <key><item>…</item>…</key>
//   empty array       nothing
// As in `<SSO><total>2</total><user loginname="zhangs" username="张三"/><user …/></SSO>`.
// A key that is not a valid XML name is encoded reversibly as _xHHHH_ (see ParseSsoXml).
// Characters XML 1.0 cannot carry (C0 controls other than TAB/LF/CR, ill-formed UTF-8) become
// U+FFFD. A `reply` that is not an object is a caller error; it renders as <SSO>text</SSO> for
// a scalar and <SSO><item>…</item></SSO> for an array, so the output is still well-formed.
std::string RenderSsoXml(const Value& reply);

// RenderSsoXml or RenderJson.
std::string Render(const Value& reply, Format format);

// For modules writing XML of their own (exchange web access, the payment direct
// interface): appends `text` as XML character data — & < > escaped, CR as &#13;,
// and what XML 1.0 cannot carry at all (C0 controls other than TAB/LF/CR,
// U+FFFE, U+FFFF, ill-formed UTF-8) as U+FFFD — so one stored value can never
// make a reply ill-formed.
void AppendXmlText(std::string_view text, std::string* out);

// `text` made safe to quote in an error message: at most `max_bytes` bytes,
// never cut inside a UTF-8 character, controls and ill-formed bytes as '?',
// "..." appended when cut.
std::string PrintableText(std::string_view text, std::size_t max_bytes = 40);

}  // namespace tongban::codec
