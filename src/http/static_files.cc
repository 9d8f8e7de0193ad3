#include "http/static_files.h"

#include <fmt/format.h>

#include <fstream>
#include <system_error>

#include "http/strings.h"
#include "http/url.h"

namespace tongban::http {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxFileBytes = 32 * 1024 * 1024;

// Each segment must be a plain name: no "..", no hidden files, no backslash.
bool IsSafeRelative(std::string_view rel) {
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string_view::npos) slash = rel.size();
    std::string_view segment = rel.substr(pos, slash - pos);
    if (!segment.empty() && segment.front() == '.') return false;
    if (segment.find('\\') != std::string_view::npos) return false;
    if (segment.find('\0') != std::string_view::npos) return false;
    pos = slash + 1;
  }
  return true;
}

bool IsWithin(const fs::path& candidate, const fs::path& root) {
  const std::string& c = candidate.native();
  const std::string& r = root.native();
  if (c.size() < r.size() || c.compare(0, r.size(), r) != 0) return false;
  return c.size() == r.size() || c[r.size()] == '/' || r.back() == '/';
}

void NotFound(Response& response) { response.SetJsonError(404, "not_found", "no such file"); }

std::string EncodePath(std::string_view path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out += UrlEncode(path.substr(pos, slash - pos));
    if (slash < path.size()) out.push_back('/');
    pos = slash + 1;
  }
  return out;
}

}  // namespace

Result<StaticFiles> StaticFiles::Create(std::string_view url_prefix, const fs::path& root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    return Error::NotFound("static root is not a directory: " + root.string());
  }
  if (url_prefix.empty() || url_prefix.front() != '/') {
    return Error::InvalidArgument("static URL prefix must start with '/'");
  }
  return StaticFiles(std::string(url_prefix), std::move(canonical));
}

std::string_view StaticFiles::ContentTypeFor(std::string_view filename) {
  size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string ext;
  for (char c : filename.substr(dot + 1)) ext.push_back(AsciiLower(c));
  struct Type {
    std::string_view ext;
    std::string_view type;
  };
  static constexpr Type kTypes[] = {
      {"html", "text/html;charset=utf-8"},
      {"htm", "text/html;charset=utf-8"},
      {"css", "text/css;charset=utf-8"},
      {"js", "text/javascript;charset=utf-8"},
      {"mjs", "text/javascript;charset=utf-8"},
      {"json", "application/json;charset=utf-8"},
      {"map", "application/json;charset=utf-8"},
      {"txt", "text/plain;charset=utf-8"},
      {"xml", "text/xml;charset=utf-8"},
      {"wsdl", "text/xml;charset=utf-8"},
      {"xsd", "text/xml;charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"pdf", "application/pdf"},
      {"wasm", "application/wasm"},
  };
  for (const Type& t : kTypes) {
    if (t.ext == ext) return t.type;
  }
  return "application/octet-stream";
}

void StaticFiles::operator()(const Request& request, Response& response) const {
  if (request.method() != "GET" && request.method() != "HEAD") {
    response.SetJsonError(405, "method_not_allowed", "static files answer GET and HEAD");
    response.AddHeader("Allow", "GET, HEAD");
    return;
  }
  std::string_view path = request.path();
  if (!path.starts_with(prefix_)) return NotFound(response);
  std::string_view rel = path.substr(prefix_.size());
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  if (!IsSafeRelative(rel)) return NotFound(response);

  std::error_code ec;
  // canonical() resolves every symlink, so the containment check below
  // sees where the file really is.
  fs::path file = fs::canonical(root_ / fs::path(rel), ec);
  if (ec || !IsWithin(file, root_)) return NotFound(response);
  if (fs::is_directory(file, ec)) {
    if (!path.ends_with('/')) {
      std::string location = EncodePath(path) + "/";
      if (!request.query().empty()) {
        location.push_back('?');
        location.append(request.query());
      }
      response.Redirect(location, 301);
      return;
    }
    file = fs::canonical(file / "index.html", ec);
    if (ec || !IsWithin(file, root_)) return NotFound(response);
  }
  if (!fs::is_regular_file(file, ec)) return NotFound(response);
  uintmax_t size = fs::file_size(file, ec);
  if (ec || size > kMaxFileBytes) return NotFound(response);
  auto mtime = fs::last_write_time(file, ec);
  if (ec) return NotFound(response);

  std::string etag = fmt::format("W/\"{}-{}\"", size, mtime.time_since_epoch().count());
  response.AddHeader("ETag", etag);
  response.AddHeader("Cache-Control", "no-cache");
  response.AddHeader("X-Content-Type-Options", "nosniff");
  auto if_none_match = request.Header("If-None-Match");
  if (if_none_match && *if_none_match == etag) {
    response.set_status(304);
    return;
  }

  std::ifstream in(file, std::ios::binary);
  std::string& body = response.body();
  body.resize(static_cast<size_t>(size));
  if (!in.read(body.data(), static_cast<std::streamsize>(size))) {
    body.clear();
    response.SetJsonError(500, "internal", "cannot read file");
    return;
  }
  response.set_status(200);
  response.set_content_type(ContentTypeFor(file.filename().native()));
}

}  // namespace tongban::http
