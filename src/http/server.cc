#include "http/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <csignal>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "http/request_parser.h"
#include "http/trusted_proxies.h"

namespace tongban::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadSize = 16 * 1024;
// A connection that is being closed reads (and drops) at most this much of
// what the client still sends, so the client sees our answer, not a reset.
constexpr size_t kMaxDrainBytes = 1024 * 1024;
constexpr size_t kKeepCapacity = 64 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Sent to a connection refused at a cap, before it is closed.
constexpr std::string_view kBusy =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    "Content-Length: 69\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    "{\"error\":\"unavailable\",\"message\":\"too many connections, retry later\"}";

// Everything the workers share; fixed once Listen() succeeded.
struct Shared {
  Shared(const Router& r, Metrics& m, ServerOptions o)
      : router(r), metrics(m), options(std::move(o)) {}
  const Router& router;
  Metrics& metrics;
  ServerOptions options;
  TrustedProxies proxies;
  std::vector<Metrics::Series*> route_series;  // by router index
  Metrics::Series* unmatched = nullptr;
  Metrics::Series* malformed = nullptr;
  std::shared_ptr<spdlog::logger> access_log;  // null = off
  // Set by Stop() at once, before the workers hear of it, so that a response
  // being written already says "Connection: close".
  std::atomic<bool> stopping{false};
  std::chrono::milliseconds tick{1000};
  uint64_t idle_ticks = 0;
  uint64_t read_ticks = 0;
  uint64_t shutdown_ticks = 0;
  // Runs Response::Defer work; created by Listen().
  std::optional<asio::thread_pool> blocking;
  // "Strict-Transport-Security: ...\r\n", or empty.
  std::string hsts_line;
  // Set before Run(): Server::SetIoThreadHooks.
  IoThreadHooks io_thread_hooks;
  // Connection caps (ServerOptions::max_connections, _per_ip). Counted by
  // the acceptor when it admits a connection, released by the connection's
  // destructor on its worker's thread.
  size_t max_connections = 0;
  std::atomic<size_t> open_connections{0};
  std::mutex per_ip_mu;
  std::unordered_map<std::string, size_t> per_ip;

  void ReleaseIp(const std::string& ip) {
    if (ip.empty()) return;
    std::lock_guard lock(per_ip_mu);
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }
};

uint64_t TicksFor(std::chrono::milliseconds timeout, std::chrono::milliseconds tick) {
  return static_cast<uint64_t>((timeout.count() + tick.count() - 1) / tick.count());
}

void AppendNumber(uint64_t n, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out.append(buf, end);
}

std::string_view ErrorName(int status) {
  switch (status) {
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 431:
      return "header_too_large";
    case 500:
      return "internal";
    default:
      return "bad_request";
  }
}

class Connection;

// One thread's share of the server: an io_context, its connections and the
// sweep that enforces their timeouts. Only its own thread touches it, except
// through asio::post.
class Worker {
 public:
  Worker(Shared& shared, unsigned index) : shared_(shared), index_(index) { RefreshDate(); }
  ~Worker() { destroying_ = true; }

  asio::io_context& ioc() { return ioc_; }
  Shared& shared() { return shared_; }
  unsigned index() const { return index_; }
  uint64_t tick() const { return tick_; }
  bool stopping() const { return stopping_; }
  std::string_view date() const { return date_; }

  void StartSweep() { ArmSweep(); }
  // `counted_ip`: the peer's network (ClientNetwork) counted against
  // max_connections_per_ip ("" = not counted); open_connections already
  // includes this one.
  void Adopt(tcp::socket socket, std::string counted_ip);
  void BeginStop();
  // Closes the connection that has been idle longest, if any (a claim made
  // by the acceptor through shed_claims).
  void ShedIdle();

  // Idle connections (kIdle: between requests or before the first), and how
  // many of them the acceptor has asked ShedIdle to close: read by the
  // acceptor's thread to pick a worker with an idle connection to spare.
  std::atomic<size_t> idle_count{0};
  std::atomic<size_t> shed_claims{0};

  void Link(Connection* c);
  void Unlink(Connection* c);

 private:
  void ArmSweep();
  void Sweep();
  void RefreshDate();

  Shared& shared_;
  unsigned index_;
  Connection* head_ = nullptr;
  uint64_t tick_ = 0;
  bool stopping_ = false;
  bool destroying_ = false;
  uint64_t stop_tick_ = 0;
  std::time_t date_second_ = 0;
  std::string date_;
  // Declared last so they go first: the io_context's destructor destroys
  // pending handlers and with them connections, which still use the members
  // above; the timer must go before its io_context.
  asio::io_context ioc_{1};
  asio::steady_timer sweep_{ioc_};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class State : uint8_t { kIdle, kReading, kHandling, kWriting, kDraining };

  Connection(Worker& worker, tcp::socket socket, std::string counted_ip)
      : worker_(worker),
        shared_(worker.shared()),
        socket_(std::move(socket)),
        parser_(request_, shared_.options.max_header_bytes, shared_.options.max_body_bytes),
        counted_ip_(std::move(counted_ip)) {
    if (!shared_.options.larger_bodies.empty()) {
      // The shared budget always admits one body of the largest allowance.
      int64_t budget = RequestParser::kLargerBodiesBudget;
      for (const auto& [prefix, limit] : shared_.options.larger_bodies) {
        budget = std::max(budget, static_cast<int64_t>(limit));
      }
      parser_.SetLargerBodies(&shared_.options.larger_bodies, budget);
    }
    worker_.Link(this);
    shared_.metrics.ConnectionOpened();
  }

  ~Connection() {
    if (state_ == State::kIdle) worker_.idle_count.fetch_sub(1, std::memory_order_relaxed);
    worker_.Unlink(this);
    shared_.metrics.ConnectionClosed();
    shared_.ReleaseIp(counted_ip_);
    shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  State state() const { return state_; }
  uint64_t since() const { return since_; }
  bool closed() const { return closed_; }

  void Start() {
    error_code ec;
    tcp::endpoint peer = socket_.remote_endpoint(ec);
    if (ec) return Close();
    socket_.set_option(tcp::no_delay(true), ec);
    parser_.SetPeer(peer.address().to_string());
    Enter(State::kIdle);
    ReadMore();
  }

  // Cancels whatever is pending; the handlers then drop the connection.
  void Close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.close(ec);
  }

  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  void Enter(State s) {
    if (s == State::kIdle && state_ != State::kIdle) {
      worker_.idle_count.fetch_add(1, std::memory_order_relaxed);
    } else if (s != State::kIdle && state_ == State::kIdle) {
      worker_.idle_count.fetch_sub(1, std::memory_order_relaxed);
    }
    state_ = s;
    since_ = worker_.tick();
  }

  void ReadMore() {
    if (closed_) return;
    bool idle = buffer_.size() == 0 && !parser_.got_some();
    if (idle && worker_.stopping()) return Close();
    if (idle) {
      if (state_ != State::kIdle) Enter(State::kIdle);
    } else if (state_ != State::kReading) {
      Enter(State::kReading);
    }
    socket_.async_read_some(
        buffer_.prepare(kReadSize),
        [self = shared_from_this()](const error_code& ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const error_code& ec, size_t n) {
    if (ec || closed_) return Close();
    buffer_.commit(n);
    ParseBuffered();
  }

  void ParseBuffered() {
    auto data = buffer_.data();
    RequestParser::State state;
    size_t used =
        parser_.Feed(std::string_view(static_cast<const char*>(data.data()), data.size()), state);
    buffer_.consume(used);
    switch (state) {
      case RequestParser::State::kError:
        return Reject(parser_.error_status(), parser_.error_message());
      case RequestParser::State::kNeedMore:
        if (state_ == State::kIdle) Enter(State::kReading);
        if (parser_.wants_continue() && !continue_sent_) return SendContinue();
        return ReadMore();
      case RequestParser::State::kDone:
        return HandleRequest();
    }
  }

  void SendContinue() {
    continue_sent_ = true;
    asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](const error_code& ec, size_t) {
                        if (ec) return self->Close();
                        self->ReadMore();
                      });
  }

  void HandleRequest() {
    started_ = SteadyClock::now();
    Enter(State::kHandling);
    keep_alive_ = parser_.keep_alive() && !worker_.stopping();
    Status finished = parser_.Finish(shared_.proxies);
    if (!finished.ok()) {
      series_ = shared_.malformed;
      label_ = "malformed";
      response_.SetJsonError(400, "bad_request", finished.error().message);
      return SendResponse();
    }
    Router::Match match = shared_.router.Find(request_.method(), request_.path());
    if (match.status == 404) {
      series_ = shared_.unmatched;
      label_ = "unmatched";
      response_.SetJsonError(404, "not_found", "no route for this path");
      return SendResponse();
    }
    // Routes added after Listen() have no series; count them as unmatched.
    series_ = match.route < shared_.route_series.size() ? shared_.route_series[match.route]
                                                        : shared_.unmatched;
    label_ = shared_.router.label(match.route);
    if (match.status == 405) {
      response_.SetJsonError(405, "method_not_allowed", "this path does not accept the method");
      response_.AddHeader("Allow", shared_.router.AllowedMethods(request_.path()));
      return SendResponse();
    }
    if (request_.param_error() &&
        shared_.router.param_errors(match.route) == ParamErrors::kServer) {
      response_.SetJsonError(400, "bad_request", request_.param_error()->message);
      return SendResponse();
    }
    RunHandler(*match.handler);
    if (response_.suspended()) return AwaitResumer();
    if (response_.deferred()) return RunDeferredWork();
    SendResponse();
  }

  // The handler suspended the response (Response::Suspend): the connection
  // waits in kHandling, as for deferred work, while this I/O thread serves
  // others; the Resumer's `finish` runs on this I/O thread, at once when it
  // came before the handler returned, else posted here by whichever thread
  // resumed. The pending delivery holds the connection alive.
  void AwaitResumer() {
    std::shared_ptr<Resumer::State> state = response_.TakeSuspension();
    std::function<void(Response&)> finish;
    {
      std::lock_guard lock(state->mu);
      if (!state->finish) {
        // Tracked work: the worker's io_context keeps running (even through
        // Stop) until the resume has come and been handled.
        auto executor =
            asio::prefer(worker_.ioc().get_executor(), asio::execution::outstanding_work.tracked);
        state->deliver = [self = shared_from_this(), executor](std::function<void(Response&)> f) {
          asio::post(executor, [self, f = std::move(f)] { self->FinishResumed(f); });
        };
        return;
      }
      finish = std::move(state->finish);
    }
    FinishResumed(finish);
  }

  void FinishResumed(const std::function<void(Response&)>& finish) {
    RunHandler([&finish](const Request&, Response& response) { finish(response); });
    // The finish may hand the rest on again: to more asynchronous I/O (a
    // second store call) or to the blocking pool.
    if (response_.suspended()) return AwaitResumer();
    if (response_.deferred()) return RunDeferredWork();
    SendResponse();
  }

  // The handler deferred the rest of its work: it runs on the blocking pool
  // while this connection waits (in kHandling, which the sweep leaves alone,
  // as it does a handler running on the I/O thread); the response is sent
  // from this connection's I/O thread again. The Request is untouched
  // meanwhile: nothing reads the next request before SendResponse().
  // Deferred work may in turn suspend the response (it handed the rest to
  // asynchronous work, e.g. a group commit): then the I/O thread awaits the
  // resume as for a handler that suspended, and the pool thread is free.
  void RunDeferredWork() {
    asio::post(*shared_.blocking, [self = shared_from_this()]() mutable {
      self->RunHandler(
          [](const Request&, Response& response) { response.RunDeferredUntilSuspended(); });
      // The reference moves on: the connection must never be destroyed on
      // this thread (its destructor unlinks it from its worker's list). Work
      // that suspended (waits on a Resumer) is awaited from the I/O thread.
      asio::io_context& ioc = self->worker_.ioc();
      asio::post(ioc, [self = std::move(self)] {
        if (self->response_.suspended()) return self->AwaitResumer();
        self->SendResponse();
      });
    });
  }

  // Request parameters stay out of the log: they carry passwords and tickets.
  template <typename Fn>
  void RunHandler(const Fn& handler) {
    try {
      handler(request_, response_);
      return;
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} {} threw: {}", request_.method(), label_, e.what());
    } catch (...) {
      spdlog::error("http: handler for {} {} threw a non-std exception", request_.method(), label_);
    }
    response_.Reset();
    response_.SetJsonError(500, "internal", "internal server error");
  }

  void Reject(int status, std::string_view message) {
    started_ = SteadyClock::now();
    series_ = shared_.malformed;
    label_ = "malformed";
    keep_alive_ = false;
    response_.Reset();
    response_.SetJsonError(status, ErrorName(status), message);
    SendResponse();
  }

  void SendResponse() {
    if (response_.close_connection() || shared_.stopping.load(std::memory_order_relaxed)) {
      keep_alive_ = false;
    }
    int status = response_.status();
    bool has_body = !(status < 200 || status == 204 || status == 304);
    bool send_body = has_body && request_.method() != "HEAD";

    head_.clear();
    head_ += "HTTP/1.1 ";
    AppendNumber(static_cast<uint64_t>(status), head_);
    head_ += ' ';
    auto reason = boost::beast::http::obsolete_reason(
        boost::beast::http::int_to_status(static_cast<unsigned>(status)));
    head_.append(reason.data(), reason.size());
    head_ += "\r\nDate: ";
    head_ += worker_.date();
    head_ += "\r\n";
    if (!response_.content_type().empty()) {
      head_ += "Content-Type: ";
      head_ += response_.content_type();
      head_ += "\r\n";
    }
    if (has_body) {
      head_ += "Content-Length: ";
      AppendNumber(response_.body().size(), head_);
      head_ += "\r\n";
    }
    if (!keep_alive_) {
      head_ += "Connection: close\r\n";
    } else if (request_.version() == 10) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += response_.raw_headers();
    head_ += shared_.hsts_line;
    head_ += "\r\n";

    bytes_out_ = head_.size() + (send_body ? response_.body().size() : 0);
    std::array<asio::const_buffer, 2> buffers = {
        asio::buffer(head_), send_body ? asio::buffer(response_.body()) : asio::const_buffer()};
    Enter(State::kWriting);
    asio::async_write(socket_, buffers, [self = shared_from_this()](const error_code& ec, size_t) {
      self->OnWritten(ec);
    });
  }

  void OnWritten(const error_code& ec) {
    auto elapsed = SteadyClock::now() - started_;
    shared_.metrics.Observe(series_, response_.status(), elapsed, worker_.index());
    if (shared_.access_log) {
      shared_.access_log->info(
          "{} {} {} {} {}us {}", request_.method().empty() ? "-" : request_.method(), label_,
          response_.status(), bytes_out_,
          std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count(),
          request_.remote_ip().empty() ? request_.peer_ip() : request_.remote_ip());
    }
    if (ec || closed_) return Close();
    if (!keep_alive_) return BeginDrain();
    response_.Reset();
    parser_.Begin();
    continue_sent_ = false;
    if (buffer_.size() > 0) {  // a pipelined request is already here
      Enter(State::kReading);
      return ParseBuffered();
    }
    if (buffer_.capacity() > kKeepCapacity) buffer_.shrink_to_fit();
    ReadMore();
  }

  // Half-closes and reads until the client closes too, so that unread input
  // does not turn our close into a reset that destroys the answer in flight.
  void BeginDrain() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    Enter(State::kDraining);
    buffer_.clear();
    Drain();
  }

  void Drain() {
    socket_.async_read_some(buffer_.prepare(kReadSize),
                            [self = shared_from_this()](const error_code& ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->closed_ || self->drained_ > kMaxDrainBytes) {
                                return self->Close();
                              }
                              self->Drain();
                            });
  }

  Worker& worker_;
  Shared& shared_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  Request request_;
  RequestParser parser_;
  Response response_;
  std::string head_;
  const std::string counted_ip_;
  // Not kIdle until Start() enters it, so that the idle count stays exact.
  State state_ = State::kReading;
  uint64_t since_ = 0;
  bool keep_alive_ = true;
  bool continue_sent_ = false;
  bool closed_ = false;
  size_t drained_ = 0;
  size_t bytes_out_ = 0;
  Metrics::Series* series_ = nullptr;
  std::string_view label_;
  SteadyClock::time_point started_;
};

void Worker::Link(Connection* c) {
  c->next = head_;
  if (head_) head_->prev = c;
  head_ = c;
}

void Worker::Unlink(Connection* c) {
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (head_ == c) head_ = c->next;
  // The last connection of a stopping worker: end the sweep so run() returns.
  if (stopping_ && head_ == nullptr && !destroying_) sweep_.cancel();
}

void Worker::Adopt(tcp::socket socket, std::string counted_ip) {
  if (stopping_) {
    error_code ec;
    socket.close(ec);
    shared_.ReleaseIp(counted_ip);
    shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  std::make_shared<Connection>(*this, std::move(socket), std::move(counted_ip))->Start();
}

void Worker::ShedIdle() {
  Connection* oldest = nullptr;
  for (Connection* c = head_; c; c = c->next) {
    if (c->state() != Connection::State::kIdle || c->closed()) continue;
    // Ties (one tick) go to the connection opened first: the list is newest first.
    if (oldest == nullptr || c->since() <= oldest->since()) oldest = c;
  }
  if (oldest) oldest->Close();
  shed_claims.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::BeginStop() {
  if (stopping_) return;
  stopping_ = true;
  stop_tick_ = tick_;
  if (shared_.io_thread_hooks.stopping) shared_.io_thread_hooks.stopping(ioc_);
  for (Connection* c = head_; c; c = c->next) {
    if (c->state() == Connection::State::kIdle) c->Close();
  }
  if (head_ == nullptr) sweep_.cancel();
}

void Worker::ArmSweep() {
  sweep_.expires_after(shared_.tick);
  sweep_.async_wait([this](const error_code& ec) {
    if (ec) return;  // cancelled: the worker has stopped
    Sweep();
  });
}

void Worker::Sweep() {
  ++tick_;
  RefreshDate();
  bool past_deadline = stopping_ && tick_ - stop_tick_ > shared_.shutdown_ticks;
  for (Connection* c = head_; c; c = c->next) {
    uint64_t age = tick_ - c->since();
    switch (c->state()) {
      case Connection::State::kIdle:
        if (stopping_ || age > shared_.idle_ticks) c->Close();
        break;
      case Connection::State::kReading:
      case Connection::State::kWriting:
      case Connection::State::kDraining:
        if (age > shared_.read_ticks) c->Close();
        break;
      case Connection::State::kHandling:
        // A handler on this thread is never seen here. Deferred work on the
        // blocking pool has no deadline, not even the shutdown one: Close()
        // only closes the socket, and Run() returns after the work is done.
        break;
    }
    if (past_deadline) c->Close();
  }
  if (stopping_ && head_ == nullptr) return;
  ArmSweep();
}

void Worker::RefreshDate() {
  std::time_t now = std::time(nullptr);
  if (now == date_second_) return;
  date_second_ = now;
  std::tm tm{};
  gmtime_r(&now, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  date_ = buf;
}

void RunLoop(asio::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("http: I/O thread caught: {}", e.what());
    }
  }
}

}  // namespace

struct Server::Impl {
  Impl(const Router& router, Metrics& metrics, ServerOptions options)
      : shared(router, metrics, std::move(options)) {}

  void Accept() {
    Worker& target = *workers[next_worker++ % workers.size()];
    acceptor->async_accept(target.ioc(), [this, &target](const error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // Typically EMFILE or ENFILE: free a descriptor held by an idle
        // connection and back off instead of spinning on the error. The state
        // can last while clients keep coming, so the warning is rate-limited
        // like the refusals.
        if (accept_failures++ % 1000 == 0) {
          spdlog::warn("http: accept failed: {} ({} failures so far)", ec.message(),
                       accept_failures);
        }
        ClaimIdleConnection();
        accept_retry->expires_after(std::chrono::milliseconds(50));
        accept_retry->async_wait([this](const error_code& e) {
          if (!e && acceptor->is_open()) Accept();
        });
        return;
      }
      std::string counted_ip;
      if (!Admit(s, counted_ip)) {
        Refuse(s);
      } else {
        asio::post(target.ioc(),
                   [&target, socket = std::move(s), ip = std::move(counted_ip)]() mutable {
                     target.Adopt(std::move(socket), std::move(ip));
                   });
      }
      Accept();
    });
  }

  // Counts a new connection against the caps; false when it must be
  // refused. A full server makes room by shedding an idle connection: a
  // client waiting between requests loses less than one being turned away.
  bool Admit(tcp::socket& socket, std::string& counted_ip) {
    error_code ec;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) return false;
    const std::string ip = NormalizeIp(peer.address().to_string());
    const size_t per_ip_cap = shared.options.max_connections_per_ip;
    if (per_ip_cap > 0 && !shared.proxies.Contains(ip)) {
      // An IPv6 client is counted as its /64, as the login throttle counts
      // it: one subscriber holds a whole /64 and could otherwise pass the cap
      // with as many addresses as it likes.
      std::string network = ClientNetwork(ip);
      std::lock_guard lock(shared.per_ip_mu);
      size_t& n = shared.per_ip[network];
      if (n >= per_ip_cap) {
        if (refused_per_ip++ % 1000 == 0) {
          spdlog::warn("http: refusing connections from {}: {} open (max_connections_per_ip)",
                       network, n);
        }
        return false;
      }
      ++n;
      counted_ip = std::move(network);
    }
    if (shared.open_connections.load(std::memory_order_relaxed) >= shared.max_connections &&
        !ClaimIdleConnection()) {
      if (refused_full++ % 1000 == 0) {
        spdlog::warn("http: refusing connections: {} open, none idle (max_connections)",
                     shared.open_connections.load());
      }
      shared.ReleaseIp(counted_ip);
      counted_ip.clear();
      return false;
    }
    shared.open_connections.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Asks the worker with the most idle connections not yet claimed to close
  // its longest-idle one; false when no worker has one to spare.
  bool ClaimIdleConnection() {
    Worker* best = nullptr;
    size_t best_spare = 0;
    for (auto& w : workers) {
      size_t idle = w->idle_count.load(std::memory_order_relaxed);
      size_t claimed = w->shed_claims.load(std::memory_order_relaxed);
      if (idle > claimed && idle - claimed > best_spare) {
        best_spare = idle - claimed;
        best = w.get();
      }
    }
    if (best == nullptr) return false;
    best->shed_claims.fetch_add(1, std::memory_order_relaxed);
    asio::post(best->ioc(), [best] { best->ShedIdle(); });
    return true;
  }

  // Answers 503 without reading the request: the socket is fresh, so the
  // short answer fits its send buffer and the write does not block.
  static void Refuse(tcp::socket& socket) {
    error_code ec;
    socket.non_blocking(true, ec);
    if (!ec) socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    // Unread input makes close() send a reset, which can destroy the answer
    // before the client reads it: take what has arrived already.
    std::array<char, 4096> sink;
    for (int i = 0; i < 4 && socket.available(ec) > 0 && !ec; ++i) {
      socket.read_some(asio::buffer(sink), ec);
    }
    socket.close(ec);
  }

  ~Impl() {
    // Deferred work still running holds connections, which belong to the
    // workers: it finishes (posting to io_contexts that still exist) before
    // anything else goes.
    if (shared.blocking) shared.blocking->join();
    // Objects on workers[0]'s io_context go first. Then the workers in index
    // order: a pending accept on workers[0] holds a socket of another worker.
    signals.reset();
    accept_retry.reset();
    acceptor.reset();
    for (auto& worker : workers) worker.reset();
  }

  // Tells every worker to stop; see Server::Stop.
  void PostStop() {
    asio::post(workers[0]->ioc(), [this] {
      error_code ec;
      acceptor->close(ec);
      accept_retry->cancel();
      if (signals) signals->cancel(ec);
    });
    for (auto& worker : workers) {
      asio::post(worker->ioc(), [w = worker.get()] { w->BeginStop(); });
    }
  }

  Shared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  // These live on workers[0]'s io_context and so are declared after it.
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::optional<asio::signal_set> signals;
  size_t next_worker = 0;
  uint16_t port = 0;
  // Refusals, counted by the acceptor's thread so that a flood logs once per thousand.
  uint64_t refused_per_ip = 0;
  uint64_t refused_full = 0;
  uint64_t accept_failures = 0;
  bool bound = false;
  std::atomic<bool> listening{false};
  std::atomic<bool> stop_requested{false};
};

Server::Server(const Router& router, Metrics& metrics, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, metrics, std::move(options))) {}

Server::~Server() = default;

namespace {

// What the descriptor limit leaves after a reserve for the database, log
// files, outbound calls and the listening socket: max_connections = 0, and
// the most an explicit max_connections may be.
size_t ConnectionsForDescriptorLimit() {
  rlimit limit{};
  size_t soft = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    soft = static_cast<size_t>(limit.rlim_cur);
  } else if (limit.rlim_cur == RLIM_INFINITY) {
    soft = 1'000'000;
  }
  size_t reserve = std::max<size_t>(32, soft / 8);
  return soft > 2 * reserve ? soft - reserve : std::max<size_t>(1, soft / 2);
}

}  // namespace

Status Server::Bind() {
  if (impl_->bound) return Error::InvalidArgument("Bind() called twice");
  Shared& shared = impl_->shared;
  const ServerOptions& o = shared.options;
  if (o.threads < 0) return Error::InvalidArgument("threads must be >= 0");
  if (o.max_header_bytes < 256) return Error::InvalidArgument("max_header_bytes is below 256");
  if (o.idle_timeout.count() <= 0 || o.read_timeout.count() <= 0 ||
      o.shutdown_timeout.count() < 0) {
    return Error::InvalidArgument("timeouts must be positive");
  }
  if (o.blocking_threads < 0) return Error::InvalidArgument("blocking_threads must be >= 0");
  error_code ec;
  auto address = asio::ip::make_address(o.bind_address, ec);
  if (ec) return Error::InvalidArgument("bind address is not an IP address: " + o.bind_address);
  auto proxies = TrustedProxies::Parse(o.trusted_proxies);
  if (!proxies.ok()) return std::move(proxies).error();
  shared.proxies = std::move(proxies).value();
  // Connections beyond what the descriptors allow would not get the cap's
  // 503: accept() would fail (EMFILE) and they would wait unanswered.
  const size_t descriptor_cap = ConnectionsForDescriptorLimit();
  shared.max_connections = o.max_connections > 0 ? o.max_connections : descriptor_cap;
  if (shared.max_connections > descriptor_cap) {
    spdlog::warn(
        "http: max_connections {} is more than the descriptor limit (ulimit -n) allows; "
        "using {} (raise the limit, e.g. LimitNOFILE, to allow more)",
        shared.max_connections, descriptor_cap);
    shared.max_connections = descriptor_cap;
  }
  if (!o.strict_transport_security.empty()) {
    shared.hsts_line = "Strict-Transport-Security: " + o.strict_transport_security + "\r\n";
  }

  unsigned threads = o.threads > 0 ? static_cast<unsigned>(o.threads)
                                   : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    impl_->workers.push_back(std::make_unique<Worker>(shared, i));
  }
  asio::io_context& main = impl_->workers[0]->ioc();
  impl_->acceptor.emplace(main);
  impl_->accept_retry.emplace(main);
  tcp::acceptor& acceptor = *impl_->acceptor;
  tcp::endpoint endpoint(address, o.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::Unavailable("cannot listen on " + o.bind_address + ":" + std::to_string(o.port) +
                              ": " + ec.message());
  }
  impl_->port = acceptor.local_endpoint().port();
  impl_->bound = true;
  return Status::Ok();
}

Status Server::Listen() {
  if (impl_->listening) return Error::InvalidArgument("Listen() called twice");
  if (!impl_->bound) TB_RETURN_IF_ERROR(Bind());
  Shared& shared = impl_->shared;
  const ServerOptions& o = shared.options;
  for (size_t i = 0; i < shared.router.size(); ++i) {
    shared.route_series.push_back(shared.metrics.Register(shared.router.label(i)));
  }
  shared.unmatched = shared.metrics.Register("unmatched");
  shared.malformed = shared.metrics.Register("malformed");
  if (o.access_log) {
    shared.access_log = spdlog::get("access");
    if (!shared.access_log) shared.access_log = spdlog::default_logger();
  }
  auto shortest = std::min(o.idle_timeout, o.read_timeout);
  if (o.shutdown_timeout.count() > 0) shortest = std::min(shortest, o.shutdown_timeout);
  shared.tick =
      std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  shared.idle_ticks = TicksFor(o.idle_timeout, shared.tick);
  shared.read_ticks = TicksFor(o.read_timeout, shared.tick);
  shared.shutdown_ticks = TicksFor(o.shutdown_timeout, shared.tick);
  shared.blocking.emplace(o.blocking_threads > 0
                              ? static_cast<size_t>(o.blocking_threads)
                              : std::max<size_t>(2, std::thread::hardware_concurrency()));
  for (auto& worker : impl_->workers) worker->StartSweep();
  impl_->Accept();
  impl_->listening = true;
  if (impl_->stop_requested) impl_->PostStop();  // Stop() came first
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->port; }

size_t Server::max_connections() const { return impl_->shared.max_connections; }

void Server::Run() {
  if (!impl_->listening) {
    spdlog::error("http: Server::Run() without a successful Listen()");
    return;
  }
  const IoThreadHooks& hooks = impl_->shared.io_thread_hooks;
  auto serve = [&hooks](asio::io_context& ioc) {
    if (hooks.start) hooks.start(ioc);
    RunLoop(ioc);
    if (hooks.stopped) hooks.stopped(ioc);
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->workers.size(); ++i) {
    threads.emplace_back([worker = impl_->workers[i].get(), &serve] { serve(worker->ioc()); });
  }
  serve(impl_->workers[0]->ioc());
  for (auto& t : threads) t.join();
}

void Server::SetIoThreadHooks(IoThreadHooks hooks) {
  impl_->shared.io_thread_hooks = std::move(hooks);
}

void Server::Stop() {
  if (impl_->stop_requested.exchange(true)) return;
  impl_->shared.stopping = true;
  if (impl_->listening) impl_->PostStop();
}

void Server::StopOnSignals() {
  if (!impl_->listening) return;
  impl_->signals.emplace(impl_->workers[0]->ioc(), SIGINT, SIGTERM);
  impl_->signals->async_wait([this](const error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("http: signal {} received, stopping", signal);
    Stop();
  });
}

}  // namespace tongban::http
