#include "directory/wire.h"

#include <string>

#include "directory/internal.h"

namespace tongban::directory {

std::string UserOrderingKey(std::string_view userid) { return "u:" + std::string(userid); }
std::string OrgOrderingKey(std::string_view orgcoding) { return "o:" + std::string(orgcoding); }
std::string RoleOrderingKey(std::string_view rolecode) { return "r:" + std::string(rolecode); }
std::string PositionOrderingKey(std::string_view positioncode) {
  return "p:" + std::string(positioncode);
}

codec::Value UserToValue(const User& user) {
  // The names are the fixed, distinct user fields: appended without Set's
  // duplicate scan, which was a tenth of getUserInfo.
  codec::Value v = codec::Value::Object(48);
  v.AppendNew("userid", user.userid);
  for (const internal::UserText& f : internal::UserTexts()) {
    // The spec lists useable and orderby between headpicture and usertype.
    if (f.name == "usertype") {
      v.AppendNew("useable", std::to_string(user.useable));
      v.AppendNew("orderby", std::to_string(user.orderby));
    }
    v.AppendNew(f.name, user.*f.member);
  }
  return v;
}

codec::Value OrgToValue(const Org& org) {
  codec::Value v = codec::Value::Object(10);
  v.Set("orgcoding", org.orgcoding);
  for (const internal::OrgText& f : internal::OrgTexts()) v.Set(f.name, org.*f.member);
  v.Set("orderby", std::to_string(org.orderby));
  return v;
}

codec::Value RoleToValue(const Role& role) {
  return codec::Value::Object(3)
      .Set("rolecode", role.rolecode)
      .Set("rolename", role.rolename)
      .Set("memo", role.memo);
}

codec::Value PositionToValue(const Position& position) {
  return codec::Value::Object(3)
      .Set("positioncode", position.positioncode)
      .Set("positionname", position.positionname)
      .Set("memo", position.memo);
}

Result<Fields> FieldsFromValue(const codec::Value& args) {
  if (!args.IsObject()) return Error::InvalidArgument("args is not an object");
  Fields out;
  for (const codec::Member& m : args.members()) {
    if (!m.value.IsScalar()) {
      return Error::InvalidArgument("args member '" + m.key.substr(0, 64) + "' is not a scalar");
    }
    out[m.key] = m.value.ToText();
  }
  return out;
}

}  // namespace tongban::directory
