#include "catalogue/audit.h"

#include <algorithm>

namespace tongban::catalogue {

Status WriteAudit(soci::session& sql, SqlDialect, const AuditEntry& e) {
  long long at = e.at_ms, resource = e.resource_id, application = e.application_id,
            grant = e.grant_id;
  sql << "INSERT INTO catalogue_audit (at, actor, actor_kind, actor_org, action, resource_id, "
         "application_id, grant_id, subject, subject_mac, fields, outcome, detail) VALUES "
         "(:at, :actor, :kind, :org, :action, :r, :a, :g, :s, :m, :f, :o, :d)",
      soci::use(at), soci::use(e.actor), soci::use(e.actor_kind), soci::use(e.actor_org),
      soci::use(e.action), soci::use(resource), soci::use(application), soci::use(grant),
      soci::use(e.subject), soci::use(e.subject_mac), soci::use(e.fields), soci::use(e.outcome),
      soci::use(e.detail);
  return Status::Ok();
}

Result<std::vector<AuditEntry>> ListAudit(SqlStore& store, const AuditFilter& f) {
  return store.WithSession([&](soci::session& sql) -> Result<std::vector<AuditEntry>> {
    std::string where = " WHERE 1 = 1";
    std::string prefix_hi = f.action_prefix + "~";
    long long grant = f.grant_id, before = f.before_id;
    int limit = std::clamp(f.limit, 1, 500);
    if (!f.action_prefix.empty()) where += " AND action >= :ap AND action < :aq";
    if (!f.actor.empty()) where += " AND actor = :actor";
    if (!f.subject_mac.empty()) where += " AND subject_mac = :mac";
    if (f.grant_id != 0) where += " AND grant_id = :g";
    if (f.before_id != 0) where += " AND id < :b";
    std::string query =
        "SELECT id, at, actor, actor_kind, actor_org, action, resource_id, application_id, "
        "grant_id, subject, subject_mac, fields, outcome, detail FROM catalogue_audit" +
        where + " ORDER BY id DESC LIMIT " + std::to_string(limit);
    soci::statement st(sql);
    if (!f.action_prefix.empty()) {
      st.exchange(soci::use(f.action_prefix, "ap"));
      st.exchange(soci::use(prefix_hi, "aq"));
    }
    if (!f.actor.empty()) st.exchange(soci::use(f.actor, "actor"));
    if (!f.subject_mac.empty()) st.exchange(soci::use(f.subject_mac, "mac"));
    if (f.grant_id != 0) st.exchange(soci::use(grant, "g"));
    if (f.before_id != 0) st.exchange(soci::use(before, "b"));
    AuditEntry e;
    long long id = 0, at = 0, r = 0, a = 0, g = 0;
    st.exchange(soci::into(id));
    st.exchange(soci::into(at));
    st.exchange(soci::into(e.actor));
    st.exchange(soci::into(e.actor_kind));
    st.exchange(soci::into(e.actor_org));
    st.exchange(soci::into(e.action));
    st.exchange(soci::into(r));
    st.exchange(soci::into(a));
    st.exchange(soci::into(g));
    st.exchange(soci::into(e.subject));
    st.exchange(soci::into(e.subject_mac));
    st.exchange(soci::into(e.fields));
    st.exchange(soci::into(e.outcome));
    st.exchange(soci::into(e.detail));
    st.alloc();
    st.prepare(query);
    st.define_and_bind();
    std::vector<AuditEntry> out;
    if (st.execute(true)) {
      do {
        e.id = id;
        e.at_ms = at;
        e.resource_id = r;
        e.application_id = a;
        e.grant_id = g;
        out.push_back(e);
      } while (st.fetch());
    }
    return out;
  });
}

}  // namespace tongban::catalogue
