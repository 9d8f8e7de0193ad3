// Test support for the directory tests: a Directory on a fresh database
// (SQLite in a temp dir by default, or the private PostgreSQL server), with a
// fake clock, a seeded random source, cheap argon2id parameters, and helpers
// to add orgs/users/apps and to read the outbox.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "crypto/secret_box.h"
#include "directory/codes.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "store/outbox.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban::directory::test {

// A valid resident ID number (GB 11643 check digit): born 1990-03-07, male.
inline constexpr const char* kValidIdNum = "11010519900307451X";

inline DirectoryOptions FastOptions() {
  DirectoryOptions options;
  options.password_params = crypto::PasswordParams{1, 8192};  // libsodium's minimums
  return options;
}

class DirectoryFixture : public ::testing::Test {
 protected:
  void SetUp() override { OpenOn("sqlite"); }

  // Opens a fresh database of `backend` and a Directory on it.
  void OpenOn(const std::string& backend, DirectoryOptions options = FastOptions()) {
    std::string why;
    // Each call gets its own SQLite file, so a test may open a second directory.
    url_ = backend == "sqlite"
               ? "sqlite://" + tmp_.File("directory" + std::to_string(++databases_) + ".db")
               : store_test::FreshDatabaseUrl(backend, tmp_, &why);
    if (url_.empty()) GTEST_SKIP() << why;
    auto store = SqlStore::Open(url_, 2);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    std::vector<Migration> migrations = DirectoryMigrations();
    for (Migration& m : Outbox::Migrations()) migrations.push_back(std::move(m));
    Status migrated = store_->Migrate(migrations);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    outbox_ = std::make_unique<Outbox>(*store_);
    auto box = crypto::SecretBox::Create(std::string(32, 'k'), box_random_);
    ASSERT_TRUE(box.ok()) << box.error().message;
    box_.emplace(std::move(*box));
    Reopen(options);
  }

  // A new Directory on the same database (empty caches).
  void Reopen(DirectoryOptions options = FastOptions()) {
    dir_.reset();
    auto dir = Directory::Open(*store_, *outbox_, clock_, random_, *box_, options);
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    dir_ = std::move(*dir);
  }

  Org AddOrg(const std::string& coding, const std::string& name) {
    auto saved = dir_->SaveOrg(Caller::Admin(), {{"orgcoding", coding}, {"orgname", name}});
    EXPECT_TRUE(saved.ok()) << coding << ": " << saved.error().message;
    return saved.ok() ? saved->org : Org{};
  }

  // Adds a user with a password of "pw-" + loginname, in org `orgcoding`.
  User AddUser(const std::string& loginname, const std::string& orgcoding, Fields extra = {}) {
    Fields args = {{"loginname", loginname},
                   {"username", "用户" + loginname},
                   {"orgcoding", orgcoding},
                   {"loginpwd", "pw-" + loginname}};
    for (auto& [k, v] : extra) args[k] = v;
    auto saved = dir_->SaveUser(Caller::Admin(), args);
    EXPECT_TRUE(saved.ok()) << loginname << ": " << saved.error().message;
    return saved.ok() ? saved->user : User{};
  }

  // An app subscribed to pushes.
  App AddPushApp(const std::string& servicecode, const std::string& scope = "",
                 bool directory_write = true) {
    App settings;
    settings.servicecode = servicecode;
    settings.name = "应用 " + servicecode;
    settings.push_url = "http://127.0.0.1:9/push/" + servicecode;
    settings.push_enabled = true;
    settings.directory_write = directory_write;
    settings.org_scope = scope;
    auto created = dir_->CreateApp(settings);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? created->app : App{};
  }

  App AddApp(const std::string& servicecode, bool directory_write = true,
             const std::string& scope = "") {
    App settings;
    settings.servicecode = servicecode;
    settings.name = "应用 " + servicecode;
    settings.directory_write = directory_write;
    settings.org_scope = scope;
    auto created = dir_->CreateApp(settings);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? created->app : App{};
  }

  std::vector<OutboxMessage> Pending() {
    auto list = outbox_->List(OutboxState::kPending, 10'000);
    EXPECT_TRUE(list.ok()) << list.error().message;
    return list.ok() ? *list : std::vector<OutboxMessage>{};
  }

  std::vector<OutboxMessage> PendingFor(const std::string& destination) {
    std::vector<OutboxMessage> out;
    for (OutboxMessage& m : Pending()) {
      if (m.destination == destination) out.push_back(std::move(m));
    }
    return out;
  }

  // One text value straight from the database.
  std::string QueryText(const std::string& query) {
    auto value = store_->WithSession([&](soci::session& sql) -> Result<std::string> {
      std::string v;
      sql << query, soci::into(v);
      return v;
    });
    EXPECT_TRUE(value.ok()) << value.error().message;
    return value.ok() ? *value : "";
  }

  void Execute(const std::string& statement) {
    Status st = store_->WithSession([&](soci::session& sql) -> Status {
      sql << statement;
      return Status::Ok();
    });
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  store_test::TempDir tmp_;
  int databases_ = 0;
  std::string url_;
  FakeClock clock_;
  FakeRandom random_{7};
  FakeRandom box_random_{11};
  std::unique_ptr<SqlStore> store_;
  std::unique_ptr<Outbox> outbox_;
  std::optional<crypto::SecretBox> box_;
  std::unique_ptr<Directory> dir_;
};

// Expects `result` (a Result or Status) to have failed with `code`.
#define EXPECT_CODE(result, expected_code)                                   \
  do {                                                                       \
    auto tb_r_ = (result);                                                   \
    ASSERT_FALSE(tb_r_.ok()) << "expected code " << (expected_code);         \
    EXPECT_EQ(tb_r_.error().code, (expected_code)) << tb_r_.error().message; \
  } while (0)

}  // namespace tongban::directory::test
