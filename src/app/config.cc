#include "app/config.h"

#include <toml++/toml.h>

#include <functional>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "http/client.h"
#include "http/outbound_policy.h"
#include "sso/signed_api.h"

namespace tongban::app {
namespace {

// Binds TOML keys of one table to fields, so unknown keys can be reported.
class TableReader {
 public:
  TableReader(const toml::table& root, std::string name) : name_(std::move(name)) {
    if (const auto* node = root.get(name_)) table_ = node->as_table();
  }
  bool present() const { return table_ != nullptr; }

  template <typename T>
  void Read(const std::string& key, T& out) {
    known_.insert(key);
    if (!table_ || !error_.empty()) return;
    const toml::node* node = table_->get(key);
    if (!node) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = node->value<std::string>()) out = *v; else Fail(key, "a string");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = node->value<bool>()) out = *v; else Fail(key, "true or false");
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      const toml::array* arr = node->as_array();
      if (!arr) return Fail(key, "an array of strings");
      out.clear();
      for (const auto& item : *arr) {
        if (auto v = item.value<std::string>()) out.push_back(*v);
        else return Fail(key, "an array of strings");
      }
    } else {
      auto v = node->value<int64_t>();
      if (!v) return Fail(key, "an integer");
      // A cast would wrap: -1 in a size_t field would mean no limit at all.
      if (!std::in_range<T>(*v)) {
        return Fail(key, "an integer from " + std::to_string(std::numeric_limits<T>::min()) +
                             " to " + std::to_string(std::numeric_limits<T>::max()));
      }
      out = static_cast<T>(*v);
    }
  }

  // Unknown keys and type errors found so far, as one Status.
  Status Finish() {
    if (!error_.empty()) return Error::InvalidArgument(error_);
    if (!table_) return Status::Ok();
    for (const auto& [key, node] : *table_) {
      std::string k(key.str());
      if (!known_.count(k)) {
        return Error::InvalidArgument("config: unknown key [" + name_ + "] " + k);
      }
    }
    return Status::Ok();
  }

 private:
  void Fail(const std::string& key, const std::string& expected) {
    error_ = "config: [" + name_ + "] " + key + " must be " + expected;
  }
  std::string name_;
  const toml::table* table_ = nullptr;
  std::set<std::string> known_;
  std::string error_;
};

}  // namespace

std::string Config::DatabaseUrl() const {
  if (!storage.database.empty()) return storage.database;
  return "sqlite://" + storage.data_dir + "/tongban.db";
}

std::string Config::SecretKeyFile() const {
  if (!storage.secret_key_file.empty()) return storage.secret_key_file;
  return storage.data_dir + "/secret.key";
}

std::string Config::ApprovalFilesDir() const {
  if (!approval.files_dir.empty()) return approval.files_dir;
  return storage.data_dir + "/approval-files";
}

std::string Config::OidcKeyDir() const {
  if (!oidc.key_dir.empty()) return oidc.key_dir;
  return storage.data_dir + "/keys";
}

std::string Config::PublicUrl() const {
  std::string url = server.public_url;
  if (url.empty()) {
    bool ipv6 = server.bind.find(':') != std::string::npos;
    url = "http://" + (ipv6 ? "[" + server.bind + "]" : server.bind) + ":" +
          std::to_string(server.port);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Status LoadConfigFile(const std::string& path, Config& c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Error::InvalidArgument("config: " + path + ": " + std::string(e.description()));
  }
  static const std::set<std::string> kTables = {"server", "storage", "sso",   "push",     "outbound", "oidc",
                                                 "cas",    "console", "audit", "directory", "log",
                                                 "approval", "payment", "exchange", "citizen", "catalogue",
                                                 "mfa"};
  for (const auto& [key, node] : root) {
    if (!kTables.count(std::string(key.str())) || !node.is_table()) {
      return Error::InvalidArgument("config: unknown table [" + std::string(key.str()) + "]");
    }
  }

  TableReader server(root, "server");
  server.Read("bind", c.server.bind);
  server.Read("port", c.server.port);
  server.Read("threads", c.server.threads);
  server.Read("blocking_threads", c.server.blocking_threads);
  server.Read("public_url", c.server.public_url);
  server.Read("max_header_bytes", c.server.max_header_bytes);
  server.Read("max_body_bytes", c.server.max_body_bytes);
  server.Read("idle_timeout_s", c.server.idle_timeout_s);
  server.Read("read_timeout_s", c.server.read_timeout_s);
  server.Read("trusted_proxies", c.server.trusted_proxies);
  server.Read("access_log", c.server.access_log);
  server.Read("max_connections", c.server.max_connections);
  server.Read("max_connections_per_ip", c.server.max_connections_per_ip);
  server.Read("hsts_max_age_s", c.server.hsts_max_age_s);
  TB_RETURN_IF_ERROR(server.Finish());

  TableReader storage(root, "storage");
  storage.Read("data_dir", c.storage.data_dir);
  storage.Read("database", c.storage.database);
  storage.Read("tickets", c.storage.tickets);
  storage.Read("db_pool_size", c.storage.db_pool_size);
  storage.Read("secret_key_file", c.storage.secret_key_file);
  storage.Read("secret_algorithm", c.storage.secret_algorithm);
  TB_RETURN_IF_ERROR(storage.Finish());

  TableReader mfa(root, "mfa");
  mfa.Read("admin_required", c.mfa.admin_required);
  mfa.Read("issuer", c.mfa.issuer);
  mfa.Read("recovery_codes", c.mfa.recovery_codes);
  mfa.Read("max_failures", c.mfa.max_failures);
  mfa.Read("failure_window_s", c.mfa.failure_window_s);
  mfa.Read("required_roles", c.mfa.required_roles);
  TB_RETURN_IF_ERROR(mfa.Finish());

  TableReader sso(root, "sso");
  sso.Read("context_path", c.sso.context_path);
  sso.Read("sign_window_s", c.sso.sign_window_s);
  sso.Read("sign_time_zone", c.sso.sign_time_zone);
  sso.Read("replay_protection", c.sso.replay_protection);
  sso.Read("passwords_over_get", c.sso.passwords_over_get);
  sso.Read("ticket_ttl_s", c.sso.ticket_ttl_s);
  sso.Read("authcode_ttl_s", c.sso.authcode_ttl_s);
  sso.Read("access_token_ttl_s", c.sso.access_token_ttl_s);
  sso.Read("refresh_token_ttl_s", c.sso.refresh_token_ttl_s);
  sso.Read("session_ttl_s", c.sso.session_ttl_s);
  sso.Read("seed_demo", c.sso.seed_demo);
  sso.Read("login_account_failures", c.sso.login_account_failures);
  sso.Read("login_ip_failures", c.sso.login_ip_failures);
  sso.Read("login_failure_window_s", c.sso.login_failure_window_s);
  sso.Read("login_lockout_s", c.sso.login_lockout_s);
  sso.Read("login_app_failures", c.sso.login_app_failures);
  sso.Read("login_delay_after", c.sso.login_delay_after);
  sso.Read("login_max_delay_s", c.sso.login_max_delay_s);
  TB_RETURN_IF_ERROR(sso.Finish());

  TableReader push(root, "push");
  push.Read("workers", c.push.workers);
  push.Read("request_timeout_s", c.push.request_timeout_s);
  push.Read("base_backoff_s", c.push.base_backoff_s);
  push.Read("max_backoff_s", c.push.max_backoff_s);
  push.Read("max_attempts", c.push.max_attempts);
  push.Read("claim_timeout_s", c.push.claim_timeout_s);
  push.Read("ca_file", c.push.ca_file);
  TB_RETURN_IF_ERROR(push.Finish());

  TableReader outbound(root, "outbound");
  outbound.Read("allow_loopback", c.outbound.allow_loopback);
  outbound.Read("refuse_networks", c.outbound.refuse_networks);
  TB_RETURN_IF_ERROR(outbound.Finish());

  TableReader oidc(root, "oidc");
  oidc.Read("key_dir", c.oidc.key_dir);
  oidc.Read("id_token_alg", c.oidc.id_token_alg);
  oidc.Read("key_algs", c.oidc.key_algs);
  oidc.Read("id_token_ttl_s", c.oidc.id_token_ttl_s);
  oidc.Read("require_pkce", c.oidc.require_pkce);
  oidc.Read("redirect_uri_match", c.oidc.redirect_uri_match);
  TB_RETURN_IF_ERROR(oidc.Finish());

  TableReader cas(root, "cas");
  cas.Read("ticket_ttl_s", c.cas.ticket_ttl_s);
  cas.Read("pgt_ttl_s", c.cas.pgt_ttl_s);
  cas.Read("proxy_callback_timeout_s", c.cas.proxy_callback_timeout_s);
  cas.Read("allow_http_proxy_callback", c.cas.allow_http_proxy_callback);
  TB_RETURN_IF_ERROR(cas.Finish());

  TableReader directory(root, "directory");
  directory.Read("md5_login_variant", c.directory.md5_login_variant);
  TB_RETURN_IF_ERROR(directory.Finish());

  TableReader console(root, "console");
  console.Read("enabled", c.console.enabled);
  console.Read("dir", c.console.dir);
  TB_RETURN_IF_ERROR(console.Finish());

  TableReader approval(root, "approval");
  approval.Read("enabled", c.approval.enabled);
  approval.Read("max_upload_bytes", c.approval.max_upload_bytes);
  approval.Read("files_dir", c.approval.files_dir);
  approval.Read("applicant_upload_mb_per_day", c.approval.applicant_upload_mb_per_day);
  approval.Read("staff_upload_mb_per_day", c.approval.staff_upload_mb_per_day);
  approval.Read("min_free_disk_mb", c.approval.min_free_disk_mb);
  approval.Read("lookup_failures", c.approval.lookup_failures);
  approval.Read("lookup_failure_window_s", c.approval.lookup_failure_window_s);
  approval.Read("lookup_lockout_s", c.approval.lookup_lockout_s);
  approval.Read("sweep_interval_s", c.approval.sweep_interval_s);
  approval.Read("workbench_dir", c.approval.workbench_dir);
  approval.Read("hall_dir", c.approval.hall_dir);
  TB_RETURN_IF_ERROR(approval.Finish());
  TableReader payment(root, "payment");
  payment.Read("enabled", c.payment.enabled);
  payment.Read("console_dir", c.payment.console_dir);
  payment.Read("expiry_sweep_interval_s", c.payment.expiry_sweep_interval_s);
  payment.Read("channel", c.payment.channel);
  payment.Read("sandbox", c.payment.sandbox);
  payment.Read("channel_url", c.payment.channel_url);
  payment.Read("channel_key", c.payment.channel_key);
  payment.Read("channel_key_file", c.payment.channel_key_file);
  payment.Read("channel_merchant", c.payment.channel_merchant);
  payment.Read("channel_timeout_ms", c.payment.channel_timeout_ms);
  payment.Read("notify_url", c.payment.notify_url);
  payment.Read("query_after_ms", c.payment.query_after_ms);
  payment.Read("query_backoff_ms", c.payment.query_backoff_ms);
  payment.Read("query_give_up_s", c.payment.query_give_up_s);
  payment.Read("query_sweep_interval_ms", c.payment.query_sweep_interval_ms);
  payment.Read("unit_notify_poll_ms", c.payment.unit_notify_poll_ms);
  payment.Read("unit_notify_timeout_ms", c.payment.unit_notify_timeout_ms);
  payment.Read("unit_notify_backoff_ms", c.payment.unit_notify_backoff_ms);
  payment.Read("unit_notify_max_attempts", c.payment.unit_notify_max_attempts);
  payment.Read("unit_notify_pipeline", c.payment.unit_notify_pipeline);
  payment.Read("unit_notify_linger_ms", c.payment.unit_notify_linger_ms);
  payment.Read("statements_dir", c.payment.statements_dir);
  payment.Read("max_statement_bytes", c.payment.max_statement_bytes);
  payment.Read("lookup_failures", c.payment.lookup_failures);
  payment.Read("lookup_failure_window_s", c.payment.lookup_failure_window_s);
  payment.Read("lookup_lockout_s", c.payment.lookup_lockout_s);
  TB_RETURN_IF_ERROR(payment.Finish());
  TableReader catalogue(root, "catalogue");
  catalogue.Read("enabled", c.catalogue.enabled);
  catalogue.Read("seed_demo", c.catalogue.seed_demo);
  catalogue.Read("web_dir", c.catalogue.web_dir);
  catalogue.Read("audit_journal", c.catalogue.audit_journal);
  TB_RETURN_IF_ERROR(catalogue.Finish());
  TableReader exchange(root, "exchange");
  exchange.Read("enabled", c.exchange.enabled);
  exchange.Read("runner", c.exchange.runner);
  exchange.Read("holder", c.exchange.holder);
  exchange.Read("lease_ttl_s", c.exchange.lease_ttl_s);
  exchange.Read("max_batches_per_turn", c.exchange.max_batches_per_turn);
  exchange.Read("seed_demo", c.exchange.seed_demo);
  exchange.Read("hall_out_node", c.exchange.hall_out_node);
  exchange.Read("hall_out_resource", c.exchange.hall_out_resource);
  exchange.Read("hall_in", c.exchange.hall_in);
  exchange.Read("hall_poll_ms", c.exchange.hall_poll_ms);
  exchange.Read("transfer_abandon_after_s", c.exchange.transfer_abandon_after_s);
  exchange.Read("transfer_sync_each_chunk", c.exchange.transfer_sync_each_chunk);
  exchange.Read("transfer_max_open_per_sender", c.exchange.transfer_max_open_per_sender);
  exchange.Read("transfer_max_open_mb_per_sender", c.exchange.transfer_max_open_mb_per_sender);
  exchange.Read("transfer_min_free_disk_mb", c.exchange.transfer_min_free_disk_mb);
  TB_RETURN_IF_ERROR(exchange.Finish());

  TableReader citizen(root, "citizen");
  citizen.Read("enabled", c.citizen.enabled);
  citizen.Read("personal_org", c.citizen.personal_org);
  citizen.Read("personal_org_name", c.citizen.personal_org_name);
  citizen.Read("legal_org", c.citizen.legal_org);
  citizen.Read("legal_org_name", c.citizen.legal_org_name);
  citizen.Read("platform_name", c.citizen.platform_name);
  citizen.Read("sms_channel", c.citizen.sms_channel);
  citizen.Read("sms_sandbox", c.citizen.sms_sandbox);
  citizen.Read("sms_sandbox_file", c.citizen.sms_sandbox_file);
  citizen.Read("sms_base_url", c.citizen.sms_base_url);
  citizen.Read("sms_key", c.citizen.sms_key);
  citizen.Read("verifier", c.citizen.verifier);
  citizen.Read("verifier_sandbox", c.citizen.verifier_sandbox);
  citizen.Read("code_ttl_s", c.citizen.code_ttl_s);
  citizen.Read("code_resend_s", c.citizen.code_resend_s);
  citizen.Read("code_window_s", c.citizen.code_window_s);
  citizen.Read("code_per_number", c.citizen.code_per_number);
  citizen.Read("code_per_ip", c.citizen.code_per_ip);
  citizen.Read("code_per_account", c.citizen.code_per_account);
  citizen.Read("code_max_attempts", c.citizen.code_max_attempts);
  citizen.Read("code_check_failures", c.citizen.code_check_failures);
  citizen.Read("code_check_ip_failures", c.citizen.code_check_ip_failures);
  citizen.Read("code_lockout_s", c.citizen.code_lockout_s);
  TB_RETURN_IF_ERROR(citizen.Finish());

  TableReader audit(root, "audit");
  audit.Read("required", c.audit.required);
  TB_RETURN_IF_ERROR(audit.Finish());

  TableReader log(root, "log");
  log.Read("level", c.log.level);
  TB_RETURN_IF_ERROR(log.Finish());
  return ValidateConfig(c);
}

http::ClientOptions OutboundClientOptions(const Config& config) {
  http::ClientOptions o;
  o.ca_file = config.push.ca_file;
  auto policy = http::OutboundPolicy::Make({.allow_loopback = config.outbound.allow_loopback,
                                            .refuse_networks = config.outbound.refuse_networks});
  if (!policy.ok()) throw std::runtime_error("outbound: " + policy.error().message);
  o.policy = std::make_shared<const http::OutboundPolicy>(std::move(*policy));
  return o;
}

Status ValidateConfig(const Config& c) {
  if (auto policy = http::OutboundPolicy::Make({.allow_loopback = c.outbound.allow_loopback,
                                                .refuse_networks = c.outbound.refuse_networks});
      !policy.ok()) {
    return Error::InvalidArgument("config: outbound.refuse_networks: " + policy.error().message);
  }
  for (const std::string& role : c.mfa.required_roles) {
    const size_t colon = role.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == role.size()) {
      return Error::InvalidArgument("config: mfa.required_roles entries are \"app:rolecode\", not \"" +
                                    role + "\"");
    }
  }
  if (c.mfa.recovery_codes < 1 || c.mfa.recovery_codes > 50 || c.mfa.max_failures < 1 ||
      c.mfa.failure_window_s < 1 || c.mfa.issuer.empty() || c.mfa.issuer.find(':') != std::string::npos) {
    return Error::InvalidArgument(
        "config: mfa.recovery_codes must be 1..50, max_failures and failure_window_s positive, "
        "issuer non-empty without ':'");
  }
  if (c.server.port < 0 || c.server.port > 65535) {
    return Error::InvalidArgument("config: server.port must be 0..65535");
  }
  if (c.server.threads < 0 || c.server.threads > 256) {
    return Error::InvalidArgument("config: server.threads must be 0..256");
  }
  if (c.server.blocking_threads < 0 || c.server.blocking_threads > 256) {
    return Error::InvalidArgument("config: server.blocking_threads must be 0..256");
  }
  if (c.server.max_body_bytes < 1024) {
    return Error::InvalidArgument("config: server.max_body_bytes must be at least 1024");
  }
  if (c.server.hsts_max_age_s < 0) {
    return Error::InvalidArgument("config: server.hsts_max_age_s must be >= 0");
  }
  if (c.server.idle_timeout_s <= 0 || c.server.read_timeout_s <= 0) {
    return Error::InvalidArgument("config: server timeouts must be positive");
  }
  if (c.storage.db_pool_size < 1 || c.storage.db_pool_size > 256) {
    return Error::InvalidArgument("config: storage.db_pool_size must be 1..256");
  }
  if (c.storage.tickets != "memory" && c.storage.tickets.rfind("redis://", 0) != 0 &&
      c.storage.tickets.rfind("unix://", 0) != 0) {
    return Error::InvalidArgument(
        "config: storage.tickets must be \"memory\", redis://host:port or unix:///path");
  }
  if (c.sso.context_path.empty() || c.sso.context_path[0] != '/' ||
      c.sso.context_path.back() == '/') {
    return Error::InvalidArgument("config: sso.context_path must start with / and not end with /");
  }
  if (!sso::ParseSpecTimeZone(c.sso.sign_time_zone).ok()) {
    return Error::InvalidArgument(
        "config: sso.sign_time_zone must be +HH:MM, -HH:MM, UTC or local");
  }
  if (c.sso.login_account_failures < 1 || c.sso.login_ip_failures < 1 ||
      c.sso.login_app_failures < 1 || c.sso.login_delay_after < 1) {
    return Error::InvalidArgument("config: sso.login_*_failures must be at least 1");
  }
  for (int ttl : {c.sso.login_failure_window_s, c.sso.login_lockout_s, c.sso.sign_window_s, c.sso.ticket_ttl_s, c.sso.authcode_ttl_s,
                  c.sso.access_token_ttl_s, c.sso.refresh_token_ttl_s, c.sso.session_ttl_s}) {
    if (ttl <= 0) return Error::InvalidArgument("config: every sso.*_s lifetime must be positive");
  }
  if (c.sso.login_max_delay_s < 0) {
    return Error::InvalidArgument("config: sso.login_max_delay_s must not be negative");
  }
  if (c.push.workers < 1 || c.push.workers > 64) {
    return Error::InvalidArgument("config: push.workers must be 1..64");
  }
  if (c.push.request_timeout_s <= 0 || c.push.base_backoff_s <= 0 ||
      c.push.max_backoff_s < c.push.base_backoff_s || c.push.max_attempts < 1) {
    return Error::InvalidArgument("config: push timeouts and backoffs must be positive, "
                                  "max_backoff_s >= base_backoff_s, max_attempts >= 1");
  }
  if (c.push.claim_timeout_s <= c.push.request_timeout_s) {
    return Error::InvalidArgument(
        "config: push.claim_timeout_s must exceed push.request_timeout_s, or a slow app "
        "would receive a message twice");
  }
  for (const std::string* alg : {&c.oidc.id_token_alg}) {
    if (*alg != "RS256" && *alg != "ES256" && *alg != "SM2") {
      return Error::InvalidArgument("config: oidc.id_token_alg must be RS256, ES256 or SM2");
    }
  }
  for (const std::string& alg : c.oidc.key_algs) {
    if (alg != "RS256" && alg != "ES256" && alg != "SM2") {
      return Error::InvalidArgument("config: oidc.key_algs may hold RS256, ES256 and SM2");
    }
  }
  if (c.oidc.redirect_uri_match != "exact" && c.oidc.redirect_uri_match != "prefix") {
    return Error::InvalidArgument(
        "config: oidc.redirect_uri_match must be \"exact\" or \"prefix\"");
  }
  if (c.oidc.id_token_ttl_s <= 0) {
    return Error::InvalidArgument("config: oidc.id_token_ttl_s must be positive");
  }
  if (c.cas.ticket_ttl_s <= 0 || c.cas.ticket_ttl_s > 300 || c.cas.pgt_ttl_s <= 0 ||
      c.cas.proxy_callback_timeout_s <= 0 || c.cas.proxy_callback_timeout_s > 60) {
    return Error::InvalidArgument(
        "config: cas.ticket_ttl_s must be 1..300, cas.pgt_ttl_s positive and "
        "cas.proxy_callback_timeout_s 1..60");
  }
  for (auto [name, value] : {std::pair{"applicant_upload_mb_per_day",
                                       c.approval.applicant_upload_mb_per_day},
                             std::pair{"staff_upload_mb_per_day", c.approval.staff_upload_mb_per_day},
                             std::pair{"min_free_disk_mb", c.approval.min_free_disk_mb}}) {
    if (value < 0 || value > (int64_t{1} << 30)) {
      return Error::InvalidArgument(std::string("config: approval.") + name +
                                    " must be 0..1073741824");
    }
  }
  if (c.approval.max_upload_bytes < 1024 || c.approval.max_upload_bytes > (int64_t{1} << 30)) {
    return Error::InvalidArgument("config: approval.max_upload_bytes must be 1024..1073741824");
  }
  if (c.approval.lookup_failures < 1 || c.approval.lookup_failure_window_s <= 0 ||
      c.approval.lookup_lockout_s <= 0 || c.approval.sweep_interval_s <= 0) {
    return Error::InvalidArgument(
        "config: approval.lookup_failures must be at least 1 and approval.*_s positive");
  }
  if (c.citizen.enabled) {
    const CitizenConfig& z = c.citizen;
    if (z.code_ttl_s < 30 || z.code_ttl_s > 3600 || z.code_resend_s < 0 ||
        z.code_window_s <= 0 || z.code_per_number < 1 || z.code_per_ip < 1 ||
        z.code_per_account < 1 || z.code_max_attempts < 1 || z.code_max_attempts > 10 ||
        z.code_check_failures < 1 || z.code_check_ip_failures < 1 || z.code_lockout_s <= 0) {
      return Error::InvalidArgument(
          "config: [citizen] code_* limits out of range (code_ttl_s 30..3600, "
          "code_max_attempts 1..10, the others positive)");
    }
    if (z.personal_org.empty() || z.legal_org.empty()) {
      return Error::InvalidArgument("config: [citizen] personal_org and legal_org must be set");
    }
  }
  if (c.payment.expiry_sweep_interval_s <= 0) {
    return Error::InvalidArgument("config: payment.expiry_sweep_interval_s must be positive");
  }
  {
    const PaymentConfig& p = c.payment;
    if (p.channel_timeout_ms <= 0 || p.query_after_ms <= 0 || p.query_backoff_ms <= 0 ||
        p.query_give_up_s <= 0 || p.query_sweep_interval_ms <= 0 || p.unit_notify_poll_ms <= 0 ||
        p.unit_notify_timeout_ms <= 0 || p.unit_notify_backoff_ms <= 0 ||
        p.unit_notify_max_attempts < 1 || p.lookup_failures < 1 ||
        p.lookup_failure_window_s <= 0 || p.lookup_lockout_s <= 0) {
      return Error::InvalidArgument(
          "config: payment.*_ms, *_s must be positive and unit_notify_max_attempts, "
          "lookup_failures at least 1");
    }
    if (p.unit_notify_pipeline < 1 || p.unit_notify_pipeline > 256) {
      return Error::InvalidArgument("config: payment.unit_notify_pipeline must be 1..256");
    }
    if (p.unit_notify_linger_ms < 0 || p.unit_notify_linger_ms > 1000) {
      return Error::InvalidArgument("config: payment.unit_notify_linger_ms must be 0..1000");
    }
    if (p.max_statement_bytes < 1024 || p.max_statement_bytes > (int64_t{4} << 30)) {
      return Error::InvalidArgument("config: payment.max_statement_bytes must be 1024..4294967296");
    }
    if (p.channel == "sandbox" && !p.sandbox) {
      return Error::InvalidArgument(
          "config: payment.channel = \"sandbox\" collects no real money and is refused in "
          "production; set payment.sandbox = true for tests and the demo, or name a real channel");
    }
    if (!p.channel_key.empty() && !p.channel_key_file.empty()) {
      return Error::InvalidArgument("config: payment.channel_key and channel_key_file exclude each other");
    }
  }
  if (c.exchange.lease_ttl_s < 3 || c.exchange.lease_ttl_s > 3600 ||
      c.exchange.max_batches_per_turn < 1) {
    return Error::InvalidArgument(
        "config: exchange.lease_ttl_s must be 3..3600 and exchange.max_batches_per_turn positive");
  }
  if (c.exchange.hall_poll_ms < 10 || c.exchange.hall_poll_ms > 3'600'000) {
    return Error::InvalidArgument("config: exchange.hall_poll_ms must be 10..3600000");
  }
  for (const std::string& source : c.exchange.hall_in) {
    // A department's node speaks for its own org: without the org, any department could
    // report cases of any other (the signed hall interface scopes its apps the same way).
    const size_t at = source.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == source.size()) {
      return Error::InvalidArgument("config: exchange.hall_in entry \"" + source +
                                    "\" must name the org it reports for: "
                                    "\"<node name>[/<resource code>]@<orgcoding>\"");
    }
  }
  if (c.exchange.transfer_abandon_after_s < 0) {
    return Error::InvalidArgument("config: exchange.transfer_abandon_after_s must not be negative");
  }
  if (c.exchange.transfer_max_open_per_sender < 0 || c.exchange.transfer_max_open_mb_per_sender < 0 ||
      c.exchange.transfer_max_open_mb_per_sender > (int64_t{1} << 40) ||
      c.exchange.transfer_min_free_disk_mb < 0 ||
      c.exchange.transfer_min_free_disk_mb > (int64_t{1} << 40)) {
    return Error::InvalidArgument(
        "config: exchange.transfer_max_open_per_sender, transfer_max_open_mb_per_sender and "
        "transfer_min_free_disk_mb must be between 0 and 2^40");
  }
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.count(c.log.level)) {
    return Error::InvalidArgument("config: log.level must be one of trace..off");
  }
  return Status::Ok();
}

}  // namespace tongban::app
