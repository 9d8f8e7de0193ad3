#include "sso/signed_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "codec/soap.h"
#include "crypto/digest.h"
#include "crypto/sign.h"
#include "sso/reply.h"

namespace tongban::sso {
namespace {

// How far apart the clocks of a cluster's nodes may be (NTP keeps them within
// a second); replay marks outlive their call's window by this much.
constexpr std::chrono::seconds kNodeClockMargin{30};

class HttpParams final : public CallParams {
 public:
  explicit HttpParams(const http::Request& request) : request_(request) {}
  std::string_view Get(std::string_view name) const override { return request_.ParamOr(name); }
  std::vector<std::string_view> Names() const override {
    std::vector<std::string_view> names;
    names.reserve(request_.params().size());
    for (const auto& entry : request_.params()) names.push_back(entry.name);
    return names;
  }

 private:
  const http::Request& request_;
};

class SoapParams final : public CallParams {
 public:
  explicit SoapParams(const codec::SoapCall& call) : call_(call) {}
  std::string_view Get(std::string_view name) const override {
    const std::string* value = call_.Find(name);
    return value ? std::string_view(*value) : std::string_view();
  }
  std::vector<std::string_view> Names() const override {
    std::vector<std::string_view> names;
    names.reserve(call_.params.size());
    for (const auto& param : call_.params) names.push_back(param.name);
    return names;
  }

 private:
  const codec::SoapCall& call_;
};

// Replies carry tickets, tokens and users' ID numbers, mobiles and addresses:
// no proxy or client cache between a department system and tongban keeps them
// (review16d). Every other API of tongban answers the same way.
void NoStore(http::Response& response) { response.AddHeader("Cache-Control", "no-store"); }

void RenderHttp(const MethodReply& reply, codec::Format format, http::Response& response) {
  response.set_status(200);
  response.set_content_type(codec::ContentType(format));
  NoStore(response);
  if (reply.rendered) {
    response.body().assign(*reply.rendered);  // one copy, into the kept buffer
  } else {
    response.set_body(codec::Render(reply.value, format));
  }
}

bool WantsWsdl(std::string_view query) {
  std::string lower(query);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "wsdl" || lower.rfind("wsdl&", 0) == 0 ||
         lower.find("&wsdl") != std::string::npos;
}

}  // namespace

Result<SpecTimeZone> ParseSpecTimeZone(std::string_view text) {
  SpecTimeZone zone;
  if (text == "local") {
    zone.host_local = true;
    return zone;
  }
  if (text == "Z" || text == "UTC") {
    zone.offset = std::chrono::minutes(0);
    return zone;
  }
  auto bad = [] {
    return Error::InvalidArgument("time zone must be +HH:MM, -HH:MM, Z, UTC or local");
  };
  if (text.size() != 5 && text.size() != 6) return bad();
  if (text[0] != '+' && text[0] != '-') return bad();
  std::string digits;
  for (char c : text.substr(1)) {
    if (c == ':' && text.size() == 6 && digits.size() == 2) continue;
    if (c < '0' || c > '9') return bad();
    digits.push_back(c);
  }
  if (digits.size() != 4) return bad();
  int hours = (digits[0] - '0') * 10 + (digits[1] - '0');
  int minutes = (digits[2] - '0') * 10 + (digits[3] - '0');
  if (hours > 14 || minutes > 59) return bad();
  zone.offset = std::chrono::minutes((hours * 60 + minutes) * (text[0] == '-' ? -1 : 1));
  return zone;
}

namespace {

// The host zone's reading: mktime, under a glibc lock, was a third of the
// signature check, so each thread keeps the last `time` it parsed (clients
// sign with a one-second clock, so nearly every call repeats a recent one).
Result<std::chrono::system_clock::time_point> ParseHostLocal(std::string_view time,
                                                             const std::tm& tm) {
  struct LastParsed {
    std::array<char, 14> text{};
    std::chrono::system_clock::time_point at;
  };
  thread_local LastParsed last;
  if (std::equal(time.begin(), time.end(), last.text.begin())) return last.at;
  std::tm normalized = tm;
  normalized.tm_isdst = -1;
  std::time_t t = std::mktime(&normalized);
  // A time skipped by a daylight-saving change comes back moved.
  if (t == -1 || normalized.tm_mday != tm.tm_mday || normalized.tm_hour != tm.tm_hour ||
      normalized.tm_min != tm.tm_min) {
    return Error::InvalidArgument("time is not a real date and time");
  }
  std::copy(time.begin(), time.end(), last.text.begin());
  last.at = std::chrono::system_clock::from_time_t(t);
  return last.at;
}

}  // namespace

Result<std::chrono::system_clock::time_point> ParseSpecTime(std::string_view time,
                                                            SpecTimeZone zone) {
  if (time.size() != 14) return Error::InvalidArgument("time must be yyyyMMddHHmmss");
  for (char c : time) {
    if (c < '0' || c > '9') return Error::InvalidArgument("time must be yyyyMMddHHmmss");
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (time[i] - '0');
    return v;
  };
  const int year = num(0, 4), month = num(4, 2), day = num(6, 2);
  const int hour = num(8, 2), minute = num(10, 2), second = num(12, 2);
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (year < 1970 || !date.ok() || hour > 23 || minute > 59 || second > 59) {
    return Error::InvalidArgument("time is not a real date and time");
  }
  if (zone.host_local) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return ParseHostLocal(time, tm);
  }
  const auto local = std::chrono::sys_days(date) + std::chrono::hours(hour) +
                     std::chrono::minutes(minute) + std::chrono::seconds(second);
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(local - zone.offset);
}

std::string FormatSpecTime(std::chrono::system_clock::time_point t, SpecTimeZone zone) {
  std::tm tm{};
  if (zone.host_local) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    localtime_r(&tt, &tm);
  } else {
    std::time_t tt = std::chrono::system_clock::to_time_t(t + zone.offset);
    gmtime_r(&tt, &tm);
  }
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
  return buf;
}

namespace {

// RFC 3986 unreserved characters stay; every other byte is %XX (upper case).
void AppendPercentEncoded(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
}

// A nonce: 16 to 64 characters of [A-Za-z0-9_-], enough for 96 random bits
// in hex or Base64url, short enough for a replay key.
bool IsNonce(std::string_view nonce) {
  if (nonce.size() < 16 || nonce.size() > 64) return false;
  for (char c : nonce) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string CanonicalRequest(std::string_view method, const CallParams& params) {
  std::vector<std::string_view> names = params.Names();
  // Each name once, as Get answers it (the body's value over the query's).
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out = "TB1\n";
  out.append(method).append("\n");
  bool first = true;
  for (std::string_view name : names) {
    if (name == "sign" || name == "method") continue;
    if (!first) out.push_back('&');
    first = false;
    AppendPercentEncoded(name, out);
    out.push_back('=');
    AppendPercentEncoded(params.Get(name), out);
  }
  return out;
}

SignedApi::SignedApi(SignedApiOptions options, directory::Directory& directory,
                     TicketStore& tickets, Clock& clock)
    : options_(std::move(options)), directory_(directory), tickets_(tickets), clock_(clock) {}

void SignedApi::AddMethod(std::string name, std::vector<std::string> params, MethodHandler handler,
                          MethodCost cost) {
  method_order_.push_back(name);
  Method method;
  method.params = std::move(params);
  method.handler = std::move(handler);
  method.cost = cost;
  methods_[std::move(name)] = std::move(method);
}

void SignedApi::AddAsyncMethod(std::string name, std::vector<std::string> params,
                               AsyncMethodHandler handler) {
  method_order_.push_back(name);
  Method method;
  method.params = std::move(params);
  method.async_handler = std::move(handler);
  methods_[std::move(name)] = std::move(method);
}

void SignedApi::AddMemoryFirstMethod(std::string name, std::vector<std::string> params,
                                     MemoryFirstHandler handler) {
  method_order_.push_back(name);
  Method method;
  method.params = std::move(params);
  method.memory_handler = std::move(handler);
  method.cost = MethodCost::kMemoryFirst;
  method.effect = MethodEffect::kRead;
  methods_[std::move(name)] = std::move(method);
}

void SignedApi::SetEffect(std::string_view method, MethodEffect effect) {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    throw std::logic_error("SetEffect: no method " + std::string(method));
  }
  it->second.effect = effect;
}

MethodEffect SignedApi::EffectOf(std::string_view method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? MethodEffect::kWrite : it->second.effect;
}

Status SignedApi::MarkOnce(std::string_view key_material,
                           std::chrono::system_clock::time_point time,
                           ReplayMark* defer_mark) const {
  // The mark must outlive only the call's acceptance: `time` passes the
  // window check until time + sign_window (one second more for `time`'s
  // whole seconds), plus kNodeClockMargin because another node, whose
  // clock may be a little behind this one's, accepts it a little longer. A
  // flat 2 x sign_window kept most marks twice as long, and marks are what
  // a busy one-node server's memory grows with. 128 bits of the digest are
  // plenty for a key that lives minutes.
  const auto acceptable_for = std::chrono::duration_cast<std::chrono::milliseconds>(
      time + options_.sign_window + std::chrono::seconds(1) + kNodeClockMargin - clock_.Now());
  thread_local std::string key;
  key.assign("rp:");
  crypto::AppendSha256Hex(key_material, 32, key);
  const auto ttl = std::max(acceptable_for, std::chrono::milliseconds(1000));
  if (defer_mark != nullptr) {
    defer_mark->key = key;
    defer_mark->ttl = ttl;
    return Status::Ok();
  }
  auto fresh = tickets_.PutIfAbsent(key, "1", ttl);
  if (!fresh.ok()) return Error{code::kUnavailable, "票据存储不可用"};
  if (!*fresh) return Error{code::kReplayed, "重复的请求（重放）被拒绝"};
  return Status::Ok();
}

bool SignedApi::Blocking(std::string_view method) const {
  auto it = methods_.find(method);
  if (it == methods_.end()) return false;
  const Method& m = it->second;
  // A cheap method's store calls (its grant checks, a replay mark) would
  // wait on the network with a remote store: the pool waits instead.
  return m.cost == MethodCost::kBlocking ||
         (m.cost == MethodCost::kCheap && !m.async_handler && tickets_.Remote());
}

Result<std::shared_ptr<const directory::App>> SignedApi::Authenticate(
    const CallParams& params, std::string_view method, std::string_view remote_ip) const {
  return Authenticate(params, method, remote_ip, nullptr);
}

Result<std::shared_ptr<const directory::App>> SignedApi::Authenticate(
    const CallParams& params, std::string_view method, std::string_view remote_ip,
    ReplayMark* defer_mark, directory::Lookup lookup) const {
  std::string_view servicecode = params.Get("servicecode");
  if (servicecode.empty()) return Error{code::kUnknownServicecode, "servicecode 不能为空"};
  auto found = directory_.CachedApp(servicecode, lookup);
  if (!found.ok()) {
    if (found.error().code == directory::kNotCached) return std::move(found).error();
    // The directory answers the spec's 9900 itself; kNotFound is accepted too.
    if (found.error().code == code::kUnknownServicecode || found.error().code == errc::kNotFound) {
      return Error{code::kUnknownServicecode, "servicecode 不存在"};
    }
    spdlog::error("{}: cannot load app: {}", options_.soap_service, found.error().message);
    return Error{code::kUnavailable, "目录服务暂不可用"};
  }
  std::shared_ptr<const directory::App> app = std::move(found).value();
  if (!app->enabled) return Error{code::kAppDisabled, "接入资源已停用"};
  if (!directory::SourceIpAllowed(*app, remote_ip)) {
    return Error{code::kIpNotAllowed, "来源 IP 未授权: " + std::string(remote_ip)};
  }
  std::string_view time = params.Get("time");
  auto when = ParseSpecTime(time, options_.time_zone);
  if (!when.ok()) return Error{code::kBadTime, "time 格式错误，应为 yyyyMMddHHmmss"};
  auto skew = std::chrono::abs(clock_.Now() - *when);
  if (skew > options_.sign_window) {
    return Error{code::kBadTime, "time 超出允许的时间范围（±" +
                                     std::to_string(options_.sign_window.count()) + " 秒）"};
  }
  std::string_view sign = params.Get("sign");
  std::string_view signmethod = params.Get("signmethod");
  if (!signmethod.empty()) {
    // tongban's request signature: it covers the method, every parameter and
    // a nonce, so a logged URL neither opens another call nor repeats this one.
    auto mode = crypto::ParseSignMode(signmethod);
    if (!mode.ok() || *mode == crypto::SignMode::kSpec) {
      return Error{code::kBadSign, "signmethod 只能是 hmac-sha256 或 hmac-sm3"};
    }
    if (app->sign_mode != crypto::SignMode::kSpec && *mode != app->sign_mode) {
      return Error{code::kBadSign, "该接入资源要求 signmethod=" +
                                       std::string(crypto::SignModeName(app->sign_mode))};
    }
    std::string_view nonce = params.Get("nonce");
    if (!IsNonce(nonce)) {
      return Error{code::kBadSign, "nonce 应为 16 至 64 个字母、数字、- 或 _"};
    }
    if (!crypto::VerifyRequestSign(*mode, app->servicepwd, CanonicalRequest(method, params),
                                   sign)) {
      return Error{code::kBadSign, "sign 校验失败"};
    }
    if (options_.replay_protection) {
      // A nonce is single-use for the app across every interface and method.
      thread_local std::string material;
      material.assign("nonce\x1f").append(servicecode).append("\x1f").append(nonce);
      TB_RETURN_IF_ERROR(MarkOnce(material, *when, defer_mark));
    }
    return app;
  }
  if (app->sign_mode != crypto::SignMode::kSpec) {
    return Error{code::kBadSign, "该接入资源要求请求签名（signmethod=" +
                                     std::string(crypto::SignModeName(app->sign_mode)) +
                                     "，见 docs/integrate-zj.md）"};
  }
  if (!crypto::VerifySign(app->signtype, servicecode, app->servicepwd, time, sign)) {
    return Error{code::kBadSign, "sign 校验失败"};
  }
  if (options_.replay_protection && EffectOf(method) != MethodEffect::kRead &&
      EffectOf(method) != MethodEffect::kRedeemsSingleUse) {
    // A replay is the same call again. The spec's sign is a function of
    // servicecode and time alone, so it adds nothing to the key (and its
    // letter case would make "AbC" a new request); two different calls in
    // one second share it, so the key covers the interface, method and
    // parameters, with `datatype` read as the format it names (1 = json).
    // Per-thread buffer: every signed write builds it.
    thread_local std::string material;
    material.clear();
    material.append(options_.soap_service).append("\x1f");
    material.append(servicecode).append("\x1f").append(time);
    material.append("\x1f").append(method);
    if (auto it = methods_.find(method); it != methods_.end()) {
      for (const auto& name : it->second.params) {
        material.append("\x1f").append(params.Get(name));
      }
    }
    auto format = codec::ParseFormat(params.Get("datatype"));
    material.append("\x1f").append(!format.ok()                      ? params.Get("datatype")
                                   : *format == codec::Format::kJson ? "json"
                                                                     : "xml");
    TB_RETURN_IF_ERROR(MarkOnce(material, *when, defer_mark));
  }
  return app;
}

std::optional<MethodReply> SignedApi::DispatchMemoryFirst(
    const Method& m, std::string_view method, const CallParams& params, std::string_view remote_ip,
    codec::Format format, directory::Lookup lookup, bool* to_pool) const {
  const bool memory_only = lookup == directory::Lookup::kMemoryOnly;
  // On the I/O thread the replay mark (request signatures) is only named
  // here and set after the read answered: a read has no effect to undo, and
  // a miss must leave it unset for the pool's run of the same call.
  ReplayMark mark;
  auto app = Authenticate(params, method, remote_ip, memory_only ? &mark : nullptr, lookup);
  if (!app.ok() && app.error().code == directory::kNotCached) {
    *to_pool = true;
    return std::nullopt;
  }
  if (!app.ok()) return Reply(app.error().code, app.error().message);
  if (!mark.key.empty() && tickets_.Remote()) {
    *to_pool = true;  // setting it would wait on the network
    return std::nullopt;
  }
  try {
    ApiCall call{method, **app, params, remote_ip, format};
    call.lookup = lookup;
    std::optional<MethodReply> reply = m.memory_handler(call);
    if (!reply) {
      if (memory_only) {
        *to_pool = true;
        return std::nullopt;
      }
      spdlog::error("{}.{}: no answer after loading", options_.soap_service, method);
      return Reply(code::kUnavailable, "服务器内部错误");
    }
    if (!mark.key.empty()) {
      auto fresh = tickets_.PutIfAbsent(mark.key, "1", mark.ttl);
      if (!fresh.ok()) return Reply(code::kUnavailable, "票据存储不可用");
      if (!*fresh) return Reply(code::kReplayed, "重复的请求（重放）被拒绝");
    }
    return reply;
  } catch (const std::exception& e) {
    spdlog::error("{}.{} failed: {}", options_.soap_service, method, e.what());
    return Reply(code::kUnavailable, "服务器内部错误");
  }
}

std::optional<MethodReply> SignedApi::Dispatch(std::string_view method, const CallParams& params,
                                                std::string_view remote_ip, codec::Format format,
                                                bool over_get, http::Response& response,
                                                const Render& render, directory::Lookup lookup,
                                                bool* to_pool) const {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    return Reply(code::kUnknownMethod,
                 method.empty() ? "method 不能为空" : "method 不存在: " + std::string(method));
  }
  if (over_get && it->second.effect == MethodEffect::kWrite) {
    return Reply(code::kPostRequired, "method " + std::string(method) +
                                          " 会修改数据，只能用 POST 调用（参数放在请求体中）");
  }
  if (over_get && !options_.passwords_over_get) {
    for (std::string_view name : {"password", "oldpassword", "newpassword"}) {
      if (!params.Get(name).empty()) {
        return Reply(code::kPostRequired,
                     "参数 " + std::string(name) + " 是密码，不能放在 URL 中：请用 POST 调用");
      }
    }
  }
  const bool async = static_cast<bool>(it->second.async_handler);
  if (it->second.memory_handler) {
    return DispatchMemoryFirst(it->second, method, params, remote_ip, format, lookup, to_pool);
  }
  ReplayMark mark;
  auto app = Authenticate(params, method, remote_ip, async ? &mark : nullptr);
  if (!app.ok()) return Reply(app.error().code, app.error().message);
  try {
    if (!async) return it->second.handler(ApiCall{method, **app, params, remote_ip, format});
    ApiCall call{method, **app, params, remote_ip, format, mark.key.empty() ? nullptr : &mark};
    http::Resumer resume = response.Suspend();
    it->second.async_handler(call, [resume, render](AsyncReply reply) {
      resume([reply = std::move(reply), render](http::Response& r) {
        if (auto value = reply(directory::Lookup::kMemoryOnly)) return render(r, *value);
        // A directory cache miss: its SQL runs on the blocking pool, never here.
        r.Defer([reply, render](http::Response& pooled) {
          render(pooled, reply(directory::Lookup::kMayLoad).value_or(
                             Reply(code::kUnavailable, "服务器内部错误")));
        });
      });
    });
    return std::nullopt;
  } catch (const std::exception& e) {
    spdlog::error("{}.{} failed: {}", options_.soap_service, method, e.what());
    // A handler that threw after the response was suspended answers here; the
    // suspension goes, or the server would wait for a resume nobody sends.
    if (response.suspended()) response.Reset();
    return Reply(code::kUnavailable, "服务器内部错误");
  }
}

void SignedApi::HandleHttp(const http::Request& request, http::Response& response) const {
  if (Blocking(request.ParamOr("method"))) {
    response.Defer([this, &request](http::Response& r) {
      AnswerHttp(request, r, directory::Lookup::kMayLoad);
    });
    return;
  }
  AnswerHttp(request, response, directory::Lookup::kMemoryOnly);
}

void SignedApi::AnswerHttp(const http::Request& request, http::Response& response,
                           directory::Lookup lookup) const {
  HttpParams params(request);
  auto format = codec::ParseFormat(params.Get("datatype"));
  MethodReply reply{codec::Value()};
  codec::Format out_format = format.ok() ? *format : codec::Format::kXml;
  if (request.param_error()) {
    reply = Reply(code::kUnreadableParams, "请求参数无法解码: " + request.param_error()->message);
  } else if (!format.ok()) {
    reply = Reply(code::kBadDatatype, "datatype 只能是 xml 或 json");
  } else {
    // Anything but POST counts as GET: the router answers HEAD on GET routes,
    // and a HEAD carries its parameters in the URL just the same.
    bool to_pool = false;
    auto dispatched = Dispatch(
        params.Get("method"), params, request.remote_ip(), out_format, request.method() != "POST",
        response,
        [out_format](http::Response& r, const MethodReply& value) {
          RenderHttp(value, out_format, r);
        },
        lookup, &to_pool);
    if (to_pool) {
      response.Defer([this, &request](http::Response& r) {
        AnswerHttp(request, r, directory::Lookup::kMayLoad);
      });
      return;
    }
    if (!dispatched) return;  // suspended: rendered when the store answers
    reply = std::move(*dispatched);
  }
  RenderHttp(reply, out_format, response);
}

void SignedApi::HandleSoap(const http::Request& request, http::Response& response) const {
  if (request.method() == "GET") {
    if (WantsWsdl(request.query())) {
      response.set_status(200);
      response.set_content_type(http::kXmlType);
      std::string endpoint = options_.soap_endpoint_url;
      if (endpoint.empty()) {
        endpoint = "http://" + std::string(request.Header("Host").value_or("localhost")) +
                   std::string(request.path());
      }
      response.set_body(Wsdl(endpoint));
    } else {
      response.SetText(
          200, options_.soap_service + ": POST SOAP requests here; GET ?wsdl for the WSDL\n");
    }
    return;
  }
  auto call = codec::ParseSoapRequest(request.body());
  if (!call.ok()) {
    response.set_status(500);  // SOAP 1.1 sends faults with HTTP 500
    response.set_content_type(codec::SoapContentType(codec::SoapVersion::k11));
    response.set_body(codec::BuildSoapFault(codec::SoapFaultCode::kClient, call.error().message));
    return;
  }
  if (!methods_.count(call->operation)) {
    response.set_status(500);
    response.set_content_type(codec::SoapContentType(call->version));
    response.set_body(codec::BuildSoapFault(codec::SoapFaultCode::kClient,
                                            "unknown operation " + call->operation, call->version));
    return;
  }
  if (Blocking(call->operation)) {
    response.Defer([this, &request, call = std::move(*call)](http::Response& r) {
      AnswerSoap(request, call, r, directory::Lookup::kMayLoad);
    });
    return;
  }
  AnswerSoap(request, *call, response, directory::Lookup::kMemoryOnly);
}

void SignedApi::AnswerSoap(const http::Request& request, const codec::SoapCall& call,
                           http::Response& response, directory::Lookup lookup) const {
  SoapParams params(call);
  auto format = codec::ParseFormat(params.Get("datatype"));
  codec::Format out_format = format.ok() ? *format : codec::Format::kXml;
  auto render = [operation = call.operation, version = call.version, out_format](
                    http::Response& r, const MethodReply& value) {
    r.set_status(200);
    r.set_content_type(codec::SoapContentType(version));
    NoStore(r);
    std::string text = value.rendered ? std::string() : codec::Render(value.value, out_format);
    r.set_body(codec::BuildSoapResponse(operation, codec::kSsoServiceNamespace,
                                        value.rendered ? *value.rendered : text, version));
  };
  if (!format.ok())
    return render(response, Reply(code::kBadDatatype, "datatype 只能是 xml 或 json"));
  bool to_pool = false;
  auto reply = Dispatch(call.operation, params, request.remote_ip(), out_format,
                        /*over_get=*/false, response, render, lookup, &to_pool);
  if (to_pool) {
    response.Defer([this, &request, copy = call](http::Response& r) {
      AnswerSoap(request, copy, r, directory::Lookup::kMayLoad);
    });
    return;
  }
  if (reply) render(response, *reply);
}

std::string SignedApi::Wsdl(std::string_view endpoint_url) const {
  codec::WsdlService service;
  service.name = options_.soap_service;
  service.target_namespace = std::string(codec::kSsoServiceNamespace);
  service.endpoint_url = std::string(endpoint_url);
  for (const auto& name : method_order_) {
    codec::WsdlOperation op;
    op.name = name;
    op.params = {"servicecode", "time", "sign"};
    const auto& extra = methods_.at(name).params;
    op.params.insert(op.params.end(), extra.begin(), extra.end());
    op.params.push_back("datatype");
    // Optional, last: the request signature's (docs/integrate-zj.md §2a).
    op.params.push_back("signmethod");
    op.params.push_back("nonce");
    service.operations.push_back(std::move(op));
  }
  return codec::BuildWsdl(service);
}

}  // namespace tongban::sso
