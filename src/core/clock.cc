#include "core/clock.h"

namespace tongban {

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace tongban
