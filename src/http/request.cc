#include "http/request.h"

#include <cstring>

#include "http/cookie.h"
#include "http/form.h"
#include "http/strings.h"
#include "http/trusted_proxies.h"

namespace tongban::http {
namespace {

bool HasDotSegment(std::string_view path) {
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view segment = path.substr(pos, slash - pos);
    if (segment == "." || segment == "..") return true;
    pos = slash + 1;
  }
  return false;
}

}  // namespace

Result<Request> Request::Create(const RequestInit& init) {
  Request r;
  r.method_ = init.method;
  r.target_ = init.target;
  for (const auto& [name, value] : init.headers) r.AddHeader(name, value);
  r.body_ = init.body;
  r.peer_ip_ = NormalizeIp(init.peer_ip);
  if (r.peer_ip_.empty()) r.peer_ip_ = init.peer_ip;
  static const TrustedProxies kNobody;
  TB_RETURN_IF_ERROR(r.Finish(kNobody));
  if (r.param_error_ && !init.keep_param_error) return *r.param_error_;
  return r;
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  std::string_view all(header_data_);
  for (const HeaderSlot& h : headers_) {
    if (EqualsIgnoreCase(all.substr(h.name_offset, h.name_size), name)) {
      return all.substr(h.value_offset, h.value_size);
    }
  }
  return std::nullopt;
}

std::pair<std::string_view, std::string_view> Request::header_at(size_t i) const {
  std::string_view all(header_data_);
  const HeaderSlot& h = headers_[i];
  return {all.substr(h.name_offset, h.name_size), all.substr(h.value_offset, h.value_size)};
}

std::optional<std::string_view> Request::Cookie(std::string_view name) const {
  std::string_view all(header_data_);
  for (const HeaderSlot& h : headers_) {
    if (!EqualsIgnoreCase(all.substr(h.name_offset, h.name_size), "cookie")) continue;
    auto found = FindCookie(all.substr(h.value_offset, h.value_size), name);
    if (found) return found;
  }
  return std::nullopt;
}

void Request::Reset() {
  method_.clear();
  target_.clear();
  path_.clear();
  query_.clear();
  body_.clear();
  header_data_.clear();
  headers_.clear();
  params_.Clear();
  param_error_.reset();
  remote_ip_.clear();
  version_ = 11;
  // One large upload must not pin its buffer for the life of a keep-alive connection.
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);
}

void Request::AddHeader(std::string_view name, std::string_view value) {
  HeaderSlot slot;
  slot.name_offset = static_cast<uint32_t>(header_data_.size());
  slot.name_size = static_cast<uint32_t>(name.size());
  header_data_.append(name);
  slot.value_offset = static_cast<uint32_t>(header_data_.size());
  slot.value_size = static_cast<uint32_t>(value.size());
  header_data_.append(value);
  headers_.push_back(slot);
}

Status Request::Finish(const TrustedProxies& proxies) {
  std::string_view target(target_);
  if (target == "*") {
    if (method_ != "OPTIONS") return Error::InvalidArgument("request target '*' is only for OPTIONS");
    path_.assign(1, '*');  // not = "*": GCC 12 -Wrestrict false positive
  } else {
    // absolute-form ("http://host/path"), which HTTP/1.1 servers must accept.
    if (StartsWithIgnoreCase(target, "http://") || StartsWithIgnoreCase(target, "https://")) {
      size_t authority = target.find("//") + 2;
      size_t slash = target.find_first_of("/?", authority);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      if (target.front() == '?') return Error::InvalidArgument("request target has no path");
    }
    if (target.empty() || target.front() != '/') {
      return Error::InvalidArgument("request target must start with '/'");
    }
    size_t hash = target.find('#');
    target = target.substr(0, hash);
    size_t question = target.find('?');
    std::string_view raw_path = target.substr(0, question);
    if (question != std::string_view::npos) query_.assign(target.substr(question + 1));
    if (!PercentDecodeAppend(raw_path, /*plus_is_space=*/false, path_)) {
      return Error::InvalidArgument("the path has malformed percent-encoding");
    }
    if (!IsValidUtf8(path_)) return Error::InvalidArgument("the path is not valid UTF-8");
    if (path_.find('\0') != std::string::npos) {
      return Error::InvalidArgument("the path contains a NUL byte");
    }
    if (HasDotSegment(path_)) return Error::InvalidArgument("the path has '.' or '..' segments");
  }

  Status read = ParseQueryInto(query_, ParamSource::kQuery, params_);
  if (read.ok()) {
    if (auto content_type = Header("Content-Type")) {
      read = ParseFormBody(*content_type, body_, params_);
    }
  }
  if (!read.ok()) param_error_ = std::move(read).error();

  if (proxies.empty()) {
    remote_ip_ = peer_ip_;
    return Status::Ok();
  }
  // Several X-Forwarded-For headers form one list, in order.
  std::string joined;
  std::string_view all(header_data_);
  for (const HeaderSlot& h : headers_) {
    if (!EqualsIgnoreCase(all.substr(h.name_offset, h.name_size), "x-forwarded-for")) continue;
    if (!joined.empty()) joined.push_back(',');
    joined.append(all.substr(h.value_offset, h.value_size));
  }
  remote_ip_ = proxies.ClientIp(peer_ip_, joined);
  return Status::Ok();
}

}  // namespace tongban::http
