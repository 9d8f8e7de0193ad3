// SmsChannel: how tongban sends a text message to a mobile number (one-time
// codes for registration, password recovery and SMS second factors; recovery
// notices). A plugin interface like payment's channels: a production config
// must name a real channel; the sandbox channel ships for tests and the demo.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <thread>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace tongban::sso {

struct SmsMessage {
  std::string mobile;   // 11 digits, validated by the caller
  std::string purpose;  // "register", "recover", "login-2fa", "notice": for logs and stats
  std::string text;     // may carry a one-time code: never logged
};

// What the console shows about the channel.
struct SmsChannelStatus {
  std::string name;
  bool sandbox = false;
  int64_t sent = 0;
  int64_t failed = 0;
  int64_t last_sent_ms = 0;
  std::string last_error;  // "" when the latest attempt succeeded
};

class SmsChannel {
 public:
  virtual ~SmsChannel() = default;
  virtual std::string_view name() const = 0;
  virtual bool sandbox() const { return false; }
  // Hands one message to the carrier. Errors: kUnavailable (carrier down or
  // refused), kInvalidArgument (a number the carrier refuses).
  virtual Status Send(const SmsMessage& message) = 0;
};

// How src/app configures the channel ([citizen] sms_* in the config file).
struct SmsChannelSettings {
  std::string name;               // "sandbox" or a registered real channel
  bool allow_sandbox = false;     // [citizen] sms_sandbox = true: tests and the demo only
  std::string sandbox_file;       // the sandbox's "phone": one JSON line per message
  std::string base_url;           // a real channel's gateway
  std::string key;                // a real channel's credential (never logged)
  int timeout_ms = 5'000;
};

using SmsChannelFactory =
    std::function<Result<std::unique_ptr<SmsChannel>>(const SmsChannelSettings& settings)>;

inline constexpr std::string_view kSandboxSmsChannel = "sandbox";

// Adds a channel plugin under `name`, at start-up. Throws std::invalid_argument
// on a repeated name (a programming error).
void RegisterSmsChannel(std::string name, SmsChannelFactory factory);

// Builds the channel `settings.name` names. A production config must name a
// real channel explicitly: an empty name is refused, and "sandbox" (which
// delivers nothing) is refused unless allow_sandbox. Errors: kInvalidArgument
// for those and for an unknown name (the message lists the registered ones).
Result<std::unique_ptr<SmsChannel>> OpenSmsChannel(const SmsChannelSettings& settings);

// Wraps a channel with the counters the console shows. Thread-safe.
class CountingSmsChannel : public SmsChannel {
 public:
  CountingSmsChannel(std::unique_ptr<SmsChannel> inner, const Clock& clock)
      : inner_(std::move(inner)), clock_(clock) {}
  std::string_view name() const override { return inner_->name(); }
  bool sandbox() const override { return inner_->sandbox(); }
  Status Send(const SmsMessage& message) override;
  SmsChannelStatus Snapshot() const;

 private:
  std::unique_ptr<SmsChannel> inner_;
  const Clock& clock_;
  mutable std::mutex mu_;
  SmsChannelStatus status_;
};

// Sends messages on a thread of its own, so that a request's answer never
// waits for the carrier: a password recovery for an unknown number (nothing
// sent) answers as fast as one for a known number. A message that cannot be
// queued (queue full) or sent is logged (masked number, never the text) and
// counted by the channel. Thread-safe; the destructor sends what is queued.
class AsyncSmsSender {
 public:
  explicit AsyncSmsSender(SmsChannel& channel, size_t max_queued = 10'000);
  ~AsyncSmsSender();
  AsyncSmsSender(const AsyncSmsSender&) = delete;
  AsyncSmsSender& operator=(const AsyncSmsSender&) = delete;

  // False when the queue is full (the message is dropped).
  bool Enqueue(SmsMessage message);
  size_t queued() const;

 private:
  void Run();

  SmsChannel& channel_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SmsMessage> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// "138****5678": how a number appears in logs and pages.
std::string MaskMobile(std::string_view mobile);

}  // namespace tongban::sso
