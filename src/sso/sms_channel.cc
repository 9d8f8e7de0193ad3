#include "sso/sms_channel.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

#include "codec/render.h"
#include "codec/value.h"

namespace tongban::sso {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, SmsChannelFactory, std::less<>> factories;
};

Registry& Plugins() {
  static Registry registry;
  return registry;
}

// The sandbox delivers nothing: it appends each message to a file (the
// tests' and the demo's "phone") and logs that a message went out, without
// its text, which may hold a code.
class SandboxSmsChannel : public SmsChannel {
 public:
  explicit SandboxSmsChannel(std::string file) : file_(std::move(file)) {}
  std::string_view name() const override { return kSandboxSmsChannel; }
  bool sandbox() const override { return true; }

  Status Send(const SmsMessage& message) override {
    codec::Value line = codec::Value::Object(3);
    line.Set("mobile", message.mobile).Set("purpose", message.purpose).Set("text", message.text);
    std::string text = codec::RenderJson(line);
    text.push_back('\n');
    {
      // O_APPEND writes of one line are not interleaved with other writers.
      std::lock_guard lock(mu_);
      int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0) {
        return Error::Unavailable("sms sandbox: cannot open " + file_ + ": " +
                                  std::strerror(errno));
      }
      ssize_t written = ::write(fd, text.data(), text.size());
      ::close(fd);
      if (written != static_cast<ssize_t>(text.size())) {
        return Error::Unavailable("sms sandbox: cannot write " + file_);
      }
    }
    spdlog::info("sms (sandbox): {} message to {} written to the sandbox file", message.purpose,
                 MaskMobile(message.mobile));
    return Status::Ok();
  }

 private:
  std::string file_;
  std::mutex mu_;
};

}  // namespace

void RegisterSmsChannel(std::string name, SmsChannelFactory factory) {
  Registry& r = Plugins();
  std::lock_guard lock(r.mu);
  if (name == kSandboxSmsChannel ||
      !r.factories.emplace(std::move(name), std::move(factory)).second) {
    throw std::invalid_argument("sms channel registered twice");
  }
}

Result<std::unique_ptr<SmsChannel>> OpenSmsChannel(const SmsChannelSettings& settings) {
  if (settings.name.empty()) {
    return Error::InvalidArgument(
        "[citizen] sms_channel is not set: a production config must name its SMS channel "
        "(the sandbox needs [citizen] sms_sandbox = true)");
  }
  if (settings.name == kSandboxSmsChannel) {
    if (!settings.allow_sandbox) {
      return Error::InvalidArgument(
          "[citizen] sms_channel = \"sandbox\" delivers no message: refused unless "
          "[citizen] sms_sandbox = true (tests and the demo only)");
    }
    if (settings.sandbox_file.empty()) {
      return Error::InvalidArgument("sms sandbox: no sandbox file");
    }
    return std::unique_ptr<SmsChannel>(std::make_unique<SandboxSmsChannel>(settings.sandbox_file));
  }
  SmsChannelFactory factory;
  std::string known = std::string(kSandboxSmsChannel);
  {
    Registry& r = Plugins();
    std::lock_guard lock(r.mu);
    if (auto it = r.factories.find(settings.name); it != r.factories.end()) factory = it->second;
    for (const auto& [name, f] : r.factories) known.append(", ").append(name);
  }
  if (!factory) {
    return Error::InvalidArgument("[citizen] sms_channel: unknown channel \"" + settings.name +
                                  "\" (registered: " + known + ")");
  }
  return factory(settings);
}

Status CountingSmsChannel::Send(const SmsMessage& message) {
  Status sent = inner_->Send(message);
  std::lock_guard lock(mu_);
  if (sent.ok()) {
    ++status_.sent;
    status_.last_sent_ms = clock_.NowMillis();
    status_.last_error.clear();
  } else {
    ++status_.failed;
    status_.last_error = sent.error().message;
  }
  return sent;
}

SmsChannelStatus CountingSmsChannel::Snapshot() const {
  std::lock_guard lock(mu_);
  SmsChannelStatus s = status_;
  s.name = std::string(inner_->name());
  s.sandbox = inner_->sandbox();
  return s;
}

AsyncSmsSender::AsyncSmsSender(SmsChannel& channel, size_t max_queued)
    : channel_(channel), max_queued_(max_queued), thread_([this] { Run(); }) {}

AsyncSmsSender::~AsyncSmsSender() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool AsyncSmsSender::Enqueue(SmsMessage message) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= max_queued_) {
      spdlog::error("sms: queue full, {} message to {} dropped", message.purpose,
                    MaskMobile(message.mobile));
      return false;
    }
    queue_.push_back(std::move(message));
  }
  cv_.notify_one();
  return true;
}

size_t AsyncSmsSender::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void AsyncSmsSender::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything sent
    SmsMessage message = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Status sent = channel_.Send(message);
    if (!sent.ok()) {
      spdlog::error("sms: {} message to {} not sent: {}", message.purpose,
                    MaskMobile(message.mobile), sent.error().message);
    }
    lock.lock();
  }
}

std::string MaskMobile(std::string_view mobile) {
  if (mobile.size() < 7) return std::string(mobile.size(), '*');
  std::string out(mobile.substr(0, 3));
  out.append(mobile.size() - 7, '*');
  out.append(mobile.substr(mobile.size() - 4));
  return out;
}

}  // namespace tongban::sso
