#include "codec/value.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstring>

#include "codec/text_internal.h"

namespace tongban::codec {
namespace {

// Most replies have at most this many fields; reserving it on first insertion keeps building a
// reply to one allocation for the member vector.
constexpr std::size_t kInitialMembers = 8;

const Value& NullValue() {
  static const Value kNull;
  return kNull;
}

const std::string& EmptyString() {
  static const std::string kEmpty;
  return kEmpty;
}

template <typename Container>
const Container& EmptyContainer() {
  static const Container kEmpty;
  return kEmpty;
}

// Key comparison for the linear member scans. Building a ~45-field user
// reply makes ~1000 of them; checking length and first byte inline before
// memcmp halves their cost, since most keys differ right there.
inline bool SameKey(const std::string& a, std::string_view b) {
  return a.size() == b.size() &&
         (b.empty() || (a[0] == b[0] && std::memcmp(a.data(), b.data(), b.size()) == 0));
}

}  // namespace

Value Value::Object(std::size_t reserve) {
  Value v;
  v.v_.emplace<Object_>().reserve(reserve);
  return v;
}

Value Value::Array(std::size_t reserve) {
  Value v;
  v.v_.emplace<Array_>().reserve(reserve);
  return v;
}

bool Value::AsBool() const {
  assert(IsBool());
  const bool* b = std::get_if<bool>(&v_);
  return b != nullptr && *b;
}

std::int64_t Value::AsInteger() const {
  assert(IsInteger());
  const std::int64_t* i = std::get_if<std::int64_t>(&v_);
  return i != nullptr ? *i : 0;
}

double Value::AsDouble() const {
  assert(IsNumber());
  if (const double* d = std::get_if<double>(&v_)) return *d;
  if (const std::int64_t* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
  return 0;
}

const std::string& Value::AsString() const {
  assert(IsString());
  const std::string* s = std::get_if<std::string>(&v_);
  return s != nullptr ? *s : EmptyString();
}

std::string Value::ToText() const {
  std::string out;
  switch (type()) {
    case Type::kBool:
      out = std::get<bool>(v_) ? "true" : "false";
      break;
    case Type::kInteger: {
      char buf[24];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), std::get<std::int64_t>(v_));
      out.assign(buf, end);
      break;
    }
    case Type::kDouble:
      internal::AppendDouble(std::get<double>(v_), /*json=*/false, &out);
      break;
    case Type::kString:
      out = std::get<std::string>(v_);
      break;
    case Type::kNull:
    case Type::kArray:
    case Type::kObject:
      break;
  }
  return out;
}

Value::Object_& Value::MutableObject() {
  if (IsNull()) v_.emplace<Object_>();
  assert(IsObject());
  return std::get<Object_>(v_);
}

Value::Array_& Value::MutableArray() {
  if (IsNull()) v_.emplace<Array_>();
  assert(IsArray());
  return std::get<Array_>(v_);
}

Value& Value::Insert(std::string_view key, Value&& value) {
  Object_& members = MutableObject();
  for (Member& m : members) {
    if (SameKey(m.key, key)) {
      m.value = std::move(value);
      return m.value;
    }
  }
  if (members.capacity() == 0) members.reserve(kInitialMembers);
  return members.emplace_back(std::string(key), std::move(value)).value;
}

Value& Value::Add(std::string_view key, Value value) { return Insert(key, std::move(value)); }

Value& Value::AppendNew(std::string_view key, Value value) {
  Object_& members = MutableObject();
  assert(Find(key) == nullptr);
  if (members.capacity() == 0) members.reserve(kInitialMembers);
  return members.emplace_back(std::string(key), std::move(value)).value;
}

Value& Value::Set(std::string_view key, Value value) & {
  Insert(key, std::move(value));
  return *this;
}

Value Value::Set(std::string_view key, Value value) && {
  Insert(key, std::move(value));
  return std::move(*this);
}

Value& Value::Merge(Value other) & {
  Object_& members = MutableObject();
  if (other.IsNull()) return *this;
  assert(other.IsObject());
  Object_& incoming = std::get<Object_>(other.v_);
  const std::size_t before = members.size();
  members.reserve(before + incoming.size());
  for (Member& m : incoming) {
    auto end = members.begin() + static_cast<std::ptrdiff_t>(before);
    auto same =
        std::find_if(members.begin(), end, [&](const Member& e) { return SameKey(e.key, m.key); });
    if (same != end) {
      same->value = std::move(m.value);
    } else {
      members.push_back(std::move(m));
    }
  }
  return *this;
}

Value Value::Merge(Value other) && {
  Merge(std::move(other));
  return std::move(*this);
}

Value* Value::Find(std::string_view key) noexcept {
  Object_* members = std::get_if<Object_>(&v_);
  if (members == nullptr) return nullptr;
  for (Member& m : *members) {
    if (SameKey(m.key, key)) return &m.value;
  }
  return nullptr;
}

const Value* Value::Find(std::string_view key) const noexcept {
  return const_cast<Value*>(this)->Find(key);
}

const std::string* Value::FindString(std::string_view key) const noexcept {
  const Value* v = Find(key);
  return v != nullptr ? std::get_if<std::string>(&v->v_) : nullptr;
}

Value& Value::operator[](std::string_view key) {
  if (Value* v = Find(key)) return *v;
  return Add(key, Value());
}

const Value& Value::operator[](std::string_view key) const noexcept {
  const Value* v = Find(key);
  return v != nullptr ? *v : NullValue();
}

bool Value::Erase(std::string_view key) {
  Object_* members = std::get_if<Object_>(&v_);
  if (members == nullptr) return false;
  for (auto it = members->begin(); it != members->end(); ++it) {
    if (it->key == key) {
      members->erase(it);
      return true;
    }
  }
  return false;
}

const std::vector<Member>& Value::members() const noexcept {
  const Object_* members = std::get_if<Object_>(&v_);
  return members != nullptr ? *members : EmptyContainer<Object_>();
}

Value& Value::Push(Value value) {
  Array_& items = MutableArray();
  items.push_back(std::move(value));
  return items.back();
}

const std::vector<Value>& Value::items() const noexcept {
  const Array_* items = std::get_if<Array_>(&v_);
  return items != nullptr ? *items : EmptyContainer<Array_>();
}

Value& Value::operator[](std::size_t i) {
  Array_& items = std::get<Array_>(v_);
  assert(i < items.size());
  return items[i];
}

const Value& Value::operator[](std::size_t i) const {
  const Array_& items = std::get<Array_>(v_);
  assert(i < items.size());
  return items[i];
}

std::size_t Value::size() const noexcept {
  if (const Array_* items = std::get_if<Array_>(&v_)) return items->size();
  if (const Object_* members = std::get_if<Object_>(&v_)) return members->size();
  return 0;
}

bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

}  // namespace tongban::codec
