#include "exchange/transfer.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>

#include "core/utf8.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "store/sql_dialect.h"

namespace tongban::exchange {
namespace {

constexpr const char* kTransfersV1 = R"sql(
CREATE TABLE exchange_transfers (
  id {KEY} NOT NULL PRIMARY KEY,
  file_name {TEXT} NOT NULL,
  byte_size BIGINT NOT NULL,
  chunk_size BIGINT NOT NULL,
  digest_alg {KEY} NOT NULL,
  digest {KEY} NOT NULL,
  resource_code {KEY} NOT NULL,
  sender {KEY} NOT NULL,
  cipher {KEY} NOT NULL,
  sealed_key {TEXT} NOT NULL,
  state {KEY} NOT NULL,
  fail_reason {TEXT} NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  completed_ms BIGINT NOT NULL
){END};
CREATE INDEX exchange_transfers_by_sender ON exchange_transfers (sender, created_ms);
CREATE INDEX exchange_transfers_by_time ON exchange_transfers (created_ms);

CREATE TABLE exchange_transfer_subscribers (
  transfer_id {KEY} NOT NULL,
  subscriber {KEY} NOT NULL,
  PRIMARY KEY (transfer_id, subscriber)
){END};

CREATE TABLE exchange_transfer_chunks (
  transfer_id {KEY} NOT NULL,
  idx BIGINT NOT NULL,
  chunk_length BIGINT NOT NULL,
  sha256 {KEY} NOT NULL,
  iv {KEY} NOT NULL,
  tag {KEY} NOT NULL,
  received_ms BIGINT NOT NULL,
  PRIMARY KEY (transfer_id, idx)
){END};

CREATE TABLE exchange_transfer_inbox (
  subscriber {KEY} NOT NULL,
  transfer_id {KEY} NOT NULL,
  delivered_ms BIGINT NOT NULL,
  acknowledged_ms BIGINT NOT NULL,
  PRIMARY KEY (subscriber, transfer_id)
){END};
CREATE INDEX exchange_transfer_inbox_by_transfer ON exchange_transfer_inbox (transfer_id);
)sql";

constexpr std::string_view kTransferColumns =
    "id, file_name, byte_size, chunk_size, digest_alg, digest, resource_code, sender, cipher, "
    "state, fail_reason, created_ms, updated_ms, completed_ms";

Error Coded(int code, std::string message) { return Error{code, std::move(message)}; }

std::string ErrnoText(int err) { return std::strerror(err); }

bool IsLowerHex(std::string_view s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ValidId(std::string_view id) { return IsLowerHex(id, 32); }

// A servicecode as a directory name: kept when it is plainly safe, else hex.
std::string SubscriberDirName(std::string_view subscriber) {
  const bool plain = !subscriber.empty() && subscriber.size() <= 64 && subscriber[0] != '.' &&
                     std::all_of(subscriber.begin(), subscriber.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                     });
  return plain ? std::string(subscriber) : "x-" + crypto::HexEncode(subscriber);
}

// Names come from department systems and reach subscribers' file systems.
Status CheckFileName(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return Error::InvalidArgument("name must be 1 to 255 bytes");
  }
  if (name == "." || name == "..") return Error::InvalidArgument("name must be a file name");
  for (char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error::InvalidArgument("name must not contain slashes or control characters");
    }
  }
  if (!IsValidUtf8(name)) return Error::InvalidArgument("name must be UTF-8");
  // Bidirectional formatting characters let a name show another extension
  // than it has ("a\u202Egpj.exe" shows as "aexe.jpg"): a subscriber's clerk
  // sees the name before opening the file (review16a).
  static constexpr std::string_view kBidi[] = {
      "\xE2\x80\x8E", "\xE2\x80\x8F", "\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC",
      "\xE2\x80\xAD", "\xE2\x80\xAE", "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8",
      "\xE2\x81\xA9", "\xD8\x9C"};
  for (std::string_view mark : kBidi) {
    if (name.find(mark) != std::string_view::npos) {
      return Error::InvalidArgument("name must not contain bidirectional formatting characters");
    }
  }
  return Status::Ok();
}

// Free bytes on the file system of `dir`, as an unprivileged process may use them.
Result<int64_t> FreeDiskBytes(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) {
    return Error::Unavailable("cannot read the free disk space: " + ErrnoText(errno));
  }
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

// RAII file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

Status PwriteAll(int fd, std::string_view bytes, int64_t offset) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Nothing is allocated at start: a full disk shows here, as the start's
      // refusal would (507), not as a fault to retry at once.
      if (errno == ENOSPC || errno == EDQUOT) {
        return Coded(transfer_code::kDiskFull, "the server's disk is full: " + ErrnoText(errno));
      }
      return Error::Unavailable("transfer file write failed: " + ErrnoText(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return Status::Ok();
}

Status PreadAll(int fd, char* out, size_t size, int64_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Unavailable("transfer file read failed: " + ErrnoText(errno));
    }
    if (n == 0) return Error::Internal("transfer file shorter than recorded");
    out += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return Status::Ok();
}

Status SyncDirectory(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok() || ::fsync(fd.get()) != 0) {
    return Error::Unavailable("cannot sync directory " + dir.string() + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

Status MakeDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::Unavailable("cannot create " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

struct ChunkRow {
  int64_t index = 0;
  int64_t length = 0;
  std::string sha256;
  std::string iv;   // raw
  std::string tag;  // raw
};

}  // namespace

std::string_view TransferStateName(TransferState state) {
  switch (state) {
    case TransferState::kDelivered:
      return "delivered";
    case TransferState::kFailed:
      return "failed";
    case TransferState::kReceiving:
      break;
  }
  return "receiving";
}

int64_t Transfer::ChunkLength(int64_t index) const {
  return std::min(chunk_size, size - index * chunk_size);
}

struct TransferStore::Impl {
  SqlStore& sql;
  const crypto::SecretBox& box;
  Clock& clock;
  Random& random;
  TransferOptions options;
  std::filesystem::path partial_dir;
  std::filesystem::path inbox_dir;

  // Chunks being written and transfers being completed in this process, so
  // that two writers of one offset never interleave in the file.
  std::mutex busy_mu;
  std::set<std::string> busy;

  Impl(SqlStore& s, const crypto::SecretBox& b, Clock& c, Random& r, TransferOptions o)
      : sql(s), box(b), clock(c), random(r), options(std::move(o)) {
    partial_dir = options.dir / "partial";
    inbox_dir = options.dir / "inbox";
  }

  // A receiving transfer becomes failed with `reason` and its partial file goes (Cancel,
  // expiry). idle_before_ms > 0: only when it had no chunk since then (Conflict otherwise).
  Status FailReceiving(const std::string& key, const std::string& reason, int64_t idle_before_ms);
  std::atomic<int64_t> last_sweep_ms{0};

  // Start's quota check and its INSERT, one at a time in this process.
  std::mutex start_mu;

  // The whole-file digest of a receiving transfer, advanced over chunks 0..next-1 as they
  // are stored (Advance). Only in memory: a restart loses it and it starts again from chunk 0,
  // reading back what is stored. Only the thread that set `advancing` touches digest.
  struct RunningDigest {
    std::mutex mu;
    std::condition_variable idle;  // advancing went false
    bool advancing = false;
    bool loaded = false;   // `stored` holds every index recorded before this process saw one
    bool stalled = false;  // a chunk read back wrong: Complete reads the file through
    int64_t next = 0;      // chunks [0, next) are in the digest
    // Recorded chunks at or past `next`; true = written by this process (its bytes are the
    // acknowledged ones: no power loss can have come between, it would have ended us too).
    std::map<int64_t, bool> stored;
    std::unique_ptr<StreamingDigest> digest;
    std::string final_hex;  // once next == chunk_count
  };
  std::mutex running_mu;
  std::map<std::string, std::shared_ptr<RunningDigest>> running;
  std::atomic<int64_t> read_back_bytes{0};

  std::shared_ptr<RunningDigest> RunningFor(const std::string& key, const Transfer& t) {
    std::lock_guard lock(running_mu);
    auto& slot = running[key];
    if (!slot) {
      slot = std::make_shared<RunningDigest>();
      slot->digest = std::make_unique<StreamingDigest>(t.digest_algorithm);
    }
    return slot;
  }
  void ForgetRunning(const std::string& key) {
    std::lock_guard lock(running_mu);
    running.erase(key);
  }

  // Chunk `index` of `t` was recorded (plaintext `in_hand` when the caller has it, else
  // nullopt; index < 0: nothing new, just catch up). Hashes every chunk from `next` on that
  // is stored, the caller's from its bytes, others read back from the partial file. When
  // another thread is advancing it picks the chunk up instead. Errors only stop the advance:
  // Complete reads back whatever the digest lacks.
  void Advance(const std::string& key, const Transfer& t, const ChunkCipher& cipher,
               int64_t index, std::optional<std::string_view> in_hand);

  // Holds a busy mark for its lifetime; !held() when someone else has it.
  class BusyMark {
   public:
    BusyMark(Impl& impl, std::string key) : impl_(impl), key_(std::move(key)) {
      std::lock_guard lock(impl_.busy_mu);
      held_ = impl_.busy.insert(key_).second;
    }
    ~BusyMark() {
      if (!held_) return;
      std::lock_guard lock(impl_.busy_mu);
      impl_.busy.erase(key_);
    }
    BusyMark(const BusyMark&) = delete;
    BusyMark& operator=(const BusyMark&) = delete;
    bool held() const { return held_; }

   private:
    Impl& impl_;
    std::string key_;
    bool held_ = false;
  };

  std::filesystem::path PartialPath(std::string_view id) const {
    return partial_dir / (std::string(id) + ".part");
  }
  std::filesystem::path InboxPath(std::string_view subscriber, std::string_view id) const {
    return inbox_dir / SubscriberDirName(subscriber) / std::string(id);
  }

  static std::string SealContext(std::string_view id) {
    return "exchange-transfer:" + std::string(id);
  }

  Result<ChunkCipher> CipherOf(const Transfer& t, const std::string& sealed_key) const {
    if (t.cipher == TransferCipher::kNone) return ChunkCipher::Create(TransferCipher::kNone, "");
    auto key_hex = box.Open(sealed_key, SealContext(t.id));
    if (!key_hex.ok())
      return Error::Internal("transfer key does not open: " + key_hex.error().message);
    auto key = crypto::HexDecode(*key_hex);
    if (!key.ok()) return Error::Internal("transfer key is malformed");
    return ChunkCipher::Create(t.cipher, std::move(*key));
  }

  // Reads one transfer (and its sealed key) inside `s`.
  Result<Transfer> Load(soci::session& s, const std::string& id, std::string* sealed_key,
                        bool for_update) {
    Transfer t;
    std::string alg, cipher, state;
    long long size = 0, chunk = 0, created = 0, updated = 0, completed = 0;
    std::string sealed;
    soci::indicator found = soci::i_null;
    std::string query = "SELECT " + std::string(kTransferColumns) +
                        ", sealed_key FROM exchange_transfers WHERE id = :id";
    if (for_update) query += sql_dialect::ForUpdate(sql.dialect());
    s << query, soci::use(id, "id"), soci::into(t.id, found), soci::into(t.name), soci::into(size),
        soci::into(chunk), soci::into(alg), soci::into(t.digest), soci::into(t.resource_code),
        soci::into(t.sender), soci::into(cipher), soci::into(state), soci::into(t.error),
        soci::into(created), soci::into(updated), soci::into(completed), soci::into(sealed);
    if (!s.got_data() || found != soci::i_ok) return Error::NotFound("no such transfer");
    t.size = size;
    t.chunk_size = chunk;
    auto a = ParseDigestAlgorithm(alg);
    if (!a.ok()) return Error::Internal("transfer has an unknown digest algorithm " + alg);
    t.digest_algorithm = *a;
    auto c = ParseTransferCipher(cipher);
    if (!c.ok()) return Error::Internal("transfer has an unknown cipher " + cipher);
    t.cipher = *c;
    t.state = state == "delivered" ? TransferState::kDelivered
              : state == "failed"  ? TransferState::kFailed
                                   : TransferState::kReceiving;
    t.created_ms = created;
    t.updated_ms = updated;
    t.completed_ms = completed;
    if (sealed_key) *sealed_key = std::move(sealed);
    std::string subscriber;
    soci::statement subs = (s.prepare << "SELECT subscriber FROM exchange_transfer_subscribers "
                                         "WHERE transfer_id = :id ORDER BY subscriber",
                            soci::use(id, "id"), soci::into(subscriber));
    if (subs.execute(true)) {
      do t.subscribers.push_back(subscriber);
      while (subs.fetch());
    }
    long long count = 0, bytes = 0;
    soci::indicator bytes_ind = soci::i_null;
    s << "SELECT COUNT(*), SUM(chunk_length) FROM exchange_transfer_chunks WHERE transfer_id = :id",
        soci::use(id, "id"), soci::into(count), soci::into(bytes, bytes_ind);
    t.received_chunks = count;
    t.received_bytes = bytes_ind == soci::i_ok ? bytes : 0;
    return t;
  }

  // The chunk rows with first <= index <= last, in index order.
  Result<std::vector<ChunkRow>> LoadChunks(soci::session& s, const std::string& id,
                                           int64_t first = 0,
                                           int64_t last = std::numeric_limits<int64_t>::max()) {
    std::vector<ChunkRow> out;
    long long index = 0, length = 0, from = first, to = last;
    std::string sha, iv, tag;
    soci::statement st =
        (s.prepare << "SELECT idx, chunk_length, sha256, iv, tag FROM exchange_transfer_chunks "
                      "WHERE transfer_id = :id AND idx >= :a AND idx <= :b ORDER BY idx",
         soci::use(id, "id"), soci::use(from, "a"), soci::use(to, "b"), soci::into(index),
         soci::into(length), soci::into(sha), soci::into(iv), soci::into(tag));
    if (st.execute(true)) {
      do {
        ChunkRow row;
        row.index = index;
        row.length = length;
        row.sha256 = sha;
        auto raw_iv = crypto::HexDecode(iv);
        auto raw_tag = crypto::HexDecode(tag);
        if (!raw_iv.ok() || !raw_tag.ok()) return Error::Internal("chunk row has malformed hex");
        row.iv = std::move(*raw_iv);
        row.tag = std::move(*raw_tag);
        out.push_back(std::move(row));
      } while (st.fetch());
    }
    return out;
  }

  // The subscriber's inbox, or its entry for `transfer_id` when not empty.
  Result<std::vector<InboxEntry>> QueryInbox(std::string_view subscriber,
                                             std::string_view transfer_id,
                                             bool include_acknowledged) {
    std::string sub(subscriber), only(transfer_id);
    return sql.WithSession([&](soci::session& s) -> Result<std::vector<InboxEntry>> {
      std::vector<InboxEntry> out;
      InboxEntry e;
      std::string alg;
      long long size = 0, delivered = 0, acked = 0;
      std::string query =
          "SELECT i.transfer_id, t.file_name, t.byte_size, t.digest_alg, t.digest, t.sender, "
          "t.resource_code, i.delivered_ms, i.acknowledged_ms FROM exchange_transfer_inbox i "
          "JOIN exchange_transfers t ON t.id = i.transfer_id WHERE i.subscriber = :s";
      if (!include_acknowledged) query += " AND i.acknowledged_ms = 0";
      if (!only.empty()) query += " AND i.transfer_id = :t";
      query += " ORDER BY i.delivered_ms, i.transfer_id";
      soci::statement st(s);
      st.exchange(soci::use(sub, "s"));
      if (!only.empty()) st.exchange(soci::use(only, "t"));
      st.exchange(soci::into(e.transfer_id));
      st.exchange(soci::into(e.name));
      st.exchange(soci::into(size));
      st.exchange(soci::into(alg));
      st.exchange(soci::into(e.digest));
      st.exchange(soci::into(e.sender));
      st.exchange(soci::into(e.resource_code));
      st.exchange(soci::into(delivered));
      st.exchange(soci::into(acked));
      st.alloc();
      st.prepare(query);
      st.define_and_bind();
      if (st.execute(true)) {
        do {
          e.subscriber = sub;
          e.size = size;
          auto a = ParseDigestAlgorithm(alg);
          if (!a.ok()) return Error::Internal("transfer has an unknown digest algorithm " + alg);
          e.digest_algorithm = *a;
          e.delivered_ms = delivered;
          e.acknowledged_ms = acked;
          out.push_back(e);
        } while (st.fetch());
      }
      return out;
    });
  }

  // Reads plaintext chunk `row` of `t` from `fd` into `buffer`.
  Status ReadChunk(int fd, const Transfer& t, const ChunkCipher& cipher, const ChunkRow& row,
                   std::string& buffer) {
    buffer.resize(static_cast<size_t>(row.length));
    TB_RETURN_IF_ERROR(PreadAll(fd, buffer.data(), buffer.size(), row.index * t.chunk_size));
    return cipher.Open(buffer, row.iv, row.tag);
  }
};

void TransferStore::Impl::Advance(const std::string& key, const Transfer& t,
                                  const ChunkCipher& cipher, int64_t index,
                                  std::optional<std::string_view> in_hand) {
  std::shared_ptr<RunningDigest> r = RunningFor(key, t);
  std::unique_lock lock(r->mu);
  if (!r->loaded) {
    // First sight of this transfer in this process: what was stored before (an earlier run)
    // is read back as the digest reaches it. A transfer no longer receiving (completed or
    // cancelled since the caller looked) keeps no state.
    auto indexes = sql.WithSession([&](soci::session& s) -> Result<std::vector<int64_t>> {
      std::string state;
      s << "SELECT state FROM exchange_transfers WHERE id = :t", soci::use(key, "t"),
          soci::into(state);
      if (state != "receiving") return Error::Conflict("the transfer is " + state);
      soci::rowset<long long> rows =
          (s.prepare << "SELECT idx FROM exchange_transfer_chunks WHERE transfer_id = :t",
           soci::use(key, "t"));
      return std::vector<int64_t>(rows.begin(), rows.end());
    });
    if (!indexes.ok()) {
      lock.unlock();
      ForgetRunning(key);
      return;
    }
    for (int64_t i : *indexes) {
      if (i >= r->next) r->stored.emplace(i, false);
    }
    r->loaded = true;
  }
  if (index >= r->next) r->stored[index] = true;
  if (r->advancing || r->stalled) return;
  r->advancing = true;
  const int64_t count = t.chunk_count();
  std::string buffer;
  while (r->next < count) {
    auto it = r->stored.find(r->next);
    if (it == r->stored.end()) break;
    const int64_t at = r->next;
    const bool written_here = it->second;
    lock.unlock();
    bool hashed = false;
    if (in_hand && at == index) {
      r->digest->Update(*in_hand);
      hashed = true;
    } else {
      auto rows = sql.WithSession([&](soci::session& s) { return LoadChunks(s, key, at, at); });
      Fd fd(::open(PartialPath(key).c_str(), O_RDONLY | O_CLOEXEC));
      if (rows.ok() && rows->size() == 1 && fd.ok() &&
          ReadChunk(fd.get(), t, cipher, rows->front(), buffer).ok()) {
        read_back_bytes += static_cast<int64_t>(buffer.size());
        // Without sync_each_chunk, bytes from before a restart may not be what was
        // acknowledged (a power loss): checked against the recorded SHA-256 (AEAD checks its own).
        if (written_here || options.sync_each_chunk || t.cipher != TransferCipher::kNone ||
            crypto::Sha256Hex(buffer) == rows->front().sha256) {
          r->digest->Update(buffer);
          hashed = true;
        }
      }
    }
    lock.lock();
    if (!hashed) {
      r->stalled = true;
      break;
    }
    r->stored.erase(at);
    ++r->next;
  }
  if (r->next == count && r->final_hex.empty() && !r->stalled) {
    r->final_hex = r->digest->FinalHex();
  }
  r->advancing = false;
  lock.unlock();
  r->idle.notify_all();
}

TransferStore::TransferStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TransferStore::~TransferStore() = default;

// Version 2: a sender's open transfers at a glance — a start counts the bytes
// they still have to receive (review16a, review16c).
constexpr const char* kTransfersV2 = R"sql(
CREATE INDEX exchange_transfers_by_sender_state ON exchange_transfers (sender, state);
)sql";

std::vector<Migration> TransferStore::Migrations() {
  return {PortableMigration("exchange_transfers", 1, kTransfersV1),
          PortableMigration("exchange_transfers", 2, kTransfersV2)};
}

Result<std::unique_ptr<TransferStore>> TransferStore::Open(SqlStore& sql,
                                                           const crypto::SecretBox& box,
                                                           Clock& clock, Random& random,
                                                           TransferOptions options) {
  if (options.dir.empty()) return Error::InvalidArgument("transfers: no directory configured");
  if (options.min_chunk_size <= 0 || options.max_chunk_size < options.min_chunk_size ||
      options.default_chunk_size < options.min_chunk_size ||
      options.default_chunk_size > options.max_chunk_size || options.max_read_bytes <= 0) {
    return Error::InvalidArgument("transfers: inconsistent chunk sizes");
  }
  TB_RETURN_IF_ERROR(sql.Migrate(Migrations()));
  auto impl = std::make_unique<Impl>(sql, box, clock, random, std::move(options));
  TB_RETURN_IF_ERROR(MakeDirectory(impl->partial_dir));
  TB_RETURN_IF_ERROR(MakeDirectory(impl->inbox_dir));
  std::unique_ptr<TransferStore> store(new TransferStore(std::move(impl)));
  auto expired = store->ExpireAbandoned();
  if (!expired.ok()) return std::move(expired).error();
  store->impl_->last_sweep_ms = store->impl_->clock.NowMillis();
  return store;
}

const TransferOptions& TransferStore::options() const { return impl_->options; }

int64_t TransferStore::DigestReadBackBytes() const { return impl_->read_back_bytes.load(); }

Result<Transfer> TransferStore::Start(const TransferRequest& request) {
  Impl& impl = *impl_;
  const TransferOptions& o = impl.options;
  // Abandoned uploads go now and then, on the way (a start is when disk is about to be used).
  const int64_t now_ms = impl.clock.NowMillis();
  int64_t last = impl.last_sweep_ms.load();
  if (now_ms - last >= o.expiry_sweep_interval_ms &&
      impl.last_sweep_ms.compare_exchange_strong(last, now_ms)) {
    auto expired = ExpireAbandoned();
    if (!expired.ok()) return std::move(expired).error();
  }
  TB_RETURN_IF_ERROR(CheckFileName(request.name));
  if (request.size < 0 || request.size > o.max_file_size) {
    return Error::InvalidArgument("size must be between 0 and " + std::to_string(o.max_file_size));
  }
  const int64_t chunk = request.chunk_size == 0 ? o.default_chunk_size : request.chunk_size;
  if (chunk < o.min_chunk_size || chunk > o.max_chunk_size) {
    return Error::InvalidArgument("chunk_size must be between " + std::to_string(o.min_chunk_size) +
                                  " and " + std::to_string(o.max_chunk_size));
  }
  const std::string digest = Lower(request.digest);
  if (!IsLowerHex(digest, 64)) {
    return Error::InvalidArgument("digest must be 64 hex digits (SHA-256 or SM3)");
  }
  if (request.sender.empty()) return Error::InvalidArgument("no sender");
  if (request.resource_code.size() > 128) return Error::InvalidArgument("resource code too long");
  TB_RETURN_IF_ERROR(CheckCipherAvailable(request.cipher));
  std::vector<std::string> subscribers = request.subscribers;
  if (!request.resource_code.empty()) {
    if (!o.resource_subscribers) {
      // Without the exchange nothing can say whether the sender may speak for
      // the resource, so no file is labelled with it.
      return Error::InvalidArgument(
          "resource codes need the exchange here (it is off): send without resource_code and "
          "name the subscribers");
    } else {
      auto resolved = o.resource_subscribers(request.resource_code, request.sender);
      if (!resolved.ok()) return std::move(resolved).error();
      if (subscribers.empty()) subscribers = std::move(*resolved);
    }
  }
  std::sort(subscribers.begin(), subscribers.end());
  subscribers.erase(std::unique(subscribers.begin(), subscribers.end()), subscribers.end());
  if (subscribers.empty())
    return Error::InvalidArgument("a transfer needs at least one subscriber");
  for (const std::string& s : subscribers) {
    if (s.empty() || s.size() > 128) return Error::InvalidArgument("bad subscriber " + s);
  }

  Transfer t;
  t.id = impl.random.Hex(16);
  t.name = request.name;
  t.size = request.size;
  t.chunk_size = chunk;
  t.digest_algorithm = request.digest_algorithm;
  t.digest = digest;
  t.resource_code = request.resource_code;
  t.sender = request.sender;
  t.cipher = request.cipher;
  t.subscribers = subscribers;
  t.created_ms = t.updated_ms = impl.clock.NowMillis();
  // Quotas and the disk reserve hold from here to the INSERT (one start at a time in this
  // process; several nodes on one database may each let one through).
  std::lock_guard start_lock(impl.start_mu);
  if (o.max_open_transfers_per_sender > 0 || o.max_open_bytes_per_sender > 0) {
    auto open = impl.sql.WithSession([&](soci::session& s) -> Result<std::pair<int64_t, int64_t>> {
      long long count = 0, bytes = 0;
      soci::indicator bytes_ind = soci::i_null;
      s << "SELECT COUNT(*), SUM(byte_size) FROM exchange_transfers WHERE sender = :s AND "
           "state = 'receiving'",
          soci::use(t.sender, "s"), soci::into(count), soci::into(bytes, bytes_ind);
      return std::pair<int64_t, int64_t>(count, bytes_ind == soci::i_ok ? bytes : 0);
    });
    if (!open.ok()) return std::move(open).error();
    if (o.max_open_transfers_per_sender > 0 && open->first >= o.max_open_transfers_per_sender) {
      return Coded(transfer_code::kQuotaExceeded,
                   "the sender has " + std::to_string(open->first) +
                       " transfers open, the limit is " +
                       std::to_string(o.max_open_transfers_per_sender) +
                       ": complete or cancel one first");
    }
    if (o.max_open_bytes_per_sender > 0 && open->second + t.size > o.max_open_bytes_per_sender) {
      return Coded(transfer_code::kQuotaExceeded,
                   "the sender's open transfers would declare " +
                       std::to_string(open->second + t.size) + " bytes, the limit is " +
                       std::to_string(o.max_open_bytes_per_sender));
    }
  }
  if (o.min_free_disk_bytes > 0 && t.size > 0) {
    auto free_disk = FreeDiskBytes(impl.partial_dir);
    if (!free_disk.ok()) return std::move(free_disk).error();
    const int64_t free_bytes = *free_disk;
    // Nothing is allocated on disk until the chunks come (review16a: a start that
    // allocated its whole declared size let apps that never sent a byte hold the
    // disk — which the approval files and the database share — for a day). What
    // the sender's own open transfers declared and have not yet received counts
    // against the floor with this one, so no sender promises itself more than the
    // disk has; other senders' promises do not count (review16c: counting them let
    // one app's idle announcements refuse every other app's starts).
    auto pending = impl.sql.WithSession([&](soci::session& s) -> Result<int64_t> {
      long long declared = 0, received = 0;
      soci::indicator d_ind = soci::i_null, r_ind = soci::i_null;
      s << "SELECT SUM(byte_size) FROM exchange_transfers WHERE sender = :s AND "
           "state = 'receiving'",
          soci::use(t.sender, "s"), soci::into(declared, d_ind);
      s << "SELECT SUM(c.chunk_length) FROM exchange_transfers t JOIN exchange_transfer_chunks c "
           "ON c.transfer_id = t.id WHERE t.sender = :s AND t.state = 'receiving'",
          soci::use(t.sender, "s"), soci::into(received, r_ind);
      const int64_t d = d_ind == soci::i_ok ? declared : 0;
      const int64_t r = r_ind == soci::i_ok ? received : 0;
      return std::max<int64_t>(0, d - r);
    });
    if (!pending.ok()) return std::move(pending).error();
    if (free_bytes - *pending - t.size < o.min_free_disk_bytes) {
      return Coded(transfer_code::kDiskFull,
                   "not enough free disk for " + std::to_string(t.size) + " bytes (keeping " +
                       std::to_string(o.min_free_disk_bytes) + " free, " +
                       std::to_string(*pending) + " promised to the sender's open transfers)");
    }
  }
  std::string sealed;
  if (t.cipher != TransferCipher::kNone) {
    std::string key = ChunkCipher::NewKey(t.cipher, impl.random);
    auto s = impl.box.Seal(crypto::HexEncode(key), Impl::SealContext(t.id));
    OPENSSL_cleanse(key.data(), key.size());
    if (!s.ok()) return std::move(s).error();
    sealed = std::move(*s);
  }
  // The partial file exists before the transfer does, so a chunk never
  // finds a recorded transfer without one.
  {
    Fd fd(::open(impl.PartialPath(t.id).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.ok()) return Error::Unavailable("cannot create transfer file: " + ErrnoText(errno));
    // No space is allocated here (the reservation above is a count): chunks take
    // blocks as they are written.
    if (::fsync(fd.get()) != 0) return Error::Unavailable("fsync failed: " + ErrnoText(errno));
  }
  TB_RETURN_IF_ERROR(SyncDirectory(impl.partial_dir));
  Status stored = impl.sql.WithTransaction([&](soci::session& s) -> Status {
    long long size = t.size, chunk_size = t.chunk_size, now = t.created_ms, zero = 0;
    std::string alg(DigestAlgorithmName(t.digest_algorithm));
    std::string cipher(TransferCipherName(t.cipher));
    std::string state("receiving"), empty;
    s << "INSERT INTO exchange_transfers (id, file_name, byte_size, chunk_size, digest_alg, "
         "digest, resource_code, sender, cipher, sealed_key, state, fail_reason, created_ms, "
         "updated_ms, completed_ms) VALUES (:id, :n, :sz, :cs, :da, :d, :rc, :se, :ci, :k, :st, "
         ":fr, :c, :u, :done)",
        soci::use(t.id, "id"), soci::use(t.name, "n"), soci::use(size, "sz"),
        soci::use(chunk_size, "cs"), soci::use(alg, "da"), soci::use(t.digest, "d"),
        soci::use(t.resource_code, "rc"), soci::use(t.sender, "se"), soci::use(cipher, "ci"),
        soci::use(sealed, "k"), soci::use(state, "st"), soci::use(empty, "fr"), soci::use(now, "c"),
        soci::use(now, "u"), soci::use(zero, "done");
    for (const std::string& sub : t.subscribers) {
      s << "INSERT INTO exchange_transfer_subscribers (transfer_id, subscriber) VALUES (:t, :s)",
          soci::use(t.id, "t"), soci::use(sub, "s");
    }
    return Status::Ok();
  });
  if (!stored.ok()) {
    std::error_code ec;
    std::filesystem::remove(impl.PartialPath(t.id), ec);
    return std::move(stored).error();
  }
  return t;
}

Result<Transfer> TransferStore::Get(std::string_view id) {
  if (!ValidId(id)) return Error::NotFound("no such transfer");
  std::string key(id);
  return impl_->sql.WithSession(
      [&](soci::session& s) { return impl_->Load(s, key, nullptr, false); });
}

Result<std::vector<ChunkRecord>> TransferStore::Chunks(std::string_view id) {
  auto t = Get(id);
  if (!t.ok()) return std::move(t).error();
  std::string key(id);
  auto rows = impl_->sql.WithSession([&](soci::session& s) { return impl_->LoadChunks(s, key); });
  if (!rows.ok()) return std::move(rows).error();
  std::vector<ChunkRecord> out;
  out.reserve(rows->size());
  for (const ChunkRow& r : *rows) {
    out.push_back({r.index, r.index * t->chunk_size, r.length, r.sha256});
  }
  return out;
}

Result<std::vector<Transfer>> TransferStore::List(std::string_view sender, int64_t limit) {
  limit = std::clamp<int64_t>(limit, 1, 1000);
  std::string who(sender);
  return impl_->sql.WithSession([&](soci::session& s) -> Result<std::vector<Transfer>> {
    std::vector<std::string> ids;
    std::string id;
    long long lim = limit;
    std::string query = "SELECT id FROM exchange_transfers";
    if (!who.empty()) query += " WHERE sender = :s";
    query += " ORDER BY created_ms DESC, id LIMIT :lim";
    soci::statement st = who.empty() ? (s.prepare << query, soci::use(lim, "lim"), soci::into(id))
                                     : (s.prepare << query, soci::use(who, "s"),
                                        soci::use(lim, "lim"), soci::into(id));
    if (st.execute(true)) {
      do ids.push_back(id);
      while (st.fetch());
    }
    std::vector<Transfer> out;
    for (const std::string& each : ids) {
      auto t = impl_->Load(s, each, nullptr, false);
      if (!t.ok()) return std::move(t).error();
      out.push_back(std::move(*t));
    }
    return out;
  });
}

Result<ChunkOutcome> TransferStore::PutChunk(std::string_view id, int64_t offset,
                                             std::string_view bytes, std::string_view sha256_hex) {
  Impl& impl = *impl_;
  if (!ValidId(id)) return Error::NotFound("no such transfer");
  std::string key(id), sealed_key;
  auto t =
      impl.sql.WithSession([&](soci::session& s) { return impl.Load(s, key, &sealed_key, false); });
  if (!t.ok()) return std::move(t).error();
  if (offset < 0 || offset % t->chunk_size != 0 || offset >= std::max<int64_t>(t->size, 1) ||
      t->size == 0) {
    return Error::InvalidArgument("offset must be a multiple of the chunk size " +
                                  std::to_string(t->chunk_size) + " below the size");
  }
  const int64_t index = offset / t->chunk_size;
  const int64_t expected = t->ChunkLength(index);
  if (static_cast<int64_t>(bytes.size()) != expected) {
    return Coded(transfer_code::kChunkCorrupt, "chunk at offset " + std::to_string(offset) +
                                                   " must be " + std::to_string(expected) +
                                                   " bytes, got " + std::to_string(bytes.size()));
  }
  const std::string announced = Lower(sha256_hex);
  const std::string actual = crypto::Sha256Hex(bytes);
  if (announced != actual) {
    return Coded(transfer_code::kChunkCorrupt,
                 "chunk at offset " + std::to_string(offset) + " does not match its SHA-256");
  }
  Impl::BusyMark mark(impl, std::string(id) + "/" + std::to_string(index));
  if (!mark.held()) {
    return Coded(transfer_code::kChunkBusy, "this chunk is being written by another request");
  }
  long long idx = index;
  // Already stored? Then the same bytes are a retry, other bytes a conflict.
  auto stored = impl.sql.WithSession([&](soci::session& s) -> Result<std::string> {
    std::string sha;
    s << "SELECT sha256 FROM exchange_transfer_chunks WHERE transfer_id = :t AND idx = :i",
        soci::use(key, "t"), soci::use(idx, "i"), soci::into(sha);
    return s.got_data() ? sha : std::string();
  });
  if (!stored.ok()) return std::move(stored).error();
  if (!stored->empty()) {
    if (*stored == actual) return ChunkOutcome::kAlreadyHad;
    return Coded(transfer_code::kChunkConflict,
                 "other bytes were already stored at offset " + std::to_string(offset));
  }
  if (t->state != TransferState::kReceiving) {
    return Coded(transfer_code::kWrongState,
                 "the transfer is " + std::string(TransferStateName(t->state)));
  }

  std::string iv, tag;
  std::string ciphertext;
  std::string_view to_write = bytes;
  auto cipher = impl.CipherOf(*t, sealed_key);
  if (!cipher.ok()) return std::move(cipher).error();
  if (t->cipher != TransferCipher::kNone) {
    ciphertext.assign(bytes);
    TB_RETURN_IF_ERROR(cipher->Seal(ciphertext, impl.random, &iv, &tag));
    to_write = ciphertext;
  }
  // The free-disk floor holds for every chunk too: a start counts only its own
  // sender's promises, so several senders together could otherwise write the
  // disk that the database and the approval files share down to nothing
  // (review16e). The sender retries once space is freed.
  if (impl.options.min_free_disk_bytes > 0) {
    auto free_disk = FreeDiskBytes(impl.partial_dir);
    if (!free_disk.ok()) return std::move(free_disk).error();
    if (*free_disk - static_cast<int64_t>(to_write.size()) < impl.options.min_free_disk_bytes) {
      return Coded(transfer_code::kDiskFull,
                   "not enough free disk for this chunk (keeping " +
                       std::to_string(impl.options.min_free_disk_bytes) + " free): retry later");
    }
  }
  {
    Fd fd(::open(impl.PartialPath(key).c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.ok()) return Error::Unavailable("transfer file is missing: " + ErrnoText(errno));
    TB_RETURN_IF_ERROR(PwriteAll(fd.get(), to_write, offset));
    // sync_each_chunk: acknowledged means on disk, the row below is written only after this.
    // Otherwise Complete syncs once and checks each chunk (TransferOptions).
    if (impl.options.sync_each_chunk && ::fdatasync(fd.get()) != 0) {
      return Error::Unavailable("fdatasync failed: " + ErrnoText(errno));
    }
    // Without it the chunk's writeback starts now, not when Complete's one fdatasync asks for
    // the whole file: the disk writes overlap the upload. Only a hint; Complete's sync decides.
    if (!impl.options.sync_each_chunk) {
      (void)::sync_file_range(fd.get(), offset, static_cast<off_t>(to_write.size()),
                              SYNC_FILE_RANGE_WRITE);
    }
  }
  Status recorded = impl.sql.WithTransaction([&](soci::session& s) -> Status {
    std::string state;
    s << "SELECT state FROM exchange_transfers WHERE id = :t" +
             std::string(sql_dialect::ForUpdate(impl.sql.dialect())),
        soci::use(key, "t"), soci::into(state);
    if (state != "receiving") {
      return Coded(transfer_code::kWrongState, "the transfer is " + state);
    }
    long long length = expected, now = impl.clock.NowMillis();
    std::string iv_hex = crypto::HexEncode(iv), tag_hex = crypto::HexEncode(tag);
    s << "INSERT INTO exchange_transfer_chunks (transfer_id, idx, chunk_length, sha256, iv, tag, "
         "received_ms) VALUES (:t, :i, :l, :h, :iv, :tag, :now)",
        soci::use(key, "t"), soci::use(idx, "i"), soci::use(length, "l"), soci::use(actual, "h"),
        soci::use(iv_hex, "iv"), soci::use(tag_hex, "tag"), soci::use(now, "now");
    s << "UPDATE exchange_transfers SET updated_ms = :now WHERE id = :t", soci::use(now, "now"),
        soci::use(key, "t");
    return Status::Ok();
  });
  if (!recorded.ok()) return std::move(recorded).error();
  impl.Advance(key, *t, *cipher, index, bytes);
  return ChunkOutcome::kStored;
}

Result<Transfer> TransferStore::Complete(std::string_view id) {
  Impl& impl = *impl_;
  if (!ValidId(id)) return Error::NotFound("no such transfer");
  std::string key(id);
  Impl::BusyMark mark(impl, key + "/complete");
  if (!mark.held()) {
    return Coded(transfer_code::kChunkBusy, "the transfer is being completed by another request");
  }
  // Forgotten again on the way out: a PUT recorded just before this call that
  // advances after the forgetting below would otherwise leave an entry that
  // nothing erases once the transfer is delivered.
  struct ForgetOnExit {
    Impl& impl;
    const std::string& key;
    ~ForgetOnExit() { impl.ForgetRunning(key); }
  } forget_on_exit{impl, key};
  std::string sealed_key;
  auto t =
      impl.sql.WithSession([&](soci::session& s) { return impl.Load(s, key, &sealed_key, false); });
  if (!t.ok()) return std::move(t).error();
  if (t->state == TransferState::kDelivered) return std::move(*t);
  if (t->state == TransferState::kFailed) {
    return Coded(transfer_code::kWrongState, "the transfer failed: " + t->error);
  }
  auto rows = impl.sql.WithSession([&](soci::session& s) { return impl.LoadChunks(s, key); });
  if (!rows.ok()) return std::move(rows).error();
  if (static_cast<int64_t>(rows->size()) != t->chunk_count()) {
    return Coded(transfer_code::kChunksMissing,
                 std::to_string(t->chunk_count() - static_cast<int64_t>(rows->size())) + " of " +
                     std::to_string(t->chunk_count()) + " chunks are missing");
  }
  auto cipher = impl.CipherOf(*t, sealed_key);
  if (!cipher.ok()) return std::move(cipher).error();

  const std::filesystem::path partial = impl.PartialPath(key);
  const bool check_chunks = !impl.options.sync_each_chunk;
  if (check_chunks) {
    // Once, for every chunk acknowledged without a sync.
    Fd fd(::open(partial.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) return Error::Unavailable("transfer file is missing: " + ErrnoText(errno));
    if (::fdatasync(fd.get()) != 0) {
      return Error::Unavailable("fdatasync failed: " + ErrnoText(errno));
    }
  }
  // The running digest, caught up over whatever it lacks (chunks stored before a restart,
  // chunks whose PUT left them to an advance that had stopped).
  std::string running_hex;
  if (t->chunk_count() > 0) {
    impl.Advance(key, *t, *cipher, -1, std::nullopt);
    std::shared_ptr<Impl::RunningDigest> r = impl.RunningFor(key, *t);
    std::unique_lock lock(r->mu);
    r->idle.wait(lock, [&] { return !r->advancing; });
    running_hex = r->final_hex;
  }
  impl.ForgetRunning(key);
  if (running_hex.empty() || running_hex != t->digest) {
    // No running digest, or it disagrees: the file itself is read through, and that is what
    // decides (a chunk a power loss took shows here, not as a wrong digest).
    running_hex.clear();
  }

  // The whole file's digest, one chunk in memory at a time.
  if (running_hex.empty()) {
    Fd fd(::open(partial.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) return Error::Unavailable("transfer file is missing: " + ErrnoText(errno));
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    StreamingDigest digest(t->digest_algorithm);
    std::string buffer;
    std::vector<int64_t> lost;  // chunks whose bytes are not what was acknowledged
    for (const ChunkRow& row : *rows) {
      Status read = impl.ReadChunk(fd.get(), *t, *cipher, row, buffer);
      if (read.ok()) impl.read_back_bytes += static_cast<int64_t>(buffer.size());
      if (check_chunks && (!read.ok() ? read.error().code != errc::kUnavailable
                                      : crypto::Sha256Hex(buffer) != row.sha256)) {
        lost.push_back(row.index);
        continue;
      }
      if (!read.ok()) return read.error();
      digest.Update(buffer);
    }
    if (!lost.empty()) {
      // Unsynced acknowledged bytes did not survive (a power loss): forget those chunks, so
      // the sender sees them missing and sends them again.
      Status forgot = impl.sql.WithTransaction([&](soci::session& s) -> Status {
        for (int64_t index : lost) {
          long long idx = index;
          s << "DELETE FROM exchange_transfer_chunks WHERE transfer_id = :t AND idx = :i",
              soci::use(key, "t"), soci::use(idx, "i");
        }
        return Status::Ok();
      });
      if (!forgot.ok()) return std::move(forgot).error();
      return Coded(transfer_code::kChunksMissing,
                   std::to_string(lost.size()) + " of " + std::to_string(t->chunk_count()) +
                       " chunks were lost before they reached the disk: send them again");
    }
    const std::string actual = digest.FinalHex();
    if (actual != t->digest) {
      std::string reason = std::string(DigestAlgorithmName(t->digest_algorithm)) +
                           " of the file is " + actual + ", not the announced " + t->digest;
      Status failed = impl.sql.WithTransaction([&](soci::session& s) -> Status {
        long long now = impl.clock.NowMillis();
        s << "UPDATE exchange_transfers SET state = 'failed', fail_reason = :r, updated_ms = :now "
             "WHERE id = :t",
            soci::use(reason, "r"), soci::use(now, "now"), soci::use(key, "t");
        return Status::Ok();
      });
      if (!failed.ok()) return std::move(failed).error();
      std::error_code ec;
      std::filesystem::remove(partial, ec);
      return Coded(transfer_code::kDigestMismatch, reason);
    }
  }

  // Each subscriber's inbox gets a hard link (one copy of the bytes on disk),
  // durable before the database says delivered; a crash in between only
  // repeats the links on the next Complete.
  for (const std::string& sub : t->subscribers) {
    const std::filesystem::path target = impl.InboxPath(sub, key);
    TB_RETURN_IF_ERROR(MakeDirectory(target.parent_path()));
    if (::link(partial.c_str(), target.c_str()) != 0 && errno != EEXIST) {
      return Error::Unavailable("cannot deliver to the inbox of " + sub + ": " + ErrnoText(errno));
    }
    TB_RETURN_IF_ERROR(SyncDirectory(target.parent_path()));
  }
  if (impl.options.after_inbox_links) impl.options.after_inbox_links(key);
  const int64_t now = impl.clock.NowMillis();
  Status delivered = impl.sql.WithTransaction([&](soci::session& s) -> Status {
    long long at = now, zero = 0;
    // Only from receiving: a cancel or an expiry committed meanwhile (on
    // another node: the busy mark is this process's) is not overturned.
    soci::statement update =
        (s.prepare << "UPDATE exchange_transfers SET state = 'delivered', updated_ms = :now, "
                      "completed_ms = :done WHERE id = :t AND state = 'receiving'",
         soci::use(at, "now"), soci::use(at, "done"), soci::use(key, "t"));
    update.execute(true);
    if (update.get_affected_rows() == 0) {
      return Coded(transfer_code::kWrongState, "the transfer is no longer receiving");
    }
    for (const std::string& sub : t->subscribers) {
      s << "INSERT INTO exchange_transfer_inbox (subscriber, transfer_id, delivered_ms, "
           "acknowledged_ms) VALUES (:s, :t, :now, :ack)",
          soci::use(sub, "s"), soci::use(key, "t"), soci::use(at, "now"), soci::use(zero, "ack");
    }
    return Status::Ok();
  });
  if (!delivered.ok()) {
    if (delivered.error().code != transfer_code::kWrongState) return std::move(delivered).error();
    auto now_state = impl.sql.WithSession(
        [&](soci::session& s) { return impl.Load(s, key, nullptr, false); });
    if (!now_state.ok()) return std::move(now_state).error();
    if (now_state->state == TransferState::kDelivered) return std::move(*now_state);  // a twin won
    // Failed meanwhile: the links made above must not hand the file out.
    for (const std::string& sub : t->subscribers) {
      std::error_code gone;
      std::filesystem::remove(impl.InboxPath(sub, key), gone);
    }
    return Coded(transfer_code::kWrongState, "the transfer failed: " + now_state->error);
  }
  std::error_code ec;
  std::filesystem::remove(partial, ec);
  t->state = TransferState::kDelivered;
  t->updated_ms = t->completed_ms = now;
  return std::move(*t);
}

Status TransferStore::Cancel(std::string_view id) {
  if (!ValidId(id)) return Error::NotFound("no such transfer");
  return impl_->FailReceiving(std::string(id), "cancelled by the sender", 0);
}

Result<int> TransferStore::ExpireAbandoned() {
  Impl& impl = *impl_;
  if (impl.options.abandon_after_ms <= 0) return 0;
  const int64_t before = impl.clock.NowMillis() - impl.options.abandon_after_ms;
  auto ids = impl.sql.WithSession([&](soci::session& s) -> Result<std::vector<std::string>> {
    long long cutoff = before;
    soci::rowset<std::string> rows =
        (s.prepare << "SELECT id FROM exchange_transfers WHERE state = 'receiving' AND "
                      "updated_ms < :c",
         soci::use(cutoff, "c"));
    return std::vector<std::string>(rows.begin(), rows.end());
  });
  if (!ids.ok()) return std::move(ids).error();
  int expired = 0;
  const std::string reason = "expired: no chunk for " +
                             std::to_string(impl.options.abandon_after_ms / 1000) + " s";
  for (const std::string& id : *ids) {
    Status failed = impl.FailReceiving(id, reason, before);
    if (failed.ok()) {
      ++expired;
    } else if (failed.error().code != transfer_code::kChunkBusy &&
               failed.error().code != transfer_code::kWrongState &&
               failed.error().code != errc::kConflict) {
      return failed.error();
    }
  }
  return expired;
}

Status TransferStore::Impl::FailReceiving(const std::string& key, const std::string& reason,
                                          int64_t idle_before_ms) {
  Impl& impl = *this;
  // Shares Complete's mark: a transfer is never cancelled while it is verified.
  Impl::BusyMark mark(impl, key + "/complete");
  if (!mark.held()) {
    return Coded(transfer_code::kChunkBusy, "the transfer is being completed");
  }
  auto cancelled = impl.sql.WithTransaction([&](soci::session& s) -> Result<bool> {
    std::string state;
    s << "SELECT state FROM exchange_transfers WHERE id = :t" +
             std::string(sql_dialect::ForUpdate(impl.sql.dialect())),
        soci::use(key, "t"), soci::into(state);
    if (!s.got_data()) return Error::NotFound("no such transfer");
    if (state == "delivered") {
      return Coded(transfer_code::kWrongState, "the transfer is already delivered");
    }
    if (state != "receiving") return false;
    if (idle_before_ms > 0) {
      // Expiry: only if no chunk arrived since the sweep looked.
      long long updated = 0;
      s << "SELECT updated_ms FROM exchange_transfers WHERE id = :t", soci::use(key, "t"),
          soci::into(updated);
      if (updated >= idle_before_ms) return Error::Conflict("the transfer moved on");
    }
    long long now = impl.clock.NowMillis();
    s << "UPDATE exchange_transfers SET state = 'failed', fail_reason = :r, updated_ms = :now "
         "WHERE id = :t",
        soci::use(reason, "r"), soci::use(now, "now"), soci::use(key, "t");
    return true;
  });
  if (!cancelled.ok()) return std::move(cancelled).error();
  impl.ForgetRunning(key);
  std::error_code ec;
  std::filesystem::remove(impl.PartialPath(key), ec);
  return Status::Ok();
}

Result<std::vector<InboxEntry>> TransferStore::Inbox(std::string_view subscriber,
                                                     bool include_acknowledged) {
  return impl_->QueryInbox(subscriber, {}, include_acknowledged);
}

Result<InboxEntry> TransferStore::InboxItem(std::string_view subscriber,
                                            std::string_view transfer_id) {
  if (!ValidId(transfer_id)) return Error::NotFound("no such file in the inbox");
  auto found = impl_->QueryInbox(subscriber, transfer_id, false);
  if (!found.ok()) return std::move(found).error();
  if (found->empty()) return Error::NotFound("no such file in the inbox");
  return std::move(found->front());
}

Result<std::string> TransferStore::Read(std::string_view subscriber, std::string_view transfer_id,
                                        int64_t offset, int64_t length) {
  Impl& impl = *impl_;
  auto item = InboxItem(subscriber, transfer_id);
  if (!item.ok()) return std::move(item).error();
  if (offset < 0 || offset > item->size) {
    return Error::InvalidArgument("offset beyond the end of the file");
  }
  length =
      std::clamp<int64_t>(length, 0, std::min(impl.options.max_read_bytes, item->size - offset));
  std::string out;
  if (length == 0) return out;
  Fd fd(::open(impl.InboxPath(subscriber, transfer_id).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return Error::Unavailable("inbox file is missing: " + ErrnoText(errno));
  std::string key(transfer_id), sealed_key;
  auto t =
      impl.sql.WithSession([&](soci::session& s) { return impl.Load(s, key, &sealed_key, false); });
  if (!t.ok()) return std::move(t).error();
  if (t->cipher == TransferCipher::kNone) {
    out.resize(static_cast<size_t>(length));
    TB_RETURN_IF_ERROR(PreadAll(fd.get(), out.data(), out.size(), offset));
    return out;
  }
  // Encrypted: whole chunks are opened (their tags cover them whole) and the
  // asked-for slice of each copied out.
  auto cipher = impl.CipherOf(*t, sealed_key);
  if (!cipher.ok()) return std::move(cipher).error();
  const int64_t first = offset / t->chunk_size;
  const int64_t last = (offset + length - 1) / t->chunk_size;
  auto rows =
      impl.sql.WithSession([&](soci::session& s) { return impl.LoadChunks(s, key, first, last); });
  if (!rows.ok()) return std::move(rows).error();
  if (static_cast<int64_t>(rows->size()) != last - first + 1) {
    return Error::Internal("delivered transfer lacks chunk records");
  }
  out.reserve(static_cast<size_t>(length));
  std::string buffer;
  for (const ChunkRow& row : *rows) {
    TB_RETURN_IF_ERROR(impl.ReadChunk(fd.get(), *t, *cipher, row, buffer));
    const int64_t chunk_start = row.index * t->chunk_size;
    const int64_t from = std::max(offset, chunk_start) - chunk_start;
    const int64_t to = std::min(offset + length, chunk_start + row.length) - chunk_start;
    out.append(buffer, static_cast<size_t>(from), static_cast<size_t>(to - from));
  }
  return out;
}

Status TransferStore::Acknowledge(std::string_view subscriber, std::string_view transfer_id) {
  Impl& impl = *impl_;
  if (!ValidId(transfer_id)) return Error::NotFound("no such file in the inbox");
  std::string sub(subscriber), key(transfer_id);
  auto known = impl.sql.WithTransaction([&](soci::session& s) -> Result<bool> {
    long long acked = 0;
    s << "SELECT acknowledged_ms FROM exchange_transfer_inbox WHERE subscriber = :s AND "
         "transfer_id = :t",
        soci::use(sub, "s"), soci::use(key, "t"), soci::into(acked);
    if (!s.got_data()) return false;
    if (acked == 0) {
      long long now = impl.clock.NowMillis();
      s << "UPDATE exchange_transfer_inbox SET acknowledged_ms = :now WHERE subscriber = :s AND "
           "transfer_id = :t",
          soci::use(now, "now"), soci::use(sub, "s"), soci::use(key, "t");
    }
    return true;
  });
  if (!known.ok()) return std::move(known).error();
  if (!*known) return Error::NotFound("no such file in the inbox");
  // After the commit: a crash before this leaves an orphan link, never a
  // pending entry without its bytes.
  std::error_code ec;
  std::filesystem::remove(impl.InboxPath(sub, key), ec);
  return Status::Ok();
}

}  // namespace tongban::exchange
