// SessionStore: SSO sessions and everything they hand out — service tickets
// (st), commnetAuth authcodes, easyAuth tokens, access, refresh and proxy
// tokens — kept in the TicketStore only, so validation never touches SQL.
// Used by every sign-on endpoint in sso/ (login pages, easyAuth, commnetAuth,
// js.do) and by unified logout, which finds a session's grants here.
//
// Thread-safe (the TicketStore is); any node sharing the store may validate
// what another issued.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "store/ticket_store.h"

namespace tongban::sso {

// Name of the browser's SSO session cookie (HttpOnly, SameSite=Lax, Secure on
// https); it holds Session::id.
inline constexpr std::string_view kSessionCookieName = "TBSSO";

// The lifetimes SessionStore gives out; SsoSettings carries the configured ones.
struct SessionLifetimes {
  std::chrono::seconds session{8 * 3600};  // sliding: each Resume restarts it
  std::chrono::seconds ticket{60};
  std::chrono::seconds authcode{60};
  std::chrono::seconds access_token{7200};  // also easyAuth tokens and proxy tokens
  std::chrono::seconds refresh_token{86400 * 7};
};

enum class SessionOrigin : char {
  kBrowser = 'b',  // a login page: the id is the TBSSO cookie
  kApi = 'a',      // idValidation: no cookie; groups the grants for logout
};

struct Session {
  std::string id;         // the secret the TBSSO cookie holds
  std::string public_id;  // names the session to apps and in logs
  std::string userid;
  std::string loginname;
  std::string csrf;  // form token of the session's own pages
  SessionOrigin origin = SessionOrigin::kBrowser;
  // When the user last entered credentials: the session's start, moved on by
  // Reauthenticate (CAS renew and OIDC prompt=login/max_age check it).
  int64_t created_ms = 0;
  // The factors of that authentication, space-separated as OIDC amr values
  // (sso/second_factors.h): "pwd", or "pwd otp" after a second factor.
  std::string factors = "pwd";

  // A one-time code from an authenticator app or by SMS besides the password.
  bool HasSecondFactor() const {
    return factors.find("otp") != std::string::npos || factors.find("sms") != std::string::npos;
  }
};

enum class GrantKind : char {
  kTicket = 's',        // st: single use, bound to one app
  kAuthcode = 'c',      // commnetAuth: single use, bound to one app
  kToken = 't',         // easyAuth token
  kAccessToken = 'a',   // commnetAuth
  kRefreshToken = 'r',  // commnetAuth
  kProxyToken = 'p',    // commnetAuth, only for apps with proxy_right
};

// A ticket, authcode or token and what it stands for.
struct Grant {
  GrantKind kind = GrantKind::kTicket;
  std::string value;  // what the app holds: opaque, <= 50 characters
  std::string app;    // servicecode it was issued to
  std::string userid;
  std::string session;  // id of the Session it belongs to
  int64_t expires_ms = 0;
  // Refresh tokens: the access and proxy token last issued from it, which the
  // next refresh revokes.
  std::string access_token;
  std::string proxy_token;

  // Lifetime left, in whole seconds (0 when expired): the *validtime fields.
  int64_t SecondsLeft(int64_t now_ms) const;
};

// What getToken and refAccessToken hand out.
struct TokenSet {
  Grant access;
  Grant refresh;
  std::optional<Grant> proxy;
};

// What ExchangeAsync hands back: the redeemed ticket and what it was exchanged for.
struct Exchanged {
  Grant redeemed;
  Grant issued;
};

// A token a session had issued, as unified logout needs it.
struct IssuedGrant {
  GrantKind kind;
  std::string app;
  std::string value;
};

struct EndedSession {
  std::optional<Session> session;   // empty when it had already expired
  std::vector<std::string> apps;    // every app that received a ticket or token in it
  std::vector<IssuedGrant> tokens;  // the tokens it issued (revoked now)
};

// A live session as the console lists it.
struct LiveSession {
  Session session;
  std::vector<std::string> apps;  // every app that received a ticket or token in it
};

class SessionStore {
 public:
  SessionStore(TicketStore& store, const Clock& clock, Random& random, SessionLifetimes lifetimes);

  const SessionLifetimes& lifetimes() const { return lifetimes_; }

  Result<Session> Create(std::string_view userid, std::string_view loginname, SessionOrigin origin,
                         std::string_view factors = "pwd");
  // The live browser session with this id, its lifetime restarted.
  // errc::kNotFound when unknown, expired, malformed or not a browser session.
  Result<Session> Resume(std::string_view id);
  // Resume without waiting (TicketStore::GetAndTouchAsync: one Redis round
  // trip); `done` runs once, on whichever thread the store answers on.
  using ResumeDone = std::function<void(Result<Session>)>;
  void ResumeAsync(std::string_view id, ResumeDone done);
  // The session (browser or API) with this id as stored, its lifetime left
  // as it is: what a token-holding app's call needs to know of the login
  // behind it (its factors). errc::kNotFound when unknown or expired.
  Result<Session> Find(std::string_view id);
  // Find, and errc::kNotFound too once End has begun for it (its tombstone
  // is written first): what a long-lived grant derived from the session
  // (a CAS proxy-granting ticket) checks before it is handed out or used.
  Result<Session> FindLive(std::string_view id);
  // The same user entered their password again in a live browser session
  // (CAS renew, OIDC prompt=login): its auth time becomes now, and its grants
  // and the apps it reached stay as they are. errc::kNotFound as for Resume.
  // `factors` replaces the session's (Session::factors).
  Result<Session> Reauthenticate(std::string_view id, std::string_view factors = "pwd");
  // The ids of the sessions (browser and API) created for `userid` whose
  // grants may still live, and forgets them: locking, disabling or deleting
  // a user ends each (UnifiedLogout::EndUser). May name sessions that have
  // already ended or expired. A session created while this runs may be
  // missed; the user's state, checked by every token-taking method, covers it.
  Result<std::vector<std::string>> TakeUserSessions(std::string_view userid);
  // Ends the session: removes it and every grant it issued to any app, and
  // says which apps and tokens those were. Ending an expired or unknown
  // session still revokes what it left behind. Tickets and authcodes are not
  // listed one by one (a session may hand out many, each living a minute):
  // a short-lived tombstone makes Redeem refuse those of an ended session.
  Result<EndedSession> End(std::string_view session_id);

  // A fresh ticket, authcode or easyAuth/access/proxy token for `app` in the
  // session (refresh tokens come only with IssueTokenSet).
  Result<Grant> Issue(GrantKind kind, std::string_view app, std::string_view userid,
                      std::string_view session_id);
  // Accepts a single-use grant (ticket or authcode) exactly once, presented
  // by `app`. Whatever the outcome, a known value is used up. Errors:
  // kInvalidArgument (malformed), kNotFound (unknown, used, revoked, another
  // kind), kPermissionDenied (issued to another app), kExpired.
  Result<Grant> Redeem(GrantKind kind, std::string_view value, std::string_view app);
  // Redeem of the single-use `kind` grant `value` presented by `app` (or, for
  // a token kind, Check) and Issue of an `issue` grant to `app` in its
  // session, as one store call
  // (TicketStore::ExchangeAsync: one Redis round trip, no waiting), after
  // setting the replay mark `mark_key` (TicketStore key; "" = none) for
  // `mark_ttl`. `done` runs once, on whichever thread the store answers on,
  // with Redeem's errors, or errc::kAlreadyExists when the mark was already
  // set (a replayed call: nothing redeemed). Whatever the outcome a known
  // value is used up, as with Redeem.
  using ExchangeDone = std::function<void(Result<Exchanged>)>;
  void ExchangeAsync(GrantKind kind, std::string_view value, std::string_view app, GrantKind issue,
                     std::string_view mark_key, std::chrono::milliseconds mark_ttl,
                     ExchangeDone done);
  // Checks a token (easyAuth, access, refresh, proxy) presented by `app`;
  // the same errors as Redeem. Nothing is used up. `accept_expired` lets a
  // recently expired token through (logout: ending a session needs no fresh
  // token).
  Result<Grant> Check(GrantKind kind, std::string_view value, std::string_view app,
                      bool accept_expired = false);

  // getToken: an access token, a refresh token and, when `with_proxy`, a
  // proxy token, all in the authcode's session.
  Result<TokenSet> IssueTokenSet(const Grant& authcode, bool with_proxy);
  // refAccessToken: new access (and proxy) tokens from a live refresh token
  // of `app`; the ones it issued before are revoked. The refresh token itself
  // stays valid until it expires (spec clients never read a new one).
  Result<TokenSet> Refresh(std::string_view refresh_token, std::string_view app, bool with_proxy);
  // Revokes a refresh token and the access and proxy tokens it last issued:
  // a user who may no longer use its app (a withdrawn role) is refused that
  // app's tokens, while the session and its other apps' grants stay.
  Status RevokeRefreshToken(const Grant& refresh);

  // The live sessions (browser and API), newest first, at most `limit`; only
  // `userid`'s when it is not empty. For the console: it reads the index
  // slots of one session lifetime, newest first, until it holds about 20,000
  // session ids, and loads each of those sessions (a store round trip each).
  Result<std::vector<LiveSession>> ListLive(std::string_view userid, size_t limit);
  // The live session whose public id is `public_id` (the console names
  // sessions by it); errc::kNotFound when there is none.
  Result<Session> FindByPublicId(std::string_view public_id);

  // True when `value` may be a ticket, code or token: 1..50 of [A-Za-z0-9._-].
  static bool WellFormed(std::string_view value);

 private:
  // Whether End has begun for the session (its tombstone, written first, is there).
  Result<bool> Ended(std::string_view id);
  // After grants of `session` were stored outside one store call: End may
  // have run meanwhile and missed them (review16b: a refresh beside a logout
  // on another node kept its tokens for 7 days). End writes its tombstone
  // before it reads the session's grants, so either it saw these grants and
  // erases them, or this check sees the tombstone: then erases `grants` (null
  // entries skipped) and answers kNotFound.
  Status EraseIfEnded(std::string_view session, std::initializer_list<const Grant*> grants);
  // Erases each grant (null entries skipped).
  Status EraseGrants(std::initializer_list<const Grant*> grants);
  std::chrono::milliseconds LifetimeOf(GrantKind kind) const;
  Result<Grant> Load(std::string_view key, GrantKind kind, std::string_view value,
                     std::string_view app, bool redeem, bool accept_expired);
  Status Store(const Grant& grant);
  Status AddToIndex(std::string_view session_id);
  std::chrono::milliseconds IssuedSetLifetime() const;
  std::chrono::milliseconds IndexLifetime() const;

  TicketStore& store_;
  const Clock& clock_;
  Random& random_;
  SessionLifetimes lifetimes_;
};

}  // namespace tongban::sso
