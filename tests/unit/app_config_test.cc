#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace tongban::app {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("tongban-config-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(ConfigFileTest, ExampleFileLoadsAndMatchesTheDefaults) {
  Config config;
  ASSERT_TRUE(LoadConfigFile(std::string(TONGBAN_SOURCE_DIR) + "/tongban.example.toml", config).ok());
  Config defaults;
  EXPECT_EQ(config.server.port, defaults.server.port);
  EXPECT_EQ(config.sso.authcode_ttl_s, defaults.sso.authcode_ttl_s);
  EXPECT_EQ(config.storage.tickets, defaults.storage.tickets);
}

TEST_F(ConfigFileTest, SetKeysOverrideDefaultsAndOthersStay) {
  Config config;
  ASSERT_TRUE(LoadConfigFile(Write("[server]\nport = 9090\ntrusted_proxies = [\"10.0.0.1\"]\n"
                                   "[sso]\nticket_ttl_s = 30\n"),
                             config)
                  .ok());
  EXPECT_EQ(config.server.port, 9090);
  ASSERT_EQ(config.server.trusted_proxies.size(), 1u);
  EXPECT_EQ(config.server.trusted_proxies[0], "10.0.0.1");
  EXPECT_EQ(config.sso.ticket_ttl_s, 30);
  EXPECT_EQ(config.sso.access_token_ttl_s, Config{}.sso.access_token_ttl_s);
}

TEST_F(ConfigFileTest, UnknownKeyIsRefusedByName) {
  Config config;
  Status s = LoadConfigFile(Write("[server]\nprot = 9090\n"), config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("prot"), std::string::npos);
}

TEST_F(ConfigFileTest, UnknownTableIsRefused) {
  Config config;
  EXPECT_FALSE(LoadConfigFile(Write("[servr]\nport = 1\n"), config).ok());
}

TEST_F(ConfigFileTest, WrongTypeIsRefusedWithTheExpectedType) {
  Config config;
  Status s = LoadConfigFile(Write("[server]\nport = \"eighty\"\n"), config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("integer"), std::string::npos);
}

TEST_F(ConfigFileTest, NegativeValueForASizeIsRefusedByNameInsteadOfWrapping) {
  for (const char* key :
       {"max_body_bytes", "max_header_bytes", "max_connections", "max_connections_per_ip"}) {
    Config config;
    Status s = LoadConfigFile(Write("[server]\n" + std::string(key) + " = -1\n"), config);
    ASSERT_FALSE(s.ok()) << key;
    EXPECT_NE(s.error().message.find(std::string("[server] ") + key), std::string::npos)
        << s.error().message;
    EXPECT_NE(s.error().message.find("from 0 to 18446744073709551615"), std::string::npos)
        << s.error().message;
  }
}

TEST_F(ConfigFileTest, ValueAboveTheFieldsRangeIsRefusedInsteadOfWrapping) {
  Config config;
  // 2^32 + 1 would become 1 in an int.
  Status s = LoadConfigFile(Write("[server]\nthreads = 4294967297\n"), config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("[server] threads must be an integer from -2147483648 to "
                                   "2147483647"),
            std::string::npos)
      << s.error().message;
  EXPECT_EQ(config.server.threads, Config{}.server.threads);
}

TEST_F(ConfigFileTest, SyntaxErrorNamesTheFile) {
  Config config;
  std::string path = Write("[server\nport = 1\n");
  Status s = LoadConfigFile(path, config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(path), std::string::npos);
}

TEST(ConfigValidateTest, OutOfRangePortIsRefused) {
  Config config;
  config.server.port = 70000;
  EXPECT_FALSE(ValidateConfig(config).ok());
}

TEST(ConfigValidateTest, BlockingThreadsAreReadAndBounded) {
  Config config;
  config.server.blocking_threads = 257;
  EXPECT_FALSE(ValidateConfig(config).ok());
  config.server.blocking_threads = 4;
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST_F(ConfigFileTest, BlockingThreadsKeyIsRead) {
  Config config;
  ASSERT_TRUE(LoadConfigFile(Write("[server]\nblocking_threads = 3\n"), config).ok());
  EXPECT_EQ(config.server.blocking_threads, 3);
}

TEST(ConfigValidateTest, TicketStoreMustBeMemoryOrRedis) {
  Config config;
  config.storage.tickets = "memcached://x";
  EXPECT_FALSE(ValidateConfig(config).ok());
  config.storage.tickets = "redis://127.0.0.1:6379";
  EXPECT_TRUE(ValidateConfig(config).ok());
  config.storage.tickets = "unix:///run/redis/redis.sock";  // a Redis on the same host
  EXPECT_TRUE(ValidateConfig(config).ok());
  config.storage.tickets = "unix:/run/redis/redis.sock";
  EXPECT_FALSE(ValidateConfig(config).ok());
}

TEST(ConfigValidateTest, ContextPathMustBeAbsoluteWithoutTrailingSlash) {
  Config config;
  config.sso.context_path = "sso";
  EXPECT_FALSE(ValidateConfig(config).ok());
  config.sso.context_path = "/sso/";
  EXPECT_FALSE(ValidateConfig(config).ok());
}

TEST(ConfigValidateTest, SignDefaultsAreAFiveMinuteWindowInChinaStandardTime) {
  Config config;
  EXPECT_EQ(config.sso.sign_window_s, 300);
  EXPECT_EQ(config.sso.sign_time_zone, "+08:00");
}

TEST_F(ConfigFileTest, SignTimeZoneIsReadAndAnUnknownZoneRefused) {
  Config config;
  ASSERT_TRUE(LoadConfigFile(Write("[sso]\nsign_time_zone = \"local\"\n"), config).ok());
  EXPECT_EQ(config.sso.sign_time_zone, "local");
  Status s = LoadConfigFile(Write("[sso]\nsign_time_zone = \"Asia/Shanghai\"\n"), config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("sign_time_zone"), std::string::npos);
}

TEST(ConfigValidateTest, OidcRedirectUriMatchIsExactByDefaultOrPrefix) {
  Config config;
  EXPECT_EQ(config.oidc.redirect_uri_match, "exact");
  config.oidc.redirect_uri_match = "prefix";
  EXPECT_TRUE(ValidateConfig(config).ok());
  config.oidc.redirect_uri_match = "loose";
  EXPECT_FALSE(ValidateConfig(config).ok());
}

TEST(ConfigUrlsTest, DatabaseUrlDefaultsToSqliteUnderTheDataDir) {
  Config config;
  config.storage.data_dir = "/tmp/tb";
  EXPECT_EQ(config.DatabaseUrl(), "sqlite:///tmp/tb/tongban.db");
  config.storage.database = "postgresql://u@h/db";
  EXPECT_EQ(config.DatabaseUrl(), "postgresql://u@h/db");
}

TEST(ConfigUrlsTest, PublicUrlDropsTrailingSlashes) {
  Config config;
  config.server.public_url = "https://sso.example.gov.cn//";
  EXPECT_EQ(config.PublicUrl(), "https://sso.example.gov.cn");
}

}  // namespace
}  // namespace tongban::app

namespace tongban::app {
namespace {

TEST(ConfigValidateTest, PushClaimTimeoutMustExceedTheRequestTimeout) {
  Config config;
  config.push.request_timeout_s = 60;
  config.push.claim_timeout_s = 60;
  Status s = ValidateConfig(config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("claim_timeout_s"), std::string::npos);
}

TEST_F(ConfigFileTest, PushTableIsRead) {
  Config config;
  ASSERT_TRUE(LoadConfigFile(Write("[push]\nmax_attempts = 3\nworkers = 4\n"
                                   "ca_file = \"/etc/tongban/gov-ca.pem\"\n"),
                             config)
                  .ok());
  EXPECT_EQ(config.push.ca_file, "/etc/tongban/gov-ca.pem");
  EXPECT_EQ(config.push.max_attempts, 3);
  EXPECT_EQ(config.push.workers, 4);
}

TEST_F(ConfigFileTest, UnitNotifyPipelineAndLingerAreReadAndBounded) {
  Config config;
  EXPECT_EQ(config.payment.unit_notify_pipeline, 32);
  EXPECT_EQ(config.payment.unit_notify_linger_ms, 5);
  ASSERT_TRUE(LoadConfigFile(Write("[payment]\nunit_notify_pipeline = 1\n"
                                   "unit_notify_linger_ms = 0\n"),
                             config)
                  .ok());
  EXPECT_EQ(config.payment.unit_notify_pipeline, 1);
  EXPECT_EQ(config.payment.unit_notify_linger_ms, 0);
  Config zero;
  Status s = LoadConfigFile(Write("[payment]\nunit_notify_pipeline = 0\n"), zero);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unit_notify_pipeline"), std::string::npos);
  Config negative;
  s = LoadConfigFile(Write("[payment]\nunit_notify_linger_ms = -1\n"), negative);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unit_notify_linger_ms"), std::string::npos);
}

TEST_F(ConfigFileTest, ConsoleTableIsReadAndItsUnknownKeysRefused) {
  Config config;
  ASSERT_TRUE(LoadConfigFile(Write("[console]\nenabled = false\ndir = \"/srv/console\"\n"),
                             config)
                  .ok());
  EXPECT_FALSE(config.console.enabled);
  EXPECT_EQ(config.console.dir, "/srv/console");
  Config other;
  Status s = LoadConfigFile(Write("[console]\ndirectory = \"/x\"\n"), other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("directory"), std::string::npos);
}

}  // namespace
}  // namespace tongban::app
