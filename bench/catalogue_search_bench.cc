// The catalogue's two speed figures without HTTP, on SQLite in a temp dir:
//  - Chinese full-text search (bigram terms in FTS5) with
//    CATALOGUE_BENCH_RESOURCES published resources (default 100,000), per-call
//    p50/p99 over a mix of common and rare words, next to the same run's
//    baseline: one resource read by primary key (GetPublished);
//  - a base-resource lookup by ID number with CATALOGUE_BENCH_PERSONS persons
//    (default 1,000,000; the figure is at 10,000,000),
//    through the grant check, field projection, masking and the audit row
//    (BaseResources::Lookup), next to the bare indexed SELECT of the same row,
//    from one thread and from four (whose audit rows share group commits).
// Everything is built once per process (the first benchmark pays for it), or
// once per CATALOGUE_BENCH_DIR: a directory named there keeps the database
// between runs (10M persons take minutes to load; delete it when done).
// CATALOGUE_BENCH_DB=postgresql://… runs on an empty database of that backend.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "catalogue/audit.h"
#include "catalogue/base.h"
#include "catalogue/resources.h"
#include "catalogue/sharing.h"
#include "core/clock.h"

namespace tongban::catalogue {
namespace {

int64_t EnvOr(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoll(v) : fallback;
}

const std::vector<std::string> kPlaces = {"全市", "朝阳区", "海淀区", "东城区", "西城区", "丰台区",
                                          "通州区", "昌平区", "大兴区", "顺义区", "房山区", "门头沟区"};
const std::vector<std::string> kTopics = {
    "户籍", "婚姻", "社保", "医保", "教育", "就业", "住房", "公积金", "税务", "交通", "环保",
    "水务", "农业", "林业", "文化", "旅游", "卫生", "养老", "救助", "残疾人", "退役军人",
    "市场监管", "食品安全", "药品", "安全生产", "应急", "消防", "气象", "地震", "规划", "土地",
    "建设", "城管", "园林", "体育", "科技", "统计", "审计", "信访", "司法", "公安", "民政",
    "财政", "人社", "商务", "发改", "经信", "网信", "档案", "地名"};
const std::vector<std::string> kObjects = {
    "登记", "许可", "备案", "核验", "名录", "台账", "统计", "监测", "检查", "处罚", "补贴",
    "证照", "档案", "申报", "审批", "年检", "评估", "预警", "事件", "设施"};
const std::vector<std::string> kKinds = {"信息", "数据", "目录", "清单", "明细", "汇总"};

std::string TempDir() {
  std::string dir = std::filesystem::temp_directory_path() / "tongban-catalogue-bench-XXXXXX";
  return mkdtemp(dir.data());
}

// Distinct for every n below 60 × 12 × 28 × 1000 = 20,160,000 (a mixed-radix
// spelling of n), so a key can be drawn as IdNumber(random n) without a list.
std::string IdNumber(int64_t n) {
  // 110105 + birth 19500101..(n spread) + sequence, with the GB 11643 check.
  static constexpr int kW[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int year = 1950 + static_cast<int>(n % 60);
  int month = 1 + static_cast<int>((n / 60) % 12);
  int day = 1 + static_cast<int>((n / 720) % 28);
  int seq = static_cast<int>((n / 20160) % 1000);
  char body[32];
  std::snprintf(body, sizeof body, "110105%04d%02d%02d%03d", year, month, day, seq);
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kW[i];
  return std::string(body, 17) + "10X98765432"[sum % 11];
}

struct World {
  World() {
    const char* keep = std::getenv("CATALOGUE_BENCH_DIR");
    kept = keep != nullptr && *keep != '\0';
    dir = kept ? std::string(keep) : TempDir();
    std::filesystem::create_directories(dir);
    const bool reuse = kept && std::filesystem::exists(dir + "/loaded");
    // CATALOGUE_BENCH_DB: an empty database of another backend
    // ("postgresql://…"), loaded afresh on every run.
    const char* other = std::getenv("CATALOGUE_BENCH_DB");
    const std::string url =
        other != nullptr && *other != '\0' ? std::string(other) : "sqlite://" + dir + "/c.db";
    auto opened = SqlStore::Open(url, 8);
    if (!opened.ok()) std::abort();
    sql = std::move(*opened);
    auto migrations = ResourceStore::Migrations();
    for (auto& m : SharingStore::Migrations()) migrations.push_back(m);
    for (auto& m : BaseResources::Migrations()) migrations.push_back(m);
    if (!sql->Migrate(migrations).ok()) std::abort();
    resources = std::make_unique<ResourceStore>(*sql, clock);
    sharing = std::make_unique<SharingStore>(*sql, clock, *resources);
    base = std::make_unique<BaseResources>(*sql, clock, *sharing, "bench-key");
    persons = EnvOr("CATALOGUE_BENCH_PERSONS", 1'000'000);
    if (reuse) {
      Status read = sql->WithSession([&](soci::session& s) -> Status {
        soci::rowset<long long> rows =
            (s.prepare << "SELECT id FROM catalogue_resources WHERE state = 'published' AND "
                          "base_kind = '' ORDER BY id");
        for (long long id : rows) ids.push_back(id);
        long long p = 0;
        s << "SELECT COUNT(*) FROM catalogue_base_persons", soci::into(p);
        persons = p;
        return Status::Ok();
      });
      if (!read.ok() || ids.empty() || persons == 0) std::abort();
      return;
    }
    Actor admin{"bench", "admin", "001"};
    for (const char* c : {"1", "2", "3"}) (void)resources->PutClassification({c, "类", "", 0}, admin);
    for (const char* c : {"101", "201", "301"}) (void)resources->PutClassification({c, "项", "", 0}, admin);
    for (const char* c : {"101001", "201001", "301001"}) {
      (void)resources->PutClassification({c, "目", "", 0}, admin);
    }

    const int64_t n = EnvOr("CATALOGUE_BENCH_RESOURCES", 100'000);
    std::mt19937_64 rng(17);
    auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
      Resource r;
      r.classification = i % 3 == 0 ? "101001" : i % 3 == 1 ? "201001" : "301001";
      r.name = pick(kPlaces) + pick(kTopics) + pick(kObjects) + pick(kKinds);
      r.provider_org = "001" + std::to_string(100 + i % 40);
      r.provider_name = "演示市" + pick(kTopics) + "局";
      r.provider_code = "113301000024991243";
      r.abstract_text = "本资源汇集" + pick(kPlaces) + pick(kTopics) + pick(kObjects) + "的" +
                        pick(kKinds) + "，包括" + pick(kTopics) + pick(kObjects) + "和" +
                        pick(kTopics) + pick(kObjects) + "，按" + pick(kPlaces) + "统计。";
      r.format = "数据库";
      r.items = {{"name", pick(kTopics) + "名称", "C"}, {"date", pick(kObjects) + "日期", "D"}};
      r.update_cycle = "每月";
      auto created = resources->Create(std::move(r), admin);
      if (!created.ok()) std::abort();
      if (!resources->Publish(created->id, admin).ok()) std::abort();
      ids.push_back(created->id);
    }
    load_resources_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // Persons in key order (year, month, day, sequence: the string order of
    // IdNumber's digits), 200,000 to a transaction, through BulkInsert — what
    // an exchange task's delivery does; BaseResources::Put's upsert is for
    // small sets.
    start = std::chrono::steady_clock::now();
    std::vector<std::string> columns;
    for (const BaseField& f : BaseFields(BaseKind::kPerson)) columns.push_back(f.code);
    std::vector<std::vector<std::string>> batch;
    auto flush = [&] {
      if (batch.empty()) return;
      Status st = sql->WithTransaction([&](soci::session& s) -> Status {
        sql->BulkInsert(s, "catalogue_base_persons", columns, batch);
        return Status::Ok();
      });
      if (!st.ok()) std::abort();
      batch.clear();
    };
    for (int64_t seq = 0; seq < 1000; ++seq) {
      for (int64_t day = 0; day < 28; ++day) {
        for (int64_t month = 0; month < 12; ++month) {
          for (int64_t year = 0; year < 60; ++year) {
            const int64_t i = year + 60 * (month + 12 * (day + 28 * seq));
            if (i >= persons) continue;
            batch.push_back({IdNumber(i), "姓名" + std::to_string(i), i % 2 ? "男" : "女",
                             "1980-01-01", "汉族", "演示市演示路 " + std::to_string(i) + " 号",
                             "13800138000", "110105"});
            if (batch.size() == 200'000) flush();
          }
        }
      }
    }
    flush();
    load_persons_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // A person resource and a grant to a system for three fields.
    Resource p;
    p.classification = "101001";
    p.name = "人口基础信息";
    p.provider_org = "001002";
    p.provider_name = "公安局";
    p.provider_code = "113301000024991243";
    p.abstract_text = "人口";
    p.format = "数据库";
    for (const BaseField& f : BaseFields(BaseKind::kPerson)) p.items.push_back({f.code, f.name, f.type});
    p.share_type = ShareType::kConditional;
    p.share_condition = "核验";
    p.update_cycle = "实时";
    p.base_kind = BaseKind::kPerson;
    auto created = resources->Create(p, admin);
    (void)resources->Publish(created->id, admin);
    Party user{{"u", "staff", "001003"}, {"001003"}, false, false};
    auto a = sharing->Apply(user, {created->id, "核验", "依据", {"name", "mobile", "address"}, "sys", 0},
                            "001003");
    Party provider{{"p", "staff", "001002"}, {"001002"}, false, true};
    (void)sharing->Decide(provider, a->id, {true, {}, false, 0, ""});
    if (kept) std::ofstream(dir + "/loaded") << "resources " << n << " persons " << persons << "\n";
  }
  ~World() {
    if (!kept) std::filesystem::remove_all(dir);
  }

  // A key of a loaded person, spread over the whole table.
  std::string Key(int64_t i) const {
    return IdNumber(static_cast<int64_t>((static_cast<uint64_t>(i) * 2654435761u) %
                                         static_cast<uint64_t>(persons)));
  }

  bool kept = false;
  int64_t persons = 0;
  std::string dir;
  SystemClock clock;
  std::unique_ptr<SqlStore> sql;
  std::unique_ptr<ResourceStore> resources;
  std::unique_ptr<SharingStore> sharing;
  std::unique_ptr<BaseResources> base;
  std::vector<int64_t> ids;
  double load_resources_s = 0, load_persons_s = 0;
};

World& TheWorld() {
  static World world;
  return world;
}

template <typename Op>
void RunTimed(benchmark::State& state, Op&& op) {
  std::vector<double> us, cpu_us;
  auto thread_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  };
  int64_t i = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    const int64_t cpu_start = thread_ns();
    op(i++);
    cpu_us.push_back(static_cast<double>(thread_ns() - cpu_start) / 1000.0);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  // This thread's CPU per call (no scheduler waits in it): what the code
  // itself needs at its tail, readable on a loaded machine.
  std::sort(cpu_us.begin(), cpu_us.end());
  state.counters["cpu_p99_us"] = benchmark::Counter(
      cpu_us[std::min(cpu_us.size() - 1, cpu_us.size() * 99 / 100)],
      benchmark::Counter::kAvgThreads);
  state.counters["cpu_max_us"] = benchmark::Counter(cpu_us.back(), benchmark::Counter::kAvgThreads);
  // Per thread; with several threads, the average of theirs.
  state.counters["p50_us"] = benchmark::Counter(us[us.size() / 2], benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(us[std::min(us.size() - 1, us.size() * 99 / 100)],
                                                benchmark::Counter::kAvgThreads);
}

void BM_Load(benchmark::State& state) {
  World& w = TheWorld();
  for (auto _ : state) benchmark::DoNotOptimize(w.ids.size());
  state.counters["resources"] = static_cast<double>(w.ids.size());
  state.counters["resources_load_s"] = w.load_resources_s;
  state.counters["persons"] = static_cast<double>(w.persons);
  state.counters["persons_load_s"] = w.load_persons_s;
}
BENCHMARK(BM_Load)->Iterations(1)->Unit(benchmark::kMillisecond);

// Baseline: one published resource by primary key.
void BM_ResourceById(benchmark::State& state) {
  World& w = TheWorld();
  RunTimed(state, [&](int64_t i) {
    auto r = w.resources->GetPublished(w.ids[static_cast<size_t>(i * 7919) % w.ids.size()]);
    benchmark::DoNotOptimize(r);
  });
}
BENCHMARK(BM_ResourceById);

// Control for the p99 rows on a shared machine: no database, just Arg(0) µs
// of this thread's CPU time spent in a loop (CLOCK_THREAD_CPUTIME_ID), timed
// by the wall clock like the rows above. Its p99 over its p50 is what the
// scheduler alone adds to an operation of that CPU cost in the same run
// (preemption by other processes); compare with BM_Search (~300 µs of CPU)
// and BM_PersonLookup (~90 µs).
void BM_CpuSpin(benchmark::State& state) {
  const int64_t want_ns = state.range(0) * 1000;
  auto thread_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  };
  RunTimed(state, [&](int64_t) {
    const int64_t until = thread_ns() + want_ns;
    while (thread_ns() < until) {
    }
  });
}
BENCHMARK(BM_CpuSpin)->Arg(30)->Arg(90)->Arg(300)->MeasureProcessCPUTime()->UseRealTime();

// A first page (20) of a search: common single words, two-word phrases,
// rare combinations, a classification filter.
void BM_Search(benchmark::State& state) {
  World& w = TheWorld();
  std::vector<SearchQuery> queries;
  for (const std::string& t : kTopics) {
    SearchQuery q;
    q.text = t;
    queries.push_back(q);
    q.text = t + kObjects[t.size() % kObjects.size()];
    queries.push_back(q);
    q.text = kPlaces[t.size() % kPlaces.size()] + " " + t + "信息";
    q.classification = "201";
    queries.push_back(q);
  }
  SearchQuery common;
  common.text = "信息";
  queries.push_back(common);
  int64_t found = 0;
  RunTimed(state, [&](int64_t i) {
    auto page = w.resources->Search(queries[static_cast<size_t>(i) % queries.size()]);
    found += page.ok() ? static_cast<int64_t>(page->items.size()) : -1000;
  });
  state.counters["avg_hits"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Search);

// Baseline: the bare indexed read of one person row.
void BM_PersonSelect(benchmark::State& state) {
  World& w = TheWorld();
  RunTimed(state, [&](int64_t i) {
    const std::string key = w.Key(i);
    auto name = w.sql->WithSession([&](soci::session& sql) -> Result<std::string> {
      std::string n;
      sql << "SELECT name FROM catalogue_base_persons WHERE id_number = :k", soci::use(key),
          soci::into(n);
      return n;
    });
    benchmark::DoNotOptimize(name);
  });
}
BENCHMARK(BM_PersonSelect)->MeasureProcessCPUTime()->UseRealTime();

// What-if for the store: every pooled session's PRAGMA mmap_size set to
// `bytes` (reads of the database file through a shared mapping instead of a
// pread into SQLite's page cache per miss; 0 = off, SQLite's default).
void SetMmap(SqlStore& store, int64_t bytes) {
  std::vector<SqlStore::Lease> all;
  for (int i = 0; i < 8; ++i) all.push_back(store.Acquire());  // the whole pool
  for (SqlStore::Lease& l : all) *l << "PRAGMA mmap_size = " + std::to_string(bytes);
}

// BM_PersonSelect with mmap_size = 4 GiB (more than the 10M-person file).
void BM_PersonSelectMmap(benchmark::State& state) {
  World& w = TheWorld();
  SetMmap(*w.sql, int64_t{4} << 30);
  RunTimed(state, [&](int64_t i) {
    const std::string key = w.Key(i);
    auto name = w.sql->WithSession([&](soci::session& sql) -> Result<std::string> {
      std::string n;
      sql << "SELECT name FROM catalogue_base_persons WHERE id_number = :k", soci::use(key),
          soci::into(n);
      return n;
    });
    benchmark::DoNotOptimize(name);
  });
  SetMmap(*w.sql, 0);
}
BENCHMARK(BM_PersonSelectMmap)->MeasureProcessCPUTime()->UseRealTime();

// The query service: live grant read, field check, the row, masking, the
// audit row committed. Threads(4): four callers at once, whose audit rows share
// group commits (rows_per_commit); CPU time is the whole process's.
void BM_PersonLookup(benchmark::State& state) {
  World& w = TheWorld();
  int64_t failures = 0;
  auto before = w.base->audit_counts();
  RunTimed(state, [&](int64_t i) {
    BaseQuery q;
    q.kind = BaseKind::kPerson;
    q.key = w.Key(i * 7 + state.thread_index() * 1'000'003);
    q.fields = {"name", "mobile"};
    q.app = "sys";
    q.actor = {"sys", "system", "001003"};
    auto a = w.base->Lookup(q);
    if (!a.ok()) ++failures;
  });
  state.counters["failures"] = benchmark::Counter(static_cast<double>(failures));
  if (state.thread_index() == 0) {
    auto after = w.base->audit_counts();
    const double commits = static_cast<double>(after.commits - before.commits);
    state.counters["rows_per_commit"] = benchmark::Counter(
        commits > 0 ? static_cast<double>(after.rows - before.rows) / commits : 0);
  }
}
BENCHMARK(BM_PersonLookup)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_PersonLookup)->Threads(4)->MeasureProcessCPUTime()->UseRealTime();

// The HTTP route's way (BaseResources::LookupThen), for a same-run A/B with
// BM_PersonLookup at the same thread count (the server's blocking pool: two
// threads on a 2-core machine): each thread keeps up to 32 lookups in flight
// (as connections would) instead of waiting for each one's audit commit, so
// rows queued during a commit share the next one. Latency is from the call to
// the callback (which runs after the row's commit).
void BM_PersonLookupThen(benchmark::State& state) {
  World& w = TheWorld();
  constexpr int kInFlight = 32;
  std::counting_semaphore<kInFlight> slots(kInFlight);
  std::mutex mu;
  std::vector<double> us;
  std::atomic<int64_t> failures{0};
  auto before = w.base->audit_counts();
  int64_t i = 0;
  for (auto _ : state) {
    slots.acquire();
    BaseQuery q;
    q.kind = BaseKind::kPerson;
    q.key = w.Key(i++ * 7 + state.thread_index() * 1'000'003);
    q.fields = {"name", "mobile"};
    q.app = "sys";
    q.actor = {"sys", "system", "001003"};
    auto start = std::chrono::steady_clock::now();
    w.base->LookupThen(q, [&, start](Result<BaseAnswer> a) {
      const double took =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count();
      if (!a.ok()) ++failures;
      {
        std::lock_guard lock(mu);
        us.push_back(took);
      }
      slots.release();
    });
  }
  for (int k = 0; k < kInFlight; ++k) slots.acquire();  // the last ones answered
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = benchmark::Counter(us[us.size() / 2], benchmark::Counter::kAvgThreads);
    state.counters["p99_us"] = benchmark::Counter(
        us[std::min(us.size() - 1, us.size() * 99 / 100)], benchmark::Counter::kAvgThreads);
  }
  state.counters["failures"] = benchmark::Counter(static_cast<double>(failures.load()));
  if (state.thread_index() == 0) {
    auto after = w.base->audit_counts();
    const double commits = static_cast<double>(after.commits - before.commits);
    state.counters["rows_per_commit"] = benchmark::Counter(
        commits > 0 ? static_cast<double>(after.rows - before.rows) / commits : 0);
  }
}
BENCHMARK(BM_PersonLookup)->Threads(2)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_PersonLookupThen)->Threads(2)->MeasureProcessCPUTime()->UseRealTime();

// BM_PersonLookup with mmap_size = 4 GiB on every pooled session (A/B with
// the row above in the same run).
void BM_PersonLookupMmap(benchmark::State& state) {
  World& w = TheWorld();
  if (state.thread_index() == 0) SetMmap(*w.sql, int64_t{4} << 30);
  int64_t failures = 0;
  RunTimed(state, [&](int64_t i) {
    BaseQuery q;
    q.kind = BaseKind::kPerson;
    q.key = w.Key(i * 7 + state.thread_index() * 1'000'003);
    q.fields = {"name", "mobile"};
    q.app = "sys";
    q.actor = {"sys", "system", "001003"};
    if (!w.base->Lookup(q).ok()) ++failures;
  });
  if (state.thread_index() == 0) SetMmap(*w.sql, 0);
  state.counters["failures"] = benchmark::Counter(static_cast<double>(failures));
}
BENCHMARK(BM_PersonLookupMmap)->MeasureProcessCPUTime()->UseRealTime();

// What-if for src/store (not applied there): the same lookups with SQLite's
// checkpoints taken off the query path — every pooled session's
// wal_autocheckpoint set to 0 for this row, a background thread running
// PRAGMA wal_checkpoint(PASSIVE) every 100 ms — for a same-run comparison with
// BM_PersonLookup. Durability is the same: a commit is in the WAL before
// COMMIT returns either way.
void SetAutocheckpoint(SqlStore& store, int pages) {
  std::vector<SqlStore::Lease> all;
  for (int i = 0; i < 8; ++i) all.push_back(store.Acquire());  // the whole pool
  for (SqlStore::Lease& l : all) *l << "PRAGMA wal_autocheckpoint = " + std::to_string(pages);
}

void BM_PersonLookupBackgroundCheckpoint(benchmark::State& state) {
  World& w = TheWorld();
  std::atomic<bool> stop{false};
  std::thread checkpointer;
  if (state.thread_index() == 0) {
    SetAutocheckpoint(*w.sql, 0);
    checkpointer = std::thread([&] {
      while (!stop.load()) {
        (void)w.sql->WithSession([](soci::session& sql) -> Status {
          sql << "PRAGMA wal_checkpoint(PASSIVE)";
          return Status::Ok();
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  int64_t failures = 0;
  RunTimed(state, [&](int64_t i) {
    BaseQuery q;
    q.kind = BaseKind::kPerson;
    q.key = w.Key(i * 7 + state.thread_index() * 1'000'003);
    q.fields = {"name", "mobile"};
    q.app = "sys";
    q.actor = {"sys", "system", "001003"};
    if (!w.base->Lookup(q).ok()) ++failures;
  });
  if (state.thread_index() == 0) {
    stop = true;
    checkpointer.join();
    SetAutocheckpoint(*w.sql, 10000);  // the store's own setting (sql_store.cc)
  }
  state.counters["failures"] = benchmark::Counter(static_cast<double>(failures));
}
BENCHMARK(BM_PersonLookupBackgroundCheckpoint)->MeasureProcessCPUTime()->UseRealTime();

// The audit write as it was before the group commit, for a same-run
// comparison: each row its own transaction (WriteAudit in WithTransaction).
void BM_AuditOwnTransaction(benchmark::State& state) {
  World& w = TheWorld();
  int64_t failures = 0;
  RunTimed(state, [&](int64_t i) {
    AuditEntry e;
    e.at_ms = w.clock.NowMillis();
    e.actor = "sys";
    e.actor_kind = "system";
    e.action = "bench.audit";
    e.subject = w.Key(i);
    e.outcome = "ok";
    Status st = w.sql->WithTransaction(
        [&](soci::session& sql) { return WriteAudit(sql, w.sql->dialect(), e); });
    if (!st.ok()) ++failures;
  });
  state.counters["failures"] = benchmark::Counter(static_cast<double>(failures));
}
BENCHMARK(BM_AuditOwnTransaction)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_AuditOwnTransaction)->Threads(4)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace
}  // namespace tongban::catalogue
