#include "core/background.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tongban {

void LowerThisThreadsPriority(int nice) {
  // SCHED_IDLE: a thread that wakes to answer requests preempts this one at
  // once; nice alone still let it hold the core for milliseconds.
  sched_param none{};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &none) == 0) return;
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  ::setpriority(PRIO_PROCESS, tid, nice);  // best effort (see the header)
}

}  // namespace tongban
