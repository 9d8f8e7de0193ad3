// CAS: the protocol's XML and JSON renderings, CAS 1.0 text and the
// single-logout logoutRequest, and the server's endpoints driven through the
// router with a fake browser session: service matching against registered
// apps, single-use and short-lived tickets, renew, proxy-granting tickets and
// single logout.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <vector>

#include "codec/parse.h"
#include "directory_test_support.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "http/url.h"
#include "sso/cas_oidc_support.h"
#include "sso/cas_protocol.h"
#include "sso/cas_server.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

using namespace std::chrono_literals;

pugi::xml_document ParseXml(const std::string& text) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(text.c_str())) << text;
  return doc;
}

// ---------------------------------------------------------------- rendering

TEST(CasRenderTest, SuccessXmlHasTheCasNamespaceUserAndAttributes) {
  cas::Success s;
  s.user = "zhangs";
  s.attributes = {{"username", "张三"}, {"roles", "a"}, {"roles", "b"}};
  pugi::xml_document doc = ParseXml(cas::RenderSuccess(s, cas::Format::kXml));
  pugi::xml_node root = doc.child("cas:serviceResponse");
  EXPECT_STREQ(root.attribute("xmlns:cas").value(), "http://www.yale.edu/tp/cas");
  pugi::xml_node success = root.child("cas:authenticationSuccess");
  EXPECT_STREQ(success.child_value("cas:user"), "zhangs");
  pugi::xml_node attributes = success.child("cas:attributes");
  EXPECT_STREQ(attributes.child_value("cas:username"), "张三");
  int roles = 0;
  for (pugi::xml_node r : attributes.children("cas:roles")) {
    (void)r;
    ++roles;
  }
  EXPECT_EQ(roles, 2);
  EXPECT_FALSE(success.child("cas:proxyGrantingTicket"));
}

TEST(CasRenderTest, SuccessXmlEscapesText) {
  cas::Success s;
  s.user = "a<b>&\"c\"";
  pugi::xml_document doc = ParseXml(cas::RenderSuccess(s, cas::Format::kXml));
  EXPECT_STREQ(
      doc.child("cas:serviceResponse").child("cas:authenticationSuccess").child_value("cas:user"),
      "a<b>&\"c\"");
}

TEST(CasRenderTest, SuccessXmlCarriesTheIouAndProxiesInOrder) {
  cas::Success s;
  s.user = "u";
  s.pgt_iou = "PGTIOU-1";
  s.proxies = {"https://b/cb", "https://a/cb"};
  pugi::xml_document doc = ParseXml(cas::RenderSuccess(s, cas::Format::kXml));
  pugi::xml_node success = doc.child("cas:serviceResponse").child("cas:authenticationSuccess");
  EXPECT_STREQ(success.child_value("cas:proxyGrantingTicket"), "PGTIOU-1");
  pugi::xml_node first = success.child("cas:proxies").child("cas:proxy");
  EXPECT_STREQ(first.child_value(), "https://b/cb");
  EXPECT_STREQ(first.next_sibling("cas:proxy").child_value(), "https://a/cb");
}

TEST(CasRenderTest, SuccessJsonListsEveryAttributeAsAnArray) {
  cas::Success s;
  s.user = "u";
  s.attributes = {{"roles", "a"}, {"roles", "b"}, {"email", "e@x"}};
  s.pgt_iou = "PGTIOU-1";
  codec::Value v = codec::ParseJson(cas::RenderSuccess(s, cas::Format::kJson)).value();
  const codec::Value& success = v["serviceResponse"]["authenticationSuccess"];
  EXPECT_EQ(success["user"].AsString(), "u");
  EXPECT_EQ(success["proxyGrantingTicket"].AsString(), "PGTIOU-1");
  ASSERT_EQ(success["attributes"]["roles"].size(), 2u);
  EXPECT_EQ(success["attributes"]["roles"][1].AsString(), "b");
  EXPECT_EQ(success["attributes"]["email"][0].AsString(), "e@x");
}

TEST(CasRenderTest, FailureNamesTheCodeInBothFormats) {
  pugi::xml_document doc =
      ParseXml(cas::RenderFailure(cas::kInvalidTicket, "not <recognized>", cas::Format::kXml));
  pugi::xml_node f = doc.child("cas:serviceResponse").child("cas:authenticationFailure");
  EXPECT_STREQ(f.attribute("code").value(), "INVALID_TICKET");
  EXPECT_STREQ(f.child_value(), "not <recognized>");
  codec::Value v =
      codec::ParseJson(cas::RenderFailure(cas::kInvalidService, "x", cas::Format::kJson)).value();
  EXPECT_EQ(v["serviceResponse"]["authenticationFailure"]["code"].AsString(), "INVALID_SERVICE");
}

TEST(CasRenderTest, ProxySuccessAndFailure) {
  pugi::xml_document ok = ParseXml(cas::RenderProxySuccess("PT-1", cas::Format::kXml));
  EXPECT_STREQ(
      ok.child("cas:serviceResponse").child("cas:proxySuccess").child_value("cas:proxyTicket"),
      "PT-1");
  codec::Value bad =
      codec::ParseJson(cas::RenderProxyFailure(cas::kInvalidRequest, "x", cas::Format::kJson))
          .value();
  EXPECT_EQ(bad["serviceResponse"]["proxyFailure"]["code"].AsString(), "INVALID_REQUEST");
}

TEST(CasRenderTest, Cas1ValidateIsTwoLines) {
  EXPECT_EQ(cas::RenderValidate(true, "zhangs"), "yes\nzhangs\n");
  EXPECT_EQ(cas::RenderValidate(false, "zhangs"), "no\n\n");
}

TEST(CasRenderTest, LogoutRequestNamesTheTicketAsSessionIndex) {
  std::string xml = cas::RenderLogoutRequest("LR-1", "2024-01-02T03:04:05Z", "ST-abc");
  pugi::xml_document doc = ParseXml(xml);
  pugi::xml_node root = doc.child("samlp:LogoutRequest");
  EXPECT_STREQ(root.attribute("ID").value(), "LR-1");
  EXPECT_STREQ(root.attribute("IssueInstant").value(), "2024-01-02T03:04:05Z");
  EXPECT_STREQ(root.child_value("samlp:SessionIndex"), "ST-abc");
}

TEST(CasRenderTest, IsoUtcFormatsMilliseconds) {
  EXPECT_EQ(cas::IsoUtc(1'700'000'000'123), "2023-11-14T22:13:20Z");
}

// ---------------------------------------------------------------- the server

class FakeSessions final : public BrowserSessions {
 public:
  std::optional<BrowserLogin> login;
  std::optional<BrowserLogin> Current(const http::Request&) override { return login; }
  Result<std::optional<BrowserLogin>> Live(std::string_view session_id) override {
    if (login && login->session_id == session_id) return login;
    return std::optional<BrowserLogin>();
  }
  std::string LoginUrl(const http::Request&, std::string_view return_url, bool force) override {
    return http::AppendQuery(force ? "https://sso/relogin" : "https://sso/login", "goto",
                             return_url);
  }
  std::string LogoutUrl(const http::Request&, std::string_view return_url) override {
    return http::AppendQuery("https://sso/logout", "goto", return_url);
  }
};

class RecordingBackChannel final : public BackChannel {
 public:
  std::vector<std::pair<std::string, std::string>> sent;  // url, body
  void Post(std::string url, std::string, std::string body) override {
    sent.emplace_back(std::move(url), std::move(body));
  }
};

class FakeProxyCallback final : public ProxyCallback {
 public:
  bool answer = true;
  std::vector<std::string> urls;
  std::string last_pgt;
  std::string last_iou;
  bool Deliver(std::string_view url, std::string_view pgt, std::string_view iou) override {
    urls.emplace_back(url);
    last_pgt = pgt;
    last_iou = iou;
    return answer;
  }
};

class CasServerTest : public directory::test::DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    tickets_ = std::make_unique<MemoryTicketStore>(clock_);
    context_ = std::make_unique<SsoContext>(
        SsoContext{*dir_, *tickets_, *outbox_, clock_, random_, SsoSettings{}});
    server_ = std::make_unique<CasServer>(*context_, sessions_, back_channel_, callback_);
    server_->Register(router_);
    AddOrg("001", "省");
    user_ = AddUser("zhangs", "001");
    AddCasApp("portal", {"https://app.example.gov.cn/"}, true);
    AddCasApp("portal-admin", {"https://app.example.gov.cn/admin/"}, false);
    directory::App zj;
    zj.servicecode = "zj";
    zj.name = "zj";
    zj.callback_urls = {"https://zj.example.gov.cn/"};
    zj.open_to_all = true;
    ASSERT_TRUE(dir_->CreateApp(zj).ok());
  }

  void AddCasApp(const std::string& code, std::vector<std::string> callbacks, bool proxy) {
    directory::App app;
    app.servicecode = code;
    app.name = code;
    app.callback_urls = std::move(callbacks);
    app.protocols.cas = true;
    app.proxy_right = proxy;
    app.open_to_all = true;
    ASSERT_TRUE(dir_->CreateApp(app).ok());
  }

  http::Response Call(const std::string& target, const std::string& method = "GET") {
    http::RequestInit init;
    init.method = method;
    init.target = target;
    http::Request request = std::move(http::Request::Create(init)).value();
    http::Response response;
    auto match = router_.Find(request.method(), request.path());
    EXPECT_EQ(match.status, 0) << target;
    if (match.status == 0) (*match.handler)(request, response);
    // What the server runs on its blocking pool (a validation with a pgtUrl).
    if (response.deferred()) response.RunDeferred();  // while `request` lives
    return response;
  }

  void LogIn() {
    sessions_.login = BrowserLogin{"secret-session", "pub", user_.userid, clock_.NowMillis()};
  }

  static std::string Enc(std::string_view s) { return http::UrlEncode(s); }

  // A ticket for `service` from a logged-in browser.
  std::string TicketFor(const std::string& service) {
    LogIn();
    http::Response r = Call("/sso/cas/login?service=" + Enc(service));
    EXPECT_EQ(r.status(), 302) << r.body();
    std::string location(r.Header("Location").value_or(""));
    auto params = http::ParseQuery(location.substr(location.find('?') + 1)).value();
    return std::string(params.GetOr("ticket"));
  }

  pugi::xml_node Validate(pugi::xml_document& doc, const std::string& path,
                          const std::string& service, const std::string& ticket,
                          const std::string& extra = "") {
    http::Response r = Call(path + "?service=" + Enc(service) + "&ticket=" + ticket + extra);
    EXPECT_EQ(r.status(), 200);
    EXPECT_TRUE(doc.load_string(r.body().c_str())) << r.body();
    return doc.child("cas:serviceResponse");
  }

  std::unique_ptr<MemoryTicketStore> tickets_;
  std::unique_ptr<SsoContext> context_;
  FakeSessions sessions_;
  RecordingBackChannel back_channel_;
  FakeProxyCallback callback_;
  std::unique_ptr<CasServer> server_;
  http::Router router_;
  directory::User user_;
};

TEST_F(CasServerTest, LoginWithoutASessionGoesToTheLoginPage) {
  http::Response r = Call("/sso/cas/login?service=" + Enc("https://app.example.gov.cn/x"));
  EXPECT_EQ(r.status(), 302);
  EXPECT_TRUE(r.Header("Location")->starts_with("https://sso/login?goto="));
}

TEST_F(CasServerTest, LoginWithASessionRedirectsWithAServiceTicket) {
  std::string ticket = TicketFor("https://app.example.gov.cn/x?a=1");
  EXPECT_TRUE(ticket.starts_with("ST-")) << ticket;
}

TEST_F(CasServerTest, ServiceOfAnAppWithoutCasIsRefused) {
  LogIn();
  http::Response r = Call("/sso/cas/login?service=" + Enc("https://zj.example.gov.cn/x"));
  EXPECT_EQ(r.status(), 400);
  EXPECT_FALSE(r.Header("Location").has_value());
}

TEST_F(CasServerTest, TheLongestRegisteredPrefixNamesTheApp) {
  // portal-admin has no proxy right, portal has: a pgtUrl tells them apart.
  std::string ticket = TicketFor("https://app.example.gov.cn/admin/page");
  pugi::xml_document doc;
  pugi::xml_node root =
      Validate(doc, "/sso/cas/serviceValidate", "https://app.example.gov.cn/admin/page", ticket,
               "&pgtUrl=" + Enc("https://app.example.gov.cn/admin/pgt"));
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(),
               "UNAUTHORIZED_SERVICE_PROXY");
}

TEST_F(CasServerTest, ServiceValidateAnswersTheLoginName) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket);
  pugi::xml_node success = root.child("cas:authenticationSuccess");
  EXPECT_STREQ(success.child_value("cas:user"), "zhangs");
  EXPECT_STREQ(success.child("cas:attributes").child_value("cas:userid"), user_.userid.c_str());
  EXPECT_STREQ(success.child("cas:attributes").child_value("cas:isFromNewLogin"), "false");
}

TEST_F(CasServerTest, TicketIsSingleUse) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  pugi::xml_document first;
  Validate(first, "/sso/cas/serviceValidate", service, ticket);
  pugi::xml_document second;
  pugi::xml_node root = Validate(second, "/sso/cas/serviceValidate", service, ticket);
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(), "INVALID_TICKET");
}

TEST_F(CasServerTest, TicketMustBePresentedForExactlyItsService) {
  std::string ticket = TicketFor("https://app.example.gov.cn/x");
  pugi::xml_document doc;
  pugi::xml_node root =
      Validate(doc, "/sso/cas/serviceValidate", "https://app.example.gov.cn/x/", ticket);
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(),
               "INVALID_SERVICE");
}

TEST_F(CasServerTest, ServiceWithRecordSeparatorsSurvivesTheTicketRecord) {
  // '|' and '%' are the packed record's separator and escape.
  std::string service = "https://app.example.gov.cn/x?a=1|2&b=%25|%7C";
  std::string ticket = TicketFor(service);
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket);
  EXPECT_STREQ(root.child("cas:authenticationSuccess").child_value("cas:user"), "zhangs")
      << doc.first_child().name();
}

TEST_F(CasServerTest, ATicketRecordWrittenAsJsonBeforeTheUpgradeStillValidates) {
  const std::string service = "https://app.example.gov.cn/x";
  const std::string json = R"({"k":"ST","svc":")" + service + R"(","app":"portal","u":")" +
                           user_.userid +
                           R"(","sid":"secret-session","pid":"pub","new":true,"at":1000,)"
                           R"("px":[],"roles":["r1"]})";
  ASSERT_TRUE(tickets_->Put(SecretKey("cas:t:", "ST-1-legacy"), json, 10s).ok());
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, "ST-1-legacy");
  pugi::xml_node attributes = root.child("cas:authenticationSuccess").child("cas:attributes");
  EXPECT_STREQ(attributes.child_value("cas:isFromNewLogin"), "true") << doc.first_child().name();
  EXPECT_STREQ(attributes.child_value("cas:roles"), "r1");
}

TEST_F(CasServerTest, ACorruptTicketRecordIsAnInternalErrorNotASuccess) {
  ASSERT_TRUE(tickets_->Put(SecretKey("cas:t:", "ST-1-bad"), "c1|ST|only three", 10s).ok());
  pugi::xml_document doc;
  pugi::xml_node root =
      Validate(doc, "/sso/cas/serviceValidate", "https://app.example.gov.cn/x", "ST-1-bad");
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(),
               "INTERNAL_ERROR");
}

TEST_F(CasServerTest, TicketExpiresAfterTenSeconds) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  clock_.Advance(10'001ms);
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket);
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(), "INVALID_TICKET");
}

TEST_F(CasServerTest, RenewLoginSendsALoggedInBrowserToLogInAgain) {
  LogIn();
  http::Response r =
      Call("/sso/cas/login?renew=true&service=" + Enc("https://app.example.gov.cn/x"));
  EXPECT_TRUE(r.Header("Location")->starts_with("https://sso/relogin"));
}

TEST_F(CasServerTest, TicketAfterAFreshLoginPassesRenewValidation) {
  std::string service = "https://app.example.gov.cn/x";
  http::Response r = Call("/sso/cas/login?renew=true&service=" + Enc(service));
  std::string location(*r.Header("Location"));
  std::string back(http::ParseQuery(location.substr(location.find('?') + 1))->GetOr("goto"));
  clock_.Advance(5s);
  LogIn();
  r = Call(back.substr(back.find("/sso/cas/")));
  ASSERT_EQ(r.status(), 302) << r.body();
  std::string ticket_location(*r.Header("Location"));
  std::string ticket(
      http::ParseQuery(ticket_location.substr(ticket_location.find('?') + 1))->GetOr("ticket"));
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket, "&renew=true");
  EXPECT_TRUE(root.child("cas:authenticationSuccess")) << doc.first_child().name();
}

TEST_F(CasServerTest, PgtIsDeliveredToTheCallbackAndYieldsProxyTickets) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket,
                                 "&pgtUrl=" + Enc("https://app.example.gov.cn/pgt"));
  EXPECT_EQ(root.child("cas:authenticationSuccess").child_value("cas:proxyGrantingTicket"),
            callback_.last_iou);
  ASSERT_EQ(callback_.urls.size(), 1u);

  std::string target = "https://app.example.gov.cn/admin/api";
  http::Response r =
      Call("/sso/cas/proxy?pgt=" + callback_.last_pgt + "&targetService=" + Enc(target));
  pugi::xml_document proxy;
  ASSERT_TRUE(proxy.load_string(r.body().c_str()));
  std::string pt =
      proxy.child("cas:serviceResponse").child("cas:proxySuccess").child_value("cas:proxyTicket");
  EXPECT_TRUE(pt.starts_with("PT-"));
  pugi::xml_document validated;
  pugi::xml_node ok = Validate(validated, "/sso/cas/proxyValidate", target, pt);
  EXPECT_STREQ(ok.child("cas:authenticationSuccess").child("cas:proxies").child_value("cas:proxy"),
               "https://app.example.gov.cn/pgt");
}

TEST_F(CasServerTest, FailedCallbackFailsTheValidationWithInvalidProxyCallback) {
  callback_.answer = false;
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket,
                                 "&pgtUrl=" + Enc("https://app.example.gov.cn/pgt"));
  EXPECT_FALSE(root.child("cas:authenticationSuccess"));
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(),
               "INVALID_PROXY_CALLBACK");
  ASSERT_EQ(callback_.urls.size(), 1u);
  EXPECT_FALSE(tickets_->Get(SecretKey("cas:pgt:", callback_.last_pgt)).ok());
}

TEST_F(CasServerTest, FailedCallbackFailsTheJsonProxyValidationToo) {
  callback_.answer = false;
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  http::Response r = Call("/sso/cas/p3/proxyValidate?format=JSON&service=" + Enc(service) +
                          "&ticket=" + ticket + "&pgtUrl=" + Enc("https://app.example.gov.cn/pgt"));
  EXPECT_NE(r.body().find("\"authenticationFailure\""), std::string::npos) << r.body();
  EXPECT_NE(r.body().find("INVALID_PROXY_CALLBACK"), std::string::npos) << r.body();
}

TEST_F(CasServerTest, PlainHttpCallbackOnAnotherHostIsRefused) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket,
                                 "&pgtUrl=" + Enc("http://app.example.gov.cn/pgt"));
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(),
               "INVALID_PROXY_CALLBACK");
  EXPECT_TRUE(callback_.urls.empty());
}

TEST_F(CasServerTest, EndedSessionPostsALogoutRequestToEachServiceAndRevokesPgts) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  pugi::xml_document doc;
  Validate(doc, "/sso/cas/serviceValidate", service, ticket,
           "&pgtUrl=" + Enc("https://app.example.gov.cn/pgt"));
  server_->OnSessionEnded({"secret-session", "pub", user_.userid});
  ASSERT_EQ(back_channel_.sent.size(), 1u);
  EXPECT_EQ(back_channel_.sent[0].first, service);
  auto form = http::ParseQuery(back_channel_.sent[0].second).value();
  pugi::xml_document request = ParseXml(std::string(form.GetOr("logoutRequest")));
  EXPECT_EQ(request.child("samlp:LogoutRequest").child_value("samlp:SessionIndex"), ticket);
  http::Response r = Call("/sso/cas/proxy?pgt=" + callback_.last_pgt +
                          "&targetService=" + Enc("https://app.example.gov.cn/admin/api"));
  EXPECT_NE(r.body().find("proxyFailure"), std::string::npos);
}

// review15: a logout ends the tickets its session handed out and not yet
// validated, as Apereo CAS deletes a TGT's descendants.
TEST_F(CasServerTest, ATicketOfAnEndedSessionNoLongerValidates) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  server_->OnSessionEnded({"secret-session", "pub", user_.userid});
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket);
  EXPECT_FALSE(root.child("cas:authenticationSuccess"));
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(),
               "INVALID_TICKET");
}

// review15: a session that ends while its ticket is validated (after the
// logout read the session's set) gets no PGT: it would sit in a set nobody
// ends, and mint proxy tickets for pgt_ttl.
TEST_F(CasServerTest, APgtIsNotHandedOutOnceItsSessionHasEnded) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  sessions_.login.reset();  // ended, the ticket still stored
  pugi::xml_document doc;
  pugi::xml_node root = Validate(doc, "/sso/cas/serviceValidate", service, ticket,
                                 "&pgtUrl=" + Enc("https://app.example.gov.cn/pgt"));
  EXPECT_FALSE(root.child("cas:authenticationSuccess"));
  EXPECT_STREQ(root.child("cas:authenticationFailure").attribute("code").value(),
               "INVALID_TICKET");
  ASSERT_EQ(callback_.urls.size(), 1u);
  EXPECT_FALSE(tickets_->Get(SecretKey("cas:pgt:", callback_.last_pgt)).ok());
}

TEST_F(CasServerTest, APgtOfAnEndedSessionMintsNoProxyTicket) {
  std::string service = "https://app.example.gov.cn/x";
  std::string ticket = TicketFor(service);
  pugi::xml_document doc;
  Validate(doc, "/sso/cas/serviceValidate", service, ticket,
           "&pgtUrl=" + Enc("https://app.example.gov.cn/pgt"));
  const std::string target = Enc("https://app.example.gov.cn/admin/api");
  http::Response live = Call("/sso/cas/proxy?pgt=" + callback_.last_pgt + "&targetService=" + target);
  EXPECT_NE(live.body().find("proxySuccess"), std::string::npos) << live.body();
  sessions_.login.reset();  // ended without this node's index (another node's logout raced)
  http::Response r = Call("/sso/cas/proxy?pgt=" + callback_.last_pgt + "&targetService=" + target);
  EXPECT_NE(r.body().find("INVALID_TICKET"), std::string::npos) << r.body();
  EXPECT_FALSE(tickets_->Get(SecretKey("cas:pgt:", callback_.last_pgt)).ok());
}

TEST_F(CasServerTest, LogoutReturnsOnlyToARegisteredService) {
  LogIn();
  http::Response r = Call("/sso/cas/logout?service=" + Enc("https://evil.example/"));
  std::string location(*r.Header("Location"));
  std::string back(http::ParseQuery(location.substr(location.find('?') + 1))->GetOr("goto"));
  sessions_.login.reset();
  r = Call(back.substr(back.find("/sso/cas/")));
  EXPECT_EQ(r.status(), 200);
  EXPECT_FALSE(r.Header("Location").has_value());
}

// The ticket store as CAS sees Redis (Remote): the asynchronous calls CAS
// makes are answered from another thread; the blocking issue is counted.
class RemoteStore final : public TicketStore {
 public:
  explicit RemoteStore(TicketStore& inner) : inner_(inner) {}
  ~RemoteStore() override {
    for (std::thread& t : threads_) t.join();
  }
  using ms = std::chrono::milliseconds;
  Status Put(std::string_view k, std::string_view v, ms ttl) override { return inner_.Put(k, v, ttl); }
  Result<bool> PutIfAbsent(std::string_view k, std::string_view v, ms ttl) override {
    return inner_.PutIfAbsent(k, v, ttl);
  }
  Result<bool> PutIfPresent(std::string_view k, std::string_view v, ms ttl) override {
    return inner_.PutIfPresent(k, v, ttl);
  }
  Result<std::string> Get(std::string_view k) override { return inner_.Get(k); }
  Result<std::string> Redeem(std::string_view k) override { return inner_.Redeem(k); }
  Status Erase(std::string_view k) override { return inner_.Erase(k); }
  Status Touch(std::string_view k, ms ttl) override { return inner_.Touch(k, ttl); }
  Status AddToSet(std::string_view k, std::string_view m, ms ttl) override {
    return inner_.AddToSet(k, m, ttl);
  }
  Result<std::vector<std::string>> Members(std::string_view k) override { return inner_.Members(k); }
  Status EraseSet(std::string_view k) override { return inner_.EraseSet(k); }
  size_t ApproximateSize() override { return inner_.ApproximateSize(); }
  Status PutAndAddToSet(std::string_view k, std::string_view v, ms ttl, std::string_view set,
                        std::string_view member, ms set_ttl) override {
    ++blocking_puts;
    return inner_.PutAndAddToSet(k, v, ttl, set, member, set_ttl);
  }
  void PutAndAddToSetAsync(std::string_view k, std::string_view v, ms ttl, std::string_view set,
                           std::string_view member, ms set_ttl, StatusDone done) override {
    ++async_puts;
    threads_.emplace_back([this, k = std::string(k), v = std::string(v), ttl,
                           set = std::string(set), member = std::string(member), set_ttl,
                           done = std::move(done)] {
      done(inner_.PutAndAddToSet(k, v, ttl, set, member, set_ttl));
    });
  }
  bool Remote() const override { return true; }

  std::atomic<int> blocking_puts{0};
  std::atomic<int> async_puts{0};

 private:
  TicketStore& inner_;
  std::vector<std::thread> threads_;
};

class CasServerRemoteStoreTest : public CasServerTest {
 protected:
  void SetUp() override {
    CasServerTest::SetUp();
    if (HasFatalFailure()) return;
    remote_ = std::make_unique<RemoteStore>(*tickets_);
    Rebuild();
  }

  // A fresh Directory (nothing in its memory) under a CAS server on the remote store.
  void Rebuild() {
    remote_server_.reset();
    remote_context_.reset();
    server_.reset();
    context_.reset();
    Reopen();
    remote_context_ = std::make_unique<SsoContext>(
        SsoContext{*dir_, *remote_, *outbox_, clock_, random_, SsoSettings{}});
    remote_router_ = std::make_unique<http::Router>();
    remote_server_ = std::make_unique<CasServer>(*remote_context_, sessions_, back_channel_,
                                                 callback_);
    remote_server_->Register(*remote_router_);
  }

  // `target` to its end, as the server runs it (resumed and deferred parts
  // too). `first_finish_deferred`: whether the first resume's finish, run as
  // the I/O thread runs it, handed the rest to the blocking pool.
  http::Response RemoteCall(const std::string& target, bool* first_finish_deferred = nullptr) {
    http::RequestInit init;
    init.method = "GET";
    init.target = target;
    http::Request request = std::move(http::Request::Create(init)).value();
    http::Response response;
    auto match = remote_router_->Find(request.method(), request.path());
    EXPECT_EQ(match.status, 0) << target;
    if (match.status != 0) return response;
    (*match.handler)(request, response);
    if (first_finish_deferred != nullptr) {
      EXPECT_TRUE(response.suspended()) << "answered on the I/O thread without the store";
      auto state = response.TakeSuspension();
      if (state == nullptr) return response;
      std::function<void(http::Response&)> finish;
      {
        std::unique_lock lock(state->mu);
        state->cv.wait(lock, [&] { return static_cast<bool>(state->finish); });
        finish = std::move(state->finish);
      }
      finish(response);
      *first_finish_deferred = response.deferred();
    }
    response.RunDeferred();  // while `request` lives
    return response;
  }

  std::string RemoteTicketFor(const std::string& service) {
    LogIn();
    http::Response r = RemoteCall("/sso/cas/login?service=" + Enc(service));
    EXPECT_EQ(r.status(), 302) << r.body();
    std::string location(r.Header("Location").value_or(""));
    auto params = http::ParseQuery(location.substr(location.find('?') + 1)).value();
    return std::string(params.GetOr("ticket"));
  }

  std::string ValidatedUser(const std::string& service, const std::string& ticket,
                            bool* first_finish_deferred) {
    http::Response r = RemoteCall(
        "/sso/cas/p3/serviceValidate?service=" + Enc(service) + "&ticket=" + ticket,
        first_finish_deferred);
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_string(r.body().c_str())) << r.body();
    return doc.child("cas:serviceResponse")
        .child("cas:authenticationSuccess")
        .child_value("cas:user");
  }

  std::unique_ptr<RemoteStore> remote_;
  std::unique_ptr<SsoContext> remote_context_;
  std::unique_ptr<http::Router> remote_router_;
  std::unique_ptr<CasServer> remote_server_;
};

TEST_F(CasServerRemoteStoreTest, LoginWithASessionStoresItsTicketWithoutWaitingOnTheStore) {
  const std::string service = "https://app.example.gov.cn/x";
  std::string ticket = RemoteTicketFor(service);
  ASSERT_TRUE(ticket.starts_with("ST-")) << ticket;
  EXPECT_EQ(remote_->async_puts.load(), 1);
  EXPECT_EQ(remote_->blocking_puts.load(), 0) << "no thread waited on the store";
  bool deferred = false;
  EXPECT_EQ(ValidatedUser(service, ticket, &deferred), "zhangs");
  // Refusals still answer: an unknown service, a locked user.
  LogIn();
  http::Response unknown = RemoteCall("/sso/cas/login?service=" + Enc("https://evil.example/"));
  EXPECT_EQ(unknown.status(), 400);
  ASSERT_TRUE(dir_->LockUser(user_.userid).ok());
  http::Response locked = RemoteCall("/sso/cas/login?service=" + Enc(service));
  EXPECT_EQ(locked.status(), 403);
  EXPECT_EQ(remote_->async_puts.load(), 1);
}

TEST_F(CasServerRemoteStoreTest, AValidationWhoseUserIsNotInMemoryIsFinishedOnThePool) {
  const std::string service = "https://app.example.gov.cn/x";
  std::string cold = RemoteTicketFor(service);
  Rebuild();  // a node that has not read this app or user yet
  bool deferred = false;
  EXPECT_EQ(ValidatedUser(service, cold, &deferred), "zhangs");
  EXPECT_TRUE(deferred) << "the directory's SQL ran on the I/O thread";
  std::string warm = RemoteTicketFor(service);  // reads both into memory
  EXPECT_EQ(ValidatedUser(service, warm, &deferred), "zhangs");
  EXPECT_FALSE(deferred) << "in memory: finished on the I/O thread";
}

}  // namespace
}  // namespace tongban::sso
