// Issue 12 items 2 and 9: the request signature (HMAC over method, every
// parameter and a nonce) and the per-app sign_mode that requires it; replay
// refusal only for writes and credentials, keyed on normalised values; writes
// refused over GET; `time` read as China Standard Time whatever the host's TZ.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/parse.h"
#include "crypto/sign.h"
#include "directory_test_support.h"
#include "http/request.h"
#include "http/response.h"
#include "sso/reply.h"
#include "sso/signed_api.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

using namespace std::chrono_literals;

class MapParams final : public CallParams {
 public:
  explicit MapParams(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  std::string_view Get(std::string_view name) const override {
    auto it = values_.find(std::string(name));
    return it == values_.end() ? std::string_view() : std::string_view(it->second);
  }
  std::vector<std::string_view> Names() const override {
    std::vector<std::string_view> names;
    for (const auto& [name, value] : values_) names.push_back(name);
    return names;
  }
  std::map<std::string, std::string>& values() { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

// Sets TZ for one test and restores it after: the host zone must not matter.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTimeZone() {
    if (old_) {
      setenv("TZ", old_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::optional<std::string> old_;
};

class SigningModesTest : public directory::test::DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    pwd_ = Create("app1", crypto::SignMode::kSpec);
    SignedApiOptions options;
    options.soap_service = "TestService";
    api_ = std::make_unique<SignedApi>(options, *dir_, tickets_, clock_);
    for (const char* name : {"read", "write", "credential"}) {
      api_->AddMethod(name, {"text"}, [](const ApiCall& call) {
        return Success().Set("text", call.Param("text"));
      });
    }
    api_->SetEffect("read", MethodEffect::kRead);
    api_->SetEffect("credential", MethodEffect::kCredential);
  }

  std::string Create(const std::string& servicecode, crypto::SignMode mode) {
    directory::App settings;
    settings.servicecode = servicecode;
    settings.name = "应用 " + servicecode;
    settings.sign_mode = mode;
    auto created = dir_->CreateApp(settings);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? created->servicepwd : "";
  }

  MapParams Spec(const std::string& servicecode, const std::string& pwd) {
    std::string time = FormatSpecTime(clock_.Now());
    return MapParams({{"servicecode", servicecode},
                      {"time", time},
                      {"sign", crypto::ComputeSign(crypto::SignType::kMd5, servicecode, pwd, time)},
                      {"text", "你好"}});
  }

  MapParams Request(const std::string& method, const std::string& servicecode,
                    const std::string& pwd, crypto::SignMode mode,
                    const std::string& nonce = "n0nce-0123456789") {
    MapParams params({{"servicecode", servicecode},
                      {"time", FormatSpecTime(clock_.Now())},
                      {"signmethod", std::string(crypto::SignModeName(mode))},
                      {"nonce", nonce},
                      {"text", "你好 a+b&c"},
                      {"datatype", "json"}});
    params.values()["sign"] =
        crypto::ComputeRequestSign(mode, pwd, CanonicalRequest(method, params));
    return params;
  }

  int Code(const CallParams& params, std::string_view method) {
    auto app = api_->Authenticate(params, method, "127.0.0.1");
    return app.ok() ? 0 : app.error().code;
  }

  // Sends `query` to the servlet by `http_method` (form body for POST); the result code.
  std::string Http(const std::string& http_method, const std::string& query) {
    http::RequestInit init;
    init.method = http_method;
    if (http_method == "GET") {
      init.target = "/sso/servlet/test?" + query;
    } else {
      init.target = "/sso/servlet/test";
      init.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
      init.body = query;
    }
    auto request = http::Request::Create(init);
    EXPECT_TRUE(request.ok());
    http::Response response;
    api_->HandleHttp(*request, response);
    if (response.deferred()) response.RunDeferred();
    auto reply = codec::ParseJson(response.body());
    EXPECT_TRUE(reply.ok()) << response.body();
    return reply.ok() ? (*reply)["result"].AsString() : "";
  }

  std::string SpecQuery(const std::string& method) {
    MapParams p = Spec("app1", pwd_);
    return "method=" + method + "&servicecode=app1&time=" + std::string(p.Get("time")) +
           "&sign=" + std::string(p.Get("sign")) + "&text=x&datatype=json";
  }

  MemoryTicketStore tickets_{clock_};
  std::string pwd_;
  std::unique_ptr<SignedApi> api_;
};

// ---------------------------------------------------------------- canonical string

TEST(CanonicalRequestTest, SortsEveryParameterButSignAndMethodAndPercentEncodesUtf8) {
  MapParams params({{"time", "20240101120000"},
                    {"servicecode", "app1"},
                    {"method", "getOrgInfo"},
                    {"sign", "ignored"},
                    {"orgcoding", "001"},
                    {"args", "{\"username\":\"张三 a+b\"}"},
                    {"empty", ""},
                    {"nonce", "abc_DEF-0123456789~"}});
  EXPECT_EQ(CanonicalRequest("getOrgInfo", params),
            "TB1\ngetOrgInfo\n"
            "args=%7B%22username%22%3A%22%E5%BC%A0%E4%B8%89%20a%2Bb%22%7D&empty="
            "&nonce=abc_DEF-0123456789~&orgcoding=001&servicecode=app1&time=20240101120000");
}

// ---------------------------------------------------------------- request signatures

TEST_F(SigningModesTest, ARequestSignedCallIsAuthenticatedUnderBothHmacs) {
  EXPECT_EQ(Code(Request("read", "app1", pwd_, crypto::SignMode::kHmacSha256), "read"), 0);
  EXPECT_EQ(Code(Request("read", "app1", pwd_, crypto::SignMode::kHmacSm3, "another-nonce-0001"),
                 "read"),
            0);
}

TEST_F(SigningModesTest, ARequestSignatureDoesNotOpenAnotherMethod) {
  MapParams params = Request("read", "app1", pwd_, crypto::SignMode::kHmacSha256);
  EXPECT_EQ(Code(params, "write"), code::kBadSign);
}

TEST_F(SigningModesTest, ARequestSignatureDoesNotCoverAChangedOrAddedParameter) {
  MapParams changed = Request("write", "app1", pwd_, crypto::SignMode::kHmacSha256);
  changed.values()["text"] = "另一个";
  EXPECT_EQ(Code(changed, "write"), code::kBadSign);
  MapParams added = Request("write", "app1", pwd_, crypto::SignMode::kHmacSha256, "nonce-added-0001");
  added.values()["userid"] = "admin";
  EXPECT_EQ(Code(added, "write"), code::kBadSign);
}

TEST_F(SigningModesTest, ANonceIsSingleUseEvenForReads) {
  MapParams params = Request("read", "app1", pwd_, crypto::SignMode::kHmacSha256);
  EXPECT_EQ(Code(params, "read"), 0);
  EXPECT_EQ(Code(params, "read"), code::kReplayed);
}

TEST_F(SigningModesTest, AMissingOrShortNonceIs9901) {
  MapParams none = Request("read", "app1", pwd_, crypto::SignMode::kHmacSha256, "");
  EXPECT_EQ(Code(none, "read"), code::kBadSign);
  MapParams short_nonce = Request("read", "app1", pwd_, crypto::SignMode::kHmacSha256, "abc");
  EXPECT_EQ(Code(short_nonce, "read"), code::kBadSign);
}

TEST_F(SigningModesTest, AnUnknownSignmethodIs9901) {
  MapParams params = Request("read", "app1", pwd_, crypto::SignMode::kHmacSha256);
  params.values()["signmethod"] = "spec";
  EXPECT_EQ(Code(params, "read"), code::kBadSign);
}

// ---------------------------------------------------------------- per-app sign_mode

TEST_F(SigningModesTest, AnAppRequiringHmacRefusesTheSpecSignature) {
  std::string pwd = Create("strict", crypto::SignMode::kHmacSha256);
  EXPECT_EQ(Code(Spec("strict", pwd), "read"), code::kBadSign);
  EXPECT_EQ(Code(Request("read", "strict", pwd, crypto::SignMode::kHmacSha256), "read"), 0);
}

TEST_F(SigningModesTest, AnAppRequiringHmacSm3RefusesHmacSha256) {
  std::string pwd = Create("national", crypto::SignMode::kHmacSm3);
  EXPECT_EQ(Code(Request("read", "national", pwd, crypto::SignMode::kHmacSha256), "read"),
            code::kBadSign);
  EXPECT_EQ(Code(Request("read", "national", pwd, crypto::SignMode::kHmacSm3, "nonce-sm3-000001"),
                 "read"),
            0);
}

TEST_F(SigningModesTest, TheSignModeIsStoredAndReadBack) {
  Create("stored", crypto::SignMode::kHmacSm3);
  auto app = dir_->GetApp("stored");
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->sign_mode, crypto::SignMode::kHmacSm3);
  directory::App changed = *app;
  changed.sign_mode = crypto::SignMode::kSpec;
  ASSERT_TRUE(dir_->UpdateApp(changed).ok());
  EXPECT_EQ(dir_->GetApp("stored")->sign_mode, crypto::SignMode::kSpec);
}

// ---------------------------------------------------------------- spec-signed replays

TEST_F(SigningModesTest, AnIdenticalSpecSignedReadPassesTwice) {
  MapParams params = Spec("app1", pwd_);
  EXPECT_EQ(Code(params, "read"), 0);
  EXPECT_EQ(Code(params, "read"), 0);
}

TEST_F(SigningModesTest, AnIdenticalSpecSignedWriteOrCredentialCallIsARefusedReplay) {
  MapParams params = Spec("app1", pwd_);
  EXPECT_EQ(Code(params, "write"), 0);
  EXPECT_EQ(Code(params, "write"), code::kReplayed);
  EXPECT_EQ(Code(params, "credential"), 0);
  EXPECT_EQ(Code(params, "credential"), code::kReplayed);
}

TEST_F(SigningModesTest, AnUpperCaseSignIsTheSameRequest) {
  MapParams params = Spec("app1", pwd_);
  EXPECT_EQ(Code(params, "write"), 0);
  std::string& sign = params.values()["sign"];
  for (char& c : sign) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(Code(params, "write"), code::kReplayed);
  sign[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(sign[0])));
  EXPECT_EQ(Code(params, "write"), code::kReplayed);
}

TEST_F(SigningModesTest, Datatype1AndJsonAreTheSameRequest) {
  MapParams params = Spec("app1", pwd_);
  params.values()["datatype"] = "json";
  EXPECT_EQ(Code(params, "write"), 0);
  params.values()["datatype"] = "1";
  EXPECT_EQ(Code(params, "write"), code::kReplayed);
  params.values()["datatype"] = "XML";
  EXPECT_EQ(Code(params, "write"), 0);
  params.values()["datatype"] = "0";
  EXPECT_EQ(Code(params, "write"), code::kReplayed);
}

// ---------------------------------------------------------------- GET

TEST_F(SigningModesTest, AWriteOverGetIs9907AndLeavesNoReplayMark) {
  std::string query = SpecQuery("write");
  EXPECT_EQ(Http("GET", query), "9907");
  EXPECT_EQ(Http("POST", query), "0");
}

TEST_F(SigningModesTest, ReadsAndCredentialCallsStillWorkOverGet) {
  EXPECT_EQ(Http("GET", SpecQuery("read")), "0");
  EXPECT_EQ(Http("GET", SpecQuery("credential")), "0");
}

// ---------------------------------------------------------------- time zone

TEST(SpecTimeZoneTest, ParsesOffsetsUtcAndLocal) {
  EXPECT_EQ(ParseSpecTimeZone("+08:00")->offset, 480min);
  EXPECT_EQ(ParseSpecTimeZone("+0800")->offset, 480min);
  EXPECT_EQ(ParseSpecTimeZone("-05:30")->offset, -330min);
  EXPECT_EQ(ParseSpecTimeZone("UTC")->offset, 0min);
  EXPECT_EQ(ParseSpecTimeZone("Z")->offset, 0min);
  EXPECT_TRUE(ParseSpecTimeZone("local")->host_local);
  for (const char* bad : {"", "8", "+8:00", "+08:60", "+15:00", "Asia/Shanghai", "+08:0a"}) {
    EXPECT_FALSE(ParseSpecTimeZone(bad).ok()) << bad;
  }
}

TEST(SpecTimeZoneTest, TheDefaultReadsChinaStandardTimeOnAUtcHost) {
  ScopedTimeZone utc("UTC");
  auto t = ParseSpecTime("20240101080000");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->time_since_epoch(), std::chrono::sys_days(std::chrono::year(2024) /
                                                         std::chrono::January / 1)
                                       .time_since_epoch());
  EXPECT_EQ(FormatSpecTime(*t), "20240101080000");
  EXPECT_EQ(FormatSpecTime(*t, *ParseSpecTimeZone("UTC")), "20240101000000");
}

TEST(SpecTimeZoneTest, LocalStillReadsTheHostZone) {
  ScopedTimeZone utc("UTC");
  auto t = ParseSpecTime("20240101080000", *ParseSpecTimeZone("local"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatSpecTime(*t, *ParseSpecTimeZone("UTC")), "20240101080000");
}

TEST_F(SigningModesTest, ABeijingTimeIsAcceptedOnAUtcHost) {
  ScopedTimeZone utc("UTC");
  // The fake clock's instant, 2023-11-14 22:13:20 UTC, as a caller in Beijing writes it.
  MapParams params({{"servicecode", "app1"}, {"time", "20231115061320"}, {"text", "x"}});
  params.values()["sign"] =
      crypto::ComputeSign(crypto::SignType::kMd5, "app1", pwd_, "20231115061320");
  EXPECT_EQ(Code(params, "read"), 0);
}

TEST(SignedApiOptionsTest, TheDefaultWindowIsFiveMinutes) {
  EXPECT_EQ(SignedApiOptions{}.sign_window, 300s);
}

}  // namespace
}  // namespace tongban::sso
