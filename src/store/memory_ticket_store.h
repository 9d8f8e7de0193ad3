// MemoryTicketStore: the single-node TicketStore (the default). Sessions,
// tickets and tokens live in this process and die with it; wired by app/ when
// no Redis is configured, and used by tests with a FakeClock.
//
// Hot path: every call takes one shard lock (keys are spread over shards by
// hash), touches no SQL and does no I/O. Lookups allocate nothing; Get and
// Redeem allocate only the returned string. Each value costs one allocation of
// 16 bytes + key + value plus ~32 bytes of table (16-byte slots, at most three
// quarters full): a million 39-character tickets with 100-byte values take
// ~210 MB of heap (a mutex-guarded std::unordered_map: ~270 MB). Guarded by
// bench/store_ticket_bench.cc.
//
// Expired entries are dropped when read, and reclaimed in bulk by Sweep(),
// which the owner calls periodically or leaves to the optional sweeper thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/ticket_store.h"

namespace tongban {

class MemoryTicketStore final : public TicketStore {
 public:
  struct Options {
    // Independent locks; rounded up to a power of two. More shards, less
    // contention between threads and shorter stalls when a shard's table
    // doubles (at a million tickets, 64 shards gave 16-31 ms p99 spikes, 256
    // give ~5 ms); an empty shard costs a few hundred bytes.
    size_t shards = 256;
    // When positive, a background thread calls Sweep() this often (real time,
    // whatever the clock). Zero: the owner calls Sweep() itself.
    std::chrono::milliseconds sweep_interval{0};
  };

  // `clock` must outlive the store.
  explicit MemoryTicketStore(const Clock& clock);
  MemoryTicketStore(const Clock& clock, Options options);
  ~MemoryTicketStore() override;
  MemoryTicketStore(const MemoryTicketStore&) = delete;
  MemoryTicketStore& operator=(const MemoryTicketStore&) = delete;

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
  size_t ApproximateSize() override;

  // Reclaims every expired value and set, one shard at a time (other shards
  // stay usable meanwhile). Returns how many were reclaimed.
  size_t Sweep();

 private:
  struct Shard;
  Shard& ShardFor(uint64_t hash);
  int64_t ExpiryFromNow(std::chrono::milliseconds ttl) const;
  // PutIfAbsent (`live` false) and PutIfPresent (`live` true): stores only
  // when whether `key` holds a live value is `live`.
  Result<bool> PutIfLive(std::string_view key, std::string_view value,
                         std::chrono::milliseconds ttl, bool live);
  void SweeperLoop(std::chrono::milliseconds interval);

  const Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  size_t shard_mask_;

  std::mutex sweeper_mu_;
  std::condition_variable sweeper_cv_;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace tongban
