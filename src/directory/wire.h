// The directory's records in the SSO wire vocabulary: a User or Org as the
// codec::Value the spec's replies and push `args` carry (spec field names, all
// values strings), and an app's parsed `args` object as directory Fields.
// Used by sso/ handlers and by the directory's own outbox payloads.
#pragma once

#include <string>
#include <string_view>

#include "codec/value.h"
#include "core/result.h"
#include "directory/model.h"

namespace tongban::directory {

// Every user field in the spec's order: userid, loginname, username,
// orgcoding, ..., useable, orderby, usertype, ... memo. Never a password.
codec::Value UserToValue(const User& user);
// orgcoding, orgname, orgallname, principalname, orgphone, orgoffice,
// devcoding, nodetype, orderby.
codec::Value OrgToValue(const Org& org);
// rolecode, rolename, memo / positioncode, positionname, memo.
codec::Value RoleToValue(const Role& role);
codec::Value PositionToValue(const Position& position);

// Outbox payload members whose names start with '_' are hints to the pusher
// (sso/pusher.cc), never sent to the app. This one marks a synchronizeUser
// that introduces the user to the receiving app (an add, or a move into its
// org scope): the pusher may then add a placeholder loginpwd.
inline constexpr std::string_view kPushHintNewToApp = "_new_to_app";

// Outbox ordering keys (store/outbox.h): messages about one entity keep their
// order; messages about different entities do not wait for each other.
std::string UserOrderingKey(std::string_view userid);          // "u:<userid>"
std::string OrgOrderingKey(std::string_view orgcoding);        // "o:<orgcoding>"
std::string RoleOrderingKey(std::string_view rolecode);        // "r:<rolecode>"
std::string PositionOrderingKey(std::string_view positioncode);  // "p:<positioncode>"

// An `args` object whose members are scalars (numbers and booleans become
// their text; null becomes ""). InvalidArgument when `args` is not an object
// or a member is an array or object: the caller answers 1009 / 2012.
Result<Fields> FieldsFromValue(const codec::Value& args);

}  // namespace tongban::directory
