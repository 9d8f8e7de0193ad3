// Big-file transfers (大文件接入): a department system announces a file (name,
// size, SHA-256 or SM3 digest, subscribers), sends it in fixed-size chunks in
// any order — each verified, fsync'd and recorded before it is acknowledged, so
// a crash loses no acknowledged chunk and a retry is idempotent — then
// completes it: the whole-file digest (kept running as the chunks land in order,
// so completing an in-order upload reads nothing back) is checked and the file
// lands in each subscriber's inbox. State lives in SQL (migration module
// "exchange_transfers"), bytes in files under `dir`. Used by api_transfer.cc.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "crypto/secret_box.h"
#include "exchange/transfer_cipher.h"
#include "store/sql_store.h"

namespace tongban::exchange {

inline constexpr int64_t kMiB = 1024 * 1024;

struct TransferOptions {
  std::filesystem::path dir;                 // created when missing
  int64_t default_chunk_size = 8 * kMiB;     // when a start names none
  int64_t min_chunk_size = 64 * 1024;        // keeps the chunk table small
  int64_t max_chunk_size = 8 * kMiB;         // a chunk sits whole in memory
  int64_t max_file_size = int64_t{1} << 40;  // 1 TiB
  // Largest piece a download answers at once (bytes are read and, when
  // encrypted, decrypted chunk by chunk into one response body).
  int64_t max_read_bytes = 8 * kMiB;
  // For a start that names a resource code: checks that the sender may send
  // under that resource's name (PermissionDenied otherwise: the code is the
  // file's provenance in every inbox) and names the resource's subscribers
  // (servicecodes), used when the start names none. Unset: starts naming a
  // resource code without subscribers are refused.
  std::function<Result<std::vector<std::string>>(std::string_view resource_code,
                                                 std::string_view sender)>
      resource_subscribers;
  // Tests only: runs in Complete once the inbox links are made, before the
  // transfer is marked delivered — where another node's cancel can land.
  std::function<void(std::string_view id)> after_inbox_links;
  // A receiving transfer with no chunk for this long is abandoned: it fails ("expired") and
  // its partial file is deleted. Swept when the store opens and, at most once per
  // expiry_sweep_interval_ms, when a transfer starts (ExpireAbandoned). 0 = never.
  int64_t abandon_after_ms = int64_t{24} * 3600 * 1000;
  // Durability of an acknowledged chunk. true (the default): fdatasync before every
  // acknowledgement, so it survives a power loss. false: the bytes are in the page cache and
  // recorded when acknowledged (they survive a crash or kill -9 of tongban, not a power loss);
  // their writeback starts at once and Complete syncs the file once. Chunks written before a
  // restart (a power loss ends the process) are checked against their recorded SHA-256 when
  // read back, and a chunk a power loss took is forgotten and reported missing
  // (kChunksMissing), to be sent again — never delivered corrupt, never failing the whole
  // transfer. Measured on the shared
  // machine the two cost the same (docs/performance.md), so the stronger rule is the default.
  bool sync_each_chunk = true;
  int64_t expiry_sweep_interval_ms = 60 * 1000;
  // Per-sender limits on what is announced but not yet complete (receiving transfers), so one
  // authorised sender cannot fill the disk with starts: how many, and the sum of their declared
  // sizes. A start beyond either gets kQuotaExceeded. 0 = no limit.
  int64_t max_open_transfers_per_sender = 16;
  int64_t max_open_bytes_per_sender = int64_t{64} << 30;  // 64 GiB
  // A start whose declared size would leave less than this free on the transfers' file system
  // (statvfs, as an unprivileged process sees it) gets kDiskFull. 0 = only ENOSPC refuses.
  int64_t min_free_disk_bytes = int64_t{1} << 30;  // 1 GiB
};

struct TransferRequest {
  std::string name;  // the file's name as the subscribers will see it
  int64_t size = 0;
  int64_t chunk_size = 0;  // 0 = options' default
  DigestAlgorithm digest_algorithm = DigestAlgorithm::kSha256;
  std::string digest;  // hex of the whole file's digest
  std::string resource_code;
  std::vector<std::string> subscribers;  // servicecodes
  TransferCipher cipher = TransferCipher::kNone;
  std::string sender;  // servicecode of the uploading system
};

enum class TransferState { kReceiving, kDelivered, kFailed };
std::string_view TransferStateName(TransferState state);  // "receiving", "delivered", "failed"

struct Transfer {
  std::string id;  // 32 hex
  std::string name;
  int64_t size = 0;
  int64_t chunk_size = 0;
  DigestAlgorithm digest_algorithm = DigestAlgorithm::kSha256;
  std::string digest;
  std::string resource_code;
  std::string sender;
  TransferCipher cipher = TransferCipher::kNone;
  TransferState state = TransferState::kReceiving;
  std::string error;  // why a failed transfer failed
  std::vector<std::string> subscribers;
  int64_t received_chunks = 0;
  int64_t received_bytes = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t completed_ms = 0;

  int64_t chunk_count() const { return size == 0 ? 0 : (size + chunk_size - 1) / chunk_size; }
  // The length chunk `index` must have (the last may be shorter).
  int64_t ChunkLength(int64_t index) const;
};

struct ChunkRecord {
  int64_t index = 0;
  int64_t offset = 0;
  int64_t length = 0;
  std::string sha256;  // of the plaintext
};

// What PutChunk did: stored the bytes, or had the same bytes already.
enum class ChunkOutcome { kStored, kAlreadyHad };

struct InboxEntry {
  std::string subscriber;
  std::string transfer_id;
  std::string name;
  int64_t size = 0;
  DigestAlgorithm digest_algorithm = DigestAlgorithm::kSha256;
  std::string digest;
  std::string sender;
  std::string resource_code;
  int64_t delivered_ms = 0;
  int64_t acknowledged_ms = 0;  // 0 = not yet
};

// Error codes beyond errc (transfer-specific, for the API's answers).
namespace transfer_code {
inline constexpr int kChunkCorrupt = 7101;    // the chunk's bytes do not match its digest
inline constexpr int kChunkConflict = 7102;   // other bytes than those stored at that offset
inline constexpr int kChunksMissing = 7103;   // complete before every chunk arrived
inline constexpr int kDigestMismatch = 7104;  // the whole file's digest differs: failed
inline constexpr int kWrongState = 7105;      // not receiving (delivered or failed)
inline constexpr int kChunkBusy = 7106;       // the same chunk is being written right now
inline constexpr int kQuotaExceeded = 7109;   // the sender's open transfers / open bytes limit
inline constexpr int kDiskFull = 7110;        // the file would eat into the free-disk reserve
}  // namespace transfer_code

class TransferStore {
 public:
  static std::vector<Migration> Migrations();
  // Runs the migrations, creates the directories. `box` seals per-transfer
  // keys; every reference must outlive the store.
  static Result<std::unique_ptr<TransferStore>> Open(SqlStore& sql, const crypto::SecretBox& box,
                                                     Clock& clock, Random& random,
                                                     TransferOptions options);
  ~TransferStore();

  const TransferOptions& options() const;

  // InvalidArgument for a bad name, size, chunk size, digest or an empty
  // subscriber list; Unavailable when the cipher is missing from OpenSSL.
  Result<Transfer> Start(const TransferRequest& request);
  // NotFound when unknown.
  Result<Transfer> Get(std::string_view id);
  Result<std::vector<ChunkRecord>> Chunks(std::string_view id);
  // Newest first; `sender` "" = every sender.
  Result<std::vector<Transfer>> List(std::string_view sender, int64_t limit);

  // Stores the chunk at `offset` (a multiple of the chunk size; its length
  // exactly ChunkLength). `sha256_hex` is the digest the sender announced:
  // kChunkCorrupt when the bytes do not match it, kChunkConflict when
  // different bytes were already stored there, kAlreadyHad for the same ones.
  // The bytes are on disk (fsync) and recorded before this returns kStored.
  Result<ChunkOutcome> PutChunk(std::string_view id, int64_t offset, std::string_view bytes,
                                std::string_view sha256_hex);

  // Verifies the whole file's digest, then delivers it to each subscriber's
  // inbox. The digest runs as chunks are stored: a chunk stored when it is the
  // next in order is hashed from the bytes in hand, and the stored chunks that
  // follow it are read back (page cache) and hashed too; so Complete only
  // finishes it. What the running digest lacks (chunks stored before a restart,
  // a chunk that read back wrong) is read back here, decrypting chunk by chunk. kChunksMissing
  // (nothing changes, or — without sync_each_chunk — chunks lost by a power
  // loss were forgotten and are to be sent again), kDigestMismatch (the
  // transfer is failed and its bytes dropped). Completing a delivered transfer
  // again returns it unchanged.
  Result<Transfer> Complete(std::string_view id);

  // The sender gives up: a receiving transfer becomes failed ("cancelled")
  // and its bytes are deleted. kWrongState once delivered; a failed one stays.
  Status Cancel(std::string_view id);

  // Fails every receiving transfer whose last chunk (or start) is older than
  // options().abandon_after_ms and deletes its bytes; returns how many.
  Result<int> ExpireAbandoned();

  // Plaintext bytes read back from partial files for whole-file digests since
  // the store opened (out-of-order chunks, chunks from before a restart): 0
  // for uploads that arrived in order.
  int64_t DigestReadBackBytes() const;

  Result<std::vector<InboxEntry>> Inbox(std::string_view subscriber, bool include_acknowledged);
  // NotFound unless `transfer_id` was delivered to `subscriber` and not acknowledged.
  Result<InboxEntry> InboxItem(std::string_view subscriber, std::string_view transfer_id);
  // Up to options().max_read_bytes plaintext bytes of the delivered file from
  // `offset` (fewer at its end). InvalidArgument when offset > size.
  Result<std::string> Read(std::string_view subscriber, std::string_view transfer_id,
                           int64_t offset, int64_t length);
  // Marks it received and removes the subscriber's copy. Idempotent.
  Status Acknowledge(std::string_view subscriber, std::string_view transfer_id);

  struct Impl;

 private:
  explicit TransferStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::exchange
