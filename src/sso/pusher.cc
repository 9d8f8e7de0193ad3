#include "sso/pusher.h"

namespace tongban::sso {

struct Pusher::Impl {
  SsoContext& context;
};

Pusher::Pusher(SsoContext& context) : impl_(new Impl{context}) {}
Pusher::~Pusher() { Stop(); }
void Pusher::Start() {}
void Pusher::Stop() {}

}  // namespace tongban::sso
