// Putting one session back on its user's session list (SessionStore keeps
// the list; TakeUserSessions empties it): the session a password change
// keeps while UnifiedLogout::EndUser ends the others.
#pragma once

#include <string_view>

#include "core/result.h"
#include "sso/sessions.h"
#include "store/ticket_store.h"

namespace tongban::sso {

// Lists `session_id` among the sessions of `userid` again, for as long as
// SessionStore lists a new one (its grants may live that long).
Status RelistUserSession(TicketStore& store, const SessionLifetimes& lifetimes,
                         std::string_view userid, std::string_view session_id);

}  // namespace tongban::sso
