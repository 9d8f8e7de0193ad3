// Pusher: outbox messages reach the app's push_url (or its URL for the
// method; logout notices its logout_url) as signed forms; only result "0"
// counts as delivered; failures back off, hold back later messages about the
// same entity (not others), and end as dead letters; a user new to the app
// arrives with a placeholder password unless the app chose "omit".
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "codec/parse.h"
#include "crypto/sign.h"
#include "directory/wire.h"
#include "directory_test_support.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "sso/pusher.h"
#include "sso/signed_api.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

using namespace std::chrono_literals;

struct Received {
  std::string path;
  std::map<std::string, std::string> form;
};

// An app's push endpoint on a loopback port, answering from a script.
class Receiver {
 public:
  Receiver() {
    for (const char* path : {"/push", "/logout", "/push/user"}) {
      router_.Add("POST", path, [this](const http::Request& request, http::Response& response) {
        std::pair<int, std::string> reply;
        {
          std::lock_guard lock(mu_);
          Received r{std::string(request.path()), {}};
          for (const http::Params::Entry& e : request.params()) {
            r.form.emplace(std::string(e.name), std::string(e.value));
          }
          received_.push_back(std::move(r));
          reply = replies_.empty() ? std::pair<int, std::string>{200, kOk} : replies_.front();
          if (!replies_.empty()) replies_.erase(replies_.begin());
        }
        cv_.notify_all();
        response.set_status(reply.first);
        response.set_content_type("application/json;charset=utf-8");
        response.set_body(reply.second);
      });
    }
    server_ = std::make_unique<http::Server>(
        router_, metrics_, http::ServerOptions{.port = 0, .threads = 1, .access_log = false});
    if (!server_->Listen().ok()) throw std::runtime_error("cannot listen");
    runner_ = std::thread([this] { server_->Run(); });
  }
  ~Receiver() {
    server_->Stop();
    runner_.join();
  }

  static constexpr const char* kOk = R"({"result":"0","errmsg":"成功"})";

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  // The next answers, in order; after them every push is acknowledged.
  void Answer(std::vector<std::pair<int, std::string>> replies) {
    std::lock_guard lock(mu_);
    replies_ = std::move(replies);
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  bool WaitFor(size_t count, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
  }

 private:
  http::Router router_;
  http::Metrics metrics_;
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  std::vector<std::pair<int, std::string>> replies_;
};

class PusherTest : public directory::test::DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    OutboxOptions options;
    options.base_backoff = 1s;
    options.max_attempts = 2;
    dispatch_outbox_ = std::make_unique<Outbox>(*store_, options);
    context_ = std::make_unique<SsoContext>(
        SsoContext{*dir_, tickets_, *dispatch_outbox_, clock_, random_, {}});
    PusherOptions pusher_options;
    pusher_options.request_timeout = 5s;
    pusher_ = std::make_unique<Pusher>(*context_, pusher_options);
    pwd_ = CreateApp("app1", "json");
  }

  std::string CreateApp(const std::string& servicecode, const std::string& datatype,
                        const std::string& push_url = "") {
    directory::App settings;
    settings.servicecode = servicecode;
    settings.name = "应用";
    settings.push_url = push_url.empty() ? receiver_.Url("/push") : push_url;
    settings.push_enabled = true;
    settings.logout_url = receiver_.Url("/logout");
    settings.datatype = datatype;
    auto created = dir_->CreateApp(settings);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? created->servicepwd : "";
  }

  void AddOrgs(int n) {
    for (int i = 1; i <= n; ++i) {
      char coding[8];
      std::snprintf(coding, sizeof(coding), "00%d", i);
      AddOrg(coding, "机构" + std::to_string(i));
    }
  }

  size_t Deliver() {
    auto n = pusher_->DeliverDue();
    EXPECT_TRUE(n.ok()) << n.error().message;
    return n.ok() ? *n : 0;
  }

  OutboxMessage Only(OutboxState state) {
    auto list = outbox_->List(state, 10);
    EXPECT_TRUE(list.ok());
    EXPECT_EQ(list.ok() ? list->size() : 0, 1u);
    return list.ok() && !list->empty() ? list->front() : OutboxMessage{};
  }

  Receiver receiver_;
  MemoryTicketStore tickets_{clock_};
  std::unique_ptr<Outbox> dispatch_outbox_;
  std::unique_ptr<SsoContext> context_;
  std::unique_ptr<Pusher> pusher_;
  std::string pwd_;
};

TEST_F(PusherTest, AMessageArrivesAsAFormSignedWithTheAppsOwnCredentials) {
  AddOrg("001", "浙江省");
  EXPECT_EQ(Deliver(), 1u);
  auto received = receiver_.received();
  ASSERT_EQ(received.size(), 1u);
  const auto& form = received[0].form;
  EXPECT_EQ(received[0].path, "/push");
  EXPECT_EQ(form.at("servicecode"), "app1");
  EXPECT_EQ(form.at("time"), FormatSpecTime(clock_.Now()));
  EXPECT_EQ(form.at("sign"),
            crypto::ComputeSign(crypto::SignType::kMd5, "app1", pwd_, form.at("time")));
  EXPECT_EQ(form.at("method"), "synchronizeOrg");
  EXPECT_EQ(form.at("datatype"), "json");
  auto args = codec::ParseJson(form.at("args"));
  ASSERT_TRUE(args.ok());
  EXPECT_EQ((*args)["orgname"].AsString(), "浙江省");
}

TEST_F(PusherTest, AnAcknowledgedMessageIsMarkedDelivered) {
  AddOrg("001", "浙江省");
  Deliver();
  EXPECT_EQ(Only(OutboxState::kDelivered).method, "synchronizeOrg");
  EXPECT_EQ(pusher_->stats().delivered, 1u);
}

TEST_F(PusherTest, AnXmlReplyWithResultZeroIsAnAcknowledgement) {
  receiver_.Answer({{200, "<?xml version=\"1.0\"?><SSO><result>0</result></SSO>"}});
  AddOrg("001", "浙江省");
  Deliver();
  EXPECT_EQ(Only(OutboxState::kDelivered).method, "synchronizeOrg");
}

TEST_F(PusherTest, AResultOtherThanZeroIsAFailureRecordedWithTheReply) {
  receiver_.Answer({{200, R"({"result":"1003","errmsg":"无权"})"}});
  AddOrg("001", "浙江省");
  Deliver();
  OutboxMessage m = Only(OutboxState::kPending);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_NE(m.last_error.find("result=1003"), std::string::npos) << m.last_error;
  EXPECT_EQ(pusher_->stats().failed, 1u);
}

TEST_F(PusherTest, AnHttpErrorIsAFailure) {
  receiver_.Answer({{500, "oops"}});
  AddOrg("001", "浙江省");
  Deliver();
  EXPECT_NE(Only(OutboxState::kPending).last_error.find("HTTP 500"), std::string::npos);
}

TEST_F(PusherTest, AnUnreachableAppIsAFailure) {
  CreateApp("gone", "json", "http://127.0.0.1:" + std::to_string(store_test::FreeLoopbackPort()));
  AddOrg("001", "浙江省");
  Deliver();
  auto pending = outbox_->List(OutboxState::kPending, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().destination, "gone");
  EXPECT_NE(pending->front().last_error.find("POST failed"), std::string::npos);
}

TEST_F(PusherTest, AFailedMessageWaitsForItsBackoff) {
  receiver_.Answer({{503, "busy"}});
  AddOrg("001", "浙江省");
  Deliver();
  EXPECT_EQ(Deliver(), 0u);
  clock_.Advance(1s);
  EXPECT_EQ(Deliver(), 1u);
  EXPECT_EQ(Only(OutboxState::kDelivered).attempts, 1);
}

// The org's name in each push received, in order.
std::vector<std::string> OrgNames(const std::vector<Received>& received) {
  std::vector<std::string> out;
  for (const Received& r : received) {
    out.push_back((*codec::ParseJson(r.form.at("args")))["orgname"].AsString());
  }
  return out;
}

TEST_F(PusherTest, LaterMessagesAboutTheSameEntityWaitUntilTheEarlierOneIsDelivered) {
  receiver_.Answer({{503, "busy"}});
  AddOrg("001", "一");
  AddOrg("001", "二");
  AddOrg("001", "三");
  Deliver();
  EXPECT_EQ(Deliver(), 0u);
  clock_.Advance(1s);
  while (Deliver() > 0) {
  }
  EXPECT_EQ(OrgNames(receiver_.received()), (std::vector<std::string>{"一", "一", "二", "三"}));
}

TEST_F(PusherTest, MessagesAboutOtherEntitiesGoWhileAnEarlierOneWaitsForItsRetry) {
  receiver_.Answer({{503, "busy"}});
  AddOrgs(3);
  Deliver();
  while (Deliver() > 0) {
  }
  clock_.Advance(1s);
  while (Deliver() > 0) {
  }
  std::vector<std::string> order;
  for (const Received& r : receiver_.received()) {
    order.push_back((*codec::ParseJson(r.form.at("args")))["orgcoding"].AsString());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"001", "002", "003", "001"}));
}

TEST_F(PusherTest, AMessageFailingMaxAttemptsTimesIsDeadAndTheNextOneGoes) {
  receiver_.Answer({{503, "busy"}, {503, "still busy"}});
  AddOrg("001", "一");
  AddOrg("001", "二");
  Deliver();
  clock_.Advance(1s);
  Deliver();
  EXPECT_EQ(Only(OutboxState::kDead).attempts, 2);
  EXPECT_EQ(Deliver(), 1u);
  auto received = receiver_.received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(OrgNames(received)[2], "二");
}

// The args of every synchronizeUser received, in order.
std::vector<codec::Value> UserPushes(const std::vector<Received>& received) {
  std::vector<codec::Value> out;
  for (const Received& r : received) {
    if (r.form.at("method") == "synchronizeUser") out.push_back(*codec::ParseJson(r.form.at("args")));
  }
  return out;
}

TEST_F(PusherTest, ANewUserArrivesWithAPlaceholderPasswordAndAChangedOneWithout) {
  AddOrg("001", "浙江省");
  directory::User u = AddUser("zhangs", "001");
  ASSERT_TRUE(
      dir_->SaveUser(directory::Caller::Admin(), {{"userid", u.userid}, {"username", "张三"}}).ok());
  while (Deliver() > 0) {
  }
  std::vector<codec::Value> users = UserPushes(receiver_.received());
  ASSERT_EQ(users.size(), 2u);
  const std::string* placeholder = users[0].FindString("loginpwd");
  ASSERT_NE(placeholder, nullptr);
  EXPECT_GE(placeholder->size(), 16u);
  EXPECT_NE(*placeholder, "pw-zhangs");
  EXPECT_EQ(users[0]["encryptiontype"].AsString(), "1");
  EXPECT_EQ(users[0].Find(directory::kPushHintNewToApp), nullptr);
  EXPECT_EQ(users[1].Find("loginpwd"), nullptr);
  EXPECT_EQ(users[1].Find(directory::kPushHintNewToApp), nullptr);
}

TEST_F(PusherTest, EachNewUserGetsItsOwnPlaceholder) {
  AddOrg("001", "浙江省");
  AddUser("zhangs", "001");
  AddUser("lisi", "001");
  while (Deliver() > 0) {
  }
  std::vector<codec::Value> users = UserPushes(receiver_.received());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_NE(users[0]["loginpwd"].AsString(), users[1]["loginpwd"].AsString());
}

TEST_F(PusherTest, AnAppThatChoseOmitGetsNewUsersWithoutAPassword) {
  auto app = dir_->GetApp("app1");
  ASSERT_TRUE(app.ok());
  app->push_password = std::string(directory::kPushPasswordOmit);
  ASSERT_TRUE(dir_->UpdateApp(*app).ok());
  AddOrg("001", "浙江省");
  AddUser("zhangs", "001");
  while (Deliver() > 0) {
  }
  std::vector<codec::Value> users = UserPushes(receiver_.received());
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].Find("loginpwd"), nullptr);
  EXPECT_EQ(users[0].Find("encryptiontype"), nullptr);
  EXPECT_EQ(users[0].Find(directory::kPushHintNewToApp), nullptr);
}

TEST_F(PusherTest, AMethodWithItsOwnUrlGoesThereAndTheRestToThePushUrl) {
  auto app = dir_->GetApp("app1");
  ASSERT_TRUE(app.ok());
  app->push_urls = {{"synchronizeUser", receiver_.Url("/push/user")}};
  ASSERT_TRUE(dir_->UpdateApp(*app).ok());
  AddOrg("001", "浙江省");
  AddUser("zhangs", "001");
  while (Deliver() > 0) {
  }
  std::map<std::string, std::string> path_of;
  for (const Received& r : receiver_.received()) path_of[r.form.at("method")] = r.path;
  EXPECT_EQ(path_of["synchronizeOrg"], "/push");
  EXPECT_EQ(path_of["synchronizeUser"], "/push/user");
}

TEST_F(PusherTest, AUserPushRejectedWith2099HoldsBackNoOtherUser) {
  AddOrg("001", "浙江省");
  while (Deliver() > 0) {
  }
  receiver_.Answer({{200, R"({"result":"2099","errmsg":"用户密码不能为空"})"}});
  AddUser("first", "001");
  AddUser("second", "001");
  AddUser("third", "001");
  while (Deliver() > 0) {
  }
  std::vector<std::string> names;
  for (const codec::Value& u : UserPushes(receiver_.received())) {
    names.push_back(u["loginname"].AsString());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second", "third"}));
  auto pending = outbox_->List(OutboxState::kPending, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);  // only the rejected one, waiting for its retry
  EXPECT_NE(pending->front().last_error.find("2099"), std::string::npos);
}

TEST_F(PusherTest, AnXmlAppReceivesSsoXmlArgs) {
  CreateApp("xmlapp", "xml");
  AddOrg("001", "浙江省");
  while (Deliver() > 0) {
  }
  for (const Received& r : receiver_.received()) {
    if (r.form.at("servicecode") != "xmlapp") continue;
    EXPECT_EQ(r.form.at("datatype"), "xml");
    auto args = codec::ParseSsoXml(r.form.at("args"));
    ASSERT_TRUE(args.ok()) << r.form.at("args");
    EXPECT_EQ((*args)["orgname"].AsString(), "浙江省");
    return;
  }
  FAIL() << "xmlapp got nothing";
}

TEST_F(PusherTest, ALogoutNoticeGoesToTheLogoutUrlWithItsFieldsAtTheTopLevel) {
  Status enqueued = store_->WithTransaction([&](soci::session& tx) -> Status {
    auto id = outbox_->Enqueue(tx, "app1", "logout",
                               R"({"userid":"0123456789abcdef0123456789abcdef","token":"t1"})",
                               clock_.NowMillis());
    if (!id.ok()) return id.error();
    return Status::Ok();
  });
  ASSERT_TRUE(enqueued.ok());
  Deliver();
  auto received = receiver_.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].path, "/logout");
  EXPECT_EQ(received[0].form.at("method"), "logout");
  EXPECT_EQ(received[0].form.at("userid"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(received[0].form.at("token"), "t1");
}

TEST_F(PusherTest, DeletionsCarryTheirKeyFieldsAtTheTopLevel) {
  AddOrg("001", "浙江省");
  ASSERT_TRUE(dir_->DeleteOrg(directory::Caller::Admin(), "001").ok());
  while (Deliver() > 0) {
  }
  auto received = receiver_.received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[1].form.at("method"), "deleteOrg");
  EXPECT_EQ(received[1].form.at("orgcoding"), "001");
  EXPECT_EQ(received[0].form.count("orgcoding"), 0u);
}

TEST_F(PusherTest, TheBackgroundThreadsDeliverAndStopWhenAsked) {
  pusher_->Start();
  AddOrg("001", "浙江省");
  EXPECT_TRUE(receiver_.WaitFor(1, 30s));
  pusher_->Stop();
  EXPECT_EQ(Only(OutboxState::kDelivered).method, "synchronizeOrg");
}

}  // namespace
}  // namespace tongban::sso
