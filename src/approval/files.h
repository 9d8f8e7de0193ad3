// The approval file store: uploaded materials, attachments and templates kept
// on disk by SHA-256 of their content (so a file uploaded twice is stored once
// and a name never decides what is served). The type is sniffed from the
// bytes (PDF, JPEG, PNG, OFD); anything else, or anything over the size limit,
// is refused. Writes are atomic (temp file + rename + fsync), so kill -9 never
// leaves half a file under a final name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::approval {

// "application/pdf", "image/jpeg", "image/png", "application/ofd", or "" when
// the bytes are none of those (an OFD is a zip whose first entry names OFD.xml).
std::string_view SniffMediaType(std::string_view bytes);

struct StoredFile {
  std::string sha256;  // 64 lowercase hex
  std::string media_type;
  int64_t size = 0;
};

class FileStore {
 public:
  // `dir` is created when missing. `max_bytes`: larger files are refused.
  static Result<FileStore> Open(std::filesystem::path dir, int64_t max_bytes);

  // Errors (code::kBadMaterial from engine.h): empty, too large, unknown type.
  Result<StoredFile> Put(std::string_view bytes);
  // errc::kNotFound when absent; InvalidArgument for a malformed hash.
  Result<std::string> Get(std::string_view sha256) const;
  Result<StoredFile> Stat(std::string_view sha256) const;

  int64_t max_bytes() const { return max_bytes_; }
  // The space left on the store's file system for an unprivileged writer.
  Result<int64_t> FreeBytes() const;

 private:
  FileStore(std::filesystem::path dir, int64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::filesystem::path PathOf(std::string_view sha256) const;
  std::filesystem::path dir_;
  int64_t max_bytes_;
};

}  // namespace tongban::approval
