#include "sso/auth_api.h"

namespace tongban::sso {

struct SsoAuth::Impl {
  SsoContext& context;
};

SsoAuth::SsoAuth(SsoContext& context) : impl_(new Impl{context}) {}
SsoAuth::~SsoAuth() = default;
void SsoAuth::Register(http::Router&) {}

}  // namespace tongban::sso
