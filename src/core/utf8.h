// UTF-8 well-formedness, checked wherever text enters tongban (request
// parameters, passwords, XML and JSON, directory fields). One implementation
// for every module.
#pragma once

#include <string_view>

namespace tongban {

// True when `s` is well-formed UTF-8: no overlong forms, no surrogates,
// nothing above U+10FFFF. ASCII is checked eight bytes at a time.
bool IsValidUtf8(std::string_view s) noexcept;

}  // namespace tongban
