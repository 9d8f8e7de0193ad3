// Internal to codec/: UTF-8 checks and the escaping rules shared by the JSON, <SSO> XML and
// SOAP writers, plus XML name encoding. Not part of the public API; other modules must not
// include it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tongban::codec::internal {

// Length of the well-formed UTF-8 sequence starting at s[i] (1..4), or 0 if the bytes there are
// not one (overlong forms, surrogates and code points above U+10FFFF are not well-formed).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) noexcept;

// Appends `s` as a quoted JSON string. UTF-8 passes through unescaped; quotes, backslashes and
// control characters are escaped; a byte that is not well-formed UTF-8 becomes U+FFFD so the
// output is always valid JSON.
void AppendJsonString(std::string_view s, std::string* out);

// Appends `s` as XML character data (text content): & < > are escaped, CR becomes &#13; so it
// survives end-of-line normalisation, and characters XML 1.0 cannot carry at all (C0 controls
// other than TAB/LF/CR, U+FFFE, U+FFFF, ill-formed UTF-8) become U+FFFD.
void AppendXmlText(std::string_view s, std::string* out);
// As AppendXmlText, for a value between double quotes: also escapes " and ', and TAB/LF/CR as
// character references so attribute-value normalisation does not turn them into spaces.
void AppendXmlAttributeValue(std::string_view s, std::string* out);

// Whether `name` is an XML NCName (a name without a colon) that needs no encoding.
bool IsPlainXmlName(std::string_view name) noexcept;
// Appends `name` as an XML element or attribute name. Characters a name cannot hold are
// encoded as _xHHHH_ (or _xHHHHHHHH_ above U+FFFF), as ISO/IEC 9075-14 and .NET's XmlConvert
// do; a literal "_x" that would read as such an escape has its underscore encoded as _x005F_,
// so the encoding is reversible. An empty name becomes "_".
void AppendXmlName(std::string_view name, std::string* out);
// Reverses AppendXmlName.
std::string DecodeXmlName(std::string_view name);

// Appends a double in the shortest form that reads back to the same value, with ".0" added
// when that form looks like an integer. Non-finite values: "null" for JSON, "NaN"/"INF"/"-INF"
// (the xsd:double spellings) otherwise.
void AppendDouble(double d, bool json, std::string* out);

// `s` made safe to put inside an error message: at most `max_bytes` bytes, control characters
// and ill-formed UTF-8 replaced by '?', "..." appended when cut.
std::string Printable(std::string_view s, std::size_t max_bytes = 40);

}  // namespace tongban::codec::internal
