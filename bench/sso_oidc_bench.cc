// The OIDC and CAS token paths on the ticket store, next to a baseline
// measured in the same run: the bare MemoryTicketStore Put + Redeem round
// trip. Workloads:
//   BaselinePutRedeem     store one record and redeem it
//   CodeIssueRedeem       OIDC authorization code: issue, redeem (single use)
//   CheckAccessToken      the userinfo / introspection token check (reads the
//                         token record and its refresh family)
//   RefreshRotation       refresh_token grant: redeem, mark used, issue two
//   RenderCasSuccessXml   the p3/serviceValidate reply with 8 attributes
// Run: bench/sso_oidc_bench; compare items_per_second with the baseline.
#include <benchmark/benchmark.h>

#include <string>

#include "core/clock.h"
#include "core/random.h"
#include "sso/cas_protocol.h"
#include "sso/oidc_grants.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

struct Fixture {
  Fixture()
      : store(SystemClock::Instance()),
        grants(store, SystemClock::Instance(), random, OidcLifetimes{}) {}
  OpenSslRandom random;
  MemoryTicketStore store;
  OidcGrants grants;

  TokenGrant Grant() const {
    TokenGrant g;
    g.client_id = "demo";
    g.userid = "0123456789abcdef0123456789abcdef";
    g.scope = "openid profile email";
    g.session_id = std::string(64, 's');
    g.public_id = std::string(32, 'p');
    g.issuer = "https://sso.example.gov.cn/sso/oidc";
    return g;
  }
};

void BM_BaselinePutRedeem(benchmark::State& state) {
  Fixture f;
  const std::string value(300, 'v');
  for (auto _ : state) {
    std::string key = "oidc:code:" + f.random.Hex(32);
    (void)f.store.Put(key, value, std::chrono::seconds(60));
    auto got = f.store.Redeem(key);
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BaselinePutRedeem);

void BM_CodeIssueRedeem(benchmark::State& state) {
  Fixture f;
  AuthorizationCode code;
  code.client_id = "demo";
  code.redirect_uri = "https://app.example.gov.cn/oidc/callback";
  code.scope = "openid profile";
  code.userid = "0123456789abcdef0123456789abcdef";
  code.session_id = std::string(64, 's');
  code.issuer = "https://sso.example.gov.cn/sso/oidc";
  for (auto _ : state) {
    auto issued = f.grants.IssueCode(code);
    auto redeemed = f.grants.RedeemCode(*issued);
    benchmark::DoNotOptimize(redeemed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CodeIssueRedeem);

void BM_CheckAccessToken(benchmark::State& state) {
  Fixture f;
  auto tokens = f.grants.IssueTokens(f.Grant(), true);
  for (auto _ : state) {
    auto grant = f.grants.CheckAccessToken(tokens->access_token);
    benchmark::DoNotOptimize(grant);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckAccessToken);

void BM_RefreshRotation(benchmark::State& state) {
  Fixture f;
  std::string refresh = f.grants.IssueTokens(f.Grant(), true)->refresh_token;
  for (auto _ : state) {
    auto next = f.grants.Refresh(refresh, "demo", "");
    refresh = next->refresh_token;
    benchmark::DoNotOptimize(next);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RefreshRotation);

void BM_RenderCasSuccessXml(benchmark::State& state) {
  cas::Success s;
  s.user = "zhangs";
  s.attributes = {{"userid", "0123456789abcdef0123456789abcdef"},
                  {"loginname", "zhangs"},
                  {"username", "张三"},
                  {"orgcoding", "001001"},
                  {"email", "zhangs@example.gov.cn"},
                  {"mobile", "13800000000"},
                  {"roles", "clerk"},
                  {"isFromNewLogin", "false"}};
  for (auto _ : state) {
    std::string xml = cas::RenderSuccess(s, cas::Format::kXml);
    benchmark::DoNotOptimize(xml);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderCasSuccessXml);

}  // namespace
}  // namespace tongban::sso
