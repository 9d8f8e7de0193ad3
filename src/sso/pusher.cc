#include "sso/pusher.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"
#include "crypto/sign.h"
#include "directory/model.h"
#include "directory/wire.h"
#include "http/client.h"
#include "sso/signed_api.h"

namespace tongban::sso {
namespace {

http::ClientOptions OutboundClientOptions(const SsoSettings& settings) {
  http::ClientOptions o;
  o.ca_file = settings.outbound_ca_file;
  o.policy = settings.outbound_policy;
  return o;
}

using FormParams = std::vector<std::pair<std::string, std::string>>;

// The fields every push carries; a payload member of the same name is never
// copied to the top level.
constexpr std::string_view kEnvelopeFields[] = {"servicecode", "time",     "sign",    "method",
                                                "args",        "datatype", "describe"};

std::string_view Describe(std::string_view method) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {"synchronizeUser", "同步用户"},         {"deleteUser", "删除用户"},
      {"synchronizeOrg", "同步组织机构"},      {"deleteOrg", "删除组织机构"},
      {"synchronizeRole", "同步角色"},         {"deleteRole", "删除角色"},
      {"synchronizePosition", "同步职务"},     {"deletePosition", "删除职务"},
      {"synchronizeUserRole", "同步用户角色"}, {"logout", "注销登录"}};
  for (const auto& [name, text] : kNames) {
    if (name == method) return text;
  }
  return method;
}

// Receivers of deletions and logouts read the key fields as top-level
// parameters (the spec's apps take loginname and orgcoding of a deleteUser
// that way), so those methods carry the payload's scalars twice.
bool CopiesPayloadToTopLevel(std::string_view method) {
  return method.rfind("delete", 0) == 0 || method == "logout";
}

bool IsEnvelopeField(std::string_view name) {
  for (std::string_view f : kEnvelopeFields) {
    if (f == name) return true;
  }
  return false;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  return s;
}

// Drops the directory's hints to the pusher (members named "_…", see
// directory/wire.h) so the app never sees them.
void StripHints(codec::Value& payload) {
  std::vector<std::string> hints;
  for (const codec::Member& member : payload.members()) {
    if (member.key.starts_with('_')) hints.push_back(member.key);
  }
  for (const std::string& key : hints) payload.Erase(key);
}

std::string Truncated(std::string_view text, size_t max = 200) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "…";
}

// An app's answer to a push: JSON or <SSO> XML with result "0" (a number 0
// is tolerated). Anything else is a failure described for last_error.
Status CheckReply(std::string_view body) {
  body = TrimSpace(body);
  Result<codec::Value> reply = Error::InvalidArgument("empty");
  if (!body.empty() && body.front() == '{') {
    reply = codec::ParseJson(body);
  } else if (!body.empty() && body.front() == '<') {
    reply = codec::ParseSsoXml(body);
  }
  if (!reply.ok() || !reply->IsObject()) {
    return Error::InvalidArgument("reply is not a JSON or <SSO> XML object: " + Truncated(body));
  }
  const codec::Value* result = reply->Find("result");
  if (result != nullptr && result->IsScalar() && result->ToText() == "0") return Status::Ok();
  std::string text = "result=" + (result != nullptr ? Truncated(result->ToText(), 20) : "(none)");
  if (const std::string* errmsg = reply->FindString("errmsg"))
    text += " errmsg=" + Truncated(*errmsg);
  return Error::InvalidArgument(text);
}

}  // namespace

struct Pusher::Impl {
  Impl(SsoContext& c, PusherOptions o) : context(c), options(o) {
    if (options.workers < 1) options.workers = 1;
  }

  // One attempt; the error's message is what last_error records.
  Status Deliver(const OutboxMessage& m) const {
    auto found = context.directory.CachedApp(m.destination);
    if (!found.ok()) {
      return Error::Unavailable(found.error().code == errc::kNotFound || found.error().code >= 1000
                                    ? "no such app"
                                    : "directory unavailable");
    }
    const directory::App& app = **found;
    if (!app.enabled) return Error::Unavailable("the app is disabled");
    const bool logout = m.method == "logout";
    if (!logout && !app.push_enabled) return Error::Unavailable("pushes are off for this app");
    const std::string& url = PushUrl(app, m.method);
    if (url.empty()) {
      return Error::Unavailable(logout ? "the app has no logout_url" : "the app has no push_url");
    }
    auto payload = codec::ParseJson(m.payload);
    if (!payload.ok() || !payload->IsObject()) {
      return Error::Internal("the stored payload is not a JSON object");
    }
    const bool new_to_app = payload->Find(directory::kPushHintNewToApp) != nullptr;
    StripHints(*payload);
    if (new_to_app && m.method == "synchronizeUser" &&
        app.push_password == directory::kPushPasswordPlaceholder &&
        payload->Find("loginpwd") == nullptr) {
      // The user signs in to the app through the SSO and never learns this
      // password; it only satisfies receivers that refuse a user without
      // one (the spec's sample receiver answers 2099). Made per attempt and
      // never stored, so it appears nowhere but at the app.
      payload->Set("loginpwd", PlaceholderPassword()).Set("encryptiontype", "1");
    }
    auto parsed_format = codec::ParseFormat(app.datatype);
    const codec::Format format = parsed_format.ok() ? *parsed_format : codec::Format::kJson;

    std::string time = FormatSpecTime(context.clock.Now(), context.settings.sign_time_zone);
    FormParams form = {
        {"servicecode", app.servicecode},
        {"time", time},
        {"sign", crypto::ComputeSign(app.signtype, app.servicecode, app.servicepwd, time)},
        {"method", m.method},
        {"args", codec::Render(*payload, format)},
        {"datatype", format == codec::Format::kXml ? "xml" : "json"},
        {"describe", std::string(Describe(m.method))},
    };
    if (CopiesPayloadToTopLevel(m.method)) {
      for (const codec::Member& member : payload->members()) {
        if (member.value.IsScalar() && !IsEnvelopeField(member.key)) {
          form.emplace_back(member.key, member.value.ToText());
        }
      }
    }
    auto response = client.PostForm(url, form, options.request_timeout);
    if (!response.ok()) return Error::Unavailable("POST failed: " + response.error().message);
    if (response->status != 200) {
      return Error::Unavailable("HTTP " + std::to_string(response->status) + ": " +
                                Truncated(TrimSpace(response->body)));
    }
    return CheckReply(response->body);
  }

  // The method's own URL when the app gives one, else push_url; logout_url
  // for logout notices.
  static const std::string& PushUrl(const directory::App& app, const std::string& method) {
    if (method == "logout") return app.logout_url;
    auto own = app.push_urls.find(method);
    return own != app.push_urls.end() ? own->second : app.push_url;
  }

  // Upper and lower case letters, a digit and a symbol, so that receivers
  // enforcing a password policy accept it; 96 random bits.
  std::string PlaceholderPassword() const { return "Tb#" + context.random.Hex(12) + "7"; }

  void Record(const OutboxMessage& m, const Status& outcome) {
    const int64_t now = context.clock.NowMillis();
    if (outcome.ok()) {
      delivered.fetch_add(1, std::memory_order_relaxed);
      if (Status s = context.outbox.MarkDelivered(m.id, now); !s.ok()) {
        // The app has it; the claim lapses and it is sent again (at least once).
        spdlog::error("push {} {} to {}: delivered but not recorded: {}", m.id, m.method,
                      m.destination, s.error().message);
      }
      return;
    }
    failed.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("push {} {} to {} failed (attempt {}): {}", m.id, m.method, m.destination,
                 m.attempts + 1, outcome.error().message);
    if (Status s = context.outbox.MarkFailed(m.id, outcome.error().message, now); !s.ok()) {
      spdlog::error("push {} to {}: failure not recorded: {}", m.id, m.destination,
                    s.error().message);
    }
  }

  void Process(const OutboxMessage& m) { Record(m, Deliver(m)); }

  // Claims as many messages as there are idle workers, so nothing waits
  // claimed in a queue (a claim left behind by a crash blocks its app until
  // it lapses). A finished delivery wakes it: the app's next message may be
  // due at once.
  void DispatchLoop() {
    std::unique_lock lock(mu);
    bool failing = false;
    while (!stopping) {
      if (idle <= queue.size()) {
        wake.wait(lock, [&] { return stopping || idle > queue.size(); });
        continue;
      }
      const size_t free = idle - queue.size();
      kicked = false;
      lock.unlock();
      auto claimed = context.outbox.ClaimDue(context.clock.NowMillis(), free);
      lock.lock();
      if (!claimed.ok()) {
        if (!failing) spdlog::error("push: cannot claim messages: {}", claimed.error().message);
        failing = true;
        wake.wait_for(lock, options.poll_interval, [&] { return stopping; });
        continue;
      }
      if (failing) spdlog::info("push: claiming works again");
      failing = false;
      for (OutboxMessage& m : *claimed) queue.push_back(std::move(m));
      if (!claimed->empty()) work.notify_all();
      if (claimed->size() < free) {
        wake.wait_for(lock, options.poll_interval, [&] { return stopping || kicked; });
      }
    }
    dispatcher_done = true;
    work.notify_all();
  }

  // Exits only once the dispatcher has and the queue is empty, so every
  // claimed message is attempted before Stop returns.
  void WorkerLoop() {
    std::unique_lock lock(mu);
    for (;;) {
      ++idle;
      wake.notify_all();
      work.wait(lock, [&] { return dispatcher_done || !queue.empty(); });
      --idle;
      if (queue.empty()) return;
      OutboxMessage m = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      Process(m);
      lock.lock();
      kicked = true;
    }
  }

  SsoContext& context;
  PusherOptions options;
  http::Client client{OutboundClientOptions(context.settings)};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};

  std::mutex mu;
  std::condition_variable wake;  // the dispatcher: idle workers, kicks, stop
  std::condition_variable work;  // the workers: queued messages, stop
  std::deque<OutboxMessage> queue;
  size_t idle = 0;
  bool kicked = false;
  bool stopping = false;
  bool dispatcher_done = false;
  bool running = false;
  std::thread dispatcher;
  std::vector<std::thread> workers;
};

Pusher::Pusher(SsoContext& context) : Pusher(context, PusherOptions{}) {}
Pusher::Pusher(SsoContext& context, PusherOptions options)
    : impl_(std::make_unique<Impl>(context, options)) {}
Pusher::~Pusher() { Stop(); }

void Pusher::Start() {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (impl.running) return;
  impl.running = true;
  impl.stopping = false;
  impl.dispatcher_done = false;
  for (int i = 0; i < impl.options.workers; ++i) {
    impl.workers.emplace_back([&impl] { impl.WorkerLoop(); });
  }
  impl.dispatcher = std::thread([&impl] { impl.DispatchLoop(); });
}

void Pusher::Stop() {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mu);
    if (!impl.running) return;
    impl.stopping = true;
  }
  impl.wake.notify_all();
  impl.work.notify_all();
  impl.dispatcher.join();
  for (std::thread& t : impl.workers) t.join();
  impl.workers.clear();
  std::lock_guard lock(impl.mu);
  impl.running = false;
  impl.stopping = false;
  impl.idle = 0;
}

Result<size_t> Pusher::DeliverDue(size_t limit) {
  auto claimed = impl_->context.outbox.ClaimDue(impl_->context.clock.NowMillis(), limit);
  if (!claimed.ok()) return std::move(claimed).error();
  for (const OutboxMessage& m : *claimed) impl_->Process(m);
  return claimed->size();
}

PusherStats Pusher::stats() const {
  return PusherStats{impl_->delivered.load(std::memory_order_relaxed),
                     impl_->failed.load(std::memory_order_relaxed)};
}

}  // namespace tongban::sso
