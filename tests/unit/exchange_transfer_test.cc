// TransferStore on real databases (a SQLite file; private PostgreSQL, skipped
// with the reason when none can be started; private MariaDB) and a real
// directory: chunk bookkeeping, idempotent retries, corrupted chunks,
// out-of-order arrival, resume after reopening, digest checks at completion,
// encryption at rest.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/digest.h"
#include "exchange/transfer.h"
#include "store_test_support.h"

namespace tongban::exchange {
namespace {

constexpr int64_t kChunk = 64 * 1024;

class TransferTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = db_dir_.path();
    std::string why;
    url_ = store_test::FreshDatabaseUrl(GetParam(), db_dir_, &why);
    if (url_.empty() && GetParam() == "postgres") GTEST_SKIP() << why;
    ASSERT_FALSE(url_.empty()) << why;
    auto box = crypto::SecretBox::Create(std::string(32, 'k'), random_);
    ASSERT_TRUE(box.ok());
    box_ = std::make_unique<crypto::SecretBox>(std::move(*box));
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    sql_.reset();
  }

  // Closes and opens the database and the store again, as a restart does.
  void Reopen() {
    store_.reset();
    sql_.reset();
    auto sql = SqlStore::Open(url_);
    ASSERT_TRUE(sql.ok()) << sql.error().message;
    sql_ = std::move(*sql);
    TransferOptions options;
    options.dir = dir_ / "files";
    options.min_chunk_size = 1024;
    options.default_chunk_size = kChunk;
    options.max_read_bytes = 3 * kChunk / 2;
    options.sync_each_chunk = sync_each_chunk_;
    options.resource_subscribers = resource_subscribers_;
    options.max_open_transfers_per_sender = max_open_;
    options.max_open_bytes_per_sender = max_open_bytes_;
    options.min_free_disk_bytes = min_free_disk_;
    options.after_inbox_links = after_inbox_links_;
    auto store = TransferStore::Open(*sql_, *box_, clock_, random_, options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }

  static std::string Bytes(size_t size, uint32_t seed) {
    std::string out(size, '\0');
    for (size_t i = 0; i < size; ++i) {
      seed = seed * 1103515245 + 12345;
      out[i] = static_cast<char>(seed >> 16);
    }
    return out;
  }

  Transfer Start(const std::string& data, TransferCipher cipher = TransferCipher::kNone,
                 DigestAlgorithm alg = DigestAlgorithm::kSha256) {
    TransferRequest r;
    r.name = "登记簿.zip";
    r.size = static_cast<int64_t>(data.size());
    r.digest_algorithm = alg;
    r.digest = DigestHex(alg, data);
    r.subscribers = {"sub-a", "sub-b"};
    r.cipher = cipher;
    r.sender = "sender";
    auto t = store_->Start(r);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? *t : Transfer{};
  }

  Result<ChunkOutcome> Put(const Transfer& t, const std::string& data, int64_t index) {
    std::string_view chunk = std::string_view(data).substr(
        static_cast<size_t>(index * t.chunk_size), static_cast<size_t>(t.ChunkLength(index)));
    return store_->PutChunk(t.id, index * t.chunk_size, chunk, crypto::Sha256Hex(chunk));
  }

  std::string Download(const std::string& subscriber, const Transfer& t) {
    std::string out;
    while (static_cast<int64_t>(out.size()) < t.size) {
      auto piece = store_->Read(subscriber, t.id, static_cast<int64_t>(out.size()), t.size);
      EXPECT_TRUE(piece.ok()) << piece.error().message;
      if (!piece.ok() || piece->empty()) break;
      out += *piece;
    }
    return out;
  }

  store_test::TempDir db_dir_;
  std::filesystem::path dir_;
  std::string url_;
  FakeClock clock_;
  bool sync_each_chunk_ = true;
  int64_t max_open_ = TransferOptions{}.max_open_transfers_per_sender;
  int64_t max_open_bytes_ = TransferOptions{}.max_open_bytes_per_sender;
  int64_t min_free_disk_ = TransferOptions{}.min_free_disk_bytes;
  decltype(TransferOptions::resource_subscribers) resource_subscribers_;
  decltype(TransferOptions::after_inbox_links) after_inbox_links_;
  FakeRandom random_{7};
  std::unique_ptr<crypto::SecretBox> box_;
  std::unique_ptr<SqlStore> sql_;
  std::unique_ptr<TransferStore> store_;
};

TEST_P(TransferTest, ChunksArriveOutOfOrderAndTheFileIsDeliveredToEverySubscriber) {
  const std::string data = Bytes(3 * kChunk + 1000, 1);
  Transfer t = Start(data);
  EXPECT_EQ(t.chunk_count(), 4);
  EXPECT_EQ(t.ChunkLength(3), 1000);
  for (int64_t i : {3, 1, 0, 2}) {
    auto put = Put(t, data, i);
    ASSERT_TRUE(put.ok()) << put.error().message;
    EXPECT_EQ(*put, ChunkOutcome::kStored);
  }
  auto done = store_->Complete(t.id);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->state, TransferState::kDelivered);
  for (const char* sub : {"sub-a", "sub-b"}) {
    auto inbox = store_->Inbox(sub, false);
    ASSERT_TRUE(inbox.ok());
    ASSERT_EQ(inbox->size(), 1u);
    EXPECT_EQ((*inbox)[0].name, "登记簿.zip");
    EXPECT_EQ(Download(sub, t), data);
  }
  EXPECT_TRUE(store_->Inbox("sender", false)->empty());
}

// A resource code is the file's provenance in every inbox: only the resource's own apps
// send under it, also when they name the subscribers themselves.
TEST_P(TransferTest, OnlyTheResourcesAppsSendUnderItsCode) {
  resource_subscribers_ = [](std::string_view code,
                             std::string_view sender) -> Result<std::vector<std::string>> {
    if (code != "licences") return Error::InvalidArgument("no exchange resource");
    if (sender != "provider") return Error::PermissionDenied("not a web app of the resource");
    return std::vector<std::string>{"sub-x"};
  };
  Reopen();
  const std::string data = Bytes(100, 3);
  TransferRequest r;
  r.name = "证照.zip";
  r.size = static_cast<int64_t>(data.size());
  r.digest = DigestHex(DigestAlgorithm::kSha256, data);
  r.resource_code = "licences";
  r.sender = "intruder";
  EXPECT_EQ(store_->Start(r).error().code, errc::kPermissionDenied);
  r.subscribers = {"sub-y"};
  EXPECT_EQ(store_->Start(r).error().code, errc::kPermissionDenied);
  r.sender = "provider";
  r.subscribers.clear();
  auto started = store_->Start(r);
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->subscribers, std::vector<std::string>{"sub-x"});
}

// With the exchange off nothing can vouch for a sender's resource code, so a
// file cannot be labelled with one, named subscribers or not.
TEST_P(TransferTest, WithoutTheExchangeNoFileCarriesAResourceCode) {
  const std::string data = Bytes(100, 4);
  TransferRequest r;
  r.name = "证照.zip";
  r.size = static_cast<int64_t>(data.size());
  r.digest = DigestHex(DigestAlgorithm::kSha256, data);
  r.sender = "anyone";
  r.subscribers = {"sub-y"};
  r.resource_code = "licences";
  EXPECT_EQ(store_->Start(r).error().code, errc::kInvalidArgument);
  r.resource_code.clear();
  EXPECT_TRUE(store_->Start(r).ok());
}

TEST_P(TransferTest, StatusListsTheChunksReceived) {
  const std::string data = Bytes(4 * kChunk, 2);
  Transfer t = Start(data);
  ASSERT_TRUE(Put(t, data, 2).ok());
  ASSERT_TRUE(Put(t, data, 0).ok());
  auto chunks = store_->Chunks(t.id);
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 2u);
  EXPECT_EQ((*chunks)[0].index, 0);
  EXPECT_EQ((*chunks)[1].index, 2);
  EXPECT_EQ((*chunks)[1].offset, 2 * kChunk);
  auto got = store_->Get(t.id);
  EXPECT_EQ(got->received_chunks, 2);
  EXPECT_EQ(got->received_bytes, 2 * kChunk);
}

TEST_P(TransferTest, ARetriedChunkWithTheSameBytesIsAcceptedAndOtherBytesConflict) {
  const std::string data = Bytes(2 * kChunk, 3);
  Transfer t = Start(data);
  ASSERT_EQ(*Put(t, data, 0), ChunkOutcome::kStored);
  auto again = Put(t, data, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, ChunkOutcome::kAlreadyHad);
  std::string other = Bytes(kChunk, 99);
  auto conflict = store_->PutChunk(t.id, 0, other, crypto::Sha256Hex(other));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, transfer_code::kChunkConflict);
  // The stored bytes were not touched by the refused write.
  ASSERT_TRUE(Put(t, data, 1).ok());
  ASSERT_TRUE(store_->Complete(t.id).ok());
  EXPECT_EQ(Download("sub-a", t), data);
}

TEST_P(TransferTest, ACorruptedOrTruncatedChunkIsRefusedAndCanBeSentAgain) {
  const std::string data = Bytes(2 * kChunk, 4);
  Transfer t = Start(data);
  std::string chunk = data.substr(0, kChunk);
  const std::string announced = crypto::Sha256Hex(chunk);
  std::string corrupted = chunk;
  corrupted[100] ^= 0x01;
  auto bad = store_->PutChunk(t.id, 0, corrupted, announced);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, transfer_code::kChunkCorrupt);
  auto truncated =
      store_->PutChunk(t.id, 0, std::string_view(chunk).substr(0, kChunk - 10),
                       crypto::Sha256Hex(std::string_view(chunk).substr(0, kChunk - 10)));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, transfer_code::kChunkCorrupt);
  EXPECT_EQ(store_->Get(t.id)->received_chunks, 0);
  ASSERT_EQ(*store_->PutChunk(t.id, 0, chunk, announced), ChunkOutcome::kStored);
}

TEST_P(TransferTest, AnOffsetNotOnAChunkBoundaryIsRefused) {
  const std::string data = Bytes(2 * kChunk, 5);
  Transfer t = Start(data);
  std::string chunk = data.substr(10, kChunk);
  auto r = store_->PutChunk(t.id, 10, chunk, crypto::Sha256Hex(chunk));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kInvalidArgument);
  auto beyond = store_->PutChunk(t.id, 2 * kChunk, chunk, crypto::Sha256Hex(chunk));
  ASSERT_FALSE(beyond.ok());
}

TEST_P(TransferTest, AnUploadResumesAfterTheStoreIsReopened) {
  const std::string data = Bytes(3 * kChunk + 5, 6);
  Transfer t = Start(data, TransferCipher::kAes256Gcm);
  ASSERT_TRUE(Put(t, data, 0).ok());
  ASSERT_TRUE(Put(t, data, 2).ok());
  Reopen();
  auto chunks = store_->Chunks(t.id);
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 2u);
  EXPECT_EQ(*Put(t, data, 0), ChunkOutcome::kAlreadyHad);
  ASSERT_EQ(*Put(t, data, 1), ChunkOutcome::kStored);
  ASSERT_EQ(*Put(t, data, 3), ChunkOutcome::kStored);
  auto done = store_->Complete(t.id);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(Download("sub-b", t), data);
}

TEST_P(TransferTest, CompletingBeforeEveryChunkArrivedChangesNothing) {
  const std::string data = Bytes(2 * kChunk, 7);
  Transfer t = Start(data);
  ASSERT_TRUE(Put(t, data, 1).ok());
  auto early = store_->Complete(t.id);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, transfer_code::kChunksMissing);
  ASSERT_TRUE(Put(t, data, 0).ok());
  EXPECT_TRUE(store_->Complete(t.id).ok());
  // Completing again is a harmless repeat.
  auto again = store_->Complete(t.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, TransferState::kDelivered);
  EXPECT_EQ(store_->Inbox("sub-a", false)->size(), 1u);
}

TEST_P(TransferTest, AWholeFileDigestMismatchFailsTheTransferAndDeliversNothing) {
  const std::string data = Bytes(2 * kChunk, 8);
  TransferRequest r;
  r.name = "a.bin";
  r.size = static_cast<int64_t>(data.size());
  r.digest = crypto::Sha256Hex("something else");
  r.subscribers = {"sub-a"};
  r.sender = "sender";
  auto t = store_->Start(r);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(Put(*t, data, 0).ok());
  ASSERT_TRUE(Put(*t, data, 1).ok());
  auto done = store_->Complete(t->id);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, transfer_code::kDigestMismatch);
  EXPECT_EQ(store_->Get(t->id)->state, TransferState::kFailed);
  EXPECT_TRUE(store_->Inbox("sub-a", true)->empty());
}

TEST_P(TransferTest, Sm3DigestsAreVerifiedToo) {
  const std::string data = Bytes(kChunk + 17, 9);
  Transfer t = Start(data, TransferCipher::kNone, DigestAlgorithm::kSm3);
  EXPECT_EQ(t.digest, crypto::Sm3Hex(data));
  ASSERT_TRUE(Put(t, data, 1).ok());
  ASSERT_TRUE(Put(t, data, 0).ok());
  ASSERT_TRUE(store_->Complete(t.id).ok());
}

TEST_P(TransferTest, EncryptedChunksAreNotStoredInClearAndReadBackWhole) {
  for (TransferCipher cipher : {TransferCipher::kSm4Ctr, TransferCipher::kAes256Gcm}) {
    SCOPED_TRACE(std::string(TransferCipherName(cipher)));
    const std::string data = Bytes(2 * kChunk + 300, 10);
    Transfer t = Start(data, cipher);
    ASSERT_TRUE(Put(t, data, 2).ok());
    ASSERT_TRUE(Put(t, data, 0).ok());
    ASSERT_TRUE(Put(t, data, 1).ok());
    ASSERT_TRUE(store_->Complete(t.id).ok());
    std::ifstream in(dir_ / "files" / "inbox" / "sub-a" / t.id, std::ios::binary);
    std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(on_disk.size(), data.size());
    EXPECT_EQ(on_disk.find(data.substr(1000, 64)), std::string::npos);
    EXPECT_EQ(Download("sub-a", t), data);
    // A range crossing a chunk boundary.
    auto middle = store_->Read("sub-b", t.id, kChunk - 10, 20);
    ASSERT_TRUE(middle.ok());
    EXPECT_EQ(*middle, data.substr(kChunk - 10, 20));
  }
}

TEST_P(TransferTest, AnAlteredEncryptedFileIsRefusedOnRead) {
  const std::string data = Bytes(kChunk, 11);
  Transfer t = Start(data, TransferCipher::kSm4Ctr);
  ASSERT_TRUE(Put(t, data, 0).ok());
  ASSERT_TRUE(store_->Complete(t.id).ok());
  {
    std::fstream f(dir_ / "files" / "inbox" / "sub-a" / t.id,
                   std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(500);
    f.put('x');
  }
  auto read = store_->Read("sub-a", t.id, 0, 10);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kPermissionDenied);
}

TEST_P(TransferTest, AcknowledgingRemovesTheFileFromTheInbox) {
  const std::string data = Bytes(kChunk / 2, 12);
  Transfer t = Start(data);
  ASSERT_TRUE(Put(t, data, 0).ok());
  ASSERT_TRUE(store_->Complete(t.id).ok());
  ASSERT_TRUE(store_->Acknowledge("sub-a", t.id).ok());
  ASSERT_TRUE(store_->Acknowledge("sub-a", t.id).ok());
  EXPECT_TRUE(store_->Inbox("sub-a", false)->empty());
  EXPECT_EQ(store_->Inbox("sub-a", true)->size(), 1u);
  EXPECT_FALSE(store_->Read("sub-a", t.id, 0, 10).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "files" / "inbox" / "sub-a" / t.id));
  EXPECT_EQ(Download("sub-b", t), data);
  EXPECT_EQ(store_->Acknowledge("sub-c", t.id).error().code, errc::kNotFound);
}

TEST_P(TransferTest, ACancelledTransferTakesNoMoreChunksAndKeepsNoBytes) {
  const std::string data = Bytes(2 * kChunk, 13);
  Transfer t = Start(data);
  ASSERT_TRUE(Put(t, data, 0).ok());
  ASSERT_TRUE(store_->Cancel(t.id).ok());
  EXPECT_EQ(store_->Get(t.id)->state, TransferState::kFailed);
  EXPECT_EQ(store_->Get(t.id)->error, "cancelled by the sender");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "files" / "partial" / (t.id + ".part")));
  auto late = Put(t, data, 1);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, transfer_code::kWrongState);
  EXPECT_FALSE(store_->Complete(t.id).ok());
  EXPECT_TRUE(store_->Cancel(t.id).ok());  // again: nothing to do
  Transfer done = Start(data);
  ASSERT_TRUE(Put(done, data, 0).ok());
  ASSERT_TRUE(Put(done, data, 1).ok());
  ASSERT_TRUE(store_->Complete(done.id).ok());
  EXPECT_EQ(store_->Cancel(done.id).error().code, transfer_code::kWrongState);
}

// review15b: the busy mark that keeps a cancel out of a completion is this
// process's; another node's cancel can commit between the inbox links and the
// state change. The cancel wins: nothing is delivered, no link is left.
TEST_P(TransferTest, ACancelLandingBetweenTheLinksAndTheStateChangeWins) {
  std::unique_ptr<TransferStore> other_node;
  after_inbox_links_ = [&](std::string_view id) {
    ASSERT_TRUE(other_node->Cancel(std::string(id)).ok());
  };
  Reopen();
  TransferOptions options;
  options.dir = dir_ / "files";
  options.min_chunk_size = 1024;
  auto other = TransferStore::Open(*sql_, *box_, clock_, random_, options);
  ASSERT_TRUE(other.ok()) << other.error().message;
  other_node = std::move(*other);
  const std::string data = Bytes(2 * kChunk, 17);
  Transfer t = Start(data);
  ASSERT_TRUE(Put(t, data, 0).ok());
  ASSERT_TRUE(Put(t, data, 1).ok());
  auto completed = store_->Complete(t.id);
  ASSERT_FALSE(completed.ok());
  EXPECT_EQ(completed.error().code, transfer_code::kWrongState);
  EXPECT_EQ(store_->Get(t.id)->state, TransferState::kFailed);
  for (const char* sub : {"sub-a", "sub-b"}) {
    auto inbox = store_->Inbox(sub, true);
    ASSERT_TRUE(inbox.ok()) << inbox.error().message;
    EXPECT_TRUE(inbox->empty()) << sub;
    EXPECT_FALSE(store_->Read(sub, t.id, 0, 10).ok()) << sub;
  }
  // Nothing of it is left under the files directory.
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "files")) {
    files += e.is_regular_file() && e.path().string().find(t.id) != std::string::npos;
  }
  EXPECT_EQ(files, 0u);
  other_node.reset();
}

TEST_P(TransferTest, AbandonedUploadsExpireAndTheirBytesGo) {
  const std::string data = Bytes(2 * kChunk, 17);
  Transfer idle = Start(data);
  ASSERT_TRUE(Put(idle, data, 0).ok());
  Transfer busy = Start(data);
  Transfer done = Start(data);
  ASSERT_TRUE(Put(done, data, 0).ok());
  ASSERT_TRUE(Put(done, data, 1).ok());
  ASSERT_TRUE(store_->Complete(done.id).ok());
  const auto hours = [](int h) { return std::chrono::milliseconds(int64_t{h} * 3600 * 1000); };
  clock_.Advance(hours(23));
  ASSERT_TRUE(Put(busy, data, 0).ok());  // a chunk keeps a transfer alive
  EXPECT_EQ(*store_->ExpireAbandoned(), 0);
  clock_.Advance(hours(2));  // `idle` has had no chunk for 25 h, `busy` for 2 h
  // A start sweeps on the way (the last sweep was more than a minute ago).
  Start(data);
  EXPECT_EQ(store_->Get(idle.id)->state, TransferState::kFailed);
  EXPECT_EQ(store_->Get(idle.id)->error, "expired: no chunk for 86400 s");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "files" / "partial" / (idle.id + ".part")));
  EXPECT_EQ(Put(idle, data, 1).error().code, transfer_code::kWrongState);
  EXPECT_EQ(store_->Get(busy.id)->state, TransferState::kReceiving);
  EXPECT_EQ(store_->Get(done.id)->state, TransferState::kDelivered);
  EXPECT_EQ(Download("sub-a", done), data);
  // The other one goes a day after its chunk, at the next sweep (or when the store opens).
  clock_.Advance(hours(23));
  Reopen();
  EXPECT_EQ(store_->Get(busy.id)->state, TransferState::kFailed);
}

// Without sync_each_chunk an acknowledged chunk sits in the page cache until Complete syncs
// the file; a power loss before that is acted out by overwriting the chunk's bytes on disk
// and restarting (a power loss ends the process, and with it the running digest).
// Complete finds it by its recorded SHA-256 (or AEAD tag), forgets it and reports it missing;
// sent again, the file is delivered whole.
TEST_P(TransferTest, AChunkLostBeforeTheSyncIsAskedForAgainNotDeliveredCorrupt) {
  sync_each_chunk_ = false;
  Reopen();
  for (TransferCipher cipher : {TransferCipher::kNone, TransferCipher::kAes256Gcm}) {
    const std::string data = Bytes(3 * kChunk, 19);
    Transfer t = Start(data, cipher);
    for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(Put(t, data, i).ok());
    {
      std::fstream f(dir_ / "files" / "partial" / (t.id + ".part"),
                     std::ios::in | std::ios::out | std::ios::binary);
      ASSERT_TRUE(f.is_open());
      f.seekp(kChunk + 100);
      f.write("\0\0\0\0", 4);
    }
    Reopen();
    auto lost = store_->Complete(t.id);
    ASSERT_FALSE(lost.ok());
    EXPECT_EQ(lost.error().code, transfer_code::kChunksMissing) << lost.error().message;
    auto chunks = store_->Chunks(t.id);
    ASSERT_TRUE(chunks.ok());
    ASSERT_EQ(chunks->size(), 2u);
    EXPECT_EQ(chunks->at(0).index, 0);
    EXPECT_EQ(chunks->at(1).index, 2);
    EXPECT_EQ(store_->Get(t.id)->state, TransferState::kReceiving);
    ASSERT_EQ(*Put(t, data, 1), ChunkOutcome::kStored);
    auto done = store_->Complete(t.id);
    ASSERT_TRUE(done.ok()) << done.error().message;
    EXPECT_EQ(Download("sub-a", t), data);
  }
}

// Chunks stored in order are hashed from the bytes in hand: completing reads nothing back,
// with either durability rule, with or without encryption, SHA-256 or SM3.
TEST_P(TransferTest, InOrderChunksAdvanceTheRunningDigestAndCompleteReadsNothingBack) {
  for (bool sync_each : {true, false}) {
    sync_each_chunk_ = sync_each;
    Reopen();
    for (TransferCipher cipher : {TransferCipher::kNone, TransferCipher::kAes256Gcm}) {
      for (DigestAlgorithm alg : {DigestAlgorithm::kSha256, DigestAlgorithm::kSm3}) {
        const std::string data = Bytes(3 * kChunk + 77, 23);
        Transfer t = Start(data, cipher, alg);
        for (int64_t i = 0; i < 4; ++i) ASSERT_EQ(*Put(t, data, i), ChunkOutcome::kStored);
        auto done = store_->Complete(t.id);
        ASSERT_TRUE(done.ok()) << done.error().message;
        EXPECT_EQ(store_->DigestReadBackBytes(), 0) << sync_each;
        EXPECT_EQ(Download("sub-a", t), data);
      }
    }
  }
}

// Out of order, the chunks waiting behind a gap are read back when it closes; across a
// restart the running digest starts over from what is stored. The file is delivered whole,
// and a wrong announced digest still fails it.
TEST_P(TransferTest, OutOfOrderChunksAndARestartInBetweenStillCompleteWithTheRightDigest) {
  const std::string data = Bytes(3 * kChunk + 9, 29);
  Transfer t = Start(data, TransferCipher::kAes256Gcm);
  ASSERT_TRUE(Put(t, data, 2).ok());
  ASSERT_TRUE(Put(t, data, 0).ok());  // hashed in hand; 2 waits for 1
  EXPECT_EQ(store_->DigestReadBackBytes(), 0);
  Reopen();
  ASSERT_TRUE(Put(t, data, 3).ok());  // the new digest reads 0 back, stops at the gap
  EXPECT_EQ(store_->DigestReadBackBytes(), kChunk);
  ASSERT_TRUE(Put(t, data, 1).ok());  // in hand, then 2 and 3 read back
  EXPECT_EQ(store_->DigestReadBackBytes(), 2 * kChunk + 9);
  auto done = store_->Complete(t.id);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(store_->DigestReadBackBytes(), 2 * kChunk + 9);
  EXPECT_EQ(Download("sub-b", t), data);

  // Stored before a restart and never touched since: Complete reads it all back.
  Transfer again = Start(data);
  for (int64_t i : {1, 3, 0, 2}) ASSERT_TRUE(Put(again, data, i).ok());
  Reopen();
  ASSERT_TRUE(store_->Complete(again.id).ok());
  EXPECT_EQ(store_->DigestReadBackBytes(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(Download("sub-a", again), data);

  // The running digest never overrules the announced one.
  TransferRequest r;
  r.name = "wrong.bin";
  r.size = static_cast<int64_t>(data.size());
  r.digest = crypto::Sha256Hex("something else");
  r.subscribers = {"sub-a"};
  r.sender = "sender";
  auto wrong = store_->Start(r);
  ASSERT_TRUE(wrong.ok());
  for (int64_t i : {0, 2, 1, 3}) ASSERT_TRUE(Put(*wrong, data, i).ok());
  auto failed = store_->Complete(wrong->id);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, transfer_code::kDigestMismatch);
  EXPECT_EQ(store_->Get(wrong->id)->state, TransferState::kFailed);
}

TEST_P(TransferTest, ASenderCannotHoldMoreThanItsQuotaOfOpenTransfers) {
  max_open_ = 2;
  max_open_bytes_ = 5 * kChunk;
  Reopen();
  const std::string two = Bytes(2 * kChunk, 31);
  Transfer first = Start(two);
  Transfer second = Start(two);
  TransferRequest r;
  r.name = "third.bin";
  r.size = kChunk;
  r.digest = crypto::Sha256Hex("x");
  r.subscribers = {"sub-a"};
  r.sender = "sender";
  auto third = store_->Start(r);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, transfer_code::kQuotaExceeded) << third.error().message;
  r.sender = "other-sender";  // the quota is each sender's own
  EXPECT_TRUE(store_->Start(r).ok());
  // A delivered or cancelled transfer no longer counts.
  ASSERT_TRUE(Put(first, two, 0).ok());
  ASSERT_TRUE(Put(first, two, 1).ok());
  ASSERT_TRUE(store_->Complete(first.id).ok());
  r.sender = "sender";
  // Bytes: 2 chunks open (`second`) + 4 announced > 5.
  r.size = 4 * kChunk;
  auto big = store_->Start(r);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, transfer_code::kQuotaExceeded) << big.error().message;
  r.size = 3 * kChunk;
  EXPECT_TRUE(store_->Start(r).ok());
  EXPECT_EQ(store_->Start(r).error().code, transfer_code::kQuotaExceeded);  // count again
  ASSERT_TRUE(store_->Cancel(second.id).ok());
  r.size = kChunk;
  EXPECT_TRUE(store_->Start(r).ok());
}

TEST_P(TransferTest, AStartThatWouldEatIntoTheFreeDiskReserveIsRefused) {
  min_free_disk_ = int64_t{1} << 60;  // more than any disk has
  Reopen();
  TransferRequest r;
  r.name = "huge.bin";
  r.size = kChunk;
  r.digest = crypto::Sha256Hex("x");
  r.subscribers = {"sub-a"};
  r.sender = "sender";
  auto refused = store_->Start(r);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, transfer_code::kDiskFull) << refused.error().message;
  EXPECT_TRUE(store_->List("sender", 10)->empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "files" / "partial"));
  min_free_disk_ = 0;
  Reopen();
  EXPECT_TRUE(store_->Start(r).ok());
}

// review16a: a start allocated its whole declared size at once (posix_fallocate),
// so an app that announced a file and never sent a byte held that disk — which the
// approval files and the database share — for a day. A start now allocates
// nothing; what the sender's own open transfers still have to receive counts
// against the free-disk floor with the new one. Another sender's announcements
// do not (review16c: they let one app refuse every other app's starts).
TEST_P(TransferTest, AStartAllocatesNothingAndOpenTransfersReserveWhatTheyStillNeed) {
  struct statvfs fs {};
  ASSERT_EQ(::statvfs(dir_.c_str(), &fs), 0);
  const int64_t free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  // Margins of a fifth of the free space: other work on the machine writing a
  // few GiB meanwhile changes nothing below.
  min_free_disk_ = free_bytes / 5;
  max_open_bytes_ = 0;
  Reopen();
  TransferRequest r;
  r.name = "announced.bin";
  r.size = free_bytes / 2;  // one fits above the floor, two do not
  r.digest = crypto::Sha256Hex("x");
  r.subscribers = {"sub-a"};
  r.sender = "one-app";
  auto first = store_->Start(r);
  ASSERT_TRUE(first.ok()) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "files" / "partial" / (first->id + ".part")).c_str(), &st), 0);
  EXPECT_LT(static_cast<int64_t>(st.st_blocks) * 512, 1 << 20) << "blocks allocated at start";
  auto second = store_->Start(r);  // the same sender again: more than the disk has
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, transfer_code::kDiskFull) << second.error().message;
  r.sender = "another-app";  // its own promises only
  auto other = store_->Start(r);
  ASSERT_TRUE(other.ok()) << other.error().message;
  // Once the first is cancelled its promise is gone.
  r.sender = "one-app";
  ASSERT_TRUE(store_->Cancel(first->id).ok());
  EXPECT_TRUE(store_->Start(r).ok());
}

// review16e: starts count only their own sender's promises, so the floor is
// checked again for every chunk: several senders together cannot write the
// shared disk below it.
TEST_P(TransferTest, AChunkThatWouldEatIntoTheFreeDiskReserveIsRefused) {
  const std::string data = Bytes(kChunk, 5);
  Transfer t = Start(data);
  min_free_disk_ = int64_t{1} << 60;  // the disk filled up meanwhile
  Reopen();
  auto refused = Put(t, data, 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, transfer_code::kDiskFull) << refused.error().message;
  min_free_disk_ = 0;
  Reopen();
  auto stored = Put(t, data, 0);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(*stored, ChunkOutcome::kStored);
}

TEST_P(TransferTest, BadStartsAreRefused) {
  TransferRequest r;
  r.name = "../etc/passwd";
  r.size = 10;
  r.digest = crypto::Sha256Hex("x");
  r.subscribers = {"a"};
  r.sender = "s";
  EXPECT_FALSE(store_->Start(r).ok());
  // A name showing another extension than it has (U+202E), or not UTF-8 (review16a).
  for (const char* spoof : {"invoice\xE2\x80\xAEgpj.exe", "a\xE2\x81\xA6" "b.txt", "bad\xFF.txt"}) {
    r.name = spoof;
    auto refused = store_->Start(r);
    ASSERT_FALSE(refused.ok()) << spoof;
    EXPECT_EQ(refused.error().code, errc::kInvalidArgument);
  }
  r.name = "登记簿（2026）.zip";
  EXPECT_TRUE(store_->Start(r).ok());
  r.name = "ok.txt";
  r.digest = "abc";
  EXPECT_FALSE(store_->Start(r).ok());
  r.digest = crypto::Sha256Hex("x");
  r.subscribers.clear();
  EXPECT_FALSE(store_->Start(r).ok());
  r.subscribers = {"a"};
  r.chunk_size = 100;  // under the minimum
  EXPECT_FALSE(store_->Start(r).ok());
  r.chunk_size = 0;
  EXPECT_TRUE(store_->Start(r).ok());
}

TEST_P(TransferTest, AnEmptyFileCompletesWithoutChunks) {
  Transfer t = Start(std::string());
  auto done = store_->Complete(t.id);
  ASSERT_TRUE(done.ok()) << done.error().message;
  auto read = store_->Read("sub-a", t.id, 0, 10);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->empty());
}

INSTANTIATE_TEST_SUITE_P(Databases, TransferTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tongban::exchange
