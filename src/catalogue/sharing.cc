#include "catalogue/sharing.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <nlohmann/json.hpp>

#include "catalogue/audit.h"
#include "core/utf8.h"
#include "store/sql_dialect.h"

namespace tongban::catalogue {

namespace {

constexpr int64_t kYearMs = int64_t{366} * 24 * 3600 * 1000;
constexpr int64_t kMaxGrantMs = int64_t{5} * kYearMs;

constexpr const char* kSharingV1 = R"sql(
CREATE TABLE catalogue_applications (
  id {ID},
  resource_id BIGINT NOT NULL,
  resource_code {KEY} NOT NULL,
  resource_name {TEXT} NOT NULL,
  provider_org {KEY} NOT NULL,
  applicant {KEY} NOT NULL,
  applicant_org {KEY} NOT NULL,
  app {KEY} NOT NULL,
  state {KEY} NOT NULL,
  body {TEXT} NOT NULL,
  grant_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  decided_at BIGINT NOT NULL
){END};
CREATE INDEX catalogue_applications_by_applicant ON catalogue_applications (applicant_org, id);
CREATE INDEX catalogue_applications_by_provider ON catalogue_applications (provider_org, state, id);

CREATE TABLE catalogue_grants (
  id {ID},
  application_id BIGINT NOT NULL,
  resource_id BIGINT NOT NULL,
  resource_name {TEXT} NOT NULL,
  provider_org {KEY} NOT NULL,
  base_kind {KEY} NOT NULL,
  grantee_org {KEY} NOT NULL,
  grantee_app {KEY} NOT NULL,
  fields {TEXT} NOT NULL,
  unmasked INTEGER NOT NULL,
  kind {KEY} NOT NULL,
  exchange_task_id BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL,
  revoked_by {KEY} NOT NULL,
  revoke_reason {TEXT} NOT NULL,
  task_stopped INTEGER NOT NULL,
  created_at BIGINT NOT NULL
){END};
CREATE INDEX catalogue_grants_by_app ON catalogue_grants (grantee_app, base_kind, id);
CREATE INDEX catalogue_grants_by_org ON catalogue_grants (grantee_org, base_kind, id);
CREATE INDEX catalogue_grants_by_provider ON catalogue_grants (provider_org, id);
)sql";

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool GoodText(const std::string& s, size_t max) {
  return !s.empty() && s.size() <= max && IsValidUtf8(s);
}

// ---- applications ----

constexpr const char* kApplicationColumns =
    "id, resource_id, resource_code, resource_name, provider_org, applicant, applicant_org, app, "
    "state, body, grant_id, created_at, decided_at";

struct ApplicationRow {
  long long id = 0, resource_id = 0, grant_id = 0, created = 0, decided = 0;
  std::string code, name, provider_org, applicant, applicant_org, app, state, body;

  void Into(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(resource_id));
    st.exchange(soci::into(code));
    st.exchange(soci::into(name));
    st.exchange(soci::into(provider_org));
    st.exchange(soci::into(applicant));
    st.exchange(soci::into(applicant_org));
    st.exchange(soci::into(app));
    st.exchange(soci::into(state));
    st.exchange(soci::into(body));
    st.exchange(soci::into(grant_id));
    st.exchange(soci::into(created));
    st.exchange(soci::into(decided));
  }

  Application Get() const {
    Application a;
    a.id = id;
    a.resource_id = resource_id;
    a.resource_code = code;
    a.resource_name = name;
    a.provider_org = provider_org;
    a.applicant = applicant;
    a.applicant_org = applicant_org;
    a.app = app;
    a.state = ParseApplicationState(state).value_or(ApplicationState::kPending);
    a.grant_id = grant_id;
    a.created_ms = created;
    a.decided_ms = decided;
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object()) {
      a.purpose = j.value("purpose", "");
      a.legal_basis = j.value("legal_basis", "");
      a.fields = j.value("fields", std::vector<std::string>{});
      a.approved_fields = j.value("approved_fields", std::vector<std::string>{});
      a.reason = j.value("reason", "");
      a.decided_by = j.value("decided_by", "");
      a.subscriber_resource_id = j.value("subscriber_resource_id", int64_t{0});
    }
    return a;
  }
};

std::string ApplicationBody(const Application& a) {
  return nlohmann::json{{"purpose", a.purpose},
                        {"legal_basis", a.legal_basis},
                        {"fields", a.fields},
                        {"approved_fields", a.approved_fields},
                        {"reason", a.reason},
                        {"decided_by", a.decided_by},
                        {"subscriber_resource_id", a.subscriber_resource_id}}
      .dump();
}

// Runs `where` (with one bound text or id parameter) and returns every row.
template <typename Param>
std::vector<Application> SelectApplications(soci::session& sql, const std::string& where,
                                            const Param& param, std::string_view lock = {}) {
  ApplicationRow row;
  soci::statement st(sql);
  row.Into(st);
  st.exchange(soci::use(param, "p"));
  st.alloc();
  st.prepare(fmt::format("SELECT {} FROM catalogue_applications WHERE {}{}", kApplicationColumns,
                         where, lock));
  st.define_and_bind();
  std::vector<Application> out;
  if (st.execute(true)) {
    do out.push_back(row.Get());
    while (st.fetch());
  }
  return out;
}

// ---- grants ----

constexpr const char* kGrantColumns =
    "id, application_id, resource_id, resource_name, provider_org, base_kind, grantee_org, "
    "grantee_app, fields, unmasked, kind, exchange_task_id, expires_at, revoked_at, revoked_by, "
    "revoke_reason, created_at";

struct GrantRow {
  long long id = 0, application_id = 0, resource_id = 0, task = 0, expires = 0, revoked = 0,
            created = 0;
  int unmasked = 0;
  std::string resource_name, provider_org, base_kind, grantee_org, grantee_app, fields, kind,
      revoked_by, revoke_reason;

  void Into(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(application_id));
    st.exchange(soci::into(resource_id));
    st.exchange(soci::into(resource_name));
    st.exchange(soci::into(provider_org));
    st.exchange(soci::into(base_kind));
    st.exchange(soci::into(grantee_org));
    st.exchange(soci::into(grantee_app));
    st.exchange(soci::into(fields));
    st.exchange(soci::into(unmasked));
    st.exchange(soci::into(kind));
    st.exchange(soci::into(task));
    st.exchange(soci::into(expires));
    st.exchange(soci::into(revoked));
    st.exchange(soci::into(revoked_by));
    st.exchange(soci::into(revoke_reason));
    st.exchange(soci::into(created));
  }

  Grant Get() const {
    Grant g;
    g.id = id;
    g.application_id = application_id;
    g.resource_id = resource_id;
    g.resource_name = resource_name;
    g.base_kind = ParseBaseKind(base_kind).value_or(BaseKind::kNone);
    g.grantee_org = grantee_org;
    g.grantee_app = grantee_app;
    g.fields = SplitFields(fields);
    g.unmasked = unmasked != 0;
    g.kind = kind == "exchange" ? GrantKind::kExchange : GrantKind::kApi;
    g.exchange_task_id = task;
    g.expires_ms = expires;
    g.revoked_ms = revoked;
    g.revoked_by = revoked_by;
    g.revoke_reason = revoke_reason;
    g.created_ms = created;
    return g;
  }
};

struct GrantsQuery {
  std::string where;
  std::vector<std::string> texts;  // bound as :s0, :s1, …
  std::vector<long long> numbers;  // bound as :n0, :n1, …
  std::string tail;                // ORDER BY / LIMIT / lock
};

std::vector<std::pair<Grant, std::string>> SelectGrants(soci::session& sql, const GrantsQuery& q) {
  GrantRow row;
  soci::statement st(sql);
  row.Into(st);
  for (size_t i = 0; i < q.texts.size(); ++i) {
    st.exchange(soci::use(q.texts[i], fmt::format("s{}", i)));
  }
  for (size_t i = 0; i < q.numbers.size(); ++i) {
    st.exchange(soci::use(q.numbers[i], fmt::format("n{}", i)));
  }
  st.alloc();
  st.prepare(fmt::format("SELECT {} FROM catalogue_grants WHERE {}{}", kGrantColumns, q.where,
                         q.tail));
  st.define_and_bind();
  std::vector<std::pair<Grant, std::string>> out;
  if (st.execute(true)) {
    do out.emplace_back(row.Get(), row.provider_org);
    while (st.fetch());
  }
  return out;
}

// "(col IN (:s0, :s1))" over the texts appended to q.
std::string InTexts(GrantsQuery& q, std::string_view column, const std::vector<std::string>& v) {
  std::string in;
  for (const std::string& s : v) {
    if (!in.empty()) in += ", ";
    in += fmt::format(":s{}", q.texts.size());
    q.texts.push_back(s);
  }
  if (in.empty()) return "1 = 0";
  return fmt::format("{} IN ({})", column, in);
}

AuditEntry Audit(const Party& who, int64_t now, std::string action) {
  AuditEntry e;
  e.at_ms = now;
  e.actor = who.actor.id;
  e.actor_kind = who.actor.kind;
  e.actor_org = who.actor.org;
  e.action = std::move(action);
  e.outcome = "ok";
  return e;
}

}  // namespace

std::vector<Migration> SharingStore::Migrations() {
  return {PortableMigration("catalogue_sharing", 1, kSharingV1)};
}

SharingStore::SharingStore(SqlStore& store, Clock& clock, ResourceStore& resources)
    : store_(store), clock_(clock), resources_(resources) {}

Result<Application> SharingStore::Apply(const Party& who, const NewApplication& req,
                                        std::string_view app_org) {
  if (who.orgs.empty()) return Error::PermissionDenied("您不属于任何机构，不能申请");
  if (!GoodText(req.purpose, 2000)) return Error::InvalidArgument("请填写申请用途（最多 2000 字节）");
  if (!GoodText(req.legal_basis, 2000)) {
    return Error::InvalidArgument("请填写申请依据（最多 2000 字节）");
  }
  auto resource = resources_.GetPublished(req.resource_id);
  if (!resource.ok()) return std::move(resource).error();
  if (resource->share_type == ShareType::kNone) {
    return Error::PermissionDenied("该资源不予共享：" + resource->share_condition);
  }
  if (req.fields.empty()) return Error::InvalidArgument("请选择需要的信息项");
  for (const std::string& f : req.fields) {
    // Names only what the caller sent, which the catalogue shows anyway.
    if (resource->Item(f) == nullptr) {
      return Error::InvalidArgument("资源没有这个信息项：" + f.substr(0, 40));
    }
  }
  if (!req.app.empty() && !Contains(who.orgs, app_org)) {
    return Error::InvalidArgument("调用系统不属于申请机构：" + req.app);
  }
  if (resource->share_mode == ShareMode::kExchange) {
    if (req.subscriber_resource_id <= 0) {
      return Error::InvalidArgument("交换方式共享的资源，请选择接收数据的交换资源");
    }
    // The rows are written into it: never another department's table.
    auto owner = ExchangeResourceOf(req.subscriber_resource_id, who.orgs.front(),
                                    "接收数据的交换资源不属于申请机构");
    if (!owner.ok()) return std::move(owner).error();
  }
  Application a;
  a.resource_id = resource->id;
  a.resource_code = resource->code;
  a.resource_name = resource->name;
  a.provider_org = resource->provider_org;
  a.applicant = who.actor.id;
  a.applicant_org = who.orgs.front();
  a.app = req.app;
  a.purpose = req.purpose;
  a.legal_basis = req.legal_basis;
  a.fields = req.fields;
  std::sort(a.fields.begin(), a.fields.end());
  a.fields.erase(std::unique(a.fields.begin(), a.fields.end()), a.fields.end());
  a.subscriber_resource_id = resource->share_mode == ShareMode::kExchange ? req.subscriber_resource_id : 0;
  a.state = ApplicationState::kPending;
  a.created_ms = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Application> {
    const std::string body = ApplicationBody(a);
    const std::string state(ApplicationStateName(a.state));
    long long resource_id = a.resource_id, at = a.created_ms;
    const std::string insert =
        "INSERT INTO catalogue_applications (resource_id, resource_code, resource_name, "
        "provider_org, applicant, applicant_org, app, state, body, grant_id, created_at, "
        "decided_at) VALUES (:r, :c, :n, :p, :u, :o, :a, :s, :b, 0, :t, 0)";
    if (sql_dialect::HasReturning(dialect)) {
      long long id = 0;
      sql << insert + " RETURNING id", soci::use(resource_id), soci::use(a.resource_code),
          soci::use(a.resource_name), soci::use(a.provider_org), soci::use(a.applicant),
          soci::use(a.applicant_org), soci::use(a.app), soci::use(state), soci::use(body),
          soci::use(at), soci::into(id);
      a.id = id;
    } else {
      sql << insert, soci::use(resource_id), soci::use(a.resource_code),
          soci::use(a.resource_name), soci::use(a.provider_org), soci::use(a.applicant),
          soci::use(a.applicant_org), soci::use(a.app), soci::use(state), soci::use(body),
          soci::use(at);
      a.id = sql_dialect::LastInsertId(sql, dialect);
    }
    AuditEntry e = Audit(who, a.created_ms, "application.create");
    e.resource_id = a.resource_id;
    e.application_id = a.id;
    e.subject = a.resource_code;
    e.fields = JoinFields(a.fields);
    e.detail = a.app.empty() ? "" : "app " + a.app;
    TB_RETURN_IF_ERROR(WriteAudit(sql, dialect, e));
    return a;
  });
}

Result<SharingStore::Owner> SharingStore::ExchangeResourceOf(int64_t resource_id,
                                                             std::string_view org,
                                                             std::string_view refusal) const {
  if (!exchange_.resource_orgs) return Owner::kUnknown;
  auto owners = exchange_.resource_orgs(resource_id);
  if (!owners.ok()) {
    if (owners.error().code == errc::kNotFound) {
      return Error::InvalidArgument("没有这个交换资源：" + std::to_string(resource_id));
    }
    return std::move(owners).error();
  }
  if (owners->empty()) return Owner::kUnknown;
  // Exactly the org: a parent org's staff do not own its departments' tables.
  if (std::find(owners->begin(), owners->end(), org) != owners->end()) return Owner::kOrg;
  return Error::PermissionDenied(std::string(refusal) +
                                 "（交换资源的接入资源 web_apps 属于其他机构）");
}

Result<Application> SharingStore::Decide(const Party& who, int64_t id, const Decision& d) {
  const int64_t now = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  // Read first (no lock) to check rights and prepare an exchange task, which
  // ExchangeMeta makes in its own transaction; the state is checked again
  // under the lock below.
  auto found = store_.WithSession([&](soci::session& sql) -> Result<Application> {
    long long key = id;
    auto list = SelectApplications(sql, "id = :p", key);
    if (list.empty()) return Error::NotFound("没有这份共享申请");
    return list.front();
  });
  if (!found.ok()) return std::move(found).error();
  Application a = std::move(*found);
  if (!who.provider || !Contains(who.orgs, a.provider_org)) {
    return Error::NotFound("没有这份共享申请");
  }
  // A 共享申请 is decided by someone other than its applicant (a provider's
  // staff member may hold the user role too).
  if (a.applicant == who.actor.id) {
    return Error::PermissionDenied("不能审批本人提交的共享申请，请由本机构其他提供方人员审批");
  }
  if (a.state != ApplicationState::kPending) return Error::Conflict("该申请已处理");
  // What a grant gives (base kind, share mode, items) is the published version's, which
  // an administrator reviewed — never the provider's unreviewed draft.
  auto resource = resources_.GetPublished(a.resource_id);
  if (!resource.ok()) {
    if (resource.error().code != errc::kNotFound) return std::move(resource).error();
    if (d.approve) return Error::Conflict("资源未发布或已撤回，不能批准；可不予批准");
    resource = resources_.Get(a.resource_id);
    if (!resource.ok()) return std::move(resource).error();
  }

  std::vector<std::string> fields;
  int64_t expires = d.expires_ms;
  if (d.approve) {
    fields = d.fields.empty() ? a.fields : d.fields;
    std::sort(fields.begin(), fields.end());
    fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
    for (const std::string& f : fields) {
      if (!Contains(a.fields, f)) {
        return Error::InvalidArgument("批准的信息项应在申请的范围内：" + f.substr(0, 40));
      }
      if (resource->Item(f) == nullptr) {  // the published version may have changed since
        return Error::InvalidArgument("资源已不再提供这个信息项：" + f.substr(0, 40));
      }
    }
    if (resource->share_type == ShareType::kNone) {
      return Error::PermissionDenied("该资源现为不予共享，不能批准");
    }
    if (expires == 0) expires = now + kYearMs;
    if (expires <= now) return Error::InvalidArgument("有效期应晚于现在");
    if (expires > now + kMaxGrantMs) return Error::InvalidArgument("有效期最长 5 年");
  } else if (!GoodText(d.reason, 2000)) {
    return Error::InvalidArgument("不予批准时请填写理由");
  }

  const bool exchange = d.approve && resource->share_mode == ShareMode::kExchange;
  int64_t task_id = 0;
  bool task_awaits_admin = false;
  if (exchange) {
    if (!exchange_.create_task) {
      return Error::Unavailable("本节点未启用数据交换，不能以交换方式共享");
    }
    // Checked now, as either table may have changed hands since the
    // registration or the application: another department's table is
    // refused; the task's 工单 is approved in the provider's name only
    // between the two departments' own tables, and otherwise waits for the
    // platform administrator.
    auto provider_side = ExchangeResourceOf(resource->exchange_resource_id, a.provider_org,
                                            "资源登记的交换资源不属于提供机构，不能批准");
    if (!provider_side.ok()) return std::move(provider_side).error();
    auto subscriber_side = ExchangeResourceOf(a.subscriber_resource_id, a.applicant_org,
                                              "接收数据的交换资源不属于申请机构，不能批准");
    if (!subscriber_side.ok()) return std::move(subscriber_side).error();
    const bool both_own = *provider_side == Owner::kOrg && *subscriber_side == Owner::kOrg;
    auto task = exchange_.create_task(resource->exchange_resource_id, a.subscriber_resource_id,
                                      fields, fmt::format("cat_grant_app{}", a.id),
                                      "共享申请 " + std::to_string(a.id) + " " + a.resource_name,
                                      both_own, expires);
    if (!task.ok()) return std::move(task).error();
    task_id = *task;
    task_awaits_admin = !both_own;
  }

  auto decided = store_.WithTransaction([&](soci::session& sql) -> Result<Application> {
    long long key = id;
    auto list = SelectApplications(sql, "id = :p", key, sql_dialect::ForUpdate(dialect));
    if (list.empty()) return Error::NotFound("没有这份共享申请");
    Application cur = std::move(list.front());
    if (cur.state != ApplicationState::kPending) return Error::Conflict("该申请已处理");
    cur.decided_by = who.actor.id;
    cur.decided_ms = now;
    long long at = now;
    if (d.approve) {
      cur.state = ApplicationState::kApproved;
      cur.approved_fields = fields;
      cur.reason = d.reason;
      const std::string base(BaseKindName(resource->base_kind));
      const std::string joined = JoinFields(fields);
      const std::string kind = exchange ? "exchange" : "api";
      const std::string empty;
      long long app_id = cur.id, resource_id = cur.resource_id, task = task_id, exp = expires;
      int unmasked = d.unmasked ? 1 : 0;
      const std::string insert =
          "INSERT INTO catalogue_grants (application_id, resource_id, resource_name, "
          "provider_org, base_kind, grantee_org, grantee_app, fields, unmasked, kind, "
          "exchange_task_id, expires_at, revoked_at, revoked_by, revoke_reason, task_stopped, "
          "created_at) VALUES (:a, :r, :n, :p, :b, :o, :ap, :f, :u, :k, :t, :e, 0, :rb, :rr, 0, :c)";
      if (sql_dialect::HasReturning(dialect)) {
        long long gid = 0;
        sql << insert + " RETURNING id", soci::use(app_id), soci::use(resource_id),
            soci::use(cur.resource_name), soci::use(cur.provider_org), soci::use(base),
            soci::use(cur.applicant_org), soci::use(cur.app), soci::use(joined),
            soci::use(unmasked), soci::use(kind), soci::use(task), soci::use(exp),
            soci::use(empty), soci::use(empty), soci::use(at), soci::into(gid);
        cur.grant_id = gid;
      } else {
        sql << insert, soci::use(app_id), soci::use(resource_id), soci::use(cur.resource_name),
            soci::use(cur.provider_org), soci::use(base), soci::use(cur.applicant_org),
            soci::use(cur.app), soci::use(joined), soci::use(unmasked), soci::use(kind),
            soci::use(task), soci::use(exp), soci::use(empty), soci::use(empty), soci::use(at);
        cur.grant_id = sql_dialect::LastInsertId(sql, dialect);
      }
    } else {
      cur.state = ApplicationState::kRefused;
      cur.reason = d.reason;
    }
    const std::string state(ApplicationStateName(cur.state));
    const std::string body = ApplicationBody(cur);
    long long grant = cur.grant_id;
    sql << "UPDATE catalogue_applications SET state = :s, body = :b, grant_id = :g, "
           "decided_at = :t WHERE id = :i",
        soci::use(state), soci::use(body), soci::use(grant), soci::use(at), soci::use(key);
    AuditEntry e = Audit(who, now, d.approve ? "application.approve" : "application.refuse");
    e.resource_id = cur.resource_id;
    e.application_id = cur.id;
    e.grant_id = cur.grant_id;
    e.subject = cur.resource_code;
    e.fields = JoinFields(cur.approved_fields);
    e.detail = d.approve ? fmt::format("expires {}{}{}", expires, d.unmasked ? ", unmasked" : "",
                                       exchange ? ", exchange task " + std::to_string(task_id) +
                                                      (task_awaits_admin
                                                           ? " (配置工单待平台管理员审批)"
                                                           : "")
                                                : "")
                         : cur.reason;
    TB_RETURN_IF_ERROR(WriteAudit(sql, dialect, e));
    return cur;
  });
  if (!decided.ok() && task_id != 0 && exchange_.stop_task) {
    (void)exchange_.stop_task(task_id);  // the decision did not happen: no task runs for it
  }
  return decided;
}

Result<Application> SharingStore::Cancel(const Party& who, int64_t id) {
  const int64_t now = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Application> {
    long long key = id;
    auto list = SelectApplications(sql, "id = :p", key, sql_dialect::ForUpdate(dialect));
    if (list.empty() || list.front().applicant != who.actor.id) {
      return Error::NotFound("没有这份共享申请");
    }
    Application a = std::move(list.front());
    if (a.state != ApplicationState::kPending) return Error::Conflict("该申请已处理");
    a.state = ApplicationState::kCancelled;
    const std::string state(ApplicationStateName(a.state));
    long long at = now;
    sql << "UPDATE catalogue_applications SET state = :s, decided_at = :t WHERE id = :i",
        soci::use(state), soci::use(at), soci::use(key);
    AuditEntry e = Audit(who, now, "application.cancel");
    e.resource_id = a.resource_id;
    e.application_id = a.id;
    e.subject = a.resource_code;
    TB_RETURN_IF_ERROR(WriteAudit(sql, dialect, e));
    return a;
  });
}

Result<Grant> SharingStore::Revoke(const Party& who, int64_t grant_id, std::string_view reason) {
  if (reason.empty() || reason.size() > 2000 || !IsValidUtf8(reason)) {
    return Error::InvalidArgument("请填写撤销理由");
  }
  const int64_t now = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  auto revoked = store_.WithTransaction([&](soci::session& sql) -> Result<Grant> {
    GrantsQuery q;
    q.where = "id = :n0";
    q.numbers.push_back(grant_id);
    q.tail = std::string(sql_dialect::ForUpdate(dialect));
    auto rows = SelectGrants(sql, q);
    if (rows.empty()) return Error::NotFound("没有这项授权");
    auto& [g, provider_org] = rows.front();
    const bool may = who.admin || (who.provider && Contains(who.orgs, provider_org)) ||
                     Contains(who.orgs, g.grantee_org);
    if (!may) return Error::NotFound("没有这项授权");
    if (g.revoked_ms != 0) return Error::Conflict("该授权已撤销");
    g.revoked_ms = now;
    g.revoked_by = who.actor.id;
    g.revoke_reason = std::string(reason);
    long long at = now, key = grant_id;
    sql << "UPDATE catalogue_grants SET revoked_at = :t, revoked_by = :b, revoke_reason = :r "
           "WHERE id = :i",
        soci::use(at), soci::use(g.revoked_by), soci::use(g.revoke_reason), soci::use(key);
    AuditEntry e = Audit(who, now, "grant.revoke");
    e.resource_id = g.resource_id;
    e.application_id = g.application_id;
    e.grant_id = g.id;
    e.fields = JoinFields(g.fields);
    e.detail = g.revoke_reason;
    TB_RETURN_IF_ERROR(WriteAudit(sql, dialect, e));
    return g;
  });
  if (revoked.ok() && revoked->exchange_task_id != 0 && exchange_.stop_task) {
    // The grant is revoked already (queries stop); a failure to stop the task
    // is reported, and StopExpiredTasks retries it.
    TB_RETURN_IF_ERROR(exchange_.stop_task(revoked->exchange_task_id));
    TB_RETURN_IF_ERROR(MarkTaskStopped(revoked->id));
  }
  return revoked;
}

Result<Application> SharingStore::GetApplication(const Party& who, int64_t id) {
  auto a = store_.WithSession([&](soci::session& sql) -> Result<Application> {
    long long key = id;
    auto list = SelectApplications(sql, "id = :p", key);
    if (list.empty()) return Error::NotFound("没有这份共享申请");
    return list.front();
  });
  if (!a.ok()) return a;
  const bool may = who.admin || Contains(who.orgs, a->applicant_org) ||
                   (who.provider && Contains(who.orgs, a->provider_org));
  if (!may) return Error::NotFound("没有这份共享申请");
  return a;
}

Result<std::vector<Application>> SharingStore::MyApplications(const Party& who) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Application>> {
    std::vector<Application> out;
    for (const std::string& org : who.orgs) {
      auto list = SelectApplications(sql, "applicant_org = :p ORDER BY id DESC LIMIT 500", org);
      out.insert(out.end(), list.begin(), list.end());
    }
    return out;
  });
}

Result<std::vector<Application>> SharingStore::ProviderApplications(const Party& who,
                                                                    bool pending_only) {
  if (!who.provider) return Error::PermissionDenied("您不是资源提供方");
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Application>> {
    std::vector<Application> out;
    for (const std::string& org : who.orgs) {
      auto list = SelectApplications(
          sql,
          pending_only ? "provider_org = :p AND state = 'pending' ORDER BY id"
                       : "provider_org = :p ORDER BY id DESC LIMIT 500",
          org);
      out.insert(out.end(), list.begin(), list.end());
    }
    return out;
  });
}

Result<std::vector<Grant>> SharingStore::MyGrants(const Party& who) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Grant>> {
    GrantsQuery q;
    q.where = InTexts(q, "grantee_org", who.orgs);
    q.tail = " ORDER BY id DESC LIMIT 500";
    std::vector<Grant> out;
    for (auto& [g, provider] : SelectGrants(sql, q)) out.push_back(std::move(g));
    return out;
  });
}

Result<std::vector<Grant>> SharingStore::GivenGrants(const Party& who) {
  if (!who.provider && !who.admin) return Error::PermissionDenied("您不是资源提供方");
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Grant>> {
    GrantsQuery q;
    q.where = who.admin ? "1 = 1" : InTexts(q, "provider_org", who.orgs);
    q.tail = " ORDER BY id DESC LIMIT 500";
    std::vector<Grant> out;
    for (auto& [g, provider] : SelectGrants(sql, q)) out.push_back(std::move(g));
    return out;
  });
}

Result<Grant> SharingStore::GetGrant(int64_t id) {
  return store_.WithSession([&](soci::session& sql) -> Result<Grant> {
    GrantsQuery q;
    q.where = "id = :n0";
    q.numbers.push_back(id);
    auto rows = SelectGrants(sql, q);
    if (rows.empty()) return Error::NotFound("没有这项授权");
    return rows.front().first;
  });
}

namespace {

// The live-grant read of one grantee (a system's servicecode, or one staff
// org), kept prepared per pooled session (SqlStore::KeptFor): every base
// query runs it, and grants are never cached (a revocation must stop the next
// query on every node), so it is the one read the check costs.
struct KeptLiveGrant : SqlStore::Kept {
  GrantRow row;
  std::string base_kind, grantee;
  long long now = 0, grant_id = 0;
  soci::statement st;
  KeptLiveGrant(soci::session& sql, bool by_app, bool by_id) : st(sql) {
    row.Into(st);
    st.exchange(soci::use(base_kind, "s0"));
    st.exchange(soci::use(now, "n0"));
    st.exchange(soci::use(grantee, "s1"));
    if (by_id) st.exchange(soci::use(grant_id, "n1"));
    st.alloc();
    st.prepare(fmt::format(
        "SELECT {} FROM catalogue_grants WHERE base_kind = :s0 AND kind = 'api' AND "
        "revoked_at = 0 AND expires_at > :n0 AND {}{} ORDER BY id DESC LIMIT 1",
        kGrantColumns, by_app ? "grantee_app = :s1" : "grantee_org = :s1 AND grantee_app = ''",
        by_id ? " AND id = :n1" : ""));
    st.define_and_bind();
  }
  // The newest live grant, if any; reads to the end (nothing left open).
  std::optional<Grant> Run() {
    std::optional<Grant> out;
    if (st.execute(true)) {
      do {
        if (!out) out = row.Get();
      } while (st.fetch());
    }
    return out;
  }
};

}  // namespace

Result<Grant> SharingStore::LiveGrant(BaseKind kind, std::string_view app,
                                      const std::vector<std::string>& orgs, int64_t grant_id) {
  return store_.WithSession([&](soci::session& sql) -> Result<Grant> {
    return LiveGrant(sql, kind, app, orgs, grant_id);
  });
}

Result<Grant> SharingStore::LiveGrant(soci::session& sql, BaseKind kind, std::string_view app,
                                      const std::vector<std::string>& orgs, int64_t grant_id) {
  const int64_t now = clock_.NowMillis();
  constexpr std::string_view kNone = "没有有效的共享授权（未申请、已过期或已撤销）";
  if (!app.empty() || orgs.size() == 1) {
    const bool by_app = !app.empty(), by_id = grant_id != 0;
    static constexpr const char* kKeys[2][2] = {
        {"catalogue.live_grant.org", "catalogue.live_grant.org_id"},
        {"catalogue.live_grant.app", "catalogue.live_grant.app_id"}};
    auto& q = store_.KeptFor<KeptLiveGrant>(sql, kKeys[by_app][by_id], [&](soci::session& s) {
      return std::make_unique<KeptLiveGrant>(s, by_app, by_id);
    });
    q.base_kind = std::string(BaseKindName(kind));
    q.grantee = by_app ? std::string(app) : orgs.front();
    q.now = now;
    q.grant_id = grant_id;
    std::optional<Grant> g = q.Run();
    if (!g) return Error::PermissionDenied(std::string(kNone));
    return std::move(*g);
  }
  GrantsQuery q;
  q.texts.push_back(std::string(BaseKindName(kind)));
  q.numbers.push_back(now);
  q.where = "base_kind = :s0 AND kind = 'api' AND revoked_at = 0 AND expires_at > :n0 AND ";
  // Staff use the grants made for staff; a system's grant is its own.
  q.where += InTexts(q, "grantee_org", orgs) + " AND grantee_app = ''";
  if (grant_id != 0) {
    q.where += " AND id = :n1";
    q.numbers.push_back(grant_id);
  }
  q.tail = " ORDER BY id DESC LIMIT 1";
  auto rows = SelectGrants(sql, q);
  if (rows.empty()) return Error::PermissionDenied(std::string(kNone));
  return rows.front().first;
}

Status SharingStore::MarkTaskStopped(int64_t grant_id) {
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long key = grant_id;
    sql << "UPDATE catalogue_grants SET task_stopped = 1 WHERE id = :i", soci::use(key);
    return Status::Ok();
  });
}

Result<int> SharingStore::StopExpiredTasks() {
  if (!exchange_.stop_task) return 0;
  const int64_t now = clock_.NowMillis();
  auto rows = store_.WithSession([&](soci::session& sql) -> Result<std::vector<Grant>> {
    GrantsQuery q;
    q.where =
        "kind = 'exchange' AND exchange_task_id > 0 AND task_stopped = 0 AND "
        "(revoked_at > 0 OR expires_at <= :n0)";
    q.numbers.push_back(now);
    std::vector<Grant> out;
    for (auto& [g, provider] : SelectGrants(sql, q)) out.push_back(std::move(g));
    return out;
  });
  if (!rows.ok()) return std::move(rows).error();
  int stopped = 0;
  for (const Grant& g : *rows) {
    TB_RETURN_IF_ERROR(exchange_.stop_task(g.exchange_task_id));
    TB_RETURN_IF_ERROR(MarkTaskStopped(g.id));
    ++stopped;
  }
  return stopped;
}

}  // namespace tongban::catalogue
