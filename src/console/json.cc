// JSON shapes of the admin API (docs/api/admin.md, "Objects") and the small
// request helpers every route file uses.
#include <charconv>
#include <map>
#include <string>

#include "console/internal.h"
#include "crypto/sign.h"
#include "directory/wire.h"

namespace tongban::console {

namespace {

codec::Value Strings(const std::vector<std::string>& items) {
  codec::Value out = codec::Value::Array(items.size());
  for (const std::string& item : items) out.Push(item);
  return out;
}

Result<std::vector<std::string>> StringList(const codec::Value& value, std::string_view name) {
  if (!value.IsArray()) {
    return Error::InvalidArgument(std::string(name) + " 应为字符串数组");
  }
  std::vector<std::string> out;
  for (const codec::Value& item : value.items()) {
    if (!item.IsString() || item.AsString().empty()) {
      return Error::InvalidArgument(std::string(name) + " 应为非空字符串的数组");
    }
    out.push_back(item.AsString());
  }
  return out;
}

Status SetBool(const codec::Value& value, std::string_view name, bool* out) {
  if (!value.IsBool()) return Error::InvalidArgument(std::string(name) + " 应为 true 或 false");
  *out = value.AsBool();
  return Status::Ok();
}

Status SetText(const codec::Value& value, std::string_view name, std::string* out) {
  if (!value.IsString()) return Error::InvalidArgument(std::string(name) + " 应为字符串");
  *out = value.AsString();
  return Status::Ok();
}

}  // namespace

bool ParseInteger(std::string_view text, int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

std::string Call::BodyText(std::string_view name) const {
  if (!body.IsObject()) return {};
  const codec::Value* v = body.Find(name);
  if (v == nullptr || v->IsNull() || !v->IsScalar()) return {};
  return v->ToText();
}

Result<directory::Page> PageFrom(const Call& call) {
  directory::Page page;
  page.size = 20;
  std::string_view number = call.Query("page");
  std::string_view size = call.Query("size");
  if (!number.empty() && (!ParseInteger(number, &page.number) || page.number < 1)) {
    return Error::InvalidArgument("page 应为从 1 开始的页码");
  }
  if (!size.empty() && (!ParseInteger(size, &page.size) || page.size < 1 ||
                        page.size > directory::Page::kMaxPageSize)) {
    return Error::InvalidArgument("size 应在 1 到 1000 之间");
  }
  return page;
}

codec::Value ListOf(int64_t total, codec::Value items) {
  codec::Value out = codec::Value::Object(2);
  out.Set("total", total).Set("items", std::move(items));
  return out;
}

Result<directory::Fields> BodyFields(const Call& call) {
  if (!call.body.IsObject()) return Error::InvalidArgument("请求体应为 JSON 对象");
  auto fields = directory::FieldsFromValue(call.body);
  if (!fields.ok()) return Error::InvalidArgument("请求体的字段值应为字符串或数字");
  return fields;
}

codec::Value OrgJson(const directory::Org& org) {
  codec::Value v = codec::Value::Object(13);
  v.Set("orgcoding", org.orgcoding)
      .Set("orgname", org.orgname)
      .Set("orgallname", org.orgallname)
      .Set("principalname", org.principalname)
      .Set("orgphone", org.orgphone)
      .Set("orgoffice", org.orgoffice)
      .Set("devcoding", org.devcoding)
      .Set("nodetype", org.nodetype)
      .Set("orderby", org.orderby)
      .Set("parent", org.parent)
      .Set("domain", org.domain)
      .Set("created_ms", org.created_ms)
      .Set("updated_ms", org.updated_ms);
  return v;
}

codec::Value UserJson(const directory::User& user) {
  codec::Value v = directory::UserToValue(user);
  v.Set("useable", user.useable)
      .Set("orderby", user.orderby)
      .Set("locked", user.locked)
      .Set("domain", user.domain)
      .Set("created_ms", user.created_ms)
      .Set("updated_ms", user.updated_ms);
  return v;
}

codec::Value AppJson(const directory::App& app) {
  codec::Value protocols = codec::Value::Object(3);
  protocols.Set("zj", app.protocols.zj).Set("cas", app.protocols.cas).Set("oidc", app.protocols.oidc);
  codec::Value push_urls = codec::Value::Object(app.push_urls.size());
  for (const auto& [method, url] : app.push_urls) push_urls.Set(method, url);
  codec::Value v = codec::Value::Object(22);
  v.Set("servicecode", app.servicecode)
      .Set("name", app.name)
      .Set("orgcoding", app.orgcoding)
      .Set("signtype", crypto::SignTypeName(app.signtype))
      .Set("sign_mode", crypto::SignModeName(app.sign_mode))
      .Set("allowed_ips", Strings(app.allowed_ips))
      .Set("callback_urls", Strings(app.callback_urls))
      .Set("logout_url", app.logout_url)
      .Set("push_url", app.push_url)
      .Set("push_enabled", app.push_enabled)
      .Set("push_urls", std::move(push_urls))
      .Set("push_password", app.push_password)
      .Set("md5_login", app.md5_login)
      .Set("datatype", app.datatype)
      .Set("proxy_right", app.proxy_right)
      .Set("enabled", app.enabled)
      .Set("protocols", std::move(protocols))
      .Set("directory_write", app.directory_write)
      .Set("org_scope", app.org_scope)
      .Set("open_to_all", app.open_to_all)
      .Set("min_authlevel", static_cast<int64_t>(app.min_authlevel))
      .Set("created_ms", app.created_ms)
      .Set("updated_ms", app.updated_ms);
  return v;
}

codec::Value RoleJson(const directory::Role& role) {
  codec::Value v = codec::Value::Object(4);
  v.Set("app", role.app)
      .Set("rolecode", role.rolecode)
      .Set("rolename", role.rolename)
      .Set("memo", role.memo);
  return v;
}

codec::Value PositionJson(const directory::Position& position) {
  codec::Value v = codec::Value::Object(4);
  v.Set("app", position.app)
      .Set("positioncode", position.positioncode)
      .Set("positionname", position.positionname)
      .Set("memo", position.memo);
  return v;
}

Status ApplyAppFields(const codec::Value& body, directory::App& app) {
  if (!body.IsObject()) return Error::InvalidArgument("请求体应为 JSON 对象");
  for (const auto& member : body.members()) {
    const std::string& key = member.key;
    const codec::Value& value = member.value;
    Status s = Status::Ok();
    if (key == "servicecode") {
      s = SetText(value, key, &app.servicecode);
    } else if (key == "name") {
      s = SetText(value, key, &app.name);
    } else if (key == "orgcoding") {
      s = SetText(value, key, &app.orgcoding);
    } else if (key == "signtype") {
      if (!value.IsString()) return Error::InvalidArgument("signtype 应为 md5、sm3 或 hmac-sha256");
      auto type = crypto::ParseSignType(value.AsString());
      if (!type.ok()) return Error::InvalidArgument("signtype 应为 md5、sm3 或 hmac-sha256");
      app.signtype = *type;
    } else if (key == "sign_mode") {
      if (!value.IsString()) return Error::InvalidArgument("sign_mode 应为 spec、hmac-sha256 或 hmac-sm3");
      auto mode = crypto::ParseSignMode(value.AsString());
      if (!mode.ok()) return Error::InvalidArgument("sign_mode 应为 spec、hmac-sha256 或 hmac-sm3");
      app.sign_mode = *mode;
    } else if (key == "allowed_ips" || key == "callback_urls") {
      auto list = StringList(value, key);
      if (!list.ok()) return list.error();
      (key == "allowed_ips" ? app.allowed_ips : app.callback_urls) = std::move(*list);
    } else if (key == "logout_url") {
      s = SetText(value, key, &app.logout_url);
    } else if (key == "push_url") {
      s = SetText(value, key, &app.push_url);
    } else if (key == "push_enabled") {
      s = SetBool(value, key, &app.push_enabled);
    } else if (key == "push_urls") {
      if (!value.IsObject()) return Error::InvalidArgument("push_urls 应为 {方法: URL} 对象");
      std::map<std::string, std::string> urls;
      for (const auto& p : value.members()) {
        if (!p.value.IsString()) return Error::InvalidArgument("push_urls 的值应为 URL 字符串");
        if (!p.value.AsString().empty()) urls[p.key] = p.value.AsString();
      }
      app.push_urls = std::move(urls);
    } else if (key == "push_password") {
      s = SetText(value, key, &app.push_password);
    } else if (key == "md5_login") {
      s = SetBool(value, key, &app.md5_login);
    } else if (key == "datatype") {
      s = SetText(value, key, &app.datatype);
    } else if (key == "proxy_right") {
      s = SetBool(value, key, &app.proxy_right);
    } else if (key == "enabled") {
      s = SetBool(value, key, &app.enabled);
    } else if (key == "directory_write") {
      s = SetBool(value, key, &app.directory_write);
    } else if (key == "org_scope") {
      s = SetText(value, key, &app.org_scope);
    } else if (key == "open_to_all") {
      s = SetBool(value, key, &app.open_to_all);
    } else if (key == "min_authlevel") {
      // 0 (none) .. 3; the directory checks the range.
      if (value.IsInteger()) {
        const int64_t level = value.AsInteger();
        app.min_authlevel = level < 0 || level > 3 ? -1 : static_cast<int>(level);
      } else if (value.IsString() && value.AsString().size() == 1 &&
                 value.AsString()[0] >= '0' && value.AsString()[0] <= '9') {
        app.min_authlevel = value.AsString()[0] - '0';
      } else {
        return Error::InvalidArgument("min_authlevel 应为 0-3 的整数");
      }
    } else if (key == "protocols") {
      if (!value.IsObject()) return Error::InvalidArgument("protocols 应为 {zj, cas, oidc} 对象");
      for (const auto& p : value.members()) {
        bool* flag = p.key == "zj"     ? &app.protocols.zj
                     : p.key == "cas"  ? &app.protocols.cas
                     : p.key == "oidc" ? &app.protocols.oidc
                                       : nullptr;
        if (flag == nullptr) return Error::InvalidArgument("未知的协议：" + p.key);
        TB_RETURN_IF_ERROR(SetBool(p.value, "protocols." + p.key, flag));
      }
    } else if (key == "created_ms" || key == "updated_ms") {
      continue;  // read-only: echoing a fetched App back is fine
    } else {
      return Error::InvalidArgument("未知字段：" + key);
    }
    TB_RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

}  // namespace tongban::console
