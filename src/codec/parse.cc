#include "codec/parse.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "codec/text_internal.h"
#include "codec/value_internal.h"
#include "codec/xml_internal.h"

namespace tongban::codec {
namespace {

using internal::ValueAccess;
using Json = nlohmann::json;

// Objects up to this size are checked for duplicate keys pairwise; larger ones by sorting.
constexpr std::size_t kPairwiseDuplicateCheck = 16;

// The first key that occurs twice among `members`, or nullptr.
const std::string* FindDuplicateKey(const std::vector<Member>& members) {
  if (members.size() <= kPairwiseDuplicateCheck) {
    for (std::size_t i = 0; i < members.size(); ++i) {
      for (std::size_t j = i + 1; j < members.size(); ++j) {
        if (members[i].key == members[j].key) return &members[i].key;
      }
    }
    return nullptr;
  }
  std::vector<const std::string*> keys;
  keys.reserve(members.size());
  for (const Member& m : members) keys.push_back(&m.key);
  std::sort(keys.begin(), keys.end(), [](const auto* a, const auto* b) { return *a < *b; });
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (*keys[i] == *keys[i - 1]) return keys[i];
  }
  return nullptr;
}

// nlohmann's message without its "[json.exception…] " prefix and without the "last read:"
// excerpt, which would copy request data (possibly a password) into logs.
std::string DescribeJsonError(const std::string& what) {
  std::string_view message(what);
  if (!message.empty() && message.front() == '[') {
    const std::size_t close = message.find("] ");
    if (close != std::string_view::npos) message.remove_prefix(close + 2);
  }
  const std::size_t excerpt = message.find("; last read:");
  if (excerpt != std::string_view::npos) message = message.substr(0, excerpt);
  return std::string(message);
}

// Builds a Value directly from nlohmann's SAX events: no intermediate DOM, and the depth limit
// applies while parsing rather than after.
class ValueBuilder {
 public:
  explicit ValueBuilder(const ParseLimits& limits) : limits_(limits) {}

  bool null() { return Put(Value()); }
  bool boolean(bool b) { return Put(Value(b)); }
  bool number_integer(Json::number_integer_t i) { return Put(Value(i)); }
  bool number_unsigned(Json::number_unsigned_t u) { return Put(Value(u)); }
  bool number_float(Json::number_float_t d, const Json::string_t& /*text*/) {
    if (!std::isfinite(d)) {  // e.g. 1e400: JSON cannot render it back
      error_ = Error::InvalidArgument("invalid JSON: a number is out of range");
      return false;
    }
    return Put(Value(d));
  }
  bool string(Json::string_t& s) { return Put(Value(std::move(s))); }
  bool binary(Json::binary_t& /*b*/) {
    error_ = Error::InvalidArgument("invalid JSON: binary values are not supported");
    return false;
  }
  bool start_object(std::size_t /*size*/) { return Open(Value::Object()); }
  bool key(Json::string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    if (const std::string* dup = FindDuplicateKey(ValueAccess::Members(*stack_.back()))) {
      error_ = Error::InvalidArgument("invalid JSON: duplicate key \"" + internal::Printable(*dup) +
                                      "\" in an object");
      return false;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*size*/) { return Open(Value::Array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    error_ = Error::InvalidArgument("invalid JSON: " + DescribeJsonError(ex.what()));
    return false;
  }

  Value& root() { return root_; }
  const Error& error() const { return error_; }

 private:
  // Stores `v` where the next value goes and returns it.
  Value* Store(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Value& parent = *stack_.back();
    if (parent.IsArray()) return &ValueAccess::Items(parent).emplace_back(std::move(v));
    return &ValueAccess::Members(parent).emplace_back(std::move(key_), std::move(v)).value;
  }

  bool Put(Value v) {
    Store(std::move(v));
    return true;
  }

  bool Open(Value container) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      error_ = Error::TooLarge("JSON nests deeper than " + std::to_string(limits_.max_depth) +
                               " levels");
      return false;
    }
    // Pointers stay valid: only the innermost open container grows, and it is never a parent
    // vector of another pointer on the stack while that one is open.
    stack_.push_back(Store(std::move(container)));
    return true;
  }

  const ParseLimits& limits_;
  Value root_;
  std::vector<Value*> stack_;
  std::string key_;
  Error error_ = Error::InvalidArgument("invalid JSON");
};

// Where a key of the object being built came from, for grouping repeated elements.
struct Slot {
  std::size_t index;      // into the object's members
  std::size_t count = 0;  // elements seen with this key (0 for an attribute)
  bool first_is_item = false;
};

class SsoXmlReader {
 public:
  explicit SsoXmlReader(const ParseLimits& limits) : limits_(limits) {}

  // The element as an object (its attributes, then its child elements grouped by name).
  Status ReadObject(const pugi::xml_node& element, int depth, Value* out) {
    if (depth > limits_.max_depth) {
      return Error::TooLarge("XML nests deeper than " + std::to_string(limits_.max_depth) +
                             " levels");
    }
    *out = Value::Object();
    std::vector<Member>& members = ValueAccess::Members(*out);
    std::unordered_map<std::string, Slot> slots;
    for (pugi::xml_attribute a = element.first_attribute(); a; a = a.next_attribute()) {
      if (internal::IsNamespaceDeclaration(a)) continue;
      std::string key = internal::DecodeXmlName(internal::LocalName(a.name()));
      if (!slots.try_emplace(key, Slot{members.size()}).second) {
        return Duplicate(element, key);
      }
      members.emplace_back(std::move(key), Value(a.value()));
    }
    for (pugi::xml_node child = element.first_child(); child; child = child.next_sibling()) {
      if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
        if (!internal::IsXmlWhitespace(child.value())) {
          return Error::InvalidArgument("XML element <" +
                                        internal::Printable(internal::LocalName(element.name())) +
                                        "> mixes text with attributes or elements");
        }
        continue;
      }
      if (child.type() != pugi::node_element) continue;
      Value value;
      bool is_item = false;
      TB_RETURN_IF_ERROR(ReadElement(child, depth + 1, &value, &is_item));
      std::string key = internal::DecodeXmlName(internal::LocalName(child.name()));
      auto [it, inserted] = slots.try_emplace(key, Slot{members.size()});
      Slot& slot = it->second;
      if (inserted) {
        slot.count = 1;
        slot.first_is_item = is_item;
        members.emplace_back(std::move(key), std::move(value));
        continue;
      }
      if (slot.count == 0) return Duplicate(element, key);
      Value& existing = members[slot.index].value;
      if (slot.count == 1) {
        Value array = Value::Array(2);
        array.Push(std::move(existing));
        existing = std::move(array);
      }
      existing.Push(std::move(value));
      ++slot.count;
    }
    for (const auto& [key, slot] : slots) {
      if (slot.count == 1 && slot.first_is_item) {
        Value& existing = members[slot.index].value;
        Value array = Value::Array(1);
        array.Push(std::move(existing));
        existing = std::move(array);
      }
    }
    return Status::Ok();
  }

 private:
  // A child element: a string when it holds only text, else an object. *is_item is set when
  // it has attributes, which only items of an array of objects get.
  Status ReadElement(const pugi::xml_node& element, int depth, Value* out, bool* is_item) {
    *is_item = false;
    for (pugi::xml_attribute a = element.first_attribute(); a; a = a.next_attribute()) {
      if (!internal::IsNamespaceDeclaration(a)) {
        *is_item = true;
        break;
      }
    }
    bool has_elements = false;
    std::string text = internal::ElementText(element, &has_elements);
    if (*is_item || has_elements) return ReadObject(element, depth, out);
    *out = Value(std::move(text));
    return Status::Ok();
  }

  static Error Duplicate(const pugi::xml_node& element, const std::string& key) {
    return Error::InvalidArgument("XML element <" +
                                  internal::Printable(internal::LocalName(element.name())) +
                                  "> uses the name \"" + internal::Printable(key) +
                                  "\" for two attributes or for an attribute and an element");
  }

  const ParseLimits& limits_;
};

}  // namespace

Result<Value> ParseJson(std::string_view text, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error::TooLarge("JSON is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows; JSON
  // text has no raw NUL anywhere, so refuse it up front.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Error::InvalidArgument("invalid JSON: NUL byte at offset " + std::to_string(nul));
  }
  ValueBuilder builder(limits);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.data(), text.data() + text.size(), &builder);
  } catch (const Json::exception& e) {
    // sax_parse reports errors through the builder; this is only a safety net.
    return Error::InvalidArgument("invalid JSON: " + DescribeJsonError(e.what()));
  }
  if (!ok) return builder.error();
  return std::move(builder.root());
}

Result<Value> ParseSsoXml(std::string_view text, const ParseLimits& limits) {
  pugi::xml_document doc;
  TB_RETURN_IF_ERROR(internal::LoadXml(text, limits, "XML document", &doc));
  Value root;
  SsoXmlReader reader(limits);
  TB_RETURN_IF_ERROR(reader.ReadObject(doc.document_element(), 1, &root));
  return root;
}

}  // namespace tongban::codec
