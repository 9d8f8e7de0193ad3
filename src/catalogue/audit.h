// The catalogue's audit trail (catalogue_audit): every registration, review,
// application, decision, revocation and base-resource query, written in the
// same transaction as the change it records (a query's row in its own, before
// the answer leaves). Keys of people are kept masked, with a keyed hash so an
// auditor can still find every query of one ID number.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::catalogue {

struct AuditEntry {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string actor;       // userid or servicecode
  std::string actor_kind;  // "staff", "system" (signed), "client" (OIDC), "admin"
  std::string actor_org;
  std::string action;      // e.g. "resource.publish", "application.decide", "base.query"
  int64_t resource_id = 0;
  int64_t application_id = 0;
  int64_t grant_id = 0;
  std::string subject;      // what was asked for: masked key, or a resource code
  std::string subject_mac;  // HMAC of the unmasked key ("" when none)
  std::string fields;       // comma-separated
  std::string outcome;      // "ok", "not_found", "denied", "invalid"
  std::string detail;
};

struct AuditFilter {
  std::string action_prefix;  // "" = all
  std::string actor;
  std::string subject_mac;
  int64_t grant_id = 0;
  int64_t before_id = 0;  // paging: rows with a smaller id
  int limit = 50;
};

Status WriteAudit(soci::session& sql, SqlDialect dialect, const AuditEntry& entry);
Result<std::vector<AuditEntry>> ListAudit(SqlStore& store, const AuditFilter& filter);

}  // namespace tongban::catalogue
