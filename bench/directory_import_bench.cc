// Bulk import of users into a directory, then lookups at that size. The
// directory is built once per process: TONGBAN_BENCH_USERS users (default
// 50000; set 1000000 for the 1M run) in 100 orgs, imported from CSV
// with legacy "plain$" hashes (no argon2id), as a migration would. The
// database is SQLite in a temp dir, or TONGBAN_BENCH_DB (the url of an EMPTY
// PostgreSQL or MySQL database; bench/directory_databases.py starts private
// servers and runs all three side by side).
//
//   TONGBAN_BENCH_USERS=1000000 ./directory_import_bench
//   TONGBAN_BENCH_DB=mysql://root@127.0.0.1:3306/bench ./directory_import_bench
//
// BM_Import reports the import time and rate; the lookup benchmarks report
// per-call latency percentiles (p50_us, p99_us) measured call by call, and the
// hot-path cache hit is compared with the SQL path it saves.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "crypto/secret_box.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "store/outbox.h"
#include "store/sql_store.h"

namespace tongban::directory {
namespace {

constexpr int kOrgs = 100;
constexpr const char* kSurnames[] = {"张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"};
constexpr const char* kGiven[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊",   "军", "洋",
                                  "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "平"};

int64_t UserCount() {
  const char* env = std::getenv("TONGBAN_BENCH_USERS");
  if (env == nullptr || *env == '\0') return 50'000;
  return std::max<int64_t>(1'000, std::atoll(env));
}

std::string LoginName(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "u%07lld", static_cast<long long>(i));
  return buf;
}

std::string OrgCoding(int64_t i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "001%03lld", static_cast<long long>(i % kOrgs + 1));
  return buf;
}

// Everything the benchmarks share, built on first use.
struct World {
  std::string dir;
  std::unique_ptr<SqlStore> store;
  std::unique_ptr<Outbox> outbox;
  std::optional<crypto::SecretBox> box;
  std::unique_ptr<Directory> directory;
  std::vector<std::string> userids;  // a sample, for lookups
  int64_t users = 0;
  double import_seconds = 0;
  int64_t import_failed = 0;

  World() {
    char pattern[] = "/tmp/tongban-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) std::abort();
    dir = pattern;
    const char* url = std::getenv("TONGBAN_BENCH_DB");
    auto opened = SqlStore::Open(
        url != nullptr && *url != '\0' ? std::string(url) : "sqlite://" + dir + "/bench.db", 4);
    if (!opened.ok()) Die(opened.error());
    store = std::move(*opened);
    std::vector<Migration> migrations = DirectoryMigrations();
    for (Migration& m : Outbox::Migrations()) migrations.push_back(std::move(m));
    Check(store->Migrate(migrations));
    outbox = std::make_unique<Outbox>(*store);
    auto sealed = crypto::SecretBox::Create(std::string(32, 'b'), OpenSslRandom::Instance());
    if (!sealed.ok()) Die(sealed.error());
    box.emplace(std::move(*sealed));
    auto d =
        Directory::Open(*store, *outbox, SystemClock::Instance(), OpenSslRandom::Instance(), *box);
    if (!d.ok()) Die(d.error());
    directory = std::move(*d);

    std::string orgs = "orgcoding,orgname\n001,基准省\n";
    for (int i = 0; i < kOrgs; ++i) {
      orgs += OrgCoding(i) + ",基准单位" + std::to_string(i + 1) + "\n";
    }
    std::istringstream org_in(orgs);
    auto org_report = directory->ImportOrgs(org_in);
    if (!org_report.ok()) Die(org_report.error());

    users = UserCount();
    std::string csv = "loginname,username,orgcoding,mobile,orderby,password_hash\n";
    csv.reserve(static_cast<size_t>(users) * 72);
    for (int64_t i = 0; i < users; ++i) {
      char mobile[32];
      std::snprintf(mobile, sizeof(mobile), "139%08lld", static_cast<long long>(i));
      csv += LoginName(i) + "," + kSurnames[i % 10] + kGiven[(i / 10) % 20] + "," + OrgCoding(i) +
             "," + mobile + "," + std::to_string(i % 50) + ",plain$pw" + std::to_string(i) + "\n";
    }
    std::istringstream in(std::move(csv));
    ImportOptions options;
    options.batch_rows = 5'000;
    auto start = std::chrono::steady_clock::now();
    auto report = directory->ImportUsers(in, options);
    import_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!report.ok()) Die(report.error());
    import_failed = report->failed;

    std::mt19937_64 rng(1);
    for (int i = 0; i < 10'000; ++i) {
      auto user = directory->GetUserByLoginname(Caller::Admin(),
                                                LoginName(static_cast<int64_t>(rng() % users)));
      if (!user.ok()) Die(user.error());
      userids.push_back((*user)->userid);
    }
  }

  ~World() {
    directory.reset();
    outbox.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  [[noreturn]] static void Die(const Error& e) {
    std::fprintf(stderr, "directory bench: %s\n", e.message.c_str());
    std::exit(1);
  }
  static void Check(const Status& s) {
    if (!s.ok()) Die(s.error());
  }
};

World& TheWorld() {
  static World world;
  return world;
}

// Times each call of `op` and reports p50/p99 in microseconds.
template <typename Op>
void RunTimed(benchmark::State& state, Op&& op) {
  std::vector<double> us;
  us.reserve(1 << 16);
  int64_t i = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    op(i++);
    auto end = std::chrono::steady_clock::now();
    if (us.size() < (1u << 20)) {
      us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

void BM_Import(benchmark::State& state) {
  World& w = TheWorld();
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.users);
  }
  state.counters["users"] = static_cast<double>(w.users);
  state.counters["import_s"] = w.import_seconds;
  state.counters["users_per_s"] = static_cast<double>(w.users) / w.import_seconds;
  state.counters["failed"] = static_cast<double>(w.import_failed);
}
BENCHMARK(BM_Import)->Iterations(1)->Unit(benchmark::kMillisecond);

// The hot path: a user snapshot from memory.
void BM_CachedUserHit(benchmark::State& state) {
  World& w = TheWorld();
  for (const std::string& id : w.userids) (void)w.directory->CachedUser(id);
  RunTimed(state, [&](int64_t i) {
    auto user = w.directory->CachedUser(w.userids[static_cast<size_t>(i) % w.userids.size()]);
    benchmark::DoNotOptimize(user);
  });
}
BENCHMARK(BM_CachedUserHit);

// The same lookup through SQL (the cache is cleared so every call misses).
void BM_UserByIdFromDatabase(benchmark::State& state) {
  World& w = TheWorld();
  RunTimed(state, [&](int64_t i) {
    w.directory->ClearCaches();
    auto user = w.directory->CachedUser(w.userids[static_cast<size_t>(i) % w.userids.size()]);
    benchmark::DoNotOptimize(user);
  });
}
BENCHMARK(BM_UserByIdFromDatabase);

// getUserByLoginname: an index lookup for the id, then the snapshot.
void BM_UserByLoginname(benchmark::State& state) {
  World& w = TheWorld();
  std::mt19937_64 rng(2);
  RunTimed(state, [&](int64_t) {
    auto user = w.directory->GetUserByLoginname(Caller::Admin(),
                                                LoginName(static_cast<int64_t>(rng() % w.users)));
    benchmark::DoNotOptimize(user);
  });
}
BENCHMARK(BM_UserByLoginname);

// The console's search box: a prefix over 1..N users, first page of 20.
void BM_SearchUsersByPrefix(benchmark::State& state) {
  World& w = TheWorld();
  std::mt19937_64 rng(3);
  RunTimed(state, [&](int64_t) {
    std::string prefix = LoginName(static_cast<int64_t>(rng() % w.users)).substr(0, 6);
    auto page = w.directory->SearchUsers({prefix, ""}, Page{1, 20});
    benchmark::DoNotOptimize(page);
  });
}
BENCHMARK(BM_SearchUsersByPrefix);

void BM_UsersByOrgFirstPage(benchmark::State& state) {
  World& w = TheWorld();
  RunTimed(state, [&](int64_t i) {
    auto page = w.directory->UsersByOrg(Caller::Admin(), OrgCoding(i), Page{1, 20});
    benchmark::DoNotOptimize(page);
  });
}
BENCHMARK(BM_UsersByOrgFirstPage);

}  // namespace
}  // namespace tongban::directory
