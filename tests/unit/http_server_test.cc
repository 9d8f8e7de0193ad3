// Drives a real Server over loopback sockets with a hand-rolled client, so
// the bytes on the wire are exactly what each test says.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "http/server.h"

namespace tongban::http {
namespace {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;

  bool HasHeader(std::string_view line) const {
    return head.find(std::string(line) + "\r\n") != std::string::npos;
  }
};

// A blocking loopback client that reads whole responses, including several
// from one read when responses are pipelined.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    // A safety net so a server bug fails the test instead of hanging it.
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // `to_head` = the response answers a HEAD request: no body follows.
  std::optional<RawResponse> Read(bool to_head = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    RawResponse r;
    r.head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    size_t length = 0;
    size_t pos = r.head.find("Content-Length: ");
    if (pos != std::string::npos && !to_head) length = std::stoul(r.head.substr(pos + 16));
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }

  std::optional<RawResponse> RoundTrip(std::string_view request) {
    Send(request);
    return Read();
  }

  // True once the server has closed the connection (EOF or reset).
  bool ClosedByServer() {
    char c;
    for (;;) {
      ssize_t n = recv(fd_, &c, 1, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool Fill() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string Get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/healthz", [](const Request&, Response& r) { r.SetText(200, "ok"); });
    router_.Add("*", "/echo", [](const Request& req, Response& r) {
      std::string out = std::string(req.method()) + " " + std::string(req.path());
      for (const Params::Entry& e : req.params()) {
        out.append(" ").append(e.name).append("=").append(e.value);
      }
      r.SetText(200, out);
    });
    router_.Add("GET", "/ip",
                [](const Request& req, Response& r) { r.SetText(200, req.remote_ip()); });
    router_.Add("GET", "/throw", [](const Request&, Response& r) {
      r.SetText(200, "partial");
      throw std::runtime_error("boom");
    });
    router_.Add("GET", "/stop", [this](const Request&, Response& r) {
      server_->Stop();
      r.SetText(200, "stopping");
    });
    router_.Add("POST", "/upload", [](const Request& req, Response& r) {
      r.SetText(200, std::to_string(req.body().size()));
    });
  }

  void Start(ServerOptions options = {}) {
    options.port = 0;
    options.threads = options.threads ? options.threads : 2;
    options.access_log = false;
    server_ = std::make_unique<Server>(router_, metrics_, options);
    Status listening = server_->Listen();
    ASSERT_TRUE(listening.ok()) << listening.error().message;
    runner_ = std::thread([this] { server_->Run(); });
  }

  void StopAndJoin() {
    if (!runner_.joinable()) return;
    server_->Stop();
    runner_.join();
  }

  void TearDown() override { StopAndJoin(); }

  uint16_t port() const { return server_->port(); }

  Router router_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
};

TEST_F(HttpServerTest, PicksAFreePortForPortZero) {
  Start();
  EXPECT_NE(port(), 0);
}

TEST_F(HttpServerTest, ServesTwoRequestsOnOneKeepAliveConnection) {
  Start();
  RawClient client(port());
  ASSERT_TRUE(client.connected());
  auto first = client.RoundTrip(Get("/healthz"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "ok");
  EXPECT_FALSE(first->HasHeader("Connection: close"));
  auto second = client.RoundTrip(Get("/echo?a=1"));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, "GET /echo a=1");
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  Start();
  RawClient client(port());
  client.Send(Get("/echo?n=1") + Get("/echo?n=2") + Get("/echo?n=3"));
  for (const char* expected : {"GET /echo n=1", "GET /echo n=2", "GET /echo n=3"}) {
    auto r = client.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, expected);
  }
}

TEST_F(HttpServerTest, SendsDateContentTypeAndLength) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip(Get("/healthz"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_TRUE(r->HasHeader("Content-Type: text/plain;charset=utf-8"));
  EXPECT_TRUE(r->HasHeader("Content-Length: 2"));
  EXPECT_NE(r->head.find("\r\nDate: "), std::string::npos);
}

TEST_F(HttpServerTest, MergesQueryAndFormBodyFromTheWire) {
  Start();
  RawClient client(port());
  std::string body = "username=%E5%BC%A0+%E4%B8%89&b=2";
  auto r = client.RoundTrip(
      "POST /echo?a=1&b=1 HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "POST /echo a=1 b=1 username=张 三 b=2");
}

TEST_F(HttpServerTest, AnswersUnknownRouteWith404Json) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip(Get("/nope"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(r->HasHeader("Content-Type: application/json;charset=utf-8"));
  EXPECT_EQ(r->body, R"({"error":"not_found","message":"no route for this path"})");
}

TEST_F(HttpServerTest, AnswersWrongMethodWith405AndAllow) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
  EXPECT_TRUE(r->HasHeader("Allow: GET, HEAD"));
}

TEST_F(HttpServerTest, AnswersHeadWithLengthButNoBody) {
  Start();
  RawClient client(port());
  client.Send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + Get("/echo?after=head"));
  auto head = client.Read(/*to_head=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->HasHeader("Content-Length: 2"));
  auto next = client.Read();  // starts right after the HEAD answer's headers
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "GET /echo after=head");
}

TEST_F(HttpServerTest, AnswersOversizedBodyWith413AndCloses) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Start(options);
  RawClient client(port());
  client.Send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" +
              std::string(5000, 'x'));
  auto r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(r->HasHeader("Connection: close"));
  EXPECT_EQ(r->body, R"({"error":"payload_too_large","message":"request body too large"})");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, AnswersOversizedChunkedBodyWith413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Start(options);
  RawClient client(port());
  client.Send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "800\r\n" +
      std::string(0x800, 'x') + "\r\n0\r\n\r\n");
  auto r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpServerTest, AcceptsBodyUpToTheLimit) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Start(options);
  RawClient client(port());
  auto r = client.RoundTrip("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" +
                            std::string(1024, 'x'));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "1024");
}

TEST_F(HttpServerTest, AnswersOversizedHeaderWith431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  Start(options);
  RawClient client(port());
  auto r = client.RoundTrip(Get("/healthz", "X-Big: " + std::string(4096, 'a') + "\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
}

TEST_F(HttpServerTest, AnswersMalformedRequestWith400AndCloses) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip("THIS IS NOT HTTP\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("\"error\":\"bad_request\""), std::string::npos);
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, KeepsServingOtherConnectionsAfterAMalformedOne) {
  Start();
  {
    RawClient bad(port());
    bad.Send(std::string("GET /\x01\x02 HTTP/1.1\r\n\r\n"));
    EXPECT_TRUE(bad.ClosedByServer());
  }
  RawClient good(port());
  auto r = good.RoundTrip(Get("/healthz"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, AnswersParamThatIsNotUtf8With400NamingIt) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip(Get("/echo?loginname=%D5%C5%C8%FD"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(
      r->body,
      R"({"error":"bad_request","message":"parameter 'loginname': value is not valid UTF-8"})");
}

TEST_F(HttpServerTest, AnswersDotSegmentPathWith400) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip(Get("/static/../etc/passwd"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
}

TEST_F(HttpServerTest, TurnsHandlerExceptionInto500Json) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip(Get("/throw"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":"internal","message":"internal server error"})");
  auto after = client.RoundTrip(Get("/healthz"));  // the connection survives
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, SendsContinueWhenTheClientExpectsIt) {
  Start();
  RawClient client(port());
  client.Send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  auto interim = client.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  client.Send("abc");
  auto r = client.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "3");
}

TEST_F(HttpServerTest, ClosesWhenTheClientAsksTo) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip(Get("/healthz", "Connection: close\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->HasHeader("Connection: close"));
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, KeepsHttp10ConnectionOnlyWhenAskedTo) {
  Start();
  RawClient keep(port());
  auto r = keep.RoundTrip("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->HasHeader("Connection: keep-alive"));
  RawClient once(port());
  r = once.RoundTrip("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(once.ClosedByServer());
}

TEST_F(HttpServerTest, ClosesConnectionIdleLongerThanTheIdleTimeout) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(100);
  Start(options);
  RawClient client(port());
  ASSERT_TRUE(client.RoundTrip(Get("/healthz")).has_value());
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, ClosesConnectionThatSendsAnIncompleteRequestTooSlowly) {
  ServerOptions options;
  options.read_timeout = std::chrono::milliseconds(100);
  Start(options);
  RawClient client(port());
  client.Send("GET /healthz HTTP/1.1\r\nHost:");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, UsesForwardedForOnlyFromTrustedProxies) {
  ServerOptions options;
  options.trusted_proxies = {"127.0.0.1"};
  Start(options);
  RawClient client(port());
  auto r = client.RoundTrip(Get("/ip", "X-Forwarded-For: 198.51.100.7\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "198.51.100.7");
}

TEST_F(HttpServerTest, IgnoresForwardedForWithoutTrustedProxies) {
  Start();
  RawClient client(port());
  auto r = client.RoundTrip(Get("/ip", "X-Forwarded-For: 198.51.100.7\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "127.0.0.1");
}

TEST_F(HttpServerTest, RecordsMetricsByRouteLabel) {
  Start();
  {
    RawClient client(port());
    ASSERT_TRUE(client.RoundTrip(Get("/healthz")).has_value());
    ASSERT_TRUE(client.RoundTrip(Get("/healthz")).has_value());
    ASSERT_TRUE(client.RoundTrip(Get("/missing/1")).has_value());
    ASSERT_TRUE(client.RoundTrip(Get("/missing/2")).has_value());
  }
  StopAndJoin();  // every response is written, so every observation is in
  EXPECT_EQ(metrics_.RequestCount("/healthz", 200), 2u);
  EXPECT_EQ(metrics_.RequestCount("unmatched", 404), 2u);
  EXPECT_NE(metrics_.RenderPrometheus().find("route=\"unmatched\",status=\"404\"} 2"),
            std::string::npos);
}

TEST_F(HttpServerTest, StopReturnsFromRunAndClosesIdleConnections) {
  Start();
  RawClient client(port());
  ASSERT_TRUE(client.RoundTrip(Get("/healthz")).has_value());
  server_->Stop();
  EXPECT_TRUE(client.ClosedByServer());
  runner_.join();
}

// A handler that defers its work until the test opens the gate, on a
// server with one I/O thread: while it waits, that thread must go on
// serving other connections.
class HttpServerDeferTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    router_.Add("GET", "/slow", [this](const Request& req, Response& r) {
      std::string who(req.ParamOr("who"));
      r.Defer([this, who, &req](Response& deferred) {
        entered_.set_value();
        gate_.get_future().wait();
        // The request is still the one that deferred.
        deferred.SetText(200, who + " " + std::string(req.ParamOr("who")));
      });
    });
    router_.Add("GET", "/slow-throw", [](const Request&, Response& r) {
      r.Defer([](Response& deferred) {
        deferred.SetText(200, "partial");
        throw std::runtime_error("deferred boom");
      });
    });
  }

  std::promise<void> entered_;
  std::promise<void> gate_;
};

TEST_F(HttpServerDeferTest, DeferredWorkDoesNotHoldUpTheIoThread) {
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  RawClient slow(port());
  slow.Send(Get("/slow?who=first"));
  entered_.get_future().wait();  // the deferred work is running, and blocked
  RawClient other(port());
  auto quick = other.RoundTrip(Get("/healthz"));
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(quick->body, "ok");
  gate_.set_value();
  auto r = slow.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "first first");
  auto after = slow.RoundTrip(Get("/echo?n=2"));  // the connection carries on
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->body, "GET /echo n=2");
}

TEST_F(HttpServerDeferTest, APipelinedRequestWaitsForTheDeferredOne) {
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  RawClient client(port());
  client.Send(Get("/slow?who=one") + Get("/echo?n=2"));
  entered_.get_future().wait();
  gate_.set_value();
  auto first = client.Read();
  auto second = client.Read();
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->body, "one one");
  EXPECT_EQ(second->body, "GET /echo n=2");
}

TEST_F(HttpServerDeferTest, AnExceptionInDeferredWorkIsA500) {
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  RawClient client(port());
  auto r = client.RoundTrip(Get("/slow-throw"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("partial"), std::string::npos);
}

TEST_F(HttpServerDeferTest, StopWaitsForDeferredWorkAndClosesAfterIt) {
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  {
    RawClient client(port());
    client.Send(Get("/slow?who=last"));
    entered_.get_future().wait();
    server_->Stop();
    gate_.set_value();
    auto r = client.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "last last");
    EXPECT_TRUE(r->HasHeader("Connection: close"));
  }  // the client closes: the server's drain ends and Run() returns
  runner_.join();
}

// Handlers that suspend their response (Response::Suspend), as a handler
// waiting on an asynchronous store call does: the test holds the Resumers
// and resumes them from its own thread, in any order.
class HttpServerSuspendTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    router_.Add("GET", "/wait", [this](const Request& req, Response& r) {
      Resumer resume = r.Suspend();
      std::lock_guard lock(mu_);
      waiting_.emplace_back(std::string(req.ParamOr("who")), std::move(resume));
      cv_.notify_all();
    });
    router_.Add("GET", "/at-once", [](const Request& req, Response& r) {
      Resumer resume = r.Suspend();
      std::string who(req.ParamOr("who"));
      resume([who](Response& done) { done.SetText(200, "done " + who); });
    });
  }

  // Waits until `n` requests are suspended.
  void AwaitSuspended(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return waiting_.size() >= n; });
  }

  // Resumes the i-th suspended request from this (a non-I/O) thread.
  void Resume(size_t i) {
    std::pair<std::string, Resumer> entry;
    {
      std::lock_guard lock(mu_);
      entry = waiting_[i];
    }
    std::string who = entry.first;
    entry.second([who](Response& r) { r.SetText(200, "resumed " + who); });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, Resumer>> waiting_;
};

// Deferred work that suspends (the catalogue's base query: reads on the pool,
// then the answer waits for its audit commit) hands the pool thread back at
// once: with one blocking thread, other deferred work runs meanwhile, and
// the suspended response goes out when resumed, its connection carrying on.
TEST_F(HttpServerSuspendTest, DeferredWorkThatSuspendsFreesItsPoolThread) {
  router_.Add("GET", "/defer-wait", [this](const Request&, Response& r) {
    r.Defer([this](Response& deferred) {
      Resumer resume = deferred.Suspend();
      std::lock_guard lock(mu_);
      waiting_.emplace_back("deferred", std::move(resume));
      cv_.notify_all();
    });
  });
  router_.Add("GET", "/defer-quick", [](const Request&, Response& r) {
    r.Defer([](Response& deferred) { deferred.SetText(200, "quick"); });
  });
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  RawClient waiting(port());
  waiting.Send(Get("/defer-wait"));
  AwaitSuspended(1);
  RawClient other(port());
  auto quick = other.RoundTrip(Get("/defer-quick"));  // needs the one pool thread
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(quick->body, "quick");
  Resume(0);
  auto r = waiting.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "resumed deferred");
  auto after = waiting.RoundTrip(Get("/echo?n=3"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->body, "GET /echo n=3");
}

TEST_F(HttpServerSuspendTest, ASuspendedResponseDoesNotHoldUpTheIoThread) {
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  RawClient waiting(port());
  waiting.Send(Get("/wait?who=a"));
  AwaitSuspended(1);
  RawClient other(port());
  auto quick = other.RoundTrip(Get("/healthz"));
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(quick->body, "ok");
  Resume(0);
  auto r = waiting.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "resumed a");
  auto after = waiting.RoundTrip(Get("/echo?n=2"));  // the connection carries on
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->body, "GET /echo n=2");
}

TEST_F(HttpServerSuspendTest, ManySuspendedResponsesNeedNoThreadsAndResumeInAnyOrder) {
  // One I/O thread and one blocking thread hold twenty requests at once.
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  constexpr size_t kClients = 20;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (size_t i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(port()));
    clients.back()->Send(Get("/wait?who=" + std::to_string(i)));
    AwaitSuspended(i + 1);  // in order, so waiting_[i] is client i
  }
  for (size_t i = kClients; i-- > 0;) Resume(i);
  for (size_t i = 0; i < kClients; ++i) {
    auto r = clients[i]->Read();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->body, "resumed " + std::to_string(i));
  }
}

// CAS /login of a browser session on Redis: the first store call's finish
// hands the rest on again — straight to a second asynchronous call, or to the
// blocking pool whose work then suspends for it. Each answers when resumed.
TEST_F(HttpServerSuspendTest, AResumedFinishMaySuspendOrDeferAgain) {
  auto park = [this](Response& r, const char* who) {
    Resumer resume = r.Suspend();
    std::lock_guard lock(mu_);
    waiting_.emplace_back(who, std::move(resume));
    cv_.notify_all();
  };
  router_.Add("GET", "/again", [park](const Request&, Response& r) {
    Resumer first = r.Suspend();
    first([park](Response& resumed) { park(resumed, "again"); });
  });
  router_.Add("GET", "/via-pool", [park](const Request&, Response& r) {
    Resumer first = r.Suspend();
    first([park](Response& resumed) {
      resumed.Defer([park](Response& pooled) { park(pooled, "via-pool"); });
    });
  });
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  RawClient a(port());
  a.Send(Get("/again"));
  AwaitSuspended(1);
  RawClient b(port());
  b.Send(Get("/via-pool"));
  AwaitSuspended(2);
  Resume(1);
  Resume(0);
  auto ra = a.Read();
  auto rb = b.Read();
  ASSERT_TRUE(ra.has_value() && rb.has_value());
  EXPECT_EQ(ra->body, "resumed again");
  EXPECT_EQ(rb->body, "resumed via-pool");
  auto next = a.RoundTrip(Get("/echo?n=3"));  // the connection carries on
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "GET /echo n=3");
}

TEST_F(HttpServerSuspendTest, AResumeBeforeTheHandlerReturnsAnswersAtOnce) {
  Start(ServerOptions{.threads = 1, .blocking_threads = 1});
  RawClient client(port());
  client.Send(Get("/at-once?who=x") + Get("/echo?n=2"));
  auto first = client.Read();
  auto second = client.Read();
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->body, "done x");
  EXPECT_EQ(second->body, "GET /echo n=2");
}

TEST(HttpResponseSuspend, RunDeferredWaitsForTheResumeFromAnotherThread) {
  Response response;
  Resumer resume = response.Suspend();
  EXPECT_TRUE(response.suspended());
  std::thread later([resume] { resume([](Response& r) { r.SetText(200, "late"); }); });
  response.RunDeferred();
  later.join();
  EXPECT_EQ(response.body(), "late");
  EXPECT_FALSE(response.suspended());
  // A second resume is ignored.
  resume([](Response& r) { r.SetText(200, "again"); });
  EXPECT_EQ(response.body(), "late");
}

TEST(HttpResponseDefer, RunDeferredRunsTheWorkOnceAndResetForgetsIt) {
  Response response;
  int runs = 0;
  response.Defer([&runs](Response& r) {
    ++runs;
    r.SetText(201, "done");
  });
  EXPECT_TRUE(response.deferred());
  response.RunDeferred();
  response.RunDeferred();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(response.status(), 201);
  response.Defer([&runs](Response&) { ++runs; });
  response.Reset();
  EXPECT_FALSE(response.deferred());
  response.RunDeferred();
  EXPECT_EQ(runs, 1);
  // Work that defers more work: one RunDeferred runs both.
  response.Defer([&runs](Response& r) {
    ++runs;
    r.Defer([&runs](Response& again) {
      ++runs;
      again.SetText(200, "second");
    });
  });
  response.RunDeferred();
  EXPECT_EQ(runs, 3);
  EXPECT_FALSE(response.deferred());
  EXPECT_EQ(response.body(), "second");
}

TEST_F(HttpServerTest, StopLetsTheRequestInFlightFinish) {
  Start();
  {
    RawClient client(port());
    auto r = client.RoundTrip(Get("/stop"));  // the handler itself calls Stop()
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "stopping");
    EXPECT_TRUE(r->HasHeader("Connection: close"));
  }  // the client closes: the server's drain ends and Run() returns
  runner_.join();
}

TEST_F(HttpServerTest, StopBeforeRunMakesRunReturn) {
  server_ = std::make_unique<Server>(router_, metrics_, ServerOptions{.port = 0, .threads = 1});
  ASSERT_TRUE(server_->Listen().ok());
  server_->Stop();
  server_->Run();  // returns instead of serving forever
  SUCCEED();
}

TEST_F(HttpServerTest, StopsAcceptingAfterStop) {
  Start();
  uint16_t p = port();
  StopAndJoin();
  RawClient client(p);
  EXPECT_FALSE(client.connected());
}

TEST(HttpServerListen, FailsWhenThePortIsTaken) {
  Router router;
  Metrics metrics;
  Server first(router, metrics, ServerOptions{.port = 0, .threads = 1});
  ASSERT_TRUE(first.Listen().ok());
  Server second(router, metrics, ServerOptions{.port = first.port(), .threads = 1});
  Status status = second.Listen();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, errc::kUnavailable);
}

TEST(HttpServerListen, RejectsBadTrustedProxy) {
  Router router;
  Metrics metrics;
  Server server(router, metrics,
                ServerOptions{.port = 0, .threads = 1, .trusted_proxies = {"lb.local"}});
  Status status = server.Listen();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, errc::kInvalidArgument);
}

}  // namespace
}  // namespace tongban::http
