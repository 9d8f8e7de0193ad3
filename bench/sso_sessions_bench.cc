// SessionStore on the validation hot path, next to a baseline measured in the
// same run: the bare MemoryTicketStore Put + Redeem round trip that any
// ticket scheme needs. Workloads:
//   BaselinePutRedeem   store one ticket record and redeem it
//   IssueRedeemTicket   SessionStore: issue an st in a session, redeem it
//   TicketValidation    what easyAuth ticketValidation does in the store:
//                       redeem the st and issue a token in its session
//                       (4096 sessions, so each holds a realistic few tokens)
//   CheckToken          getUserInfo's token check (a read)
// Run: bench/sso_sessions_bench; compare items_per_second with the baseline.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "sso/sessions.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

constexpr char kUser[] = "0123456789abcdef0123456789abcdef";

struct Fixture {
  Fixture() : store(SystemClock::Instance()), sessions(store, SystemClock::Instance(), random, {}) {
    auto s = sessions.Create(kUser, "zhangs", SessionOrigin::kBrowser);
    session = *s;
  }
  OpenSslRandom random;
  MemoryTicketStore store;
  SessionStore sessions;
  Session session;
};

void BM_BaselinePutRedeem(benchmark::State& state) {
  Fixture f;
  const std::string value =
      "1|s|demo|0123456789abcdef0123456789abcdef|" + std::string(64, 'a') + "|1700000000000||";
  for (auto _ : state) {
    std::string key = "sso:st:" + f.random.Token("-ticket");
    (void)f.store.Put(key, value, std::chrono::seconds(60));
    auto got = f.store.Redeem(key);
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BaselinePutRedeem);

void BM_IssueRedeemTicket(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    auto st = f.sessions.Issue(GrantKind::kTicket, "demo", kUser, f.session.id);
    auto redeemed = f.sessions.Redeem(GrantKind::kTicket, st->value, "demo");
    benchmark::DoNotOptimize(redeemed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IssueRedeemTicket);

void BM_TicketValidation(benchmark::State& state) {
  Fixture f;
  // Many sessions, as on a real server: each gathers a few tokens, not all of them.
  std::vector<std::string> ids;
  for (int i = 0; i < 4096; ++i) {
    ids.push_back(f.sessions.Create(kUser, "zhangs", SessionOrigin::kBrowser)->id);
  }
  size_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto st = f.sessions.Issue(GrantKind::kTicket, "demo", kUser, ids[next++ % ids.size()]);
    state.ResumeTiming();
    auto redeemed = f.sessions.Redeem(GrantKind::kTicket, st->value, "demo");
    auto token = f.sessions.Issue(GrantKind::kToken, "demo", redeemed->userid, redeemed->session);
    benchmark::DoNotOptimize(token);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TicketValidation);

void BM_CheckToken(benchmark::State& state) {
  Fixture f;
  auto token = f.sessions.Issue(GrantKind::kToken, "demo", kUser, f.session.id);
  for (auto _ : state) {
    auto checked = f.sessions.Check(GrantKind::kToken, token->value, "demo");
    benchmark::DoNotOptimize(checked);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckToken);

}  // namespace
}  // namespace tongban::sso
