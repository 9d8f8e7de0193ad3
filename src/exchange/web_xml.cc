// XML forms of web access bodies (see web_xml.h).
#include "exchange/web_xml.h"

#include <charconv>

#include "codec/render.h"
#include "codec/xml_doc.h"

namespace tongban::exchange {

namespace {

using nlohmann::json;

bool IsNull(const pugi::xml_node& n) {
  std::string_view v = n.attribute("null").value();
  return v == "true" || v == "1";
}

// The element's text (CDATA included), or an error when it holds elements.
Result<std::string> TextOf(const pugi::xml_node& n, const std::string& where) {
  std::string out;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      out += c.value();
    } else if (c.type() == pugi::node_element) {
      return Error::InvalidArgument(where + ": <" + n.name() + "> must hold text, not elements");
    }
  }
  return out;
}

Result<json> RecordFromXml(const pugi::xml_node& rec, const std::string& where) {
  json j = json::object();
  for (pugi::xml_node e = rec.first_child(); e; e = e.next_sibling()) {
    if (e.type() != pugi::node_element) continue;
    const std::string name = e.name();
    if (name == "fields") {
      json fields = json::object();
      for (pugi::xml_node f = e.first_child(); f; f = f.next_sibling()) {
        if (f.type() != pugi::node_element) continue;
        if (IsNull(f)) {
          fields[f.name()] = nullptr;
          continue;
        }
        auto text = TextOf(f, where);
        if (!text.ok()) return text.error();
        fields[f.name()] = *text;
      }
      j["fields"] = std::move(fields);
    } else if (name == "values") {
      json values = json::array();
      for (pugi::xml_node v = e.first_child(); v; v = v.next_sibling()) {
        if (v.type() != pugi::node_element) continue;
        if (std::string_view(v.name()) != "value") {
          return Error::InvalidArgument(where + ": <values> holds <value> elements, not <" +
                                        v.name() + ">");
        }
        pugi::xml_node code = v.child("field_code");
        pugi::xml_node value = v.child("field_value");
        if (!code) return Error::InvalidArgument(where + ": a <value> without <field_code>");
        auto code_text = TextOf(code, where);
        if (!code_text.ok()) return code_text.error();
        json item = {{"field_code", *code_text}, {"field_value", nullptr}};
        if (value && !IsNull(value)) {
          auto t = TextOf(value, where);
          if (!t.ok()) return t.error();
          item["field_value"] = *t;
        }
        values.push_back(std::move(item));
      }
      j["values"] = std::move(values);
    } else if (name == "dataversion" || name == "create_time") {
      auto text = TextOf(e, where);
      if (!text.ok()) return text.error();
      int64_t n = 0;
      auto r = std::from_chars(text->data(), text->data() + text->size(), n);
      if (r.ec != std::errc() || r.ptr != text->data() + text->size()) {
        return Error::InvalidArgument(where + ": <" + name + "> must be an integer");
      }
      j[name] = n;
    } else if (name == "tongid" || name == "sync_status" || name == "xk_lydw" ||
               name == "xk_lydwdm" || name == "areacode" || name == "record_key") {
      auto text = TextOf(e, where);
      if (!text.ok()) return text.error();
      j[name] = *text;
    } else {
      return Error::InvalidArgument(where + ": unknown element <" + name + ">");
    }
  }
  return j;
}

std::string Singular(std::string_view key) {
  if (key == "records" || key == "results" || key == "values" || key == "items" ||
      key == "nodes" || key == "tasks") {
    return std::string(key.substr(0, key.size() - 1));
  }
  return "item";
}

void Render(const json& v, const std::string& name, std::string& out) {
  if (v.is_null()) {
    out += "<" + name + " null=\"true\"/>";
    return;
  }
  out += "<" + name + ">";
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) Render(it.value(), it.key(), out);
  } else if (v.is_array()) {
    const std::string item = Singular(name);
    for (const json& e : v) Render(e, item, out);
  } else if (v.is_string()) {
    // Through codec: a record holding a control character must not make a
    // consumer's page ill-formed (review16a).
    codec::AppendXmlText(v.get<std::string>(), &out);
  } else {
    out += v.dump();
  }
  out += "</" + name + ">";
}

}  // namespace

Result<json> WebXmlToJson(std::string_view xml) {
  pugi::xml_document doc;
  codec::ParseLimits limits;
  limits.max_bytes = 64u << 20;
  limits.max_depth = 8;
  TB_RETURN_IF_ERROR(codec::LoadUntrustedXml(xml, limits, "push body", &doc));
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != "records") {
    return Error::InvalidArgument("the XML root element must be <records>, not <" +
                                  std::string(root.name()) + ">");
  }
  json records = json::array();
  int index = 0;
  for (pugi::xml_node rec = root.first_child(); rec; rec = rec.next_sibling()) {
    if (rec.type() != pugi::node_element) continue;
    ++index;
    const std::string where = "record " + std::to_string(index);
    if (std::string_view(rec.name()) != "record") {
      return Error::InvalidArgument(where + ": expected <record>, not <" + rec.name() + ">");
    }
    auto j = RecordFromXml(rec, where);
    if (!j.ok()) return j.error();
    records.push_back(std::move(j).value());
  }
  return json{{"records", std::move(records)}};
}

std::string JsonToWebXml(const json& answer, std::string_view root) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  Render(answer, std::string(root), out);
  return out;
}

}  // namespace tongban::exchange
