// Admin API: the running platform — who is signed in (live sessions and
// their revocation), the push outbox, the audit log and the dashboard's
// figures (docs/api/admin.md).
#include <algorithm>
#include <string>

#include "codec/csv.h"
#include "console/internal.h"
#include "directory/codes.h"

namespace tongban::console {

namespace {

using directory::Caller;

Result<codec::Value> Me(const Services& s, Call& call) {
  auto user = s.directory().GetUserById(Caller::Admin(), call.admin.userid);
  if (!user.ok()) return user.error();
  codec::Value out = codec::Value::Object(4);
  out.Set("userid", call.admin.userid)
      .Set("loginname", (*user)->loginname)
      .Set("username", (*user)->username)
      .Set("csrf", call.admin.csrf);
  return out;
}

codec::Value Series(const std::vector<int64_t>& counts) {
  codec::Value out = codec::Value::Array(counts.size());
  for (int64_t n : counts) out.Push(n);
  return out;
}

Result<codec::Value> Dashboard(const Services& s, Call& call) {
  int64_t window = 60;
  if (std::string_view text = call.Query("minutes");
      !text.empty() && (!ParseInteger(text, &window) || window < 1 || window > 1440)) {
    return Error::InvalidArgument("minutes 应在 1 到 1440 之间");
  }
  const int minutes = static_cast<int>(window);
  const int64_t now = s.sso.clock.NowMillis();
  const int64_t first = (now / 60'000 - minutes + 1) * 60'000;
  codec::Value stamps = codec::Value::Array(static_cast<size_t>(minutes));
  for (int i = 0; i < minutes; ++i) stamps.Push(first + int64_t{i} * 60'000);
  auto logins = s.audit.PerMinute("login", minutes);
  if (!logins.ok()) return logins.error();
  auto failures = s.audit.PerMinute("login_failed", minutes);
  if (!failures.ok()) return failures.error();
  std::vector<int64_t> validations(static_cast<size_t>(minutes), 0);
  if (s.sso.activity != nullptr) validations = s.sso.activity->Validations(now, minutes);

  directory::UserSearch everyone;
  everyone.max_total = 1'000'000'000;
  auto users = s.directory().SearchUsers(everyone, directory::Page{1, 1});
  if (!users.ok()) return users.error();
  auto orgs = s.directory().SearchOrgs("", directory::Page{1, 1});
  if (!orgs.ok()) return orgs.error();
  auto apps = s.directory().ListApps();
  if (!apps.ok()) return apps.error();
  auto sessions = s.sessions.ListLive("", std::numeric_limits<size_t>::max());
  if (!sessions.ok()) return sessions.error();
  auto outbox = s.sso.outbox.Counts();
  if (!outbox.ok()) return outbox.error();

  codec::Value totals = codec::Value::Object(4);
  totals.Set("users", users->total)
      .Set("orgs", orgs->total)
      .Set("apps", static_cast<int64_t>(apps->size()))
      .Set("sessions", static_cast<int64_t>(sessions->size()));
  codec::Value push = codec::Value::Object(4);
  push.Set("pending", outbox->pending)
      .Set("retrying", outbox->retrying)
      .Set("dead", outbox->dead)
      .Set("delivered", outbox->delivered);
  codec::Value out = codec::Value::Object(6);
  out.Set("minutes", std::move(stamps))
      .Set("logins", Series(*logins))
      .Set("login_failures", Series(*failures))
      .Set("validations", Series(validations))
      .Set("totals", std::move(totals))
      .Set("push", std::move(push));
  return out;
}

// A userid, or a login name resolved to one ("" when `user` is empty).
Result<std::string> UserIdOf(const Services& s, std::string_view user) {
  if (user.empty()) return std::string();
  if (user.size() == 32 && std::all_of(user.begin(), user.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return std::string(user);
  }
  auto found = s.directory().GetUserByLoginname(Caller::Admin(), user);
  if (!found.ok()) return found.error();
  return (*found)->userid;
}

Result<codec::Value> Sessions(const Services& s, Call& call) {
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  auto userid = UserIdOf(s, call.Query("user"));
  if (!userid.ok()) return userid.error();
  auto live = s.sessions.ListLive(*userid, std::numeric_limits<size_t>::max());
  if (!live.ok()) return live.error();
  const size_t begin = std::min(live->size(), static_cast<size_t>((page->number - 1) * page->size));
  const size_t end = std::min(live->size(), begin + static_cast<size_t>(page->size));
  codec::Value items = codec::Value::Array(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const sso::LiveSession& entry = (*live)[i];
    std::string username;
    if (auto user = s.directory().CachedUser(entry.session.userid); user.ok()) {
      username = (*user)->username;
    }
    codec::Value apps = codec::Value::Array(entry.apps.size());
    for (const std::string& app : entry.apps) apps.Push(app);
    items.Push(codec::Value::Object(7)
                   .Set("id", entry.session.public_id)
                   .Set("userid", entry.session.userid)
                   .Set("loginname", entry.session.loginname)
                   .Set("username", username)
                   .Set("origin", entry.session.origin == sso::SessionOrigin::kBrowser ? "browser"
                                                                                        : "api")
                   .Set("created_ms", entry.session.created_ms)
                   .Set("apps", std::move(apps)));
  }
  return ListOf(static_cast<int64_t>(live->size()), std::move(items));
}

Result<codec::Value> EndSession(const Services& s, Call& call) {
  auto session = s.sessions.FindByPublicId(call.args[0]);
  if (!session.ok()) return session.error();
  call.target = session->userid;
  sso::LogoutRequest request;
  request.session_id = session->id;
  request.userid = session->userid;
  request.ip = std::string(call.request.remote_ip());
  request.reason = "admin";
  auto outcome = s.logout.Run(request);
  if (!outcome.ok()) return outcome.error();
  codec::Value apps = codec::Value::Array(outcome->apps.size());
  for (const std::string& app : outcome->apps) apps.Push(app);
  return codec::Value::Object(2).Set("ended", true).Set("apps", std::move(apps));
}

Result<codec::Value> Outbox(const Services& s, Call& call) {
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  std::string_view name = call.Query("state");
  OutboxState state = OutboxState::kPending;
  if (name == "dead") {
    state = OutboxState::kDead;
  } else if (name == "delivered") {
    state = OutboxState::kDelivered;
  } else if (!name.empty() && name != "pending") {
    return Error::InvalidArgument("state 应为 pending、dead 或 delivered");
  }
  auto counts = s.sso.outbox.Counts();
  if (!counts.ok()) return counts.error();
  auto messages = s.sso.outbox.List(state, static_cast<size_t>(page->size),
                                    static_cast<size_t>((page->number - 1) * page->size));
  if (!messages.ok()) return messages.error();
  codec::Value items = codec::Value::Array(messages->size());
  for (const OutboxMessage& m : *messages) {
    items.Push(codec::Value::Object(8)
                   .Set("id", m.id)
                   .Set("destination", m.destination)
                   .Set("method", m.method)
                   .Set("state", OutboxStateName(m.state))
                   .Set("attempts", m.attempts)
                   .Set("last_error", m.last_error)
                   .Set("created_ms", m.created_at_ms)
                   .Set("next_attempt_ms", m.next_attempt_at_ms));
  }
  const int64_t total = state == OutboxState::kDead        ? counts->dead
                        : state == OutboxState::kDelivered ? counts->delivered
                                                           : counts->pending;
  return ListOf(total, std::move(items));
}

Result<codec::Value> RetryOne(const Services& s, Call& call) {
  int64_t id = 0;
  if (!ParseInteger(call.args[0], &id)) return Error::NotFound("没有这条推送消息");
  TB_RETURN_IF_ERROR(s.sso.outbox.Retry(id));
  return codec::Value::Object(1).Set("retried", 1);
}

Result<codec::Value> RetryDead(const Services& s, Call& call) {
  const std::string destination = call.BodyText("destination");
  call.target = destination.empty() ? "all" : destination;
  auto retried = s.sso.outbox.RetryAllDead(destination);
  if (!retried.ok()) return retried.error();
  return codec::Value::Object(1).Set("retried", *retried);
}

Result<sso::AuditFilter> FilterFrom(const Call& call) {
  sso::AuditFilter filter;
  filter.event_prefix = std::string(call.Query("event"));
  filter.user = std::string(call.Query("user"));
  for (auto [name, out] : {std::pair{"since_ms", &filter.since_ms},
                           std::pair{"until_ms", &filter.until_ms}}) {
    std::string_view text = call.Query(name);
    if (text.empty()) continue;
    if (!ParseInteger(text, out) || *out < 0) {
      return Error::InvalidArgument(std::string(name) + " 应为毫秒时间戳");
    }
  }
  return filter;
}

codec::Value EventJson(const sso::AuditEvent& e) {
  return codec::Value::Object(7)
      .Set("at_ms", e.at_ms)
      .Set("event", e.event)
      .Set("userid", e.userid)
      .Set("loginname", e.loginname)
      .Set("servicecode", e.servicecode)
      .Set("ip", e.ip)
      .Set("detail", e.detail);
}

Result<codec::Value> AuditLog(const Services& s, Call& call) {
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  auto filter = FilterFrom(call);
  if (!filter.ok()) return filter.error();
  auto found = s.audit.Query(*filter, static_cast<size_t>(page->size),
                             static_cast<size_t>((page->number - 1) * page->size));
  if (!found.ok()) return found.error();
  codec::Value items = codec::Value::Array(found->items.size());
  for (const sso::AuditEvent& e : found->items) items.Push(EventJson(e));
  return ListOf(found->total, std::move(items));
}

Result<codec::Value> AuditExport(const Services& s, Call& call) {
  auto filter = FilterFrom(call);
  if (!filter.ok()) return filter.error();
  constexpr size_t kMaxRows = 100'000;
  auto found = s.audit.Query(*filter, kMaxRows, 0);
  if (!found.ok()) return found.error();
  std::string csv = "at_ms,event,userid,loginname,servicecode,ip,detail\r\n";
  for (const sso::AuditEvent& e : found->items) {
    csv += std::to_string(e.at_ms);
    for (std::string_view field : {std::string_view(e.event), std::string_view(e.userid),
                                   std::string_view(e.loginname), std::string_view(e.servicecode),
                                   std::string_view(e.ip), std::string_view(e.detail)}) {
      csv.push_back(',');
      codec::AppendCsvField(field, csv, /*always_quote=*/true);
    }
    csv += "\r\n";
  }
  call.response.set_status(200);
  call.response.set_content_type("text/csv; charset=utf-8");
  call.response.AddHeader("Content-Disposition", "attachment; filename=\"audit.csv\"");
  call.response.set_body(std::move(csv));
  call.wrote_response = true;
  return codec::Value();
}

}  // namespace

void AddOperationRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "me", "", Me});
  routes.push_back({"GET", "dashboard", "", Dashboard});
  routes.push_back({"GET", "sessions", "", Sessions});
  routes.push_back({"DELETE", "sessions/:id", "session.revoke", EndSession});
  routes.push_back({"GET", "outbox", "", Outbox});
  routes.push_back({"POST", "outbox/retry-dead", "outbox.retry_dead", RetryDead});
  routes.push_back({"POST", "outbox/:id/retry", "outbox.retry", RetryOne});
  routes.push_back({"GET", "audit", "", AuditLog});
  routes.push_back({"GET", "audit/export", "audit.export", AuditExport});
}

}  // namespace tongban::console
