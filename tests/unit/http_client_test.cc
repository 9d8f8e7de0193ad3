#include "http/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "http/server.h"

namespace tongban::http {
namespace {

using std::chrono::milliseconds;

// A listening socket that never accepts or answers: connects succeed (the
// kernel completes them), replies never come.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
};

// A loopback port with nothing listening on it.
uint16_t ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/hello", [](const Request&, Response& r) {
      r.AddHeader("X-Served-By", "tongban");
      r.SetText(200, "hello");
    });
    router_.Add("POST", "/echo", [](const Request& req, Response& r) {
      std::string out(req.Header("Content-Type").value_or("-"));
      out.append("|").append(req.body());
      for (const Params::Entry& e : req.params()) out.append("|").append(e.name).append("=").append(e.value);
      r.SetText(200, out);
    });
    router_.Add("GET", "/big", [](const Request&, Response& r) { r.SetText(200, std::string(4096, 'b')); });
    server_ = std::make_unique<Server>(router_, metrics_,
                                       ServerOptions{.port = 0, .threads = 1, .access_log = false});
    ASSERT_TRUE(server_->Listen().ok());
    runner_ = std::thread([this] { server_->Run(); });
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_->Stop();
    runner_.join();
  }

  Router router_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::string base_;
  Client client_;
};

TEST_F(HttpClientTest, GetReturnsStatusBodyAndHeaders) {
  auto r = client_.Get(base_ + "/hello", milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->Header("x-served-by"), std::optional<std::string_view>("tongban"));
}

TEST_F(HttpClientTest, ErrorStatusIsAValueNotAnError) {
  auto r = client_.Get(base_ + "/missing", milliseconds(5000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
}

TEST_F(HttpClientTest, PostFormSendsEncodedParameters) {
  auto r = client_.PostForm(base_ + "/echo",
                            {{"method", "synchronizeUser"}, {"args", "{\"username\":\"张三\"}"}},
                            milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body,
            "application/x-www-form-urlencoded;charset=UTF-8|"
            "method=synchronizeUser&args=%7B%22username%22%3A%22%E5%BC%A0%E4%B8%89%22%7D|"
            "method=synchronizeUser|args={\"username\":\"张三\"}");
}

TEST_F(HttpClientTest, PostSendsBodyWithContentType) {
  auto r = client_.Post(base_ + "/echo", "text/xml", "<SSO/>", milliseconds(5000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "text/xml|<SSO/>");
}

TEST_F(HttpClientTest, OversizedResponseIsTooLarge) {
  Client small(ClientOptions{.max_response_bytes = 1024});
  auto r = small.Get(base_ + "/big", milliseconds(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kTooLarge);
}

TEST(HttpClient, RefusedConnectionIsUnavailableWithoutTheQueryInTheMessage) {
  Client client;
  auto r = client.Get("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/push?sign=secret",
                      milliseconds(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kUnavailable);
  EXPECT_NE(r.error().message.find("connect"), std::string::npos);
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos);
}

TEST(HttpClient, SilentServerTimesOutAsUnavailable) {
  SilentListener silent;
  Client client;
  auto r = client.Get("http://127.0.0.1:" + std::to_string(silent.port()) + "/", milliseconds(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kUnavailable);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos);
}

TEST(HttpClient, UnresolvableHostIsUnavailable) {
  Client client;
  auto r = client.Get("http://no-such-host.invalid/", milliseconds(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kUnavailable);
}

TEST(HttpClient, HttpsIsNotSupported) {
  Client client;
  auto r = client.Get("https://example.org/", milliseconds(1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kInvalidArgument);
}

TEST(HttpClient, RejectsMalformedUrls) {
  Client client;
  for (const char* url : {"ftp://x/", "http://", "http://host:99999/", "http://a b/",
                          "http://user@host/", "http://host/\r\nX: y"}) {
    auto r = client.Get(url, milliseconds(1000));
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().code, errc::kInvalidArgument) << url;
  }
}

}  // namespace
}  // namespace tongban::http
