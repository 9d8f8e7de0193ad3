// The sandbox channel process. State lives in memory: a restarted paysim has
// forgotten its orders, as a sandbox may. Notifications go out on one sender
// thread that waits on a condition variable for the next due one.
#include "payment/paysim.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <sstream>
#include <thread>

#include "codec/render.h"
#include "codec/value.h"
#include "core/clock.h"
#include "crypto/encoding.h"
#include "http/client.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "http/url.h"
#include "payment/channel.h"
#include "payment/channel_sandbox.h"
#include "payment/channel_statement.h"
#include "payment/model.h"

namespace tongban::payment {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using SteadyTime = std::chrono::steady_clock::time_point;

struct PaysimFlags {
  std::string bind = "127.0.0.1";
  int port = 8090;
  std::string key;
  std::string public_url;  // how payers reach the pay page; default from bind/port
  // Notification switches (also settable at /paysim/admin/switches).
  int drop = 0;       // drop the next N notifications; -1 = drop all
  int repeat = 0;     // send each notification N extra times
  int delay_ms = 0;   // hold each notification this long first
  int reorder = 0;    // hold notifications until N are waiting, then send newest first
  int retries = 8;    // re-sends of a notification the receiver did not accept
  int retry_ms = 200; // first re-send after this, doubling, at most 5 s
};

std::optional<int64_t> ToInt(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string_view item = s.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

struct SimOrder {
  std::string order_no;
  std::string notice_no;
  int64_t amount_fen = 0;
  std::string subject;
  std::string return_url;
  std::string notify_url;
  ChannelPayment payment;  // status unpaid until paid
  int notifications_sent = 0;
  int notifications_accepted = 0;
};

// What the next statements get wrong (set at /paysim/admin/statement).
struct StatementFaults {
  std::set<std::string> wrong_amount;  // these orders' amounts + 1 fen
  std::set<std::string> omit;          // these orders' lines left out
  std::map<std::string, std::string> status;  // these orders' status replaced
  int extra = 0;                        // lines of payments tongban never ordered
  int malformed = 0;                    // unreadable lines
};

struct Outgoing {
  SteadyTime due;
  uint64_t seq = 0;
  std::string url;
  std::string body;
  std::string order_no;
  int attempt = 0;
  bool operator>(const Outgoing& o) const { return due != o.due ? due > o.due : seq > o.seq; }
};

class Paysim {
 public:
  explicit Paysim(PaysimFlags flags) : flags_(std::move(flags)) {
    client_ = std::make_unique<http::Client>(http::ClientOptions{.user_agent = "tongban-paysim"});
    sender_ = std::thread([this] { SendLoop(); });
  }
  ~Paysim() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    sender_.join();
  }

  void Register(http::Router& router) {
    router.Add("GET", "/paysim/healthz", [](const http::Request&, http::Response& res) {
      res.SetText(200, "ok");
    });
    router.Add("POST", std::string(kPaysimOrdersPath),
               [this](const http::Request& q, http::Response& r) { CreateOrder(q, r); });
    router.Add("GET", std::string(kPaysimPayPagePath),
               [this](const http::Request& q, http::Response& r) { PayPage(q, r); });
    router.Add("POST", std::string(kPaysimPayPagePath),
               [this](const http::Request& q, http::Response& r) { PayFromPage(q, r); });
    router.Add("POST", "/paysim/api/pay",
               [this](const http::Request& q, http::Response& r) { PayApi(q, r); });
    router.Add("POST", "/paysim/api/refund",
               [this](const http::Request& q, http::Response& r) { Refund(q, r); });
    router.Add("GET", std::string(kPaysimQueryPath),
               [this](const http::Request& q, http::Response& r) { Query(q, r); });
    router.Add("GET", std::string(kPaysimStatementPath),
               [this](const http::Request& q, http::Response& r) { Statement(q, r); });
    router.Add("*", "/paysim/admin/switches",
               [this](const http::Request& q, http::Response& r) { Switches(q, r); });
    router.Add("POST", "/paysim/admin/statement",
               [this](const http::Request& q, http::Response& r) { SetStatementFaults(q, r); });
    router.Add("POST", "/paysim/admin/flush",
               [this](const http::Request& q, http::Response& r) { Flush(q, r); });
    router.Add("POST", "/paysim/admin/renotify",
               [this](const http::Request& q, http::Response& r) { Renotify(q, r); });
    router.Add("GET", "/paysim/admin/orders",
               [this](const http::Request& q, http::Response& r) { ShowOrder(q, r); });
  }

 private:
  // Checks the request's sign over its parameters.
  bool SignedRequest(const http::Request& req) const {
    auto sign = req.Param("sign");
    if (!sign.has_value()) return false;
    Pairs pairs;
    for (auto e : req.params()) pairs.emplace_back(std::string(e.name), std::string(e.value));
    return crypto::ConstantTimeEquals(SandboxSign(flags_.key, std::move(pairs)), *sign);
  }

  static void SetSignedForm(http::Response& res, const Pairs& form) {
    res.set_status(200);
    res.set_content_type("application/x-www-form-urlencoded;charset=utf-8");
    res.set_body(http::EncodeForm(form));
  }

  void CreateOrder(const http::Request& req, http::Response& res) {
    if (!SignedRequest(req)) return res.SetText(403, "bad signature");
    SimOrder o;
    o.order_no = std::string(req.ParamOr("order_no"));
    o.notice_no = std::string(req.ParamOr("notice_no"));
    o.subject = std::string(req.ParamOr("subject"));
    o.return_url = std::string(req.ParamOr("return_url"));
    o.notify_url = std::string(req.ParamOr("notify_url"));
    auto amount = ToInt(req.ParamOr("amount_fen"));
    if (o.order_no.empty() || !amount.has_value() || *amount <= 0 || o.notify_url.empty()) {
      return res.SetText(400, "order_no, amount_fen > 0 and notify_url are required");
    }
    o.amount_fen = *amount;
    o.payment.order_no = o.order_no;
    o.payment.amount_fen = o.amount_fen;
    {
      std::lock_guard lock(mu_);
      auto [it, inserted] = orders_.try_emplace(o.order_no, o);
      if (!inserted && it->second.amount_fen != o.amount_fen) {
        return res.SetText(409, "order exists with another amount");
      }
    }
    std::string pay_url = PublicUrl() + std::string(kPaysimPayPagePath) + "?order_no=" +
                          http::UrlEncode(o.order_no);
    Pairs form = {{"order_no", o.order_no}, {"pay_url", pay_url}, {"qr_content", pay_url}};
    form.emplace_back("sign", SandboxSign(flags_.key, form));
    SetSignedForm(res, form);
  }

  void PayPage(const http::Request& req, http::Response& res) {
    std::string order_no(req.ParamOr("order_no"));
    std::lock_guard lock(mu_);
    auto it = orders_.find(order_no);
    if (it == orders_.end()) return res.SetText(404, "no such order");
    const SimOrder& o = it->second;
    std::string html =
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<title>沙箱支付</title></head><body><h1>沙箱支付通道</h1>"
        "<p>本页面为测试通道，不收取真实款项。</p><dl><dt>订单号</dt><dd id=\"order\">" +
        HtmlEscape(o.order_no) + "</dd><dt>缴款单号</dt><dd>" + HtmlEscape(o.notice_no) +
        "</dd><dt>项目</dt><dd>" + HtmlEscape(o.subject) + "</dd><dt>金额</dt><dd id=\"amount\">¥" +
        FormatYuan(o.amount_fen) + "</dd></dl>";
    if (o.payment.status == ChannelPaymentStatus::kPaid) {
      html += "<p id=\"state\">已支付</p>";
    } else {
      html += "<form method=\"post\"><input type=\"hidden\" name=\"order_no\" value=\"" +
              HtmlEscape(o.order_no) + "\"><button id=\"pay\" type=\"submit\">确认支付</button></form>";
    }
    html += "</body></html>";
    res.set_status(200);
    res.set_content_type(http::kHtmlType);
    res.set_body(std::move(html));
  }

  void PayFromPage(const http::Request& req, http::Response& res) {
    std::string return_url;
    auto paid = Pay(std::string(req.ParamOr("order_no")), std::nullopt, &return_url);
    if (!paid.ok()) return res.SetText(paid.error().code == errc::kNotFound ? 404 : 409,
                                       paid.error().message);
    if (return_url.empty()) return res.SetText(200, "已支付");
    res.Redirect(return_url, 303);
  }

  // The payer pays (tests): order_no, and amount_fen to report a different amount.
  void PayApi(const http::Request& req, http::Response& res) {
    std::optional<int64_t> amount;
    if (auto a = req.Param("amount_fen"); a.has_value()) {
      amount = ToInt(*a);
      if (!amount.has_value() || *amount <= 0) return res.SetText(400, "bad amount_fen");
    }
    auto paid = Pay(std::string(req.ParamOr("order_no")), amount, nullptr);
    if (!paid.ok()) return res.SetText(paid.error().code == errc::kNotFound ? 404 : 409,
                                       paid.error().message);
    res.SetJson(200, codec::RenderJson(PaymentJson(*paid)));
  }

  Result<ChannelPayment> Pay(const std::string& order_no, std::optional<int64_t> reported_amount,
                             std::string* return_url) {
    std::lock_guard lock(mu_);
    auto it = orders_.find(order_no);
    if (it == orders_.end()) return Error::NotFound("no such order");
    SimOrder& o = it->second;
    if (o.payment.status != ChannelPaymentStatus::kUnpaid) return Error::Conflict("already paid");
    const int64_t now = SystemClock::Instance().NowMillis();
    o.payment.status = ChannelPaymentStatus::kPaid;
    o.payment.paid_at_ms = now;
    o.payment.amount_fen = reported_amount.value_or(o.amount_fen);
    char serial[40];
    std::snprintf(serial, sizeof serial, "PS%s%08llu", ChinaDate(now).c_str(),
                  static_cast<unsigned long long>(++serial_counter_));
    o.payment.channel_serial = serial;
    if (return_url != nullptr) *return_url = o.return_url;
    QueueNotificationLocked(o);
    return o.payment;
  }

  void Refund(const http::Request& req, http::Response& res) {
    if (!SignedRequest(req)) return res.SetText(403, "bad signature");
    std::lock_guard lock(mu_);
    auto it = orders_.find(std::string(req.ParamOr("order_no")));
    if (it == orders_.end()) return res.SetText(404, "no such order");
    if (it->second.payment.status != ChannelPaymentStatus::kPaid) {
      return res.SetText(409, "not paid");
    }
    it->second.payment.status = ChannelPaymentStatus::kRefunded;
    SetSignedForm(res, SandboxPaymentForm(it->second.payment, flags_.key));
  }

  void Query(const http::Request& req, http::Response& res) {
    if (!SignedRequest(req)) return res.SetText(403, "bad signature");
    std::lock_guard lock(mu_);
    auto it = orders_.find(std::string(req.ParamOr("order_no")));
    if (it == orders_.end()) return res.SetText(404, "no such order");
    SetSignedForm(res, SandboxPaymentForm(it->second.payment, flags_.key));
  }

  void Statement(const http::Request& req, http::Response& res) {
    if (!SignedRequest(req)) return res.SetText(403, "bad signature");
    std::string date(req.ParamOr("date"));
    int64_t start = ChinaDayStart(date);
    if (start < 0) return res.SetText(400, "date must be YYYYMMDD");
    const int64_t end = start + 86'400'000;
    std::string body(kStatementHeader);
    body.push_back('\n');
    std::lock_guard lock(mu_);
    for (const auto& [order_no, o] : orders_) {
      ChannelPayment p = o.payment;
      if (p.status == ChannelPaymentStatus::kUnpaid || p.paid_at_ms < start || p.paid_at_ms >= end) {
        continue;
      }
      if (faults_.omit.contains(order_no)) continue;
      if (faults_.wrong_amount.contains(order_no)) p.amount_fen += 1;
      if (auto s = faults_.status.find(order_no); s != faults_.status.end()) {
        if (auto st = ParseChannelPaymentStatus(s->second); st.ok()) p.status = *st;
      }
      AppendStatementLine(p, body);
    }
    for (int i = 0; i < faults_.extra; ++i) {
      ChannelPayment ghost;
      ghost.order_no = "GHOST" + date + std::to_string(i + 1);
      ghost.channel_serial = "PSX" + date + std::to_string(i + 1);
      ghost.amount_fen = 100 + i;
      ghost.paid_at_ms = start + 3'600'000;
      ghost.status = ChannelPaymentStatus::kPaid;
      AppendStatementLine(ghost, body);
    }
    for (int i = 0; i < faults_.malformed; ++i) body += "garbled line," + std::to_string(i) + "\n";
    res.set_status(200);
    res.set_content_type("text/csv;charset=utf-8");
    res.set_body(std::move(body));
  }

  void Switches(const http::Request& req, http::Response& res) {
    std::lock_guard lock(mu_);
    if (req.method() == "POST") {
      for (auto [name, field] : {std::pair{"drop", &flags_.drop}, {"repeat", &flags_.repeat},
                                 {"delay_ms", &flags_.delay_ms}, {"reorder", &flags_.reorder},
                                 {"retries", &flags_.retries}, {"retry_ms", &flags_.retry_ms}}) {
        if (auto v = req.Param(name); v.has_value()) {
          auto n = ToInt(*v);
          if (!n.has_value() || *n < -1 || *n > 3'600'000) return res.SetText(400, "bad value");
          *field = static_cast<int>(*n);
        }
      }
      if (flags_.reorder <= 0) ReleaseHeldLocked();
      cv_.notify_all();
    }
    codec::Value v = codec::Value::Object();
    v.Set("drop", flags_.drop);
    v.Set("repeat", flags_.repeat);
    v.Set("delay_ms", flags_.delay_ms);
    v.Set("reorder", flags_.reorder);
    v.Set("retries", flags_.retries);
    v.Set("retry_ms", flags_.retry_ms);
    v.Set("held", static_cast<int64_t>(held_.size()));
    res.SetJson(200, codec::RenderJson(v));
  }

  void SetStatementFaults(const http::Request& req, http::Response& res) {
    StatementFaults f;
    for (auto& o : SplitList(req.ParamOr("wrong_amount"))) f.wrong_amount.insert(o);
    for (auto& o : SplitList(req.ParamOr("omit"))) f.omit.insert(o);
    for (auto& pair : SplitList(req.ParamOr("status"))) {
      size_t colon = pair.find(':');
      if (colon == std::string::npos) return res.SetText(400, "status is order:status,...");
      f.status[pair.substr(0, colon)] = pair.substr(colon + 1);
    }
    auto extra = ToInt(req.ParamOr("extra", "0"));
    auto malformed = ToInt(req.ParamOr("malformed", "0"));
    if (!extra.has_value() || !malformed.has_value() || *extra < 0 || *malformed < 0 ||
        *extra > 1'000'000 || *malformed > 1'000'000) {
      return res.SetText(400, "bad count");
    }
    f.extra = static_cast<int>(*extra);
    f.malformed = static_cast<int>(*malformed);
    std::lock_guard lock(mu_);
    faults_ = std::move(f);
    res.SetText(200, "ok");
  }

  void Flush(const http::Request&, http::Response& res) {
    std::lock_guard lock(mu_);
    ReleaseHeldLocked();
    cv_.notify_all();
    res.SetText(200, "ok");
  }

  // Sends the order's notification again (a channel's own re-send).
  void Renotify(const http::Request& req, http::Response& res) {
    std::lock_guard lock(mu_);
    auto it = orders_.find(std::string(req.ParamOr("order_no")));
    if (it == orders_.end()) return res.SetText(404, "no such order");
    if (it->second.payment.status == ChannelPaymentStatus::kUnpaid) {
      return res.SetText(409, "not paid");
    }
    QueueNotificationLocked(it->second);
    res.SetText(200, "ok");
  }

  void ShowOrder(const http::Request& req, http::Response& res) {
    std::lock_guard lock(mu_);
    auto it = orders_.find(std::string(req.ParamOr("order_no")));
    if (it == orders_.end()) return res.SetText(404, "no such order");
    codec::Value v = PaymentJson(it->second.payment);
    v.Set("notifications_sent", it->second.notifications_sent);
    v.Set("notifications_accepted", it->second.notifications_accepted);
    res.SetJson(200, codec::RenderJson(v));
  }

  static codec::Value PaymentJson(const ChannelPayment& p) {
    codec::Value v = codec::Value::Object();
    v.Set("order_no", p.order_no);
    v.Set("channel_serial", p.channel_serial);
    v.Set("amount_fen", p.amount_fen);
    v.Set("paid_at", p.paid_at_ms);
    v.Set("status", std::string(ChannelPaymentStatusName(p.status)));
    return v;
  }

  std::string PublicUrl() const {
    if (!flags_.public_url.empty()) return flags_.public_url;
    return "http://" + flags_.bind + ":" + std::to_string(port_);
  }

 public:
  void set_port(int port) { port_ = port; }

 private:
  // Applies the switches to one paid order's notification.
  void QueueNotificationLocked(SimOrder& o) {
    if (flags_.drop != 0) {
      if (flags_.drop > 0) --flags_.drop;
      spdlog::info("paysim: dropped the notification of {}", o.order_no);
      return;
    }
    std::string body = http::EncodeForm(SandboxPaymentForm(o.payment, flags_.key));
    SteadyTime due = std::chrono::steady_clock::now() + std::chrono::milliseconds(flags_.delay_ms);
    for (int i = 0; i <= flags_.repeat; ++i) {
      Outgoing out{due, ++seq_, o.notify_url, body, o.order_no, 0};
      if (flags_.reorder > 0) {
        held_.push_back(std::move(out));
      } else {
        queue_.push(std::move(out));
      }
    }
    if (flags_.reorder > 0 && static_cast<int>(held_.size()) >= flags_.reorder) ReleaseHeldLocked();
    cv_.notify_all();
  }

  // Held notifications go out newest first.
  void ReleaseHeldLocked() {
    SteadyTime now = std::chrono::steady_clock::now();
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
      it->due = now;
      it->seq = ++seq_;
      queue_.push(std::move(*it));
    }
    held_.clear();
  }

  void SendLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      if (queue_.top().due > std::chrono::steady_clock::now()) {
        cv_.wait_until(lock, queue_.top().due);
        continue;
      }
      Outgoing out = queue_.top();
      queue_.pop();
      lock.unlock();
      auto reply = client_->Post(out.url, "application/x-www-form-urlencoded;charset=utf-8",
                                 out.body, std::chrono::milliseconds(5'000));
      bool accepted = reply.ok() && reply->status == 200 && reply->body == "success";
      lock.lock();
      auto it = orders_.find(out.order_no);
      if (it != orders_.end()) {
        ++it->second.notifications_sent;
        if (accepted) ++it->second.notifications_accepted;
      }
      if (!accepted && out.attempt < flags_.retries) {
        int wait = std::min(5'000, flags_.retry_ms << std::min(out.attempt, 10));
        out.due = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
        out.seq = ++seq_;
        ++out.attempt;
        queue_.push(std::move(out));
      } else if (!accepted) {
        spdlog::warn("paysim: gave up notifying {}", out.order_no);
      }
    }
  }

  PaysimFlags flags_;
  int port_ = 0;
  std::unique_ptr<http::Client> client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, SimOrder> orders_;
  StatementFaults faults_;
  uint64_t serial_counter_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Outgoing, std::vector<Outgoing>, std::greater<>> queue_;
  std::vector<Outgoing> held_;
  std::thread sender_;
};

constexpr const char* kUsage =
    "usage: tongban paysim --key KEY|--key-file FILE [--bind 127.0.0.1] [--port 8090]\n"
    "                      [--public-url URL] [--drop N] [--repeat N] [--delay-ms N]\n"
    "                      [--reorder N] [--retries N] [--retry-ms N]\n"
    "The sandbox payment channel: collects no money. See docs/api/payment-channels.md.\n";

// Flags are "--name value"; returns an error message or "".
std::string ParseFlags(const std::vector<std::string>& args, PaysimFlags& f, bool& help) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      help = true;
      return "";
    }
    if (i + 1 >= args.size()) return "missing value for " + a;
    const std::string& v = args[++i];
    auto number = [&](int& into) -> bool {
      auto n = ToInt(v);
      if (!n.has_value() || *n < -1 || *n > 3'600'000) return false;
      into = static_cast<int>(*n);
      return true;
    };
    bool ok = true;
    if (a == "--bind") {
      f.bind = v;
    } else if (a == "--port") {
      ok = number(f.port) && f.port >= 0 && f.port < 65536;
    } else if (a == "--key") {
      f.key = v;
    } else if (a == "--key-file") {
      std::ifstream in(v);
      std::getline(in, f.key);
      ok = static_cast<bool>(in) || !f.key.empty();
    } else if (a == "--public-url") {
      f.public_url = v;
    } else if (a == "--drop") {
      ok = number(f.drop);
    } else if (a == "--repeat") {
      ok = number(f.repeat) && f.repeat >= 0;
    } else if (a == "--delay-ms") {
      ok = number(f.delay_ms) && f.delay_ms >= 0;
    } else if (a == "--reorder") {
      ok = number(f.reorder) && f.reorder >= 0;
    } else if (a == "--retries") {
      ok = number(f.retries) && f.retries >= 0;
    } else if (a == "--retry-ms") {
      ok = number(f.retry_ms) && f.retry_ms > 0;
    } else {
      return "unknown flag " + a;
    }
    if (!ok) return "bad value for " + a;
  }
  if (f.key.empty()) return "--key or --key-file is required";
  return "";
}

}  // namespace

int RunPaysim(const std::vector<std::string>& args) {
  PaysimFlags flags;
  bool help = false;
  if (std::string error = ParseFlags(args, flags, help); !error.empty()) {
    std::fprintf(stderr, "tongban paysim: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  http::Router router;
  http::Metrics metrics;
  http::ServerOptions options;
  options.bind_address = flags.bind;
  options.port = static_cast<uint16_t>(flags.port);
  options.threads = 2;
  options.blocking_threads = 1;
  options.access_log = false;
  http::Server server(router, metrics, options);
  if (auto s = server.Bind(); !s.ok()) {
    std::fprintf(stderr, "tongban paysim: %s\n", s.error().message.c_str());
    return 1;
  }
  Paysim sim(flags);
  sim.set_port(server.port());
  sim.Register(router);
  if (auto s = server.Listen(); !s.ok()) {
    std::fprintf(stderr, "tongban paysim: %s\n", s.error().message.c_str());
    return 1;
  }
  std::printf("paysim listening on http://%s:%u\n", flags.bind.c_str(), server.port());
  std::fflush(stdout);
  server.StopOnSignals();
  server.Run();
  return 0;
}

}  // namespace tongban::payment
