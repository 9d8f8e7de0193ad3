// Directory: access resources (apps) — settings, sealed secrets, the app
// snapshot cache, and the source-IP and callback-URL rules.
#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "codec/parse.h"
#include "codec/render.h"
#include "directory/codes.h"
#include "directory/directory.h"
#include "directory/impl.h"
#include "directory/validators.h"

namespace tongban::directory {

using internal::IsCleanText;

namespace {

Error Code(int code, std::string message) { return Error{code, std::move(message)}; }

constexpr const char* kAppColumns =
    "servicecode, name, orgcoding, servicepwd_sealed, password_key_sealed, signtype, "
    "allowed_ips, callback_urls, logout_url, push_url, push_enabled, datatype, proxy_right, "
    "enabled, protocol_zj, protocol_cas, protocol_oidc, directory_write, org_scope, open_to_all, "
    "created_ms, updated_ms, push_urls, push_password, md5_login, sign_mode, min_authlevel";

struct AppRow {
  App app;
  std::string sealed_pwd;
  std::string sealed_key;
  std::string signtype;
  std::string sign_mode;
  std::string allowed_ips;
  std::string callback_urls;
  int push_enabled = 0;
  int proxy_right = 0;
  int enabled = 0;
  int zj = 0;
  int cas = 0;
  int oidc = 0;
  int directory_write = 0;
  int open_to_all = 0;
  long long created_ms = 0;
  long long updated_ms = 0;
  std::string push_urls;
  int md5_login = 0;
};

void BindAppRow(soci::statement& st, AppRow& r) {
  st.exchange(soci::into(r.app.servicecode));
  st.exchange(soci::into(r.app.name));
  st.exchange(soci::into(r.app.orgcoding));
  st.exchange(soci::into(r.sealed_pwd));
  st.exchange(soci::into(r.sealed_key));
  st.exchange(soci::into(r.signtype));
  st.exchange(soci::into(r.allowed_ips));
  st.exchange(soci::into(r.callback_urls));
  st.exchange(soci::into(r.app.logout_url));
  st.exchange(soci::into(r.app.push_url));
  st.exchange(soci::into(r.push_enabled));
  st.exchange(soci::into(r.app.datatype));
  st.exchange(soci::into(r.proxy_right));
  st.exchange(soci::into(r.enabled));
  st.exchange(soci::into(r.zj));
  st.exchange(soci::into(r.cas));
  st.exchange(soci::into(r.oidc));
  st.exchange(soci::into(r.directory_write));
  st.exchange(soci::into(r.app.org_scope));
  st.exchange(soci::into(r.open_to_all));
  st.exchange(soci::into(r.created_ms));
  st.exchange(soci::into(r.updated_ms));
  st.exchange(soci::into(r.push_urls));
  st.exchange(soci::into(r.app.push_password));
  st.exchange(soci::into(r.md5_login));
  st.exchange(soci::into(r.sign_mode));
  st.exchange(soci::into(r.app.min_authlevel));
}

std::string ListToJson(const std::vector<std::string>& items) {
  codec::Value array = codec::Value::Array(items.size());
  for (const std::string& item : items) array.Push(item);
  return codec::RenderJson(array);
}

Result<std::vector<std::string>> ListFromJson(std::string_view text) {
  auto parsed = codec::ParseJson(text);
  if (!parsed.ok() || !parsed->IsArray()) return Error::Internal("directory: corrupt app list");
  std::vector<std::string> out;
  for (const codec::Value& v : parsed->items()) {
    if (!v.IsString()) return Error::Internal("directory: corrupt app list");
    out.push_back(v.AsString());
  }
  return out;
}

std::string MapToJson(const std::map<std::string, std::string>& map) {
  codec::Value object = codec::Value::Object(map.size());
  for (const auto& [key, value] : map) object.Set(key, value);
  return codec::RenderJson(object);
}

Result<std::map<std::string, std::string>> MapFromJson(std::string_view text) {
  auto parsed = codec::ParseJson(text);
  if (!parsed.ok() || !parsed->IsObject()) return Error::Internal("directory: corrupt app map");
  std::map<std::string, std::string> out;
  for (const codec::Member& m : parsed->members()) {
    if (!m.value.IsString()) return Error::Internal("directory: corrupt app map");
    out.emplace(m.key, m.value.AsString());
  }
  return out;
}

// The methods a push carries (sso/pusher.cc); "logout" has its own logout_url.
bool IsPushMethod(std::string_view method) {
  static constexpr std::string_view kMethods[] = {
      "synchronizeUser", "deleteUser",          "synchronizeOrg", "deleteOrg",
      "synchronizeRole", "deleteRole",          "synchronizePosition", "deletePosition",
      "synchronizeUserRole"};
  for (std::string_view m : kMethods) {
    if (m == method) return true;
  }
  return false;
}

Result<App> FinishApp(AppRow& r) {
  App app = std::move(r.app);
  auto signtype = crypto::ParseSignType(r.signtype);
  if (!signtype.ok()) return Error::Internal("directory: corrupt signtype of an app");
  app.signtype = *signtype;
  auto sign_mode = crypto::ParseSignMode(r.sign_mode);
  if (!sign_mode.ok()) return Error::Internal("directory: corrupt sign_mode of an app");
  app.sign_mode = *sign_mode;
  auto ips = ListFromJson(r.allowed_ips);
  if (!ips.ok()) return std::move(ips).error();
  app.allowed_ips = std::move(*ips);
  auto urls = ListFromJson(r.callback_urls);
  if (!urls.ok()) return std::move(urls).error();
  app.callback_urls = std::move(*urls);
  app.push_enabled = r.push_enabled != 0;
  app.proxy_right = r.proxy_right != 0;
  app.enabled = r.enabled != 0;
  app.protocols = Protocols{r.zj != 0, r.cas != 0, r.oidc != 0};
  app.directory_write = r.directory_write != 0;
  app.open_to_all = r.open_to_all != 0;
  app.created_ms = r.created_ms;
  app.updated_ms = r.updated_ms;
  auto push_urls = MapFromJson(r.push_urls);
  if (!push_urls.ok()) return std::move(push_urls).error();
  app.push_urls = std::move(*push_urls);
  app.md5_login = r.md5_login != 0;
  return app;
}

// An address or a CIDR block, as 16 bytes (IPv4 mapped into ::ffff:0:0/96).
struct Cidr {
  std::array<uint8_t, 16> bytes{};
  int prefix = 128;
};

bool ParseAddress(std::string_view text, std::array<uint8_t, 16>* out, bool* v4) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr a4;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &a4, 4);
    *v4 = true;
    return true;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    std::memcpy(out->data(), &a6, 16);
    *v4 = false;
    return true;
  }
  return false;
}

bool ParseCidr(std::string_view text, Cidr* out) {
  size_t slash = text.find('/');
  bool v4 = false;
  if (!ParseAddress(text.substr(0, slash), &out->bytes, &v4)) return false;
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    int64_t n = 0;
    if (!internal::ParseInt64(text.substr(slash + 1), &n) || n < 0 || n > max) return false;
    prefix = static_cast<int>(n);
  }
  out->prefix = v4 ? prefix + 96 : prefix;
  return true;
}

bool CidrContains(const Cidr& block, const std::array<uint8_t, 16>& addr) {
  int bits = block.prefix;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((block.bytes[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

bool IsHttpUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/' || !IsCleanText(url, 1024)) return false;
  return url.find_first_of(" \\") == std::string_view::npos;
}

}  // namespace

bool SourceIpAllowed(const App& app, std::string_view ip) {
  if (app.allowed_ips.empty()) return true;
  std::array<uint8_t, 16> addr{};
  bool v4 = false;
  if (!ParseAddress(ip, &addr, &v4)) return false;
  for (const std::string& entry : app.allowed_ips) {
    Cidr block;
    if (ParseCidr(entry, &block) && CidrContains(block, addr)) return true;
  }
  return false;
}

bool UrlUnderPrefix(std::string_view prefix, std::string_view url) {
  if (prefix.empty() || !url.starts_with(prefix)) return false;
  if (prefix.back() == '/' || url.size() == prefix.size()) return true;
  std::string_view rest = url.substr(prefix.size());
  if (rest.front() == ':') {
    // Only a port may follow: "http://host:8080/..." but not "http://host:x@evil/".
    size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 1) return false;
    rest.remove_prefix(digits);
    return rest.empty() || rest.front() == '/' || rest.front() == '?' || rest.front() == '#';
  }
  return rest.front() == '/' || rest.front() == '?' || rest.front() == '#';
}

bool CallbackAllowed(const App& app, std::string_view url) {
  if (!IsHttpUrl(url)) return false;
  for (const std::string& prefix : app.callback_urls) {
    if (UrlUnderPrefix(prefix, url)) return true;
  }
  return false;
}

// ---------------------------------------------------------------- helpers

std::string Directory::Impl::SecretContext(std::string_view kind, std::string_view servicecode) {
  return "tongban.directory." + std::string(kind) + ":" + std::string(servicecode);
}

Result<bool> Directory::KeyOpensAppSecrets(SqlStore& store, const crypto::SecretBox& box) {
  return store.WithSession([&](soci::session& sql) -> Result<bool> {
    std::string code, sealed;
    soci::statement st = (sql.prepare << "SELECT servicecode, servicepwd_sealed FROM dir_apps",
                          soci::into(code), soci::into(sealed));
    st.execute();
    while (st.fetch()) {
      if (!box.Open(sealed, Impl::SecretContext("servicepwd", code)).ok()) return false;
    }
    return true;
  });
}

std::string Directory::Impl::RandomText(Random& random, size_t length) {
  // No 0/O, 1/l/I: these are read off a screen and typed.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  out.reserve(length);
  while (out.size() < length) {
    uint8_t b = 0;
    random.Fill(std::span<uint8_t>(&b, 1));
    // Rejection sampling keeps the characters uniform.
    if (b >= 256 - 256 % kAlphabet.size()) continue;
    out += kAlphabet[b % kAlphabet.size()];
  }
  return out;
}

Status Directory::Impl::ValidateAppSettings(const App& app) {
  if (!app.servicecode.empty() && !internal::IsCode(app.servicecode, 64)) {
    return Error::InvalidArgument("servicecode allows 1..64 letters, digits, '_', '.', '-'");
  }
  if (app.name.empty() || !IsCleanText(app.name, 100)) {
    return Error::InvalidArgument("name must be 1..100 bytes of text");
  }
  if (!app.orgcoding.empty() && !IsValidOrgCoding(app.orgcoding)) {
    return Error::InvalidArgument("orgcoding is not a valid org code");
  }
  if (!app.org_scope.empty() && !IsValidOrgCoding(app.org_scope)) {
    return Error::InvalidArgument("org_scope is not a valid org code");
  }
  for (const std::string& ip : app.allowed_ips) {
    Cidr block;
    if (!ParseCidr(ip, &block)) {
      return Error::InvalidArgument("allowed_ips: not an address or CIDR block: " + ip);
    }
  }
  for (const std::string& url : app.callback_urls) {
    if (!IsHttpUrl(url)) {
      return Error::InvalidArgument("callback_urls: not an http(s) URL prefix: " + url);
    }
  }
  if (!app.logout_url.empty() && !IsHttpUrl(app.logout_url)) {
    return Error::InvalidArgument("logout_url is not an http(s) URL");
  }
  if (!app.push_url.empty() && !IsHttpUrl(app.push_url)) {
    return Error::InvalidArgument("push_url is not an http(s) URL");
  }
  if (app.push_enabled && app.push_url.empty()) {
    return Error::InvalidArgument("push_enabled needs a push_url");
  }
  if (app.min_authlevel < 0 || app.min_authlevel > 3) {
    return Error::InvalidArgument("min_authlevel must be 0..3");
  }

  for (const auto& [method, url] : app.push_urls) {
    if (!IsPushMethod(method)) {
      return Error::InvalidArgument("push_urls: not a pushed method: " + method);
    }
    if (!IsHttpUrl(url)) return Error::InvalidArgument("push_urls: not an http(s) URL: " + url);
  }
  if (app.push_password != kPushPasswordPlaceholder && app.push_password != kPushPasswordOmit) {
    return Error::InvalidArgument("push_password must be placeholder or omit");
  }
  if (app.datatype != "json" && app.datatype != "xml") {
    return Error::InvalidArgument("datatype must be json or xml");
  }
  return Status::Ok();
}

Result<std::optional<App>> Directory::Impl::QueryApp(soci::session& sql,
                                                     std::string_view servicecode,
                                                     std::string* sealed_pwd,
                                                     std::string* sealed_key) {
  AppRow row;
  std::string code(servicecode);
  soci::statement st(sql);
  BindAppRow(st, row);
  st.exchange(soci::use(code, "s"));
  st.alloc();
  st.prepare(std::string("SELECT ") + kAppColumns + " FROM dir_apps WHERE servicecode = :s");
  st.define_and_bind();
  if (!st.execute(true)) return std::optional<App>();
  if (sealed_pwd != nullptr) *sealed_pwd = row.sealed_pwd;
  if (sealed_key != nullptr) *sealed_key = row.sealed_key;
  auto app = FinishApp(row);
  if (!app.ok()) return std::move(app).error();
  return std::optional<App>(std::move(*app));
}

Result<std::vector<App>> Directory::Impl::QueryApps(soci::session& sql, std::string_view tail,
                                                    const Params& params) {
  AppRow row;
  soci::statement st(sql);
  BindAppRow(st, row);
  for (const auto& [n, v] : params) st.exchange(soci::use(v, n));
  st.alloc();
  st.prepare(std::string("SELECT ") + kAppColumns + " FROM dir_apps " + std::string(tail));
  st.define_and_bind();
  std::vector<App> out;
  if (st.execute(true)) {
    do {
      AppRow copy = row;
      auto app = FinishApp(copy);
      if (!app.ok()) return std::move(app).error();
      out.push_back(std::move(*app));
    } while (st.fetch());
  }
  return out;
}

Result<std::shared_ptr<const App>> Directory::Impl::LoadApp(Directory& d,
                                                            std::string_view servicecode) {
  uint64_t ticket = d.apps_.FillTicket(servicecode);
  std::string sealed_pwd;
  std::string sealed_key;
  auto app = d.store_.WithSession([&](soci::session& sql) -> Result<App> {
    auto found = QueryApp(sql, servicecode, &sealed_pwd, &sealed_key);
    if (!found.ok()) return std::move(found).error();
    if (!*found) return Code(code::kAppNotFound, "no such app");
    return std::move(**found);
  });
  if (!app.ok()) return std::move(app).error();
  auto pwd = d.box_.Open(sealed_pwd, SecretContext("servicepwd", servicecode));
  if (!pwd.ok()) {
    return Error::Internal("directory: an app's servicepwd does not open (wrong master key?)");
  }
  app->servicepwd = std::move(*pwd);
  if (!sealed_key.empty()) {
    auto key = d.box_.Open(sealed_key, SecretContext("password_key", servicecode));
    if (!key.ok()) {
      return Error::Internal("directory: an app's password key does not open (wrong master key?)");
    }
    app->password_key = std::move(*key);
  }
  auto snapshot = std::make_shared<const App>(std::move(*app));
  d.apps_.Insert(servicecode, snapshot, ticket);
  return std::shared_ptr<const App>(std::move(snapshot));
}

Result<CreatedApp> Directory::Impl::CreateAppInTx(Directory& d, soci::session& sql,
                                                  const App& settings) {
  TB_RETURN_IF_ERROR(ValidateAppSettings(settings));
  App app = settings;
  app.servicepwd.clear();
  app.password_key.clear();
  if (app.servicecode.empty()) app.servicecode = "app" + d.random_.Hex(6);
  if (Count(sql, "SELECT COUNT(*) FROM dir_apps WHERE servicecode = :s", {{"s", app.servicecode}}) >
      0) {
    return Error::AlreadyExists("an app with this servicecode exists");
  }
  if (!app.orgcoding.empty() && !QueryOrg(sql, app.orgcoding)) {
    return Error::InvalidArgument("orgcoding: no such org");
  }
  std::string secret = d.random_.Hex(16);
  auto sealed = d.box_.Seal(secret, SecretContext("servicepwd", app.servicecode));
  if (!sealed.ok()) return std::move(sealed).error();
  app.created_ms = app.updated_ms = d.clock_.NowMillis();
  std::string signtype(crypto::SignTypeName(app.signtype));
  std::string sign_mode(crypto::SignModeName(app.sign_mode));
  std::string ips = ListToJson(app.allowed_ips);
  std::string urls = ListToJson(app.callback_urls);
  int push_enabled = app.push_enabled, proxy_right = app.proxy_right, enabled = app.enabled;
  int zj = app.protocols.zj, cas = app.protocols.cas, oidc = app.protocols.oidc;
  int directory_write = app.directory_write, open_to_all = app.open_to_all;
  int md5_login = app.md5_login;
  std::string push_urls = MapToJson(app.push_urls);
  long long created = app.created_ms;
  sql << "INSERT INTO dir_apps (servicecode, name, orgcoding, servicepwd_sealed, signtype, "
         "allowed_ips, callback_urls, logout_url, push_url, push_enabled, datatype, proxy_right, "
         "enabled, protocol_zj, protocol_cas, protocol_oidc, directory_write, org_scope, "
         "open_to_all, created_ms, updated_ms, push_urls, push_password, md5_login, sign_mode) "
         "VALUES (:sc, :name, :org, :pwd, :st, :ips, :urls, :logout, :push, :pe, :dt, :pr, :en, "
         ":zj, :cas, :oidc, :dw, :scope, :open, :c, :u, :pus, :ppw, :md5, :sm)",
      soci::use(app.servicecode, "sc"), soci::use(app.name, "name"),
      soci::use(app.orgcoding, "org"), soci::use(*sealed, "pwd"), soci::use(signtype, "st"),
      soci::use(ips, "ips"), soci::use(urls, "urls"), soci::use(app.logout_url, "logout"),
      soci::use(app.push_url, "push"), soci::use(push_enabled, "pe"), soci::use(app.datatype, "dt"),
      soci::use(proxy_right, "pr"), soci::use(enabled, "en"), soci::use(zj, "zj"),
      soci::use(cas, "cas"), soci::use(oidc, "oidc"), soci::use(directory_write, "dw"),
      soci::use(app.org_scope, "scope"), soci::use(open_to_all, "open"), soci::use(created, "c"),
      soci::use(created, "u"), soci::use(push_urls, "pus"), soci::use(app.push_password, "ppw"),
      soci::use(md5_login, "md5"), soci::use(sign_mode, "sm");
  // Issue 20's column, in a statement of its own (migration "sso_citizen").
  sql << "UPDATE dir_apps SET min_authlevel = :l WHERE servicecode = :sc",
      soci::use(app.min_authlevel, "l"), soci::use(app.servicecode, "sc");
  return CreatedApp{std::move(app), std::move(secret)};
}

// ---------------------------------------------------------------- public

Result<CreatedApp> Directory::CreateApp(const App& settings) {
  return store_.WithTransaction(
      [&](soci::session& sql) { return Impl::CreateAppInTx(*this, sql, settings); });
}

Result<std::string> Directory::Impl::ReplaceSealedSecret(Directory& d,
                                                        std::string_view servicecode,
                                                        std::string_view kind,
                                                        std::string secret) {
  std::string code(servicecode);
  auto sealed = d.box_.Seal(secret, SecretContext(kind, code));
  if (!sealed.ok()) return std::move(sealed).error();
  long long now = d.clock_.NowMillis();
  // `kind` is one of two literals of ours, never caller input.
  std::string sql_text = "UPDATE dir_apps SET " + std::string(kind) +
                         "_sealed = :p, updated_ms = :t WHERE servicecode = :s";
  Status st = d.store_.WithTransaction([&](soci::session& sql) -> Status {
    soci::statement update = (sql.prepare << sql_text, soci::use(*sealed, "p"),
                              soci::use(now, "t"), soci::use(code, "s"));
    update.execute(true);
    if (update.get_affected_rows() == 0) return Code(code::kAppNotFound, "no such app");
    return Status::Ok();
  });
  d.Changed('a', code);
  if (!st.ok()) return std::move(st).error();
  return secret;
}

Result<std::string> Directory::RotateSecret(std::string_view servicecode) {
  return Impl::ReplaceSealedSecret(*this, servicecode, "servicepwd", random_.Hex(16));
}

Result<std::string> Directory::RotatePasswordKey(std::string_view servicecode) {
  return Impl::ReplaceSealedSecret(*this, servicecode, "password_key",
                                   Impl::RandomText(random_, 24));
}

Result<App> Directory::GetApp(std::string_view servicecode) {
  return store_.WithSession([&](soci::session& sql) -> Result<App> {
    auto app = Impl::QueryApp(sql, servicecode, nullptr, nullptr);
    if (!app.ok()) return std::move(app).error();
    if (!*app) return Code(code::kAppNotFound, "no such app");
    return std::move(**app);
  });
}

Result<std::vector<App>> Directory::ListApps() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<App>> {
    return Impl::QueryApps(sql, "ORDER BY servicecode", {});
  });
}

Result<App> Directory::UpdateApp(const App& settings) {
  if (settings.servicecode.empty()) return Code(code::kAppNotFound, "no such app");
  TB_RETURN_IF_ERROR(Impl::ValidateAppSettings(settings));
  Result<App> updated = store_.WithTransaction([&](soci::session& sql) -> Result<App> {
    auto found = Impl::QueryApp(sql, settings.servicecode, nullptr, nullptr);
    if (!found.ok()) return std::move(found).error();
    if (!*found) return Code(code::kAppNotFound, "no such app");
    const App& current = **found;
    if (!settings.orgcoding.empty() && !Impl::QueryOrg(sql, settings.orgcoding)) {
      return Error::InvalidArgument("orgcoding: no such org");
    }
    App app = settings;
    app.servicepwd.clear();
    app.password_key.clear();
    app.created_ms = current.created_ms;
    app.updated_ms = clock_.NowMillis();
    std::string signtype(crypto::SignTypeName(app.signtype));
    std::string sign_mode(crypto::SignModeName(app.sign_mode));
    std::string ips = ListToJson(app.allowed_ips);
    std::string urls = ListToJson(app.callback_urls);
    int push_enabled = app.push_enabled, proxy_right = app.proxy_right, enabled = app.enabled;
    int zj = app.protocols.zj, cas = app.protocols.cas, oidc = app.protocols.oidc;
    int directory_write = app.directory_write, open_to_all = app.open_to_all;
    int md5_login = app.md5_login;
    std::string push_urls = MapToJson(app.push_urls);
    long long updated_ms = app.updated_ms;
    sql << "UPDATE dir_apps SET name = :name, orgcoding = :org, signtype = :st, "
           "allowed_ips = :ips, callback_urls = :urls, logout_url = :logout, push_url = :push, "
           "push_enabled = :pe, datatype = :dt, proxy_right = :pr, enabled = :en, "
           "protocol_zj = :zj, protocol_cas = :cas, protocol_oidc = :oidc, "
           "directory_write = :dw, org_scope = :scope, open_to_all = :open, updated_ms = :u, "
           "push_urls = :pus, push_password = :ppw, md5_login = :md5, sign_mode = :sm "
           "WHERE servicecode = :sc",
        soci::use(app.name, "name"), soci::use(app.orgcoding, "org"), soci::use(signtype, "st"),
        soci::use(ips, "ips"), soci::use(urls, "urls"), soci::use(app.logout_url, "logout"),
        soci::use(app.push_url, "push"), soci::use(push_enabled, "pe"),
        soci::use(app.datatype, "dt"), soci::use(proxy_right, "pr"), soci::use(enabled, "en"),
        soci::use(zj, "zj"), soci::use(cas, "cas"), soci::use(oidc, "oidc"),
        soci::use(directory_write, "dw"), soci::use(app.org_scope, "scope"),
        soci::use(open_to_all, "open"), soci::use(updated_ms, "u"),
        soci::use(push_urls, "pus"), soci::use(app.push_password, "ppw"),
        soci::use(md5_login, "md5"), soci::use(sign_mode, "sm"), soci::use(app.servicecode, "sc");
    // Issue 20's column, in a statement of its own (migration "sso_citizen").
    sql << "UPDATE dir_apps SET min_authlevel = :l WHERE servicecode = :sc",
        soci::use(app.min_authlevel, "l"), soci::use(app.servicecode, "sc");
    return app;
  });
  Changed('a', settings.servicecode);
  return updated;
}

Status Directory::SetAppEnabled(std::string_view servicecode, bool enabled) {
  std::string code(servicecode);
  int value = enabled ? 1 : 0;
  long long now = clock_.NowMillis();
  Status st = store_.WithTransaction([&](soci::session& sql) -> Status {
    soci::statement update =
        (sql.prepare << "UPDATE dir_apps SET enabled = :e, updated_ms = :t WHERE servicecode = :s",
         soci::use(value, "e"), soci::use(now, "t"), soci::use(code, "s"));
    update.execute(true);
    if (update.get_affected_rows() == 0) return Code(code::kAppNotFound, "no such app");
    return Status::Ok();
  });
  Changed('a', code);
  return st;
}

Result<std::shared_ptr<const App>> Directory::CachedApp(std::string_view servicecode,
                                                        Lookup lookup) {
  if (servicecode.empty() || servicecode.size() > 64) {
    return Code(code::kAppNotFound, "no such app");
  }
  if (auto hit = apps_.Find(servicecode)) return hit;
  if (lookup == Lookup::kMemoryOnly) return Error{kNotCached, "app not cached"};
  return Impl::LoadApp(*this, servicecode);
}

Result<std::string> Directory::AppSecret(std::string_view servicecode) {
  auto app = CachedApp(servicecode);
  if (!app.ok()) return std::move(app).error();
  return (*app)->servicepwd;
}

}  // namespace tongban::directory
