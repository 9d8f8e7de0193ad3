// Outbox::ClaimDue against a backlog (issue 18: a unit notifier that falls
// behind), next to a baseline measured in the same run: reading the same 256
// messages by id and setting their claim, which any claim must do at least.
//   ClaimBacklog/P  P pending messages of one destination with distinct
//                   ordering keys (the unit notifications of a payment burst),
//                   per_destination 256; each iteration claims 256 and gives
//                   them back (Release), so the backlog stays P.
//   Baseline/P      the same table; SELECT the 256 oldest by id, UPDATE each.
// SQLite file database in a temporary directory (BENCH_DIR to choose where).
// Read items_per_second (messages) of ClaimBacklog against Baseline at the
// same P: a claim whose rate falls as P grows reads the whole backlog.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/outbox.h"
#include "store/sql_store.h"

namespace tongban {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr size_t kClaim = 256;

struct Backlog {
  std::filesystem::path dir;
  std::unique_ptr<SqlStore> store;
  std::unique_ptr<Outbox> outbox;

  explicit Backlog(int64_t pending) {
    const char* base = std::getenv("BENCH_DIR");
    dir = (base != nullptr ? std::filesystem::path(base) : std::filesystem::temp_directory_path()) /
          ("tongban-outbox-bench-" + std::to_string(::getpid()) + "-" + std::to_string(pending));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto opened = SqlStore::Open("sqlite://" + (dir / "outbox.db").string(), 2);
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    store = std::move(opened).value();
    Status migrated = store->Migrate(Outbox::Migrations());
    if (!migrated.ok()) throw std::runtime_error(migrated.error().message);
    OutboxOptions options;
    options.per_destination = kClaim;
    outbox = std::make_unique<Outbox>(*store, options);
    const std::string payload(300, 'x');  // a GetPay_Info's JSON is ~300 bytes
    Status written = store->WithTransaction([&](soci::session& tx) -> Status {
      for (int64_t i = 0; i < pending; ++i) {
        auto id = outbox->Enqueue(tx, "unit-1", "GetPay_Info", payload, kT0,
                                  "N" + std::to_string(100000000 + i));
        if (!id.ok()) return std::move(id).error();
      }
      return Status::Ok();
    });
    if (!written.ok()) throw std::runtime_error(written.error().message);
  }
  ~Backlog() {
    outbox.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

void BM_OutboxClaimBacklog(benchmark::State& state) {
  Backlog backlog(state.range(0));
  int64_t now = kT0 + 1000;
  size_t claimed = 0;
  for (auto _ : state) {
    auto due = backlog.outbox->ClaimDue(now, kClaim);
    if (!due.ok() || due->size() != kClaim) {
      state.SkipWithError("claim failed or short");
      break;
    }
    claimed += due->size();
    std::vector<int64_t> ids;
    for (const OutboxMessage& m : *due) ids.push_back(m.id);
    state.PauseTiming();
    if (!backlog.outbox->Release(ids).ok()) state.SkipWithError("release failed");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(claimed));
}

void BM_OutboxClaimBaseline(benchmark::State& state) {
  Backlog backlog(state.range(0));
  size_t claimed = 0;
  for (auto _ : state) {
    Status done = backlog.store->WithTransaction([&](soci::session& sql) -> Status {
      long long id = 0, limit = kClaim, until = kT0 + 60'000;
      std::string destination, method, payload, key;
      std::vector<long long> ids;
      soci::statement select = (sql.prepare << "SELECT id, destination, method, payload, "
                                               "ordering_key FROM outbox WHERE state = 'pending' "
                                               "ORDER BY id LIMIT :n",
                                soci::use(limit), soci::into(id), soci::into(destination),
                                soci::into(method), soci::into(payload), soci::into(key));
      select.execute();
      while (select.fetch()) ids.push_back(id);
      soci::statement claim = (sql.prepare << "UPDATE outbox SET claimed_until = :u WHERE id = :id",
                               soci::use(until), soci::use(id));
      for (long long each : ids) {
        id = each;
        claim.execute(true);
      }
      claimed += ids.size();
      return Status::Ok();
    });
    if (!done.ok()) {
      state.SkipWithError(done.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(claimed));
}

BENCHMARK(BM_OutboxClaimBaseline)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OutboxClaimBacklog)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tongban
