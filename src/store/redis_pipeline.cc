#include "store/redis_pipeline.h"

#include <hiredis/read.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <deque>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace tongban {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Steady = std::chrono::steady_clock;
using Socket = asio::generic::stream_protocol::socket;

constexpr size_t kReadSize = 16 * 1024;

// Appends `n` in decimal.
void AppendDecimal(std::string& out, size_t n) {
  char digits[24];
  char* end = digits + sizeof(digits);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<size_t>(end - p));
}

// RESP written directly: hiredis's redisFormatCommandArgv printf()s every
// length and allocates twice, which showed in a validation's profile.
template <typename Args>
std::string FormatResp(const Args& args) {
  size_t size = 16;
  for (std::string_view a : args) size += a.size() + 16;
  std::string command;
  command.reserve(size);
  command.push_back('*');
  AppendDecimal(command, args.size());
  command.append("\r\n");
  for (std::string_view a : args) {
    command.push_back('$');
    AppendDecimal(command, a.size());
    command.append("\r\n");
    command.append(a);
    command.append("\r\n");
  }
  return command;
}

// "ERR ..." of a refused AUTH/SELECT, cut before any quote (it may echo arguments).
std::string Refusal(const redisReply& r, const char* what) {
  std::string_view text(r.str, r.len);
  text = text.substr(0, std::min<size_t>(text.find_first_of("'\"\r\n"), 200));
  return std::string("redis: ") + what + " refused: " + std::string(text);
}

}  // namespace

std::string RedisPipeline::Format(std::initializer_list<std::string_view> args) {
  return FormatResp(args);
}

std::string RedisPipeline::Format(const std::vector<std::string_view>& args) {
  return FormatResp(args);
}

RedisPipeline::Command::Command(size_t argc, size_t reserve) {
  out_.reserve(reserve);
  out_.push_back('*');
  AppendDecimal(out_, argc);
  out_.append("\r\n");
}

RedisPipeline::Command& RedisPipeline::Command::Arg(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  out_.push_back('$');
  AppendDecimal(out_, size);
  out_.append("\r\n");
  for (std::string_view p : parts) out_.append(p);
  out_.append("\r\n");
  return *this;
}

RedisPipeline::Command& RedisPipeline::Command::Int(int64_t n) {
  char digits[24];
  char* end = digits + sizeof(digits);
  char* p = end;
  uint64_t u = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (n < 0) *--p = '-';
  return Arg(std::string_view(p, static_cast<size_t>(end - p)));
}

// Everything below runs on the pipeline's loop thread, except Call on an
// own-thread pipeline (which posts) and the constructor/destructor.
class RedisPipeline::Impl {
 public:
  // Own thread.
  Impl(Settings settings, Observer observer)
      : settings_(std::move(settings)),
        observer_(std::move(observer)),
        own_ioc_(std::make_unique<asio::io_context>(1)),
        ioc_(*own_ioc_) {
    work_.emplace(asio::make_work_guard(ioc_));
    thread_ = std::thread([this] {
      // Named, so that a bench (bench/tickets.sh) can tell its CPU from the I/O threads'.
      pthread_setname_np(pthread_self(), "tb-redis");
      ioc_.run();
    });
  }

  // On a loop run by someone else's thread.
  Impl(Settings settings, Observer observer, asio::io_context& loop)
      : settings_(std::move(settings)), observer_(std::move(observer)), ioc_(loop) {}

  ~Impl() {
    if (!thread_.joinable()) {
      Shutdown();
      return;
    }
    asio::post(ioc_, [this] {
      Shutdown();
      work_.reset();
    });
    thread_.join();
  }

  void Drain() {
    draining_ = true;
    if (queue_.empty()) CloseIdle();
  }

  void Call(std::string_view command, Done done) {
    if (!thread_.joinable()) return Enqueue(command, std::move(done));
    asio::post(ioc_, [this, command = std::string(command), done = std::move(done)]() mutable {
      Enqueue(command, std::move(done));
    });
  }

 private:
  void Shutdown() {
    // How well calls shared writes and round trips (bench/tickets.sh reads it).
    if (calls_ > 0) {
      spdlog::info("redis pipeline: {} calls in {} writes and {} reads, at most {} in flight{}",
                   calls_, writes_, reads_, max_in_flight_,
                   thread_.joinable() ? "" : " (an I/O thread's connection)");
    }
    stopping_ = true;
    Fail(Error::Unavailable("redis: the ticket store is shutting down"));
    // Nothing left to reach the socket once the loop is gone.
    socket_.reset();
  }

  void Enqueue(std::string_view command, Done done) {
    if (stopping_ || command.empty()) {
      done(Error::Unavailable(command.empty() ? "redis: cannot format the command"
                                              : "redis: the ticket store is shutting down"));
      return;
    }
    queue_.push_back(Pending{std::move(done), Steady::now()});
    ++calls_;
    max_in_flight_ = std::max<uint64_t>(max_in_flight_, queue_.size());
    out_.append(command);
    if (state_ == State::kDown) return Connect();
    if (state_ == State::kUp) {
      ArmTimer();
      ScheduleFlush();
    }
  }

  // The write goes out once the loop has run what is ready now (the other
  // requests read in the same turn), so their commands share it.
  void ScheduleFlush() {
    if (flush_posted_ || writing_) return;
    flush_posted_ = true;
    asio::post(ioc_, [this, generation = generation_] {
      flush_posted_ = false;
      if (generation == generation_ && state_ == State::kUp) Flush();
    });
  }

 private:
  enum class State { kDown, kConnecting, kUp };
  struct Pending {
    Done done;
    Steady::time_point since;
    // A handshake reply (AUTH, SELECT): checked here, never handed out.
    const char* handshake = nullptr;
  };
  struct ReaderFree {
    void operator()(redisReader* r) const { redisReaderFree(r); }
  };

  void Connect() {
    state_ = State::kConnecting;
    const uint64_t generation = ++generation_;
    socket_.emplace(ioc_);
    reader_.reset(redisReaderCreate());
    connect_deadline_ = Steady::now() + settings_.connect_timeout;
    ArmTimer();
    if (!settings_.unix_socket.empty()) {
      asio::local::stream_protocol::endpoint unix_endpoint(settings_.unix_socket);
      socket_->async_connect(asio::generic::stream_protocol::endpoint(unix_endpoint),
                             [this, generation](const error_code& ec) {
                               if (generation == generation_) OnConnected(ec);
                             });
      return;
    }
    error_code ec;
    auto address = asio::ip::make_address(settings_.host, ec);
    if (!ec) {
      ConnectTo(asio::ip::tcp::endpoint(address, static_cast<unsigned short>(settings_.port)),
                generation);
      return;
    }
    resolver_.async_resolve(
        settings_.host, std::to_string(settings_.port),
        [this, generation](const error_code& rec, asio::ip::tcp::resolver::results_type results) {
          if (generation != generation_) return;
          if (rec || results.empty()) {
            return Fail(Error::Unavailable("redis: cannot resolve " + settings_.host));
          }
          ConnectTo(results.begin()->endpoint(), generation);
        });
  }

  void ConnectTo(const asio::ip::tcp::endpoint& endpoint, uint64_t generation) {
    socket_->async_connect(asio::generic::stream_protocol::endpoint(endpoint),
                           [this, generation](const error_code& ec) {
                             if (generation == generation_) OnConnected(ec);
                           });
  }

  void OnConnected(const error_code& ec) {
    if (ec) return Fail(Error::Unavailable("redis: " + ec.message()));
    if (settings_.unix_socket.empty()) {
      error_code ignored;
      socket_->set_option(asio::ip::tcp::no_delay(true), ignored);
      socket_->set_option(asio::socket_base::keep_alive(true), ignored);
    }
    // The handshake goes before everything queued while connecting.
    std::string handshake;
    std::vector<Pending> first;
    if (!settings_.password.empty()) {
      handshake += settings_.username.empty()
                       ? Format({"AUTH", settings_.password})
                       : Format({"AUTH", settings_.username, settings_.password});
      first.push_back(Pending{nullptr, Steady::now(), "AUTH"});
    }
    if (settings_.database != 0) {
      handshake += Format({"SELECT", std::to_string(settings_.database)});
      first.push_back(Pending{nullptr, Steady::now(), "SELECT"});
    }
    out_.insert(0, handshake);
    queue_.insert(queue_.begin(), first.begin(), first.end());
    // Queued calls waited for the connection; their reply time starts now.
    for (Pending& p : queue_) p.since = Steady::now();
    state_ = State::kUp;
    Read(generation_);
    Flush();
  }

  void Flush() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    ++writes_;
    wire_.swap(out_);
    out_.clear();
    const uint64_t generation = generation_;
    asio::async_write(*socket_, asio::buffer(wire_),
                      [this, generation](const error_code& ec, size_t) {
                        if (generation != generation_) return;
                        writing_ = false;
                        wire_.clear();
                        if (ec) return Fail(Error::Unavailable("redis: " + ec.message()));
                        Flush();
                      });
  }

  void Read(uint64_t generation) {
    socket_->async_read_some(asio::buffer(in_), [this, generation](const error_code& ec, size_t n) {
      if (generation != generation_) return;
      if (ec) {
        return Fail(Error::Unavailable(ec == asio::error::eof
                                           ? "redis: Server closed the connection"
                                           : "redis: " + ec.message()));
      }
      ++reads_;
      if (redisReaderFeed(reader_.get(), in_.data(), n) != REDIS_OK) {
        return Fail(Error::Unavailable("redis: unreadable reply"));
      }
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
          return Fail(Error::Unavailable("redis: unreadable reply"));
        }
        if (raw == nullptr) break;
        RedisReplyPtr reply(static_cast<redisReply*>(raw));
        if (queue_.empty()) return Fail(Error::Unavailable("redis: a reply nobody asked for"));
        Pending p = std::move(queue_.front());
        queue_.pop_front();
        if (p.handshake != nullptr) {
          if (reply->type == REDIS_REPLY_ERROR) {
            return Fail(Error::Unavailable(Refusal(*reply, p.handshake)));
          }
          continue;
        }
        if (observer_.answered) observer_.answered();
        p.done(std::move(reply));
        // A callback never destroys the pipeline, but a failure it caused
        // (none today) would have moved the generation on.
        if (generation != generation_) return;
      }
      if (draining_ && queue_.empty()) return CloseIdle();
      Read(generation);
    });
  }

  // Nothing in flight: the connection goes, the next call connects again.
  void CloseIdle() {
    if (state_ == State::kDown) return;
    ++generation_;
    state_ = State::kDown;
    writing_ = false;
    wire_.clear();
    out_.clear();
    if (socket_) {
      error_code ignored;
      socket_->close(ignored);
    }
    resolver_.cancel();
    timer_.cancel();
    timer_armed_ = false;
  }

  // Fails every call in flight and drops the connection; the next call reconnects.
  void Fail(const Error& why) {
    ++generation_;
    state_ = State::kDown;
    writing_ = false;
    wire_.clear();
    out_.clear();
    if (socket_) {
      error_code ignored;
      socket_->close(ignored);
    }
    resolver_.cancel();
    timer_.cancel();
    timer_armed_ = false;
    std::deque<Pending> failed;
    failed.swap(queue_);
    bool told = false;
    for (Pending& p : failed) {
      if (p.done == nullptr) continue;
      if (!told && observer_.failed && !stopping_) {
        observer_.failed(why);  // once per failure, however many calls it fails
        told = true;
      }
      p.done(why);
    }
  }

  // One timer, ticking while connecting or while anything is in flight,
  // enforces both timeouts.
  void ArmTimer() {
    if (timer_armed_) return;
    timer_armed_ = true;
    auto tick = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(100),
        std::max<std::chrono::milliseconds>(std::chrono::milliseconds(5),
                                            settings_.command_timeout / 4));
    timer_.expires_after(tick);
    timer_.async_wait([this](const error_code& ec) {
      timer_armed_ = false;
      if (ec) return;
      const auto now = Steady::now();
      if (state_ == State::kConnecting && now >= connect_deadline_) {
        return Fail(Error::Unavailable("redis: Connection timed out"));
      }
      if (state_ == State::kUp && !queue_.empty() &&
          now - queue_.front().since >= settings_.command_timeout) {
        return Fail(Error::Unavailable("redis: Resource temporarily unavailable (timed out)"));
      }
      // Idle (nothing in flight): no ticking until the next call.
      if (state_ == State::kConnecting || (state_ == State::kUp && !queue_.empty())) ArmTimer();
    });
  }

  const Settings settings_;
  const Observer observer_;
  std::unique_ptr<asio::io_context> own_ioc_;  // null on someone else's loop
  asio::io_context& ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  asio::ip::tcp::resolver resolver_{ioc_};
  asio::steady_timer timer_{ioc_};
  bool timer_armed_ = false;
  std::optional<Socket> socket_;
  std::unique_ptr<redisReader, ReaderFree> reader_;
  State state_ = State::kDown;
  uint64_t generation_ = 0;
  Steady::time_point connect_deadline_;
  std::deque<Pending> queue_;  // sent or waiting to be, in order
  std::string out_;            // formatted, not yet handed to the socket
  std::string wire_;           // being written
  bool writing_ = false;
  bool flush_posted_ = false;
  bool draining_ = false;
  bool stopping_ = false;
  uint64_t calls_ = 0, writes_ = 0, reads_ = 0, max_in_flight_ = 0;
  std::array<char, kReadSize> in_{};
  std::thread thread_;  // last: starts once everything above exists (own loop only)
};

RedisPipeline::RedisPipeline(Settings settings, Observer observer)
    : impl_(std::make_shared<Impl>(std::move(settings), std::move(observer))) {}

RedisPipeline::RedisPipeline(Settings settings, Observer observer, asio::io_context& loop)
    : impl_(std::make_shared<Impl>(std::move(settings), std::move(observer), loop)) {}

RedisPipeline::~RedisPipeline() = default;

void RedisPipeline::Drain() { impl_->Drain(); }

void RedisPipeline::Call(std::string_view command, Done done) {
  impl_->Call(command, std::move(done));
}

}  // namespace tongban
