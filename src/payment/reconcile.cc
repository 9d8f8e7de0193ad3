// soci-sqlite3.h (through native_sql.h) comes first: it wraps <sqlite3.h>.
#include "store/native_sql.h"
#include "payment/reconcile.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <unordered_map>
#include <utility>

#include "codec/xlsx.h"
#include "payment/channel_statement.h"
#include "payment/ledger.h"
#include "payment/paid_days.h"
#include "payment/reconcile_index.h"
#include "payment/reconcile_orders.h"
#include "store/sql_dialect.h"

namespace tongban::payment {
namespace {

using reconcile_index::Line;
using reconcile_index::LineIndex;
using reconcile_index::SameText;
using reconcile_index::StatementIndexing;

// line_count, not "lines": LINES is a reserved word in MySQL and MariaDB.
constexpr const char* kSchema = R"sql(
CREATE TABLE payment_reconcile_runs (
  id {ID},
  channel {KEY} NOT NULL,
  day {KEY} NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  line_count BIGINT NOT NULL,
  bad_lines BIGINT NOT NULL,
  matched BIGINT NOT NULL,
  missing_local BIGINT NOT NULL,
  missing_channel BIGINT NOT NULL,
  amount_mismatch BIGINT NOT NULL,
  status_mismatch BIGINT NOT NULL,
  bad_sample {TEXT}
){END};
CREATE INDEX payment_reconcile_runs_by_day ON payment_reconcile_runs (channel, day, id);
CREATE TABLE payment_reconcile_items (
  id {ID},
  run_id BIGINT NOT NULL,
  outcome {KEY} NOT NULL,
  order_no {KEY} NOT NULL,
  channel_serial {KEY} NOT NULL,
  local_amount BIGINT NOT NULL,
  channel_amount BIGINT NOT NULL,
  note {TEXT},
  resolved_by {KEY} NOT NULL DEFAULT '',
  resolved_at BIGINT NOT NULL DEFAULT 0,
  resolution {TEXT}
){END};
CREATE INDEX payment_reconcile_items_by_run ON payment_reconcile_items (run_id, outcome, id);
)sql";

// Version 2 of the runs table, for databases that applied the version 1
// released before the column was renamed (it was called "lines" then). The
// table is rebuilt and its rows copied by position (SELECT *), which reads the
// column under either name, so the same script serves an old database and one
// that was created with line_count. MySQL never ran the old version (LINES is
// reserved there), but runs this one too.
constexpr const char* kRunsV2 = R"sql(
CREATE TABLE payment_reconcile_runs_v2 (
  id {ID},
  channel {KEY} NOT NULL,
  day {KEY} NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  line_count BIGINT NOT NULL,
  bad_lines BIGINT NOT NULL,
  matched BIGINT NOT NULL,
  missing_local BIGINT NOT NULL,
  missing_channel BIGINT NOT NULL,
  amount_mismatch BIGINT NOT NULL,
  status_mismatch BIGINT NOT NULL,
  bad_sample {TEXT}
){END};
INSERT INTO payment_reconcile_runs_v2 SELECT * FROM payment_reconcile_runs;
DROP TABLE payment_reconcile_runs;
ALTER TABLE payment_reconcile_runs_v2 RENAME TO payment_reconcile_runs;
CREATE INDEX payment_reconcile_runs_by_day ON payment_reconcile_runs (channel, day, id);
)sql";

// PostgreSQL's serial sequence does not move when ids are copied in: the next
// run would reuse id 1.
constexpr const char* kRunsV2PostgresSequence =
    "SELECT setval(pg_get_serial_sequence('payment_reconcile_runs', 'id'), "
    "COALESCE((SELECT MAX(id) FROM payment_reconcile_runs), 0) + 1, false);";

constexpr size_t kInsertBatch = 1000;
// Lines of a statement that no order claimed (and repeats) kept as items of a
// run; beyond this they are only counted (ReconcileFile).
constexpr size_t kMaxUnclaimedLineItems = 10'000;
constexpr size_t kBadSample = 20;

// The statement file mapped read-only: the parsed lines are views into it.
class MappedFile {
 public:
  static Result<MappedFile> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error::NotFound("cannot open the statement file");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return Error::Unavailable("cannot read the statement file");
    }
    MappedFile f;
    f.size_ = static_cast<size_t>(st.st_size);
    if (f.size_ > 0) {
      void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        return Error::Unavailable("cannot read the statement file");
      }
      ::madvise(p, f.size_, MADV_SEQUENTIAL);
      f.data_ = static_cast<const char*>(p);
    }
    ::close(fd);
    return f;
  }
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(o.size_) {}
  MappedFile& operator=(MappedFile&&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view text() const { return {data_ == nullptr ? "" : data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// Calls `on_line(view)` for every line of `text` (without its '\n'; a last
// line without one included).
template <typename F>
void ForEachLineOf(std::string_view text, F&& on_line) {
  size_t start = 0;
  while (start < text.size()) {
    const void* nl = std::memchr(text.data() + start, '\n', text.size() - start);
    size_t end = nl == nullptr ? text.size() : static_cast<const char*>(nl) - text.data();
    on_line(text.substr(start, end - start));
    start = end + 1;
  }
}

// An exception found, kept with where it goes in the stored order.
struct Exception {
  int64_t at;  // the line number; orders missing from the statement after every line
  ReconcileOutcome outcome;
  std::string order_no, serial;
  int64_t local, channel;
  std::string note;
};
constexpr int64_t kUnlisted = int64_t{1} << 62;

struct ItemRows {
  std::vector<std::string> outcome, order_no, serial, note;
  std::vector<long long> local_amount, channel_amount;
  void Add(ReconcileOutcome o, std::string_view order, std::string_view s, int64_t local,
           int64_t channel, std::string n) {
    outcome.emplace_back(ReconcileOutcomeName(o));
    order_no.emplace_back(order);
    serial.emplace_back(s);
    local_amount.push_back(local);
    channel_amount.push_back(channel);
    note.push_back(std::move(n));
  }
  size_t size() const { return outcome.size(); }
};

int64_t Abs(int64_t v) { return v < 0 ? -v : v; }

// The items on SQLite, stepped natively: SOCI's bulk insert cost ~3 µs an item
// there (a run of 4,000 exceptions: 13 ms at the end of the reconciliation).
void InsertItemsOnSqlite(soci::session& sql, long long run_id, const ItemRows& items) {
  namespace sq = sqlite_api;
  sq::sqlite3* db = native_sql::SqliteOf(sql);
  // kRows items a statement (one step for many rows), then one at a time.
  constexpr size_t kRows = 64, kColumns = 7;
  auto prepare = [&](size_t rows) {
    std::string text =
        "INSERT INTO payment_reconcile_items (run_id, outcome, order_no, channel_serial, "
        "local_amount, channel_amount, note) VALUES ";
    for (size_t r = 0; r < rows; ++r) text += r == 0 ? "(?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?)";
    sq::sqlite3_stmt* raw = nullptr;
    const int rc = sq::sqlite3_prepare_v2(db, text.c_str(), -1, &raw, nullptr);
    if (rc != SQLITE_OK) native_sql::ThrowSqlite(db, rc);
    return std::unique_ptr<sq::sqlite3_stmt, int (*)(sq::sqlite3_stmt*)>(raw, sq::sqlite3_finalize);
  };
  auto many = prepare(kRows), one = prepare(1);
  auto run = [&](sq::sqlite3_stmt* st, size_t from, size_t rows) {
    for (size_t r = 0; r < rows; ++r) {
      const size_t i = from + r;
      const int at = static_cast<int>(r * kColumns);
      auto text = [&](int column, const std::string& v) {
        // nullptr: SQLITE_STATIC, the strings outlive the step.
        sq::sqlite3_bind_text(st, at + column, v.data(), static_cast<int>(v.size()), nullptr);
      };
      sq::sqlite3_bind_int64(st, at + 1, run_id);
      text(2, items.outcome[i]);
      text(3, items.order_no[i]);
      text(4, items.serial[i]);
      sq::sqlite3_bind_int64(st, at + 5, items.local_amount[i]);
      sq::sqlite3_bind_int64(st, at + 6, items.channel_amount[i]);
      text(7, items.note[i]);
    }
    const int rc = sq::sqlite3_step(st);
    sq::sqlite3_reset(st);
    if (rc != SQLITE_DONE) native_sql::ThrowSqlite(db, rc);
  };
  size_t i = 0;
  for (; i + kRows <= items.size(); i += kRows) run(many.get(), i, kRows);
  for (; i < items.size(); ++i) run(one.get(), i, 1);
}

constexpr const char* kRunColumns =
    "id, channel, day, started_at, finished_at, line_count, bad_lines, matched, missing_local, "
    "missing_channel, amount_mismatch, status_mismatch, COALESCE(bad_sample, '')";

std::vector<ReconcileRun> FetchRuns(soci::details::prepare_temp_type p) {
  ReconcileRun r;
  long long id = 0, started = 0, finished = 0, lines = 0, bad = 0;
  std::array<long long, kReconcileOutcomes> c{};
  p, soci::into(id), soci::into(r.channel), soci::into(r.date), soci::into(started),
      soci::into(finished), soci::into(lines), soci::into(bad), soci::into(c[0]),
      soci::into(c[1]), soci::into(c[2]), soci::into(c[3]), soci::into(c[4]),
      soci::into(r.bad_sample);
  soci::statement st(p);
  st.execute();
  std::vector<ReconcileRun> out;
  while (st.fetch()) {
    r.id = id;
    r.started_at_ms = started;
    r.finished_at_ms = finished;
    r.lines = lines;
    r.bad_lines = bad;
    for (size_t i = 0; i < kReconcileOutcomes; ++i) r.counts[i] = c[i];
    out.push_back(r);
  }
  return out;
}

// The day's ledger as read for reconciliation: its pages, the amendments
// among them, or why it cannot be trusted for the day.
struct LedgerDay {
  std::vector<std::string> pages;
  std::unordered_map<std::string_view, LedgerRecord> amended;  // views into pages
  std::string why_not;  // "" = usable
};

// Reads the day's ledger and checks it against the orders (the guard); run on
// a thread of its own while the statement is parsed. A failure of the
// database is an error; a ledger that cannot be trusted is `why_not`.
Result<LedgerDay> LoadLedger(ChannelPayments& payments, std::string_view date, int64_t start,
                             int64_t end) {
  LedgerDay day;
  SqlStore& store = payments.store();
  if (store.backend() == SqlStore::Backend::kOdbc) {
    day.why_not = "no ledger over ODBC";
    return day;
  }
  const std::string channel(payments.channel().code());
  // The small pages (one per payment) the sweeper has not folded yet.
  auto folded = CompactLedgerDay(store, channel, date);
  if (!folded.ok()) {
    day.why_not = "the ledger cannot be folded: " + folded.error().message;
    return day;
  }
  // The guard: the day's records must be exactly the orders paid that day
  // (a path that marked an order paid without its record, or a repeated
  // record, shows here as a difference). The orders' side is the day's paid
  // count the triggers keep (paid_days.h), read before and after the pages: a
  // payment commits its record, its order and its count together, so when the
  // day's changes (a number that only grows) agree no change of the day
  // committed while the pages were read. When they differ (late notifications
  // of the day arriving), read again; after a few tries the orders are read.
  int64_t records = 0;
  bool readable = true, in_day = true;
  auto paid = PaidOnDay(store, channel, start);
  for (int attempt = 0;; ++attempt) {
    if (!paid.ok()) return std::move(paid).error();
    day.pages.clear();
    day.amended.clear();
    records = 0;
    readable = in_day = true;
    TB_RETURN_IF_ERROR(ReadLedgerDay(store, channel, date, [&](int64_t, std::string_view body) {
      // Walked at once, while its bytes are still in cache: the records
      // counted and checked, the amendments (whole refunds recorded after
      // the payment, not yet folded in) kept, the last one of an order
      // standing for it. Their views stay valid as the vector grows: a page
      // holds a record (>= 20 bytes) or nothing, never a short string
      // stored inside the std::string itself.
      const std::string& page = day.pages.emplace_back(body);
      readable &= ForEachLedgerRecord(page, [&](const LedgerRecord& r) {
        in_day &= r.paid_at_ms >= start && r.paid_at_ms < end;
        if (r.amends) {
          day.amended[r.order_no] = r;
        } else {
          ++records;
        }
      });
      return Status::Ok();
    }));
    auto after = PaidOnDay(store, channel, start);
    if (!after.ok()) return std::move(after).error();
    const bool steady = after->changes == paid->changes;
    paid = std::move(after);
    if (steady) break;
    if (attempt == 2) {
      day.why_not = "payments of the day committed while its ledger was read";
      return day;
    }
  }
  if (!readable || !in_day) {
    day.why_not = "a malformed ledger page";
    return day;
  }
  if (records != paid->paid) {
    day.why_not = "the ledger holds " + std::to_string(records) +
                  " payments of the day, the orders " + std::to_string(paid->paid);
  }
  return day;
}

// Reconciliation's side of the day from the day's ledger: every record
// judged as the order it stands for, then the statement lines no record
// claimed re-checked by key against the orders (a pending order, one paid
// another day, one unknown: never reported from the ledger alone). Returns ""
// when done, else why the ledger cannot be trusted for the day (then nothing
// of `parts` is kept and the caller reads the orders).
template <typename Parts, typename Judge, typename JudgeAt>
Result<std::string> FromLedger(ChannelPayments& payments, const LedgerDay& day, int64_t start,
                               int64_t end, int64_t created_from, int64_t created_to,
                               std::vector<Line>& lines, LineIndex& index, Parts& parts,
                               Judge& judge, JudgeAt& judge_at,
                               std::vector<uint32_t>& not_found_or_repeated) {
  if (!day.why_not.empty()) return day.why_not;
  const std::vector<std::string>& pages = day.pages;
  const auto& amended = day.amended;
  // Pipelined, so that the random reads of the statement's index overlap
  // instead of waiting one by one: a record's slot is fetched when it is
  // decoded, the line that slot names kLine records later, that line's text
  // kText records later, and the record judged kJudge records later (all in
  // cache by then).
  constexpr size_t kRing = 32, kLine = 6, kText = 12, kJudge = 18;
  struct Pending {
    LedgerRecord r;
    uint64_t hash;
  };
  // The pages in two halves, one on a second thread, each its own part: an
  // order has one record (the guard), so the two never claim the same line.
  // The lines each half's records claimed, a bit a line (a thread's own: no
  // atomics), so that finding the lines no record claimed reads 2 × 128 KiB
  // for a million lines instead of every Line.
  const size_t words = (lines.size() + 63) / 64;
  std::array<std::vector<uint64_t>, 2> claimed{std::vector<uint64_t>(words),
                                               std::vector<uint64_t>(words)};
  std::array<bool, 2> repeated{};  // each half's own
  auto judge_pages = [&](size_t from, size_t to, size_t part) -> size_t {
    std::array<Pending, kRing> ring;
    size_t produced = 0, used = 0;
    OrderView o;
    o.state = "paid";
    auto judge_record = [&](const Pending& p) {
      const LedgerRecord* r = &p.r;
      if (!amended.empty()) {
        if (auto it = amended.find(r->order_no); it != amended.end()) {
          r = &it->second;
          ++used;
        }
      }
      o.order_no = r->order_no;
      o.amount_fen = r->amount_fen;
      o.channel_serial = r->channel_serial;
      o.paid_at_ms = r->paid_at_ms;
      o.disposition = r->disposition;
      Line* line = index.Find(r->order_no, p.hash);
      if (line != nullptr) {
        const size_t at = static_cast<size_t>(line - lines.data());
        uint64_t& word = claimed[part][at / 64];
        const uint64_t bit = uint64_t{1} << (at % 64);
        // A line claimed twice: the ledger repeats an order (and, the counts
        // having agreed, lacks another). Not judged twice; the day goes to
        // the orders (below).
        if ((word & bit) != 0) {
          repeated[part] = true;
          return;
        }
        word |= bit;
      }
      judge_at(part, o, line);
    };
    for (size_t i = from; i < to; ++i) {
      ForEachLedgerRecord(pages[i], [&](const LedgerRecord& recorded) {
        if (recorded.amends) return;
        Pending& p = ring[produced % kRing];
        p = {recorded, LineIndex::Hash(recorded.order_no)};
        index.PrefetchSlot(p.hash);
        if (produced >= kLine) index.PrefetchLine(ring[(produced - kLine) % kRing].hash);
        if (produced >= kText) index.PrefetchText(ring[(produced - kText) % kRing].hash);
        if (produced >= kJudge) judge_record(ring[(produced - kJudge) % kRing]);
        ++produced;
      });
    }
    for (size_t at = produced >= kJudge ? produced - kJudge : 0; at < produced; ++at) {
      judge_record(ring[at % kRing]);
    }
    return used;
  };
  parts.assign(2, {});
  const size_t half = pages.size() / 2;
  size_t amendments_used = 0;
  if (half > 0) {
    auto other = std::async(std::launch::async, [&] { return judge_pages(0, half, 0); });
    amendments_used += judge_pages(half, pages.size(), 1);
    amendments_used += other.get();
  } else {
    amendments_used += judge_pages(0, pages.size(), 1);
  }
  if (amendments_used != amended.size()) {
    return std::string("a ledger amendment of an order not paid that day");
  }
  bool both = repeated[0] || repeated[1];
  for (size_t w = 0; w < words && !both; ++w) both = (claimed[0][w] & claimed[1][w]) != 0;
  if (both) return std::string("an order recorded twice in the ledger");
  std::vector<std::string_view> unclaimed;
  // The lines no record claimed and the repeats: the only ones the caller's
  // last pass over the lines has to look at again.
  // (A line is claimed exactly when judge_at marks it found; a repeat never is.)
  for (size_t w = 0; w < words; ++w) {
    uint64_t left = ~(claimed[0][w] | claimed[1][w]);
    if (w == words - 1 && lines.size() % 64 != 0) left &= (uint64_t{1} << (lines.size() % 64)) - 1;
    for (; left != 0; left &= left - 1) {
      const size_t i = w * 64 + static_cast<size_t>(__builtin_ctzll(left));
      not_found_or_repeated.push_back(static_cast<uint32_t>(i));
      if (lines[i].first_of_order == 0) unclaimed.push_back(lines[i].order_no(index.base()));
    }
  }
  // A statement of another day (or another channel's) would be re-checked line
  // by line: slower than reading the orders whole.
  if (unclaimed.size() > std::max<size_t>(1000, lines.size() / 20)) {
    return std::to_string(unclaimed.size()) + " statement lines not in the ledger";
  }
  TB_RETURN_IF_ERROR(OrdersByNumber(payments, unclaimed, created_from, created_to, start, end,
                                    [&](size_t, const OrderView& order) { judge(1, order); }));
  return std::string();
}

}  // namespace

std::string_view ReconcileOutcomeName(ReconcileOutcome outcome) {
  switch (outcome) {
    case ReconcileOutcome::kMatched:
      return "matched";
    case ReconcileOutcome::kMissingLocal:
      return "missing_local";
    case ReconcileOutcome::kMissingChannel:
      return "missing_channel";
    case ReconcileOutcome::kAmountMismatch:
      return "amount_mismatch";
    case ReconcileOutcome::kStatusMismatch:
      return "status_mismatch";
  }
  return "matched";
}

std::vector<Migration> Reconciler::Migrations() {
  Migration runs_v2 = PortableMigration("payment_reconcile", 2, kRunsV2);
  runs_v2.postgres += kRunsV2PostgresSequence;
  return {PortableMigration("payment_reconcile", 1, kSchema), std::move(runs_v2)};
}

Reconciler::Reconciler(ChannelPayments& payments, ReconcilerOptions options)
    : payments_(payments), options_(options) {}

Result<ReconcileRun> Reconciler::Reconcile(std::string_view date, const std::string& work_dir) {
  if (ChinaDayStart(date) < 0) return Error::InvalidArgument("date must be YYYYMMDD");
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  const std::string path = work_dir + "/" + std::string(payments_.channel().code()) + "-" +
                           std::string(date) + ".csv";
  // Downloaded under a name of its own, then renamed into place: a second
  // reconciliation of the day (a double click, another node sharing the
  // directory) must never truncate the file this one has mapped (SIGBUS) —
  // a rename leaves the mapped inode as it was.
  static std::atomic<uint64_t> download_seq{0};
  const std::string part = path + "." + std::to_string(::getpid()) + "-" +
                           std::to_string(++download_seq) + ".part";
  Status downloaded = payments_.channel().DownloadStatement(date, part);
  if (!downloaded.ok()) {
    std::filesystem::remove(part, ec);
    return downloaded.error();
  }
  std::filesystem::rename(part, path, ec);
  if (ec) {
    std::filesystem::remove(part, ec);
    return Error::Unavailable("cannot store the statement file");
  }
  return ReconcileFile(date, path);
}

Result<ReconcileRun> Reconciler::ReconcileFile(std::string_view date, const std::string& path) {
  const int64_t start = ChinaDayStart(date);
  if (start < 0) return Error::InvalidArgument("date must be YYYYMMDD");
  const int64_t end = start + 86'400'000;
  const int64_t window = options_.time_window.count();
  ReconcileRun run;
  run.channel = std::string(payments_.channel().code());
  run.date = std::string(date);
  run.started_at_ms = payments_.clock().NowMillis();

  // The statement: mapped, every line parsed into views of the mapping.
  auto file = MappedFile::Open(path);
  if (!file.ok()) return std::move(file).error();
  // Lines keep 32-bit offsets into the mapping.
  if (file->text().size() >= (uint64_t{1} << 32)) {
    return Error::InvalidArgument("对账单超过 4 GiB，未对账");
  }
  const char* base = file->text().data();
  const size_t expected_lines = file->text().size() / 56 + 16;  // a sandbox line is ~60 bytes
  std::vector<Line> lines;
  lines.reserve(expected_lines);
  LineIndex index(base, expected_lines);
  StatementIndexing indexing(lines.data());
  // The day's ledger read (and checked against the orders) on a thread of its
  // own while the statement is parsed here; that thread then indexes the lines
  // parsed so far and keeps up with the parser until it is done.
  std::future<Result<LedgerDay>> ledger_day = std::async(std::launch::async, [&] {
    Result<LedgerDay> day = LoadLedger(payments_, date, start, end);
    indexing.HelpUntilParsed(index);
    return day;
  });
  // Whatever way this returns, the helper must learn that the parse is over
  // before the future's destructor waits for it.
  struct ParseOver {
    StatementIndexing& indexing;
    ~ParseOver() { indexing.Finish(); }
  } parse_over{indexing};
  std::string bad_sample;
  int64_t line_no = 0;
  ForEachLineOf(file->text(), [&](std::string_view line) {
    ++line_no;
    if (line_no == 1) {
      std::string_view head = line;
      if (!head.empty() && head.back() == '\r') head.remove_suffix(1);
      if (head == kStatementHeader) return;
    }
    if (line.empty() || line == "\r") return;
    ++run.lines;
    StatementLine s;
    const char* why = ParseStatementLine(line, s);
    // A Line keeps 8-bit lengths (no channel's order number or serial comes
    // near 255 bytes) and the paid time in seconds until 2106.
    if (why == nullptr &&
        (s.order_no.size() > Line::kMaxText || s.channel_serial.size() > Line::kMaxText)) {
      why = "field too long";
    }
    if (why == nullptr && !Line::PaidAtFits(s.paid_at_ms)) why = "bad paid_at";
    if (why != nullptr) {
      ++run.bad_lines;
      if (run.bad_lines <= static_cast<int64_t>(kBadSample)) {
        bad_sample += "line " + std::to_string(line_no) + ": " + why + "\n";
      }
      return;
    }
    Line l;
    l.order_at = static_cast<uint32_t>(s.order_no.data() - base);
    l.serial_at = static_cast<uint32_t>(s.channel_serial.data() - base);
    l.order_len = static_cast<uint8_t>(s.order_no.size());
    l.serial_len = static_cast<uint8_t>(s.channel_serial.size());
    l.status = static_cast<uint8_t>(s.status);
    l.line_no = static_cast<uint32_t>(line_no);
    l.amount_fen = s.amount_fen;
    l.set_paid_at_ms(s.paid_at_ms);
    if (lines.size() == lines.capacity()) indexing.Grow(lines);
    lines.push_back(l);
    if ((lines.size() & (StatementIndexing::kBatch - 1)) == 0) indexing.Publish(lines.size());
  });
  indexing.Publish(lines.size());
  indexing.Finish();
  // A statement none of whose lines can be read is not a statement (a wrong
  // file, an HTML error page, a truncated download): refused, nothing stored,
  // rather than a run reporting every payment of the day missing_channel.
  if (run.lines > 0 && run.bad_lines == run.lines) {
    return Error::InvalidArgument("对账单无法读取（" + std::to_string(run.bad_lines) +
                                  " 行全部无效），未对账：" + bad_sample.substr(0, 300));
  }
  run.bad_sample = bad_sample;
  indexing.IndexTheRest(index);
  index.Attach(lines);

  // Then tongban's side past the statement's index: each order that could
  // appear on the day's statement once. A part's findings are its own (counts,
  // exceptions); an order claims only its own line, so no two parts write the
  // same line.
  const int64_t created_from = start - options_.order_lookback.count(), created_to = end + window;
  struct PartFindings {
    std::array<int64_t, kReconcileOutcomes> counts{};
    std::vector<Exception> exceptions;
    std::unordered_map<uint32_t, int64_t> local_amounts;  // line index -> the order's amount
  };
  std::vector<PartFindings> parts;
  auto judge_at = [&](size_t part, const OrderView& o, Line* l) {
    PartFindings& f = parts[part];
    auto count = [&](ReconcileOutcome outcome) { ++f.counts[static_cast<size_t>(outcome)]; };
    if (l == nullptr) {
      if (o.state != "paid" || o.paid_at_ms < start || o.paid_at_ms >= end) return;
      count(ReconcileOutcome::kMissingChannel);
      f.exceptions.push_back({kUnlisted, ReconcileOutcome::kMissingChannel, std::string(o.order_no),
                              std::string(o.channel_serial), o.amount_fen, 0,
                              "paid in tongban, not on the statement"});
      return;
    }
    l->found = true;
    // The order's amount, for a repeat of this line: kept only when it is not
    // the line's own (an amount mismatch, rare).
    if (o.amount_fen != l->amount_fen) {
      f.local_amounts.emplace(static_cast<uint32_t>(l - lines.data()), o.amount_fen);
    }
    StatementLine s;
    s.order_no = l->order_no(base);
    s.channel_serial = l->serial(base);
    s.amount_fen = l->amount_fen;
    s.paid_at_ms = l->paid_at_ms();
    s.status = l->payment_status();
    auto add = [&](ReconcileOutcome outcome, std::string note) {
      count(outcome);
      f.exceptions.push_back({l->line_no, outcome, std::string(s.order_no),
                              std::string(s.channel_serial), o.amount_fen, s.amount_fen,
                              std::move(note)});
    };
    if (s.amount_fen != o.amount_fen) {
      add(ReconcileOutcome::kAmountMismatch, "order state " + std::string(o.state));
    } else if (o.state != "paid") {
      add(ReconcileOutcome::kStatusMismatch,
          "paid at the channel, " + std::string(o.state) + " in tongban");
    } else if (!SameText(s.channel_serial, o.channel_serial)) {
      add(ReconcileOutcome::kStatusMismatch,
          "serial differs: tongban has " + std::string(o.channel_serial));
    } else if (Abs(s.paid_at_ms - o.paid_at_ms) > window) {
      add(ReconcileOutcome::kStatusMismatch,
          "paid time differs by " + std::to_string(Abs(s.paid_at_ms - o.paid_at_ms) / 1000) +
              " s");
    } else if (s.status == ChannelPaymentStatus::kRefunded && o.disposition != "refunded") {
      add(ReconcileOutcome::kStatusMismatch,
          "refunded at the channel, " + std::string(o.disposition) + " in tongban");
    } else {
      count(ReconcileOutcome::kMatched);
    }
  };
  auto judge = [&](size_t part, const OrderView& o) { judge_at(part, o, index.Find(o.order_no)); };
  // The day's ledger first (a few pages instead of the day's orders); when it
  // cannot be trusted for this day, the orders themselves.
  std::vector<uint32_t> not_found_or_repeated;  // when read from the ledger
  Result<LedgerDay> loaded = ledger_day.get();
  if (!loaded.ok()) return std::move(loaded).error();
  auto ledger =
      FromLedger(payments_, *loaded, start, end, created_from, created_to, lines, index, parts,
                 judge, judge_at, not_found_or_repeated);
  if (!ledger.ok()) return std::move(ledger).error();
  if (!ledger->empty()) {
    spdlog::info("payment: reconciliation of {} {} reads the orders: {}", run.channel, run.date,
                 *ledger);
    for (Line& l : lines) l.found = false;
    DayOrders day(payments_, created_from, created_to, start, end);
    parts.assign(day.parts(), PartFindings{});
    TB_RETURN_IF_ERROR(day.ForEach(options_.read_threads, judge));
    run.source = "orders: " + *ledger;
  } else {
    run.source = "ledger";
  }
  std::vector<Exception> exceptions;
  std::unordered_map<uint32_t, int64_t> local_amounts;
  for (PartFindings& f : parts) {
    for (size_t i = 0; i < kReconcileOutcomes; ++i) run.counts[i] += f.counts[i];
    std::move(f.exceptions.begin(), f.exceptions.end(), std::back_inserter(exceptions));
    local_amounts.merge(f.local_amounts);
  }
  // The amount of the order that claimed a found line.
  auto local_amount = [&](const Line& l) {
    auto it = local_amounts.find(static_cast<uint32_t>(&l - lines.data()));
    return it == local_amounts.end() ? l.amount_fen : it->second;
  };
  auto count = [&](ReconcileOutcome o) { ++run.counts[static_cast<size_t>(o)]; };
  // The statement's lines no order claimed, and its repeats: all counted, the
  // first kMaxUnclaimedLineItems kept as items. A wrong file (another channel's
  // or day's) is all such lines; kept whole, a 256 MiB statement held ~18× its
  // size in memory and left as much in the database (review12b).
  size_t unclaimed_kept = 0;
  auto last_pass = [&](const Line& l) {
    const Line* first = &index.first_of(l);
    const bool repeat = first->found && first != &l;
    if (!repeat && first->found) return;
    if (unclaimed_kept == kMaxUnclaimedLineItems) {
      count(repeat ? ReconcileOutcome::kStatusMismatch : ReconcileOutcome::kMissingLocal);
      return;
    }
    ++unclaimed_kept;
    if (repeat) {
      count(ReconcileOutcome::kStatusMismatch);
      exceptions.push_back({l.line_no, ReconcileOutcome::kStatusMismatch,
                            std::string(l.order_no(base)), std::string(l.serial(base)),
                            local_amount(*first), l.amount_fen,
                            "listed twice on the statement"});
    } else if (!first->found) {
      count(ReconcileOutcome::kMissingLocal);
      exceptions.push_back({l.line_no, ReconcileOutcome::kMissingLocal,
                            std::string(l.order_no(base)), std::string(l.serial(base)), 0,
                            l.amount_fen, "not an order of tongban"});
    }
  };
  if (run.source == "ledger") {
    for (uint32_t i : not_found_or_repeated) last_pass(lines[i]);
  } else {
    for (const Line& l : lines) last_pass(l);
  }
  // Stored in statement order, the orders missing from it after (by order
  // number: the same whichever way the orders were read).
  std::sort(exceptions.begin(), exceptions.end(), [](const Exception& a, const Exception& b) {
    return a.at != b.at ? a.at < b.at : a.order_no < b.order_no;
  });
  ItemRows items;
  for (Exception& e : exceptions) {
    items.Add(e.outcome, e.order_no, e.serial, e.local, e.channel, std::move(e.note));
  }
  std::vector<Exception>().swap(exceptions);  // the items hold them now
  if (unclaimed_kept == kMaxUnclaimedLineItems) {
    spdlog::warn("payment: reconciliation of {} {}: only the first {} lines no order claimed are "
                 "kept as items (all are counted)", run.channel, run.date, kMaxUnclaimedLineItems);
  }
  run.finished_at_ms = payments_.clock().NowMillis();

  SqlStore& store = payments_.store();
  const SqlDialect dialect = store.dialect();
  auto id = store.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    long long started = run.started_at_ms, finished = run.finished_at_ms, lines = run.lines,
              bad = run.bad_lines;
    std::array<long long, kReconcileOutcomes> c{};
    for (size_t i = 0; i < kReconcileOutcomes; ++i) c[i] = run.counts[i];
    std::string insert =
        "INSERT INTO payment_reconcile_runs (channel, day, started_at, finished_at, line_count, "
        "bad_lines, matched, missing_local, missing_channel, amount_mismatch, status_mismatch, "
        "bad_sample) VALUES (:ch, :d, :s, :f, :l, :b, :c0, :c1, :c2, :c3, :c4, :bs)";
    long long run_id = 0;
    if (sql_dialect::HasReturning(dialect)) {
      sql << insert + " RETURNING id", soci::use(run.channel), soci::use(run.date),
          soci::use(started), soci::use(finished), soci::use(lines), soci::use(bad),
          soci::use(c[0]), soci::use(c[1]), soci::use(c[2]), soci::use(c[3]), soci::use(c[4]),
          soci::use(bad_sample), soci::into(run_id);
    } else {
      sql << insert, soci::use(run.channel), soci::use(run.date), soci::use(started),
          soci::use(finished), soci::use(lines), soci::use(bad), soci::use(c[0]),
          soci::use(c[1]), soci::use(c[2]), soci::use(c[3]), soci::use(c[4]),
          soci::use(bad_sample);
      run_id = sql_dialect::LastInsertId(sql, dialect);
    }
    if (store.backend() == SqlStore::Backend::kSqlite) {
      InsertItemsOnSqlite(sql, run_id, items);
      return static_cast<int64_t>(run_id);
    }
    // In batches: one round trip per kInsertBatch items.
    for (size_t at = 0; at < items.size(); at += kInsertBatch) {
      size_t n = std::min(kInsertBatch, items.size() - at);
      auto slice = [&](auto& v) {
        return std::vector<typename std::decay_t<decltype(v)>::value_type>(v.begin() + at,
                                                                           v.begin() + at + n);
      };
      std::vector<long long> run_ids(n, run_id);
      auto outcome = slice(items.outcome);
      auto order_no = slice(items.order_no);
      auto serial = slice(items.serial);
      auto local = slice(items.local_amount);
      auto channel = slice(items.channel_amount);
      auto note = slice(items.note);
      sql << "INSERT INTO payment_reconcile_items (run_id, outcome, order_no, channel_serial, "
             "local_amount, channel_amount, note) VALUES (:r, :o, :n, :s, :la, :ca, :nt)",
          soci::use(run_ids), soci::use(outcome), soci::use(order_no), soci::use(serial),
          soci::use(local), soci::use(channel), soci::use(note);
    }
    return static_cast<int64_t>(run_id);
  });
  if (!id.ok()) return std::move(id).error();
  run.id = *id;
  spdlog::info("payment: reconciled {} {}: {} lines, {} matched, {} exceptions, {} bad", run.channel,
               run.date, run.lines, run.count(ReconcileOutcome::kMatched), items.size(),
               run.bad_lines);
  return run;
}

Result<ReconcileRun> Reconciler::GetRun(int64_t id) {
  auto runs = payments_.store().WithSession([&](soci::session& sql) -> Result<std::vector<ReconcileRun>> {
    long long key = id;
    return FetchRuns((sql.prepare << std::string("SELECT ") + kRunColumns +
                                         " FROM payment_reconcile_runs WHERE id = :id",
                      soci::use(key)));
  });
  if (!runs.ok()) return std::move(runs).error();
  if (runs->empty()) return Error::NotFound("no such reconciliation run");
  return std::move(runs->front());
}

Result<std::vector<ReconcileRun>> Reconciler::ListRuns(int limit) {
  return payments_.store().WithSession([&](soci::session& sql) -> Result<std::vector<ReconcileRun>> {
    long long n = std::clamp(limit, 1, 1000);
    return FetchRuns((sql.prepare << std::string("SELECT ") + kRunColumns +
                                         " FROM payment_reconcile_runs ORDER BY id DESC LIMIT :n",
                      soci::use(n)));
  });
}

Result<std::vector<ReconcileItem>> Reconciler::Items(int64_t run_id,
                                                     std::optional<ReconcileOutcome> outcome) {
  return payments_.store().WithSession([&](soci::session& sql) -> Result<std::vector<ReconcileItem>> {
    long long key = run_id;
    std::string wanted = outcome.has_value() ? std::string(ReconcileOutcomeName(*outcome)) : "";
    ReconcileItem it;
    long long id = 0, rid = 0, local = 0, channel = 0, resolved_at = 0;
    std::string out;
    soci::statement st =
        (sql.prepare << "SELECT id, run_id, outcome, order_no, channel_serial, local_amount, "
                        "channel_amount, COALESCE(note, ''), resolved_by, resolved_at, "
                        "COALESCE(resolution, '') FROM payment_reconcile_items WHERE run_id = :r "
                        "AND (:w = '' OR outcome = :w2) ORDER BY id",
         soci::use(key), soci::use(wanted), soci::use(wanted), soci::into(id), soci::into(rid),
         soci::into(out), soci::into(it.order_no), soci::into(it.channel_serial),
         soci::into(local), soci::into(channel), soci::into(it.note), soci::into(it.resolved_by),
         soci::into(resolved_at), soci::into(it.resolution));
    st.execute();
    std::vector<ReconcileItem> items;
    while (st.fetch()) {
      it.id = id;
      it.run_id = rid;
      it.local_amount_fen = local;
      it.channel_amount_fen = channel;
      it.resolved_at_ms = resolved_at;
      for (size_t i = 0; i < kReconcileOutcomes; ++i) {
        if (out == ReconcileOutcomeName(static_cast<ReconcileOutcome>(i))) {
          it.outcome = static_cast<ReconcileOutcome>(i);
        }
      }
      items.push_back(it);
    }
    return items;
  });
}

Result<ApplyResult> Reconciler::Reissue(int64_t item_id, std::string_view actor) {
  if (actor.empty()) return Error::InvalidArgument("补单 needs the name of who does it");
  SqlStore& store = payments_.store();
  std::string order_no, resolved_by;
  auto found = store.WithSession([&](soci::session& sql) -> Status {
    long long key = item_id;
    sql << "SELECT order_no, resolved_by FROM payment_reconcile_items WHERE id = :id",
        soci::use(key), soci::into(order_no), soci::into(resolved_by);
    if (!sql.got_data()) return Error::NotFound("no such reconciliation item");
    return Status::Ok();
  });
  TB_RETURN_IF_ERROR(found);
  if (!resolved_by.empty()) return Error::Conflict("already resolved by " + resolved_by);
  auto answer = payments_.channel().Query(order_no);
  if (!answer.ok()) return std::move(answer).error();
  if (answer->status != ChannelPaymentStatus::kPaid) {
    return Error::Conflict("the channel says the order is " +
                           std::string(ChannelPaymentStatusName(answer->status)));
  }
  auto applied = payments_.Apply(*answer, "reissue");
  if (!applied.ok()) return std::move(applied).error();
  if (applied->outcome == ApplyOutcome::kRefused) {
    return Error::Conflict("not applied: " + applied->reason);
  }
  std::string resolution = "补单 " + std::string(ApplyOutcomeName(applied->outcome)) +
                           (applied->pay_no.empty() ? "" : " " + applied->pay_no);
  std::string who(actor);
  TB_RETURN_IF_ERROR(store.WithTransaction([&](soci::session& sql) -> Status {
    long long key = item_id, at = payments_.clock().NowMillis();
    sql << "UPDATE payment_reconcile_items SET resolved_by = :b, resolved_at = :t, "
           "resolution = :r WHERE id = :id",
        soci::use(who), soci::use(at), soci::use(resolution), soci::use(key);
    return Status::Ok();
  }));
  spdlog::info("payment: 补单 of order {} by {}: {}", order_no, who, resolution);
  return applied;
}

Result<PaymentNotice> Reconciler::Refund(std::string_view pay_no, int64_t amount_fen,
                                         std::string_view reason, std::string_view actor) {
  if (actor.empty()) return Error::InvalidArgument("a refund needs the name of who does it");
  return payments_.notices().RecordRefund(pay_no, amount_fen, reason, actor);
}

Result<std::string> Reconciler::SettlementReport(std::string_view date) {
  const int64_t start = ChinaDayStart(date);
  if (start < 0) return Error::InvalidArgument("date must be YYYYMMDD");
  auto orders = payments_.PaidOrders(start, start + 86'400'000);
  if (!orders.ok()) return std::move(orders).error();
  struct UnitTotals {
    std::string name;
    int64_t credited = 0, credited_fen = 0, refund_due = 0, refund_due_fen = 0;
  };
  std::map<std::string, UnitTotals> units;
  std::map<std::string, PaymentNotice> notices;
  codec::Sheet detail{"明细", {}};
  detail.rows.push_back({codec::Cell::Text("执收单位编码"), codec::Cell::Text("缴款单号"),
                         codec::Cell::Text("订单号"), codec::Cell::Text("交易流水号"),
                         codec::Cell::Text("缴费流水号"), codec::Cell::Text("金额(元)"),
                         codec::Cell::Text("支付时间"), codec::Cell::Text("处理")});
  for (const PaymentOrder& o : *orders) {
    auto it = notices.find(o.notice_no);
    if (it == notices.end()) {
      auto n = payments_.notices().Get(o.notice_no);
      if (!n.ok()) return std::move(n).error();
      it = notices.emplace(o.notice_no, std::move(n).value()).first;
    }
    UnitTotals& u = units[it->second.entercode];
    u.name = it->second.entername;
    const bool credited = o.disposition == "credited";
    // Wholly refunded since (the refund ledger): neither credited nor due.
    const bool refunded = o.disposition == "refunded";
    if (!refunded) {
      (credited ? u.credited : u.refund_due) += 1;
      (credited ? u.credited_fen : u.refund_due_fen) += o.amount_fen;
    }
    detail.rows.push_back({codec::Cell::Text(it->second.entercode), codec::Cell::Text(o.notice_no),
                           codec::Cell::Text(o.order_no), codec::Cell::Text(o.channel_serial),
                           codec::Cell::Text(o.pay_no), codec::Cell::Text(FormatYuan(o.amount_fen)),
                           codec::Cell::Text(FormatChinaTime(o.paid_at_ms)),
                           codec::Cell::Text(credited ? "入账" : refunded ? "已退款" : "待退款")});
  }
  codec::Sheet summary{"汇总", {}};
  summary.rows.push_back({codec::Cell::Text("日期"), codec::Cell::Text(std::string(date))});
  summary.rows.push_back({codec::Cell::Text("执收单位编码"), codec::Cell::Text("执收单位"),
                          codec::Cell::Text("入账笔数"), codec::Cell::Text("入账金额(元)"),
                          codec::Cell::Text("待退款笔数"), codec::Cell::Text("待退款金额(元)")});
  int64_t total = 0;
  for (const auto& [code, u] : units) {
    total += u.credited_fen;
    summary.rows.push_back({codec::Cell::Text(code), codec::Cell::Text(u.name),
                            codec::Cell::Number(static_cast<double>(u.credited)),
                            codec::Cell::Text(FormatYuan(u.credited_fen)),
                            codec::Cell::Number(static_cast<double>(u.refund_due)),
                            codec::Cell::Text(FormatYuan(u.refund_due_fen))});
  }
  summary.rows.push_back({codec::Cell::Text("合计"), codec::Cell::Text(""), codec::Cell::Text(""),
                          codec::Cell::Text(FormatYuan(total))});
  return codec::WriteXlsx({summary, detail});
}

}  // namespace tongban::payment
