// ExpirySweeper: a background thread that moves unpaid notices past their
// expiry to 已过期 (NoticeStore::ExpireDue) every interval. Started and
// stopped by src/app with the other background work.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "payment/notices.h"

namespace tongban::payment {

class ExpirySweeper {
 public:
  ExpirySweeper(NoticeStore& notices, std::chrono::milliseconds interval);
  ~ExpirySweeper();
  ExpirySweeper(const ExpirySweeper&) = delete;
  ExpirySweeper& operator=(const ExpirySweeper&) = delete;

  void Start();  // no-op when running
  void Stop();   // joins the thread; no-op when stopped

 private:
  void Run();

  NoticeStore& notices_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tongban::payment
