#include "http/request_parser.h"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <atomic>

#include "http/strings.h"
#include "http/trusted_proxies.h"

namespace tongban::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;
using BeastView = boost::beast::string_view;

std::string_view View(BeastView v) { return std::string_view(v.data(), v.size()); }

// Bytes held by bodies beyond the default limit (the upload routes' larger
// ones), across every connection of the process: past the budget a request is
// refused (503) instead of taking the machine's memory — anonymous callers
// reach those routes' limits before any route checks who they are (review12c).
std::atomic<int64_t> larger_bodies_held{0};

// A body is reserved up to this much when its Content-Length is announced;
// beyond, it grows as its bytes arrive (an announcement alone costs nothing).
constexpr size_t kMaxReserve = 1 << 20;

// Fills a Request from Beast's callbacks. Beast only bounds the part of the
// header it holds at once; header_bytes counts everything it has handed over.
class BeastRequestParser final : public bhttp::basic_parser<true> {
 public:
  BeastRequestParser(Request& request, size_t max_header_bytes, size_t default_body_bytes)
      : request_(request),
        max_header_bytes_(max_header_bytes),
        default_body_bytes_(default_body_bytes) {}
  ~BeastRequestParser() override { larger_bodies_held -= charged_; }

  bool expects_continue() const { return expects_continue_; }
  bool over_budget() const { return over_budget_; }

  std::string* method = nullptr;
  std::string* target = nullptr;
  int* version = nullptr;
  std::string* body = nullptr;
  void (*add_header)(Request&, std::string_view, std::string_view) = nullptr;
  const std::vector<std::pair<std::string, size_t>>* larger_bodies = nullptr;
  int64_t larger_bodies_budget = RequestParser::kLargerBodiesBudget;

 private:
  void on_request_impl(bhttp::verb, BeastView method_str, BeastView target_str, int ver,
                       error_code& ec) override {
    if (!CountHeaderBytes(method_str.size() + target_str.size() + 11, ec)) return;
    method->assign(View(method_str));
    target->assign(View(target_str));
    *version = ver;
    // Before the headers: Beast checks Content-Length against the limit as
    // they complete, so an oversized upload is refused before its body is read.
    if (larger_bodies != nullptr) {
      for (const auto& [prefix, limit] : *larger_bodies) {
        if (target->starts_with(prefix)) {
          body_limit(static_cast<std::uint64_t>(limit));
          break;
        }
      }
    }
  }

  void on_response_impl(int, BeastView, int, error_code& ec) override {
    ec = bhttp::error::bad_version;
  }

  void on_field_impl(bhttp::field field, BeastView name, BeastView value,
                     error_code& ec) override {
    if (!CountHeaderBytes(name.size() + value.size() + 4, ec)) return;
    add_header(request_, View(name), View(value));
    if (field == bhttp::field::expect && EqualsIgnoreCase(View(value), "100-continue")) {
      expects_continue_ = true;
    }
  }

  void on_header_impl(error_code&) override {}

  void on_body_init_impl(boost::optional<std::uint64_t> const& content_length,
                         error_code&) override {
    // Beast has already checked content_length against the body limit.
    if (content_length) body->reserve(std::min<size_t>(static_cast<size_t>(*content_length), kMaxReserve));
  }

  std::size_t on_body_impl(BeastView data, error_code& ec) override {
    if (!Charge(data.size(), ec)) return 0;
    body->append(data.data(), data.size());
    return data.size();
  }

  void on_chunk_header_impl(std::uint64_t, BeastView, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, BeastView data, error_code& ec) override {
    if (!Charge(data.size(), ec)) return 0;
    body->append(data.data(), data.size());
    return data.size();
  }

  // Charges what `n` more body bytes put beyond the default limit to the
  // process's budget for larger bodies; false (and an error) past it.
  bool Charge(size_t n, error_code& ec) {
    const size_t after = body->size() + n;
    if (after <= default_body_bytes_) return true;
    const int64_t more = static_cast<int64_t>(after - default_body_bytes_) - charged_;
    if (larger_bodies_held.fetch_add(more) + more > larger_bodies_budget) {
      larger_bodies_held -= more;
      over_budget_ = true;
      ec = bhttp::error::body_limit;
      return false;
    }
    charged_ += more;
    return true;
  }

  void on_finish_impl(error_code&) override {}

  bool CountHeaderBytes(size_t n, error_code& ec) {
    header_bytes_ += n;
    if (header_bytes_ > max_header_bytes_) {
      ec = bhttp::error::header_limit;
      return false;
    }
    return true;
  }

  Request& request_;
  size_t max_header_bytes_;
  size_t default_body_bytes_;
  size_t header_bytes_ = 0;
  int64_t charged_ = 0;  // this body's bytes in larger_bodies_held
  bool expects_continue_ = false;
  bool over_budget_ = false;
};

}  // namespace

// Request's private members are reachable here through friendship; the Beast
// class gets them as pointers so it need not be a friend too.
struct RequestParser::Impl {
  size_t max_header_bytes;
  size_t max_body_bytes;
  const std::vector<std::pair<std::string, size_t>>* larger_bodies = nullptr;
  int64_t larger_bodies_budget = RequestParser::kLargerBodiesBudget;
  std::optional<BeastRequestParser> beast;
};

RequestParser::RequestParser(Request& request, size_t max_header_bytes, size_t max_body_bytes)
    : request_(request), impl_(std::make_unique<Impl>()) {
  impl_->max_header_bytes = max_header_bytes;
  impl_->max_body_bytes = max_body_bytes;
  Begin();
}

RequestParser::~RequestParser() = default;

void RequestParser::SetLargerBodies(const std::vector<std::pair<std::string, size_t>>* larger,
                                    int64_t budget) {
  impl_->larger_bodies = larger;
  impl_->larger_bodies_budget = budget;
  impl_->beast->larger_bodies = larger;
  impl_->beast->larger_bodies_budget = budget;
}

void RequestParser::SetPeer(std::string_view peer_ip) {
  request_.peer_ip_ = NormalizeIp(peer_ip);
  if (request_.peer_ip_.empty()) request_.peer_ip_.assign(peer_ip);
}

void RequestParser::Begin() {
  request_.Reset();
  error_status_ = 0;
  error_message_.clear();
  auto& beast = impl_->beast.emplace(request_, impl_->max_header_bytes, impl_->max_body_bytes);
  beast.method = &request_.method_;
  beast.target = &request_.target_;
  beast.version = &request_.version_;
  beast.body = &request_.body_;
  beast.add_header = [](Request& r, std::string_view name, std::string_view value) {
    r.AddHeader(name, value);
  };
  beast.larger_bodies = impl_->larger_bodies;
  beast.larger_bodies_budget = impl_->larger_bodies_budget;
  // Not eager: in Boost 1.74 an eager put() can lose an error set when the
  // header completes (body_limit) if body bytes follow in the same buffer.
  // Feed() loops instead.
  beast.eager(false);
  beast.header_limit(static_cast<std::uint32_t>(impl_->max_header_bytes));
  beast.body_limit(static_cast<std::uint64_t>(impl_->max_body_bytes));
}

size_t RequestParser::Feed(std::string_view data, State& state) {
  BeastRequestParser& beast = *impl_->beast;
  size_t used = 0;
  // What Beast leaves unconsumed is a line it has not seen the end of: the
  // header's (bounded by header_limit) or, in a chunked body, a chunk-size
  // line, its extensions or a trailer, which nothing else bounds — the caller
  // would buffer them without end (review12c: gigabytes on one connection).
  auto need_more = [&]() -> size_t {
    if (data.size() - used > impl_->max_header_bytes) {
      state = State::kError;
      const bool in_body = beast.is_header_done();
      error_status_ = in_body ? 400 : 431;
      error_message_ = in_body ? "malformed request: a chunk line or trailer too long"
                               : "request header too large";
      return used;
    }
    state = State::kNeedMore;
    return used;
  };
  for (;;) {
    error_code ec;
    size_t n = beast.put(boost::asio::const_buffer(data.data() + used, data.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) return need_more();
    if (ec) {
      state = State::kError;
      if (beast.over_budget()) {
        error_status_ = 503;
        error_message_ = "too many large uploads at once; try again later";
      } else if (ec == bhttp::error::header_limit) {
        error_status_ = 431;
        error_message_ = "request header too large";
      } else if (ec == bhttp::error::body_limit) {
        error_status_ = 413;
        error_message_ = "request body too large";
      } else {
        error_status_ = 400;
        error_message_ = "malformed request: " + ec.message();
      }
      return used;
    }
    if (beast.is_done()) {
      state = State::kDone;
      return used;
    }
    if (n == 0 || used == data.size()) return need_more();
  }
}

bool RequestParser::got_some() const { return impl_->beast->got_some(); }
bool RequestParser::header_done() const { return impl_->beast->is_header_done(); }
bool RequestParser::keep_alive() const { return impl_->beast->keep_alive(); }

bool RequestParser::wants_continue() const {
  const auto& beast = *impl_->beast;
  return beast.expects_continue() && request_.version_ >= 11 && beast.is_header_done() &&
         !beast.is_done();
}

Status RequestParser::Finish(const TrustedProxies& proxies) { return request_.Finish(proxies); }

Result<Request> ParseRequestBytes(std::string_view bytes, size_t max_header_bytes,
                                  size_t max_body_bytes) {
  Request request;
  RequestParser parser(request, max_header_bytes, max_body_bytes);
  parser.SetPeer("127.0.0.1");
  RequestParser::State state;
  parser.Feed(bytes, state);
  if (state == RequestParser::State::kError) {
    return Error{parser.error_status(), std::string(parser.error_message())};
  }
  if (state == RequestParser::State::kNeedMore) return Error{400, "incomplete request"};
  static const TrustedProxies kNobody;
  Status finished = parser.Finish(kNobody);
  if (!finished.ok()) return Error{400, std::move(finished).error().message};
  if (request.param_error()) return Error{400, request.param_error()->message};
  return request;
}

}  // namespace tongban::http
