// SessionStore: SSO sessions, single-use tickets and authcodes bound to one
// app, tokens and their lifetimes, refresh rotation and unified revocation,
// all on a MemoryTicketStore driven by a FakeClock.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "sso/sessions.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kUser[] = "0123456789abcdef0123456789abcdef";

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

class SessionStoreTest : public ::testing::Test {
 protected:
  SessionStoreTest() : store_(clock_), sessions_(store_, clock_, random_, Lifetimes()) {}

  static SessionLifetimes Lifetimes() {
    SessionLifetimes l;
    l.session = hours(8);
    l.ticket = seconds(60);
    l.authcode = seconds(60);
    l.access_token = hours(2);
    l.refresh_token = hours(24 * 7);
    return l;
  }

  Session NewSession(SessionOrigin origin = SessionOrigin::kBrowser) {
    auto s = sessions_.Create(kUser, "zhangs", origin);
    EXPECT_TRUE(s.ok());
    return *s;
  }

  Grant IssueTo(GrantKind kind, const Session& s, std::string_view app = "app1") {
    auto g = sessions_.Issue(kind, app, s.userid, s.id);
    EXPECT_TRUE(g.ok());
    return *g;
  }

  FakeClock clock_;
  OpenSslRandom random_;
  MemoryTicketStore store_;
  SessionStore sessions_;
};

// ---- tickets ----

// ExchangeAsync (one store call: ticketValidation, getST), waited for: the
// memory store answers before it returns.
Result<Exchanged> Exchange(SessionStore& sessions, GrantKind kind, std::string_view value,
                           std::string_view app, GrantKind issue, std::string_view mark = "") {
  std::optional<Result<Exchanged>> out;
  sessions.ExchangeAsync(kind, value, app, issue, mark, minutes(5),
                         [&out](Result<Exchanged> r) { out.emplace(std::move(r)); });
  EXPECT_TRUE(out.has_value());
  return out.has_value() ? std::move(*out) : Result<Exchanged>(Error::Internal("no answer"));
}

TEST_F(SessionStoreTest, AnExchangedTicketBecomesATokenInItsSessionOnce) {
  Session s = NewSession();
  Grant st = IssueTo(GrantKind::kTicket, s);
  auto done = Exchange(sessions_, GrantKind::kTicket, st.value, "app1", GrantKind::kToken);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->redeemed.userid, kUser);
  EXPECT_EQ(done->issued.session, s.id);
  EXPECT_EQ(done->issued.userid, kUser);
  // The issued token is a real one of the session, and unified logout finds it.
  auto token = sessions_.Check(GrantKind::kToken, done->issued.value, "app1");
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token->session, s.id);
  EXPECT_EQ(
      Exchange(sessions_, GrantKind::kTicket, st.value, "app1", GrantKind::kToken).error().code,
      errc::kNotFound);
  auto ended = sessions_.End(s.id);
  ASSERT_TRUE(ended.ok());
  ASSERT_EQ(ended->tokens.size(), 1u);
  EXPECT_EQ(ended->tokens[0].value, done->issued.value);
}

TEST_F(SessionStoreTest, AnExchangeRefusesAsRedeemDoes) {
  Session s = NewSession();
  Grant other = IssueTo(GrantKind::kTicket, s);
  EXPECT_EQ(
      Exchange(sessions_, GrantKind::kTicket, other.value, "app2", GrantKind::kToken).error().code,
      errc::kPermissionDenied);
  Grant late = IssueTo(GrantKind::kTicket, s);
  clock_.Advance(seconds(60));
  EXPECT_EQ(
      Exchange(sessions_, GrantKind::kTicket, late.value, "app1", GrantKind::kToken).error().code,
      errc::kExpired);
  Grant code = IssueTo(GrantKind::kAuthcode, s);
  EXPECT_EQ(
      Exchange(sessions_, GrantKind::kTicket, code.value, "app1", GrantKind::kToken).error().code,
      errc::kNotFound);
  EXPECT_TRUE(sessions_.Redeem(GrantKind::kAuthcode, code.value, "app1").ok())
      << "a ticket exchange never uses up an authcode";
  EXPECT_EQ(
      Exchange(sessions_, GrantKind::kTicket, "bad value!", "app1", GrantKind::kToken).error().code,
      errc::kInvalidArgument);
  Grant after_end = IssueTo(GrantKind::kTicket, s);
  ASSERT_TRUE(sessions_.End(s.id).ok());
  auto ended = Exchange(sessions_, GrantKind::kTicket, after_end.value, "app1", GrantKind::kToken);
  EXPECT_EQ(ended.error().code, errc::kNotFound);
  EXPECT_EQ(ended.error().message, "所属会话已注销");
}

TEST_F(SessionStoreTest, AReplayedExchangeTouchesNothing) {
  Grant st = IssueTo(GrantKind::kTicket, NewSession());
  ASSERT_TRUE(store_.PutIfAbsent("rp:1", "1", minutes(5)).value());
  EXPECT_EQ(Exchange(sessions_, GrantKind::kTicket, st.value, "app1", GrantKind::kToken, "rp:1")
                .error()
                .code,
            errc::kAlreadyExists);
  EXPECT_TRUE(
      Exchange(sessions_, GrantKind::kTicket, st.value, "app1", GrantKind::kToken, "rp:2").ok())
      << "the replay did not use the ticket up";
}

TEST_F(SessionStoreTest, AnAccessTokenIsCheckedNotUsedUpWhenExchangedForATicket) {
  Session s = NewSession();
  Grant access = IssueTo(GrantKind::kAccessToken, s);
  auto done =
      Exchange(sessions_, GrantKind::kAccessToken, access.value, "app1", GrantKind::kTicket);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_TRUE(sessions_.Check(GrantKind::kAccessToken, access.value, "app1").ok());
  auto st = sessions_.Redeem(GrantKind::kTicket, done->issued.value, "app1");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->session, s.id);
}

TEST_F(SessionStoreTest, ATicketIsRedeemedByTheAppItWasIssuedTo) {
  Session s = NewSession();
  Grant st = IssueTo(GrantKind::kTicket, s);
  auto redeemed = sessions_.Redeem(GrantKind::kTicket, st.value, "app1");
  ASSERT_TRUE(redeemed.ok());
  EXPECT_EQ(redeemed->userid, kUser);
  EXPECT_EQ(redeemed->session, s.id);
  EXPECT_EQ(redeemed->app, "app1");
}

TEST_F(SessionStoreTest, ATicketCanBeRedeemedOnlyOnce) {
  Grant st = IssueTo(GrantKind::kTicket, NewSession());
  ASSERT_TRUE(sessions_.Redeem(GrantKind::kTicket, st.value, "app1").ok());
  auto again = sessions_.Redeem(GrantKind::kTicket, st.value, "app1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, ATicketPresentedByAnotherAppIsRefusedAndUsedUp) {
  Grant st = IssueTo(GrantKind::kTicket, NewSession());
  auto stolen = sessions_.Redeem(GrantKind::kTicket, st.value, "app2");
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.error().code, errc::kPermissionDenied);
  EXPECT_EQ(sessions_.Redeem(GrantKind::kTicket, st.value, "app1").error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, ATicketExpiresAfterTheTicketLifetime) {
  Grant st = IssueTo(GrantKind::kTicket, NewSession());
  clock_.Advance(seconds(60));
  auto late = sessions_.Redeem(GrantKind::kTicket, st.value, "app1");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, errc::kExpired);
}

TEST_F(SessionStoreTest, ATicketIsStillValidJustBeforeItsLifetimeEnds) {
  Grant st = IssueTo(GrantKind::kTicket, NewSession());
  clock_.Advance(seconds(59));
  EXPECT_TRUE(sessions_.Redeem(GrantKind::kTicket, st.value, "app1").ok());
}

TEST_F(SessionStoreTest, ALongExpiredTicketIsForgotten) {
  Grant st = IssueTo(GrantKind::kTicket, NewSession());
  clock_.Advance(minutes(10));
  EXPECT_EQ(sessions_.Redeem(GrantKind::kTicket, st.value, "app1").error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, AnUnknownTicketIsNotFound) {
  EXPECT_EQ(sessions_.Redeem(GrantKind::kTicket, "0123456789abcdef0123456789abcdef-ticket", "app1")
                .error()
                .code,
            errc::kNotFound);
}

TEST_F(SessionStoreTest, MalformedValuesAreInvalidArguments) {
  for (std::string bad : {std::string(), std::string(51, 'a'), std::string("abc def"),
                          std::string("a|b"), std::string("票据")}) {
    EXPECT_EQ(sessions_.Redeem(GrantKind::kTicket, bad, "app1").error().code,
              errc::kInvalidArgument)
        << bad;
    EXPECT_EQ(sessions_.Check(GrantKind::kToken, bad, "app1").error().code, errc::kInvalidArgument)
        << bad;
  }
}

TEST_F(SessionStoreTest, TicketsLookLikeTheRealSsosAndAreOpaque) {
  Session s = NewSession();
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    Grant st = IssueTo(GrantKind::kTicket, s);
    ASSERT_LE(st.value.size(), 50u);
    ASSERT_EQ(st.value.size(), 39u);  // 128 random bits in hex + "-ticket"
    EXPECT_TRUE(st.value.ends_with("-ticket"));
    EXPECT_TRUE(IsLowerHex(st.value.substr(0, 32)));
    EXPECT_EQ(st.value.find(kUser), std::string::npos);
    EXPECT_TRUE(seen.insert(st.value).second);
  }
}

// ---- authcodes ----

TEST_F(SessionStoreTest, AnAuthcodeIs32HexCharactersAndSingleUse) {
  Grant code = IssueTo(GrantKind::kAuthcode, NewSession());
  EXPECT_EQ(code.value.size(), 32u);
  EXPECT_TRUE(IsLowerHex(code.value));
  ASSERT_TRUE(sessions_.Redeem(GrantKind::kAuthcode, code.value, "app1").ok());
  EXPECT_EQ(sessions_.Redeem(GrantKind::kAuthcode, code.value, "app1").error().code,
            errc::kNotFound);
}

TEST_F(SessionStoreTest, RedeemingATicketAsAnAuthcodeFindsNothingAndKeepsTheTicket) {
  Grant st = IssueTo(GrantKind::kTicket, NewSession());
  EXPECT_EQ(sessions_.Redeem(GrantKind::kAuthcode, st.value, "app1").error().code, errc::kNotFound);
  EXPECT_TRUE(sessions_.Redeem(GrantKind::kTicket, st.value, "app1").ok());
}

// ---- tokens ----

TEST_F(SessionStoreTest, CheckingATokenDoesNotUseItUp) {
  Grant token = IssueTo(GrantKind::kToken, NewSession());
  EXPECT_TRUE(sessions_.Check(GrantKind::kToken, token.value, "app1").ok());
  EXPECT_TRUE(sessions_.Check(GrantKind::kToken, token.value, "app1").ok());
}

TEST_F(SessionStoreTest, ATokenOfAnotherKindIsNotFound) {
  Grant access = IssueTo(GrantKind::kAccessToken, NewSession());
  EXPECT_EQ(sessions_.Check(GrantKind::kProxyToken, access.value, "app1").error().code,
            errc::kNotFound);
  EXPECT_EQ(sessions_.Check(GrantKind::kToken, access.value, "app1").error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, ATokenOfAnotherAppIsRefused) {
  Grant token = IssueTo(GrantKind::kToken, NewSession());
  EXPECT_EQ(sessions_.Check(GrantKind::kToken, token.value, "app2").error().code,
            errc::kPermissionDenied);
}

TEST_F(SessionStoreTest, AnAccessTokenExpiresAfterItsLifetime) {
  Grant access = IssueTo(GrantKind::kAccessToken, NewSession());
  EXPECT_EQ(access.SecondsLeft(clock_.NowMillis()), 7200);
  clock_.Advance(hours(2));
  EXPECT_EQ(sessions_.Check(GrantKind::kAccessToken, access.value, "app1").error().code,
            errc::kExpired);
}

TEST_F(SessionStoreTest, AnExpiredTokenMayStillBeUsedToLogOut) {
  Grant access = IssueTo(GrantKind::kAccessToken, NewSession());
  clock_.Advance(hours(2));
  EXPECT_TRUE(sessions_
                  .Check(GrantKind::kAccessToken, access.value, "app1",
                         /*accept_expired=*/true)
                  .ok());
}

// ---- token sets and refresh ----

TEST_F(SessionStoreTest, ATokenSetHasAProxyTokenOnlyWhenAsked) {
  Session s = NewSession();
  auto without = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s), false);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->proxy.has_value());
  auto with = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s), true);
  ASSERT_TRUE(with.ok());
  ASSERT_TRUE(with->proxy.has_value());
  EXPECT_TRUE(sessions_.Check(GrantKind::kProxyToken, with->proxy->value, "app1").ok());
  EXPECT_TRUE(sessions_.Check(GrantKind::kRefreshToken, with->refresh.value, "app1").ok());
  EXPECT_EQ(with->refresh.SecondsLeft(clock_.NowMillis()), 7 * 24 * 3600);
}

TEST_F(SessionStoreTest, RefreshingRevokesThePreviousAccessAndProxyTokens) {
  Session s = NewSession();
  auto first = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s), true);
  ASSERT_TRUE(first.ok());
  auto second = sessions_.Refresh(first->refresh.value, "app1", true);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->access.value, first->access.value);
  EXPECT_EQ(sessions_.Check(GrantKind::kAccessToken, first->access.value, "app1").error().code,
            errc::kNotFound);
  EXPECT_EQ(sessions_.Check(GrantKind::kProxyToken, first->proxy->value, "app1").error().code,
            errc::kNotFound);
  EXPECT_TRUE(sessions_.Check(GrantKind::kAccessToken, second->access.value, "app1").ok());
  EXPECT_TRUE(sessions_.Check(GrantKind::kProxyToken, second->proxy->value, "app1").ok());
}

TEST_F(SessionStoreTest, TheRefreshTokenStaysValidForFurtherRefreshes) {
  auto set = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, NewSession()), false);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(sessions_.Refresh(set->refresh.value, "app1", false).ok());
  auto third = sessions_.Refresh(set->refresh.value, "app1", false);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->refresh.value, set->refresh.value);
}

TEST_F(SessionStoreTest, AnotherAppCannotRefresh) {
  auto set = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, NewSession()), false);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(sessions_.Refresh(set->refresh.value, "app2", false).error().code,
            errc::kPermissionDenied);
  EXPECT_TRUE(sessions_.Check(GrantKind::kAccessToken, set->access.value, "app1").ok());
}

TEST_F(SessionStoreTest, AnExpiredRefreshTokenCannotRefresh) {
  auto set = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, NewSession()), false);
  ASSERT_TRUE(set.ok());
  clock_.Advance(hours(24 * 7));
  EXPECT_EQ(sessions_.Refresh(set->refresh.value, "app1", false).error().code, errc::kExpired);
}

// ---- sessions ----

TEST_F(SessionStoreTest, ABrowserSessionIsResumedByItsId) {
  Session s = NewSession();
  EXPECT_EQ(s.id.size(), 64u);
  EXPECT_TRUE(IsLowerHex(s.id));
  auto resumed = sessions_.Resume(s.id);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->userid, kUser);
  EXPECT_EQ(resumed->loginname, "zhangs");
  EXPECT_EQ(resumed->csrf, s.csrf);
  EXPECT_EQ(resumed->public_id, s.public_id);
}

TEST_F(SessionStoreTest, UseKeepsASessionAlive) {
  Session s = NewSession();
  clock_.Advance(hours(7));
  ASSERT_TRUE(sessions_.Resume(s.id).ok());
  clock_.Advance(hours(7));
  EXPECT_TRUE(sessions_.Resume(s.id).ok());
}

TEST_F(SessionStoreTest, AnIdleSessionExpires) {
  Session s = NewSession();
  clock_.Advance(hours(8));
  EXPECT_EQ(sessions_.Resume(s.id).error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, AnApiSessionCannotBeResumedAsABrowserSession) {
  Session s = NewSession(SessionOrigin::kApi);
  EXPECT_EQ(sessions_.Resume(s.id).error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, AMalformedSessionIdIsNotFound) {
  EXPECT_EQ(sessions_.Resume("not-a-session").error().code, errc::kNotFound);
  EXPECT_EQ(sessions_.Resume(std::string(64, 'Z')).error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, ReauthenticatingMovesTheAuthTimeToNow) {
  Session s = NewSession();
  clock_.Advance(hours(1));
  auto again = sessions_.Reauthenticate(s.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->created_ms, clock_.NowMillis());
  auto resumed = sessions_.Resume(s.id);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->created_ms, clock_.NowMillis());
}

TEST_F(SessionStoreTest, ReauthenticatingKeepsTheSessionAndItsGrants) {
  Session s = NewSession();
  Grant token = IssueTo(GrantKind::kToken, s);
  auto again = sessions_.Reauthenticate(s.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_id, s.public_id);
  EXPECT_EQ(again->csrf, s.csrf);
  EXPECT_TRUE(sessions_.Check(GrantKind::kToken, token.value, "app1").ok());
}

TEST_F(SessionStoreTest, AnEndedSessionCannotBeReauthenticated) {
  Session s = NewSession();
  ASSERT_TRUE(sessions_.End(s.id).ok());
  EXPECT_EQ(sessions_.Reauthenticate(s.id).error().code, errc::kNotFound);
  EXPECT_EQ(sessions_.Resume(s.id).error().code, errc::kNotFound);
}

TEST_F(SessionStoreTest, FieldsWithSeparatorsSurviveStorage) {
  auto s = sessions_.Create("id|with%odd|chars", "na|me%25", SessionOrigin::kBrowser);
  ASSERT_TRUE(s.ok());
  auto resumed = sessions_.Resume(s->id);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->userid, "id|with%odd|chars");
  EXPECT_EQ(resumed->loginname, "na|me%25");
  auto st = sessions_.Issue(GrantKind::kTicket, "app|x", s->userid, s->id);
  ASSERT_TRUE(st.ok());
  auto redeemed = sessions_.Redeem(GrantKind::kTicket, st->value, "app|x");
  ASSERT_TRUE(redeemed.ok());
  EXPECT_EQ(redeemed->userid, "id|with%odd|chars");
}

// ---- ending a session ----

TEST_F(SessionStoreTest, EndingASessionRevokesEverythingItIssued) {
  Session s = NewSession();
  Grant st = IssueTo(GrantKind::kTicket, s, "app1");
  Grant token = IssueTo(GrantKind::kToken, s, "app2");
  auto set = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s, "app3"), true);
  ASSERT_TRUE(set.ok());

  auto ended = sessions_.End(s.id);
  ASSERT_TRUE(ended.ok());
  ASSERT_TRUE(ended->session.has_value());
  EXPECT_EQ(ended->session->userid, kUser);
  std::set<std::string> apps(ended->apps.begin(), ended->apps.end());
  EXPECT_EQ(apps, (std::set<std::string>{"app1", "app2", "app3"}));
  std::set<std::string> tokens;
  for (const IssuedGrant& g : ended->tokens) tokens.insert(g.value);
  EXPECT_EQ(tokens, (std::set<std::string>{token.value, set->access.value, set->refresh.value,
                                           set->proxy->value}));

  EXPECT_EQ(sessions_.Resume(s.id).error().code, errc::kNotFound);
  EXPECT_EQ(sessions_.Redeem(GrantKind::kTicket, st.value, "app1").error().code, errc::kNotFound);
  EXPECT_EQ(sessions_.Check(GrantKind::kToken, token.value, "app2").error().code, errc::kNotFound);
  EXPECT_EQ(sessions_.Check(GrantKind::kAccessToken, set->access.value, "app3").error().code,
            errc::kNotFound);
  EXPECT_EQ(sessions_.Check(GrantKind::kRefreshToken, set->refresh.value, "app3").error().code,
            errc::kNotFound);
  EXPECT_EQ(sessions_.Check(GrantKind::kProxyToken, set->proxy->value, "app3").error().code,
            errc::kNotFound);
}

TEST_F(SessionStoreTest, ManyTicketsForOneAppListThatAppOnce) {
  Session s = NewSession();
  for (int i = 0; i < 50; ++i) IssueTo(GrantKind::kTicket, s, "app1");
  auto ended = sessions_.End(s.id);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->apps, std::vector<std::string>{"app1"});
  EXPECT_TRUE(ended->tokens.empty());
}

TEST_F(SessionStoreTest, ATicketIssuedJustAfterTheSessionEndedIsRefused) {
  Session s = NewSession();
  ASSERT_TRUE(sessions_.End(s.id).ok());
  Grant late = IssueTo(GrantKind::kAuthcode, s);  // a request racing the logout
  EXPECT_EQ(sessions_.Redeem(GrantKind::kAuthcode, late.value, "app1").error().code,
            errc::kNotFound);
}

TEST_F(SessionStoreTest, EndingASessionRevokesTokensIssuedAfterARefresh) {
  Session s = NewSession();
  auto set = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s), false);
  ASSERT_TRUE(set.ok());
  auto refreshed = sessions_.Refresh(set->refresh.value, "app1", false);
  ASSERT_TRUE(refreshed.ok());
  ASSERT_TRUE(sessions_.End(s.id).ok());
  EXPECT_EQ(sessions_.Check(GrantKind::kAccessToken, refreshed->access.value, "app1").error().code,
            errc::kNotFound);
}

TEST_F(SessionStoreTest, EndingAnIdleExpiredSessionStillRevokesItsTokens) {
  Session s = NewSession();
  auto set = sessions_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s), false);
  ASSERT_TRUE(set.ok());
  clock_.Advance(hours(9));
  ASSERT_TRUE(sessions_.Check(GrantKind::kRefreshToken, set->refresh.value, "app1").ok());
  auto ended = sessions_.End(s.id);
  ASSERT_TRUE(ended.ok());
  EXPECT_FALSE(ended->session.has_value());
  EXPECT_EQ(sessions_.Check(GrantKind::kRefreshToken, set->refresh.value, "app1").error().code,
            errc::kNotFound);
}

TEST_F(SessionStoreTest, EndingOneSessionLeavesAnotherAlone) {
  Session a = NewSession();
  Session b = NewSession();
  Grant token_b = IssueTo(GrantKind::kToken, b);
  ASSERT_TRUE(sessions_.End(a.id).ok());
  EXPECT_TRUE(sessions_.Resume(b.id).ok());
  EXPECT_TRUE(sessions_.Check(GrantKind::kToken, token_b.value, "app1").ok());
}

TEST_F(SessionStoreTest, ListLiveShowsEverySessionNewestFirstWithTheAppsItReached) {
  Session first = NewSession();
  clock_.Advance(seconds(1));
  Session second = NewSession(SessionOrigin::kApi);
  IssueTo(GrantKind::kTicket, second, "app1");
  IssueTo(GrantKind::kToken, second, "app2");
  auto live = sessions_.ListLive("", 100);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].session.public_id, second.public_id);
  EXPECT_EQ((*live)[0].apps, (std::vector<std::string>{"app1", "app2"}));
  EXPECT_EQ((*live)[1].session.public_id, first.public_id);
  EXPECT_TRUE((*live)[1].apps.empty());
}

TEST_F(SessionStoreTest, ListLiveLeavesOutEndedAndExpiredSessionsAndFiltersByUser) {
  Session ended = NewSession();
  Session idle = NewSession();
  ASSERT_TRUE(sessions_.End(ended.id).ok());
  clock_.Advance(hours(7));
  Session fresh = NewSession();
  auto other = sessions_.Create("fedcba9876543210fedcba9876543210", "lis", SessionOrigin::kBrowser);
  ASSERT_TRUE(other.ok());
  clock_.Advance(hours(2));  // idle has now been unused for 9 h > 8 h
  auto live = sessions_.ListLive(kUser, 100);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].session.public_id, fresh.public_id);
  auto all = sessions_.ListLive("", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto limited = sessions_.ListLive("", 1);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
}

TEST_F(SessionStoreTest, ASessionResumedLongAfterItsStartIsStillListed) {
  Session s = NewSession();
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(hours(6));
    ASSERT_TRUE(sessions_.Resume(s.id).ok());
  }
  auto live = sessions_.ListLive("", 100);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].session.id, s.id);
}

TEST_F(SessionStoreTest, FindByPublicIdNamesTheLiveSessionAndNothingElse) {
  Session s = NewSession();
  auto found = sessions_.FindByPublicId(s.public_id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, s.id);
  EXPECT_EQ(sessions_.FindByPublicId(s.id).error().code, errc::kNotFound);
  ASSERT_TRUE(sessions_.End(s.id).ok());
  EXPECT_EQ(sessions_.FindByPublicId(s.public_id).error().code, errc::kNotFound);
}

// ---- a logout on another node while grants are being written ----

// The memory store, with a hook run once just before the `fire_at`-th write
// (Put, PutIfPresent or PutAndAddToSet) after it is armed: another node's
// logout landing between two of a refresh's store calls.
class InterleavedStore final : public TicketStore {
 public:
  explicit InterleavedStore(TicketStore& inner) : inner_(inner) {}
  using ms = std::chrono::milliseconds;
  void Arm(int fire_at, std::function<void()> hook) {
    writes_ = 0;
    fire_at_ = fire_at;
    hook_ = std::move(hook);
  }
  bool Fired() const { return hook_ == nullptr; }

  Status Put(std::string_view k, std::string_view v, ms ttl) override {
    Before();
    return inner_.Put(k, v, ttl);
  }
  Result<bool> PutIfAbsent(std::string_view k, std::string_view v, ms ttl) override {
    return inner_.PutIfAbsent(k, v, ttl);
  }
  Result<bool> PutIfPresent(std::string_view k, std::string_view v, ms ttl) override {
    Before();
    return inner_.PutIfPresent(k, v, ttl);
  }
  Result<std::string> Get(std::string_view k) override { return inner_.Get(k); }
  Result<std::string> Redeem(std::string_view k) override { return inner_.Redeem(k); }
  Status Erase(std::string_view k) override { return inner_.Erase(k); }
  Status Touch(std::string_view k, ms ttl) override { return inner_.Touch(k, ttl); }
  Status AddToSet(std::string_view k, std::string_view m, ms ttl) override {
    return inner_.AddToSet(k, m, ttl);
  }
  Result<std::vector<std::string>> Members(std::string_view k) override { return inner_.Members(k); }
  Status EraseSet(std::string_view k) override { return inner_.EraseSet(k); }
  Status PutAndAddToSet(std::string_view k, std::string_view v, ms ttl, std::string_view set,
                        std::string_view member, ms set_ttl) override {
    Before();
    return inner_.PutAndAddToSet(k, v, ttl, set, member, set_ttl);
  }
  size_t ApproximateSize() override { return inner_.ApproximateSize(); }

 private:
  void Before() {
    if (hook_ && ++writes_ == fire_at_) {
      std::function<void()> hook = std::move(hook_);
      hook_ = nullptr;
      hook();
    }
  }
  TicketStore& inner_;
  int writes_ = 0;
  int fire_at_ = 0;
  std::function<void()> hook_;
};

class LogoutBesideTokensTest : public SessionStoreTest {
 protected:
  LogoutBesideTokensTest()
      : interleaved_(store_), node_a_(interleaved_, clock_, random_, Lifetimes()) {}

  // Every token of `set` is dead once the other node's logout has run.
  void ExpectAllDead(const TokenSet& set, int fire_at) {
    EXPECT_EQ(sessions_.Check(GrantKind::kAccessToken, set.access.value, "app1").error().code,
              errc::kNotFound)
        << "access token, logout before write " << fire_at;
    EXPECT_EQ(sessions_.Check(GrantKind::kRefreshToken, set.refresh.value, "app1").error().code,
              errc::kNotFound)
        << "refresh token, logout before write " << fire_at;
    if (set.proxy) {
      EXPECT_EQ(sessions_.Check(GrantKind::kProxyToken, set.proxy->value, "app1").error().code,
                errc::kNotFound)
          << "proxy token, logout before write " << fire_at;
    }
  }

  // Every grant the session's set still lists is gone (a refused call's members
  // may stay in the set until it expires: erasing the set could hide grants
  // from a logout still reading it).
  void ExpectNoLiveGrantListed(const Session& s, int fire_at) {
    auto members = store_.Members("sso:si:" + s.id);
    ASSERT_TRUE(members.ok());
    for (const std::string& m : *members) {
      const std::string value = m.substr(m.rfind('|') + 1);
      EXPECT_FALSE(store_.Get("sso:tk:" + value).ok())
          << "a live grant left behind: " << m << " (logout before write " << fire_at << ")";
    }
  }

  InterleavedStore interleaved_;
  SessionStore node_a_;  // refreshes; sessions_ (node B) logs out
};

// review16b: a refAccessToken on one node beside a logout on another put the
// refresh token back (a plain Put) for its whole 7 days, outside any grant
// set a later logout would read. Wherever the logout lands, nothing of the
// session lives on, and a refresh that lost the race says so.
TEST_F(LogoutBesideTokensTest, ARefreshNeverOutlivesALogoutLandingInsideIt) {
  for (int fire_at = 1; fire_at <= 4; ++fire_at) {
    Session s = NewSession();
    auto first = node_a_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s), true);
    ASSERT_TRUE(first.ok());
    interleaved_.Arm(fire_at, [&] { ASSERT_TRUE(sessions_.End(s.id).ok()); });
    auto refreshed = node_a_.Refresh(first->refresh.value, "app1", true);
    if (interleaved_.Fired()) {
      EXPECT_EQ(refreshed.error().code, errc::kNotFound) << "logout before write " << fire_at;
    } else {
      ASSERT_TRUE(refreshed.ok());
      ASSERT_TRUE(sessions_.End(s.id).ok());  // the logout after the refresh
    }
    ExpectAllDead(*first, fire_at);
    if (refreshed.ok()) ExpectAllDead(*refreshed, fire_at);
    ExpectNoLiveGrantListed(s, fire_at);
  }
}

// The same for getToken: the authcode was redeemed before the logout, the
// token set is written after it.
TEST_F(LogoutBesideTokensTest, ATokenSetIsNotLeftBehindByALogoutLandingInsideIt) {
  for (int fire_at = 1; fire_at <= 3; ++fire_at) {
    Session s = NewSession();
    auto code = sessions_.Redeem(GrantKind::kAuthcode, IssueTo(GrantKind::kAuthcode, s).value,
                                 "app1");
    ASSERT_TRUE(code.ok());
    interleaved_.Arm(fire_at, [&] { ASSERT_TRUE(sessions_.End(s.id).ok()); });
    auto set = node_a_.IssueTokenSet(*code, true);
    ASSERT_TRUE(interleaved_.Fired());
    EXPECT_EQ(set.error().code, errc::kNotFound) << "logout before write " << fire_at;
    ExpectNoLiveGrantListed(s, fire_at);  // what the refused call wrote is gone
  }
}

// A logout that has begun (its tombstone written) but not yet read the
// session's grants when the refresh finishes: the refresh sees the tombstone.
TEST_F(LogoutBesideTokensTest, ARefreshFinishingWhileALogoutHasBegunIsRefused) {
  Session s = NewSession();
  auto first = node_a_.IssueTokenSet(IssueTo(GrantKind::kAuthcode, s), false);
  ASSERT_TRUE(first.ok());
  interleaved_.Arm(2, [&] { ASSERT_TRUE(store_.Put("sso:se:" + s.id, "1", minutes(1)).ok()); });
  auto refreshed = node_a_.Refresh(first->refresh.value, "app1", false);
  ASSERT_TRUE(interleaved_.Fired());
  EXPECT_EQ(refreshed.error().code, errc::kNotFound);
  EXPECT_EQ(sessions_.Check(GrantKind::kRefreshToken, first->refresh.value, "app1").error().code,
            errc::kNotFound);
}

}  // namespace
}  // namespace tongban::sso
