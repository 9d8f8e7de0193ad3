// One row of catalogue_audit as the catalogue writes it: the entry, its
// columns and storable values, and their insertion in bulk. Shared by the
// audit's group commit (audit.h) and its journal's loader (audit_journal.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

// The catalogue_audit columns a row gives (all but id), and a row's values
// for them as text, made storable (no NUL, valid UTF-8, bounded).
const std::vector<std::string>& AuditColumns();
std::vector<std::string> AuditValues(const AuditEntry& entry);
// Inserts rows of AuditValues into catalogue_audit inside the caller's
// transaction (PostgreSQL: one COPY; others: a kept single-row INSERT). The
// rows' strings are consumed. Throws soci errors.
void InsertAuditRows(SqlStore& store, soci::session& sql, std::vector<std::vector<std::string>>& rows);

}  // namespace tongban::catalogue
