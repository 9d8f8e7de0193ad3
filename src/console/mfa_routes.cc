// Second factors in the console: a user's TOTP status and its reset (a lost
// phone), and an app's policy requiring a second factor. Both changes are
// audited by the dispatcher (admin.user.reset_second_factor,
// admin.app.second_factor). docs/api/admin.md lists them.
#include <string>

#include "console/internal.h"
#include "sso/second_factors.h"

namespace tongban::console {
namespace {

using directory::Caller;

Result<sso::SecondFactors*> Factors(const Services& s) {
  if (s.sso.second_factors == nullptr) {
    return Error::Unavailable("second factors are not enabled on this node");
  }
  return s.sso.second_factors;
}

Result<codec::Value> UserFactor(const Services& s, Call& call) {
  auto factors = Factors(s);
  if (!factors.ok()) return factors.error();
  auto user = s.directory().GetUserById(Caller::Admin(), call.args[0]);
  if (!user.ok()) return user.error();
  auto status = (*factors)->StatusOf(call.args[0]);
  if (!status.ok()) return status.error();
  auto required = (*factors)->Required(s.directory(), call.args[0], "");
  if (!required.ok()) return required.error();
  return codec::Value::Object(4)
      .Set("totp", status->totp)
      .Set("totp_since_ms", status->totp_since_ms)
      .Set("recovery_codes_left", status->recovery_left)
      .Set("required", *required);
}

Result<codec::Value> ResetUserFactor(const Services& s, Call& call) {
  auto factors = Factors(s);
  if (!factors.ok()) return factors.error();
  auto user = s.directory().GetUserById(Caller::Admin(), call.args[0]);
  if (!user.ok()) return user.error();
  auto removed = (*factors)->Reset(call.args[0]);
  if (!removed.ok()) return removed.error();
  return codec::Value::Object(1).Set("removed", *removed);
}

Result<codec::Value> AppFactor(const Services& s, Call& call) {
  auto factors = Factors(s);
  if (!factors.ok()) return factors.error();
  auto app = s.directory().GetApp(call.args[0]);
  if (!app.ok()) return app.error();
  auto required = (*factors)->AppRequires(call.args[0]);
  if (!required.ok()) return required.error();
  return codec::Value::Object(1).Set("required", *required);
}

Result<codec::Value> SetAppFactor(const Services& s, Call& call) {
  auto factors = Factors(s);
  if (!factors.ok()) return factors.error();
  auto app = s.directory().GetApp(call.args[0]);
  if (!app.ok()) return app.error();
  const codec::Value* required = call.body.IsObject() ? call.body.Find("required") : nullptr;
  if (required == nullptr || !required->IsBool()) {
    return Error::InvalidArgument("请求体需要布尔值 required");
  }
  Status set = (*factors)->SetAppRequires(call.args[0], required->AsBool());
  if (!set.ok()) return set.error();
  return codec::Value::Object(1).Set("required", required->AsBool());
}

}  // namespace

void AddSecondFactorRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "users/:id/second-factor", "", UserFactor});
  routes.push_back(
      {"DELETE", "users/:id/second-factor", "user.reset_second_factor", ResetUserFactor});
  routes.push_back({"GET", "apps/:code/second-factor", "", AppFactor});
  routes.push_back({"PUT", "apps/:code/second-factor", "app.second_factor", SetAppFactor});
}

}  // namespace tongban::console
