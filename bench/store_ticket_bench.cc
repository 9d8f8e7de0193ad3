// MemoryTicketStore against a baseline measured in the same run: one
// std::unordered_map (transparent hashing, so lookups do not allocate either)
// under one std::mutex. Workloads:
//   Put        overwrite tickets of a 100k working set
//   Get        read random tickets of a 100k store
//   PutRedeem  issue a ticket and redeem it (the CAS login round trip)
//   Footprint  1M live tickets (39-byte ids, 100-byte values): heap bytes per
//              ticket and process RSS, the "well under 300 MB" budget.
// Run optimized: bench/store_ticket_bench --benchmark_counters_tabular=true
// Compare items_per_second of Memory* with Baseline* at the same thread count.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "store/memory_ticket_store.h"

namespace tongban {
namespace {

using std::chrono::minutes;

constexpr size_t kWorkingSet = 100'000;
constexpr size_t kFootprintTickets = 1'000'000;

// Tickets as the SSO issues them: 32 hex characters and a suffix.
std::vector<std::string> MakeTickets(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  out.reserve(n);
  char buf[48];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%016llx%016llx-ticket", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    out.emplace_back(buf);
  }
  return out;
}

const std::string kValue(100, 'v');

class BaselineStore {
 public:
  explicit BaselineStore(const Clock& clock) : clock_(clock) {}

  void Put(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) {
    int64_t expires = clock_.NowMillis() + ttl.count();
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      map_.emplace(std::string(key), Entry{std::string(value), expires});
    } else {
      it->second = Entry{std::string(value), expires};
    }
  }

  std::optional<std::string> Get(std::string_view key) {
    int64_t now = clock_.NowMillis();
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end() || it->second.expires_at_ms <= now) return std::nullopt;
    return it->second.value;
  }

  std::optional<std::string> Redeem(std::string_view key) {
    int64_t now = clock_.NowMillis();
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    std::optional<std::string> out;
    if (it->second.expires_at_ms > now) out = std::move(it->second.value);
    map_.erase(it);
    return out;
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct Entry {
    std::string value;
    int64_t expires_at_ms;
  };
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map_;
};

// The stores under test live across the threads of one benchmark run; thread
// 0 creates them before the timed loop and drops them after it (Google
// Benchmark puts a barrier on both sides of the loop).
std::unique_ptr<MemoryTicketStore> g_memory;
std::unique_ptr<BaselineStore> g_baseline;

const std::vector<std::string>& Tickets() {
  static const std::vector<std::string> tickets = MakeTickets(kWorkingSet, 1);
  return tickets;
}

template <typename Store>
std::unique_ptr<Store>& Global();
template <>
std::unique_ptr<MemoryTicketStore>& Global<MemoryTicketStore>() {
  return g_memory;
}
template <>
std::unique_ptr<BaselineStore>& Global<BaselineStore>() {
  return g_baseline;
}

template <typename Store>
void SetUpStore(benchmark::State& state, bool prefill) {
  if (state.thread_index() != 0) return;
  Global<Store>() = std::make_unique<Store>(SystemClock::Instance());
  if (prefill) {
    for (const std::string& t : Tickets()) (void)Global<Store>()->Put(t, kValue, minutes(5));
  }
}

template <typename Store>
void TearDownStore(benchmark::State& state) {
  if (state.thread_index() == 0) Global<Store>().reset();
}

template <typename Store>
void BM_Put(benchmark::State& state) {
  SetUpStore<Store>(state, /*prefill=*/false);
  const auto& tickets = Tickets();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    (void)Global<Store>()->Put(tickets[i % kWorkingSet], kValue, minutes(5));
    i += 13;
  }
  state.SetItemsProcessed(state.iterations());
  TearDownStore<Store>(state);
}

template <typename Store>
void BM_Get(benchmark::State& state) {
  SetUpStore<Store>(state, /*prefill=*/true);
  const auto& tickets = Tickets();
  std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 1);
  for (auto _ : state) {
    auto v = Global<Store>()->Get(tickets[rng() % kWorkingSet]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  TearDownStore<Store>(state);
}

template <typename Store>
void BM_PutRedeem(benchmark::State& state) {
  SetUpStore<Store>(state, /*prefill=*/false);
  const auto& tickets = Tickets();
  size_t i = static_cast<size_t>(state.thread_index()) * (kWorkingSet / 8);
  for (auto _ : state) {
    const std::string& t = tickets[i % kWorkingSet];
    (void)Global<Store>()->Put(t, kValue, minutes(5));
    auto v = Global<Store>()->Redeem(t);
    benchmark::DoNotOptimize(v);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  TearDownStore<Store>(state);
}

// Bytes handed out by malloc, including large blocks served by mmap.
size_t HeapInUse() {
  malloc_trim(0);
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

size_t ResidentBytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * 4096;
}

template <typename Store>
void BM_Footprint(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string> tickets = MakeTickets(kFootprintTickets, 2);
    size_t heap_before = HeapInUse();
    size_t rss_before = ResidentBytes();
    state.ResumeTiming();
    auto store = std::make_unique<Store>(SystemClock::Instance());
    for (const std::string& t : tickets) (void)store->Put(t, kValue, minutes(5));
    state.PauseTiming();
    size_t heap_after = HeapInUse();
    state.counters["heap_bytes_per_ticket"] =
        static_cast<double>(heap_after - heap_before) / kFootprintTickets;
    // What the store adds to the process (the benchmark's own ids excluded).
    state.counters["store_rss_MB"] = static_cast<double>(ResidentBytes() - rss_before) / (1 << 20);
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kFootprintTickets));
}

// What a validation does to the store, at the size the store has: redeem a
// live ticket and put a new one, so the live count stays at range(0). The
// tickets form a ring twice that size: the one put now was redeemed range(0)
// steps ago. Compare 10k with 1M live: the difference is cache misses.
void BM_RedeemPutAtSize(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  const std::vector<std::string> tickets = MakeTickets(2 * live, 3);
  MemoryTicketStore store(SystemClock::Instance());
  for (size_t i = 0; i < live; ++i) (void)store.Put(tickets[i], kValue, minutes(5));
  size_t step = 0;
  for (auto _ : state) {
    auto v = store.Redeem(tickets[step % tickets.size()]);
    (void)store.Put(tickets[(step + live) % tickets.size()], kValue, minutes(5));
    benchmark::DoNotOptimize(v);
    ++step;
  }
  state.SetItemsProcessed(state.iterations());
}

// One pass of the background sweeper over a store of range(0) live tickets
// of which none has expired: the price paid every sweep interval, on a
// thread that shares the machine's cores with the I/O threads.
void BM_SweepNothingExpired(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  const std::vector<std::string> tickets = MakeTickets(live, 4);
  MemoryTicketStore store(SystemClock::Instance());
  for (const std::string& t : tickets) (void)store.Put(t, kValue, minutes(5));
  for (auto _ : state) benchmark::DoNotOptimize(store.Sweep());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * live));
}

BENCHMARK(BM_RedeemPutAtSize)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(BM_SweepNothingExpired)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Footprint, MemoryTicketStore)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Footprint, BaselineStore)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Put, MemoryTicketStore)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Put, BaselineStore)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Get, MemoryTicketStore)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Get, BaselineStore)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK_TEMPLATE(BM_PutRedeem, MemoryTicketStore)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_PutRedeem, BaselineStore)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace tongban
