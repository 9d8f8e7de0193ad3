#include "app/node.h"

#include "app/citizen_wiring.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "exchange/meta.h"
#include "sso/audit.h"
#include "store/memory_ticket_store.h"
#include "store/redis_ticket_store.h"

namespace tongban::app {

namespace {

// What a database sealed with the master key records of it (review17b F2): an
// HMAC of a fixed text, so a node started with another key — a typo in
// secret_key_file, a restore without the key, a cluster node not yet given the
// file — refuses to start instead of sealing new data no other node can open.
constexpr const char* kKeyCheckSetting = "master_key_check";

std::string KeyCheck(std::string_view key) {
  return crypto::HexEncode(crypto::HmacSha256(key, "tongban master key check v1"));
}

// The recorded check, "" when none: a fresh database, or one from before the check.
Result<std::string> RecordedKeyCheck(SqlStore& sql) {
  return sql.WithSession([&](soci::session& s) -> Result<std::string> {
    // Named: soci::use keeps a reference until the statement runs.
    const std::string name = kKeyCheckSetting;
    std::string value;
    s << "SELECT value FROM dir_settings WHERE name = :n", soci::use(name), soci::into(value);
    return s.got_data() ? value : std::string();
  });
}

// Whether the database already holds anything the master key sealed: apps
// (their sealed servicepwd) are made by the first start's seed.
Result<bool> HoldsSealedData(SqlStore& sql) {
  return sql.WithSession([&](soci::session& s) -> Result<bool> {
    long long apps = 0;
    s << "SELECT COUNT(*) FROM dir_apps", soci::into(apps);
    return apps > 0;
  });
}

// Records the key's check (once the key is shown to open the database's app
// secrets), or compares it with the recorded one. Two nodes
// starting together on a fresh database race to insert it: the loser reads
// the winner's and compares.
Status CheckMasterKey(SqlStore& sql, std::string_view key, const crypto::SecretBox& box,
                      const std::string& key_file) {
  const std::string mine = KeyCheck(key);
  auto recorded = RecordedKeyCheck(sql);
  if (!recorded.ok()) return std::move(recorded).error();
  if (recorded->empty()) {
    // A database from before the check: the key is recorded only if it opens
    // what the database already holds (review17c: a node that had made itself
    // a wrong key before the upgrade would otherwise be recorded as right, and
    // lock the healthy nodes out).
    auto opens = directory::Directory::KeyOpensAppSecrets(sql, box);
    if (!opens.ok()) return std::move(opens).error();
    if (!*opens) {
      return Error::PermissionDenied(
          "the master key in " + key_file +
          " does not open the app secrets this database holds: give this node the cluster's "
          "secret_key_file (the first node's), or restore the key that belongs to this database");
    }
    Status inserted = sql.WithTransaction([&](soci::session& s) -> Status {
      const std::string name = kKeyCheckSetting;
      s << "INSERT INTO dir_settings (name, value) VALUES (:n, :v)", soci::use(name),
          soci::use(mine);
      return Status::Ok();
    });
    if (inserted.ok()) return Status::Ok();
    recorded = RecordedKeyCheck(sql);
    if (!recorded.ok()) return std::move(recorded).error();
    if (recorded->empty()) return inserted;
  }
  if (*recorded != mine) {
    return Error::PermissionDenied(
        "the master key in " + key_file +
        " is not the key this database was sealed with: give this node the cluster's "
        "secret_key_file (the first node's), or restore the key that belongs to this database");
  }
  return Status::Ok();
}

// Files and directories the server makes hold password hashes, ID numbers and
// cases: private to its user whatever the umask (review17b F1). A database a
// group or others can read is made private too, with a warning.
void KeepPrivate(const std::string& path, bool directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return;
  const fs::perms open = fs::perms::group_all | fs::perms::others_all;
  if ((status.permissions() & open) == fs::perms::none) return;
  fs::permissions(path, open, fs::perm_options::remove, ec);
  if (ec) {
    spdlog::warn("{} is open to group or others and cannot be made private: {}", path,
                 ec.message());
  } else if (!directory) {
    spdlog::warn("{} was open to group or others; it is now private to this user", path);
  }
}

}  // namespace

Result<std::unique_ptr<Node>> Node::Open(const Config& config) {
  std::unique_ptr<Node> node(new Node(config));
  TB_RETURN_IF_ERROR(node->OpenAll());
  return node;
}

Node::~Node() = default;

Status Node::OpenAll() {
  std::error_code ec;
  const bool made = std::filesystem::create_directories(config_.storage.data_dir, ec);
  if (ec) {
    return Error::Unavailable("cannot create data dir " + config_.storage.data_dir + ": " +
                              ec.message());
  }
  if (made) KeepPrivate(config_.storage.data_dir, /*directory=*/true);
  // What an older version (or another umask) left open in the data dir —
  // the database's -wal/-shm, approval-files/, exchange-transfers/, … — is
  // made private on every start (review17c); files below its directories
  // were always written 0600.
  for (const auto& entry : std::filesystem::directory_iterator(config_.storage.data_dir, ec)) {
    const bool directory = entry.is_directory(ec);
    KeepPrivate(entry.path().string(), directory);
    if (!directory) continue;
    // Their directories too (exchange-transfers/inbox, …), not their files.
    std::error_code inner;
    for (const auto& sub : std::filesystem::directory_iterator(entry.path(), inner)) {
      if (sub.is_directory(inner)) KeepPrivate(sub.path().string(), /*directory=*/true);
    }
  }
  // SQLite makes the file with the umask's mode and its -wal/-shm with the
  // file's: make it private before it holds anything.
  const std::string db_url = config_.DatabaseUrl();
  if (db_url.starts_with("sqlite://")) {
    const std::string db_path = db_url.substr(9);
    if (!std::filesystem::exists(db_path, ec)) {
      const int fd = ::open(db_path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
      if (fd >= 0) ::close(fd);
    }
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      KeepPrivate(db_path + suffix, /*directory=*/false);
    }
  }

  auto sql = SqlStore::Open(config_.DatabaseUrl(),
                            static_cast<size_t>(config_.storage.db_pool_size));
  if (!sql.ok()) return std::move(sql).error();
  sql_ = std::move(sql).value();

  std::vector<Migration> migrations = Outbox::Migrations();
  for (auto& m : directory::DirectoryMigrations()) migrations.push_back(std::move(m));
  for (auto& m : sso::AuditMigrations()) migrations.push_back(std::move(m));
  for (auto& m : sso::SecondFactors::Migrations()) migrations.push_back(std::move(m));
  if (config_.approval.enabled) {
    for (auto* parts : {approval::MatterCatalogue::Migrations, approval::CalendarStore::Migrations,
                        approval::CaseEngine::Migrations, approval::Preferences::Migrations,
                        approval::Supervision::Migrations}) {
      for (auto& m : parts()) migrations.push_back(std::move(m));
    }
    for (auto& m : Outbox::Migrations("approval_outbox")) migrations.push_back(std::move(m));
  }
  if (config_.payment.enabled) {
    for (auto& m : PaymentWiring::Migrations()) migrations.push_back(std::move(m));
  }
  if (config_.exchange.enabled) {
    for (auto& m : exchange::ExchangeMeta::Migrations()) migrations.push_back(std::move(m));
  }
  if (config_.citizen.enabled) {
    for (auto& m : CitizenWiring::Migrations()) migrations.push_back(std::move(m));
  }
  if (config_.catalogue.enabled) {
    for (auto& m : CatalogueWiring::Migrations()) migrations.push_back(std::move(m));
  }
  TB_RETURN_IF_ERROR(sql_->Migrate(migrations));

  if (config_.storage.tickets == "memory") {
    MemoryTicketStore::Options options;
    options.sweep_interval = std::chrono::seconds(5);
    tickets_ = std::make_unique<MemoryTicketStore>(clock(), options);
  } else {
    auto options = RedisTicketStore::ParseUrl(config_.storage.tickets);
    if (!options.ok()) return std::move(options).error();
    auto redis = RedisTicketStore::Open(*options);
    if (!redis.ok()) return std::move(redis).error();
    tickets_ = std::move(redis).value();
  }

  const std::string key_file = config_.SecretKeyFile();
  if (!std::filesystem::exists(key_file)) {
    // A new key only for a database that holds nothing sealed yet.
    auto recorded = RecordedKeyCheck(*sql_);
    if (!recorded.ok()) return std::move(recorded).error();
    auto sealed = HoldsSealedData(*sql_);
    if (!sealed.ok()) return std::move(sealed).error();
    if (!recorded->empty() || *sealed) {
      return Error::NotFound("secret_key_file " + key_file +
                             " is missing, and this database holds data sealed with a master "
                             "key: copy the file from the first node (or restore it with the "
                             "database); a new key would not open that data");
    }
    TB_RETURN_IF_ERROR(crypto::SecretBox::GenerateKeyFile(key_file, random()));
  }
  auto key = crypto::SecretBox::LoadKeyFile(key_file);
  if (!key.ok()) return std::move(key).error();
  auto algorithm = crypto::ParseSecretAlgorithm(config_.storage.secret_algorithm);
  if (!algorithm.ok()) return std::move(algorithm).error();
  auto box = crypto::SecretBox::Create(*key, random(), *algorithm);
  if (!box.ok()) return std::move(box).error();
  box_ = std::make_unique<crypto::SecretBox>(std::move(box).value());
  TB_RETURN_IF_ERROR(CheckMasterKey(*sql_, *key, *box_, key_file));

  OutboxOptions outbox_options;
  outbox_options.base_backoff = std::chrono::seconds(config_.push.base_backoff_s);
  outbox_options.max_backoff = std::chrono::seconds(config_.push.max_backoff_s);
  outbox_options.max_attempts = config_.push.max_attempts;
  outbox_options.claim_timeout = std::chrono::seconds(config_.push.claim_timeout_s);
  outbox_ = std::make_unique<Outbox>(*sql_, outbox_options);
  directory::DirectoryOptions directory_options;
  directory_options.md5_login_variant = config_.directory.md5_login_variant;
  if (config_.citizen.enabled) {
    directory_options.mobile_is_proven = &sso::CitizenAccounts::IsSelfRegistered;
  }
  auto directory =
      directory::Directory::Open(*sql_, *outbox_, clock(), random(), *box_, directory_options);
  if (!directory.ok()) return std::move(directory).error();
  directory_ = std::move(directory).value();
  sso::MfaOptions mfa;
  mfa.admin_required = config_.mfa.admin_required;
  mfa.issuer = config_.mfa.issuer;
  mfa.recovery_codes = config_.mfa.recovery_codes;
  mfa.max_failures = config_.mfa.max_failures;
  mfa.failure_window = std::chrono::seconds(config_.mfa.failure_window_s);
  mfa.required_roles = config_.mfa.required_roles;
  // Keyed from the master key every node shares, so a recovery code works
  // whichever node checks it.
  second_factors_ = std::make_unique<sso::SecondFactors>(
      *sql_, *tickets_, *box_, clock(), random(),
      crypto::HmacSha256(*key, "tongban mfa recovery codes v1"), std::move(mfa));
  if (config_.approval.enabled) TB_RETURN_IF_ERROR(OpenApproval(*key));
  if (config_.payment.enabled) {
    auto payment = PaymentWiring::Open(*sql_, clock(), random(), *directory_, *key, config_);
    if (!payment.ok()) return std::move(payment).error();
    payment_ = std::move(payment).value();
  }
  if (config_.catalogue.enabled) {
    catalogue_ = std::make_unique<CatalogueWiring>(*sql_, clock(), *key);
    if (sql_->backend() == SqlStore::Backend::kSqlite) {
      const std::string path = config_.storage.data_dir + "/catalogue-audit.journal";
      if (config_.catalogue.audit_journal) {
        Status journal = catalogue_->base().UseAuditJournal({.path = path});
        // Another process holds it (a second server on this data_dir): this
        // one writes its rows straight to the table.
        if (!journal.ok() && journal.error().code != errc::kConflict) return journal;
      } else if (std::filesystem::exists(path)) {
        // Off (or an admin command, which never appends): rows an earlier
        // process wrote and did not load are loaded now, and the file closed.
        auto leftover = catalogue::AuditJournal::Open(*sql_, {.path = path});
        if (!leftover.ok() && leftover.error().code != errc::kConflict) {
          return std::move(leftover).error();
        }
      }
    }
  }
  return Status::Ok();
}

Status Node::OpenApproval(std::string_view secret_key) {
  auto files = approval::FileStore::Open(config_.ApprovalFilesDir(),
                                         config_.approval.max_upload_bytes);
  if (!files.ok()) return std::move(files).error();
  approval_files_ = std::make_unique<approval::FileStore>(std::move(files).value());
  OutboxOptions stage_options;
  stage_options.table = "approval_outbox";
  approval_outbox_ = std::make_unique<Outbox>(*sql_, stage_options);
  approval_matters_ = std::make_unique<approval::MatterCatalogue>(*sql_, clock());
  approval_calendars_ = std::make_unique<approval::CalendarStore>(*sql_);
  approval_preferences_ = std::make_unique<approval::Preferences>(*sql_, clock());
  approval_supervision_ =
      std::make_unique<approval::Supervision>(*sql_, *approval_calendars_);
  approval_statistics_ = std::make_unique<approval::Statistics>(*sql_, *approval_calendars_);
  approval::EngineOptions engine_options;
  // Derived from the node's secret key, which every node of a cluster shares,
  // so a lookup password works whichever node answers.
  engine_options.lookup_key = crypto::HmacSha256(secret_key, "tongban approval lookup v1");
  engine_options.files = approval_files_.get();
  // Stage records only where the exchange delivers them to a hall target.
  engine_options.stage_records =
      config_.exchange.enabled && !config_.exchange.hall_out_node.empty();
  if (!engine_options.stage_records) {
    // Said once at start: on a cluster, a node configured without the hall
    // target sends none of the transitions it handles to the hall.
    spdlog::warn(
        "approval: case stages are not queued for the hall on this node ([exchange] is off "
        "or hall_out_node is not set); every node of a cluster needs the same setting");
  }
  // 电子监察 hears of every transition inside its transaction.
  engine_options.on_transition = [this](soci::session& tx, const approval::Case& before,
                                        const approval::Case& after,
                                        const approval::StepRecord& record, int64_t now_ms,
                                        const approval::WorkCalendar* calendar) -> Status {
    TB_RETURN_IF_ERROR(
        approval_supervision_->OnTransition(tx, before, after, record, now_ms, calendar));
    // A case voided after 受理 leaves no fee notice to pay: its unpaid ones
    // are cancelled in the same transaction (a paid one is a refund's matter).
    if (payment_ != nullptr && after.state == approval::CaseState::kVoided &&
        before.state != approval::CaseState::kVoided && before.accepted_at_ms != 0) {
      auto cancelled = payment_->notices().CancelCaseNoticesIn(tx, after.number, "办件已作废");
      if (!cancelled.ok()) return std::move(cancelled).error();
    }
    return Status::Ok();
  };
  engine_options.org_name = [this](std::string_view orgcoding) -> std::string {
    auto org = directory_->GetOrg(directory::Caller::Admin(), orgcoding);
    if (!org.ok()) return std::string();
    return org->orgallname.empty() ? org->orgname : org->orgallname;
  };
  approval_engine_ = std::make_unique<approval::CaseEngine>(
      *sql_, *approval_outbox_, *approval_matters_, *approval_calendars_, clock(), random(),
      std::move(engine_options));
  return Status::Ok();
}

}  // namespace tongban::app
