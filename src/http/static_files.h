// StaticFiles: a Handler that serves files from a directory (web/ assets:
// CSS, JS, images, the login page's static parts) under a URL prefix.
// Files are read whole on the I/O thread: for small assets, not downloads.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/request.h"
#include "http/response.h"

namespace tongban::http {

class StaticFiles {
 public:
  // Serves `root`/x for GET and HEAD of `url_prefix`x, e.g. prefix
  // "/static/" maps "/static/css/a.css" to root/css/a.css. Mount it with
  // Router::AddPrefix("GET", url_prefix, files). Fails (kNotFound) when
  // `root` is not a directory.
  static Result<StaticFiles> Create(std::string_view url_prefix,
                                    const std::filesystem::path& root);

  // 200 with the file, its content type and a weak ETag (304 when
  // If-None-Match matches); a directory serves its index.html (and a path
  // without the trailing slash is redirected to one). 404 for anything
  // missing, hidden (a segment starting with '.'), or resolving — through
  // ".." or symlinks — outside the root.
  void operator()(const Request& request, Response& response) const;

  // The Content-Type for a file name, by extension; text types say charset=utf-8.
  static std::string_view ContentTypeFor(std::string_view filename);

 private:
  StaticFiles(std::string prefix, std::filesystem::path root)
      : prefix_(std::move(prefix)), root_(std::move(root)) {}

  std::string prefix_;
  std::filesystem::path root_;  // canonical
};

}  // namespace tongban::http
