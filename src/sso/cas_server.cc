#include "sso/cas_server.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <set>
#include <vector>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"
#include "directory/directory.h"
#include "http/client.h"
#include "http/url.h"
#include "sso/cas_protocol.h"
#include "sso/citizen.h"
#include "sso/off_io.h"
#include "sso/packed_record.h"
#include "sso/second_factors.h"

namespace tongban::sso {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kTicketPrefix = "cas:t:";         // ST and PT records
constexpr std::string_view kPgtPrefix = "cas:pgt:";          // proxy-granting tickets
constexpr std::string_view kSessionPrefix = "cas:session:";  // set: what a session issued
constexpr std::string_view kPendingPrefix = "cas:pending:";  // a login waiting for the login page
constexpr std::string_view kLogoutPrefix = "cas:logout:";    // where to go after logout
constexpr milliseconds kPendingTtl{600'000};
// A reloaded service directory is trusted at least this long, so unknown
// service URLs cannot make every request reload it.
constexpr milliseconds kMinReload{1'000};

bool Flag(std::string_view value) { return !value.empty() && value != "false"; }

std::string Str(const codec::Value& v, std::string_view key) {
  const std::string* s = v.FindString(key);
  return s ? *s : std::string();
}

std::vector<std::string> Strings(const codec::Value& v, std::string_view key) {
  std::vector<std::string> out;
  if (const codec::Value* list = v.Find(key); list && list->IsArray()) {
    for (const codec::Value& item : list->items()) {
      if (item.IsString()) out.push_back(item.AsString());
    }
  }
  return out;
}

bool LoopbackHost(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return false;
  std::string_view rest = url.substr(start + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view host = authority;
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

// A ticket record: what an ST or PT stands for.
struct TicketRecord {
  std::string kind;  // "ST" or "PT"
  std::string service;
  std::string app;
  std::string userid;
  std::string session_id;
  std::string public_id;
  bool from_new_login = false;
  int64_t auth_time_ms = 0;
  std::vector<std::string> proxies;
  std::vector<std::string> roles;

  // A packed record (sso/packed_record.h): every validation decodes one, and
  // JSON parsing was a sixth of serviceValidate's time. A record that starts
  // with '{' is the JSON of earlier versions, still read so that tickets
  // issued before an upgrade (at most cas.ticket_ttl_s old) stay valid.
  std::string Encode() const {
    return Pack({kRecordVersion, kind, service, app, userid, session_id, public_id,
                 from_new_login ? "1" : "0", std::to_string(auth_time_ms), PackList(proxies),
                 PackList(roles)});
  }

  static Result<TicketRecord> Decode(std::string_view record) {
    if (record.starts_with('{')) return DecodeJson(record);
    auto f = SplitRecord<11>(record);
    if (!f || (*f)[0] != kRecordVersion) return Error::Internal("corrupt CAS ticket record");
    TicketRecord r;
    r.kind = Unescape((*f)[1]);
    r.service = Unescape((*f)[2]);
    r.app = Unescape((*f)[3]);
    r.userid = Unescape((*f)[4]);
    r.session_id = Unescape((*f)[5]);
    r.public_id = Unescape((*f)[6]);
    r.from_new_login = (*f)[7] == "1";
    if (!ParseIntField((*f)[8], &r.auth_time_ms)) {
      return Error::Internal("corrupt CAS ticket record");
    }
    r.proxies = UnpackList(Unescape((*f)[9]));
    r.roles = UnpackList(Unescape((*f)[10]));
    return r;
  }

 private:
  static constexpr std::string_view kRecordVersion = "c1";

  static Result<TicketRecord> DecodeJson(std::string_view json) {
    auto v = codec::ParseJson(json);
    if (!v.ok() || !v->IsObject()) return Error::Internal("corrupt CAS ticket record");
    TicketRecord r;
    r.kind = Str(*v, "k");
    r.service = Str(*v, "svc");
    r.app = Str(*v, "app");
    r.userid = Str(*v, "u");
    r.session_id = Str(*v, "sid");
    r.public_id = Str(*v, "pid");
    const codec::Value* fresh = v->Find("new");
    r.from_new_login = fresh && fresh->IsBool() && fresh->AsBool();
    const codec::Value* at = v->Find("at");
    r.auth_time_ms = at && at->IsInteger() ? at->AsInteger() : 0;
    r.proxies = Strings(*v, "px");
    r.roles = Strings(*v, "roles");
    return r;
  }
};

cas::Format FormatOf(const http::Request& request) {
  std::string_view f = request.ParamOr("format");
  return (f == "JSON" || f == "json" || f == "Json") ? cas::Format::kJson : cas::Format::kXml;
}

void SendCas(http::Response& response, cas::Format format, std::string body) {
  response.set_status(200);
  response.set_content_type(format == cas::Format::kJson ? http::kJsonType : http::kXmlType);
  response.AddHeader("Cache-Control", "no-store");
  response.set_body(std::move(body));
}

}  // namespace

bool HttpProxyCallback::Deliver(std::string_view pgt_url, std::string_view pgt_id,
                                std::string_view pgt_iou) {
  if (!pgt_url.starts_with("https://") && !pgt_url.starts_with("http://")) {
    spdlog::warn("cas: proxy callback URL is neither https nor http; no PGT issued");
    return false;
  }
  std::string url = http::AppendQuery(pgt_url, "pgtId", pgt_id);
  url = http::AppendQuery(url, "pgtIou", pgt_iou);
  auto reply = http::Client(client_options_).Get(url, timeout_);
  if (!reply.ok()) {
    spdlog::warn("cas: proxy callback failed: {}", reply.error().message);
    return false;
  }
  return reply->status == 200;
}

struct CasServer::Impl {
  Impl(SsoContext& c, BrowserSessions& s, BackChannel& b, ProxyCallback& p, CasSettings o)
      : context(c), sessions(s), back_channel(b), proxy_callback(p), settings(o) {}

  SsoContext& context;
  BrowserSessions& sessions;
  BackChannel& back_channel;
  ProxyCallback& proxy_callback;
  CasSettings settings;

  struct ServiceIndex {
    int64_t loaded_ms = 0;
    std::vector<directory::App> apps;  // CAS apps, without secrets
    // apps[i].callback_urls in the normal form services are compared in
    // (CallbackMatch), so a lookup normalises only the service.
    std::vector<std::vector<std::string>> normal_callbacks;
  };
  std::mutex index_mu;
  std::shared_ptr<const ServiceIndex> index;

  std::string Base() const { return context.settings.context_path + "/cas"; }
  milliseconds TicketTtl() const {
    return std::chrono::duration_cast<milliseconds>(settings.ticket_ttl);
  }

  // ---- which app a service URL belongs to ----

  std::shared_ptr<const ServiceIndex> Index(bool reload_if_old) {
    const int64_t now = context.clock.NowMillis();
    std::lock_guard<std::mutex> lock(index_mu);
    const int64_t max_age =
        reload_if_old
            ? kMinReload.count()
            : std::chrono::duration_cast<milliseconds>(settings.service_cache_ttl).count();
    if (index && now - index->loaded_ms < max_age) return index;
    auto apps = context.directory.ListApps();
    if (!apps.ok()) {
      spdlog::error("cas: service directory not loaded: {}", apps.error().message);
      return index;
    }
    auto fresh = std::make_shared<ServiceIndex>();
    fresh->loaded_ms = now;
    for (directory::App& app : *apps) {
      if (!app.protocols.cas) continue;
      std::vector<std::string> normal;
      for (const std::string& callback : app.callback_urls) {
        if (auto n = http::NormaliseHttpUrl(callback); n.ok()) normal.push_back(std::move(*n));
      }
      fresh->normal_callbacks.push_back(std::move(normal));
      fresh->apps.push_back(std::move(app));
    }
    index = fresh;
    return index;
  }

  static const directory::App* Match(const ServiceIndex& index, std::string_view service) {
    const directory::App* best = nullptr;
    size_t best_len = 0;
    // As RedirectAllowed, in normal form: "/cb/.%2e/other" lies outside "/cb/".
    if (service.size() > 2048 || service.find('#') != std::string_view::npos) return nullptr;
    const std::string normal = CallbackForm(service);
    if (normal.empty()) return nullptr;
    for (size_t i = 0; i < index.apps.size(); ++i) {
      for (const std::string& prefix : index.normal_callbacks[i]) {
        if (prefix.size() > best_len && directory::UrlUnderPrefix(prefix, normal)) {
          best = &index.apps[i];
          best_len = prefix.size();
        }
      }
    }
    return best;
  }

  // The enabled CAS app that registered `service`, with its secrets.
  std::shared_ptr<const directory::App> FindService(std::string_view service) {
    if (service.empty()) return nullptr;
    std::shared_ptr<const ServiceIndex> snapshot = Index(false);
    const directory::App* app = snapshot ? Match(*snapshot, service) : nullptr;
    if (app == nullptr) {
      snapshot = Index(true);
      app = snapshot ? Match(*snapshot, service) : nullptr;
    }
    if (app == nullptr) return nullptr;
    auto cached = context.directory.CachedApp(app->servicecode);
    if (!cached.ok() || !(*cached)->enabled || !(*cached)->protocols.cas) return nullptr;
    return std::move(*cached);
  }

  // ---- issuing tickets ----

  // The user's roles in the app, or nullopt when the user may not use it.
  std::optional<std::vector<std::string>> RolesIfAllowed(const directory::App& app,
                                                         std::string_view userid, bool* failed) {
    auto roles = context.directory.UserRoles(userid, app.servicecode);
    if (!roles.ok()) {
      *failed = true;
      return std::nullopt;
    }
    if (roles->empty() && !app.open_to_all) return std::nullopt;
    std::vector<std::string> codes;
    for (const directory::Role& r : *roles) codes.push_back(r.rolecode);
    return codes;
  }

  Result<std::string> StoreTicket(const TicketRecord& record) {
    std::string ticket = record.kind + "-" + context.random.Hex(20);
    if (record.session_id.empty()) {
      TB_RETURN_IF_ERROR(
          context.tickets.Put(SecretKey(kTicketPrefix, ticket), record.Encode(), TicketTtl()));
      return ticket;
    }
    // The ticket and its session's list of tickets: one store call.
    codec::Value member = codec::Value::Object(3);
    member.Set("svc", record.service).Set("st", ticket).Set("app", record.app);
    TB_RETURN_IF_ERROR(context.tickets.PutAndAddToSet(
        SecretKey(kTicketPrefix, ticket), record.Encode(), TicketTtl(),
        SecretKey(kSessionPrefix, record.session_id), codec::RenderJson(member),
        std::chrono::duration_cast<milliseconds>(context.settings.session_ttl)));
    return ticket;
  }

  // As StoreTicket, without waiting on the store: `done` gets the ticket
  // (or the error) once, on whichever thread the store answers on.
  void StoreTicketAsync(const TicketRecord& record,
                        std::function<void(Result<std::string>)> done) {
    if (record.session_id.empty()) return done(StoreTicket(record));
    std::string ticket = record.kind + "-" + context.random.Hex(20);
    codec::Value member = codec::Value::Object(3);
    member.Set("svc", record.service).Set("st", ticket).Set("app", record.app);
    context.tickets.PutAndAddToSetAsync(
        SecretKey(kTicketPrefix, ticket), record.Encode(), TicketTtl(),
        SecretKey(kSessionPrefix, record.session_id), codec::RenderJson(member),
        std::chrono::duration_cast<milliseconds>(context.settings.session_ttl),
        [ticket, done = std::move(done)](Status stored) mutable {
          if (!stored.ok()) return done(std::move(stored).error());
          done(std::move(ticket));
        });
  }

  // The redirect back to the app with its new ticket, or the error page.
  static void TicketIssued(http::Response& response, std::string_view service,
                           const Result<std::string>& ticket) {
    if (!ticket.ok()) {
      spdlog::error("cas: ticket not stored: {}", ticket.error().message);
      return SetHtmlPage(response, 503, "服务暂不可用", "请稍后再试。");
    }
    response.Redirect(http::AppendQuery(service, "ticket", *ticket), 302);
    response.AddHeader("Cache-Control", "no-store");
  }

  // `async_store`: the response is suspended while the ticket is stored
  // (this thread does not wait on the store), and finished on its I/O thread.
  void IssueServiceTicket(http::Response& response, const directory::App& app,
                          std::string_view service, const BrowserLogin& login,
                          bool from_new_login, bool async_store = false) {
    auto user = context.directory.CachedUser(login.userid);
    if (!user.ok() || !(*user)->active()) {
      SetHtmlPage(response, 403, "无法登录", "账号不可用（已锁定或停用）。");
      return;
    }
    if (std::string shortfall = AuthLevelShortfall(**user, app); !shortfall.empty()) {
      return SetHtmlPage(response, 403, "实名等级不足", shortfall);
    }
    bool failed = false;
    auto roles = RolesIfAllowed(app, login.userid, &failed);
    if (failed) return SetHtmlPage(response, 503, "服务暂不可用", "请稍后再试。");
    if (!roles) {
      std::string text("您没有访问「");
      text.append(app.name.empty() ? app.servicecode : app.name).append("」的权限。");
      return SetHtmlPage(response, 403, "无访问权限", text);
    }
    TicketRecord record;
    record.kind = "ST";
    record.service = std::string(service);
    record.app = app.servicecode;
    record.userid = login.userid;
    record.session_id = login.session_id;
    record.public_id = login.public_id;
    record.from_new_login = from_new_login;
    record.auth_time_ms = login.auth_time_ms;
    record.roles = std::move(*roles);
    if (!async_store) return TicketIssued(response, service, StoreTicket(record));
    http::Resumer resume = response.Suspend();
    StoreTicketAsync(record, [resume, service](Result<std::string> ticket) {
      resume([service, ticket = std::move(ticket)](http::Response& r) {
        TicketIssued(r, service, ticket);
      });
    });
  }

  // The app's policy asks for a second factor (false when the node has none).
  Result<bool> AppWantsSecondFactor(const directory::App& app) {
    if (context.second_factors == nullptr) return false;
    return context.second_factors->AppRequires(app.servicecode);
  }

  // ---- /login ----

  // Without a service: to the portal's login (nothing read or stored).
  bool ToPortal(const http::Request& request, http::Response& response) {
    if (!request.ParamOr("service").empty()) return false;
    std::string portal = context.settings.context_path + "/usp.do?action=ssoLogin";
    response.Redirect(portal, 302);
    return true;
  }

  // The service's app, or nullptr with the error page set.
  std::shared_ptr<const directory::App> ServiceOrRefuse(std::string_view service,
                                                        http::Response& response) {
    auto app = FindService(service);
    if (!app) {
      SetHtmlPage(response, 400, "未登记的服务",
                  "该 service 地址不属于任何启用了 CAS 的应用，为防止开放重定向，登录已中止。");
    }
    return app;
  }

  void Login(const http::Request& request, http::Response& response) {
    if (ToPortal(request, response)) return;
    auto app = ServiceOrRefuse(request.ParamOr("service"), response);
    if (!app) return;
    LoginAs(request, response, *app, sessions.Current(request), /*async_store=*/false);
  }

  // /login with the tickets in Redis: nothing waits on the network. The
  // session is resumed on the I/O thread's own connection (round trip 1);
  // the rest — the service's app, the app's second-factor rule and the
  // user's roles, which may need SQL — runs on the blocking pool, whose
  // thread hands the ticket to the store (round trip 2) and returns; the
  // redirect is sent from the I/O thread when Redis answers. Unlike Login,
  // the session is resumed (its lifetime restarted) before the service is
  // checked: a request for an unknown service still answers 400.
  void LoginRemote(const http::Request& request, http::Response& response) {
    if (ToPortal(request, response)) return;
    http::Resumer resume = response.Suspend();
    sessions.CurrentAsync(request, [this, &request, resume](std::optional<BrowserLogin> login) {
      resume([this, &request, login = std::move(login)](http::Response& r) mutable {
        r.Defer([this, &request, login = std::move(login)](http::Response& pooled) {
          auto app = ServiceOrRefuse(request.ParamOr("service"), pooled);
          if (!app) return;
          LoginAs(request, pooled, *app, login, /*async_store=*/true);
        });
      });
    });
  }

  // The rest of /login once the request's session (if any) is known.
  void LoginAs(const http::Request& request, http::Response& response,
               const directory::App& app, const std::optional<BrowserLogin>& login,
               bool async_store) {
    std::string_view service = request.ParamOr("service");
    const bool renew = Flag(request.ParamOr("renew"));
    const bool gateway = !renew && Flag(request.ParamOr("gateway"));
    auto mfa = AppWantsSecondFactor(app);
    if (!mfa.ok()) return SetHtmlPage(response, 503, "服务暂不可用", "请稍后再试。");
    // Step-up: a session without a second factor logs in again with one.
    const bool step_up = *mfa && login && !login->HasSecondFactor();
    if (login && !renew && !step_up) {
      return IssueServiceTicket(response, app, service, *login, false, async_store);
    }
    if (gateway) {
      response.Redirect(service, 302);
      return;
    }
    const int64_t now = context.clock.NowMillis();
    codec::Value pending = codec::Value::Object(3);
    pending.Set("svc", service).Set("renew", renew || step_up).Set("t", now);
    std::string id = context.random.Hex(16);
    std::string key(kPendingPrefix);
    key.append(id);
    if (!context.tickets.Put(key, codec::RenderJson(pending), kPendingTtl).ok()) {
      return SetHtmlPage(response, 503, "服务暂不可用", "请稍后再试。");
    }
    std::string back = PublicBase(context.settings, request) + Base() + "/login/resume";
    back = http::AppendQuery(back, "id", id);
    std::string login_url = sessions.LoginUrl(request, back, (renew || step_up) && login.has_value());
    if (*mfa) login_url = http::AppendQuery(login_url, "mfa", "1");
    response.Redirect(login_url, 302);
    response.AddHeader("Cache-Control", "no-store");
  }

  void Resume(const http::Request& request, http::Response& response) {
    std::string key(kPendingPrefix);
    key.append(request.ParamOr("id"));
    auto pending = request.ParamOr("id").empty() ? Result<std::string>(Error::NotFound(""))
                                                 : context.tickets.Redeem(key);
    auto v = pending.ok() ? codec::ParseJson(*pending) : Result<codec::Value>(pending.error());
    if (!v.ok() || !v->IsObject()) {
      return SetHtmlPage(response, 400, "登录已过期", "这次登录请求已失效，请回到应用重新登录。");
    }
    std::string service = Str(*v, "svc");
    const codec::Value* renew = v->Find("renew");
    const codec::Value* at = v->Find("t");
    const int64_t requested_ms = at && at->IsInteger() ? at->AsInteger() : 0;
    std::optional<BrowserLogin> login = sessions.Current(request);
    const bool fresh = login && login->auth_time_ms >= requested_ms;
    if (!login || (renew && renew->IsBool() && renew->AsBool() && !fresh)) {
      return SetHtmlPage(response, 401, "未登录", "登录未完成，请回到应用重新登录。");
    }
    auto app = FindService(service);
    if (!app) return SetHtmlPage(response, 400, "未登记的服务", "该应用已不再使用 CAS。");
    auto mfa = AppWantsSecondFactor(*app);
    if (!mfa.ok()) return SetHtmlPage(response, 503, "服务暂不可用", "请稍后再试。");
    if (*mfa && !login->HasSecondFactor()) {
      return SetHtmlPage(response, 401, "未完成双因素认证",
                         "该应用要求双因素认证，登录未完成，请回到应用重新登录。");
    }
    IssueServiceTicket(response, *app, service, *login, fresh);
  }

  // ---- validation ----

  enum class Endpoint { kValidate, kServiceValidate, kProxyValidate };

  void Validate(const http::Request& request, http::Response& response, Endpoint endpoint) {
    const cas::Format format = FormatOf(request);
    std::string_view service = request.ParamOr("service");
    std::string_view ticket = request.ParamOr("ticket");
    std::string_view pgt_url = request.ParamOr("pgtUrl");
    auto fail = [&](std::string_view code, std::string_view description) {
      if (endpoint == Endpoint::kValidate) {
        response.SetText(200, cas::RenderValidate(false, ""));
        response.AddHeader("Cache-Control", "no-store");
        return;
      }
      SendCas(response, format, cas::RenderFailure(code, description, format));
    };
    if (service.empty() || ticket.empty()) {
      return fail(cas::kInvalidRequest, "service and ticket are required");
    }
    if (ticket.size() > 256) return fail(cas::kInvalidTicket, "ticket not recognized");
    // Single use whatever the outcome (CAS 3.0 §2.5.1, §3.1.1).
    const std::string key = SecretKey(kTicketPrefix, ticket);
    if (!pgt_url.empty()) {
      // The PGT callback is an outbound HTTPS call (up to
      // proxy_callback_timeout_s): the blocking pool, whatever the store — on
      // an I/O thread a slow callback host stalled every connection of that
      // thread (review12c).
      response.Defer([this, &request, endpoint, key](http::Response& r) {
        Validated(request, r, endpoint, context.tickets.Redeem(key));
      });
      return;
    }
    if (context.tickets.Remote()) {
      // One GETDEL on the store's pipeline; this I/O thread serves others meanwhile.
      http::Resumer resume = response.Suspend();
      context.tickets.RedeemAsync(key, [this, resume, &request,
                                        endpoint](Result<std::string> stored) {
        resume([this, &request, endpoint, stored = std::move(stored)](http::Response& r) mutable {
          if (!DirectoryInMemory(stored)) {
            // A directory cache miss: its SQL runs on the blocking pool, never here.
            return r.Defer([this, &request, endpoint, stored = std::move(stored)](
                               http::Response& pooled) mutable {
              Validated(request, pooled, endpoint, std::move(stored));
            });
          }
          Validated(request, r, endpoint, std::move(stored));
        });
      });
      return;
    }
    Validated(request, response, endpoint, context.tickets.Redeem(key));
  }

  // Whether Validated can read what it needs of the directory (the ticket's
  // app and user) from memory, i.e. may run on an I/O thread.
  bool DirectoryInMemory(const Result<std::string>& stored) {
    if (!stored.ok()) return true;
    auto record = TicketRecord::Decode(*stored);
    if (!record.ok()) return true;
    auto not_cached = [](const auto& found) {
      return !found.ok() && found.error().code == directory::kNotCached;
    };
    return !not_cached(context.directory.CachedApp(record->app, directory::Lookup::kMemoryOnly)) &&
           !not_cached(context.directory.CachedUser(record->userid, directory::Lookup::kMemoryOnly));
  }

  // The rest of Validate once the ticket has been redeemed (or not).
  void Validated(const http::Request& request, http::Response& response, Endpoint endpoint,
                 Result<std::string> stored) {
    const cas::Format format = FormatOf(request);
    std::string_view service = request.ParamOr("service");
    std::string_view ticket = request.ParamOr("ticket");
    std::string_view pgt_url = request.ParamOr("pgtUrl");
    const bool renew = Flag(request.ParamOr("renew"));
    auto fail = [&](std::string_view code, std::string_view description) {
      if (endpoint == Endpoint::kValidate) {
        response.SetText(200, cas::RenderValidate(false, ""));
        response.AddHeader("Cache-Control", "no-store");
        return;
      }
      SendCas(response, format, cas::RenderFailure(code, description, format));
    };
    if (!stored.ok()) {
      if (stored.error().code != errc::kNotFound) {
        spdlog::error("cas: ticket lookup failed: {}", stored.error().message);
        return fail(cas::kInternalError, "ticket store unavailable");
      }
      std::string text = "Ticket '";
      text.append(ticket).append("' not recognized");
      return fail(cas::kInvalidTicket, text);
    }
    auto record = TicketRecord::Decode(*stored);
    if (!record.ok()) return fail(cas::kInternalError, "corrupt ticket");
    if (record->kind != "ST" && endpoint != Endpoint::kProxyValidate) {
      return fail(cas::kInvalidTicketSpec, "a proxy ticket must be validated at proxyValidate");
    }
    if (record->service != service) {
      return fail(cas::kInvalidService, "the ticket was issued for another service");
    }
    if (renew && !record->from_new_login) {
      return fail(cas::kInvalidTicketSpec, "renew requested but the ticket is from an SSO session");
    }
    auto app = context.directory.CachedApp(record->app);
    if (!app.ok() || !(*app)->enabled || !(*app)->protocols.cas) {
      return fail(cas::kInvalidService, "the service is no longer enabled for CAS");
    }
    auto user = context.directory.CachedUser(record->userid);
    if (!user.ok() || !(*user)->active()) {
      return fail(cas::kInvalidTicket, "the account is no longer active");
    }
    // Raised since the ticket was issued (or a proxy ticket of an older build).
    if (!AuthLevelShortfall(**user, **app).empty()) {
      return fail(cas::kInvalidTicket, "the account's real-name level is below the service's");
    }
    if (context.activity != nullptr) context.activity->CountValidation(context.clock.NowMillis());
    if (endpoint == Endpoint::kValidate) {
      response.SetText(200, cas::RenderValidate(true, (*user)->loginname));
      response.AddHeader("Cache-Control", "no-store");
      return;
    }

    cas::Success success;
    success.user = (*user)->loginname;
    success.proxies = record->proxies;
    if (!pgt_url.empty()) {
      if (!(*app)->proxy_right) {
        return fail(cas::kUnauthorizedServiceProxy, "the service may not obtain proxy tickets");
      }
      const bool secure = pgt_url.starts_with("https://");
      if (!(secure || (pgt_url.starts_with("http://") &&
                       (settings.allow_http_proxy_callback || LoopbackHost(pgt_url)))) ||
          !RedirectAllowed(**app, pgt_url)) {
        return fail(cas::kInvalidProxyCallback,
                    "pgtUrl must be an https URL registered for the service");
      }
      // CAS 3.0 §2.5.4: when the callback cannot be verified no PGT is
      // issued and the validation itself fails; answering success without a
      // PGT would leave the service believing it can proxy.
      auto iou = IssuePgt(*record, std::string(pgt_url));
      if (!iou.ok()) {
        const int code = iou.error().code;
        return fail(code == errc::kInternal   ? cas::kInternalError
                    : code == errc::kNotFound ? cas::kInvalidTicket
                                              : cas::kInvalidProxyCallback,
                    iou.error().message);
      }
      success.pgt_iou = std::move(*iou);
    }
    // Attributes in CAS 3.0 (p3/) and, as Apereo CAS does, in CAS 2.0 responses too.
    const directory::User& u = **user;
    auto add = [&success](std::string_view name, const std::string& value) {
      if (!value.empty()) success.attributes.emplace_back(std::string(name), value);
    };
    add("userid", u.userid);
    add("loginname", u.loginname);
    add("username", u.username);
    add("orgcoding", u.orgcoding);
    add("email", u.email);
    add("mobile", u.mobile);
    add("authlevel", std::to_string(AuthLevelOf(u)));
    for (const std::string& role : record->roles) add("roles", role);
    add("authenticationDate", cas::IsoUtc(record->auth_time_ms));
    add("isFromNewLogin", record->from_new_login ? "true" : "false");
    add("longTermAuthenticationRequestTokenUsed", "false");
    SendCas(response, format, cas::RenderSuccess(success, format));
  }

  // A PGT for the validated ticket, delivered to `pgt_url`; its IOU. An
  // unconfirmed callback is errc::kPermissionDenied; a ticket store failure
  // errc::kInternal. Either way no PGT survives.
  Result<std::string> IssuePgt(const TicketRecord& ticket, std::string pgt_url) {
    std::string pgt = "PGT-" + context.random.Hex(24);
    std::string iou = "PGTIOU-" + context.random.Hex(20);
    TicketRecord record = ticket;
    record.kind = "PGT";
    record.proxies.insert(record.proxies.begin(), pgt_url);
    const std::string key = SecretKey(kPgtPrefix, pgt);
    if (Status put = context.tickets.Put(
            key, record.Encode(), std::chrono::duration_cast<milliseconds>(settings.pgt_ttl));
        !put.ok()) {
      spdlog::error("cas: PGT not stored: {}", put.error().message);
      return Error{errc::kInternal, "ticket store unavailable"};
    }
    if (!proxy_callback.Deliver(pgt_url, pgt, iou)) {
      if (Status erased = context.tickets.Erase(key); !erased.ok()) {
        spdlog::error("cas: undelivered PGT not erased: {}", erased.error().message);
      }
      return Error{errc::kPermissionDenied, "the proxy callback at pgtUrl could not be verified"};
    }
    if (!record.session_id.empty()) {
      codec::Value member = codec::Value::Object(1);
      member.Set("pgt", key);
      // Without the index entry the PGT would outlive a logout: refuse it.
      Status indexed = context.tickets.AddToSet(
          SecretKey(kSessionPrefix, record.session_id), codec::RenderJson(member),
          std::chrono::duration_cast<milliseconds>(context.settings.session_ttl));
      if (!indexed.ok()) {
        spdlog::error("cas: PGT not indexed for logout: {}", indexed.error().message);
        (void)context.tickets.Erase(key);  // the store just failed; a retry would too
        return Error{errc::kInternal, "ticket store unavailable"};
      }
      // Asked after the index entry exists: a logout from here on finds the
      // PGT in the session's set; one that began before has left its
      // tombstone, and the PGT (in a set nobody will end) goes now.
      auto live = sessions.Live(record.session_id);
      if (!live.ok() || !*live) {
        if (Status erased = context.tickets.Erase(key); !erased.ok()) {
          spdlog::error("cas: PGT of an ended session not erased: {}", erased.error().message);
        }
        if (!live.ok()) return Error{errc::kInternal, "ticket store unavailable"};
        return Error{errc::kNotFound, "the SSO session of the ticket has ended"};
      }
    }
    return iou;
  }

  // ---- /proxy ----

  void Proxy(const http::Request& request, http::Response& response) {
    const cas::Format format = FormatOf(request);
    std::string_view pgt = request.ParamOr("pgt");
    std::string_view target = request.ParamOr("targetService");
    auto fail = [&](std::string_view code, std::string_view description) {
      SendCas(response, format, cas::RenderProxyFailure(code, description, format));
    };
    if (pgt.empty() || target.empty()) {
      return fail(cas::kInvalidRequest, "pgt and targetService are required");
    }
    auto stored = context.tickets.Get(SecretKey(kPgtPrefix, pgt));
    if (!stored.ok()) return fail(cas::kInvalidTicket, "pgt not recognized");
    auto record = TicketRecord::Decode(*stored);
    if (!record.ok()) return fail(cas::kInternalError, "corrupt ticket");
    auto owner = context.directory.CachedApp(record->app);
    if (!owner.ok() || !(*owner)->enabled || !(*owner)->proxy_right) {
      return fail(cas::kUnauthorizedService, "the proxying service may no longer proxy");
    }
    auto app = FindService(target);
    if (!app) return fail(cas::kUnauthorizedService, "targetService is not a registered service");
    auto user = context.directory.CachedUser(record->userid);
    if (!user.ok() || !(*user)->active()) return fail(cas::kInvalidTicket, "account not active");
    // The target's own login policy holds for the login behind the PGT, as
    // /login and the zj interfaces' generateST apply it: a password-only
    // session gets no proxy ticket for an app that needs a second factor.
    if (!AuthLevelShortfall(**user, *app).empty()) {
      return fail(cas::kUnauthorizedService, "the user's real-name level is below targetService's");
    }
    BrowserLogin login;  // a PGT without a session counts as password-only
    if (!record->session_id.empty()) {
      auto live = sessions.Live(record->session_id);
      if (!live.ok()) return fail(cas::kInternalError, "ticket store unavailable");
      if (!*live) {
        (void)context.tickets.Erase(SecretKey(kPgtPrefix, pgt));  // ended: not again
        return fail(cas::kInvalidTicket, "the SSO session of the pgt has ended");
      }
      login = std::move(**live);
    }
    if (context.second_factors != nullptr && !login.HasSecondFactor()) {
      // Remembered briefly per user and app, as the staff APIs ask it: a
      // proxying app calls /proxy once per backend request.
      auto required = context.second_factors->RequiredRecently(context.directory, record->userid,
                                                               app->servicecode);
      if (!required.ok()) return fail(cas::kInternalError, "directory unavailable");
      if (*required) {
        return fail(cas::kUnauthorizedService, "targetService requires a second factor");
      }
    }
    bool failed = false;
    auto roles = RolesIfAllowed(*app, record->userid, &failed);
    if (failed) return fail(cas::kInternalError, "directory unavailable");
    if (!roles) return fail(cas::kUnauthorizedService, "the user may not use targetService");
    TicketRecord pt = *record;
    pt.kind = "PT";
    pt.service = std::string(target);
    pt.app = app->servicecode;
    pt.from_new_login = false;
    pt.roles = std::move(*roles);
    auto ticket = StoreTicket(pt);
    if (!ticket.ok()) return fail(cas::kInternalError, "ticket store unavailable");
    SendCas(response, format, cas::RenderProxySuccess(*ticket, format));
  }

  // ---- /logout ----

  void Logout(const http::Request& request, http::Response& response) {
    std::string_view service = request.ParamOr("service");
    if (service.empty()) service = request.ParamOr("url");
    std::string target;
    if (!service.empty() && FindService(service)) target = std::string(service);
    if (!sessions.Current(request)) {
      if (!target.empty()) return response.Redirect(target, 302);
      return SetHtmlPage(response, 200, "已退出", "您已退出统一身份认证。");
    }
    std::string id = context.random.Hex(16);
    std::string key(kLogoutPrefix);
    key.append(id);
    if (!context.tickets.Put(key, target, kPendingTtl).ok()) {
      return SetHtmlPage(response, 503, "服务暂不可用", "请稍后再试。");
    }
    std::string back = PublicBase(context.settings, request) + Base() + "/logout/done";
    response.Redirect(sessions.LogoutUrl(request, http::AppendQuery(back, "id", id)), 302);
    response.AddHeader("Cache-Control", "no-store");
  }

  void LogoutDone(const http::Request& request, http::Response& response) {
    std::string key(kLogoutPrefix);
    key.append(request.ParamOr("id"));
    auto target = request.ParamOr("id").empty() ? Result<std::string>(Error::NotFound(""))
                                                : context.tickets.Redeem(key);
    if (target.ok() && !target->empty()) return response.Redirect(*target, 302);
    SetHtmlPage(response, 200, "已退出", "您已退出统一身份认证。");
  }

  // ---- single logout ----

  void SessionEnded(const SessionEnd& ended) {
    const std::string set_key = SecretKey(kSessionPrefix, ended.session_id);
    auto members = context.tickets.Members(set_key);
    if (!members.ok()) {
      spdlog::error("cas: single logout skipped: {}", members.error().message);
      return;
    }
    std::set<std::string> notified;
    const std::string instant = cas::IsoUtc(context.clock.NowMillis());
    for (const std::string& m : *members) {
      auto v = codec::ParseJson(m);
      if (!v.ok() || !v->IsObject()) continue;
      if (std::string pgt = Str(*v, "pgt"); !pgt.empty()) {
        if (Status erased = context.tickets.Erase(pgt); !erased.ok()) {
          spdlog::error("cas: PGT of an ended session not revoked: {}", erased.error().message);
        }
        continue;
      }
      std::string service = Str(*v, "svc");
      std::string ticket = Str(*v, "st");
      // A ticket not yet validated ends with its session (as Apereo CAS
      // deletes a TGT's descendants): validated after the logout it would
      // open the app, and with a pgtUrl yield a PGT outliving the session.
      if (!ticket.empty()) {
        if (Status erased = context.tickets.Erase(SecretKey(kTicketPrefix, ticket));
            !erased.ok()) {
          spdlog::error("cas: ticket of an ended session not revoked: {}", erased.error().message);
        }
      }
      if (service.empty() || !notified.insert(service + '\n' + ticket).second) continue;
      auto app = context.directory.CachedApp(Str(*v, "app"));
      if (!app.ok() || !(*app)->enabled || !(*app)->protocols.cas) continue;
      std::string body = http::EncodeForm(
          {{"logoutRequest",
            cas::RenderLogoutRequest("LR-" + context.random.Hex(16), instant, ticket)}});
      back_channel.Post(service, "application/x-www-form-urlencoded", std::move(body));
    }
    if (Status erased = context.tickets.EraseSet(set_key); !erased.ok()) {
      spdlog::warn("cas: session index not erased: {}", erased.error().message);
    }
  }
};

CasServer::CasServer(SsoContext& context, BrowserSessions& sessions, BackChannel& back_channel,
                     ProxyCallback& proxy_callback, CasSettings settings)
    : impl_(std::make_unique<Impl>(context, sessions, back_channel, proxy_callback, settings)) {}

CasServer::~CasServer() = default;

void CasServer::OnSessionEnded(const SessionEnd& ended) { impl_->SessionEnded(ended); }

void CasServer::Register(http::Router& router) {
  Impl* impl = impl_.get();
  const std::string base = impl->Base();
  using Endpoint = Impl::Endpoint;
  auto validate = [impl](Endpoint endpoint) {
    return [impl, endpoint](const http::Request& request, http::Response& response) {
      impl->Validate(request, response, endpoint);
    };
  };
  auto bind = [impl](void (Impl::*method)(const http::Request&, http::Response&)) {
    return [impl, method](const http::Request& request, http::Response& response) {
      (impl->*method)(request, response);
    };
  };
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, base + "/validate", validate(Endpoint::kValidate));
    router.Add(method, base + "/serviceValidate", validate(Endpoint::kServiceValidate));
    router.Add(method, base + "/proxyValidate", validate(Endpoint::kProxyValidate));
    router.Add(method, base + "/p3/serviceValidate", validate(Endpoint::kServiceValidate));
    router.Add(method, base + "/p3/proxyValidate", validate(Endpoint::kProxyValidate));
    // /proxy reads the directory's second-factor policy (SQL): always on the
    // blocking pool. /logout writes the ticket store: off the I/O thread when
    // that is Redis.
    router.Add(method, base + "/proxy",
               [impl](const http::Request& request, http::Response& response) {
                 response.Defer([impl, &request](http::Response& pooled) {
                   impl->Proxy(request, pooled);
                 });
               });
    router.Add(method, base + "/logout",
               OffIoWhenRemote(impl->context.tickets, bind(&Impl::Logout)));
  }
  // With the tickets in Redis /login's two round trips (resume the session,
  // store the ticket) are asynchronous (LoginRemote), so that a slow Redis
  // stalls nothing else on the I/O thread and no thread waits on it.
  router.Add("GET", base + "/login",
             impl->context.tickets.Remote() ? bind(&Impl::LoginRemote) : bind(&Impl::Login));
  router.Add("GET", base + "/login/resume",
             OffIoWhenRemote(impl->context.tickets, bind(&Impl::Resume)));
  router.Add("GET", base + "/logout/done",
             OffIoWhenRemote(impl->context.tickets, bind(&Impl::LogoutDone)));
}

}  // namespace tongban::sso
