// RedisTicketStore: the TicketStore shared by many tongban nodes, so any node
// can validate a ticket another node issued. Wired by app/ when Redis is
// configured. Needs Redis 2.6.12+; uses GETDEL on 6.2+ and a Lua script before.
//
// Hot path: one round trip per call (no SQL). The blocking calls use a pool
// of synchronous connections; ExchangeAsync (ticket validation: replay mark,
// redeem, tombstone check, issue and the session's set in one server-side
// script, EVALSHA, re-sent as EVAL after a NOSCRIPT) and the other Async
// calls go through a pipelined connection, so the caller never waits on the
// network (redis_pipeline.h): the calling I/O thread's own connection on its
// own loop when it has one (AttachLoop: no thread hand-off either way), else
// the one on the store's own Asio thread. When
// Redis is down or hung, calls fail with errc::kUnavailable "redis: ..." within
// the connect/command timeouts instead of blocking request threads, and the
// outage is logged: a warning at most every 10 s, one info line on recovery.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "store/ticket_store.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace tongban {

class RedisPipeline;

class RedisTicketStore final : public TicketStore {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string unix_socket;  // when set, used instead of host and port
    std::string username;     // Redis 6 ACL user; empty = "default"
    std::string password;     // AUTH when non-empty; never logged or echoed
    int database = 0;         // SELECT
    // Prepended to every key, so several deployments can share one Redis.
    std::string key_prefix = "tongban:";
    size_t pool_size = 8;  // connections at most, opened on demand
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{1000};
    // Paces the outage warnings; tests pass a FakeClock. Must outlive the store.
    const Clock* clock = &SystemClock::Instance();
  };

  // "redis://[[user]:password@]host[:port][/database]" or "unix:///path.sock"
  // into Options (the other fields keep their defaults).
  // Errors: errc::kInvalidArgument; the message never repeats the url.
  static Result<Options> ParseUrl(std::string_view url);

  // Opens one connection and PINGs, so a wrong address fails at start-up.
  // Errors: errc::kInvalidArgument for bad options, errc::kUnavailable when
  // Redis cannot be reached or refuses AUTH/SELECT.
  static Result<std::unique_ptr<RedisTicketStore>> Open(Options options);

  ~RedisTicketStore() override;
  RedisTicketStore(const RedisTicketStore&) = delete;
  RedisTicketStore& operator=(const RedisTicketStore&) = delete;

  Status Put(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  Result<bool> PutIfAbsent(std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl) override;
  Result<bool> PutIfPresent(std::string_view key, std::string_view value,
                            std::chrono::milliseconds ttl) override;
  Result<std::string> Get(std::string_view key) override;
  Result<std::string> Redeem(std::string_view key) override;
  Status Erase(std::string_view key) override;
  Status Touch(std::string_view key, std::chrono::milliseconds ttl) override;
  Status AddToSet(std::string_view set_key, std::string_view member,
                  std::chrono::milliseconds ttl) override;
  Result<std::vector<std::string>> Members(std::string_view set_key) override;
  Status EraseSet(std::string_view set_key) override;
  // Each one script call (EVALSHA; EVAL once after NOSCRIPT) on a pooled
  // connection, waited for by the caller (a blocking thread): no hand-off.
  Status PutAndAddToSet(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                        std::string_view set_key, std::string_view member,
                        std::chrono::milliseconds set_ttl) override;
  Result<Touched> GetAndTouch(std::string_view key, std::chrono::milliseconds ttl, int field,
                              std::string_view text, std::string_view set_key,
                              std::string_view member, std::chrono::milliseconds set_ttl) override;
  Result<TicketExchangeResult> Exchange(const TicketExchange& op) override;
  void ExchangeAsync(TicketExchange op, ExchangeDone done) override;
  // GETDEL (the script before Redis 6.2) on the pipeline.
  void RedeemAsync(std::string_view key, RedeemDone done) override;
  // The same scripts as the blocking calls, on the pipeline (one EVALSHA).
  void PutAndAddToSetAsync(std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl, std::string_view set_key,
                           std::string_view member, std::chrono::milliseconds set_ttl,
                           StatusDone done) override;
  void GetAndTouchAsync(std::string_view key, std::chrono::milliseconds ttl, int field,
                        std::string_view text, std::string_view set_key, std::string_view member,
                        std::chrono::milliseconds set_ttl, TouchedDone done) override;
  bool Remote() const override { return true; }

  // An I/O thread's own pipelined connection (http::IoThreadHooks): called
  // on the thread that is about to run `loop`, it gives that thread a
  // connection on `loop` for its Async calls, whose replies then come back
  // on the thread itself. DrainLoop (the server is stopping) and DetachLoop
  // (its loop has run out; before the loop is destroyed) on the same thread.
  void AttachLoop(boost::asio::io_context& loop);
  void DrainLoop();
  void DetachLoop();
  // DBSIZE: every key in the database, not only this store's.
  size_t ApproximateSize() override;

  // Connects lazily; prefer Open(), which also checks that Redis answers.
  explicit RedisTicketStore(Options options);

 private:
  class Pool;
  class OutageLog;
  class Scripts;
  void ExchangeOn(RedisPipeline& pipe, TicketExchange op, ExchangeDone done);
  // SET key value `condition` ("NX" or "XX") PX ttl: PutIfAbsent, PutIfPresent.
  Result<bool> SetIf(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                     std::string_view condition);
  std::string ValueKey(std::string_view key) const;
  std::string SetKey(std::string_view key) const;

  Options options_;
  std::unique_ptr<OutageLog> outage_log_;
  std::unique_ptr<Pool> pool_;
  std::unique_ptr<Scripts> scripts_;  // the pipeline and what runs on it
  // Cleared the first time the server answers "unknown command" to GETDEL.
  std::atomic<bool> has_getdel_{true};
};

}  // namespace tongban
