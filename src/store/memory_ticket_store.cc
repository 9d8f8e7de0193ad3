#include "store/memory_ticket_store.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "store/ticket_store_checks.h"

namespace tongban {
namespace {

uint64_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

// One value and its key in a single allocation: [Entry][key bytes][value bytes].
// A std::unordered_map<std::string, std::string> node would cost three
// allocations and ~100 bytes of overhead per ticket.
struct Entry {
  int64_t expires_at_ms;
  uint32_t key_len;
  uint32_t value_len;

  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {bytes(), key_len}; }
  std::string_view value() const { return {bytes() + key_len, value_len}; }
  bool ExpiredAt(int64_t now_ms) const { return expires_at_ms <= now_ms; }
};
static_assert(sizeof(Entry) == 16);
static_assert(std::is_trivially_destructible_v<Entry>);

struct EntryFree {
  void operator()(Entry* e) const { ::operator delete(e); }
};
using EntryPtr = std::unique_ptr<Entry, EntryFree>;

// Variable-length records need operator new plus placement; EntryPtr owns the result.
EntryPtr MakeEntry(std::string_view key, std::string_view value, int64_t expires_at_ms) {
  void* memory = ::operator new(sizeof(Entry) + key.size() + value.size());
  EntryPtr e(::new (memory) Entry{expires_at_ms, static_cast<uint32_t>(key.size()),
                                  static_cast<uint32_t>(value.size())});
  if (!key.empty()) std::memcpy(e->bytes(), key.data(), key.size());
  if (!value.empty()) std::memcpy(e->bytes() + key.size(), value.data(), value.size());
  return e;
}

// Open addressing with linear probing and backward-shift deletion (no
// tombstones, so Redeem-heavy churn never degrades probing). A slot holds the
// owning Entry*, the low 32 bits of the key's hash and the entry's expiry in
// whole seconds, so that nothing but a matching lookup reads the entry
// itself: deletion's backward shift, growth and the sweep work from the slot
// array alone. (Reading each shifted entry to rehash its key was two thirds
// of Redeem's time at a million tickets: a cache miss per entry.) Not
// thread-safe: the shard's mutex guards it.
class EntryTable {
 public:
  static constexpr size_t kNone = std::numeric_limits<size_t>::max();

  EntryTable() = default;
  ~EntryTable() { Clear(); }
  EntryTable(const EntryTable&) = delete;
  EntryTable& operator=(const EntryTable&) = delete;

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  Entry* at(size_t i) const { return slots_[i].entry; }

  size_t Find(std::string_view key, uint64_t hash) const {
    if (size_ == 0) return kNone;
    const uint32_t h = static_cast<uint32_t>(hash);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.entry == nullptr) return kNone;
      if (s.hash == h && s.entry->key() == key) return i;
    }
  }

  // Adds an entry whose key is not in the table.
  void Insert(EntryPtr e, uint64_t hash) {
    if ((size_ + 1) * 4 > capacity() * 3) Rehash(std::max<size_t>(kMinCapacity, capacity() * 2));
    Place(Slot{e.get(), static_cast<uint32_t>(hash), ExpirySeconds(e->expires_at_ms)});
    e.release();
    ++size_;
  }

  // Puts `e` (same key) in slot `i`; returns the entry it displaced.
  EntryPtr Replace(size_t i, EntryPtr e) {
    EntryPtr old(slots_[i].entry);
    slots_[i].expiry_s = ExpirySeconds(e->expires_at_ms);
    slots_[i].entry = e.release();
    return old;
  }

  void SetExpiry(size_t i, int64_t expires_at_ms) {
    slots_[i].entry->expires_at_ms = expires_at_ms;
    slots_[i].expiry_s = ExpirySeconds(expires_at_ms);
  }

  // Removes the entry in slot `i` and hands it to the caller.
  EntryPtr Detach(size_t i) {
    EntryPtr e(slots_[i].entry);
    RemoveSlot(i);
    --size_;
    return e;
  }

  // Frees every entry that has expired at `now_ms`; returns how many. Reads
  // only the entries whose whole-second expiry has passed.
  size_t EraseExpired(int64_t now_ms) {
    size_t removed = 0;
    const int64_t now_s = now_ms / 1000;
    // A removal may shift a later entry into slot i, so i is re-examined.
    for (size_t i = 0; i < capacity();) {
      const Slot& s = slots_[i];
      if (s.entry != nullptr && s.expiry_s <= now_s && s.entry->ExpiredAt(now_ms)) {
        Detach(i);
        ++removed;
      } else {
        ++i;
      }
    }
    if (capacity() > kMinCapacity && size_ * 8 < capacity()) {
      size_t target = kMinCapacity;
      while (target < size_ * 2) target *= 2;
      Rehash(target);
    }
    return removed;
  }

  // Frees every entry and returns the table to empty.
  void Clear() {
    for (const Slot& s : slots_) EntryFree()(s.entry);
    slots_.clear();
    size_ = 0;
    mask_ = 0;
  }

  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Slot& s : slots_) {
      if (s.entry != nullptr) fn(*s.entry);
    }
  }

 private:
  static constexpr size_t kMinCapacity = 8;

  struct Slot {
    Entry* entry = nullptr;  // owning; null when the slot is empty
    uint32_t hash = 0;       // low 32 bits of the key's hash (the shard uses bits 32 and up)
    uint32_t expiry_s = 0;   // ceil(expires_at_ms / 1000), saturated
  };
  static_assert(sizeof(Slot) == 16);

  static uint32_t ExpirySeconds(int64_t expires_at_ms) {
    if (expires_at_ms <= 0) return 0;
    const int64_t s = expires_at_ms / 1000 + (expires_at_ms % 1000 != 0);
    return static_cast<uint32_t>(std::min<int64_t>(s, std::numeric_limits<uint32_t>::max()));
  }

  void Place(Slot slot) {
    size_t i = slot.hash & mask_;
    while (slots_[i].entry != nullptr) i = (i + 1) & mask_;
    slots_[i] = slot;
  }

  void Rehash(size_t new_capacity) {
    std::vector<Slot> old(new_capacity);
    old.swap(slots_);
    mask_ = new_capacity - 1;
    for (const Slot& s : old) {
      if (s.entry != nullptr) Place(s);
    }
  }

  // Backward-shift deletion: pull later entries of the cluster into the hole
  // when the hole lies on their probe path, so lookups never stop early.
  void RemoveSlot(size_t hole) {
    size_t j = hole;
    for (;;) {
      j = (j + 1) & mask_;
      if (slots_[j].entry == nullptr) break;
      const size_t home = slots_[j].hash & mask_;
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
};

// A session's set of issued grants: an EntryTable of members without values,
// for the reasons above. A session that hands out many tokens (an app
// refreshing its access token all week, a portal asking getST for every
// click) adds one member per token; a vector's linear duplicate check made
// AddToSet O(members), and std::unordered_set's node-walking rehash of a
// set of tens of thousands stalled the shard for milliseconds.
using MemberSet = EntryTable;
constexpr int64_t kNoExpiry = std::numeric_limits<int64_t>::max();

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return HashKey(s); }
};

struct SetEntry {
  int64_t expires_at_ms = 0;
  MemberSet members;
};
using SetMap = std::unordered_map<std::string, SetEntry, StringHash, std::equal_to<>>;

namespace checks = ticket_store_checks;
using checks::NotFound;

}  // namespace

struct alignas(64) MemoryTicketStore::Shard {
  std::mutex mu;
  EntryTable values;
  SetMap sets;
  // values.size() + sets.size(), readable without the lock for ApproximateSize.
  std::atomic<size_t> count{0};

  void UpdateCount() { count.store(values.size() + sets.size(), std::memory_order_relaxed); }
};

MemoryTicketStore::MemoryTicketStore(const Clock& clock) : MemoryTicketStore(clock, Options()) {}

MemoryTicketStore::MemoryTicketStore(const Clock& clock, Options options) : clock_(clock) {
  size_t n = 1;
  while (n < options.shards) n *= 2;
  shards_.reserve(n);
  for (size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>());
  shard_mask_ = n - 1;
  if (options.sweep_interval.count() > 0) {
    sweeper_ = std::thread([this, interval = options.sweep_interval] { SweeperLoop(interval); });
  }
}

MemoryTicketStore::~MemoryTicketStore() {
  {
    std::lock_guard lock(sweeper_mu_);
    stopping_ = true;
  }
  sweeper_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void MemoryTicketStore::SweeperLoop(std::chrono::milliseconds interval) {
  std::unique_lock lock(sweeper_mu_);
  while (!sweeper_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    Sweep();
    lock.lock();
  }
}

MemoryTicketStore::Shard& MemoryTicketStore::ShardFor(uint64_t hash) {
  return *shards_[(hash >> 32) & shard_mask_];
}

int64_t MemoryTicketStore::ExpiryFromNow(std::chrono::milliseconds ttl) const {
  int64_t now = clock_.NowMillis();
  if (ttl.count() > std::numeric_limits<int64_t>::max() - now) {
    return std::numeric_limits<int64_t>::max();
  }
  return now + ttl.count();
}

Status MemoryTicketStore::Put(std::string_view key, std::string_view value,
                              std::chrono::milliseconds ttl) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Value(value));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  const uint64_t hash = HashKey(key);
  EntryPtr fresh = MakeEntry(key, value, ExpiryFromNow(ttl));
  EntryPtr displaced;  // freed after the lock is released
  Shard& shard = ShardFor(hash);
  std::lock_guard lock(shard.mu);
  size_t i = shard.values.Find(key, hash);
  if (i != EntryTable::kNone) {
    displaced = shard.values.Replace(i, std::move(fresh));
  } else {
    shard.values.Insert(std::move(fresh), hash);
    shard.UpdateCount();
  }
  return Status::Ok();
}

Result<bool> MemoryTicketStore::PutIfAbsent(std::string_view key, std::string_view value,
                                            std::chrono::milliseconds ttl) {
  return PutIfLive(key, value, ttl, /*live=*/false);
}

Result<bool> MemoryTicketStore::PutIfPresent(std::string_view key, std::string_view value,
                                             std::chrono::milliseconds ttl) {
  return PutIfLive(key, value, ttl, /*live=*/true);
}

Result<bool> MemoryTicketStore::PutIfLive(std::string_view key, std::string_view value,
                                          std::chrono::milliseconds ttl, bool live) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Value(value));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  const uint64_t hash = HashKey(key);
  const int64_t now = clock_.NowMillis();
  EntryPtr fresh = MakeEntry(key, value, ExpiryFromNow(ttl));
  EntryPtr displaced;  // freed after the lock is released
  Shard& shard = ShardFor(hash);
  std::lock_guard lock(shard.mu);
  size_t i = shard.values.Find(key, hash);
  const bool holds = i != EntryTable::kNone && !shard.values.at(i)->ExpiredAt(now);
  if (holds != live) return false;
  if (i == EntryTable::kNone) {
    shard.values.Insert(std::move(fresh), hash);
    shard.UpdateCount();
  } else {
    displaced = shard.values.Replace(i, std::move(fresh));
  }
  return true;
}

Result<std::string> MemoryTicketStore::Get(std::string_view key) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  const uint64_t hash = HashKey(key);
  const int64_t now = clock_.NowMillis();
  EntryPtr expired;
  Shard& shard = ShardFor(hash);
  std::lock_guard lock(shard.mu);
  size_t i = shard.values.Find(key, hash);
  if (i == EntryTable::kNone) return NotFound();
  const Entry* e = shard.values.at(i);
  if (e->ExpiredAt(now)) {
    expired = shard.values.Detach(i);
    shard.UpdateCount();
    return NotFound();
  }
  return std::string(e->value());
}

Result<std::string> MemoryTicketStore::Redeem(std::string_view key) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  const uint64_t hash = HashKey(key);
  const int64_t now = clock_.NowMillis();
  EntryPtr taken;
  {
    Shard& shard = ShardFor(hash);
    std::lock_guard lock(shard.mu);
    size_t i = shard.values.Find(key, hash);
    if (i == EntryTable::kNone) return NotFound();
    taken = shard.values.Detach(i);
    shard.UpdateCount();
  }
  // Detached under the lock, so no other caller can see it: copy at leisure.
  if (taken->ExpiredAt(now)) return NotFound();
  return std::string(taken->value());
}

Status MemoryTicketStore::Erase(std::string_view key) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  const uint64_t hash = HashKey(key);
  EntryPtr taken;
  Shard& shard = ShardFor(hash);
  std::lock_guard lock(shard.mu);
  size_t i = shard.values.Find(key, hash);
  if (i != EntryTable::kNone) {
    taken = shard.values.Detach(i);
    shard.UpdateCount();
  }
  return Status::Ok();
}

Status MemoryTicketStore::Touch(std::string_view key, std::chrono::milliseconds ttl) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  const uint64_t hash = HashKey(key);
  const int64_t now = clock_.NowMillis();
  const int64_t expires = ExpiryFromNow(ttl);
  EntryPtr expired;
  Shard& shard = ShardFor(hash);
  std::lock_guard lock(shard.mu);
  size_t i = shard.values.Find(key, hash);
  if (i == EntryTable::kNone) return NotFound();
  Entry* e = shard.values.at(i);
  if (e->ExpiredAt(now)) {
    expired = shard.values.Detach(i);
    shard.UpdateCount();
    return NotFound();
  }
  shard.values.SetExpiry(i, expires);
  return Status::Ok();
}

Status MemoryTicketStore::AddToSet(std::string_view set_key, std::string_view member,
                                   std::chrono::milliseconds ttl) {
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  TB_RETURN_IF_ERROR(checks::Value(member));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  const int64_t now = clock_.NowMillis();
  const int64_t expires = ExpiryFromNow(ttl);
  Shard& shard = ShardFor(HashKey(set_key));
  std::lock_guard lock(shard.mu);
  auto it = shard.sets.find(set_key);
  if (it == shard.sets.end()) {
    it = shard.sets.try_emplace(std::string(set_key)).first;
    shard.UpdateCount();
  } else if (it->second.expires_at_ms <= now) {
    it->second.members.Clear();
  }
  SetEntry& set = it->second;
  set.expires_at_ms = expires;
  const uint64_t member_hash = HashKey(member);
  if (set.members.Find(member, member_hash) == EntryTable::kNone) {
    set.members.Insert(MakeEntry(member, {}, kNoExpiry), member_hash);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> MemoryTicketStore::Members(std::string_view set_key) {
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  const int64_t now = clock_.NowMillis();
  Shard& shard = ShardFor(HashKey(set_key));
  std::lock_guard lock(shard.mu);
  auto it = shard.sets.find(set_key);
  if (it == shard.sets.end()) return std::vector<std::string>();
  if (it->second.expires_at_ms <= now) {
    shard.sets.erase(it);
    shard.UpdateCount();
    return std::vector<std::string>();
  }
  std::vector<std::string> members;
  members.reserve(it->second.members.size());
  it->second.members.ForEach([&members](const Entry& e) { members.emplace_back(e.key()); });
  return members;
}

Status MemoryTicketStore::EraseSet(std::string_view set_key) {
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  Shard& shard = ShardFor(HashKey(set_key));
  std::lock_guard lock(shard.mu);
  auto it = shard.sets.find(set_key);
  if (it != shard.sets.end()) {
    shard.sets.erase(it);
    shard.UpdateCount();
  }
  return Status::Ok();
}

size_t MemoryTicketStore::ApproximateSize() {
  size_t total = 0;
  for (const auto& shard : shards_) total += shard->count.load(std::memory_order_relaxed);
  return total;
}

size_t MemoryTicketStore::Sweep() {
  size_t removed = 0;
  for (const auto& shard : shards_) {
    const int64_t now = clock_.NowMillis();
    std::lock_guard lock(shard->mu);
    removed += shard->values.EraseExpired(now);
    removed += std::erase_if(shard->sets,
                             [now](const auto& kv) { return kv.second.expires_at_ms <= now; });
    shard->UpdateCount();
  }
  return removed;
}

}  // namespace tongban
