// nlohmann::json of an untrusted request body. nlohmann parses any nesting
// depth, but copying, comparing or dumping a value recurses once per level:
// a 1 MiB body of '[' overflowed the stack of any handler that copied it.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace tongban::codec {

// The largest nesting of arrays and objects a request body may have.
inline constexpr int kMaxJsonBodyDepth = 64;

// Whether `text` nests arrays/objects at most `max_depth` deep (strings and
// their escapes skipped; says nothing about the rest of the syntax).
bool JsonNestingWithin(std::string_view text, int max_depth);

// The parsed body, or a discarded value (is_discarded()) when `text` is not
// JSON or nests deeper than kMaxJsonBodyDepth.
nlohmann::json ParseJsonBody(std::string_view text);

}  // namespace tongban::codec
