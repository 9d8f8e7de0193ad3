#include "core/background.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tongban {

void LowerThisThreadsPriority(int nice) {
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  ::setpriority(PRIO_PROCESS, tid, nice);  // best effort (see the header)
}

}  // namespace tongban
