// TaskSweeper: a background thread that stops the exchange tasks of
// exchange-mode grants past their expiry (SharingStore::StopExpiredTasks)
// every interval. Started and stopped by src/app with the other background work.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "catalogue/sharing.h"

namespace tongban::catalogue {

class TaskSweeper {
 public:
  TaskSweeper(SharingStore& sharing, std::chrono::milliseconds interval);
  ~TaskSweeper();
  TaskSweeper(const TaskSweeper&) = delete;
  TaskSweeper& operator=(const TaskSweeper&) = delete;

  void Start();  // no-op when running
  void Stop();   // joins the thread; no-op when stopped

 private:
  void Run();

  SharingStore& sharing_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tongban::catalogue
