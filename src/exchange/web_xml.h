// XML bodies for web access (web 接入): the same records and answers as the JSON forms of
// docs/api/exchange.md, for department systems that speak XML. A push body is
// <records><record><tongid>…</tongid>…<fields><code>value</code>…</fields></record>…</records>
// (or <values><value><field_code>…</field_code><field_value>…</field_value></value></values>
// for the vertical shape; null="true" marks NULL); answers render the JSON answer as XML.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::exchange {

// Parses a push body into the JSON the push handler reads ({"records": [...]}). Untrusted
// input: size-bounded, no DOCTYPE, UTF-8. InvalidArgument naming the record (from 1) and
// the element that does not fit; TooLarge beyond 64 MiB.
Result<nlohmann::json> WebXmlToJson(std::string_view xml);

// Renders a JSON answer (or error) as XML under `root`: objects as child elements, arrays as
// repeated elements named by the singular of their key (records -> record, results ->
// result, values -> value, otherwise item), null as <x null="true"/>, numbers and booleans
// as text. Keys are element names (our answers' keys and field codes are safe).
std::string JsonToWebXml(const nlohmann::json& answer, std::string_view root);

}  // namespace tongban::exchange
