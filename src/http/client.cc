#include "http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>

#include "http/strings.h"
#include "http/url.h"

namespace tongban::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct Target {
  bool tls = false;
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
  Target t;
  std::string_view rest;
  if (StartsWithIgnoreCase(url, "https://")) {
    t.tls = true;
    rest = url.substr(8);
  } else if (StartsWithIgnoreCase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return Error::InvalidArgument("not an http:// or https:// URL");
  }
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
  t.port = port.empty() ? (t.tls ? "443" : "80") : std::string(port);
  if (path.empty() || path.front() == '?') {
    t.path = "/" + std::string(path);
  } else {
    t.path = std::string(path);
  }
  t.display = t.tls ? "https://" : "http://";
  t.display.append(t.authority).append(t.path.substr(0, t.path.find('?')));
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

// What one call sends and receives; lives in Send's frame until its I/O ends.
struct Exchange {
  bhttp::request<bhttp::string_body> request;
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
};

// No header name but a token, no value that could end its line.
bool HeadersAreSafe(const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [name, value] : headers) {
    if (!IsToken(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return false;
    }
  }
  return true;
}

// One call's request (its headers checked by HeadersAreSafe) and the limits of
// its response.
void PrepareExchange(Exchange& x, std::string_view method, const Target& target,
                     const ClientOptions& options, bool close_after,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view body) {
  bhttp::request<bhttp::string_body>& request = x.request;
  request.method_string(std::string(method));
  request.target(target.path);
  request.version(11);
  request.set(bhttp::field::host, target.authority);
  request.set(bhttp::field::user_agent, options.user_agent);
  if (close_after) request.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body().assign(body);
  if (!body.empty() || method == "POST" || method == "PUT") request.prepare_payload();
  x.parser.body_limit(options.max_response_bytes);
  x.parser.header_limit(64 * 1024);
}

// `finish(nullptr, {})` on a complete response, `finish(stage, ec)` otherwise.
using Finish = std::function<void(const char*, const error_code&)>;

// Writes the request and reads the response over a connected (and, for TLS,
// handshaken) stream.
template <class Stream>
void Transfer(Stream& stream, Exchange& x, Finish finish) {
  Stream* s = &stream;
  Exchange* px = &x;
  auto on_read = [px, finish](const error_code& ec, size_t) {
    if (ec == ssl::error::stream_truncated) {
      // A TLS peer that closes without close_notify ends an EOF-delimited body
      // this way; the response is whole if the parser accepts the end there.
      error_code eof_ec;
      px->parser.put_eof(eof_ec);
      if (!eof_ec && px->parser.is_done()) return finish(nullptr, {});
    }
    if (ec) return finish("receive", ec);
    finish(nullptr, {});
  };
  // The header is read on its own first: Boost 1.74's eager async_read drops
  // the body_limit error for a too-large Content-Length when body bytes
  // arrive with the header.
  auto on_header = [s, px, finish, on_read](const error_code& ec, size_t) {
    if (ec) return finish("receive", ec);
    if (px->parser.is_done()) return on_read(ec, 0);
    bhttp::async_read(*s, px->buffer, px->parser, on_read);
  };
  bhttp::async_write(*s, px->request, [s, px, finish, on_header](const error_code& ec, size_t) {
    if (ec) return finish("send", ec);
    bhttp::async_read_header(*s, px->buffer, px->parser, on_header);
  });
}

// Verification against the system trust store plus `ca_file`, TLS 1.2+.
Status ConfigureTls(ssl::context& ctx, const ClientOptions& options) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  error_code ec;
  ctx.set_default_verify_paths(ec);
  if (ec) return Error::Unavailable("tls: cannot load the system trust store: " + ec.message());
  if (!options.ca_file.empty()) {
    ctx.load_verify_file(options.ca_file, ec);
    if (ec) {
      std::string m = "tls: cannot load ca_file ";
      m.append(options.ca_file).append(": ").append(ec.message());
      return Error::Unavailable(std::move(m));
    }
  }
  ctx.set_verify_mode(options.insecure_skip_verify ? ssl::verify_none : ssl::verify_peer);
  return {};
}

// SNI (names only, never IP literals) and the peer name the certificate must
// carry, checked by OpenSSL during the handshake.
Status BindPeerName(SSL* ssl, const std::string& host, bool is_ip) {
  bool ok = true;
  if (is_ip) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
  }
  if (!ok) return Error::Unavailable("tls: cannot set the expected peer name");
  return {};
}

// Starts connecting `socket` to `target`: a numeric address at once, a name
// through `resolver`, in both cases only to addresses `policy` (if any)
// allows. on_connect(ec) runs when the connection is made or fails; a failed
// resolve goes to fail("resolve", ec), a refused address to
// fail("address", access_denied) with `refused` saying why. The callbacks and
// `refused` must outlive the io_context's run.
template <typename Fail, typename OnConnect>
void StartConnect(tcp::socket& socket, tcp::resolver& resolver, const Target& target,
                  const OutboundPolicy* policy, std::string& refused, Fail& fail,
                  OnConnect& on_connect) {
  error_code not_numeric;
  auto address = asio::ip::make_address(target.host, not_numeric);
  if (!not_numeric) {
    if (policy != nullptr) {
      if (auto why = policy->Refusal(address)) {
        refused = std::move(*why);
        return fail("address", asio::error::access_denied);
      }
    }
    socket.async_connect(tcp::endpoint(address, static_cast<uint16_t>(std::stoi(target.port))),
                         on_connect);
    return;
  }
  resolver.async_resolve(
      target.host, target.port,
      [&, policy](const error_code& ec, const tcp::resolver::results_type& results) {
        if (ec) return fail("resolve", ec);
        std::vector<tcp::endpoint> allowed;
        for (const auto& entry : results) {
          std::optional<std::string> why;
          if (policy != nullptr) why = policy->Refusal(entry.endpoint().address());
          if (why) {
            if (refused.empty()) refused = target.host + " resolves to " + *why;
          } else {
            allowed.push_back(entry.endpoint());
          }
        }
        if (allowed.empty()) {
          if (refused.empty()) refused = target.host + " resolves to no address";
          return fail("address", asio::error::access_denied);
        }
        refused.clear();
        asio::async_connect(socket, allowed,
                            [&](const error_code& e, const tcp::endpoint&) { on_connect(e); });
      });
}

// The error of a call that failed before its response.
Error CallFailure(const std::string& what, const char* failed_at, const error_code& failure,
                  const std::string& refused) {
  if (!refused.empty() && failed_at != nullptr && std::string_view(failed_at) == "address") {
    return Error::PermissionDenied(what + ": refused by the outbound policy: " + refused);
  }
  if (failure == bhttp::error::body_limit) return Error::TooLarge(what + ": response too large");
  std::string m = what;
  m.append(": ").append(failed_at ? failed_at : "unknown").append(": ").append(failure.message());
  return Error::Unavailable(std::move(m));
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

  if (!HeadersAreSafe(headers)) return Error::InvalidArgument("bad request header");
  Exchange x;
  PrepareExchange(x, method, target, options_, /*close_after=*/true, headers, body);

  std::string what = std::string(method) + " " + target.display;
  error_code not_numeric;
  asio::ip::make_address(target.host, not_numeric);

  asio::io_context ioc(1);
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  asio::steady_timer deadline(ioc);
  std::optional<ssl::context> tls_context;
  std::optional<ssl::stream<tcp::socket&>> secure;
  if (target.tls) {
    tls_context.emplace(ssl::context::tls_client);
    if (Status st = ConfigureTls(*tls_context, options_); !st.ok()) return st.error();
    secure.emplace(socket, *tls_context);
    if (Status st = BindPeerName(secure->native_handle(), target.host, !not_numeric); !st.ok()) {
      return st.error();
    }
  }

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
  auto on_deadline = [&](const error_code& ec) {
    if (ec) return;
    if (!done) timed_out = true;
    resolver.cancel();
    error_code ignored;
    socket.close(ignored);
  };
  deadline.expires_after(timeout);
  deadline.async_wait(on_deadline);

  Finish finish = [&](const char* stage, const error_code& ec) {
    if (stage) return fail(stage, ec);
    done = true;
    if (!secure) {
      deadline.cancel();
      return;
    }
    // The response is complete, so the TLS close is best effort: a peer that
    // just drops the connection (stream_truncated, eof) is fine, and one that
    // never answers close_notify gets a short grace, not the rest of `timeout`.
    constexpr auto kShutdownGrace = std::chrono::milliseconds(500);
    if (deadline.expiry() - asio::steady_timer::clock_type::now() > kShutdownGrace) {
      deadline.expires_after(kShutdownGrace);
      deadline.async_wait(on_deadline);
    }
    secure->async_shutdown([&](const error_code&) {
      deadline.cancel();
      error_code ignored;
      socket.close(ignored);
    });
  };
  auto on_connect = [&](const error_code& ec) {
    if (ec) return fail("connect", ec);
    if (!secure) return Transfer(socket, x, finish);
    secure->async_handshake(ssl::stream_base::client, [&](const error_code& hs) {
      if (hs) return fail("tls", hs);
      Transfer(*secure, x, finish);
    });
  };

  std::string refused;
  StartConnect(socket, resolver, target, options_.policy.get(), refused, fail, on_connect);
  ioc.run();

  if (!(done && !failed_at)) {
    if (timed_out) {
      return Error::Unavailable(what + ": timed out after " + std::to_string(timeout.count()) +
                                " ms");
    }
    Error error = CallFailure(what, failed_at, failure, refused);
    if (secure && error.code == errc::kUnavailable) {
      long verify = SSL_get_verify_result(secure->native_handle());
      if (verify != X509_V_OK) {
        error.message.append(" (").append(X509_verify_cert_error_string(verify)).append(")");
      }
    }
    return error;
  }
  auto& message = x.parser.get();
  ClientResponse out;
  out.status = static_cast<int>(message.result_int());
  out.body = std::move(message.body());
  for (const auto& field : message) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

struct KeepAliveClient::Conn {
  asio::io_context ioc{1};
  tcp::socket socket{ioc};
  std::string origin;  // host:port of the open connection
  void Close() {
    error_code ignored;
    socket.close(ignored);
    origin.clear();
  }
};

KeepAliveClient::KeepAliveClient(ClientOptions options)
    : options_(options), fallback_(std::move(options)), conn_(std::make_unique<Conn>()) {}

KeepAliveClient::~KeepAliveClient() = default;

Result<ClientResponse> KeepAliveClient::PostForm(
    std::string_view url, const std::vector<std::pair<std::string, std::string>>& params,
    std::chrono::milliseconds timeout) {
  return Send("POST", url, {{"Content-Type", "application/x-www-form-urlencoded;charset=UTF-8"}},
              EncodeForm(params), timeout);
}

Result<ClientResponse> KeepAliveClient::Send(
    std::string_view method, std::string_view url,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
    std::chrono::milliseconds timeout) {
  if (!IsToken(method)) return Error::InvalidArgument("bad HTTP method");
  auto parsed = ParseTarget(url);
  if (!parsed.ok()) return std::move(parsed).error();
  const Target& target = *parsed;
  if (target.tls) return fallback_.Send(method, url, headers, body, timeout);
  if (!HeadersAreSafe(headers)) return Error::InvalidArgument("bad request header");
  const std::string origin = target.host + ":" + target.port;
  Conn& c = *conn_;
  if (c.socket.is_open() && c.origin != origin) c.Close();
  const std::string what = std::string(method) + " " + target.display;
  const auto give_up_at = std::chrono::steady_clock::now() + timeout;

  for (int attempt = 0;; ++attempt) {
    if (c.socket.is_open()) {
      // Bytes waiting on an idle connection belong to no request of ours (a
      // late or unasked-for response): never read them as this one's answer.
      error_code ec;
      if (c.socket.available(ec) != 0 || ec) c.Close();
    }
    const bool reused = c.socket.is_open();
    Exchange x;
    PrepareExchange(x, method, target, options_, /*close_after=*/false, headers, body);

    c.ioc.restart();
    tcp::resolver resolver(c.ioc);
    asio::steady_timer deadline(c.ioc);
    bool done = false, timed_out = false;
    const char* failed_at = nullptr;
    error_code failure;
    auto fail = [&](const char* stage, const error_code& ec) {
      failed_at = stage;
      failure = ec;
      deadline.cancel();
      c.Close();
    };
    deadline.expires_at(give_up_at);
    deadline.async_wait([&](const error_code& ec) {
      if (ec) return;
      if (!done) timed_out = true;
      resolver.cancel();
      c.Close();
    });
    Finish finish = [&](const char* stage, const error_code& ec) {
      if (stage) return fail(stage, ec);
      done = true;
      deadline.cancel();
    };
    auto on_connect = [&](const error_code& ec) {
      if (ec) return fail("connect", ec);
      ++opened_;
      c.origin = origin;
      error_code ignored;
      c.socket.set_option(tcp::no_delay(true), ignored);
      Transfer(c.socket, x, finish);
    };
    std::string refused;
    if (reused) {
      Transfer(c.socket, x, finish);
    } else {
      StartConnect(c.socket, resolver, target, options_.policy.get(), refused, fail, on_connect);
    }
    c.ioc.run();

    if (done && !failed_at) {
      auto& message = x.parser.get();
      // Another response's bytes after this one, a body that ended with the
      // connection, or the server's wish: closed.
      if (!message.keep_alive() || message.need_eof() || x.buffer.size() != 0) c.Close();
      if (message.result_int() < 200) {
        // An interim (1xx) response: its final one would arrive later, on a
        // connection nobody reads; we never ask for one (no Expect), so fail.
        c.Close();
        return Error::Unavailable(what + ": interim response " +
                                  std::to_string(message.result_int()));
      }
      ClientResponse out;
      out.status = static_cast<int>(message.result_int());
      out.body = std::move(message.body());
      for (const auto& field : message) {
        out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      return out;
    }
    c.Close();
    // The server closed the idle connection before it read this request:
    // nothing came back, so send it again on a fresh connection, once.
    const bool stale = reused && attempt == 0 && !timed_out && !x.parser.got_some() &&
                       (failure == bhttp::error::end_of_stream || failure == asio::error::eof ||
                        failure == asio::error::connection_reset ||
                        failure == asio::error::broken_pipe);
    if (stale) continue;
    if (timed_out) {
      return Error::Unavailable(what + ": timed out after " + std::to_string(timeout.count()) +
                                " ms");
    }
    return CallFailure(what, failed_at, failure, refused);
  }
}

std::vector<Result<ClientResponse>> KeepAliveClient::PostFormPipelined(
    std::string_view url,
    const std::vector<std::vector<std::pair<std::string, std::string>>>& forms,
    std::chrono::milliseconds timeout) {
  std::vector<Result<ClientResponse>> out;
  out.reserve(forms.size());
  auto one_at_a_time = [&] {
    for (const auto& form : forms) out.push_back(PostForm(url, form, timeout));
    return std::move(out);
  };
  auto parsed = ParseTarget(url);
  if (!parsed.ok() || parsed->tls || forms.size() < 2) return one_at_a_time();
  const Target& target = *parsed;
  const std::string origin = target.host + ":" + target.port;
  if (std::find(no_pipelining_.begin(), no_pipelining_.end(), origin) != no_pipelining_.end() ||
      !HeadersAreSafe({{"User-Agent", options_.user_agent}})) {
    return one_at_a_time();
  }
  // The requests as PrepareExchange would build them, written out at once.
  std::string wire;
  for (const auto& form : forms) {
    const std::string body = EncodeForm(form);
    wire.append("POST ").append(target.path).append(" HTTP/1.1\r\nHost: ");
    wire.append(target.authority).append("\r\nUser-Agent: ").append(options_.user_agent);
    wire.append("\r\nContent-Type: application/x-www-form-urlencoded;charset=UTF-8\r\n");
    wire.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    wire.append(body);
  }
  Conn& c = *conn_;
  if (c.socket.is_open() && c.origin != origin) c.Close();
  const std::string what = "POST " + target.display;
  const auto give_up_at = std::chrono::steady_clock::now() + timeout;
  ++pipelined_;

  for (int attempt = 0;; ++attempt) {
    if (c.socket.is_open()) {
      error_code ec;
      if (c.socket.available(ec) != 0 || ec) c.Close();
    }
    const bool reused = c.socket.is_open();
    std::string refused;
    c.ioc.restart();
    tcp::resolver resolver(c.ioc);
    asio::steady_timer deadline(c.ioc);
    boost::beast::flat_buffer buffer;
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    std::vector<ClientResponse> answers;
    bool timed_out = false, closing = false, got_some = false;
    const char* failed_at = nullptr;
    error_code failure;
    auto fail = [&](const char* stage, const error_code& ec) {
      if (failed_at == nullptr) {
        failed_at = stage;
        failure = ec;
      }
      deadline.cancel();
      c.Close();
    };
    deadline.expires_at(give_up_at);
    deadline.async_wait([&](const error_code& ec) {
      if (ec) return;
      timed_out = true;
      resolver.cancel();
      c.Close();
    });
    std::function<void()> read_next;
    auto on_body = [&](const error_code& ec, size_t) {
      if (ec) return fail("receive", ec);
      auto& message = parser->get();
      if (message.result_int() < 200) {  // never asked for (no Expect): see Send
        return fail("receive", bhttp::error::bad_status);
      }
      ClientResponse r;
      r.status = static_cast<int>(message.result_int());
      r.body = std::move(message.body());
      for (const auto& field : message) {
        r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      answers.push_back(std::move(r));
      if (!message.keep_alive() || message.need_eof()) closing = true;
      if (answers.size() == forms.size() || closing) {
        deadline.cancel();
        if (closing || buffer.size() != 0) c.Close();
        return;
      }
      read_next();
    };
    auto on_header = [&](const error_code& ec, size_t) {
      if (ec) return fail("receive", ec);
      got_some = true;
      if (parser->is_done()) return on_body(ec, 0);
      bhttp::async_read(c.socket, buffer, *parser, on_body);
    };
    read_next = [&] {
      parser.emplace();
      parser->body_limit(options_.max_response_bytes);
      parser->header_limit(64 * 1024);
      bhttp::async_read_header(c.socket, buffer, *parser, on_header);
    };
    auto start = [&] {
      // Written while the responses are read: a server that answers before it
      // has read everything never waits on a full socket buffer of ours.
      asio::async_write(c.socket, asio::buffer(wire), [&](const error_code& ec, size_t) {
        if (ec && answers.size() < forms.size() && !closing) fail("send", ec);
      });
      read_next();
    };
    if (reused) {
      start();
    } else {
      auto on_connect = [&](const error_code& ec) {
        if (ec) return fail("connect", ec);
        ++opened_;
        c.origin = origin;
        error_code ignored;
        c.socket.set_option(tcp::no_delay(true), ignored);
        start();
      };
      StartConnect(c.socket, resolver, target, options_.policy.get(), refused, fail, on_connect);
    }
    c.ioc.run();
    if (answers.empty() && !refused.empty()) {
      const Error error = CallFailure(what, failed_at, failure, refused);
      while (out.size() < forms.size()) out.push_back(error);
      return out;
    }

    // The server closed the idle kept connection before reading any of it.
    const bool stale = reused && attempt == 0 && !timed_out && answers.empty() && !got_some &&
                       (failure == bhttp::error::end_of_stream || failure == asio::error::eof ||
                        failure == asio::error::connection_reset ||
                        failure == asio::error::broken_pipe);
    if (stale) {
      c.Close();
      continue;
    }
    if (closing && !timed_out && !answers.empty() && answers.size() < forms.size()) {
      // An orderly close after some answers (Connection: close, HTTP/1.0, a
      // server's cap of requests per connection): the server processed none of
      // the requests after its last answer, so they go again on a new
      // connection — one at a time from now on if it closed after the first.
      c.Close();
      if (answers.size() == 1) no_pipelining_.push_back(origin);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up_at - std::chrono::steady_clock::now());
      if (left.count() > 0) {
        for (ClientResponse& r : answers) out.push_back(std::move(r));
        const std::vector<std::vector<std::pair<std::string, std::string>>> rest(
            forms.begin() + static_cast<std::ptrdiff_t>(out.size()), forms.end());
        for (auto& r : PostFormPipelined(url, rest, left)) out.push_back(std::move(r));
        return out;
      }
    }
    std::string why;
    if (answers.size() < forms.size()) {
      c.Close();
      if (timed_out) {
        why = what + ": timed out after " + std::to_string(timeout.count()) + " ms";
      } else if (closing) {
        why = what + ": not answered (the server closed the connection)";
      } else {
        why = what + ": " + (failed_at ? failed_at : "unknown") + ": " + failure.message();
      }
      // Some of the burst unanswered: from now on one call at a time there.
      if (!closing || answers.empty()) no_pipelining_.push_back(origin);
    }
    for (ClientResponse& r : answers) out.push_back(std::move(r));
    while (out.size() < forms.size()) out.push_back(Error::Unavailable(why));
    return out;
  }
}

}  // namespace tongban::http
