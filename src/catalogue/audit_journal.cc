#include "catalogue/audit_journal.h"

#include <fcntl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "catalogue/audit.h"
#include "core/background.h"

namespace tongban::catalogue {

struct AuditJournal::Waiting {
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> ends;  // per row: the file offset after its record
  std::chrono::steady_clock::time_point oldest{};
};

namespace {

// The file: a header naming its epoch, then records, each
//   u32 payload length | u64 FNV-1a of the payload | payload
// with the payload the row's columns, each u32 length | bytes (little endian).
constexpr std::string_view kMagic = "TBAUDIT1 ";
constexpr size_t kEpochChars = 32;
constexpr size_t kHeaderBytes = kMagic.size() + kEpochChars + 1;  // + '\n'
constexpr uint32_t kMaxPayload = 1 << 20;  // rows are bounded far below (kMaxAuditText)

uint64_t Fnv1a(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void AppendRecord(std::string& out, const std::vector<std::string>& row) {
  std::string payload;
  for (const std::string& column : row) {
    PutU32(payload, static_cast<uint32_t>(column.size()));
    payload += column;
  }
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU64(out, Fnv1a(payload.data(), payload.size()));
  out += payload;
}

// The records of `data` from `at` on, up to the first that is cut short or
// does not check out; `*end` is the offset after the last good one.
std::vector<std::vector<std::string>> ParseRecords(const std::string& data, size_t at,
                                                   size_t columns, int64_t* end) {
  std::vector<std::vector<std::string>> rows;
  *end = static_cast<int64_t>(at);
  while (data.size() - at >= 12) {
    const uint32_t length = static_cast<uint32_t>(GetLe(data.data() + at, 4));
    const uint64_t sum = GetLe(data.data() + at + 4, 8);
    if (length > kMaxPayload || data.size() - at - 12 < length) break;
    const char* payload = data.data() + at + 12;
    if (Fnv1a(payload, length) != sum) break;
    std::vector<std::string> row;
    size_t p = 0;
    bool ok = true;
    while (p < length) {
      if (length - p < 4) {
        ok = false;
        break;
      }
      const uint32_t n = static_cast<uint32_t>(GetLe(payload + p, 4));
      p += 4;
      if (n > length - p) {
        ok = false;
        break;
      }
      row.emplace_back(payload + p, n);
      p += n;
    }
    if (!ok || row.size() != columns) break;
    rows.push_back(std::move(row));
    at += 12 + length;
    *end = static_cast<int64_t>(at);
  }
  return rows;
}

std::string NewEpoch() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  char text[kEpochChars + 1];
  std::snprintf(text, sizeof text, "%016llx%016llx",
                static_cast<unsigned long long>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()),
                static_cast<unsigned long long>(::getpid()));
  return std::string(text, kEpochChars);
}

Status SysError(const std::string& what) {
  return Error::Unavailable("catalogue audit journal: " + what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("write");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

AuditJournal::AuditJournal(SqlStore& store, Options options)
    : store_(store), options_(std::move(options)), waiting_(std::make_unique<Waiting>()) {}

Result<std::unique_ptr<AuditJournal>> AuditJournal::Open(SqlStore& store, Options options) {
  std::unique_ptr<AuditJournal> j(new AuditJournal(store, std::move(options)));
  TB_RETURN_IF_ERROR(j->Recover());
  j->loader_ = std::thread([raw = j.get()] { raw->Load(); });
  pthread_setname_np(j->loader_.native_handle(), "tb-cat-audload");
  return j;
}

AuditJournal::~AuditJournal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    paused_ = false;
  }
  wake_.notify_all();
  if (loader_.joinable()) loader_.join();
  if (fd_ >= 0) ::close(fd_);
}

// What the database says was loaded, against the file's header: the rows
// after that point are loaded now; a file of another epoch (it started over
// after everything in it was loaded, and the database had not yet recorded
// the new epoch when the process ended) is read from its header.
Status AuditJournal::Recover() {
  const bool existed = std::filesystem::exists(options_.path);
  fd_ = ::open(options_.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return SysError("open " + options_.path);
  // One process at a time: another would load the rows the first still
  // holds in memory a second time.
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Error::Conflict("catalogue audit journal: " + options_.path +
                             " is in use by another process");
    }
    return SysError("lock");
  }
  if (!existed) {
    // The new file's directory entry is made durable, as a database file's is.
    std::string dir = std::filesystem::path(options_.path).parent_path().string();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  std::string data;
  {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return SysError("stat");
    data.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::pread(fd_, data.data() + got, data.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return SysError("read");
      got += static_cast<size_t>(n);
    }
  }
  std::string db_epoch;
  long long db_pos = 0;
  auto read = store_.WithSession([&](soci::session& sql) -> Status {
    soci::indicator ind = soci::i_null;
    sql << "SELECT epoch, pos FROM catalogue_audit_journal WHERE id = 1", soci::into(db_epoch, ind),
        soci::into(db_pos);
    if (!sql.got_data() || ind != soci::i_ok) db_epoch.clear();
    return Status::Ok();
  });
  if (!read.ok()) return read;

  const bool header_ok = data.size() >= kHeaderBytes && data.starts_with(kMagic) &&
                         data[kHeaderBytes - 1] == '\n';
  std::vector<std::vector<std::string>> rows;
  int64_t end = 0;
  if (header_ok) {
    epoch_ = data.substr(kMagic.size(), kEpochChars);
    size_t from = kHeaderBytes;
    if (epoch_ == db_epoch && db_pos > static_cast<long long>(kHeaderBytes)) {
      // Past the end only if the file lost a tail the database had loaded
      // (an OS crash): nothing of it is loaded twice.
      from = static_cast<size_t>(std::min<long long>(db_pos, static_cast<long long>(data.size())));
    }
    rows = ParseRecords(data, from, AuditColumns().size(), &end);
    if (end < static_cast<int64_t>(data.size())) {
      spdlog::warn("catalogue audit journal: {} bytes after the last whole record cut off",
                   static_cast<int64_t>(data.size()) - end);
      if (::ftruncate(fd_, end) != 0) return SysError("truncate");
    }
  } else {
    // New, or ended before its header was whole (nothing in it was ever
    // answered: rows follow a whole header).
    epoch_ = NewEpoch();
    std::string header(kMagic);
    header += epoch_;
    header.push_back('\n');
    if (::ftruncate(fd_, 0) != 0) return SysError("truncate");
    if (::lseek(fd_, 0, SEEK_SET) != 0) return SysError("seek");
    TB_RETURN_IF_ERROR(WriteAll(fd_, header));
    end = static_cast<int64_t>(kHeaderBytes);
  }
  if (::lseek(fd_, end, SEEK_SET) != end) return SysError("seek");
  header_bytes_ = static_cast<int64_t>(kHeaderBytes);
  written_end_ = end;
  const int64_t recovered = static_cast<int64_t>(rows.size());
  // Loaded (or none), and the database told where this file stands.
  TB_RETURN_IF_ERROR(LoadBatch(rows, end));
  loaded_end_ = end;
  counts_.recovered = recovered;
  if (recovered > 0) {
    spdlog::info("catalogue audit journal: {} rows written before the restart loaded", recovered);
  }
  return Status::Ok();
}

Status AuditJournal::Append(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return Status::Ok();
  std::string out;
  out.reserve(rows.size() * 256);
  std::vector<size_t> record_ends;  // within `out`
  record_ends.reserve(rows.size());
  for (const auto& row : rows) {
    AppendRecord(out, row);
    record_ends.push_back(out.size());
  }
  std::unique_lock lock(mu_);
  // Memory stays bounded when the loader falls behind (a starved core, a
  // database that refuses): the writer, and so the queries, wait for it.
  loaded_.wait(lock, [&] {
    return stopping_ || waiting_->rows.size() < options_.max_waiting_rows;
  });
  if (stopping_) return Error::Unavailable("catalogue audit journal: shutting down");
  // A failed write may have left part of a record: write the next ones after
  // the last whole one, so a replay never stops early at the torn one.
  if (::lseek(fd_, written_end_, SEEK_SET) != written_end_) return SysError("seek");
  TB_RETURN_IF_ERROR(WriteAll(fd_, out));
  if (waiting_->rows.empty()) waiting_->oldest = std::chrono::steady_clock::now();
  for (size_t i = 0; i < rows.size(); ++i) {
    waiting_->rows.push_back(rows[i]);
    waiting_->ends.push_back(written_end_ + static_cast<int64_t>(record_ends[i]));
  }
  written_end_ += static_cast<int64_t>(out.size());
  appended_rows_ += static_cast<int64_t>(rows.size());
  const bool full = waiting_->rows.size() >= options_.load_rows;
  lock.unlock();
  if (full) wake_.notify_all();
  return Status::Ok();
}

Status AuditJournal::Flush() {
  std::unique_lock lock(mu_);
  const int64_t target = appended_rows_;
  if (loaded_rows_ >= target) return Status::Ok();
  flush_target_ = std::max(flush_target_, target);
  wake_.notify_all();
  const uint64_t failures_before = load_failures_;
  loaded_.wait(lock, [&] {
    return loaded_rows_ >= target || stopping_ || load_failures_ != failures_before;
  });
  if (loaded_rows_ >= target) return Status::Ok();
  if (load_failures_ != failures_before) return last_failure_;
  return Error::Unavailable("catalogue audit journal: shutting down");
}

AuditJournal::Counts AuditJournal::counts() {
  std::lock_guard lock(mu_);
  return counts_;
}

void AuditJournal::AbandonForTest() {
  {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (loader_.joinable()) loader_.join();
}

void AuditJournal::PauseLoaderForTest(bool paused) {
  {
    std::lock_guard lock(mu_);
    paused_ = paused;
  }
  wake_.notify_all();
}

// In one transaction: the rows, and the offset after them with the file's
// epoch — so a restart loads what follows, and only that.
Status AuditJournal::LoadBatch(std::vector<std::vector<std::string>>& rows, int64_t end) {
  std::string epoch = epoch_;
  long long pos = end;
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!rows.empty()) {
      // InsertAuditRows takes the values (swaps them into its statement).
      std::vector<std::vector<std::string>> copy = rows;
      InsertAuditRows(store_, sql, copy);
    }
    sql << "DELETE FROM catalogue_audit_journal WHERE id = 1";
    sql << "INSERT INTO catalogue_audit_journal (id, epoch, pos) VALUES (1, :e, :p)",
        soci::use(epoch, "e"), soci::use(pos, "p");
    return Status::Ok();
  });
}

// The file starts over once it is large and every row in it is loaded: under
// mu_ (no append in between) it is emptied with a new epoch in its header,
// then the database learns the new epoch. Ending between the two is safe: a
// file whose epoch the database does not know is read from its header, and
// nothing in the old file was left unloaded.
Status AuditJournal::StartOver() {
  const std::string epoch = NewEpoch();
  std::string header(kMagic);
  header += epoch;
  header.push_back('\n');
  if (::ftruncate(fd_, 0) != 0) return SysError("truncate");
  if (::lseek(fd_, 0, SEEK_SET) != 0) return SysError("seek");
  epoch_ = epoch;
  written_end_ = 0;
  TB_RETURN_IF_ERROR(WriteAll(fd_, header));
  written_end_ = static_cast<int64_t>(header.size());
  loaded_end_ = written_end_;
  std::vector<std::vector<std::string>> none;
  TB_RETURN_IF_ERROR(LoadBatch(none, written_end_));
  ++counts_.restarts;
  return Status::Ok();
}

void AuditJournal::Load() {
  // The rows are safe in the file already: loading them may wait for the
  // threads that answer queries, never the other way round.
  LowerThisThreadsPriority(10);
  std::unique_lock lock(mu_);
  for (;;) {
    const auto due = waiting_->oldest + options_.load_interval;
    auto ready = [&] {
      if (stopping_) return true;
      if (paused_ || waiting_->rows.empty()) return false;
      return waiting_->rows.size() >= options_.load_rows || flush_target_ > loaded_rows_ ||
             std::chrono::steady_clock::now() >= due;
    };
    if (waiting_->rows.empty() || paused_) {
      wake_.wait(lock, ready);
    } else {
      wake_.wait_until(lock, due, ready);
    }
    if (abandoned_) return;
    if (waiting_->rows.empty()) {
      if (stopping_) return;
      continue;
    }
    if (!ready()) continue;
    // At most load_rows a transaction: the loader holds the database's write
    // lock (and, niced, the core) for a few milliseconds at a time, not for
    // a backlog's whole length.
    std::vector<std::vector<std::string>> rows;
    std::vector<int64_t> ends;
    const size_t take = std::min(waiting_->rows.size(), options_.load_rows);
    if (take == waiting_->rows.size()) {
      rows.swap(waiting_->rows);
      ends.swap(waiting_->ends);
    } else {
      const auto n = static_cast<std::ptrdiff_t>(take);
      rows.assign(std::make_move_iterator(waiting_->rows.begin()),
                  std::make_move_iterator(waiting_->rows.begin() + n));
      ends.assign(waiting_->ends.begin(), waiting_->ends.begin() + n);
      waiting_->rows.erase(waiting_->rows.begin(), waiting_->rows.begin() + n);
      waiting_->ends.erase(waiting_->ends.begin(), waiting_->ends.begin() + n);
    }
    const int64_t end = ends.back();
    lock.unlock();
    Status st = LoadBatch(rows, end);
    lock.lock();
    if (!st.ok()) {
      // The rows stay in the file and go back to the front of the queue; the
      // next try comes a load interval later (or at the next start).
      spdlog::error("catalogue audit journal: loading into catalogue_audit failed: {}",
                    st.error().message);
      rows.insert(rows.end(), std::make_move_iterator(waiting_->rows.begin()),
                  std::make_move_iterator(waiting_->rows.end()));
      ends.insert(ends.end(), waiting_->ends.begin(), waiting_->ends.end());
      waiting_->rows = std::move(rows);
      waiting_->ends = std::move(ends);
      waiting_->oldest = std::chrono::steady_clock::now();
      last_failure_ = st;
      ++load_failures_;
      loaded_.notify_all();
      if (stopping_) return;
      continue;
    }
    loaded_end_ = end;
    loaded_rows_ += static_cast<int64_t>(rows.size());
    counts_.rows_loaded += static_cast<int64_t>(rows.size());
    ++counts_.loads;
    if (waiting_->rows.empty() && loaded_end_ == written_end_ &&
        written_end_ >= options_.restart_bytes) {
      if (Status over = StartOver(); !over.ok()) {
        spdlog::error("catalogue audit journal: starting the file over failed: {}",
                      over.error().message);
      }
    }
    loaded_.notify_all();
  }
}

}  // namespace tongban::catalogue
