// Running the exchange on one or several tongban nodes. Leases: a lease per task, so each
// task runs on exactly one node at a time and moves to another node, from its high-water
// mark, when the holder stops renewing. LeaseStore keeps them in tongban's database
// (exchange_leases: task, holder, until; one conditional UPDATE); TicketLeaseStore in the
// ticket store (Redis when [storage] tickets is Redis), keys with a time to live. ExchangeRunner: the
// background thread src/app starts; it runs every approved, enabled task whose poll interval
// has passed or whose cron minute (cron.h) has come, renewing the lease between batches.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "exchange/delivery.h"
#include "exchange/meta.h"
#include "store/sql_store.h"
#include "store/ticket_store.h"

namespace tongban::exchange {

class Leases {
 public:
  virtual ~Leases() = default;
  // True when `holder` holds the task's lease now (taken because it was free or expired, or
  // renewed because it already held it) until now + ttl; false when another holder's lease
  // is still running.
  virtual Result<bool> TakeOrRenew(int64_t task_id) = 0;
  // Gives the lease up (on a clean stop), so another node need not wait for the expiry.
  virtual Status Release(int64_t task_id) = 0;
  virtual const std::string& holder() const = 0;
  virtual std::chrono::milliseconds ttl() const = 0;
};

class LeaseStore final : public Leases {
 public:
  LeaseStore(SqlStore& store, Clock& clock, std::string holder, std::chrono::milliseconds ttl);

  Result<bool> TakeOrRenew(int64_t task_id) override;
  Status Release(int64_t task_id) override;
  const std::string& holder() const override { return holder_; }
  std::chrono::milliseconds ttl() const override { return ttl_; }

 private:
  SqlStore& store_;
  Clock& clock_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
};

// Leases as ticket-store keys "exchange:lease:<task>" holding the holder's name with a time
// to live: taken with PutIfAbsent (SET NX PX on Redis), renewed by the holder with Touch,
// released with Erase. Renewal and release read the holder first: the ticket store has no
// compare-and-set, so a lease that expires between the read and the Touch may be extended
// for its new holder; two nodes then run one batch twice, which the idempotent apply makes
// harmless (the same window the database leases document for a lost renewal).
class TicketLeaseStore final : public Leases {
 public:
  TicketLeaseStore(TicketStore& tickets, std::string holder, std::chrono::milliseconds ttl);

  Result<bool> TakeOrRenew(int64_t task_id) override;
  Status Release(int64_t task_id) override;
  const std::string& holder() const override { return holder_; }
  std::chrono::milliseconds ttl() const override { return ttl_; }

 private:
  TicketStore& tickets_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
};

class ExchangeRunner {
 public:
  struct Options {
    int max_batches_per_turn = 50;  // per subscriber, before other tasks get their turn
    // The longest the thread waits between passes when no task is due (new tasks, approvals
    // and pushes also call Wake).
    std::chrono::milliseconds idle_wait{5000};
  };

  ExchangeRunner(ExchangeMeta& meta, DeliveryEngine& engine, Leases& leases, Clock& clock,
                 Options options);
  ExchangeRunner(ExchangeMeta& meta, DeliveryEngine& engine, Leases& leases, Clock& clock)
      : ExchangeRunner(meta, engine, leases, clock, Options{}) {}
  ~ExchangeRunner();  // stops the thread

  void Start();
  void Stop();  // returns once the thread has finished its current batch and exited
  void Wake();  // run a pass now (a task was approved, records were pushed)

  struct PassReport {
    int tasks_run = 0;        // tasks whose lease this node held and that it ran
    int tasks_elsewhere = 0;  // tasks another node holds
    int64_t rows_applied = 0;
    int errors = 0;
    int64_t next_due_ms =
        std::numeric_limits<int64_t>::max();  // Clock ms when the earliest task is due again
  };
  // One pass over all tasks, as the thread does; `all_due` ignores the poll intervals.
  PassReport RunPass(bool all_due = false);

  // How many passes the thread has completed; WaitForPasses blocks until `n` or the timeout.
  int64_t passes();
  bool WaitForPasses(int64_t n, std::chrono::milliseconds timeout);

 private:
  void Loop();
  // When the task is due again after `now`: its next cron minute, or now + poll_seconds.
  static int64_t NextDue(const Task& task, int64_t now);

  ExchangeMeta& meta_;
  DeliveryEngine& engine_;
  Leases& leases_;
  Clock& clock_;
  Options options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  int64_t passes_ = 0;
  std::thread thread_;
  std::map<int64_t, int64_t> next_due_ms_;  // task -> Clock ms; only the pass touches it
  std::map<int64_t, std::string> cron_seen_;  // task -> the cron its due time came from
  std::mutex pass_mu_;  // one pass at a time (the thread, or a test calling RunPass)
};

}  // namespace tongban::exchange
