#include "app/citizen_wiring.h"

#include <filesystem>

#include "crypto/digest.h"
#include "crypto/secret_box.h"
#include "directory/codes.h"

namespace tongban::app {

std::vector<Migration> CitizenWiring::Migrations() {
  std::vector<Migration> out = sso::OneTimeCodes::Migrations();
  for (auto& m : sso::CitizenAccounts::Migrations()) out.push_back(std::move(m));
  return out;
}

CitizenWiring::CitizenWiring(Node& node, std::shared_ptr<sso::AuditHealth> health)
    : node_(node), audit_(&node.sql(), node.clock(), std::move(health)) {}

CitizenWiring::~CitizenWiring() = default;

Status CitizenWiring::EnsureOrgs() {
  const CitizenConfig& c = node_.config().citizen;
  for (auto [code, name] : {std::pair{c.personal_org, c.personal_org_name},
                            std::pair{c.legal_org, c.legal_org_name}}) {
    auto org = node_.directory().GetOrg(directory::Caller::Admin(), code);
    if (org.ok()) continue;
    directory::Fields fields{{"orgcoding", code}, {"orgname", name}};
    auto saved =
        node_.directory().SaveOrg(directory::Caller::Admin(), fields, directory::SaveMode::kAddOnly);
    if (!saved.ok()) {
      return Error::InvalidArgument("[citizen] cannot create org " + code + ": " +
                                    saved.error().message);
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<CitizenWiring>> CitizenWiring::OpenForAdmin(Node& node) {
  const CitizenConfig& c = node.config().citizen;
  if (!c.enabled) {
    return Error::InvalidArgument("citizen accounts are disabled ([citizen] enabled = false)");
  }
  std::unique_ptr<CitizenWiring> w(new CitizenWiring(node, nullptr));
  sso::CitizenSettings settings{c.personal_org, c.legal_org, c.platform_name};
  w->accounts_ = std::make_unique<sso::CitizenAccounts>(
      sso::CitizenAccounts::Deps{node.sql(), node.directory(), w->audit_, node.clock()}, settings);
  return w;
}

Result<std::unique_ptr<CitizenWiring>> CitizenWiring::Open(
    Node& node, std::shared_ptr<sso::AuditHealth> health) {
  std::unique_ptr<CitizenWiring> w(new CitizenWiring(node, std::move(health)));
  const Config& config = node.config();
  const CitizenConfig& c = config.citizen;
  TB_RETURN_IF_ERROR(w->EnsureOrgs());

  sso::SmsChannelSettings sms;
  sms.name = c.sms_channel;
  sms.allow_sandbox = c.sms_sandbox;
  sms.sandbox_file = c.sms_sandbox_file.empty()
                         ? (std::filesystem::path(config.storage.data_dir) / "sms-sandbox.jsonl")
                               .string()
                         : c.sms_sandbox_file;
  sms.base_url = c.sms_base_url;
  sms.key = c.sms_key;
  auto channel = sso::OpenSmsChannel(sms);
  if (!channel.ok()) return std::move(channel).error();
  w->channel_ = std::make_unique<sso::CountingSmsChannel>(std::move(*channel), node.clock());
  w->sender_ = std::make_unique<sso::AsyncSmsSender>(*w->channel_);

  if (c.verifier == "sandbox") {
    if (!c.verifier_sandbox) {
      return Error::InvalidArgument(
          "[citizen] verifier = \"sandbox\" checks nothing: refused unless "
          "[citizen] verifier_sandbox = true (tests and the demo only)");
    }
    w->verifier_ = sso::MakeSandboxVerifier();
  } else if (!c.verifier.empty()) {
    return Error::InvalidArgument("[citizen] verifier: unknown verifier \"" + c.verifier +
                                  "\" (built in: sandbox)");
  }

  // Failed code checks: per number and client, and per client.
  sso::ThrottleOptions failures;
  failures.account_failures = c.code_check_failures;
  failures.ip_failures = c.code_check_ip_failures;
  failures.window = std::chrono::seconds(c.code_lockout_s);
  failures.lockout = std::chrono::seconds(c.code_lockout_s);
  failures.max_delay = std::chrono::seconds(0);  // lockouts only, no per-number delay
  w->failures_ = std::make_unique<sso::LoginThrottle>(node.tickets(), node.clock(),
                                                      node.random(), failures);

  // The code key: derived from the node's secret key, which every node of a
  // cluster shares, so a code sent by one node checks on another.
  auto key = crypto::SecretBox::LoadKeyFile(config.SecretKeyFile());
  if (!key.ok()) return std::move(key).error();
  sso::CodeLimits limits;
  limits.ttl = std::chrono::seconds(c.code_ttl_s);
  limits.max_attempts = c.code_max_attempts;
  limits.resend_after = std::chrono::seconds(c.code_resend_s);
  limits.window = std::chrono::seconds(c.code_window_s);
  limits.per_number = c.code_per_number;
  limits.per_ip = c.code_per_ip;
  limits.per_account = c.code_per_account;
  w->codes_ = std::make_unique<sso::OneTimeCodes>(
      node.sql(), node.clock(), node.random(), *w->sender_,
      crypto::HmacSha256(*key, "tongban one-time codes v1"), *w->failures_, limits);

  sso::CitizenSettings settings{c.personal_org, c.legal_org, c.platform_name};
  w->accounts_ = std::make_unique<sso::CitizenAccounts>(
      sso::CitizenAccounts::Deps{node.sql(), node.directory(), w->audit_, node.clock(),
                                 w->codes_.get(), w->sender_.get(), w->verifier_.get(),
                                 w->channel_.get()},
      settings);
  return w;
}

}  // namespace tongban::app
