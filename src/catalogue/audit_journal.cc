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

#include "catalogue/audit_rows.h"
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

// The records of `data` (the file's bytes from offset `base` on), up to the
// first that is cut short or does not check out; each row's end offset in
// the file goes to `ends`, and `*end` is the offset after the last good one.
std::vector<std::vector<std::string>> ParseRecords(const std::string& data, int64_t base,
                                                   size_t columns, std::vector<int64_t>& ends,
                                                   int64_t* end) {
  std::vector<std::vector<std::string>> rows;
  size_t at = 0;
  *end = base;
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
    *end = base + static_cast<int64_t>(at);
    ends.push_back(*end);
  }
  return rows;
}

Status ReadFrom(int fd, int64_t from, int64_t size, std::string& out) {
  out.resize(static_cast<size_t>(std::max<int64_t>(0, size - from)));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(from) +
                                                                   static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::Unavailable("catalogue audit journal: read: " +
                                          std::string(n < 0 ? std::strerror(errno) : "short"));
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
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

// What the database says was loaded of this file (the row of its epoch),
// against the file: the rows after that point are loaded now, in
// transactions of load_rows each recording how far it got. A file whose
// epoch the database does not know is read from its header: it started over
// holding only what its earlier life had not loaded, and the database had not
// yet recorded the new epoch when the process ended (or it is new). Rows of
// other epochs — another file's, say a `data_dir` of another working
// directory beside the same database — are never this file's position.
Status AuditJournal::Recover() {
  const bool existed = std::filesystem::exists(options_.path);
  // One process at a time: another would load the rows the first still
  // holds in memory a second time. The lock is the file's, not the name's:
  // a holder that started the file over (StartOver: a new file renamed over
  // this name) released the old one, so a lock on what this open found must
  // still be on the file the name gives, or it is taken again.
  for (int attempt = 0;; ++attempt) {
    fd_ = ::open(options_.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return SysError("open " + options_.path);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Error::Conflict("catalogue audit journal: " + options_.path +
                               " is in use by another process");
      }
      return SysError("lock");
    }
    struct stat held {}, named {};
    if (::fstat(fd_, &held) != 0) return SysError("stat");
    if (::stat(options_.path.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
        named.st_ino == held.st_ino) {
      break;
    }
    ::close(fd_);
    fd_ = -1;
    if (attempt == 3) {
      return Error::Conflict("catalogue audit journal: " + options_.path +
                             " keeps being replaced by another process");
    }
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
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return SysError("stat");
  const int64_t size = st.st_size;
  std::string header;
  TB_RETURN_IF_ERROR(ReadFrom(fd_, 0, std::min<int64_t>(size, kHeaderBytes), header));
  const bool header_ok = header.size() == kHeaderBytes && header.starts_with(kMagic) &&
                         header.back() == '\n';
  header_bytes_ = static_cast<int64_t>(kHeaderBytes);
  if (!header_ok) {
    // New, or ended before its header was whole (nothing in it was ever
    // answered: rows follow a whole header).
    TB_RETURN_IF_ERROR(WriteFreshHeader());
    std::vector<std::vector<std::string>> none;
    return LoadBatch(none, written_end_);
  }
  epoch_ = header.substr(kMagic.size(), kEpochChars);
  long long db_pos = 0;
  bool known = false;
  auto read = store_.WithSession([&](soci::session& sql) -> Status {
    sql << "SELECT pos FROM catalogue_audit_journal WHERE epoch = :e", soci::use(epoch_, "e"),
        soci::into(db_pos);
    known = sql.got_data();
    return Status::Ok();
  });
  if (!read.ok()) return read;
  int64_t from = header_bytes_;
  // Past the end only if the file lost a tail the database had loaded (an OS
  // crash): nothing of it is loaded twice.
  if (known && db_pos > from) from = std::min<int64_t>(db_pos, size);
  std::string data;
  TB_RETURN_IF_ERROR(ReadFrom(fd_, from, size, data));
  std::vector<int64_t> ends;
  int64_t end = from;
  std::vector<std::vector<std::string>> rows =
      ParseRecords(data, from, AuditColumns().size(), ends, &end);
  data.clear();
  if (end < size) {
    spdlog::warn("catalogue audit journal: {} bytes after the last whole record cut off",
                 size - end);
    if (::ftruncate(fd_, end) != 0) return SysError("truncate");
  }
  if (::lseek(fd_, end, SEEK_SET) != end) return SysError("seek");
  written_end_ = end;
  const int64_t recovered = static_cast<int64_t>(rows.size());
  // In transactions of load_rows, each recording its end (or just this
  // file's position when there is nothing to load).
  size_t done = 0;
  do {
    const size_t take = std::min(rows.size() - done, options_.load_rows);
    std::vector<std::vector<std::string>> chunk(
        std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(done)),
        std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(done + take)));
    const int64_t chunk_end = take == 0 ? end : ends[done + take - 1];
    TB_RETURN_IF_ERROR(LoadBatch(chunk, chunk_end));
    done += take;
  } while (done < rows.size());
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
  // database that refuses), and the file starts over once it is large: the
  // writer, and so the queries, wait for the loader then (at shutdown it
  // waits no more: see ReleaseWaits).
  // At twice restart_bytes they wait only while the loader has rows to load:
  // with nothing left and the file still large, starting over failed (it is
  // tried again after the next load), and waiting would never end.
  loaded_.wait(lock, [&] {
    return stopping_ || released_ ||
           ((written_end_ < 2 * options_.restart_bytes || waiting_->rows.empty()) &&
            waiting_->rows.size() < options_.max_waiting_rows);
  });
  if (stopping_) return Error::Unavailable("catalogue audit journal: shutting down");
  if (::lseek(fd_, written_end_, SEEK_SET) != written_end_) return SysError("seek");
  if (Status wrote = WriteAll(fd_, out); !wrote.ok()) {
    // Part of the batch may be in the file: cut it, so that no record of a
    // query answered with this error is loaded later, and the next records
    // follow the last whole one.
    if (::ftruncate(fd_, written_end_) != 0) {
      spdlog::error("catalogue audit journal: cutting a failed write: {}", std::strerror(errno));
    }
    return wrote;
  }
  const bool was_empty = waiting_->rows.empty();
  if (was_empty) waiting_->oldest = std::chrono::steady_clock::now();
  for (size_t i = 0; i < rows.size(); ++i) {
    waiting_->rows.push_back(rows[i]);
    waiting_->ends.push_back(written_end_ + static_cast<int64_t>(record_ends[i]));
  }
  written_end_ += static_cast<int64_t>(out.size());
  appended_rows_ += static_cast<int64_t>(rows.size());
  if (written_end_ >= options_.restart_bytes) draining_ = true;
  // The loader sleeps without a deadline while nothing waits: the first
  // rows start its interval, a full load or a start-over wakes it at once.
  const bool wake = was_empty || draining_ || waiting_->rows.size() >= options_.load_rows;
  lock.unlock();
  if (wake) wake_.notify_all();
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

void AuditJournal::ReleaseWaits() {
  {
    std::lock_guard lock(mu_);
    released_ = true;
  }
  loaded_.notify_all();
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
    RecordPosition(sql, epoch, pos);
    return Status::Ok();
  });
}

void AuditJournal::RecordPosition(soci::session& sql, const std::string& epoch, int64_t pos) {
  long long p = pos;
  sql << "DELETE FROM catalogue_audit_journal WHERE epoch = :e", soci::use(epoch, "e");
  sql << "INSERT INTO catalogue_audit_journal (epoch, pos) VALUES (:e, :p)",
      soci::use(epoch, "e"), soci::use(p, "p");
}

Status AuditJournal::WriteFreshHeader() {
  epoch_ = NewEpoch();
  std::string header(kMagic);
  header += epoch_;
  header.push_back('\n');
  if (::ftruncate(fd_, 0) != 0) return SysError("truncate");
  if (::lseek(fd_, 0, SEEK_SET) != 0) return SysError("seek");
  written_end_ = 0;
  TB_RETURN_IF_ERROR(WriteAll(fd_, header));
  written_end_ = loaded_end_ = header_bytes_;
  return Status::Ok();
}

// The file starts over once it is large, without making appends wait for
// the loader: under mu_ a new file gets a new epoch's header and the records
// not yet loaded (re-written from memory, byte for byte as appended), is
// synced and renamed over the old one, and appends go on into it. A kill -9
// leaves either file whole: the old one with its epoch's position, or the new
// one, whose epoch the database does not know yet, read from its header —
// exactly the rows not loaded. The database learns the new epoch afterwards
// (RecordStartOver), outside mu_.
Status AuditJournal::StartOver() {
  const std::string next_epoch = NewEpoch();
  std::string out(kMagic);
  out += next_epoch;
  out.push_back('\n');
  std::vector<int64_t> ends;
  ends.reserve(waiting_->rows.size());
  for (const auto& row : waiting_->rows) {
    AppendRecord(out, row);
    ends.push_back(static_cast<int64_t>(out.size()));
  }
  const std::string fresh = options_.path + ".new";
  const int fd = ::open(fresh.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return SysError("open " + fresh);
  auto fail = [&](Status why) {
    ::close(fd);
    ::unlink(fresh.c_str());
    return why;
  };
  // Held before the name is the journal's: another process opening it then
  // finds it locked, as it found the old one.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return fail(SysError("lock " + fresh));
  if (Status wrote = WriteAll(fd, out); !wrote.ok()) return fail(wrote);
  if (::fdatasync(fd) != 0) return fail(SysError("sync " + fresh));
  if (::rename(fresh.c_str(), options_.path.c_str()) != 0) return fail(SysError("rename"));
  ::close(fd_);
  fd_ = fd;
  epoch_ = next_epoch;
  written_end_ = static_cast<int64_t>(out.size());
  loaded_end_ = header_bytes_;
  waiting_->ends = std::move(ends);
  ++counts_.restarts;
  return Status::Ok();
}

// After StartOver, on the loader without mu_: the rename made durable (the
// directory synced), then the new epoch's position recorded and the old
// epoch's row removed. A failure only leaves the new epoch unknown for now,
// which a restart handles (read from the header); the next load records it.
void AuditJournal::RecordStartOver(const std::string& old_epoch, const std::string& epoch) {
  std::string dir = std::filesystem::path(options_.path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  Status recorded = store_.WithTransaction([&](soci::session& sql) -> Status {
    sql << "DELETE FROM catalogue_audit_journal WHERE epoch = :e", soci::use(old_epoch, "e");
    RecordPosition(sql, epoch, header_bytes_);
    return Status::Ok();
  });
  if (!recorded.ok()) {
    spdlog::warn("catalogue audit journal: recording the new file's epoch: {}",
                 recorded.error().message);
  }
}

void AuditJournal::Load() {
  // The rows are safe in the file already: loading them may wait for the
  // threads that answer queries, never the other way round.
  LowerThisThreadsPriority(10);
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  for (;;) {
    if (abandoned_) return;
    if (stopping_ && waiting_->rows.empty()) return;
    // What makes a load due now: stopping (load what waits, then end), a
    // full load, a Flush or a start-over waiting for it, or the interval
    // since the oldest waiting row — never sooner than a failed load's backoff.
    auto due_at = [&] { return std::max(waiting_->oldest + options_.load_interval, retry_at_); };
    auto ready = [&] {
      if (stopping_) return true;
      if (paused_ || waiting_->rows.empty()) return false;
      if (Clock::now() < retry_at_) return false;
      return waiting_->rows.size() >= options_.load_rows || flush_target_ > loaded_rows_ ||
             draining_ || Clock::now() >= due_at();
    };
    if (waiting_->rows.empty() || paused_) {
      wake_.wait(lock, [&] { return stopping_ || (!paused_ && !waiting_->rows.empty()); });
      continue;  // the deadline follows from the rows now waiting
    }
    if (!ready()) {
      wake_.wait_until(lock, due_at());
      continue;
    }
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
      retry_at_ = Clock::now() + options_.load_interval;
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
    // Started over once what is left to load is small (a few loads' worth;
    // it is copied under mu_); a loader far behind first catches up, appends
    // going on until the file is twice restart_bytes.
    if (draining_ && written_end_ - loaded_end_ <= options_.restart_bytes / 8 &&
        Clock::now() >= start_over_retry_at_) {
      const std::string old_epoch = epoch_;
      if (Status over = StartOver(); !over.ok()) {
        // Appends go on meanwhile (at twice restart_bytes only while rows
        // wait for the loader); not tried again for a load interval.
        spdlog::error("catalogue audit journal: starting the file over failed (tried again "
                      "after a load interval): {}", over.error().message);
        start_over_retry_at_ = Clock::now() + options_.load_interval;
      } else {
        draining_ = false;
        const std::string epoch = epoch_;
        loaded_.notify_all();
        lock.unlock();
        RecordStartOver(old_epoch, epoch);
        lock.lock();
      }
    }
    loaded_.notify_all();
  }
}

}  // namespace tongban::catalogue
