#include "app/routes.h"

#include "codec/render.h"
#include "codec/value.h"
#include "core/background.h"
#include "http/client.h"
#include "http/request.h"
#include "http/response.h"
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "app/citizen_wiring.h"
#include "app/exchange_transfer_wiring.h"
#include "approval/api.h"
#include "approval/notices.h"
#include "approval/supervision.h"
#include "app/exchange_wiring.h"
#include "http/static_files.h"
#include "console/admin_api.h"
#include "crypto/keys.h"
#include "directory/codes.h"
#include "sso/audit.h"
#include "sso/auth_api.h"
#include "sso/cas_oidc_support.h"
#include "sso/cas_server.h"
#include "sso/context.h"
#include "sso/organduser_api.h"
#include "sso/oidc_provider.h"
#include "sso/pusher.h"
#include "sso/logout.h"
#include "sso/sessions.h"

namespace tongban::app {

namespace {

sso::SsoSettings SsoSettingsFrom(const Config& config) {
  sso::SsoSettings s;
  s.context_path = config.sso.context_path;
  // Never empty: URLs are built from it, not from a request's Host header.
  s.public_url = config.PublicUrl();
  s.sign_window = std::chrono::seconds(config.sso.sign_window_s);
  s.replay_protection = config.sso.replay_protection;
  s.passwords_over_get = config.sso.passwords_over_get;
  // ValidateConfig has checked it.
  s.sign_time_zone = sso::ParseSpecTimeZone(config.sso.sign_time_zone).value();
  s.ticket_ttl = std::chrono::seconds(config.sso.ticket_ttl_s);
  s.authcode_ttl = std::chrono::seconds(config.sso.authcode_ttl_s);
  s.access_token_ttl = std::chrono::seconds(config.sso.access_token_ttl_s);
  s.refresh_token_ttl = std::chrono::seconds(config.sso.refresh_token_ttl_s);
  s.session_ttl = std::chrono::seconds(config.sso.session_ttl_s);
  s.outbound_ca_file = config.push.ca_file;
  s.outbound_policy = OutboundClientOptions(config).policy;
  s.login_account_failures = config.sso.login_account_failures;
  s.login_ip_failures = config.sso.login_ip_failures;
  s.login_failure_window = std::chrono::seconds(config.sso.login_failure_window_s);
  s.login_lockout = std::chrono::seconds(config.sso.login_lockout_s);
  s.login_app_failures = config.sso.login_app_failures;
  s.login_delay_after = config.sso.login_delay_after;
  s.login_max_delay = std::chrono::seconds(config.sso.login_max_delay_s);
  s.audit_required = config.audit.required;
  if (config.approval.enabled) {
    // The workbench (/approval/) and the hall (/hall/) are the platform's own
    // pages on the same origin and sign in with the SSO session itself.
    s.cookie_path = "/";
    s.own_paths = {"/approval/", "/hall/"};
  }
  // The exchange admin API at /exchange/api/ takes the same session.
  if (config.exchange.enabled) s.cookie_path = "/";
  if (config.catalogue.enabled) {  // so is the catalogue (/catalogue/)
    s.cookie_path = "/";
    s.own_paths.push_back("/catalogue/");
  }
  if (config.payment.enabled) {  // and the payment staff console (/payment/)
    s.cookie_path = "/";
    s.own_paths.push_back("/payment/");
  }
  return s;
}

sso::PusherOptions PusherOptionsFrom(const Config& config) {
  sso::PusherOptions o;
  o.workers = config.push.workers;
  o.request_timeout = std::chrono::seconds(config.push.request_timeout_s);
  return o;
}

// The OIDC signing keys: a start-up failure when the key directory is unusable.
crypto::KeyRing LoadOidcKeys(const Config& config) {
  std::vector<crypto::SigningAlgorithm> ensure;
  std::vector<std::string> names = config.oidc.key_algs;
  names.push_back(config.oidc.id_token_alg);
  for (const std::string& name : names) {
    auto alg = crypto::ParseSigningAlgorithm(name);
    if (!alg.ok()) throw std::runtime_error("oidc: " + alg.error().message);
    ensure.push_back(*alg);
  }
  auto ring = crypto::KeyRing::LoadDir(config.OidcKeyDir(), ensure);
  if (!ring.ok()) throw std::runtime_error("oidc signing keys: " + ring.error().message);
  return std::move(*ring);
}

sso::SessionLifetimes BrowserLifetimes(const Config& config) {
  sso::SessionLifetimes l;
  l.session = std::chrono::seconds(config.sso.session_ttl_s);
  return l;
}

sso::OidcSettings OidcSettingsFrom(const Config& config) {
  sso::OidcSettings o;
  o.id_token_alg = crypto::ParseSigningAlgorithm(config.oidc.id_token_alg).value();
  o.id_token_ttl = std::chrono::seconds(config.oidc.id_token_ttl_s);
  o.code_ttl = std::chrono::seconds(config.sso.authcode_ttl_s);
  o.access_token_ttl = std::chrono::seconds(config.sso.access_token_ttl_s);
  o.refresh_token_ttl = std::chrono::seconds(config.sso.refresh_token_ttl_s);
  o.require_pkce = config.oidc.require_pkce;
  o.redirect_uri_prefix_match = config.oidc.redirect_uri_match == "prefix";
  return o;
}

// Where a built web app is: `configured` when set, else web/<app>/dist under
// the working directory or beside the build directory of this binary; "" =
// not built.
std::filesystem::path BuiltWebDir(const std::string& configured, std::string_view app) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  const std::string relative = "web/" + std::string(app) + "/dist";
  std::vector<std::filesystem::path> candidates = {relative};
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / relative);
  for (const auto& dir : candidates) {
    if (std::filesystem::is_regular_file(dir / "index.html", ec)) {
      return std::filesystem::absolute(dir, ec);
    }
  }
  return {};
}

// Serves a built single-page app (hash routing: no fallback needed) under
// `path`, with the console's security headers; the bare path redirects.
Status ServeWebApp(http::Router& router, const std::string& path,
                   const std::filesystem::path& dir) {
  auto files = http::StaticFiles::Create(path + "/", dir);
  if (!files.ok()) return files.error();
  router.AddPrefix("GET", path + "/",
                   [files = std::move(*files)](const http::Request& request,
                                               http::Response& response) {
                     files(request, response);
                     response.AddHeader("X-Frame-Options", "DENY");
                     response.AddHeader("X-Content-Type-Options", "nosniff");
                     response.AddHeader("Referrer-Policy", "same-origin");
                     response.AddHeader("Content-Security-Policy",
                                        "default-src 'self'; img-src 'self' data:; "
                                        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
                   });
  router.Add("GET", path, [slash = path + "/"](const http::Request&, http::Response& response) {
    response.Redirect(slash, 302);
  });
  return Status::Ok();
}

// Polls the directory's change log once a second, so a user or app changed
// on another node is not served from this node's cache for long.
class ChangeFollower {
 public:
  using UserListener = std::function<void(const std::string& userid)>;
  // `on_user_changed` (may be empty) runs on the follower's thread for every
  // user change read from the log.
  ChangeFollower(directory::Directory& directory, UserListener on_user_changed)
      : directory_(directory), on_user_changed_(std::move(on_user_changed)) {}
  ~ChangeFollower() { Stop(); }

  void Start() {
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
        lock.unlock();
        RunGuardedPass("directory change follower", [this] {
          auto followed = directory_.FollowChanges(on_user_changed_);
          if (!followed.ok()) {
            spdlog::warn("directory: cannot read the change log: {}", followed.error().message);
          }
        });
        lock.lock();
      }
    });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  directory::Directory& directory_;
  UserListener on_user_changed_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Failed public lookups (approval/api_public.cc): per address over any case
// numbers, as configured; the per-number delay for unfamiliar addresses stays
// the login's.
sso::ThrottleOptions LookupThrottleFrom(const Config& config) {
  sso::ThrottleOptions o;
  o.account_failures = config.approval.lookup_failures;
  o.ip_failures = config.approval.lookup_failures;
  o.window = std::chrono::seconds(config.approval.lookup_failure_window_s);
  o.lockout = std::chrono::seconds(config.approval.lookup_lockout_s);
  return o;
}

sso::CasSettings CasSettingsFrom(const Config& config) {
  sso::CasSettings c;
  c.ticket_ttl = std::chrono::seconds(config.cas.ticket_ttl_s);
  c.pgt_ttl = std::chrono::seconds(config.cas.pgt_ttl_s);
  c.allow_http_proxy_callback = config.cas.allow_http_proxy_callback;
  return c;
}

approval::ApiSettings ApprovalSettingsFrom(const Config& config, const sso::SsoContext& sso) {
  approval::ApiSettings settings;
  settings.public_url = sso.settings.public_url;
  settings.applicant_upload_bytes_per_day = config.approval.applicant_upload_mb_per_day << 20;
  settings.staff_upload_bytes_per_day = config.approval.staff_upload_mb_per_day << 20;
  settings.min_free_disk_bytes = config.approval.min_free_disk_mb << 20;
  return settings;
}

}  // namespace

struct Routes::Impl {
  Impl(Node& n, http::Metrics& m)
      : node(n),
        metrics(m),
        sso_context{n.directory(), n.tickets(),  n.outbox(),
                    n.clock(),     n.random(),   SsoSettingsFrom(n.config()),
                    &n.sql(),      {},           nullptr,
                    audit_health},
        organduser(sso_context),
        auth(sso_context),
        pusher(sso_context, PusherOptionsFrom(n.config())),
        oidc_keys(LoadOidcKeys(n.config())),
        browser_store(n.tickets(), n.clock(), n.random(), BrowserLifetimes(n.config())),
        browser_sessions(sso_context.settings, browser_store),
        back_channel(std::chrono::seconds(5), 10'000,
                     OutboundClientOptions(n.config())),
        proxy_callback(std::chrono::seconds(n.config().cas.proxy_callback_timeout_s),
                       OutboundClientOptions(n.config())),
        oidc(sso_context, oidc_keys, browser_sessions, back_channel, OidcSettingsFrom(n.config())),
        cas(sso_context, browser_sessions, back_channel, proxy_callback,
            CasSettingsFrom(n.config())),
        admin_api(sso_context),
        follower_sessions(n.tickets(), n.clock(), n.random(),
                          sso::LifetimesOf(sso_context.settings)),
        follower_audit(&n.sql(), n.clock(), audit_health),
        follower_logout(sso_context, follower_sessions, follower_audit),
        change_follower(n.directory(), UserListenerFor(n)) {
    sso_context.activity = &activity;
    sso_context.second_factors = &n.second_factors();
    // CAS single logout and OIDC back-channel logout hear of every session
    // unified logout ends.
    sso_context.on_session_end.push_back(
        [this](const sso::SessionEnd& ended) { cas.OnSessionEnded(ended); });
    sso_context.on_session_end.push_back(
        [this](const sso::SessionEnd& ended) { oidc.OnSessionEnded(ended); });
    if (n.approval_enabled()) {
      lookup_throttle = std::make_unique<sso::LoginThrottle>(
          n.tickets(), n.clock(), n.random(), LookupThrottleFrom(n.config()));
      approval::Services services{.sso = sso_context,
                                  .engine = *n.approval_engine(),
                                  .matters = *n.approval_matters(),
                                  .calendars = *n.approval_calendars(),
                                  .files = *n.approval_files(),
                                  .preferences = n.approval_preferences(),
                                  .supervision = n.approval_supervision(),
                                  .statistics = n.approval_statistics(),
                                  .notices = &notice_printer,
                                  .lookup_throttle = lookup_throttle.get(),
                                  .settings = ApprovalSettingsFrom(n.config(), sso_context),
                                  .raise_case_fees = nullptr,
                                  .case_fee_notices = nullptr};
      if (n.payment() != nullptr) n.payment()->ConnectCaseFees(services);
      approval_api = std::make_unique<approval::ApprovalApi>(std::move(services));
      sweeper = std::make_unique<approval::SupervisionSweeper>(
          *n.approval_supervision(), n.clock(),
          std::chrono::seconds(n.config().approval.sweep_interval_s));
    }
    if (n.config().exchange.enabled) exchange = std::make_unique<ExchangeWiring>(n);
    if (n.config().citizen.enabled) {
      auto opened = CitizenWiring::Open(n, audit_health);
      if (!opened.ok()) throw std::runtime_error(opened.error().message);
      citizen = std::move(*opened);
      sso_context.citizen = &citizen->accounts();
    }
  }

  Node& node;
  http::Metrics& metrics;
  // Before sso_context: the Audits its services build report to it.
  std::shared_ptr<sso::AuditHealth> audit_health = std::make_shared<sso::AuditHealth>();
  sso::SsoContext sso_context;
  sso::OrgAndUserApi organduser;
  sso::SsoAuth auth;
  sso::Pusher pusher;
  // CAS and OpenID Connect on the sessions of the login flow (issue 5).
  crypto::KeyRing oidc_keys;
  sso::SessionStore browser_store;
  sso::LoginPageSessions browser_sessions;
  sso::ThreadedBackChannel back_channel;
  sso::HttpProxyCallback proxy_callback;
  sso::OidcProvider oidc;
  sso::CasServer cas;
  sso::Activity activity;
  console::AdminApi admin_api;
  // The approval subsystem's API; null when [approval] enabled = false.
  std::unique_ptr<sso::LoginThrottle> lookup_throttle;
  approval::NoticePrinter notice_printer;
  std::unique_ptr<approval::ApprovalApi> approval_api;
  std::unique_ptr<approval::SupervisionSweeper> sweeper;
  std::unique_ptr<ExchangeWiring> exchange;  // null when [exchange] enabled = false
  std::unique_ptr<CitizenWiring> citizen;    // null when [citizen] enabled = false
  // A user locked, disabled or deleted by another process (the admin CLI)
  // beside an in-memory ticket store, which only this process can reach:
  // the change follower ends the user's sessions here. With Redis the writer
  // ended them itself, in the shared store.
  sso::SessionStore follower_sessions;
  sso::Audit follower_audit;
  sso::UnifiedLogout follower_logout;
  std::unordered_set<std::string> users_ended;  // only the follower's thread
  ChangeFollower change_follower;

  ChangeFollower::UserListener UserListenerFor(Node& n) {
    if (n.config().storage.tickets != "memory") return {};
    return [this](const std::string& userid) { EndSessionsIfEnded(userid); };
  }

  void EndSessionsIfEnded(const std::string& userid) {
    auto user = node.directory().CachedUser(userid);
    if (!user.ok() && user.error().code != directory::code::kUserReadNotFound) return;
    const bool ended = !user.ok() || !(*user)->active();
    if (!ended) {
      users_ended.erase(userid);
      return;
    }
    // The log is read with an overlap: end once per lock, not once per read.
    if (!users_ended.insert(userid).second) return;
    const char* reason = !user.ok() ? "deleted" : (*user)->locked ? "locked" : "disabled";
    auto done = follower_logout.EndUser(userid, reason, "change-log", false);
    if (!done.ok()) {
      users_ended.erase(userid);  // try again at the next read
      spdlog::error("sessions of a {} user not ended: {}", reason, done.error().message);
    }
  }
};

Routes::Routes(Node& node, http::Metrics& metrics)
    : impl_(std::make_unique<Impl>(node, metrics)) {}

Routes::~Routes() = default;

Status Routes::Register(http::Router& router) {
  Impl& impl = *impl_;
  // Liveness: a fixed body that depends on nothing (also the bench baseline).
  router.Add("GET", "/livez", [](const http::Request&, http::Response& response) {
    response.SetJson(200, R"({"status":"ok"})");
  });
  // Readiness: the node can reach its database.
  // Deferred to the blocking pool: the probes wait on the network (Redis,
  // PostgreSQL), and a slow store must not stall the I/O thread's other requests.
  router.Add("GET", "/healthz", [&impl](const http::Request&, http::Response& deferring) {
    deferring.Defer([&impl](http::Response& response) {
      auto db = impl.node.sql().Ping();
      // A missing key is the healthy answer; only an unreachable store fails.
      auto probe = impl.node.tickets().Get("healthz:probe");
      bool tickets_ok = probe.ok() || probe.error().code == errc::kNotFound;
      // Lost audit rows degrade the node; it still serves (200) unless
      // audit.required makes it refuse every login (503: take it out).
      std::string audit = impl.sso_context.audit_health->Failure();
      bool serving =
          db.ok() && tickets_ok && (audit.empty() || !impl.sso_context.settings.audit_required);
      bool ok = serving && audit.empty();
      codec::Value body = codec::Value::Object();
      body.Set("status", ok ? "ok" : "degraded").Set("version", "0.1.0");
      if (!db.ok()) body.Set("database", db.error().message);
      if (!tickets_ok) body.Set("tickets", probe.error().message);
      if (!audit.empty()) {
        body.Set("audit", audit)
            .Set("audit_rows_lost", static_cast<int64_t>(impl.sso_context.audit_health->lost()));
      }
      response.SetJson(serving ? 200 : 503, codec::RenderJson(body));
    });
  });
  // Deferred like /healthz: DBSIZE waits on Redis when the tickets are there.
  router.Add("GET", "/metrics", [&impl](const http::Request&, http::Response& deferring) {
    deferring.Defer([&impl](http::Response& response) {
      std::string text = impl.metrics.RenderPrometheus();
      text +=
          "# HELP tongban_tickets_live Tickets, tokens and sessions held (approximate).\n"
          "# TYPE tongban_tickets_live gauge\ntongban_tickets_live ";
      text += std::to_string(impl.node.tickets().ApproximateSize());
      text += "\n";
      sso::PusherStats push = impl.pusher.stats();
      text +=
          "# HELP tongban_push_delivered_total Pushes acknowledged by their app.\n"
          "# TYPE tongban_push_delivered_total counter\ntongban_push_delivered_total ";
      text += std::to_string(push.delivered);
      text +=
          "\n# HELP tongban_push_failures_total Failed push attempts (each retried or dead).\n"
          "# TYPE tongban_push_failures_total counter\ntongban_push_failures_total ";
      text += std::to_string(push.failed);
      text += "\n";
      if (auto counts = impl.node.outbox().Counts(); counts.ok()) {
        text +=
            "# HELP tongban_outbox_messages Outbox messages by state.\n"
            "# TYPE tongban_outbox_messages gauge\n";
        text += "tongban_outbox_messages{state=\"pending\"} " + std::to_string(counts->pending) +
                "\ntongban_outbox_messages{state=\"dead\"} " + std::to_string(counts->dead) +
                "\ntongban_outbox_messages{state=\"delivered\"} " +
                std::to_string(counts->delivered) + "\n";
      }
      response.set_status(200);
      response.set_content_type("text/plain; version=0.0.4; charset=utf-8");
      response.set_body(std::move(text));
    });
  });
  impl.organduser.Register(router);
  impl.auth.Register(router);
  impl.oidc.Register(router);
  impl.cas.Register(router);
  const ConsoleConfig& console = impl.node.config().console;
  if (console.enabled) {
    std::filesystem::path dir = BuiltWebDir(console.dir, "admin");
    if (dir.empty()) {
      spdlog::warn("console: web/admin/dist is not built (make build); serving the admin API only");
    }
    TB_RETURN_IF_ERROR(impl.admin_api.Register(router, dir));
  }
  TB_RETURN_IF_ERROR(MountExchangeTransfers(impl.node, impl.sso_context, router));
  if (PaymentWiring* payment = impl.node.payment(); payment != nullptr) {
    TB_RETURN_IF_ERROR(payment->Register(router, impl.sso_context));
    // The staff console; the payer's pages are the hall's (/hall/#/pay).
    std::filesystem::path dir = BuiltWebDir(impl.node.config().payment.console_dir, "payment");
    if (dir.empty()) {
      spdlog::warn("payment: web/payment/dist is not built (make build); /payment/ is not served");
    } else {
      TB_RETURN_IF_ERROR(ServeWebApp(router, "/payment", dir));
    }
  }
  if (impl.exchange) TB_RETURN_IF_ERROR(impl.exchange->Register(router, impl.sso_context));
  if (CatalogueWiring* catalogue = impl.node.catalogue(); catalogue != nullptr) {
    TB_RETURN_IF_ERROR(catalogue->Register(router, impl.sso_context,
                                           impl.exchange ? &impl.exchange->meta() : nullptr));
    std::filesystem::path dir = BuiltWebDir(impl.node.config().catalogue.web_dir, "catalogue");
    if (!dir.empty()) TB_RETURN_IF_ERROR(ServeWebApp(router, "/catalogue", dir));
  }
  if (impl.approval_api) {
    TB_RETURN_IF_ERROR(impl.approval_api->Register(router));
    const ApprovalConfig& approval = impl.node.config().approval;
    for (auto [configured, app, path] :
         {std::tuple{approval.workbench_dir, "approval", "/approval"},
          std::tuple{approval.hall_dir, "hall", "/hall"}}) {
      std::filesystem::path dir = BuiltWebDir(configured, app);
      if (dir.empty()) {
        spdlog::warn("approval: web/{}/dist is not built (make build); {}/ is not served", app,
                     path);
        continue;
      }
      TB_RETURN_IF_ERROR(ServeWebApp(router, path, dir));
    }
  }
  return Status::Ok();
}

void Routes::StartBackground() {
  impl_->pusher.Start();
  if (impl_->sweeper) impl_->sweeper->Start();
  if (impl_->node.payment()) impl_->node.payment()->StartBackground();
  if (impl_->exchange) impl_->exchange->Start();
  if (impl_->node.catalogue()) impl_->node.catalogue()->StartBackground();
  impl_->change_follower.Start();
}

void Routes::StopBackground() {
  if (impl_->node.catalogue()) impl_->node.catalogue()->StopBackground();
  if (impl_->exchange) impl_->exchange->Stop();
  if (impl_->sweeper) impl_->sweeper->Stop();
  if (impl_->node.payment()) impl_->node.payment()->StopBackground();
  impl_->change_follower.Stop();
  impl_->pusher.Stop();
}

}  // namespace tongban::app
