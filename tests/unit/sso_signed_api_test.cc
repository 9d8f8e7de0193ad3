// SignedApi: the authentication every signed SSO call goes through (9900
// unknown app, 9901 sign, 9902 time, 9903 source IP, 9904 disabled, 9906
// replay), the HTTP and SOAP bindings' dispatch, and the spec's time format.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "codec/parse.h"
#include "codec/soap.h"
#include "crypto/sign.h"
#include "directory_test_support.h"
#include "http/request.h"
#include "http/response.h"
#include "sso/reply.h"
#include "sso/signed_api.h"
#include "store/memory_ticket_store.h"
#include "store/ticket_store.h"

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

// ---------------------------------------------------------------- ParseSpecTime

TEST(ParseSpecTimeTest, ReadsWhatFormatSpecTimeWrites) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  auto parsed = ParseSpecTime(FormatSpecTime(t));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, t);
}

TEST(ParseSpecTimeTest, AcceptsALeapDay) { EXPECT_TRUE(ParseSpecTime("20240229235959").ok()); }

TEST(ParseSpecTimeTest, RefusesAWrongLength) {
  EXPECT_FALSE(ParseSpecTime("2024010112000").ok());
  EXPECT_FALSE(ParseSpecTime("202401011200000").ok());
  EXPECT_FALSE(ParseSpecTime("").ok());
}

TEST(ParseSpecTimeTest, RefusesNonDigits) {
  EXPECT_FALSE(ParseSpecTime("2024-01-01T1200").ok());
  EXPECT_FALSE(ParseSpecTime("2024010112000x").ok());
}

TEST(ParseSpecTimeTest, RefusesDatesThatDoNotExist) {
  EXPECT_FALSE(ParseSpecTime("20230229120000").ok());  // not a leap year
  EXPECT_FALSE(ParseSpecTime("20240230120000").ok());
  EXPECT_FALSE(ParseSpecTime("20241301120000").ok());
  EXPECT_FALSE(ParseSpecTime("20240100120000").ok());
}

TEST(ParseSpecTimeTest, RefusesTimesThatDoNotExist) {
  EXPECT_FALSE(ParseSpecTime("20240101240000").ok());
  EXPECT_FALSE(ParseSpecTime("20240101126000").ok());
  EXPECT_FALSE(ParseSpecTime("20240101120060").ok());
}

// ---------------------------------------------------------------- Authenticate

class SignedApiTest : public directory::test::DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    pwd_ = Create("app1");
    api_ = MakeApi(true);
  }

  std::unique_ptr<SignedApi> MakeApi(bool replay_protection) {
    SignedApiOptions options;
    options.soap_service = "TestService";
    options.sign_window = 600s;
    options.replay_protection = replay_protection;
    auto api = std::make_unique<SignedApi>(options, *dir_, tickets_, clock_);
    api->AddMethod("echo", {"text"}, [](const ApiCall& call) {
      return Success().Set("text", call.Param("text")).Set("app", call.app.servicecode);
    });
    api->AddMethod(
        "slowEcho", {"text"},
        [](const ApiCall& call) { return Success().Set("text", call.Param("text")); },
        MethodCost::kBlocking);
    api->AddMethod("explode", {},
                   [](const ApiCall&) -> codec::Value { throw std::runtime_error("handler bug"); });
    return api;
  }

  std::string Create(const std::string& servicecode, directory::App settings = {}) {
    settings.servicecode = servicecode;
    settings.name = "应用 " + servicecode;
    auto created = dir_->CreateApp(settings);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? created->servicepwd : "";
  }

  MapParams Signed(const std::string& servicecode, const std::string& pwd,
                   crypto::SignType type = crypto::SignType::kMd5) {
    std::string time = FormatSpecTime(clock_.Now());
    return MapParams({{"servicecode", servicecode},
                      {"time", time},
                      {"sign", crypto::ComputeSign(type, servicecode, pwd, time)},
                      {"text", "你好"}});
  }

  int AuthCode(const CallParams& params, std::string_view ip = "127.0.0.1") {
    auto app = api_->Authenticate(params, "echo", ip);
    return app.ok() ? 0 : app.error().code;
  }

  MemoryTicketStore tickets_{clock_};
  std::string pwd_;
  std::unique_ptr<SignedApi> api_;
};

TEST_F(SignedApiTest, ACorrectlySignedCallIsAuthenticated) {
  auto app = api_->Authenticate(Signed("app1", pwd_), "echo", "127.0.0.1");
  ASSERT_TRUE(app.ok()) << app.error().message;
  EXPECT_EQ((*app)->servicecode, "app1");
}

TEST_F(SignedApiTest, AnUnknownServicecodeIs9900) {
  EXPECT_EQ(AuthCode(Signed("nosuchapp", pwd_)), code::kUnknownServicecode);
}

TEST_F(SignedApiTest, AMissingServicecodeIs9900) {
  MapParams params = Signed("app1", pwd_);
  params.values().erase("servicecode");
  EXPECT_EQ(AuthCode(params), code::kUnknownServicecode);
}

TEST_F(SignedApiTest, ASignMadeWithAnotherPasswordIs9901) {
  EXPECT_EQ(AuthCode(Signed("app1", "not-the-password")), code::kBadSign);
}

TEST_F(SignedApiTest, AMissingSignIs9901) {
  MapParams params = Signed("app1", pwd_);
  params.values().erase("sign");
  EXPECT_EQ(AuthCode(params), code::kBadSign);
}

TEST_F(SignedApiTest, AMalformedTimeIs9902) {
  MapParams params = Signed("app1", pwd_);
  params.values()["time"] = "2023-11-14 22:13:20";
  params.values()["sign"] =
      crypto::ComputeSign(crypto::SignType::kMd5, "app1", pwd_, params.values()["time"]);
  EXPECT_EQ(AuthCode(params), code::kBadTime);
}

TEST_F(SignedApiTest, ATimeJustInsideTheWindowIsAccepted) {
  MapParams params = Signed("app1", pwd_);
  clock_.Advance(600s);
  EXPECT_EQ(AuthCode(params), 0);
}

TEST_F(SignedApiTest, ATimeOutsideTheWindowIs9902) {
  MapParams params = Signed("app1", pwd_);
  clock_.Advance(601s);
  EXPECT_EQ(AuthCode(params), code::kBadTime);
}

TEST_F(SignedApiTest, ATimeAheadOfTheServerOutsideTheWindowIs9902) {
  MapParams params = Signed("app1", pwd_);
  clock_.Set(clock_.Now() - 601s);
  EXPECT_EQ(AuthCode(params), code::kBadTime);
}

TEST_F(SignedApiTest, ASourceOutsideTheAllowListIs9903) {
  directory::App settings;
  settings.allowed_ips = {"10.0.0.0/8", "192.168.1.7"};
  std::string pwd = Create("fenced", settings);
  EXPECT_EQ(AuthCode(Signed("fenced", pwd), "127.0.0.1"), code::kIpNotAllowed);
}

TEST_F(SignedApiTest, ASourceInsideTheAllowListIsAccepted) {
  directory::App settings;
  settings.allowed_ips = {"10.0.0.0/8", "192.168.1.7"};
  std::string pwd = Create("fenced", settings);
  EXPECT_EQ(AuthCode(Signed("fenced", pwd), "10.20.30.40"), 0);
}

TEST_F(SignedApiTest, ADisabledAppIs9904) {
  std::string pwd = Create("paused");
  ASSERT_TRUE(dir_->DisableApp("paused").ok());
  EXPECT_EQ(AuthCode(Signed("paused", pwd)), code::kAppDisabled);
}

TEST_F(SignedApiTest, AnAppSigningWithSm3IsAuthenticated) {
  directory::App settings;
  settings.signtype = crypto::SignType::kSm3;
  std::string pwd = Create("national", settings);
  EXPECT_EQ(AuthCode(Signed("national", pwd, crypto::SignType::kSm3)), 0);
  EXPECT_EQ(AuthCode(Signed("national", pwd, crypto::SignType::kMd5)), code::kBadSign);
}

TEST_F(SignedApiTest, TheSameSignedCallTwiceIs9906) {
  MapParams params = Signed("app1", pwd_);
  EXPECT_EQ(AuthCode(params), 0);
  EXPECT_EQ(AuthCode(params), code::kReplayed);
}

TEST_F(SignedApiTest, AnotherCallInTheSameSecondIsNotAReplay) {
  MapParams first = Signed("app1", pwd_);
  MapParams second = Signed("app1", pwd_);
  second.values()["text"] = "another";
  EXPECT_EQ(AuthCode(first), 0);
  EXPECT_EQ(AuthCode(second), 0);
}

TEST_F(SignedApiTest, TheSameCallInAnotherDatatypeIsNotAReplay) {
  MapParams first = Signed("app1", pwd_);
  MapParams second = Signed("app1", pwd_);
  second.values()["datatype"] = "json";
  EXPECT_EQ(AuthCode(first), 0);
  EXPECT_EQ(AuthCode(second), 0);
}

TEST_F(SignedApiTest, ReplaysAreAllowedWhenProtectionIsOff) {
  api_ = MakeApi(false);
  MapParams params = Signed("app1", pwd_);
  EXPECT_EQ(AuthCode(params), 0);
  EXPECT_EQ(AuthCode(params), 0);
}

TEST_F(SignedApiTest, AReplayMarkLivesOnlyWhileItsCallIsAcceptable) {
  MapParams params = Signed("app1", pwd_);
  clock_.Advance(595s);  // the call's time stays acceptable for 5 s more
  const size_t before = tickets_.ApproximateSize();
  EXPECT_EQ(AuthCode(params), 0);
  EXPECT_EQ(AuthCode(params), code::kReplayed);
  EXPECT_EQ(tickets_.ApproximateSize(), before + 1);
  // 5 s of window, 1 s for `time`'s whole seconds, 30 s for other nodes' clocks.
  clock_.Advance(35s);
  tickets_.Sweep();
  EXPECT_EQ(tickets_.ApproximateSize(), before + 1);
  clock_.Advance(2s);
  tickets_.Sweep();
  EXPECT_EQ(tickets_.ApproximateSize(), before);
  EXPECT_EQ(AuthCode(params), code::kBadTime);  // the time check refuses it now
}

// A method that redeems a single-use grant in one atomic store step fails a
// replay by itself (the grant is gone): no replay mark is set for it, while
// every other signed write still gets one.
TEST_F(SignedApiTest, AMethodThatRedeemsASingleUseGrantSetsNoReplayMark) {
  api_->AddMethod("redeem", {"text"}, [](const ApiCall&) { return Success(); });
  api_->SetEffect("redeem", MethodEffect::kRedeemsSingleUse);
  MapParams params = Signed("app1", pwd_);
  const size_t before = tickets_.ApproximateSize();
  EXPECT_TRUE(api_->Authenticate(params, "redeem", "127.0.0.1").ok());
  EXPECT_TRUE(api_->Authenticate(params, "redeem", "127.0.0.1").ok());
  EXPECT_EQ(tickets_.ApproximateSize(), before);
  EXPECT_EQ(AuthCode(params), 0);
  EXPECT_EQ(tickets_.ApproximateSize(), before + 1) << "a write is marked as before";
  EXPECT_EQ(AuthCode(params), code::kReplayed);
}

TEST_F(SignedApiTest, ARefusedCallDoesNotUseUpItsReplaySlot) {
  MapParams params = Signed("app1", pwd_);
  std::string sign = params.values()["sign"];
  params.values()["sign"] = std::string(32, '0');
  EXPECT_EQ(AuthCode(params), code::kBadSign);
  params.values()["sign"] = sign;
  EXPECT_EQ(AuthCode(params), 0);
}

// ---------------------------------------------------------------- HTTP binding

class SignedApiHttpTest : public SignedApiTest {
 protected:
  // POSTs the form `params` plus `extra` to the servlet; returns the reply parsed.
  codec::Value Post(const MapParams& params, const std::string& extra, http::Response* out) {
    std::string body;
    for (const char* name : {"servicecode", "time", "sign"}) {
      body += std::string(name) + "=" + std::string(params.Get(name)) + "&";
    }
    body += extra;
    auto request =
        http::Request::Create({.method = "POST",
                               .target = "/sso/servlet/test",
                               .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                               .body = body});
    EXPECT_TRUE(request.ok());
    api_->HandleHttp(*request, *out);
    // What a Server does with deferred work, here on this thread.
    deferred_ = out->deferred();
    if (deferred_) {
      EXPECT_TRUE(out->body().empty());
      out->RunDeferred();
    }
    EXPECT_EQ(out->status(), 200);
    auto reply = out->content_type().find("json") != std::string_view::npos
                     ? codec::ParseJson(out->body())
                     : codec::ParseSsoXml(out->body());
    EXPECT_TRUE(reply.ok()) << out->body();
    return reply.ok() ? *reply : codec::Value();
  }

  bool deferred_ = false;
};

TEST_F(SignedApiHttpTest, ABlockingMethodIsDeferredAndACheapOneIsNot) {
  http::Response response;
  codec::Value reply =
      Post(Signed("app1", pwd_), "method=slowEcho&text=hi&datatype=json", &response);
  EXPECT_TRUE(deferred_);
  EXPECT_EQ(reply["result"].AsString(), "0");
  EXPECT_EQ(reply["text"].AsString(), "hi");
  http::Response cheap;
  Post(Signed("app1", pwd_), "method=echo&text=hi2&datatype=json", &cheap);
  EXPECT_FALSE(deferred_);
}

TEST_F(SignedApiHttpTest, ASignedCallReachesItsHandler) {
  http::Response response;
  codec::Value reply = Post(Signed("app1", pwd_), "method=echo&text=hi&datatype=json", &response);
  EXPECT_EQ(response.content_type(), "application/json;charset=utf-8");
  EXPECT_EQ(reply["result"].AsString(), "0");
  EXPECT_EQ(reply["text"].AsString(), "hi");
  EXPECT_EQ(reply["app"].AsString(), "app1");
}

TEST_F(SignedApiHttpTest, AnUnknownMethodIs9800) {
  http::Response response;
  codec::Value reply = Post(Signed("app1", pwd_), "method=nothing&datatype=json", &response);
  EXPECT_EQ(reply["result"].AsString(), "9800");
}

TEST_F(SignedApiHttpTest, AnUnknownDatatypeIs9905InXml) {
  http::Response response;
  codec::Value reply = Post(Signed("app1", pwd_), "method=echo&datatype=yaml", &response);
  EXPECT_EQ(response.content_type(), "text/xml;charset=utf-8");
  EXPECT_EQ(reply["result"].AsString(), "9905");
}

TEST_F(SignedApiHttpTest, AnAuthFailureIsAnsweredBeforeTheHandlerRuns) {
  http::Response response;
  codec::Value reply = Post(Signed("app1", "wrong"), "method=explode&datatype=json", &response);
  EXPECT_EQ(reply["result"].AsString(), "9901");
}

TEST_F(SignedApiHttpTest, AHandlerThatThrowsIsAnswered9999) {
  http::Response response;
  codec::Value reply = Post(Signed("app1", pwd_), "method=explode&datatype=json", &response);
  EXPECT_EQ(reply["result"].AsString(), "9999");
}

// ---------------------------------------------------------------- memory first, remote stores

// The memory store, reporting itself Remote() as Redis does: which calls
// SignedApi keeps off the I/O thread depends on that alone.
class RemoteLikeStore final : public TicketStore {
 public:
  explicit RemoteLikeStore(const Clock& clock) : memory_(clock) {}
  Status Put(std::string_view k, std::string_view v, std::chrono::milliseconds t) override {
    return memory_.Put(k, v, t);
  }
  Result<bool> PutIfAbsent(std::string_view k, std::string_view v,
                           std::chrono::milliseconds t) override {
    ++marks;
    return memory_.PutIfAbsent(k, v, t);
  }
  Result<bool> PutIfPresent(std::string_view k, std::string_view v,
                            std::chrono::milliseconds t) override {
    return memory_.PutIfPresent(k, v, t);
  }
  Result<std::string> Get(std::string_view k) override { return memory_.Get(k); }
  Result<std::string> Redeem(std::string_view k) override { return memory_.Redeem(k); }
  Status Erase(std::string_view k) override { return memory_.Erase(k); }
  Status Touch(std::string_view k, std::chrono::milliseconds t) override {
    return memory_.Touch(k, t);
  }
  Status AddToSet(std::string_view s, std::string_view m, std::chrono::milliseconds t) override {
    return memory_.AddToSet(s, m, t);
  }
  Result<std::vector<std::string>> Members(std::string_view s) override {
    return memory_.Members(s);
  }
  Status EraseSet(std::string_view s) override { return memory_.EraseSet(s); }
  bool Remote() const override { return true; }
  size_t ApproximateSize() override { return memory_.ApproximateSize(); }
  int marks = 0;

 private:
  MemoryTicketStore memory_;
};

class MemoryFirstTest : public SignedApiHttpTest {
 protected:
  // "lookup": answers from "memory" unless text is "miss"; records the
  // lookups it was called with. The calling app is loaded into memory.
  void AddLookup(SignedApi& api) {
    ASSERT_TRUE(dir_->CachedApp("app1").ok());
    api.AddMemoryFirstMethod("lookup", {"text"},
                             [this](const ApiCall& call) -> std::optional<codec::Value> {
                               lookups_.push_back(call.lookup);
                               if (call.lookup == directory::Lookup::kMemoryOnly &&
                                   call.Param("text") == "miss") {
                                 return std::nullopt;
                               }
                               return Success().Set("text", call.Param("text"));
                             });
  }

  // A request-signed (hmac-sha256, nonce) POST of `method` with `text`.
  codec::Value PostRequestSigned(SignedApi& api, const std::string& method,
                                 const std::string& text, const std::string& nonce,
                                 http::Response* out) {
    MapParams params({{"servicecode", "app1"},
                      {"time", FormatSpecTime(clock_.Now())},
                      {"datatype", "json"},
                      {"signmethod", "hmac-sha256"},
                      {"nonce", nonce},
                      {"text", text}});
    std::string sign = crypto::ComputeRequestSign(crypto::SignMode::kHmacSha256, pwd_,
                                                  CanonicalRequest(method, params));
    std::string body = "method=" + method + "&sign=" + sign;
    for (const auto& [name, value] : params.values()) body += "&" + name + "=" + value;
    auto request =
        http::Request::Create({.method = "POST",
                               .target = "/sso/servlet/test",
                               .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                               .body = body});
    EXPECT_TRUE(request.ok());
    api.HandleHttp(*request, *out);
    deferred_ = out->deferred();
    if (deferred_) out->RunDeferred();
    auto reply = codec::ParseJson(out->body());
    EXPECT_TRUE(reply.ok()) << out->body();
    return reply.ok() ? *reply : codec::Value();
  }

  std::vector<directory::Lookup> lookups_;
};

TEST_F(MemoryFirstTest, AnAnswerFromMemoryStaysOnTheIoThreadAndAMissGoesToThePool) {
  AddLookup(*api_);
  http::Response hit;
  codec::Value reply = Post(Signed("app1", pwd_), "method=lookup&text=hi&datatype=json", &hit);
  EXPECT_FALSE(deferred_);
  EXPECT_EQ(reply["text"].AsString(), "hi");
  EXPECT_EQ(lookups_, std::vector<directory::Lookup>{directory::Lookup::kMemoryOnly});

  lookups_.clear();
  http::Response miss;
  reply = Post(Signed("app1", pwd_), "method=lookup&text=miss&datatype=json", &miss);
  EXPECT_TRUE(deferred_);
  EXPECT_EQ(reply["result"].AsString(), "0");
  EXPECT_EQ(reply["text"].AsString(), "miss");
  EXPECT_EQ(lookups_, (std::vector<directory::Lookup>{directory::Lookup::kMemoryOnly,
                                                      directory::Lookup::kMayLoad}));
}

// A reply the handler gives already rendered (text kept with a snapshot) is
// the body as it is over HTTP, and SOAP wraps it as it wraps rendered text.
TEST_F(MemoryFirstTest, AnAlreadyRenderedReplyIsSentAsItIsAndWrappedBySoap) {
  ASSERT_TRUE(dir_->CachedApp("app1").ok());
  auto kept = std::make_shared<const std::string>(R"({"result":"0","errmsg":"kept<&>"})");
  api_->AddMemoryFirstMethod("kept", {}, [kept](const ApiCall&) -> std::optional<MethodReply> {
    return MethodReply::Rendered(kept);
  });
  http::Response response;
  codec::Value reply = Post(Signed("app1", pwd_), "method=kept&datatype=json", &response);
  EXPECT_FALSE(deferred_);
  EXPECT_EQ(response.body(), *kept);
  EXPECT_EQ(response.content_type(), "application/json;charset=utf-8");
  EXPECT_EQ(reply["errmsg"].AsString(), "kept<&>");

  MapParams params = Signed("app1", pwd_);
  std::string envelope =
      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:ns=\"http://webservice.api.commnetsoft.com\"><soapenv:Body><ns:kept>"
      "<ns:servicecode>app1</ns:servicecode><ns:time>" +
      std::string(params.Get("time")) + "</ns:time><ns:sign>" + std::string(params.Get("sign")) +
      "</ns:sign><ns:datatype>json</ns:datatype></ns:kept></soapenv:Body></soapenv:Envelope>";
  auto request = http::Request::Create({.method = "POST",
                                        .target = "/sso/service/TestService",
                                        .headers = {{"Content-Type", "text/xml"}},
                                        .body = envelope});
  ASSERT_TRUE(request.ok());
  http::Response soap;
  api_->HandleSoap(*request, soap);
  EXPECT_EQ(soap.status(), 200);
  EXPECT_NE(soap.body().find(R"(<ns:out>{"result":"0","errmsg":"kept&lt;&amp;&gt;"}</ns:out>)"),
            std::string::npos)
      << soap.body();
}

TEST_F(MemoryFirstTest, AnAppNotYetInMemoryIsLoadedOnThePool) {
  AddLookup(*api_);
  dir_->ClearCaches();
  http::Response response;
  codec::Value reply = Post(Signed("app1", pwd_), "method=lookup&text=hi&datatype=json", &response);
  EXPECT_TRUE(deferred_);
  EXPECT_EQ(reply["text"].AsString(), "hi");
  // Loaded now: the next call stays on the I/O thread.
  http::Response again;
  Post(Signed("app1", pwd_), "method=lookup&text=hi&datatype=json", &again);
  EXPECT_FALSE(deferred_);
}

TEST_F(MemoryFirstTest, ANonceIsSingleUseWhetherTheReadHitOrMissed) {
  AddLookup(*api_);
  const std::string nonce = "0123456789abcdef01";
  http::Response first;
  EXPECT_EQ(PostRequestSigned(*api_, "lookup", "hi", nonce, &first)["result"].AsString(), "0");
  EXPECT_FALSE(deferred_);
  http::Response replay;
  EXPECT_EQ(PostRequestSigned(*api_, "lookup", "hi", nonce, &replay)["result"].AsString(),
            "9906");
  // A miss leaves its nonce unused on the I/O thread, and the pool's run uses it up.
  const std::string other = "0123456789abcdef02";
  http::Response miss;
  EXPECT_EQ(PostRequestSigned(*api_, "lookup", "miss", other, &miss)["result"].AsString(), "0");
  EXPECT_TRUE(deferred_);
  http::Response miss_replay;
  EXPECT_EQ(PostRequestSigned(*api_, "lookup", "miss", other, &miss_replay)["result"].AsString(),
            "9906");
}

TEST_F(MemoryFirstTest, WithARemoteStoreStoreCallsLeaveTheIoThread) {
  RemoteLikeStore remote(clock_);
  SignedApiOptions options;
  options.soap_service = "TestService";
  options.sign_window = 600s;
  SignedApi api(options, *dir_, remote, clock_);
  api.AddMethod("echo", {"text"},
                [](const ApiCall& call) { return Success().Set("text", call.Param("text")); });
  AddLookup(api);
  // A cheap synchronous method: its store calls would wait on the network.
  http::Response cheap;
  EXPECT_EQ(PostRequestSigned(api, "echo", "a", "0123456789abcdef11", &cheap)["text"].AsString(),
            "a");
  EXPECT_TRUE(deferred_);
  // A memory-first read with no replay mark to set answers on the I/O thread...
  http::Response read;
  auto call = Signed("app1", pwd_);
  std::string body = "method=lookup&text=b&datatype=json";
  const int marks_before = remote.marks;
  auto request = http::Request::Create(
      {.method = "POST",
       .target = "/sso/servlet/test",
       .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
       .body = "servicecode=app1&time=" + std::string(call.Get("time")) +
               "&sign=" + std::string(call.Get("sign")) + "&" + body});
  ASSERT_TRUE(request.ok());
  api.HandleHttp(*request, read);
  EXPECT_FALSE(read.deferred());
  EXPECT_NE(read.body().find("\"text\":\"b\""), std::string::npos) << read.body();
  EXPECT_EQ(remote.marks, marks_before);
  // ...and one whose nonce must be marked in the store goes to the pool.
  http::Response marked;
  EXPECT_EQ(
      PostRequestSigned(api, "lookup", "c", "0123456789abcdef12", &marked)["text"].AsString(),
      "c");
  EXPECT_TRUE(deferred_);
  EXPECT_EQ(remote.marks, marks_before + 1);
}

// ---------------------------------------------------------------- SOAP binding

TEST_F(SignedApiTest, GetWithWsdlServesTheServiceDescription) {
  auto request = http::Request::Create({.method = "GET",
                                        .target = "/sso/service/TestService?wsdl",
                                        .headers = {{"Host", "sso.example:8080"}}});
  ASSERT_TRUE(request.ok());
  http::Response response;
  api_->HandleSoap(*request, response);
  EXPECT_EQ(response.status(), 200);
  EXPECT_NE(response.body().find("name=\"echo\""), std::string::npos);
  EXPECT_NE(response.body().find("http://sso.example:8080/sso/service/TestService"),
            std::string::npos);
}

TEST_F(SignedApiTest, ASoapCallIsAnsweredInsideOut) {
  MapParams params = Signed("app1", pwd_);
  std::string envelope =
      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:ns=\"http://webservice.api.commnetsoft.com\"><soapenv:Body><ns:echo>"
      "<ns:servicecode>app1</ns:servicecode><ns:time>" +
      std::string(params.Get("time")) + "</ns:time><ns:sign>" + std::string(params.Get("sign")) +
      "</ns:sign><ns:text>中文</ns:text><ns:datatype>json</ns:datatype></ns:echo>"
      "</soapenv:Body></soapenv:Envelope>";
  auto request = http::Request::Create({.method = "POST",
                                        .target = "/sso/service/TestService",
                                        .headers = {{"Content-Type", "text/xml"}},
                                        .body = envelope});
  ASSERT_TRUE(request.ok());
  http::Response response;
  api_->HandleSoap(*request, response);
  EXPECT_EQ(response.status(), 200);
  EXPECT_NE(response.body().find("echoResponse"), std::string::npos);
  EXPECT_NE(response.body().find(R"(<ns:out>{"result":"0","errmsg":"成功","text":"中文")"),
            std::string::npos)
      << response.body();
}

TEST_F(SignedApiTest, AnUnknownSoapOperationIsAFault) {
  std::string envelope =
      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<soapenv:Body><nothing/></soapenv:Body></soapenv:Envelope>";
  auto request = http::Request::Create(
      {.method = "POST", .target = "/sso/service/TestService", .body = envelope});
  ASSERT_TRUE(request.ok());
  http::Response response;
  api_->HandleSoap(*request, response);
  EXPECT_EQ(response.status(), 500);
  EXPECT_NE(response.body().find("Fault"), std::string::npos);
}

}  // namespace
}  // namespace tongban::sso
