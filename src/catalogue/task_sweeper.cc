#include "catalogue/task_sweeper.h"

#include <spdlog/spdlog.h>

#include "core/background.h"

namespace tongban::catalogue {

TaskSweeper::TaskSweeper(SharingStore& sharing, std::chrono::milliseconds interval)
    : sharing_(sharing), interval_(interval) {}

TaskSweeper::~TaskSweeper() { Stop(); }

void TaskSweeper::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void TaskSweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TaskSweeper::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    RunGuardedPass("catalogue task sweep", [this] {
      auto stopped = sharing_.StopExpiredTasks();
      if (!stopped.ok()) {
        spdlog::warn("catalogue: stopping expired exchange tasks failed: {}",
                     stopped.error().message);
      } else if (*stopped > 0) {
        spdlog::info("catalogue: {} exchange tasks of expired grants stopped", *stopped);
      }
    });
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace tongban::catalogue
