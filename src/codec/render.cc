#include "codec/render.h"

#include <charconv>
#include <cstdint>

#include "codec/text_internal.h"

namespace tongban::codec {
namespace {

constexpr std::string_view kXmlDeclaration = R"(<?xml version="1.0" encoding="UTF-8"?>)";
// Enough for a ticketValidation reply, so the common case allocates the output once.
constexpr std::size_t kInitialOutput = 256;

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

void AppendInteger(std::int64_t i, std::string* out) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), i);
  out->append(buf, end);
}

// Scalar as XML-escaped text (strings escaped, numbers and bools need none).
void AppendScalarXmlText(const Value& v, bool attribute, std::string* out) {
  switch (v.type()) {
    case Value::Type::kString:
      if (attribute) {
        internal::AppendXmlAttributeValue(v.AsString(), out);
      } else {
        internal::AppendXmlText(v.AsString(), out);
      }
      break;
    case Value::Type::kInteger:
      AppendInteger(v.AsInteger(), out);
      break;
    case Value::Type::kDouble:
      internal::AppendDouble(v.AsDouble(), /*json=*/false, out);
      break;
    case Value::Type::kBool:
      out->append(v.AsBool() ? "true" : "false");
      break;
    case Value::Type::kNull:
    case Value::Type::kArray:
    case Value::Type::kObject:
      break;
  }
}

// An XML name for `key`: the key itself when it is one (the usual case, no copy), else its
// encoding in `scratch`.
std::string_view XmlName(std::string_view key, std::string* scratch) {
  if (internal::IsPlainXmlName(key)) return key;
  scratch->clear();
  internal::AppendXmlName(key, scratch);
  return *scratch;
}

void AppendOpenTag(std::string_view name, std::string* out) {
  out->push_back('<');
  out->append(name);
  out->push_back('>');
}

void AppendCloseTag(std::string_view name, std::string* out) {
  out->append("</");
  out->append(name);
  out->push_back('>');
}

void AppendXmlField(std::string_view name, const Value& v, std::string* out);

void AppendXmlMembers(const Value& object, std::string* out) {
  std::string scratch;
  for (const Member& m : object.members()) AppendXmlField(XmlName(m.key, &scratch), m.value, out);
}

// One item of an array under `name`.
void AppendXmlItem(std::string_view name, const Value& item, std::string* out) {
  switch (item.type()) {
    case Value::Type::kObject: {
      out->push_back('<');
      out->append(name);
      std::string scratch;
      bool has_children = false;
      for (const Member& m : item.members()) {
        if (!m.value.IsScalar()) {
          has_children = true;
          continue;
        }
        out->push_back(' ');
        // An attribute named xmlns would be read as a namespace declaration; escape its "x".
        out->append(m.key == "xmlns" ? std::string_view("_x0078_mlns") : XmlName(m.key, &scratch));
        out->append("=\"");
        AppendScalarXmlText(m.value, /*attribute=*/true, out);
        out->push_back('"');
      }
      if (!has_children) {
        out->append("/>");
        return;
      }
      out->push_back('>');
      for (const Member& m : item.members()) {
        if (!m.value.IsScalar()) AppendXmlField(XmlName(m.key, &scratch), m.value, out);
      }
      AppendCloseTag(name, out);
      return;
    }
    case Value::Type::kArray:
      AppendOpenTag(name, out);
      AppendXmlField("item", item, out);
      AppendCloseTag(name, out);
      return;
    default:
      AppendXmlField(name, item, out);
  }
}

void AppendXmlField(std::string_view name, const Value& v, std::string* out) {
  switch (v.type()) {
    case Value::Type::kNull:
      out->push_back('<');
      out->append(name);
      out->append("/>");
      return;
    case Value::Type::kObject:
      AppendOpenTag(name, out);
      AppendXmlMembers(v, out);
      AppendCloseTag(name, out);
      return;
    case Value::Type::kArray:
      for (const Value& item : v.items()) AppendXmlItem(name, item, out);
      return;
    default:
      AppendOpenTag(name, out);
      AppendScalarXmlText(v, /*attribute=*/false, out);
      AppendCloseTag(name, out);
  }
}

}  // namespace

Result<Format> ParseFormat(std::string_view datatype) {
  if (datatype.empty() || datatype == "0" || EqualsIgnoreAsciiCase(datatype, "xml")) {
    return Format::kXml;
  }
  if (datatype == "1" || EqualsIgnoreAsciiCase(datatype, "json")) return Format::kJson;
  return Error::InvalidArgument("unknown datatype \"" + internal::Printable(datatype) +
                                "\"; expected xml or json");
}

std::string_view ContentType(Format format) {
  return format == Format::kJson ? "application/json;charset=utf-8" : "text/xml;charset=utf-8";
}

void AppendJson(const Value& value, std::string* out) {
  switch (value.type()) {
    case Value::Type::kNull:
      out->append("null");
      return;
    case Value::Type::kBool:
      out->append(value.AsBool() ? "true" : "false");
      return;
    case Value::Type::kInteger:
      AppendInteger(value.AsInteger(), out);
      return;
    case Value::Type::kDouble:
      internal::AppendDouble(value.AsDouble(), /*json=*/true, out);
      return;
    case Value::Type::kString:
      internal::AppendJsonString(value.AsString(), out);
      return;
    case Value::Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& item : value.items()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case Value::Type::kObject: {
      out->push_back('{');
      bool first = true;
      for (const Member& m : value.members()) {
        if (!first) out->push_back(',');
        first = false;
        internal::AppendJsonString(m.key, out);
        out->push_back(':');
        AppendJson(m.value, out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string RenderJson(const Value& value) {
  std::string out;
  out.reserve(kInitialOutput);
  AppendJson(value, &out);
  return out;
}

std::string RenderSsoXml(const Value& reply) {
  std::string out;
  out.reserve(kInitialOutput);
  out.append(kXmlDeclaration);
  out.append("<SSO>");
  if (reply.IsObject()) {
    AppendXmlMembers(reply, &out);
  } else if (reply.IsArray()) {
    AppendXmlField("item", reply, &out);
  } else {
    AppendScalarXmlText(reply, /*attribute=*/false, &out);
  }
  out.append("</SSO>");
  return out;
}

std::string Render(const Value& reply, Format format) {
  return format == Format::kJson ? RenderJson(reply) : RenderSsoXml(reply);
}

void AppendXmlText(std::string_view text, std::string* out) { internal::AppendXmlText(text, out); }

std::string PrintableText(std::string_view text, std::size_t max_bytes) {
  return internal::Printable(text, max_bytes);
}

}  // namespace tongban::codec
