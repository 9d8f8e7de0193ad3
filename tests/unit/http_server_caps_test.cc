// Connection caps of the real Server over loopback: per client address
// (127.0.0.1 and 127.0.0.2 are two clients), the overall cap that sheds the
// longest-idle connection first and stays within the descriptor limit, and
// Strict-Transport-Security.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "http/server.h"

namespace tongban::http {
namespace {

// A blocking client bound to a chosen loopback source address.
class Client {
 public:
  Client(uint16_t port, const char* source_ip) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};  // a server bug fails the test instead of hanging it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip, &local.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }

  void Send(std::string_view data) { send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }

  // The status of the next response and its head; 0 when the connection
  // ended first.
  int ReadStatus(std::string* head = nullptr) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return 0;
      buffer_.append(buf, static_cast<size_t>(n));
    }
    std::string h = buffer_.substr(0, end + 2);
    size_t length = 0;
    if (size_t pos = h.find("Content-Length: "); pos != std::string::npos) {
      length = std::stoul(h.substr(pos + 16));
    }
    while (buffer_.size() < end + 4 + length) {
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return 0;
      buffer_.append(buf, static_cast<size_t>(n));
    }
    buffer_.erase(0, end + 4 + length);
    if (head) *head = h;
    return std::stoi(h.substr(9, 3));
  }

  int Get(std::string_view path, std::string* head = nullptr) {
    Send("GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n");
    return ReadStatus(head);
  }

  bool ClosedByServer() {
    char c;
    ssize_t n = recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  bool connected() const { return connected_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// Lowers the soft descriptor limit (RLIMIT_NOFILE) while it lives.
class SoftDescriptorLimit {
 public:
  explicit SoftDescriptorLimit(rlim_t soft) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ok_ = setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~SoftDescriptorLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  SoftDescriptorLimit(const SoftDescriptorLimit&) = delete;
  SoftDescriptorLimit& operator=(const SoftDescriptorLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

// The highest descriptor this process has open.
int HighestOpenDescriptor() {
  int highest = 2;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::stoi(entry.path().filename().string()));
  }
  return highest;
}

class HttpServerCapsTest : public ::testing::Test {
 protected:
  // The server's threads log to the default logger until TearDown() joined
  // them, so the capture is put back only here.
  ~HttpServerCapsTest() override {
    if (saved_logger_) spdlog::set_default_logger(saved_logger_);
  }

  // From now on what the server logs is kept for LogLines().
  void CaptureLog() {
    saved_logger_ = spdlog::default_logger();
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("caps-test", log_));
  }
  size_t LogLines(std::string_view containing) const {
    const std::vector<std::string> lines = log_->last_formatted();
    return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& line) {
      return line.find(containing) != std::string::npos;
    }));
  }

  void SetUp() override {
    router_.Add("GET", "/ok", [](const Request&, Response& r) { r.SetText(200, "ok"); });
    router_.Add("GET", "/held", [this](const Request&, Response& r) {
      r.Defer([this](Response& deferred) {
        held_.set_value();
        release_.get_future().wait();
        deferred.SetText(200, "released");
      });
    });
  }

  void Start(ServerOptions options) {
    options.port = 0;
    options.threads = 1;
    options.access_log = false;
    server_ = std::make_unique<Server>(router_, metrics_, options);
    Status listening = server_->Listen();
    ASSERT_TRUE(listening.ok()) << listening.error().message;
    runner_ = std::thread([this] { server_->Run(); });
  }

  void TearDown() override {
    if (!runner_.joinable()) return;
    server_->Stop();
    runner_.join();
  }

  uint16_t port() const { return server_->port(); }

  Router router_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::promise<void> held_;
  std::promise<void> release_;
  std::shared_ptr<spdlog::logger> saved_logger_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
};

TEST_F(HttpServerCapsTest, OneAddressIsCappedWhileAnotherIsStillServed) {
  ServerOptions o;
  o.max_connections_per_ip = 2;
  Start(o);
  Client a1(port(), "127.0.0.1"), a2(port(), "127.0.0.1");
  ASSERT_EQ(a1.Get("/ok"), 200);
  ASSERT_EQ(a2.Get("/ok"), 200);
  Client a3(port(), "127.0.0.1");
  std::string head;
  EXPECT_EQ(a3.Get("/ok", &head), 503);
  EXPECT_NE(head.find("Retry-After: 1"), std::string::npos);
  Client b(port(), "127.0.0.2");
  EXPECT_EQ(b.Get("/ok"), 200);
  // The capped address's open connections keep working.
  EXPECT_EQ(a1.Get("/ok"), 200);
}

TEST_F(HttpServerCapsTest, TrustedProxiesAreNotCappedPerAddress) {
  ServerOptions o;
  o.max_connections_per_ip = 1;
  o.trusted_proxies = {"127.0.0.1"};
  Start(o);
  Client a1(port(), "127.0.0.1"), a2(port(), "127.0.0.1");
  EXPECT_EQ(a1.Get("/ok"), 200);
  EXPECT_EQ(a2.Get("/ok"), 200);
}

TEST_F(HttpServerCapsTest, AtTheCapTheLongestIdleConnectionMakesRoom) {
  ServerOptions o;
  o.max_connections = 2;
  Start(o);
  Client oldest(port(), "127.0.0.1"), newer(port(), "127.0.0.1");
  ASSERT_EQ(oldest.Get("/ok"), 200);
  ASSERT_EQ(newer.Get("/ok"), 200);
  Client third(port(), "127.0.0.2");
  EXPECT_EQ(third.Get("/ok"), 200);
  EXPECT_TRUE(oldest.ClosedByServer());
  EXPECT_EQ(newer.Get("/ok"), 200);
}

TEST_F(HttpServerCapsTest, AtTheCapWithNothingIdleANewConnectionGets503) {
  ServerOptions o;
  o.max_connections = 1;
  Start(o);
  Client busy(port(), "127.0.0.1");
  busy.Send("GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
  held_.get_future().wait();  // the only connection is now handling, not idle
  Client refused(port(), "127.0.0.2");
  EXPECT_EQ(refused.Get("/ok"), 503);
  release_.set_value();
  EXPECT_EQ(busy.ReadStatus(), 200);
}

TEST_F(HttpServerCapsTest, SendsStrictTransportSecurityWhenConfigured) {
  ServerOptions o;
  o.strict_transport_security = "max-age=31536000";
  Start(o);
  Client c(port(), "127.0.0.1");
  std::string head;
  ASSERT_EQ(c.Get("/ok", &head), 200);
  EXPECT_NE(head.find("\r\nStrict-Transport-Security: max-age=31536000\r\n"), std::string::npos);
}

TEST_F(HttpServerCapsTest, TheDefaultCapFollowsTheDescriptorLimit) {
  Start(ServerOptions{});
  EXPECT_GT(server_->max_connections(), 0u);
  Client c(port(), "127.0.0.1");
  std::string head;
  ASSERT_EQ(c.Get("/ok", &head), 200);
  EXPECT_EQ(head.find("Strict-Transport-Security"), std::string::npos);
}

TEST_F(HttpServerCapsTest, AnExplicitCapAboveTheDescriptorLimitIsLoweredWithAWarning) {
  CaptureLog();
  SoftDescriptorLimit limit(256);
  ASSERT_TRUE(limit.ok());
  ServerOptions o;
  o.max_connections = 100'000;
  Start(o);
  // 256 less the reserve for the database, logs and outbound calls (32).
  EXPECT_EQ(server_->max_connections(), 224u);
  EXPECT_EQ(LogLines("max_connections 100000 is more than the descriptor limit"), 1u);
  EXPECT_EQ(LogLines("using 224"), 1u);
}

TEST_F(HttpServerCapsTest, AnExplicitCapWithinTheDescriptorLimitIsKept) {
  SoftDescriptorLimit limit(256);
  ASSERT_TRUE(limit.ok());
  ServerOptions o;
  o.max_connections = 200;
  Start(o);
  EXPECT_EQ(server_->max_connections(), 200u);
}

TEST_F(HttpServerCapsTest, AcceptFailingForWantOfDescriptorsIsLoggedOnceAndRetried) {
  CaptureLog();
  Start(ServerOptions{});
  // Take every descriptor but one, which the client takes: the server's
  // accept() then fails with EMFILE, again at each retry.
  std::vector<int> fillers;
  std::optional<Client> client;
  {
    SoftDescriptorLimit limit(static_cast<rlim_t>(HighestOpenDescriptor()) + 16);
    ASSERT_TRUE(limit.ok());
    for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
    ASSERT_EQ(errno, EMFILE);
    ASSERT_FALSE(fillers.empty());
    close(fillers.back());
    fillers.pop_back();
    client.emplace(port(), "127.0.0.1");
    ASSERT_TRUE(client->connected());
    std::this_thread::sleep_for(std::chrono::seconds(1));  // some 20 retries
    for (int fd : fillers) close(fd);
  }
  EXPECT_EQ(LogLines("http: accept failed"), 1u);
  // With descriptors free again, the waiting client is served.
  EXPECT_EQ(client->Get("/ok"), 200);
}

}  // namespace
}  // namespace tongban::http
