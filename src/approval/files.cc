#include "approval/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include "approval/engine.h"
#include "crypto/digest.h"

namespace tongban::approval {
namespace {

constexpr std::string_view kPdf = "application/pdf";
constexpr std::string_view kJpeg = "image/jpeg";
constexpr std::string_view kPng = "image/png";
constexpr std::string_view kOfd = "application/ofd";

// How far into a zip we look for the OFD.xml entry. GB/T 33190 puts OFD.xml at
// the package root and producers write it first; a little slack admits one
// that writes a small entry (a mimetype-like marker) before it.
constexpr size_t kOfdScanBytes = 4096;
// Stat sniffs the stored file's head, which is all the sniffer reads.
constexpr size_t kSniffBytes = kOfdScanBytes;

uint16_t Le16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) |
                               (static_cast<unsigned char>(b[at + 1]) << 8));
}

// A zip whose local file headers, within the first kOfdScanBytes, include one
// for exactly "OFD.xml". Only real headers count: the signature, then the
// name length at +26, then the name at +30 — not the text "OFD.xml" anywhere.
bool IsOfd(std::string_view bytes) {
  constexpr std::string_view kLocalHeader("PK\x03\x04", 4);
  constexpr std::string_view kEntry = "OFD.xml";
  if (bytes.substr(0, 4) != kLocalHeader) return false;
  std::string_view head = bytes.substr(0, kOfdScanBytes);
  for (size_t at = 0; (at = head.find(kLocalHeader, at)) != std::string_view::npos; ++at) {
    if (at + 30 > bytes.size()) break;
    size_t name_len = Le16(bytes, at + 26);
    if (name_len == kEntry.size() && bytes.substr(at + 30, name_len) == kEntry) return true;
  }
  return false;
}

bool IsHexSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Error BadMaterial(std::string message) { return Error{code::kBadMaterial, std::move(message)}; }

std::string ErrnoText() { return std::strerror(errno); }

// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// fsync of a directory, so a rename into it survives a crash.
void SyncDirectory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Result<std::string> ReadFile(const std::filesystem::path& path, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error::NotFound("文件不存在");
    return Error::Unavailable("file store: cannot open a file: " + ErrnoText());
  }
  std::string out;
  char buf[65536];
  while (out.size() < max) {
    ssize_t n = ::read(fd, buf, std::min(sizeof(buf), max - out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = ErrnoText();
      ::close(fd);
      return Error::Unavailable("file store: cannot read a file: " + why);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

std::string_view SniffMediaType(std::string_view bytes) {
  if (bytes.substr(0, 5) == "%PDF-") return kPdf;
  if (bytes.substr(0, 3) == "\xFF\xD8\xFF") return kJpeg;
  if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1A\n", 8)) return kPng;
  if (IsOfd(bytes)) return kOfd;
  return {};
}

Result<FileStore> FileStore::Open(std::filesystem::path dir, int64_t max_bytes) {
  if (max_bytes <= 0) return Error::InvalidArgument("file store: max_bytes must be positive");
  std::error_code ec;
  std::filesystem::create_directories(dir / "tmp", ec);
  if (ec) {
    return Error::Unavailable("file store: cannot create " + dir.string() + ": " + ec.message());
  }
  return FileStore(std::move(dir), max_bytes);
}

std::filesystem::path FileStore::PathOf(std::string_view sha256) const {
  // Two hex digits of fan-out keep directories small (256 of them).
  return dir_ / std::string(sha256.substr(0, 2)) / std::string(sha256);
}

Result<StoredFile> FileStore::Put(std::string_view bytes) {
  if (bytes.empty()) return BadMaterial("文件为空");
  if (static_cast<int64_t>(bytes.size()) > max_bytes_) {
    return BadMaterial("文件超过大小上限（" + std::to_string(max_bytes_) + " 字节）");
  }
  std::string_view media_type = SniffMediaType(bytes);
  if (media_type.empty()) {
    return BadMaterial("不支持的文件类型：只接受 PDF、JPG、PNG、OFD（按文件内容判断，不看文件名）");
  }
  StoredFile stored{crypto::Sha256Hex(bytes), std::string(media_type),
                    static_cast<int64_t>(bytes.size())};
  std::filesystem::path final_path = PathOf(stored.sha256);
  std::error_code ec;
  if (std::filesystem::exists(final_path, ec)) return stored;  // same bytes: stored once

  std::filesystem::create_directories(final_path.parent_path(), ec);
  if (ec) return Error::Unavailable("file store: cannot create a directory: " + ec.message());
  std::string temp = (dir_ / "tmp" / "upload-XXXXXX").string();
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Error::Unavailable("file store: cannot create a temporary file: " + ErrnoText());
  bool written = WriteAll(fd, bytes) && ::fsync(fd) == 0;
  std::string why = written ? "" : ErrnoText();
  ::close(fd);
  if (!written || ::rename(temp.c_str(), final_path.c_str()) != 0) {
    if (why.empty()) why = ErrnoText();
    ::unlink(temp.c_str());
    return Error::Unavailable("file store: cannot store a file: " + why);
  }
  SyncDirectory(final_path.parent_path());
  return stored;
}

Result<std::string> FileStore::Get(std::string_view sha256) const {
  if (!IsHexSha256(sha256)) return Error::InvalidArgument("文件标识须为 64 位小写十六进制 SHA-256");
  return ReadFile(PathOf(sha256), SIZE_MAX);  // a file stored under a larger limit stays whole
}

Result<StoredFile> FileStore::Stat(std::string_view sha256) const {
  if (!IsHexSha256(sha256)) return Error::InvalidArgument("文件标识须为 64 位小写十六进制 SHA-256");
  std::filesystem::path path = PathOf(sha256);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error::NotFound("文件不存在");
    return Error::Unavailable("file store: cannot stat a file: " + ErrnoText());
  }
  auto head = ReadFile(path, kSniffBytes);
  if (!head.ok()) return std::move(head).error();
  return StoredFile{std::string(sha256), std::string(SniffMediaType(*head)),
                    static_cast<int64_t>(st.st_size)};
}

Result<int64_t> FileStore::FreeBytes() const {
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0) return Error::Unavailable("文件存储不可用");
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

}  // namespace tongban::approval
