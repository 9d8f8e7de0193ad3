// Horizontal rows (10 business columns) from an SQLite front-end node to a PostgreSQL node
// through the delivery engine, against a multi-row INSERT bulk load of the same rows into the
// same kind of table, in the same run (issue 16: >= 100,000 rows/s and >= 50% of the bulk
// load). PostgreSQL is a private server started by the bench (as the unit tests do), or
// TONGBAN_BENCH_PG (the url of an EMPTY PostgreSQL database, used for one run).
// TONGBAN_BENCH_ROWS rows (default 100000). TONGBAN_BENCH_PAIR picks the nodes: sqlite-pg
// (default), sqlite-sqlite or pg-pg. The fastest bulk load ("copy") is SqlStore::BulkInsert:
// COPY FROM STDIN into PostgreSQL, a natively stepped prepared INSERT into SQLite. Client CPU
// (getrusage of this process) per row is reported beside the rates.
//
//   ./exchange_rows_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../tests/unit/store_test_support.h"
#include "core/clock.h"
#include "core/random.h"
#include "crypto/secret_box.h"
#include "exchange/ddl.h"
#include "exchange/delivery.h"
#include "exchange/meta.h"
#include "exchange/runner.h"
#include "exchange/sql_util.h"
#include "store/sql_store.h"

namespace tongban::exchange {
namespace {

int64_t RowCount() {
  const char* env = std::getenv("TONGBAN_BENCH_ROWS");
  return env != nullptr && *env != '\0' ? std::max<int64_t>(1000, std::atoll(env)) : 100'000;
}

// Rows per multi-row INSERT statement of the bulk load (TONGBAN_BENCH_BULK_ROWS, default 100:
// through SOCI larger statements were slower on the same run, 1000 rows at a third of the rate).
size_t BulkRows() {
  const char* env = std::getenv("TONGBAN_BENCH_BULK_ROWS");
  return env != nullptr && *env != '\0' ? std::max<size_t>(1, std::atoll(env)) : 100;
}

// Rows per delivery batch (TONGBAN_BENCH_BATCH, default 5000).
int BatchSize() {
  const char* env = std::getenv("TONGBAN_BENCH_BATCH");
  return env != nullptr && *env != '\0' ? std::max(1, std::atoi(env)) : 5000;
}

std::vector<Field> TenFields() {
  std::vector<Field> f;
  f.push_back({"k", "key", FieldType::kString, 20, 0, true, true});
  for (int i = 1; i <= 4; ++i) f.push_back({"s" + std::to_string(i), "s", FieldType::kString, 40});
  for (int i = 1; i <= 3; ++i) f.push_back({"n" + std::to_string(i), "n", FieldType::kInt});
  f.push_back({"amount", "a", FieldType::kDecimal, 12, 2});
  f.push_back({"day", "d", FieldType::kDate});
  return f;
}

// This process's CPU seconds (user + system).
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of the calling thread alone. RunTask's own thread is the critical path: since
// session 9 the next batch's provider read runs on another thread during the apply, so on idle
// cores the wall time per batch is this thread's CPU + the server's, not the process's.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU seconds (user + system) of a PostgreSQL server: its postmaster and every child (the
// backends, WAL writer, checkpointer, ...), from /proc; 0 without a postmaster pid.
double ServerCpuSeconds(pid_t postmaster) {
  if (postmaster <= 0) return 0;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string state;
    long long ppid = 0, skip = 0, utime = 0, stime = 0;
    fields >> state >> ppid;
    for (int i = 0; i < 9; ++i) fields >> skip;  // pgrp … cmajflt
    fields >> utime >> stime;
    if (pid == postmaster || ppid == postmaster) total += static_cast<double>(utime + stime) / tick;
  }
  closedir(proc);
  return total;
}

// Seconds the process `pid` (its main thread; 0 = this one) and, with `children`, every child
// of it has waited for a CPU while runnable (/proc/<pid>/schedstat, field 2): on a loaded
// machine, how much of a phase's wall time is queueing rather than work.
double RunQueueSeconds(pid_t pid, bool children) {
  auto wait_of = [](const std::string& id) {
    std::ifstream in("/proc/" + id + "/schedstat");
    long long on_cpu = 0, waited = 0;
    in >> on_cpu >> waited;
    return static_cast<double>(waited) / 1e9;
  };
  if (pid == 0) return wait_of("self");
  double total = wait_of(std::to_string(pid));
  if (!children) return total;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return total;
  while (dirent* e = readdir(proc)) {
    if (std::atol(e->d_name) <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string state;
    long long ppid = 0;
    fields >> state >> ppid;
    if (ppid == pid) total += wait_of(e->d_name);
  }
  closedir(proc);
  return total;
}

// The postmaster's pid of the server behind `store` (its data directory's postmaster.pid).
pid_t PostmasterOf(SqlStore& store) {
  std::string dir;
  Status s = store.WithSession([&](soci::session& sql) -> Status {
    sql << "SHOW data_directory", soci::into(dir);
    return Status::Ok();
  });
  if (!s.ok()) return 0;
  std::ifstream in(dir + "/postmaster.pid");
  long long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

std::string Pair() {
  const char* env = std::getenv("TONGBAN_BENCH_PAIR");
  return env != nullptr && *env != '\0' ? env : "sqlite-pg";
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().message.c_str());
    std::abort();
  }
  return std::move(r).value();
}

void MustOk(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.error().message.c_str());
    std::abort();
  }
}

void BM_ExchangeVsBulkLoad(benchmark::State& state) {
  store_test::TempDir dir;
  std::string why;
  const std::string pair = Pair();
  const bool pg_source = pair == "pg-pg";
  const bool pg_target = pair != "sqlite-sqlite";
  const char* given = pg_target ? std::getenv("TONGBAN_BENCH_PG") : nullptr;
  store_test::PrivatePostgres* pg = nullptr;
  if (given == nullptr && (pg_source || pg_target)) {
    pg = store_test::SharedPostgres(&why);
    if (pg == nullptr) {
      state.SkipWithError(why.c_str());
      return;
    }
  }
  const int64_t n = RowCount();
  FakeClock clock;
  auto tongban = Must(SqlStore::Open("sqlite://" + dir.File("tongban.db"), 2), "tongban db");
  MustOk(tongban->Migrate(ExchangeMeta::Migrations()), "migrate");
  auto box =
      Must(crypto::SecretBox::Create(std::string(32, 'k'), OpenSslRandom::Instance()), "box");
  ExchangeMeta meta(*tongban, clock, box);
  NodePool nodes(meta);
  DeliveryEngine engine(meta, nodes, clock);

  Node provider_node;
  provider_node.division = "330100";
  provider_node.dept_code = "91350100M000100Y43";
  provider_node.dept_name = "provider";
  provider_node.url =
      pg_source ? pg->NewDatabaseUrl(&why) : "sqlite://" + dir.File("provider.db");
  provider_node = Must(meta.CreateNode(provider_node), "provider node");
  Resource provider;
  provider.code = "rows10";
  provider.name = "rows";
  provider.node_id = provider_node.id;
  provider.fields = TenFields();
  provider = Must(meta.CreateResource(provider), "provider resource");
  SqlStore& source = *Must(nodes.Get(provider_node.id), "provider store");
  MustOk(CreateTable(source, provider), "provider table");
  MustOk(source.WithTransaction([&](soci::session& sql) -> Status {
    soci::statement st = (sql.prepare << "INSERT INTO rows10 (k, s1, s2, s3, s4, n1, n2, "
                                         "n3, amount, day, tongid) VALUES (:k, 'alpha "
                                         "beta gamma', 'delta epsilon', '浙江省杭州市', "
                                         "'zeta', :n1, :n2, 7, 1234.56, '2024-05-06', :t)");
    std::string k, t;
    long long n1 = 0, n2 = 0;
    st.exchange(soci::use(k));
    st.exchange(soci::use(n1));
    st.exchange(soci::use(n2));
    st.exchange(soci::use(t));
    st.define_and_bind();
    for (int64_t i = 0; i < n; ++i) {
      k = "K" + std::to_string(i);
      t = "T" + std::to_string(i);
      n1 = i;
      n2 = i * 3;
      st.execute(true);
    }
    return Status::Ok();
  }),
         "provider rows");

  int run = 0;
  for (auto _ : state) {
    ++run;
    std::string url = given != nullptr ? std::string(given)
                      : pg_target    ? pg->NewDatabaseUrl(&why)
                                     : "sqlite://" + dir.File("target" + std::to_string(run) + ".db");
    Node target_node;
    target_node.division = "3302" + std::to_string(10 + run);
    target_node.dept_code = "91350100M000100Y43";
    target_node.dept_name = "target";
    target_node.url = url;
    target_node = Must(meta.CreateNode(target_node), "target node");
    Resource target = provider;
    target.node_id = target_node.id;
    target = Must(meta.CreateResource(target), "target resource");
    SqlStore& dest = *Must(nodes.Get(target_node.id), "target store");
    MustOk(CreateTable(dest, target), "target table");
    Resource bulk = target;
    bulk.code = "rows10_bulk";
    MustOk(CreateTable(dest, bulk), "bulk table");

    Task task;
    task.code = "bench" + std::to_string(run);
    task.name = "bench";
    task.provider_resource_id = provider.id;
    task.subscribers = {{0, target.id, {}}};
    task.batch_size = BatchSize();
    task = Must(meta.CreateTask(task), "task");
    auto order = Must(meta.CreateWorkOrder(task.id, {}, "bench"), "order");
    MustOk(meta.SubmitWorkOrder(order.id), "submit");
    MustOk(meta.DecideWorkOrder(order.id, true, "bench", ""), "approve");

    const pid_t postmaster = pg_target ? PostmasterOf(dest) : 0;
    const double s0 = ServerCpuSeconds(postmaster);
    const double q0 = RunQueueSeconds(0, false), sq0 = pg_target ? RunQueueSeconds(postmaster, true) : 0;
    const double c0 = CpuSeconds();
    const double m0 = ThreadCpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    auto batches = Must(engine.RunTask(task.id, 1'000'000), "run");
    const double exchange_main_cpu = ThreadCpuSeconds() - m0;
    double exchange_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double exchange_cpu = CpuSeconds() - c0;
    const double exchange_server_cpu = ServerCpuSeconds(postmaster) - s0;
    const double exchange_runq = RunQueueSeconds(0, false) - q0;
    const double exchange_server_runq = pg_target ? RunQueueSeconds(postmaster, true) - sq0 : 0;
    int64_t applied = 0;
    for (const BatchReport& b : batches) applied += b.applied;
    if (applied != n) {
      state.SkipWithError("not every row was applied");
      return;
    }

    // The same rows read back from the provider, then loaded with multi-row INSERTs
    // (1000 rows a statement, one transaction) into an identical table.
    int64_t next = 0;
    auto rows = Must(engine.Pull(provider.id, 0, static_cast<int>(n), &next), "read rows");
    const double c1 = CpuSeconds();
    auto t1 = std::chrono::steady_clock::now();
    MustOk(dest.WithTransaction([&](soci::session& sql) -> Status {
      const std::vector<Field> fields = TenFields();
      for (size_t start = 0; start < rows.size(); start += BulkRows()) {
        size_t count = std::min<size_t>(BulkRows(), rows.size() - start);
        std::vector<std::string> values;
        std::vector<soci::indicator> inds;
        values.reserve(count * 13);
        std::string text =
            "INSERT INTO rows10_bulk (k, s1, s2, s3, s4, n1, n2, n3, amount, "
            "day, tongid, sync_status, dataversion) VALUES ";
        for (size_t r = 0; r < count; ++r) {
          const Record& rec = rows[start + r];
          text += r ? ", (" : "(";
          for (size_t c = 0; c < 13; ++c) {
            text += (c ? ", :p" : ":p") + std::to_string(values.size() + c);
          }
          text += ")";
          for (const Field& f : fields) values.push_back(*rec.values.at(f.code));
          values.push_back(rec.tongid);
          values.push_back(std::string(1, rec.sync_status));
          values.push_back(std::to_string(rec.dataversion));
        }
        inds.assign(values.size(), soci::i_ok);
        soci::statement st(sql);
        st.alloc();
        st.prepare(text);
        for (size_t i = 0; i < values.size(); ++i) st.exchange(soci::use(values[i], inds[i]));
        st.define_and_bind();
        st.execute(true);
      }
      return Status::Ok();
    }),
           "bulk load");
    double bulk_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const double bulk_cpu = CpuSeconds() - c1;

    // And with the fastest load the store has (COPY / a native prepared INSERT) into a third.
    Resource copied = target;
    copied.code = "rows10_copy";
    MustOk(CreateTable(dest, copied), "copy table");
    const std::vector<std::string> copy_columns = {"k",  "s1",     "s2",  "s3",     "s4",
                                                   "n1", "n2",     "n3",  "amount", "day",
                                                   "tongid", "sync_status", "dataversion"};
    std::vector<std::vector<std::string>> copy_rows;
    copy_rows.reserve(rows.size());
    for (const Record& rec : rows) {
      std::vector<std::string> row;
      for (const Field& f : TenFields()) row.push_back(*rec.values.at(f.code));
      row.push_back(rec.tongid);
      row.push_back(std::string(1, rec.sync_status));
      row.push_back(std::to_string(rec.dataversion));
      copy_rows.push_back(std::move(row));
    }
    const double s2 = ServerCpuSeconds(postmaster);
    const double c2 = CpuSeconds();
    auto t2 = std::chrono::steady_clock::now();
    MustOk(dest.WithTransaction([&](soci::session& sql) -> Status {
      dest.BulkInsert(sql, "rows10_copy", copy_columns, copy_rows);
      return Status::Ok();
    }),
           "copy load");
    const double copy_cpu = CpuSeconds() - c2;
    double copy_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
    const double copy_server_cpu = ServerCpuSeconds(postmaster) - s2;

    // The strictest baseline: the same load into a table without the capture trigger (what a
    // bulk load costs when nothing numbers the rows).
    Resource plain = target;
    plain.code = "rows10_plain";
    MustOk(CreateTable(dest, plain), "plain table");
    MustOk(dest.WithTransaction([&](soci::session& sql) -> Status {
      if (pg_target) {
        sql << "DROP TRIGGER rows10_plain_tong ON rows10_plain";
      } else {
        sql << "DROP TRIGGER rows10_plain_tong_ins";
        sql << "DROP TRIGGER rows10_plain_tong_upd";
      }
      return Status::Ok();
    }),
           "plain table trigger");
    auto t3 = std::chrono::steady_clock::now();
    MustOk(dest.WithTransaction([&](soci::session& sql) -> Status {
      dest.BulkInsert(sql, "rows10_plain", copy_columns, copy_rows);
      return Status::Ok();
    }),
           "plain copy load");
    double plain_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t3).count();
    state.counters["copy_plain_rows_per_s"] = n / plain_s;
    state.counters["ratio_copy_plain"] = plain_s / exchange_s;
    state.counters["exchange_server_cpu_us_row"] = exchange_server_cpu * 1e6 / n;
    state.counters["exchange_wall_us_row"] = exchange_s * 1e6 / n;
    state.counters["exchange_runq_us_row"] = exchange_runq * 1e6 / n;
    state.counters["exchange_server_runq_us_row"] = exchange_server_runq * 1e6 / n;
    state.counters["copy_server_cpu_us_row"] = copy_server_cpu * 1e6 / n;
    state.counters["rows"] = static_cast<double>(n);
    state.counters["exchange_rows_per_s"] = n / exchange_s;
    state.counters["bulk_rows_per_s"] = n / bulk_s;
    state.counters["copy_rows_per_s"] = n / copy_s;
    state.counters["ratio"] = bulk_s / exchange_s;
    state.counters["ratio_copy"] = copy_s / exchange_s;
    state.counters["exchange_cpu_us_row"] = exchange_cpu * 1e6 / n;
    state.counters["exchange_main_thread_cpu_us_row"] = exchange_main_cpu * 1e6 / n;
    state.counters["bulk_cpu_us_row"] = bulk_cpu * 1e6 / n;
    state.counters["copy_cpu_us_row"] = copy_cpu * 1e6 / n;
    // TONGBAN_BENCH_PG: one empty database, so one run (the benchmark runs one iteration; a
    // `break` here made google-benchmark abort: "returned before KeepRunning() returned false").
  }
}
BENCHMARK(BM_ExchangeVsBulkLoad)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// End-to-end lag at a 1 s poll: the runner thread (real clock) delivers from an SQLite node to
// PostgreSQL while rows are committed on the provider one every 20 ms for TONGBAN_BENCH_LAG_S
// seconds (default 20). A row's lag = the subscriber's tong_time (set when the exchange applied
// it) - the provider's create_time (stamped by its capture trigger at insert), both from this
// machine's clock; p50 / p99 / max over all rows.
void BM_Lag(benchmark::State& state) {
  store_test::TempDir dir;
  std::string why;
  store_test::PrivatePostgres* pg = store_test::SharedPostgres(&why);
  if (pg == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  const char* env = std::getenv("TONGBAN_BENCH_LAG_S");
  const int seconds = env != nullptr && *env != '\0' ? std::max(2, std::atoi(env)) : 20;
  Clock& clock = SystemClock::Instance();
  auto tongban = Must(SqlStore::Open("sqlite://" + dir.File("tongban.db"), 2), "tongban db");
  MustOk(tongban->Migrate(ExchangeMeta::Migrations()), "migrate");
  auto box =
      Must(crypto::SecretBox::Create(std::string(32, 'k'), OpenSslRandom::Instance()), "box");
  ExchangeMeta meta(*tongban, clock, box);
  NodePool nodes(meta);
  DeliveryEngine engine(meta, nodes, clock);
  auto node = [&](const std::string& division, const std::string& url) {
    Node n;
    n.division = division;
    n.dept_code = "91350100M000100Y43";
    n.dept_name = division;
    n.url = url;
    return Must(meta.CreateNode(n), "node");
  };
  Node a = node("330100", "sqlite://" + dir.File("provider.db"));
  Node b = node("330200", pg->NewDatabaseUrl(&why));
  Resource p;
  p.code = "rows10";
  p.name = "rows";
  p.node_id = a.id;
  p.fields = TenFields();
  p = Must(meta.CreateResource(p), "provider");
  Resource s = p;
  s.node_id = b.id;
  s = Must(meta.CreateResource(s), "subscriber");
  SqlStore& source = *Must(nodes.Get(a.id), "provider store");
  SqlStore& dest = *Must(nodes.Get(b.id), "subscriber store");
  MustOk(CreateTable(source, p), "provider table");
  MustOk(CreateTable(dest, s), "subscriber table");
  Task task;
  task.code = "lag";
  task.name = "lag";
  task.provider_resource_id = p.id;
  task.subscribers = {{0, s.id, {}}};
  task.poll_seconds = 1;
  task = Must(meta.CreateTask(task), "task");
  auto order = Must(meta.CreateWorkOrder(task.id, {}, "bench"), "order");
  MustOk(meta.SubmitWorkOrder(order.id), "submit");
  MustOk(meta.DecideWorkOrder(order.id, true, "bench", ""), "approve");
  LeaseStore leases(*tongban, clock, "bench", std::chrono::seconds(30));
  ExchangeRunner runner(meta, engine, leases, clock);

  for (auto _ : state) {
    runner.Start();
    int64_t rows = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      MustOk(source.WithTransaction([&](soci::session& sql) -> Status {
        std::string k = "K" + std::to_string(rows), t = "T" + std::to_string(rows);
        sql << "INSERT INTO rows10 (k, s1, n1, amount, day, tongid) VALUES (:k, 'x', 1, 1.5, "
               "'2024-05-06', :t)",
            soci::use(k), soci::use(t);
        return Status::Ok();
      }),
             "insert");
      ++rows;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the load's pace
    }
    // Wait (bounded) for the last rows, then read every row's lag.
    long long arrived = 0;
    for (int i = 0; i < 200 && arrived < rows; ++i) {
      MustOk(dest.WithSession([&](soci::session& sql) -> Status {
        sql << "SELECT COUNT(*) FROM rows10", soci::into(arrived);
        return Status::Ok();
      }),
             "count");
      if (arrived < rows) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    runner.Stop();
    std::map<std::string, long long> created;
    MustOk(source.WithSession([&](soci::session& sql) -> Status {
      soci::rowset<soci::row> rs = sql.prepare << "SELECT tongid, create_time FROM rows10";
      for (const soci::row& r : rs) created[r.get<std::string>(0)] = sql_util::I64(r, "create_time");
      return Status::Ok();
    }),
           "provider times");
    std::vector<long long> lags;
    MustOk(dest.WithSession([&](soci::session& sql) -> Status {
      soci::rowset<soci::row> rs = sql.prepare << "SELECT tongid, tong_time FROM rows10";
      for (const soci::row& r : rs) {
        lags.push_back(sql_util::I64(r, "tong_time") - created[r.get<std::string>(0)]);
      }
      return Status::Ok();
    }),
           "subscriber times");
    std::sort(lags.begin(), lags.end());
    auto at = [&](double q) {
      return lags.empty() ? -1.0
                          : static_cast<double>(lags[std::min(lags.size() - 1,
                                                              static_cast<size_t>(q * lags.size()))]);
    };
    state.counters["rows"] = static_cast<double>(rows);
    state.counters["arrived"] = static_cast<double>(lags.size());
    state.counters["lag_p50_ms"] = at(0.50);
    state.counters["lag_p99_ms"] = at(0.99);
    state.counters["lag_max_ms"] = lags.empty() ? -1.0 : static_cast<double>(lags.back());
  }
}
BENCHMARK(BM_Lag)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tongban::exchange
