// Batched login-name loads for a caller that parks its misses instead of
// sending each to the blocking pool (sso::SignedApi's memory-first reads):
// which misses were noted for the next batched read, and that read.
#pragma once

#include <cstddef>

#include "directory/directory.h"

namespace tongban::directory {

// Whether this thread's last memory-only lookup that missed a login name
// noted it for the next batched load (Directory::NoteWantedLogin; false when
// the list was full). Clears the flag.
bool TakeNotedLoginMiss();

// Reads every login key noted so far (in statements of up to 64 keys,
// filling the login-name and user caches as a pool load would) and returns
// how many keys it asked for. A read that fails or is cut short fills
// nothing: its callers miss again and load on their own. SQL: call it off
// the I/O thread.
size_t LoadWantedLogins(Directory& directory);

}  // namespace tongban::directory
