// Internal to codec/: direct access to a Value's containers for the parsers, which append
// members without the per-insert key scan (they check for duplicate keys once per object).
// Not part of the public API; other modules must not include it.
#pragma once

#include <string>
#include <vector>

#include "codec/value.h"

namespace tongban::codec::internal {

struct ValueAccess {
  static std::vector<Member>& Members(Value& v) { return v.MutableObject(); }
  static std::vector<Value>& Items(Value& v) { return v.MutableArray(); }
};

}  // namespace tongban::codec::internal
