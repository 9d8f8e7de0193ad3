#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>

#include "http/strings.h"
#include "http/url.h"

namespace tongban::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct Target {
  std::string host;       // without brackets
  std::string port;       // digits
  std::string authority;  // for the Host header
  std::string path;       // path and query, as sent
  std::string display;    // for error messages: no query
};

bool IsPlainUrlText(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7F) return false;
  }
  return true;
}

Result<Target> ParseTarget(std::string_view url) {
  if (StartsWithIgnoreCase(url, "https://")) {
    return Error::InvalidArgument("https URLs are not supported by http::Client (no TLS)");
  }
  if (!StartsWithIgnoreCase(url, "http://")) return Error::InvalidArgument("not an http:// URL");
  std::string_view rest = url.substr(7);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  path = path.substr(0, path.find('#'));
  if (authority.empty()) return Error::InvalidArgument("URL has no host");
  if (authority.find('@') != std::string_view::npos) {
    return Error::InvalidArgument("URL user information is not supported");
  }
  if (!IsPlainUrlText(authority) || !IsPlainUrlText(path)) {
    return Error::InvalidArgument("URL contains spaces, controls or non-ASCII bytes");
  }
  Target t;
  t.authority = std::string(authority);
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error::InvalidArgument("URL has a bad IPv6 host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error::InvalidArgument("URL has a bad port");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Error::InvalidArgument("URL has no host");
  if (!port.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return Error::InvalidArgument("URL has a bad port");
    }
  }
  t.host = std::string(host);
  t.port = port.empty() ? "80" : std::string(port);
  if (path.empty() || path.front() == '?') {
    t.path = "/" + std::string(path);
  } else {
    t.path = std::string(path);
  }
  t.display = "http://" + t.authority + t.path.substr(0, t.path.find('?'));
  return t;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                  std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> ClientResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Result<ClientResponse> Client::Get(std::string_view url, std::chrono::milliseconds timeout) const {
  return Send("GET", url, {}, {}, timeout);
}

Result<ClientResponse> Client::Post(std::string_view url, std::string_view content_type,
                                    std::string_view body,
                                    std::chrono::milliseconds timeout) const {
  return Send("POST", url, {{"Content-Type", std::string(content_type)}}, body, timeout);
}

Result<ClientResponse> Client::PostForm(
    std::string_view url, const std::vector<std::pair<std::string, std::string>>& params,
    std::chrono::milliseconds timeout) const {
  return Post(url, "application/x-www-form-urlencoded;charset=UTF-8", EncodeForm(params), timeout);
}

Result<ClientResponse> Client::Send(std::string_view method, std::string_view url,
                                    const std::vector<std::pair<std::string, std::string>>& headers,
                                    std::string_view body,
                                    std::chrono::milliseconds timeout) const {
  if (!IsToken(method)) return Error::InvalidArgument("bad HTTP method");
  auto parsed = ParseTarget(url);
  if (!parsed.ok()) return std::move(parsed).error();
  const Target& target = *parsed;

  bhttp::request<bhttp::string_body> request;
  request.method_string(std::string(method));
  request.target(target.path);
  request.version(11);
  request.set(bhttp::field::host, target.authority);
  request.set(bhttp::field::user_agent, options_.user_agent);
  request.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : headers) {
    if (!IsToken(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return Error::InvalidArgument("bad request header");
    }
    request.set(name, value);
  }
  request.body().assign(body);
  if (!body.empty() || method == "POST" || method == "PUT") request.prepare_payload();

  asio::io_context ioc(1);
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  asio::steady_timer deadline(ioc);
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  parser.header_limit(64 * 1024);

  bool done = false;
  bool timed_out = false;
  const char* failed_at = nullptr;
  error_code failure;
  auto fail = [&](const char* stage, const error_code& ec) {
    failed_at = stage;
    failure = ec;
    deadline.cancel();
    error_code ignored;
    socket.close(ignored);
  };

  deadline.expires_after(timeout);
  deadline.async_wait([&](const error_code& ec) {
    if (ec) return;
    timed_out = true;
    resolver.cancel();
    error_code ignored;
    socket.close(ignored);
  });
  auto on_read = [&](const error_code& ec, size_t) {
    if (ec) return fail("receive", ec);
    done = true;
    deadline.cancel();
  };
  // The header is read on its own first: Boost 1.74's eager async_read drops
  // the body_limit error for a too-large Content-Length when body bytes
  // arrive with the header.
  auto on_header = [&](const error_code& ec, size_t) {
    if (ec) return fail("receive", ec);
    if (parser.is_done()) return on_read(ec, 0);
    bhttp::async_read(socket, buffer, parser, on_read);
  };
  auto on_write = [&](const error_code& ec, size_t) {
    if (ec) return fail("send", ec);
    bhttp::async_read_header(socket, buffer, parser, on_header);
  };
  auto on_connect = [&](const error_code& ec) {
    if (ec) return fail("connect", ec);
    bhttp::async_write(socket, request, on_write);
  };

  error_code not_numeric;
  auto address = asio::ip::make_address(target.host, not_numeric);
  if (!not_numeric) {
    uint16_t port = static_cast<uint16_t>(std::stoi(target.port));
    socket.async_connect(tcp::endpoint(address, port), on_connect);
  } else {
    resolver.async_resolve(target.host, target.port,
                           [&](const error_code& ec, const tcp::resolver::results_type& results) {
                             if (ec) return fail("resolve", ec);
                             asio::async_connect(
                                 socket, results,
                                 [&](const error_code& e, const tcp::endpoint&) { on_connect(e); });
                           });
  }
  ioc.run();

  std::string what = std::string(method) + " " + target.display;
  if (!(done && !failed_at)) {
    if (timed_out) {
      return Error::Unavailable(what + ": timed out after " + std::to_string(timeout.count()) +
                                " ms");
    }
    if (failure == bhttp::error::body_limit) return Error::TooLarge(what + ": response too large");
    return Error::Unavailable(what + ": " + (failed_at ? failed_at : "unknown") + ": " +
                              failure.message());
  }
  auto& message = parser.get();
  ClientResponse out;
  out.status = static_cast<int>(message.result_int());
  out.body = std::move(message.body());
  for (const auto& field : message) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

}  // namespace tongban::http
