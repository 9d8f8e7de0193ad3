#include "http/response.h"

#include <stdexcept>

#include "http/strings.h"

namespace tongban::http {
namespace {

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool IsServerManaged(std::string_view name) {
  for (std::string_view managed :
       {"content-length", "transfer-encoding", "connection", "date", "content-type"}) {
    if (EqualsIgnoreCase(name, managed)) return true;
  }
  return false;
}

}  // namespace

void Response::AddHeader(std::string_view name, std::string_view value) {
  if (!IsToken(name)) throw std::invalid_argument("header name is not a token");
  if (IsServerManaged(name)) throw std::invalid_argument("header is set by the server");
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    throw std::invalid_argument("header value contains CR, LF or NUL");
  }
  headers_.append(name);
  headers_ += ": ";
  headers_.append(value);
  headers_ += "\r\n";
}

std::optional<std::string_view> Response::Header(std::string_view name) const {
  std::string_view rest(headers_);
  while (!rest.empty()) {
    size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    size_t colon = line.find(':');
    if (EqualsIgnoreCase(line.substr(0, colon), name)) return line.substr(colon + 2);
  }
  return std::nullopt;
}

void Response::SetCookie(std::string_view name, std::string_view value,
                         const CookieOptions& options) {
  std::string line = FormatSetCookie(name, value, options);
  headers_ += "Set-Cookie: ";
  headers_ += line;
  headers_ += "\r\n";
}

void Response::Redirect(std::string_view url, int status) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string location;
  location.reserve(url.size());
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
        c == '`' || c == '{' || c == '|' || c == '}') {
      location.push_back('%');
      location.push_back(kHex[c >> 4]);
      location.push_back(kHex[c & 15]);
    } else {
      location.push_back(static_cast<char>(c));
    }
  }
  status_ = status;
  headers_ += "Location: ";
  headers_ += location;
  headers_ += "\r\n";
  content_type_.clear();
  body_.clear();
}

void Response::SetText(int status, std::string_view text) {
  status_ = status;
  content_type_.assign(kTextType);
  body_.assign(text);
}

void Response::SetJson(int status, std::string_view json) {
  status_ = status;
  content_type_.assign(kJsonType);
  body_.assign(json);
}

void Response::SetJsonError(int status, std::string_view error, std::string_view message) {
  status_ = status;
  content_type_.assign(kJsonType);
  body_.clear();
  body_ += "{\"error\":";
  AppendJsonString(error, body_);
  body_ += ",\"message\":";
  AppendJsonString(message, body_);
  body_ += "}";
}

void Response::Reset() {
  status_ = 200;
  close_connection_ = false;
  content_type_.clear();
  body_.clear();
  headers_.clear();
  deferred_ = nullptr;
  suspension_.reset();
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);
}

void Resumer::operator()(std::function<void(Response&)> finish) const {
  std::function<void(std::function<void(Response&)>)> deliver;
  {
    std::lock_guard lock(state->mu);
    if (state->resumed) return;
    state->resumed = true;
    if (state->deliver) {
      deliver = std::move(state->deliver);
      state->deliver = nullptr;
    } else {
      state->finish = std::move(finish);
      state->cv.notify_all();
      return;
    }
  }
  deliver(std::move(finish));
}

Resumer Response::Suspend() {
  suspension_ = std::make_shared<Resumer::State>();
  return Resumer{suspension_};
}

void Response::RunDeferred() {
  while (deferred_ || suspension_) {
    if (suspension_) {
      std::shared_ptr<Resumer::State> state = std::move(suspension_);
      std::function<void(Response&)> finish;
      {
        std::unique_lock lock(state->mu);
        state->cv.wait(lock, [&] { return static_cast<bool>(state->finish); });
        finish = std::move(state->finish);
      }
      finish(*this);
      continue;
    }
    // Moved out first: the work may Reset() this response or defer again.
    std::function<void(Response&)> work = std::move(deferred_);
    deferred_ = nullptr;
    work(*this);
  }
}

void Response::RunDeferredUntilSuspended() {
  while (deferred_ && !suspension_) {
    std::function<void(Response&)> work = std::move(deferred_);
    deferred_ = nullptr;
    work(*this);
  }
}

}  // namespace tongban::http
