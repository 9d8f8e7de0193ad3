// Config: every setting of a tongban node, read from a TOML file and then
// overridden by command-line flags. docs/configuration.md documents each one;
// keep the two in step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace tongban::http {
struct ClientOptions;
}  // namespace tongban::http

namespace tongban::app {

struct ServerConfig {
  std::string bind = "127.0.0.1";
  int port = 8080;
  int threads = 0;  // 0 = one per core
  // Password hashing and directory writes; 0 = one per core, at least two.
  int blocking_threads = 0;
  // External base URL; empty = http://bind:port (never the request's Host
  // header, which a client chooses).
  std::string public_url;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  int idle_timeout_s = 60;
  int read_timeout_s = 15;
  std::vector<std::string> trusted_proxies;
  bool access_log = true;
  size_t max_connections = 0;           // 0 = from the file-descriptor limit
  size_t max_connections_per_ip = 256;  // per peer address; trusted proxies exempt; 0 = no cap
  // Strict-Transport-Security max-age when the public URL is https; 0 = no header.
  int hsts_max_age_s = 31536000;
};

// The sign-on audit log (sso/audit.h).
struct AuditConfig {
  // true: a login whose audit row cannot be stored is refused (fail closed);
  // false: it succeeds and the loss shows in /healthz and the error log.
  bool required = false;
};

struct StorageConfig {
  std::string data_dir = "./var";
  std::string database;          // empty = sqlite://<data_dir>/tongban.db
  std::string tickets = "memory";  // "memory" or "redis://host:port[/db]"
  int db_pool_size = 4;
  // 32-byte master key sealing app secrets at rest; created on first start.
  // Several nodes must share one key file. Empty = <data_dir>/secret.key.
  std::string secret_key_file;
  std::string secret_algorithm = "aes-256-gcm";  // or "sm4-cbc-hmac-sm3"
};

struct SsoConfig {
  std::string context_path = "/sso";
  int sign_window_s = 300;        // accepted clock skew of a signed call's `time`
  // Zone of the spec's `time` (signed calls and pushes): "+08:00" (China
  // Standard Time), any "+HH:MM"/"-HH:MM", "UTC", or "local" (the host's TZ).
  std::string sign_time_zone = "+08:00";
  bool replay_protection = true;  // refuse the same signed request twice in the window
  // Accept idValidation's password in a GET URL (logged by proxies): off by default.
  bool passwords_over_get = false;
  int ticket_ttl_s = 60;          // browser ticket (st) lifetime
  int authcode_ttl_s = 60;        // commnetAuth authcode lifetime (spec: 1 minute)
  int access_token_ttl_s = 7200;
  int refresh_token_ttl_s = 86400 * 7;
  int session_ttl_s = 8 * 3600;   // SSO browser session, sliding
  bool seed_demo = true;          // create a demo org/admin/app on first start
  int login_account_failures = 5;    // failures of one account from one source: that source locked out
  int login_ip_failures = 20;        // failed logins from one client IP before a lockout
  int login_app_failures = 30;       // failed idValidation logins of one app before a lockout
  int login_failure_window_s = 900;  // failures counted within this window
  int login_lockout_s = 900;         // how long a lockout lasts
  int login_delay_after = 10;        // failures of one account before unfamiliar sources wait
  int login_max_delay_s = 300;       // the longest such wait; 0 = never wait
};

// Delivery of SSO -> app pushes and back-channel logout notices (the outbox).
struct PushConfig {
  int workers = 2;                 // deliveries in flight at once, each to a different app
  int request_timeout_s = 10;      // one attempt, connect to reply
  int base_backoff_s = 1;          // wait after the n-th failure: base * 2^(n-1) ...
  int max_backoff_s = 600;         // ... at most this
  int max_attempts = 20;           // then the message is dead-lettered (visible to admins)
  int claim_timeout_s = 60;        // a crashed node's in-flight message is retried after this
  // Extra PEM CA bundle trusted for outbound https (pushes, back-channel
  // logout, CAS proxy callbacks) besides the system store; "" = system only.
  std::string ca_file;
};

// Where the server's own calls to app- and unit-registered URLs may go
// (http/outbound_policy.h): link-local, metadata, multicast and unspecified
// addresses never; loopback only when allowed.
struct OutboundConfig {
  bool allow_loopback = false;
  std::vector<std::string> refuse_networks;  // CIDRs refused on top of the built-in ones
};

struct LogConfig {
  std::string level = "info";     // trace, debug, info, warn, error, off
};

// OpenID Connect provider (sso/oidc_provider.h). Token lifetimes are the
// [sso] ones (authcode_ttl_s, access_token_ttl_s, refresh_token_ttl_s).
struct OidcConfig {
  std::string key_dir;  // signing keys (PEM, mode 0600); empty = <data_dir>/keys
  std::string id_token_alg = "RS256";  // RS256, ES256 or SM2 (national crypto)
  // Key files created when missing, so their public keys are in the JWKS.
  std::vector<std::string> key_algs = {"RS256", "ES256"};
  int id_token_ttl_s = 3600;
  bool require_pkce = false;  // refuse authorization requests without code_challenge
  // "exact": redirect_uri and post_logout_redirect_uri equal a callback_urls
  // entry (OIDC Core, RFC 9700). "prefix": anywhere under one (older clients).
  std::string redirect_uri_match = "exact";
};

// CAS server (sso/cas_server.h).
struct CasConfig {
  int ticket_ttl_s = 10;                   // service and proxy tickets (single use)
  int pgt_ttl_s = 7200;                    // proxy-granting tickets
  int proxy_callback_timeout_s = 5;        // the pgtUrl verification call
  bool allow_http_proxy_callback = false;  // http:// pgtUrl on hosts other than loopback
};

// The identity directory (directory/directory.h).
struct DirectoryConfig {
  // Also keep an argon2id hash of the password's MD5, so that apps allowed
  // to (md5_login) can log users in with encryptiontype 3. Captured at each
  // password change and at the next plaintext login of older users.
  bool md5_login_variant = false;
};

// The web console (console/admin_api.h).
struct ConsoleConfig {
  bool enabled = true;  // false: neither the console nor /sso/admin/api/
  // The built console (web/admin/dist). "" = look for web/admin/dist under
  // the working directory and next to the binary's build directory; serve
  // the API alone, with a warning, when it is not built.
  std::string dir;
};

// The approval subsystem (approval/api.h, docs/api/approval.md).
struct ApprovalConfig {
  bool enabled = true;  // false: no approval tables' services, no /approval/api/
  // Uploaded materials larger than this are refused (413). The server's
  // max_body_bytes is raised to fit one upload when it is smaller.
  int64_t max_upload_bytes = 20 * 1024 * 1024;
  std::string files_dir;  // uploaded files, by SHA-256; "" = <data_dir>/approval-files
  // The distinct MiB one account may upload in 24 hours, and the free space the
  // file store keeps (uploads past them: 409 / 503).
  int64_t applicant_upload_mb_per_day = 200;
  int64_t staff_upload_mb_per_day = 2048;
  int64_t min_free_disk_mb = 1024;
  // Public progress lookups: failures from one address (over any case
  // numbers) before it is locked out for lookup_lockout_s, counted within
  // lookup_failure_window_s.
  int lookup_failures = 5;
  int lookup_failure_window_s = 900;
  int lookup_lockout_s = 900;
  // How often supervision scans running cases for overdue steps and cases.
  int sweep_interval_s = 60;
  // The built web apps: the staff workbench (/approval/) and the public hall
  // (/hall/); "" = web/approval/dist and web/hall/dist, found like the console.
  std::string workbench_dir;
  std::string hall_dir;
};

// The payment subsystem (payment/api.h, docs/api/payment.md).
struct PaymentConfig {
  bool enabled = true;  // false: no payment tables' services, no /payment/api/
  // How often unpaid notices past their expiry become 已过期.
  int expiry_sweep_interval_s = 60;
  std::string console_dir;  // the built staff console at /payment/; "" = web/payment/dist
  // The payment channel (payment/channel.h): "" = no online payment (the pay
  // call answers 503); a registered channel's name; "sandbox" = `tongban
  // paysim`, refused unless `sandbox` (the config says production otherwise).
  std::string channel;
  bool sandbox = false;
  std::string channel_url;       // the channel's API root (paysim: http://127.0.0.1:8090)
  std::string channel_key;       // shared signing key; or channel_key_file
  std::string channel_key_file;
  std::string channel_merchant;  // our merchant number at the channel, if any
  int channel_timeout_ms = 5'000;
  // Where the channel posts notifications; "" = public_url + /payment/api/channel/notify.
  std::string notify_url;
  // Orders pending this long are queried (then after query_backoff_ms,
  // doubling up to 16x), abandoned after query_give_up_s; the sweep runs
  // every query_sweep_interval_ms.
  int query_after_ms = 60'000;
  int query_backoff_ms = 30'000;
  int query_give_up_s = 172'800;
  int query_sweep_interval_ms = 10'000;
  // GetPay_Info to units (payment_outbox): poll, request timeout, first
  // backoff (doubling up to 10 min), attempts before dead-lettering.
  int unit_notify_poll_ms = 1'000;
  int unit_notify_timeout_ms = 10'000;
  int unit_notify_backoff_ms = 1'000;
  int unit_notify_max_attempts = 30;
  // GetPay_Info sent in one pipelined exchange to a unit (1 = one after
  // another), and the dispatcher's wait before claiming again after a round
  // smaller than that (0 = at once): payment::UnitNotifierOptions.
  int unit_notify_pipeline = 32;
  int unit_notify_linger_ms = 5;
  // Downloaded statements; "" = <data_dir>/payment-statements.
  std::string statements_dir;
  // A statement uploaded to POST /payment/api/reconcile/upload may be this
  // large (a 1M-line day is ~70 MiB); the server's body limit is raised for
  // that route alone, every other route keeps server.max_body_bytes.
  int64_t max_statement_bytes = 256 * 1024 * 1024;
  // Public lookups by notice number (view, pay, receipt): unknown numbers
  // from one address before it is locked out for lookup_lockout_s, counted
  // within lookup_failure_window_s (numbers may be sequential).
  int lookup_failures = 10;
  int lookup_failure_window_s = 900;
  int lookup_lockout_s = 900;
};

// The catalogue and sharing subsystem (catalogue/, docs/api/catalogue.md).
struct CatalogueConfig {
  bool enabled = true;    // false: no catalogue tables' services, no /catalogue/
  bool seed_demo = true;  // first start with sso.seed_demo: demo resources, accounts, base rows
  std::string web_dir;    // the built web/catalogue; "" = found beside the binary / source
  // SQLite: base queries' audit rows go to <data_dir>/catalogue-audit.journal
  // first (one write() per batch) and into catalogue_audit behind it.
  bool audit_journal = true;
};

// The exchange subsystem (exchange/, docs/api/exchange.md, docs/design/exchange.md).
struct ExchangeConfig {
  bool enabled = true;  // false: no exchange tables' services, no /exchange/api/, no runner
  bool runner = true;   // run the approved tasks in this process
  // This process's name in exchange_leases; "" = <hostname>:<pid>.
  std::string holder;
  int lease_ttl_s = 30;  // a task moves to another node this long after its holder died
  int max_batches_per_turn = 50;  // per subscriber, before the other tasks get a turn
  bool seed_demo = true;  // with sso.seed_demo: a demo node (SQLite under data_dir) and resource
  // Hall data (DB51/T 1625 stage records, docs/design/exchange.md "Hall data"): the approval
  // subsystem's stage records go to this node's hall resource ("" = they stay queued in
  // approval_outbox) ...
  std::string hall_out_node;
  std::string hall_out_resource = "hall_stage_records";
  // ... and the departments' own stage rows come from these "node name/resource code"
  // entries (the resource defaults to hall_stage_records) into approval as reported cases.
  std::vector<std::string> hall_in;
  int hall_poll_ms = 1000;  // how often both directions look for new records
  // Big files: a receiving transfer with no chunk for this long fails ("expired") and its
  // partial file is deleted; 0 = never.
  int transfer_abandon_after_s = 86400;
  // Big files: fdatasync every chunk before acknowledging it (survives a power loss); false:
  // once at completion, each chunk checked (exchange/transfer.h TransferOptions).
  bool transfer_sync_each_chunk = true;
  // Big files, per sender: at most this many receiving transfers, declaring at most this many
  // MiB in all; 0 = no limit. A start is also refused when its declared size would leave less
  // than transfer_min_free_disk_mb free on the data directory's file system (0 = no reserve).
  int64_t transfer_max_open_per_sender = 16;
  int64_t transfer_max_open_mb_per_sender = 65536;
  int64_t transfer_min_free_disk_mb = 1024;
};

// Second factors of sign-on (sso/second_factors.h, docs/design/second-factors.md).
struct MfaConfig {
  // Platform administrators must log in with a second factor (等保 2.0 level
  // 3). false only for development and the integration tests of other
  // features: the server warns at start.
  bool admin_required = true;
  std::string issuer = "tongban";  // the name authenticator apps show
  int recovery_codes = 10;         // generated at enrolment, each single-use
  int max_failures = 10;           // wrong codes of one account before checking pauses
  int failure_window_s = 900;      // ... within this window, and the pause
  // Holders of these roles ("app:rolecode") must use a second factor too.
  std::vector<std::string> required_roles;
};

// Citizen and company self-service accounts (issue 20; sso/citizen.h,
// docs/design/citizen-accounts.md): registration, recovery, real-name levels.
struct CitizenConfig {
  bool enabled = false;  // false: register/forgotPwd answer 404, no SMS channel
  // Orgs of self-registered accounts, created at start when missing.
  std::string personal_org = "900";
  std::string personal_org_name = "个人用户";
  std::string legal_org = "901";
  std::string legal_org_name = "法人用户";
  std::string platform_name = "统一身份认证平台";  // signs the SMS texts
  // The SMS channel: a production config names a real one; "sandbox" writes
  // the messages to sms_sandbox_file and needs sms_sandbox = true.
  std::string sms_channel;
  bool sms_sandbox = false;
  std::string sms_sandbox_file;  // "" = <data_dir>/sms-sandbox.jsonl
  std::string sms_base_url;
  std::string sms_key;
  // The identity verifier: "" none (counter checks only), or "sandbox"
  // (needs verifier_sandbox = true), or a registered real one.
  std::string verifier;
  bool verifier_sandbox = false;
  int code_ttl_s = 300;
  int code_resend_s = 60;        // per number and purpose
  int code_window_s = 3600;      // the counting window of the three limits below
  int code_per_number = 5;
  int code_per_ip = 20;
  int code_per_account = 10;
  int code_max_attempts = 5;     // wrong guesses before a code dies
  int code_check_failures = 10;  // failed checks per number+client before a lockout
  int code_check_ip_failures = 30;  // failed checks per client before a lockout
  int code_lockout_s = 900;
};

struct Config {
  ServerConfig server;
  MfaConfig mfa;
  StorageConfig storage;
  SsoConfig sso;
  PushConfig push;
  OutboundConfig outbound;
  OidcConfig oidc;
  CasConfig cas;
  DirectoryConfig directory;
  ConsoleConfig console;
  ApprovalConfig approval;
  PaymentConfig payment;
  CatalogueConfig catalogue;
  ExchangeConfig exchange;
  CitizenConfig citizen;
  AuditConfig audit;
  LogConfig log;

  // The SQL URL in effect (database, or the SQLite file under data_dir).
  std::string DatabaseUrl() const;
  // The secret key file in effect.
  std::string SecretKeyFile() const;
  // The approval file store's directory in effect.
  std::string ApprovalFilesDir() const;
  // The OIDC signing-key directory in effect.
  std::string OidcKeyDir() const;
  // The external base URL in effect, without a trailing slash: public_url,
  // else http://bind:port (an IPv6 bind in brackets).
  std::string PublicUrl() const;
};

// The options of the server's own calls to registered URLs (pushes,
// back-channel logout, CAS proxy callbacks, unit notifications): push.ca_file
// and the [outbound] policy. The config must have passed ValidateConfig.
http::ClientOptions OutboundClientOptions(const Config& config);

// Reads a TOML file into `config`, leaving unset keys at their defaults.
// Unknown keys are an error: a typo must not silently fall back to a default.
Status LoadConfigFile(const std::string& path, Config& config);

// Checks ranges and combinations; returns the first problem found.
Status ValidateConfig(const Config& config);

}  // namespace tongban::app
