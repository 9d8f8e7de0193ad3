#include "sso/logout.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "codec/render.h"
#include "codec/value.h"
#include "sso/user_sessions.h"

namespace tongban::sso {
namespace {

struct AppTokens {
  std::string token;
  std::string accesstoken;
};

void AppendListItem(std::string& list, std::string_view item) {
  if (!list.empty()) list.push_back(';');
  list.append(item);
}

}  // namespace

Result<LogoutOutcome> UnifiedLogout::Run(const LogoutRequest& request) {
  auto ended = sessions_.End(request.session_id);
  if (!ended.ok()) return std::move(ended).error();
  LogoutOutcome outcome = Notify(request, *ended);
  std::string loginname;
  if (ended->session) {
    loginname = ended->session->loginname;
  } else if (auto user = context_.directory.CachedUser(request.userid); user.ok()) {
    loginname = (*user)->loginname;
  }
  std::string detail("reason=");
  detail.append(request.reason);
  detail.append(" apps=").append(std::to_string(outcome.apps.size()));
  detail.append(" notices=").append(std::to_string(outcome.notices));
  audit_.Record("logout", request.userid, loginname, request.initiator, request.ip, detail);
  return outcome;
}

Result<size_t> UnifiedLogout::EndUser(std::string_view userid, std::string_view reason,
                                      std::string_view initiator, bool audit_when_none,
                                      std::string_view keep_session) {
  auto ids = sessions_.TakeUserSessions(userid);
  if (!ids.ok()) return std::move(ids).error();
  if (!keep_session.empty()) {
    auto kept = std::find(ids->begin(), ids->end(), keep_session);
    if (kept != ids->end()) {
      ids->erase(kept);
      TB_RETURN_IF_ERROR(
          RelistUserSession(context_.tickets, sessions_.lifetimes(), userid, keep_session));
    }
  }
  if (ids->empty() && !audit_when_none) return size_t{0};
  size_t live = 0;
  size_t apps = 0;
  size_t notices = 0;
  std::string loginname;
  // The ids are no longer listed: one failure must not leave the others live.
  Status first_error = Status::Ok();
  for (const std::string& id : *ids) {
    auto ended = sessions_.End(id);
    if (!ended.ok()) {
      spdlog::error("session of a {} user not ended: {}", reason, ended.error().message);
      if (first_error.ok()) first_error = std::move(ended).error();
      continue;
    }
    if (ended->session) {
      ++live;
      loginname = ended->session->loginname;
    }
    LogoutRequest request{id, std::string(userid), std::string(initiator), "", std::string(reason)};
    // An expired session may still have left OIDC tokens or app grants: the
    // listeners and notices run for every one.
    LogoutOutcome outcome = Notify(request, *ended);
    apps += outcome.apps.size();
    notices += outcome.notices;
  }
  std::string detail("reason=");
  detail.append(reason);
  detail.append(" sessions=").append(std::to_string(live));
  detail.append(" apps=").append(std::to_string(apps));
  detail.append(" notices=").append(std::to_string(notices));
  audit_.Record("user_sessions_ended", std::string(userid), loginname, initiator, "", detail);
  if (!first_error.ok()) return std::move(first_error).error();
  return live;
}

LogoutOutcome UnifiedLogout::Notify(const LogoutRequest& request, const EndedSession& ended) {
  // CAS and OIDC tell their apps in their own protocols (issue 5).
  if (!context_.on_session_end.empty()) {
    SessionEnd notice{request.session_id, ended.session ? ended.session->public_id : "",
                      request.userid};
    for (const auto& listener : context_.on_session_end) listener(notice);
  }

  std::map<std::string, AppTokens> by_app;
  for (const std::string& app : ended.apps) by_app[app];
  for (const IssuedGrant& g : ended.tokens) {
    AppTokens& a = by_app[g.app];
    switch (g.kind) {
      case GrantKind::kToken:
        AppendListItem(a.token, g.value);
        break;
      case GrantKind::kAccessToken:
        AppendListItem(a.accesstoken, g.value);
        break;
      default:
        break;
    }
  }

  std::string loginname;
  std::string public_id;
  if (ended.session) {
    loginname = ended.session->loginname;
    public_id = ended.session->public_id;
  } else if (auto user = context_.directory.CachedUser(request.userid); user.ok()) {
    loginname = (*user)->loginname;
  }

  LogoutOutcome outcome;
  struct Notice {
    std::string app;
    std::string payload;
    std::string key;
  };
  std::vector<Notice> notices;
  for (const auto& [servicecode, tokens] : by_app) {
    outcome.apps.push_back(servicecode);
    if (servicecode == request.initiator) continue;
    auto app = context_.directory.CachedApp(servicecode);
    if (!app.ok() || !(*app)->enabled || (*app)->logout_url.empty()) continue;
    codec::Value payload = codec::Value::Object(8);
    payload.Set("userid", request.userid)
        .Set("loginname", loginname)
        .Set("sessionid", public_id)
        .Set("token", tokens.token)
        .Set("accesstoken", tokens.accesstoken);
    notices.push_back({servicecode, codec::RenderJson(payload), "s:" + std::string(public_id)});
  }

  if (!notices.empty()) {
    if (context_.sql == nullptr) {
      spdlog::warn("logout: {} app(s) not notified: no SQL store for the outbox", notices.size());
    } else {
      const int64_t now = context_.clock.NowMillis();
      Status queued = context_.sql->WithTransaction([&](soci::session& tx) -> Status {
        for (const Notice& n : notices) {
          // Keyed by session: a logout goes to its own URL and must not wait
          // behind directory pushes the app keeps rejecting.
          auto id = context_.outbox.Enqueue(tx, n.app, "logout", n.payload, now, n.key);
          if (!id.ok()) return std::move(id).error();
        }
        return Status::Ok();
      });
      // The session is already gone; failing here would only hide that. The
      // apps' own token checks now fail, which is the part that matters.
      if (!queued.ok()) {
        spdlog::error("logout: notices not queued: {}", queued.error().message);
      } else {
        outcome.notices = notices.size();
      }
    }
  }
  return outcome;
}

}  // namespace tongban::sso
