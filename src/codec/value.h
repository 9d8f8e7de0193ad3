// codec::Value: the reply model every protocol handler builds (one tree, rendered as the spec's
// <SSO> XML or as JSON by render.h) and the result of parsing JSON or <SSO> XML `args`.
// Used by sso/ handlers, the push outbox and anything else that speaks the SSO wire format.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace tongban::codec {

struct Member;
namespace internal {
struct ValueAccess;
}  // namespace internal

// A JSON-like value: null, bool, integer, double, string, array, or object whose keys keep
// their insertion order (the spec's replies are ordered: result, errmsg, then the fields).
// Objects are a flat vector of key/value pairs, not a map: replies have a handful of fields,
// and a linear scan beats a tree both in lookups and in allocations. Keys are unique: Set and
// Add replace an existing key in place, keeping its position.
//
// Building a typical reply costs one allocation for the member vector (the first insertion
// reserves 8 slots) plus one per string longer than the small-string buffer (15 bytes): three
// for a ticketValidation reply (bench/codec_render_bench.cc).
// A Value is not thread-safe for concurrent mutation; const access may be shared.
class Value {
 public:
  enum class Type : std::uint8_t { kNull, kBool, kInteger, kDouble, kString, kArray, kObject };

  // Implicit on purpose: Set("result", "0"), Set("total", 2) and Push(true) read as the wire.
  // Defined below Member, which must be complete wherever the variant is constructed.
  Value() noexcept = default;      // null
  Value(std::nullptr_t) noexcept;  // NOLINT(google-explicit-constructor)
  Value(bool b) noexcept;          // NOLINT(google-explicit-constructor)
  // Any integer but bool and char (a char is more likely a mistake than a number). Unsigned
  // values above INT64_MAX become doubles.
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) Value(T i)
  noexcept;                       // NOLINT(google-explicit-constructor)
  Value(double d) noexcept;       // NOLINT(google-explicit-constructor)
  Value(std::string s) noexcept;  // NOLINT(google-explicit-constructor)
  Value(std::string_view s);      // NOLINT(google-explicit-constructor)
  Value(const char* s);           // NOLINT(google-explicit-constructor)

  // Empty containers; `reserve` pre-sizes them when the caller knows the count.
  static Value Object(std::size_t reserve = 0);
  static Value Array(std::size_t reserve = 0);

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  bool IsNull() const noexcept { return type() == Type::kNull; }
  bool IsBool() const noexcept { return type() == Type::kBool; }
  bool IsInteger() const noexcept { return type() == Type::kInteger; }
  bool IsDouble() const noexcept { return type() == Type::kDouble; }
  bool IsNumber() const noexcept { return IsInteger() || IsDouble(); }
  bool IsString() const noexcept { return type() == Type::kString; }
  bool IsArray() const noexcept { return type() == Type::kArray; }
  bool IsObject() const noexcept { return type() == Type::kObject; }
  // Null, bool, number or string: what XML renders as text or as an attribute.
  bool IsScalar() const noexcept { return !IsArray() && !IsObject(); }

  // Scalar access. Calling one on a value of another type is a programming error (asserted);
  // release builds then return false / 0 / an empty string.
  bool AsBool() const;
  std::int64_t AsInteger() const;
  double AsDouble() const;  // also accepts an integer
  const std::string& AsString() const;

  // A scalar as wire text: strings as they are, integers in decimal, doubles in the shortest
  // form that reads back exactly ("NaN", "INF", "-INF" when not finite), bools as
  // "true"/"false", null as "". Arrays and objects give "".
  std::string ToText() const;

  // --- Objects. A null value becomes an empty object on its first Set/Add/operator[]; on any
  // other non-object these are programming errors (asserted; std::bad_variant_access). ---

  // Sets `key` (appended if new, replaced in place if present) and returns this object, so calls
  // chain: Value::Object().Set("result", "0").Set("errmsg", "成功").
  Value& Set(std::string_view key, Value value) &;
  Value Set(std::string_view key, Value value) &&;
  // Like Set, but returns the stored child, for filling a nested container:
  //   Value& users = reply.Add("user", Value::Array());
  // The reference is valid until the next insertion of a new key into this object (the member
  // vector may grow), so fill the child before adding more fields.
  Value& Add(std::string_view key, Value value);
  // Appends a member whose key the caller knows is not in this object yet
  // (asserted in debug builds), without Set's scan of the keys so far: for
  // building objects of fixed, distinct field names, like a user's ~45.
  Value& AppendNew(std::string_view key, Value value);
  // The child under `key`, or nullptr when absent or when this is not an object.
  Value* Find(std::string_view key) noexcept;
  const Value* Find(std::string_view key) const noexcept;
  // The child under `key` if it is a string, else nullptr. Saves a type check in handlers.
  const std::string* FindString(std::string_view key) const noexcept;
  // Mutable access inserts a null child when `key` is absent. Const access returns a shared
  // null value when `key` is absent or this is not an object.
  Value& operator[](std::string_view key);
  const Value& operator[](std::string_view key) const noexcept;
  // Moves every member of the object `other` into this object, in order, as Set would (a key
  // already here is replaced). Only the members present before are searched, since an object's
  // keys are unique: merging n fields into a reply of k costs k*n comparisons, where n Sets
  // would cost n*n/2 (getUserInfo's ~45 user fields). `other` must be an object or null.
  Value& Merge(Value other) &;
  Value Merge(Value other) &&;
  // Removes `key`; returns whether it was present. Later members keep their order.
  bool Erase(std::string_view key);
  // Members in insertion order; empty unless this is an object.
  const std::vector<Member>& members() const noexcept;

  // --- Arrays. A null value becomes an empty array on its first Push. ---

  // Appends and returns the stored item; the reference is valid until the next Push.
  Value& Push(Value value);
  // Items in order; empty unless this is an array.
  const std::vector<Value>& items() const noexcept;
  // Item `i` of an array. Out of range is a programming error (asserted); on a non-array it
  // throws std::bad_variant_access.
  Value& operator[](std::size_t i);
  const Value& operator[](std::size_t i) const;
  // Disambiguates `v[0]` (int literal) from the key overloads.
  Value& operator[](int i) { return (*this)[static_cast<std::size_t>(i)]; }
  const Value& operator[](int i) const { return (*this)[static_cast<std::size_t>(i)]; }

  // Number of items or members; 0 for scalars.
  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }

  // Deep equality: same type and, for objects, the same members in the same order.
  // Integer 1 and double 1.0 differ.
  friend bool operator==(const Value& a, const Value& b);

 private:
  friend struct internal::ValueAccess;
  using Array_ = std::vector<Value>;
  using Object_ = std::vector<Member>;

  // Set and Add without another move of `value`.
  Value& Insert(std::string_view key, Value&& value);
  Object_& MutableObject();
  Array_& MutableArray();

  // Alternative order matches Type.
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Array_, Object_> v_;
};

// One key/value pair of an object.
struct Member {
  Member() = default;
  Member(std::string k, Value v) noexcept : key(std::move(k)), value(std::move(v)) {}

  std::string key;
  Value value;

  friend bool operator==(const Member& a, const Member& b) = default;
};

inline Value::Value(std::nullptr_t) noexcept {}
inline Value::Value(bool b) noexcept : v_(b) {}
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, char>) inline Value::Value(T i) noexcept {
  if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
    if (i > static_cast<T>(INT64_MAX)) {
      v_.template emplace<double>(static_cast<double>(i));
      return;
    }
  }
  v_.template emplace<std::int64_t>(static_cast<std::int64_t>(i));
}
inline Value::Value(double d) noexcept : v_(d) {}
inline Value::Value(std::string s) noexcept : v_(std::move(s)) {}
inline Value::Value(std::string_view s) : v_(std::string(s)) {}
inline Value::Value(const char* s) : v_(std::string(s)) {}

}  // namespace tongban::codec
