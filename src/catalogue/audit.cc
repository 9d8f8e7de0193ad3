#include "catalogue/audit.h"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>


namespace tongban::catalogue {

Status WriteAudit(soci::session& sql, SqlDialect, const AuditEntry& e) {
  long long at = e.at_ms, resource = e.resource_id, application = e.application_id,
            grant = e.grant_id;
  sql << "INSERT INTO catalogue_audit (at, actor, actor_kind, actor_org, action, resource_id, "
         "application_id, grant_id, subject, subject_mac, fields, outcome, detail) VALUES "
         "(:at, :actor, :kind, :org, :action, :r, :a, :g, :s, :m, :f, :o, :d)",
      soci::use(at), soci::use(e.actor), soci::use(e.actor_kind), soci::use(e.actor_org),
      soci::use(e.action), soci::use(resource), soci::use(application), soci::use(grant),
      soci::use(e.subject), soci::use(e.subject_mac), soci::use(e.fields), soci::use(e.outcome),
      soci::use(e.detail);
  return Status::Ok();
}

namespace {

// The upper bound (µs) of commit-time bucket i: 1 µs, then 10 % more a bucket
// (200 buckets reach past three minutes; slower ones count in the last).
int64_t CommitBucketUs(size_t i) {
  static const std::vector<int64_t> bounds = [] {
    std::vector<int64_t> b;
    double us = 1;
    for (size_t k = 0; k < AuditCommitter::kCommitBuckets; ++k, us *= 1.1) {
      b.push_back(std::max<int64_t>(static_cast<int64_t>(us), b.empty() ? 1 : b.back() + 1));
    }
    return b;
  }();
  return bounds[std::min(i, bounds.size() - 1)];
}

size_t CommitBucket(int64_t us) {
  size_t lo = 0, hi = AuditCommitter::kCommitBuckets - 1;
  while (lo < hi) {  // the first bucket whose bound holds `us`
    size_t mid = (lo + hi) / 2;
    if (CommitBucketUs(mid) >= us) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

}  // namespace

AuditCommitter::AuditCommitter(SqlStore& store) : store_(store), writer_([this] { Write(); }) {
  pthread_setname_np(writer_.native_handle(), "tb-cat-audit");
}

AuditCommitter::~AuditCommitter() {
  Stop();
  if (counts_.commits > 0) {
    CommitTimes t = commit_times();
    spdlog::info(
        "catalogue audit: {} query rows in {} commits; batch commit time p50 {} us, p99 {} us, "
        "p99.9 {} us, max {} us",
        counts_.rows, counts_.commits, t.p50_us, t.p99_us, t.p999_us, t.max_us);
  }
}

void AuditCommitter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // The writer finishes what is queued even if the loader cannot keep up
    // (a database that stopped taking rows): its appends stop waiting.
    if (journal_) journal_->ReleaseWaits();
  }
  queued_.notify_one();
  std::lock_guard join(join_mu_);
  if (writer_.joinable()) writer_.join();
}

std::pair<std::shared_ptr<AuditCommitter::Batch>, size_t> AuditCommitter::Queue(Item item) {
  if (stopping_) return {nullptr, 0};
  if (!open_) {
    open_ = std::make_shared<Batch>();
    queued_.notify_one();  // the writer may be waiting; it takes the batch when free
  }
  open_->entries.push_back(std::move(item));
  return {open_, open_->entries.size() - 1};
}

std::vector<Status> AuditCommitter::CommitEach(const std::vector<Item>& entries,
                                               int64_t* commits) {
  auto commit = [this](const std::vector<Item>& rows) -> Status {
    try {
      return Commit(rows);
    } catch (const std::exception& e) {  // outside the transaction: allocation
      return Error::Internal(std::string("catalogue audit: ") + e.what());
    }
  };
  Status together = commit(entries);
  if (together.ok() || entries.size() == 1) {
    *commits = together.ok() ? 1 : 0;
    return std::vector<Status>(entries.size(), together);
  }
  std::vector<Status> each;
  each.reserve(entries.size());
  *commits = 0;
  for (const Item& entry : entries) {
    each.push_back(commit({entry}));
    if (each.back().ok()) ++*commits;
  }
  return each;
}

void AuditCommitter::Write() {
  std::unique_lock lock(mu_);
  for (;;) {
    queued_.wait(lock, [this] { return stopping_ || open_ != nullptr; });
    if (!open_) return;  // stopping, and every queued row committed
    // Take what is queued whole; rows arriving meanwhile start the next batch.
    std::shared_ptr<Batch> batch = std::move(open_);
    open_.reset();
    lock.unlock();
    int64_t commits = 0;
    auto started = std::chrono::steady_clock::now();
    std::vector<Status> statuses = journal_ ? Journal(batch->entries, &commits)
                                            : CommitEach(batch->entries, &commits);
    int64_t took_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
    // Counted before any answer goes out, so a caller answered sees its row.
    lock.lock();
    ++commit_buckets_[CommitBucket(took_us)];
    commit_max_us_ = std::max(commit_max_us_, took_us);
    for (const Status& status : statuses) {
      if (status.ok()) ++counts_.rows;
    }
    counts_.commits += commits;
    lock.unlock();
    // Answers go out only now, after the commit (or with its error).
    for (auto& [index, done] : batch->then) {
      try {
        done(statuses[index]);
      } catch (const std::exception&) {
        // The callback's own failure; the other answers still go out.
      }
    }
    lock.lock();
    batch->statuses = std::move(statuses);
    batch->done = true;
    committed_.notify_all();
  }
}

Status AuditCommitter::Append(AuditEntry entry) {
  std::unique_lock lock(mu_);
  auto [mine, index] = Queue({std::move(entry), nullptr});
  if (!mine) return Error::Unavailable("catalogue audit: shutting down");
  committed_.wait(lock, [&mine] { return mine->done; });
  return mine->statuses[index];
}

void AuditCommitter::AppendThen(AuditEntry entry, std::function<void(Status)> done) {
  {
    std::lock_guard lock(mu_);
    auto [batch, index] = Queue({std::move(entry), nullptr});
    if (batch) {
      batch->then.emplace_back(index, std::move(done));
      return;
    }
  }
  done(Error::Unavailable("catalogue audit: shutting down"));
}

void AuditCommitter::AppendMadeThen(AuditEntry entry, MakeRow make,
                                    std::function<void(Status)> done) {
  {
    std::lock_guard lock(mu_);
    auto [batch, index] = Queue({std::move(entry), std::move(make)});
    if (batch) {
      batch->then.emplace_back(index, std::move(done));
      return;
    }
  }
  done(Error::Unavailable("catalogue audit: shutting down"));
}

AuditCommitter::Counts AuditCommitter::counts() {
  std::lock_guard lock(mu_);
  return counts_;
}

AuditCommitter::CommitTimes AuditCommitter::commit_times() {
  std::lock_guard lock(mu_);
  int64_t total = 0;
  for (int64_t n : commit_buckets_) total += n;
  CommitTimes out;
  if (total == 0) return out;
  // The bound of the bucket holding the batch at rank ceil(q * total).
  auto quantile = [&](double q) {
    int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(q * static_cast<double>(total) + 0.999));
    int64_t seen = 0;
    for (size_t i = 0; i < commit_buckets_.size(); ++i) {
      seen += commit_buckets_[i];
      if (seen >= rank) return std::min(CommitBucketUs(i), commit_max_us_);
    }
    return commit_max_us_;
  };
  out.p50_us = quantile(0.50);
  out.p99_us = quantile(0.99);
  out.p999_us = quantile(0.999);
  out.max_us = commit_max_us_;
  return out;
}

Status AuditCommitter::Commit(const std::vector<Item>& entries) {
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    // Rows made here read inside this transaction; made again on a retry.
    std::vector<std::vector<std::string>> rows;
    rows.reserve(entries.size());
    for (const Item& item : entries) {
      if (!item.make) {
        rows.push_back(AuditValues(item.entry));
        continue;
      }
      AuditEntry row = item.entry;
      if (item.make(sql, row)) rows.push_back(AuditValues(row));
    }
    if (!rows.empty()) InsertAuditRows(store_, sql, rows);
    return Status::Ok();
  });
}

void AuditCommitter::UseJournal(std::unique_ptr<AuditJournal> journal) {
  std::lock_guard lock(mu_);
  journal_ = std::move(journal);
}

Status AuditCommitter::Flush() {
  AuditJournal* journal = nullptr;
  {
    std::lock_guard lock(mu_);
    journal = journal_.get();
  }
  return journal != nullptr ? journal->Flush() : Status::Ok();
}

namespace {

// BEGIN and COMMIT of a batch's read transaction, prepared once per session.
struct KeptReadTransaction : SqlStore::Kept {
  soci::statement begin;
  soci::statement commit;
  explicit KeptReadTransaction(soci::session& sql) : begin(sql), commit(sql) {
    begin.alloc();
    begin.prepare("BEGIN");
    begin.define_and_bind();
    commit.alloc();
    commit.prepare("COMMIT");
    commit.define_and_bind();
  }
};

}  // namespace

std::vector<Status> AuditCommitter::Journal(const std::vector<Item>& entries, int64_t* writes) {
  std::vector<Status> statuses(entries.size(), Status::Ok());
  std::vector<std::vector<std::string>> rows;
  rows.reserve(entries.size());
  std::vector<size_t> written;  // the entries whose rows go out
  written.reserve(entries.size());
  size_t reading = 0;  // entries whose rows are made from reads here
  for (const Item& item : entries) reading += item.make != nullptr ? 1 : 0;
  auto make_rows = [&](soci::session* sql) {
    for (size_t i = 0; i < entries.size(); ++i) {
      const Item& item = entries[i];
      if (!item.make) {
        rows.push_back(AuditValues(item.entry));
        written.push_back(i);
        continue;
      }
      try {
        AuditEntry row = item.entry;
        if (item.make(*sql, row)) {
          rows.push_back(AuditValues(row));
          written.push_back(i);
        }
      } catch (const std::exception& e) {
        // This query's reads failed: it alone is answered with the error.
        statuses[i] = SqlStore::ToError(e);
        store_.DropKept(*sql);
      }
    }
    return Status::Ok();
  };
  if (reading > 0) {
    // One read transaction for the batch (BEGIN is deferred on SQLite: no
    // write lock is taken, nothing is written): its queries share one
    // snapshot and one set of file locks instead of taking and dropping them
    // for each statement; the session's page cache is dropped only by the
    // loader's rare commits.
    Status session = store_.WithSession([&](soci::session& sql) {
      if (reading < 2) return make_rows(&sql);
      // Looked up each time: a failed read drops the session's kept statements.
      auto kept = [&]() -> KeptReadTransaction& {
        return store_.KeptFor<KeptReadTransaction>(
            sql, "catalogue.audit.read_txn",
            [](soci::session& s) { return std::make_unique<KeptReadTransaction>(s); });
      };
      kept().begin.execute(true);
      Status made = make_rows(&sql);
      try {
        kept().commit.execute(true);
      } catch (const std::exception& e) {
        // The reads are done and answered from; a read transaction that
        // cannot end is the session's problem, so it is not reused as it is.
        spdlog::warn("catalogue audit: ending the batch's read transaction: {}", e.what());
        store_.DropKept(sql);
        try {
          sql << "ROLLBACK";
        } catch (const std::exception& again) {
          spdlog::warn("catalogue audit: rolling back the batch's reads: {}", again.what());
        }
      }
      return made;
    });
    if (!session.ok()) return std::vector<Status>(entries.size(), session);
  } else {
    (void)make_rows(nullptr);
  }
  *writes = 0;
  if (rows.empty()) return statuses;
  Status appended = journal_->Append(rows);
  if (appended.ok()) {
    *writes = 1;
    return statuses;
  }
  for (size_t i : written) statuses[i] = appended;
  return statuses;
}

Result<std::vector<AuditEntry>> ListAudit(SqlStore& store, const AuditFilter& f) {
  return store.WithSession([&](soci::session& sql) -> Result<std::vector<AuditEntry>> {
    std::string where = " WHERE 1 = 1";
    std::string prefix_hi = f.action_prefix + "~";
    long long grant = f.grant_id, before = f.before_id;
    int limit = std::clamp(f.limit, 1, 500);
    if (!f.action_prefix.empty()) where += " AND action >= :ap AND action < :aq";
    if (!f.actor.empty()) where += " AND actor = :actor";
    if (!f.subject_mac.empty()) where += " AND subject_mac = :mac";
    if (f.grant_id != 0) where += " AND grant_id = :g";
    if (f.before_id != 0) where += " AND id < :b";
    std::string query =
        "SELECT id, at, actor, actor_kind, actor_org, action, resource_id, application_id, "
        "grant_id, subject, subject_mac, fields, outcome, detail FROM catalogue_audit" +
        where + " ORDER BY id DESC LIMIT " + std::to_string(limit);
    soci::statement st(sql);
    if (!f.action_prefix.empty()) {
      st.exchange(soci::use(f.action_prefix, "ap"));
      st.exchange(soci::use(prefix_hi, "aq"));
    }
    if (!f.actor.empty()) st.exchange(soci::use(f.actor, "actor"));
    if (!f.subject_mac.empty()) st.exchange(soci::use(f.subject_mac, "mac"));
    if (f.grant_id != 0) st.exchange(soci::use(grant, "g"));
    if (f.before_id != 0) st.exchange(soci::use(before, "b"));
    AuditEntry e;
    long long id = 0, at = 0, r = 0, a = 0, g = 0;
    st.exchange(soci::into(id));
    st.exchange(soci::into(at));
    st.exchange(soci::into(e.actor));
    st.exchange(soci::into(e.actor_kind));
    st.exchange(soci::into(e.actor_org));
    st.exchange(soci::into(e.action));
    st.exchange(soci::into(r));
    st.exchange(soci::into(a));
    st.exchange(soci::into(g));
    st.exchange(soci::into(e.subject));
    st.exchange(soci::into(e.subject_mac));
    st.exchange(soci::into(e.fields));
    st.exchange(soci::into(e.outcome));
    st.exchange(soci::into(e.detail));
    st.alloc();
    st.prepare(query);
    st.define_and_bind();
    std::vector<AuditEntry> out;
    if (st.execute(true)) {
      do {
        e.id = id;
        e.at_ms = at;
        e.resource_id = r;
        e.application_id = a;
        e.grant_id = g;
        out.push_back(e);
      } while (st.fetch());
    }
    return out;
  });
}

}  // namespace tongban::catalogue
