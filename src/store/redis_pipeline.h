// RedisPipeline: one pipelined connection to Redis for RedisTicketStore's
// asynchronous calls, driven either by its own Asio thread (callers on any
// thread) or by an I/O thread's own loop (callers on that thread only: no
// thread hand-off, no wake-up, either way). Callers hand it a command and a
// callback and return at once; the commands queued while the loop is busy
// go out in one write, without waiting for replies, and each reply goes to
// its callback in order, on the loop's thread. So an HTTP I/O thread never
// waits on the network, and a slow or distant Redis costs latency, not threads.
//
// Faults: a lost connection, a reply overdue by command_timeout or a refused
// AUTH/SELECT fails every call in flight with errc::kUnavailable "redis: ..."
// (fail closed); the next call connects again. Every call gets its callback
// exactly once, at the latest command_timeout (+ connect_timeout) after Call.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace tongban {

struct RedisReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyFree>;

class RedisPipeline {
 public:
  struct Settings {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string unix_socket;  // when set, used instead of host and port
    std::string username;
    std::string password;  // AUTH when non-empty; never logged
    int database = 0;
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{1000};
  };
  // Error replies (e.g. NOSCRIPT) come back as replies; only transport
  // failures, timeouts and refused handshakes become Errors.
  using Done = std::function<void(Result<RedisReplyPtr>)>;
  // Told of every transport failure and of every reply (for the outage log).
  struct Observer {
    std::function<void(const Error&)> failed;
    std::function<void()> answered;
  };

  // On its own thread, named "tb-redis"; Call from any thread.
  RedisPipeline(Settings settings, Observer observer);
  // On `loop`, run by one thread: only that thread may Call, and every
  // `done` runs there. Destroy it once the loop has stopped for good and
  // before the loop itself is destroyed (its handlers point at it).
  RedisPipeline(Settings settings, Observer observer, boost::asio::io_context& loop);
  // Fails whatever is still in flight (then stops its own thread, if any).
  ~RedisPipeline();
  RedisPipeline(const RedisPipeline&) = delete;
  RedisPipeline& operator=(const RedisPipeline&) = delete;

  // A command in RESP, formatted on the caller's thread.
  static std::string Format(std::initializer_list<std::string_view> args);
  static std::string Format(const std::vector<std::string_view>& args);
  // The same built argument by argument, without temporaries: `argc`
  // arguments must follow (Arg: one argument made of the parts given).
  class Command {
   public:
    Command(size_t argc, size_t reserve);
    Command& Arg(std::initializer_list<std::string_view> parts);
    Command& Arg(std::string_view a) { return Arg({a}); }
    Command& Int(int64_t n);
    std::string Take() { return std::move(out_); }

   private:
    std::string out_;
  };
  // Queues `command` (from Format or Command) and returns; `done` runs on
  // the pipeline's thread.
  void Call(std::string_view command, Done done);
  // On someone else's loop, on its thread: from now on the connection is
  // closed whenever nothing is in flight, so that the loop can run out
  // (its server is stopping). Calls still work, connecting again.
  void Drain();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tongban
