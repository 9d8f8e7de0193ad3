#include "sso/sessions.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <utility>

#include "sso/packed_record.h"
#include "sso/user_sessions.h"

namespace tongban::sso {
namespace {

using std::chrono::milliseconds;

// An expired grant's record is kept this much longer, so that a late
// presenter hears "expired" (6001, 3101, ...) rather than "no such ticket".
constexpr milliseconds kExpiredGrace = std::chrono::minutes(5);

constexpr std::string_view kSessionPrefix = "sso:s:";
constexpr std::string_view kIssuedPrefix = "sso:si:";  // set: apps and tokens of a session
constexpr std::string_view kEndedPrefix = "sso:se:";   // tombstone of an ended session
constexpr std::string_view kUserPrefix = "sso:su:";    // set: the sessions of one user
// Single-use grants get their own key spaces, so that redeeming a value of
// the wrong kind can never use up a token.
constexpr std::string_view kTicketPrefix = "sso:st:";
constexpr std::string_view kAuthcodePrefix = "sso:ac:";
constexpr std::string_view kTokenPrefix = "sso:tk:";
// Sets of the ids of the sessions created or resumed in one 10-minute slot,
// so that the console can list live sessions without scanning the store.
constexpr std::string_view kIndexPrefix = "sso:sx:";
constexpr int64_t kIndexSlotMs = 10 * 60 * 1000;
constexpr size_t kMaxListed = 20'000;

std::string Key(std::string_view prefix, std::string_view id) {
  std::string key;
  key.reserve(prefix.size() + id.size());
  key.append(prefix).append(id);
  return key;
}

std::string GrantKey(GrantKind kind, std::string_view value) {
  switch (kind) {
    case GrantKind::kTicket:
      return Key(kTicketPrefix, value);
    case GrantKind::kAuthcode:
      return Key(kAuthcodePrefix, value);
    default:
      return Key(kTokenPrefix, value);
  }
}

bool IsGrantKind(char c) {
  return c == 's' || c == 'c' || c == 't' || c == 'a' || c == 'r' || c == 'p';
}

std::string EncodeGrant(const Grant& g) {
  const char kind[2] = {static_cast<char>(g.kind), '\0'};
  return Pack({"1", kind, g.app, g.userid, g.session, std::to_string(g.expires_ms), g.access_token,
               g.proxy_token});
}

Result<Grant> DecodeGrant(std::string_view record, std::string_view value) {
  auto f = SplitRecord<8>(record);
  Grant g;
  if (!f || (*f)[0] != "1" || (*f)[1].size() != 1 || !IsGrantKind((*f)[1][0]) ||
      !ParseIntField((*f)[5], &g.expires_ms)) {
    return Error::Internal("a stored grant is corrupt");
  }
  g.kind = static_cast<GrantKind>((*f)[1][0]);
  g.value = std::string(value);
  g.app = Unescape((*f)[2]);
  g.userid = Unescape((*f)[3]);
  g.session = Unescape((*f)[4]);
  g.access_token = Unescape((*f)[6]);
  g.proxy_token = Unescape((*f)[7]);
  return g;
}

std::string EncodeSession(const Session& s) {
  const char origin[2] = {static_cast<char>(s.origin), '\0'};
  return Pack({"1", s.userid, s.loginname, s.csrf, s.public_id, std::to_string(s.created_ms),
               origin, s.factors});
}

Result<Session> DecodeSession(std::string_view record, std::string_view id) {
  std::vector<std::string> f = Unpack(record);
  Session s;
  // Seven fields: written before second factors existed (a password login).
  if ((f.size() != 7 && f.size() != 8) || f[0] != "1" || !ParseIntField(f[5], &s.created_ms) || f[6].size() != 1 ||
      (f[6][0] != 'b' && f[6][0] != 'a')) {
    return Error::Internal("a stored session is corrupt");
  }
  s.id = std::string(id);
  s.userid = std::move(f[1]);
  s.loginname = std::move(f[2]);
  s.csrf = std::move(f[3]);
  s.public_id = std::move(f[4]);
  s.origin = static_cast<SessionOrigin>(f[6][0]);
  if (f.size() == 8) s.factors = std::move(f[7]);
  return s;
}

// The issued-set member naming one token, or (kind '*', no value) an app
// that received a ticket or authcode: one member per app however many.
std::string IssuedMember(char kind, std::string_view app, std::string_view value) {
  const char k[2] = {kind, '\0'};
  return Pack({k, app, value});
}

bool SingleUse(GrantKind kind) {
  return kind == GrantKind::kTicket || kind == GrantKind::kAuthcode;
}

bool IsSessionId(std::string_view id) {
  if (id.size() != 64) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

const char* SuffixOf(GrantKind kind) {
  switch (kind) {
    case GrantKind::kTicket:
      return "-ticket";
    case GrantKind::kToken:
      return "-commonToken";
    case GrantKind::kAccessToken:
      return "-accessToken";
    case GrantKind::kRefreshToken:
      return "-refreshToken";
    case GrantKind::kProxyToken:
      return "-proxyToken";
    case GrantKind::kAuthcode:
      break;
  }
  return "";
}

}  // namespace

int64_t Grant::SecondsLeft(int64_t now_ms) const {
  return expires_ms > now_ms ? (expires_ms - now_ms + 999) / 1000 : 0;
}

SessionStore::SessionStore(TicketStore& store, const Clock& clock, Random& random,
                           SessionLifetimes lifetimes)
    : store_(store), clock_(clock), random_(random), lifetimes_(lifetimes) {}

bool SessionStore::WellFormed(std::string_view value) {
  if (value.empty() || value.size() > 50) return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
  });
}

milliseconds SessionStore::LifetimeOf(GrantKind kind) const {
  switch (kind) {
    case GrantKind::kTicket:
      return lifetimes_.ticket;
    case GrantKind::kAuthcode:
      return lifetimes_.authcode;
    case GrantKind::kRefreshToken:
      return lifetimes_.refresh_token;
    case GrantKind::kToken:
    case GrantKind::kAccessToken:
    case GrantKind::kProxyToken:
      break;
  }
  return lifetimes_.access_token;
}

Result<Session> SessionStore::Create(std::string_view userid, std::string_view loginname,
                                     SessionOrigin origin, std::string_view factors) {
  Session s;
  s.id = random_.Hex(32);
  s.public_id = random_.Hex(16);
  s.csrf = random_.Hex(16);
  s.userid = std::string(userid);
  s.loginname = std::string(loginname);
  s.origin = origin;
  s.created_ms = clock_.NowMillis();
  s.factors = std::string(factors);
  TB_RETURN_IF_ERROR(store_.Put(Key(kSessionPrefix, s.id), EncodeSession(s), lifetimes_.session));
  TB_RETURN_IF_ERROR(AddToIndex(s.id));
  // As long as the session's grants may live: a lock must reach its refresh
  // tokens too, long after the session itself went idle.
  TB_RETURN_IF_ERROR(store_.AddToSet(Key(kUserPrefix, s.userid), s.id, IssuedSetLifetime()));
  return s;
}

Result<std::vector<std::string>> SessionStore::TakeUserSessions(std::string_view userid) {
  const std::string key = Key(kUserPrefix, userid);
  auto ids = store_.Members(key);
  if (!ids.ok()) return ids;
  TB_RETURN_IF_ERROR(store_.EraseSet(key));
  return ids;
}

// As long as a session's grants may live (SessionStore::IssuedSetLifetime).
static milliseconds IssuedSetLifetimeOf(const SessionLifetimes& l) {
  return std::max({milliseconds(l.session), milliseconds(l.refresh_token),
                   milliseconds(l.access_token)}) +
         kExpiredGrace;
}

milliseconds SessionStore::IssuedSetLifetime() const { return IssuedSetLifetimeOf(lifetimes_); }

Status RelistUserSession(TicketStore& store, const SessionLifetimes& lifetimes,
                         std::string_view userid, std::string_view session_id) {
  return store.AddToSet(Key(kUserPrefix, userid), session_id, IssuedSetLifetimeOf(lifetimes));
}

namespace {

// What Resume makes of GetAndTouch's answer.
Result<Session> ResumedSession(Result<TicketStore::Touched> found, std::string_view id) {
  if (!found.ok()) return std::move(found).error();
  auto session = DecodeSession(found->record, id);
  if (!session.ok()) return session;
  if (session->origin != SessionOrigin::kBrowser || !found->touched) {
    return Error::NotFound("no such session");
  }
  return session;
}

}  // namespace

Result<Session> SessionStore::Resume(std::string_view id) {
  if (!IsSessionId(id)) return Error::NotFound("no such session");
  // One store call (one Redis round trip): read, and only a browser session
  // (field 6 of its record, the origin) has its lifetime restarted and is indexed.
  const int64_t slot = clock_.NowMillis() / kIndexSlotMs;
  return ResumedSession(
      store_.GetAndTouch(Key(kSessionPrefix, id), lifetimes_.session, 6, "b",
                         Key(kIndexPrefix, std::to_string(slot)), id, IndexLifetime()),
      id);
}

void SessionStore::ResumeAsync(std::string_view id, ResumeDone done) {
  if (!IsSessionId(id)) return done(Error::NotFound("no such session"));
  const int64_t slot = clock_.NowMillis() / kIndexSlotMs;
  store_.GetAndTouchAsync(Key(kSessionPrefix, id), lifetimes_.session, 6, "b",
                          Key(kIndexPrefix, std::to_string(slot)), id, IndexLifetime(),
                          [id = std::string(id), done = std::move(done)](
                              Result<TicketStore::Touched> found) {
                            done(ResumedSession(std::move(found), id));
                          });
}

Result<Session> SessionStore::Find(std::string_view id) {
  if (!IsSessionId(id)) return Error::NotFound("no such session");
  auto record = store_.Get(Key(kSessionPrefix, id));
  if (!record.ok()) return std::move(record).error();
  return DecodeSession(*record, id);
}

Result<bool> SessionStore::Ended(std::string_view id) {
  auto tombstone = store_.Get(Key(kEndedPrefix, id));
  if (tombstone.ok()) return true;
  if (tombstone.error().code != errc::kNotFound) return std::move(tombstone).error();
  return false;
}

Result<Session> SessionStore::FindLive(std::string_view id) {
  auto session = Find(id);
  if (!session.ok()) return session;
  auto ended = Ended(id);
  if (!ended.ok()) return std::move(ended).error();
  if (*ended) return Error::NotFound("the session has ended");
  return session;
}

Result<Session> SessionStore::Reauthenticate(std::string_view id, std::string_view factors) {
  auto session = Resume(id);
  if (!session.ok()) return session;
  session->created_ms = clock_.NowMillis();
  session->factors = std::string(factors);
  const std::string key = Key(kSessionPrefix, id);
  TB_RETURN_IF_ERROR(store_.Put(key, EncodeSession(*session), lifetimes_.session));
  // End may have run between Resume and Put: its tombstone outlives the
  // erase, so a session it ended must not come back through this Put.
  auto ended = Ended(id);
  if (!ended.ok()) return std::move(ended).error();
  if (*ended) {
    TB_RETURN_IF_ERROR(store_.Erase(key));
    return Error::NotFound("no such session");
  }
  return session;
}

Result<EndedSession> SessionStore::End(std::string_view session_id) {
  EndedSession ended;
  // First, so that a ticket or authcode issued before (or while) the session
  // ends is refused: it outlives every one of them.
  const milliseconds tombstone_ttl =
      std::max(milliseconds(lifetimes_.ticket), milliseconds(lifetimes_.authcode)) +
      std::chrono::seconds(1);
  TB_RETURN_IF_ERROR(store_.Put(Key(kEndedPrefix, session_id), "1", tombstone_ttl));
  const std::string key = Key(kSessionPrefix, session_id);
  auto record = store_.Get(key);
  if (record.ok()) {
    auto session = DecodeSession(*record, session_id);
    if (session.ok()) ended.session = std::move(*session);
  } else if (record.error().code != errc::kNotFound) {
    return std::move(record).error();
  }
  const std::string issued_key = Key(kIssuedPrefix, session_id);
  auto members = store_.Members(issued_key);
  if (!members.ok()) return std::move(members).error();
  for (const std::string& member : *members) {
    std::vector<std::string> f = Unpack(member);
    if (f.size() != 3 || f[0].size() != 1) continue;
    if (std::find(ended.apps.begin(), ended.apps.end(), f[1]) == ended.apps.end()) {
      ended.apps.push_back(f[1]);
    }
    if (!IsGrantKind(f[0][0])) continue;
    IssuedGrant g{static_cast<GrantKind>(f[0][0]), std::move(f[1]), std::move(f[2])};
    TB_RETURN_IF_ERROR(store_.Erase(GrantKey(g.kind, g.value)));
    ended.tokens.push_back(std::move(g));
  }
  TB_RETURN_IF_ERROR(store_.EraseSet(issued_key));
  TB_RETURN_IF_ERROR(store_.Erase(key));
  return ended;
}

Status SessionStore::Store(const Grant& grant) {
  const int64_t now = clock_.NowMillis();
  const milliseconds ttl =
      milliseconds(std::max<int64_t>(grant.expires_ms - now, 1)) + kExpiredGrace;
  // The set outlives every grant in it, so that logout finds tokens issued
  // long after the browser session itself went idle. One store call.
  const milliseconds set_ttl = IssuedSetLifetime();
  const std::string member =
      SingleUse(grant.kind) ? IssuedMember('*', grant.app, "")
                            : IssuedMember(static_cast<char>(grant.kind), grant.app, grant.value);
  return store_.PutAndAddToSet(GrantKey(grant.kind, grant.value), EncodeGrant(grant), ttl,
                               Key(kIssuedPrefix, grant.session), member, set_ttl);
}

Result<Grant> SessionStore::Issue(GrantKind kind, std::string_view app, std::string_view userid,
                                  std::string_view session_id) {
  Grant g;
  g.kind = kind;
  g.value = kind == GrantKind::kAuthcode ? random_.Hex(16) : random_.Token(SuffixOf(kind));
  g.app = std::string(app);
  g.userid = std::string(userid);
  g.session = std::string(session_id);
  g.expires_ms = clock_.NowMillis() + LifetimeOf(kind).count();
  TB_RETURN_IF_ERROR(Store(g));
  return g;
}

Result<Grant> SessionStore::Load(std::string_view key, GrantKind kind, std::string_view value,
                                 std::string_view app, bool redeem, bool accept_expired) {
  auto record = redeem ? store_.Redeem(key) : store_.Get(key);
  if (!record.ok()) {
    if (record.error().code == errc::kNotFound) {
      return Error::NotFound("不存在、已使用或已注销");
    }
    return std::move(record).error();
  }
  auto grant = DecodeGrant(*record, value);
  if (!grant.ok()) return grant;
  if (grant->kind != kind) return Error::NotFound("类型不符");
  if (grant->app != app) return Error::PermissionDenied("不属于本接入资源");
  if (!accept_expired && clock_.NowMillis() >= grant->expires_ms) return Error::Expired("已过期");
  return grant;
}

Result<Grant> SessionStore::Redeem(GrantKind kind, std::string_view value, std::string_view app) {
  if (!WellFormed(value)) return Error::InvalidArgument("格式错误");
  auto grant =
      Load(GrantKey(kind, value), kind, value, app, /*redeem=*/true, /*accept_expired=*/false);
  if (!grant.ok()) return grant;
  auto ended = store_.Get(Key(kEndedPrefix, grant->session));
  if (ended.ok()) return Error::NotFound("所属会话已注销");
  if (ended.error().code != errc::kNotFound) return std::move(ended).error();
  return grant;
}

void SessionStore::ExchangeAsync(GrantKind kind, std::string_view value, std::string_view app,
                                 GrantKind issue, std::string_view mark_key, milliseconds mark_ttl,
                                 ExchangeDone done) {
  if (!WellFormed(value)) return done(Error::InvalidArgument("格式错误"));
  const int64_t now = clock_.NowMillis();
  Grant issued;
  issued.kind = issue;
  issued.value = issue == GrantKind::kAuthcode ? random_.Hex(16) : random_.Token(SuffixOf(issue));
  issued.app = std::string(app);
  issued.expires_ms = now + LifetimeOf(issue).count();
  const char kind_text[2] = {static_cast<char>(kind), '\0'};
  const char issue_text[2] = {static_cast<char>(issue), '\0'};
  TicketExchange op;
  op.mark_key = std::string(mark_key);
  op.mark_ttl = mark_ttl;
  op.redeem_key = GrantKey(kind, value);
  // The grant record's fields (EncodeGrant): 0 version, 1 kind, 2 app,
  // 3 userid, 4 session, 5 expiry, 6 access token, 7 proxy token.
  op.require = {{0, "1"}, {1, kind_text}, {2, Pack({app})}};
  op.expiry_field = 5;
  op.now_ms = now;
  op.owner_field = 4;
  // A single-use grant is redeemed as Redeem does (used up, refused once its
  // session ended); a token is only checked, as Check does.
  op.consume = SingleUse(kind);
  if (op.consume) op.guard_prefix = std::string(kEndedPrefix);
  op.put_key = GrantKey(issue, issued.value);
  // The app (checked equal above), userid and session are copied from the
  // ticket's record as stored, so no caller-chosen text is in the template.
  op.put_template =
      std::string("1|") + issue_text + "|{2}|{3}|{4}|" + std::to_string(issued.expires_ms) + "||";
  op.put_ttl = LifetimeOf(issue) + kExpiredGrace;
  op.set_prefix = std::string(kIssuedPrefix);
  op.set_member = SingleUse(issue) ? IssuedMember('*', app, "")
                                   : IssuedMember(issue_text[0], app, issued.value);
  op.set_ttl = IssuedSetLifetime();
  store_.ExchangeAsync(std::move(op), [kind, value = std::string(value), app = std::string(app),
                                       now, issued = std::move(issued), done = std::move(done)](
                                          Result<TicketExchangeResult> result) mutable {
    using Outcome = TicketExchangeResult::Outcome;
    if (!result.ok()) return done(std::move(result).error());
    switch (result->outcome) {
      case Outcome::kReplayed:
        return done(Error::AlreadyExists("重复的请求（重放）被拒绝"));
      case Outcome::kNotFound:
        return done(Error::NotFound("不存在、已使用或已注销"));
      default:
        break;
    }
    auto grant = DecodeGrant(result->record, value);
    if (!grant.ok()) return done(std::move(grant).error());
    // The same checks, in the same order, as Redeem's.
    if (grant->kind != kind) return done(Error::NotFound("类型不符"));
    if (grant->app != app) return done(Error::PermissionDenied("不属于本接入资源"));
    if (now >= grant->expires_ms) return done(Error::Expired("已过期"));
    if (result->outcome == Outcome::kGuarded) return done(Error::NotFound("所属会话已注销"));
    if (result->outcome != Outcome::kIssued) {
      return done(Error::Internal("a stored grant is corrupt"));
    }
    issued.userid = grant->userid;
    issued.session = grant->session;
    done(Exchanged{std::move(*grant), std::move(issued)});
  });
}

Result<Grant> SessionStore::Check(GrantKind kind, std::string_view value, std::string_view app,
                                  bool accept_expired) {
  if (!WellFormed(value)) return Error::InvalidArgument("格式错误");
  return Load(GrantKey(kind, value), kind, value, app, /*redeem=*/false, accept_expired);
}

Result<TokenSet> SessionStore::IssueTokenSet(const Grant& authcode, bool with_proxy) {
  auto access = Issue(GrantKind::kAccessToken, authcode.app, authcode.userid, authcode.session);
  if (!access.ok()) return std::move(access).error();
  std::optional<Grant> proxy;
  if (with_proxy) {
    auto p = Issue(GrantKind::kProxyToken, authcode.app, authcode.userid, authcode.session);
    if (!p.ok()) return std::move(p).error();
    proxy = std::move(*p);
  }
  Grant refresh;
  refresh.kind = GrantKind::kRefreshToken;
  refresh.value = random_.Token(SuffixOf(GrantKind::kRefreshToken));
  refresh.app = authcode.app;
  refresh.userid = authcode.userid;
  refresh.session = authcode.session;
  refresh.expires_ms = clock_.NowMillis() + LifetimeOf(GrantKind::kRefreshToken).count();
  refresh.access_token = access->value;
  if (proxy) refresh.proxy_token = proxy->value;
  TB_RETURN_IF_ERROR(Store(refresh));
  TB_RETURN_IF_ERROR(
      EraseIfEnded(authcode.session, {&*access, proxy ? &*proxy : nullptr, &refresh}));
  return TokenSet{std::move(*access), std::move(refresh), std::move(proxy)};
}

Result<TokenSet> SessionStore::Refresh(std::string_view refresh_token, std::string_view app,
                                       bool with_proxy) {
  auto refresh = Check(GrantKind::kRefreshToken, refresh_token, app);
  if (!refresh.ok()) return std::move(refresh).error();
  if (!refresh->access_token.empty()) {
    TB_RETURN_IF_ERROR(store_.Erase(GrantKey(GrantKind::kAccessToken, refresh->access_token)));
  }
  if (!refresh->proxy_token.empty()) {
    TB_RETURN_IF_ERROR(store_.Erase(GrantKey(GrantKind::kProxyToken, refresh->proxy_token)));
  }
  auto access = Issue(GrantKind::kAccessToken, app, refresh->userid, refresh->session);
  if (!access.ok()) return std::move(access).error();
  std::optional<Grant> proxy;
  if (with_proxy) {
    auto p = Issue(GrantKind::kProxyToken, app, refresh->userid, refresh->session);
    if (!p.ok()) return std::move(p).error();
    proxy = std::move(*p);
  }
  refresh->access_token = access->value;
  refresh->proxy_token = proxy ? proxy->value : std::string();
  const milliseconds ttl =
      milliseconds(std::max<int64_t>(refresh->expires_ms - clock_.NowMillis(), 1)) + kExpiredGrace;
  // Only over the refresh token as it still is: a logout (or revocation) that
  // erased it since the Check above must not see it written back.
  auto kept = store_.PutIfPresent(GrantKey(GrantKind::kRefreshToken, refresh->value),
                                  EncodeGrant(*refresh), ttl);
  if (!kept.ok() || !*kept) {
    TB_RETURN_IF_ERROR(EraseGrants({&*access, proxy ? &*proxy : nullptr}));
    if (!kept.ok()) return std::move(kept).error();
    return Error::NotFound("不存在、已注销或已吊销");
  }
  TB_RETURN_IF_ERROR(EraseIfEnded(refresh->session, {&*access, proxy ? &*proxy : nullptr, &*refresh}));
  return TokenSet{std::move(*access), std::move(*refresh), std::move(proxy)};
}

Status SessionStore::EraseIfEnded(std::string_view session,
                                  std::initializer_list<const Grant*> grants) {
  auto ended = Ended(session);
  if (!ended.ok()) return std::move(ended).error();
  if (!*ended) return Status::Ok();
  TB_RETURN_IF_ERROR(EraseGrants(grants));
  return Error::NotFound("所属会话已注销");
}

Status SessionStore::EraseGrants(std::initializer_list<const Grant*> grants) {
  for (const Grant* g : grants) {
    if (g != nullptr) TB_RETURN_IF_ERROR(store_.Erase(GrantKey(g->kind, g->value)));
  }
  return Status::Ok();
}

Status SessionStore::RevokeRefreshToken(const Grant& refresh) {
  if (!refresh.access_token.empty()) {
    TB_RETURN_IF_ERROR(store_.Erase(GrantKey(GrantKind::kAccessToken, refresh.access_token)));
  }
  if (!refresh.proxy_token.empty()) {
    TB_RETURN_IF_ERROR(store_.Erase(GrantKey(GrantKind::kProxyToken, refresh.proxy_token)));
  }
  return store_.Erase(GrantKey(GrantKind::kRefreshToken, refresh.value));
}

milliseconds SessionStore::IndexLifetime() const {
  // A slot is read as long as a session last seen in it may still be alive.
  return milliseconds(lifetimes_.session) + milliseconds(2 * kIndexSlotMs);
}

Status SessionStore::AddToIndex(std::string_view session_id) {
  const int64_t slot = clock_.NowMillis() / kIndexSlotMs;
  return store_.AddToSet(Key(kIndexPrefix, std::to_string(slot)), session_id, IndexLifetime());
}

Result<std::vector<LiveSession>> SessionStore::ListLive(std::string_view userid, size_t limit) {
  const int64_t now_slot = clock_.NowMillis() / kIndexSlotMs;
  const int64_t slots = milliseconds(lifetimes_.session).count() / kIndexSlotMs + 2;
  std::vector<std::string> ids;
  // Newest slots first, and no further once enough ids are in hand: listing
  // costs a store read per session, and the console pages through the newest.
  for (int64_t slot = now_slot; slot >= now_slot - slots && ids.size() < kMaxListed; --slot) {
    auto members = store_.Members(Key(kIndexPrefix, std::to_string(slot)));
    if (!members.ok()) return std::move(members).error();
    ids.insert(ids.end(), std::make_move_iterator(members->begin()),
               std::make_move_iterator(members->end()));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<LiveSession> live;
  for (const std::string& id : ids) {
    auto record = store_.Get(Key(kSessionPrefix, id));
    if (!record.ok()) {
      if (record.error().code == errc::kNotFound) continue;  // ended or expired
      return std::move(record).error();
    }
    auto session = DecodeSession(*record, id);
    if (!session.ok() || (!userid.empty() && session->userid != userid)) continue;
    LiveSession entry{std::move(*session), {}};
    auto members = store_.Members(Key(kIssuedPrefix, id));
    if (!members.ok()) return std::move(members).error();
    for (const std::string& member : *members) {
      std::vector<std::string> f = Unpack(member);
      if (f.size() == 3 &&
          std::find(entry.apps.begin(), entry.apps.end(), f[1]) == entry.apps.end()) {
        entry.apps.push_back(std::move(f[1]));
      }
    }
    std::sort(entry.apps.begin(), entry.apps.end());
    live.push_back(std::move(entry));
  }
  std::sort(live.begin(), live.end(), [](const LiveSession& a, const LiveSession& b) {
    return a.session.created_ms > b.session.created_ms;
  });
  if (live.size() > limit) live.resize(limit);
  return live;
}

Result<Session> SessionStore::FindByPublicId(std::string_view public_id) {
  auto live = ListLive("", std::numeric_limits<size_t>::max());
  if (!live.ok()) return std::move(live).error();
  for (LiveSession& entry : *live) {
    if (entry.session.public_id == public_id) return std::move(entry.session);
  }
  return Error::NotFound("no such session");
}

}  // namespace tongban::sso
