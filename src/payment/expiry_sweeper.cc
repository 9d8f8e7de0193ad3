#include "payment/expiry_sweeper.h"

#include <spdlog/spdlog.h>

#include "core/background.h"

namespace tongban::payment {

ExpirySweeper::ExpirySweeper(NoticeStore& notices, std::chrono::milliseconds interval)
    : notices_(notices), interval_(interval) {}

ExpirySweeper::~ExpirySweeper() { Stop(); }

void ExpirySweeper::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void ExpirySweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ExpirySweeper::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    RunGuardedPass("payment expiry sweep", [this] {
      auto expired = notices_.ExpireDue();
      if (!expired.ok()) {
        spdlog::warn("payment: expiring notices failed: {}", expired.error().message);
      } else if (*expired > 0) {
        spdlog::info("payment: {} notices expired", *expired);
      }
    });
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace tongban::payment
