// RedisPipeline: one pipelined connection to Redis driven by its own Asio
// thread, for RedisTicketStore's asynchronous calls. Callers on any thread
// hand it a command and a callback and return at once; commands are written
// back to back without waiting for replies, and each reply goes to its
// callback in order, on the pipeline's thread. So an HTTP I/O thread never
// waits on the network, and a slow or distant Redis costs latency, not threads.
//
// Faults: a lost connection, a reply overdue by command_timeout or a refused
// AUTH/SELECT fails every call in flight with errc::kUnavailable "redis: ..."
// (fail closed); the next call connects again. Every call gets its callback
// exactly once, at the latest command_timeout (+ connect_timeout) after Call.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

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

  RedisPipeline(Settings settings, Observer observer);
  // Fails whatever is still in flight, then stops the thread.
  ~RedisPipeline();
  RedisPipeline(const RedisPipeline&) = delete;
  RedisPipeline& operator=(const RedisPipeline&) = delete;

  // A command in RESP, formatted on the caller's thread.
  static std::string Format(std::initializer_list<std::string_view> args);
  static std::string Format(const std::vector<std::string_view>& args);
  // Queues `command` (from Format) and returns; `done` runs on the pipeline's thread.
  void Call(std::string command, Done done);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tongban
