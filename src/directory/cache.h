// SnapshotCache: the directory's in-memory map from a key (userid,
// servicecode) to an immutable snapshot, so the SSO hot path reads users and
// apps without SQL. Internal to directory/; callers use Directory::CachedUser.
//
// Sharded; each shard is an LRU list under its own mutex. Lookups take one
// shard lock and copy a shared_ptr: no SQL, no allocation. Entries expire
// after `ttl` (0 = never), which bounds staleness when another node changed
// the database; changes made through this node invalidate at once.
//
// A fill races with an invalidation: a reader may load the old row, then a
// writer commits and invalidates, then the reader inserts the old row. Each
// shard therefore counts invalidations; a reader takes a FillTicket before
// its SQL read and the insert is dropped if the shard was invalidated since.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace tongban::directory {

// What the login-name cache keeps per login key: the users holding it, as
// (domain, userid), in every domain (so a lookup with or without orgcoding
// answers from it, ambiguity included). Empty = no such user. `complete` is
// false when there were more namesakes than one read returns; a lookup
// naming a domain then asks the database.
struct LoginHolders {
  std::vector<std::pair<std::string, std::string>> users;
  bool complete = true;
};

template <typename T>
class SnapshotCache {
 public:
  SnapshotCache(const Clock& clock, size_t capacity, std::chrono::milliseconds ttl,
                size_t shard_count = 32)
      : clock_(clock),
        ttl_ms_(ttl.count()),
        per_shard_(capacity / (shard_count == 0 ? 1 : shard_count) + 1),
        shards_(shard_count == 0 ? 1 : shard_count) {}

  // The snapshot under `key`, or nullptr when absent or expired.
  std::shared_ptr<const T> Find(std::string_view key) {
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mu);
    auto it = shard.index.find(key);
    if (it == shard.index.end()) return nullptr;
    if (ttl_ms_ > 0 && clock_.NowMillis() - it->second->loaded_ms >= ttl_ms_) {
      shard.lru.erase(it->second);
      shard.index.erase(it);
      return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return it->second->value;
  }

  // Take before reading the row that Insert will store.
  uint64_t FillTicket(std::string_view key) {
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mu);
    return shard.generation;
  }

  // Stores `value` unless `key`'s shard was invalidated after `ticket` was taken.
  void Insert(std::string_view key, std::shared_ptr<const T> value, uint64_t ticket) {
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mu);
    if (shard.generation != ticket) return;
    auto it = shard.index.find(key);
    if (it != shard.index.end()) {
      it->second->value = std::move(value);
      it->second->loaded_ms = clock_.NowMillis();
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return;
    }
    shard.lru.push_front(Entry{std::string(key), std::move(value), clock_.NowMillis()});
    shard.index.emplace(shard.lru.front().key, shard.lru.begin());
    if (shard.lru.size() > per_shard_) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
    }
  }

  // A ticket for fills whose keys are known only after the read (a lookup by
  // another key that returns whole rows): any invalidation since voids it.
  uint64_t WideTicket() const { return invalidations_.load(std::memory_order_acquire); }

  // Stores `value` unless anything was invalidated after `wide_ticket`.
  void InsertUnlessChanged(std::string_view key, std::shared_ptr<const T> value,
                           uint64_t wide_ticket) {
    uint64_t ticket = 0;
    {
      Shard& shard = ShardFor(key);
      std::lock_guard lock(shard.mu);
      if (invalidations_.load(std::memory_order_acquire) != wide_ticket) return;
      ticket = shard.generation;
    }
    Insert(key, std::move(value), ticket);
  }

  void Invalidate(std::string_view key) {
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mu);
    invalidations_.fetch_add(1, std::memory_order_acq_rel);
    ++shard.generation;
    auto it = shard.index.find(key);
    if (it == shard.index.end()) return;
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }

  void Clear() {
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      invalidations_.fetch_add(1, std::memory_order_acq_rel);
      ++shard.generation;
      shard.index.clear();
      shard.lru.clear();
    }
  }

  size_t size() {
    size_t n = 0;
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      n += shard.lru.size();
    }
    return n;
  }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const T> value;
    int64_t loaded_ms;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Lru = std::list<Entry>;
  struct Shard {
    std::mutex mu;
    Lru lru;  // most recently used first
    // Keys are views of the list entries' own strings, stable while listed.
    std::unordered_map<std::string_view, typename Lru::iterator, Hash, std::equal_to<>> index;
    uint64_t generation = 0;
  };

  Shard& ShardFor(std::string_view key) { return shards_[Hash{}(key) % shards_.size()]; }

  const Clock& clock_;
  const int64_t ttl_ms_;
  const size_t per_shard_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> invalidations_{0};
};

}  // namespace tongban::directory
