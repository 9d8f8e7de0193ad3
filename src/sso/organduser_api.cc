#include "sso/organduser_api.h"

namespace tongban::sso {

struct OrgAndUserApi::Impl {
  SsoContext& context;
};

OrgAndUserApi::OrgAndUserApi(SsoContext& context) : impl_(new Impl{context}) {}
OrgAndUserApi::~OrgAndUserApi() = default;
void OrgAndUserApi::Register(http::Router&) {}

}  // namespace tongban::sso
