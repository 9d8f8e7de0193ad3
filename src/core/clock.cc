#include "core/clock.h"

#include <time.h>

namespace tongban {

Clock::time_point SystemClock::Now() const {
  timespec ts;
  if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return std::chrono::system_clock::now();
  return time_point(std::chrono::duration_cast<time_point::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace tongban
