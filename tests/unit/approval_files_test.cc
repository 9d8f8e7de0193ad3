// The approval file store: content addressing, type sniffing from the bytes,
// the size limit, and hashes that cannot walk out of the store's directory.
#include "approval/files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "approval/engine.h"
#include "crypto/digest.h"
#include "store_test_support.h"

namespace tongban::approval {
namespace {

using store_test::TempDir;

const std::string kPngBytes = std::string("\x89PNG\r\n\x1A\n\0\0\0\rIHDR", 16) + "png body";
const std::string kPdfBytes = "%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n";
const std::string kJpegBytes = std::string("\xFF\xD8\xFF\xE0\0\x10JFIF", 10) + "jpeg body";

// A zip local file header for `name` with `data` stored uncompressed.
std::string ZipEntry(const std::string& name, const std::string& data) {
  std::string h("PK\x03\x04", 4);
  h += std::string("\x14\0\0\0\0\0\0\0\0\0", 10);  // version, flags, method, time, date
  h += std::string(4, '\0');                        // crc (not checked by the sniffer)
  auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  le32(static_cast<uint32_t>(data.size()));
  le32(static_cast<uint32_t>(data.size()));
  h.push_back(static_cast<char>(name.size() & 0xFF));
  h.push_back(static_cast<char>(name.size() >> 8));
  h += std::string(2, '\0');  // extra length
  return h + name + data;
}

class ApprovalFiles : public ::testing::Test {
 protected:
  FileStore Open(int64_t max = 1 << 20) {
    auto store = FileStore::Open(std::filesystem::path(dir_.path()) / "files", max);
    EXPECT_TRUE(store.ok());
    return std::move(store).value();
  }
  TempDir dir_;
};

TEST(ApprovalSniff, KnowsTheFourFormatsByTheirBytes) {
  EXPECT_EQ(SniffMediaType(kPdfBytes), "application/pdf");
  EXPECT_EQ(SniffMediaType(kJpegBytes), "image/jpeg");
  EXPECT_EQ(SniffMediaType(kPngBytes), "image/png");
  EXPECT_EQ(SniffMediaType(ZipEntry("OFD.xml", "<ofd:OFD/>") + ZipEntry("Doc_0/Document.xml", "x")),
            "application/ofd");
}

TEST(ApprovalSniff, AnOfdMayHaveASmallEntryBeforeOfdXml) {
  EXPECT_EQ(SniffMediaType(ZipEntry("mimetype", "application/ofd") + ZipEntry("OFD.xml", "<x/>")),
            "application/ofd");
}

TEST(ApprovalSniff, RefusesOtherZipsHtmlAndText) {
  // A .docx is a zip too, and a zip that merely mentions OFD.xml in its data is not an OFD.
  EXPECT_EQ(SniffMediaType(ZipEntry("[Content_Types].xml", "<Types/>")), "");
  EXPECT_EQ(SniffMediaType(ZipEntry("readme.txt", "see OFD.xml")), "");
  EXPECT_EQ(SniffMediaType("<!DOCTYPE html><html><body>%PDF-</body></html>"), "");
  EXPECT_EQ(SniffMediaType(" %PDF-1.4"), "");
  EXPECT_EQ(SniffMediaType(""), "");
  EXPECT_EQ(SniffMediaType("PK\x03\x04"), "");
}

TEST_F(ApprovalFiles, ADisguisedFileIsWhatItsBytesSay) {
  FileStore files = Open();
  // The caller's name ("licence.pdf") never reaches the store: only the bytes do.
  auto stored = files.Put(kPngBytes);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(stored->media_type, "image/png");
  EXPECT_EQ(stored->sha256, crypto::Sha256Hex(kPngBytes));
  EXPECT_EQ(stored->size, static_cast<int64_t>(kPngBytes.size()));
}

TEST_F(ApprovalFiles, AnHtmlFileIsRefusedAndNothingIsStored) {
  FileStore files = Open();
  std::string html = "<html><script>alert(1)</script></html>";
  auto stored = files.Put(html);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code, code::kBadMaterial);
  EXPECT_EQ(files.Stat(crypto::Sha256Hex(html)).error().code, errc::kNotFound);
}

TEST_F(ApprovalFiles, OversizeAndEmptyFilesAreRefused) {
  FileStore files = Open(64);
  std::string big = kPdfBytes + std::string(64, 'x');
  auto stored = files.Put(big);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code, code::kBadMaterial);
  EXPECT_EQ(files.Stat(crypto::Sha256Hex(big)).error().code, errc::kNotFound);
  EXPECT_EQ(files.Put("").error().code, code::kBadMaterial);
  // Exactly at the limit is fine.
  std::string at_limit = kPdfBytes + std::string(64 - kPdfBytes.size(), 'x');
  EXPECT_TRUE(files.Put(at_limit).ok());
}

TEST_F(ApprovalFiles, TheSameBytesAreStoredOnce) {
  FileStore files = Open();
  auto first = files.Put(kPdfBytes);
  auto second = files.Put(kPdfBytes);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->sha256, second->sha256);
  int stored = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::filesystem::path(dir_.path()) / "files")) {
    if (entry.is_regular_file()) ++stored;
  }
  EXPECT_EQ(stored, 1);  // and no temporary file left behind
}

TEST_F(ApprovalFiles, GetAndStatReturnWhatWasPut) {
  FileStore files = Open();
  auto stored = files.Put(kJpegBytes);
  ASSERT_TRUE(stored.ok());
  auto bytes = files.Get(stored->sha256);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, kJpegBytes);
  auto stat = files.Stat(stored->sha256);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->media_type, "image/jpeg");
  EXPECT_EQ(stat->size, static_cast<int64_t>(kJpegBytes.size()));
}

TEST_F(ApprovalFiles, PathTricksInTheHashAreRefused) {
  FileStore files = Open();
  ASSERT_TRUE(files.Put(kPdfBytes).ok());
  std::string upper = crypto::Sha256Hex(kPdfBytes);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string bad : {std::string("../../etc/passwd"), std::string(64, '.'),
                          "../" + crypto::Sha256Hex(kPdfBytes).substr(3), upper,
                          crypto::Sha256Hex(kPdfBytes) + "/", std::string("")}) {
    EXPECT_EQ(files.Get(bad).error().code, errc::kInvalidArgument) << bad;
    EXPECT_EQ(files.Stat(bad).error().code, errc::kInvalidArgument) << bad;
  }
}

TEST_F(ApprovalFiles, AnUnknownHashIsNotFound) {
  FileStore files = Open();
  EXPECT_EQ(files.Get(std::string(64, 'a')).error().code, errc::kNotFound);
}

}  // namespace
}  // namespace tongban::approval
