// Leases and the runner thread (see runner.h).
#include "exchange/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/background.h"
#include "exchange/cron.h"

namespace tongban::exchange {

LeaseStore::LeaseStore(SqlStore& store, Clock& clock, std::string holder,
                       std::chrono::milliseconds ttl)
    : store_(store), clock_(clock), holder_(std::move(holder)), ttl_(ttl) {}

Result<bool> LeaseStore::TakeOrRenew(int64_t task_id) {
  auto held = store_.WithTransaction([&](soci::session& sql) -> Result<bool> {
    long long t = task_id, now = clock_.NowMillis(), until = now + ttl_.count();
    soci::statement st =
        (sql.prepare << "UPDATE exchange_leases SET holder = :h, until_ms = :u "
                        "WHERE task_id = :t AND (holder = :h2 OR until_ms < :n)",
         soci::use(holder_), soci::use(until), soci::use(t), soci::use(holder_), soci::use(now));
    st.execute(true);
    if (st.get_affected_rows() == 1) return true;
    int count = 0;
    sql << "SELECT COUNT(*) FROM exchange_leases WHERE task_id = :t", soci::use(t),
        soci::into(count);
    if (count > 0) return false;  // another holder's lease is running
    sql << "INSERT INTO exchange_leases (task_id, holder, until_ms) VALUES (:t, :h, :u)",
        soci::use(t), soci::use(holder_), soci::use(until);
    return true;
  });
  // Two nodes inserting the first lease at once: the loser sees a unique violation.
  if (!held.ok() && held.error().code == errc::kConflict) return false;
  return held;
}

Status LeaseStore::Release(int64_t task_id) {
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long t = task_id;
    sql << "UPDATE exchange_leases SET until_ms = 0 WHERE task_id = :t AND holder = :h",
        soci::use(t), soci::use(holder_);
    return Status::Ok();
  });
}

// ---- TicketLeaseStore ----

namespace {
std::string LeaseKey(int64_t task_id) { return "exchange:lease:" + std::to_string(task_id); }
}  // namespace

TicketLeaseStore::TicketLeaseStore(TicketStore& tickets, std::string holder,
                                   std::chrono::milliseconds ttl)
    : tickets_(tickets), holder_(std::move(holder)), ttl_(ttl) {}

Result<bool> TicketLeaseStore::TakeOrRenew(int64_t task_id) {
  const std::string key = LeaseKey(task_id);
  auto taken = tickets_.PutIfAbsent(key, holder_, ttl_);
  if (!taken.ok()) return taken.error();
  if (*taken) return true;
  auto current = tickets_.Get(key);
  if (!current.ok()) {
    if (current.error().code != errc::kNotFound) return current.error();
    // Expired between the two calls: try once more to take it.
    return tickets_.PutIfAbsent(key, holder_, ttl_);
  }
  if (*current != holder_) return false;
  Status renewed = tickets_.Touch(key, ttl_);
  if (!renewed.ok()) {
    if (renewed.error().code == errc::kNotFound) return false;  // it lapsed meanwhile
    return renewed.error();
  }
  return true;
}

Status TicketLeaseStore::Release(int64_t task_id) {
  const std::string key = LeaseKey(task_id);
  auto current = tickets_.Get(key);
  if (!current.ok()) {
    return current.error().code == errc::kNotFound ? Status::Ok() : Status(current.error());
  }
  if (*current != holder_) return Status::Ok();
  return tickets_.Erase(key);
}

// ---- ExchangeRunner ----

ExchangeRunner::ExchangeRunner(ExchangeMeta& meta, DeliveryEngine& engine, Leases& leases,
                               Clock& clock, Options options)
    : meta_(meta), engine_(engine), leases_(leases), clock_(clock), options_(options) {}

ExchangeRunner::~ExchangeRunner() { Stop(); }

void ExchangeRunner::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ExchangeRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExchangeRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

int64_t ExchangeRunner::passes() {
  std::lock_guard lock(mu_);
  return passes_;
}

bool ExchangeRunner::WaitForPasses(int64_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return passes_ >= n; });
}

ExchangeRunner::PassReport ExchangeRunner::RunPass(bool all_due) {
  std::lock_guard pass(pass_mu_);
  PassReport report;
  auto tasks = meta_.ListTasks();
  if (!tasks.ok()) {
    spdlog::warn("exchange: cannot list tasks: {}", tasks.error().message);
    ++report.errors;
    return report;
  }
  for (const Task& task : *tasks) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    const int64_t now = clock_.NowMillis();
    if (!task.Runnable(now)) continue;
    // A cron task first waits for its next matching minute (and again when its cron changes).
    if (!task.cron.empty() && cron_seen_[task.id] != task.cron) {
      cron_seen_[task.id] = task.cron;
      next_due_ms_[task.id] = NextDue(task, now);
    } else if (task.cron.empty() && cron_seen_.erase(task.id) != 0) {
      next_due_ms_[task.id] = now;
    }
    if (!all_due && next_due_ms_[task.id] > now) continue;
    auto held = leases_.TakeOrRenew(task.id);
    if (!held.ok()) {
      spdlog::warn("exchange: lease of task {}: {}", task.code, held.error().message);
      ++report.errors;
      continue;
    }
    if (!*held) {
      ++report.tasks_elsewhere;
      next_due_ms_[task.id] = NextDue(task, now);
      continue;
    }
    ++report.tasks_run;
    int64_t renewed_ms = now;
    const int64_t renew_every = std::max<int64_t>(1, leases_.ttl().count() / 3);
    auto keep_going = [&]() {
      {
        std::lock_guard lock(mu_);
        if (stop_) return false;
      }
      int64_t t = clock_.NowMillis();
      if (t - renewed_ms < renew_every) return true;
      auto still = leases_.TakeOrRenew(task.id);
      renewed_ms = t;
      return still.ok() && *still;
    };
    auto batches = engine_.RunTask(task.id, options_.max_batches_per_turn, keep_going);
    if (!batches.ok()) {
      ++report.errors;
      spdlog::warn("exchange: task {}: {}", task.code, batches.error().message);
    } else {
      for (const BatchReport& b : *batches) report.rows_applied += b.applied;
    }
    bool more = batches.ok() && !batches->empty() && batches->back().more;
    next_due_ms_[task.id] = more ? now : NextDue(task, clock_.NowMillis());
  }
  for (const auto& [task, due] : next_due_ms_)
    report.next_due_ms = std::min(report.next_due_ms, due);
  return report;
}

int64_t ExchangeRunner::NextDue(const Task& task, int64_t now) {
  if (task.cron.empty()) return now + task.poll_seconds * 1000LL;
  auto schedule = CronSchedule::Parse(task.cron);  // checked when the task was stored
  const int64_t next = schedule.ok() ? schedule->Next(now) : -1;
  return next < 0 ? std::numeric_limits<int64_t>::max() : next;
}

void ExchangeRunner::Loop() {
  while (true) {
    PassReport pass;
    if (!RunGuardedPass("exchange runner", [&] { pass = RunPass(); })) pass.errors = 1;
    std::unique_lock lock(mu_);
    ++passes_;
    cv_.notify_all();
    if (stop_) break;
    // Sleep until the earliest task is due (Clock time mapped onto the steady clock), a
    // Wake, or Stop.
    int64_t now = clock_.NowMillis();
    int64_t wait_ms = options_.idle_wait.count();
    wait_ms = std::min(wait_ms, std::max<int64_t>(0, pass.next_due_ms - now));
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stop_ || wake_; });
    wake_ = false;
    if (stop_) break;
  }
}

}  // namespace tongban::exchange
