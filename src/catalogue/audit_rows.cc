#include "catalogue/audit_rows.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/utf8.h"

namespace tongban::catalogue {

const std::vector<std::string>& AuditColumns() {
  static const std::vector<std::string> columns = {
      "at",      "actor",    "actor_kind", "actor_org",   "action", "resource_id", "application_id",
      "grant_id", "subject", "subject_mac", "fields",     "outcome", "detail"};
  return columns;
}

namespace {

// The audit keeps the caller's own text (the requested field names, say), so
// it is made storable first: BulkInsert takes no NUL (PostgreSQL's COPY text
// format cannot carry one), PostgreSQL refuses invalid UTF-8, and no caller
// may make a row arbitrarily large. A row the database still refused would
// fail its own query only (CommitEach), never the others of its batch.
constexpr size_t kMaxAuditText = 2000;

std::string StorableText(const std::string& s) {
  std::string out = s;
  std::erase(out, '\0');
  if (!IsValidUtf8(out)) {
    for (char& c : out) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  if (out.size() > kMaxAuditText) {
    size_t cut = kMaxAuditText;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "…";
  }
  return out;
}

}  // namespace

std::vector<std::string> AuditValues(const AuditEntry& e) {
  return {std::to_string(e.at_ms),
          StorableText(e.actor),
          StorableText(e.actor_kind),
          StorableText(e.actor_org),
          StorableText(e.action),
          std::to_string(e.resource_id),
          std::to_string(e.application_id),
          std::to_string(e.grant_id),
          StorableText(e.subject),
          StorableText(e.subject_mac),
          StorableText(e.fields),
          StorableText(e.outcome),
          StorableText(e.detail)};
}

namespace {

// The single-row INSERT of an audit row, kept prepared per pooled session.
struct KeptAuditInsert : SqlStore::Kept {
  std::vector<std::string> values;
  soci::statement st;
  explicit KeptAuditInsert(soci::session& sql) : values(AuditColumns().size()), st(sql) {
    std::string names, params;
    for (size_t i = 0; i < values.size(); ++i) {
      names += fmt::format("{}{}", i == 0 ? "" : ", ", AuditColumns()[i]);
      params += fmt::format("{}:v{}", i == 0 ? "" : ", ", i);
      st.exchange(soci::use(values[i], fmt::format("v{}", i)));
    }
    st.alloc();
    st.prepare("INSERT INTO catalogue_audit (" + names + ") VALUES (" + params + ")");
    st.define_and_bind();
  }
};

}  // namespace

void InsertAuditRows(SqlStore& store, soci::session& sql,
                     std::vector<std::vector<std::string>>& rows) {
  if (store.backend() == SqlStore::Backend::kPostgres) {
    // One COPY for the batch.
    store.BulkInsert(sql, "catalogue_audit", AuditColumns(), rows);
    return;
  }
  // Row by row through one kept statement (SQLite steps it natively).
  // Not BulkInsert here: its kept vector INSERT re-executed on MySQL/MariaDB
  // inserted the values of its first execution again (seen in
  // catalogue_sharing_test on MariaDB).
  auto& insert = store.KeptFor<KeptAuditInsert>(sql, "catalogue.audit_insert", [](auto& s) {
    return std::make_unique<KeptAuditInsert>(s);
  });
  for (std::vector<std::string>& row : rows) {
    // Element by element: the statement is bound to these strings' addresses.
    for (size_t i = 0; i < row.size(); ++i) insert.values[i].swap(row[i]);
    insert.st.execute(true);
  }
}

}  // namespace tongban::catalogue
