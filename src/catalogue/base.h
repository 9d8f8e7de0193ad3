// BaseResources: the 基础信息资源 query services — 人口 (person by resident ID
// number), 法人 (legal person by 统一社会信用代码) and 空间 (place by division
// code) — over tables that exchange tasks load (migration module
// "catalogue_base": catalogue_base_persons, catalogue_base_legal_persons,
// catalogue_base_places; their columns are the field codes of the base
// resources' information items). A lookup runs under a live grant read at
// that moment (SharingStore::LiveGrant), answers only the granted fields,
// masks ID numbers and mobiles unless the grant says otherwise, and writes an
// audit row (who, what — masked key plus a keyed hash —, when, which grant)
// whatever the outcome.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "catalogue/audit.h"
#include "catalogue/model.h"
#include "catalogue/resources.h"
#include "catalogue/sharing.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::catalogue {

// Result codes of the query interface (docs/api/catalogue.md), carried as
// Error codes (≥ 1000, apart from tongban's errc values).
namespace result_code {
inline constexpr int kOk = 0;
inline constexpr int kBadRequest = 1001;   // malformed request
inline constexpr int kBadKey = 1002;       // the key fails its check digits / shape
inline constexpr int kNotLoggedIn = 2001;  // no session / token / signature
inline constexpr int kAuthFailed = 2002;   // signature or token refused
inline constexpr int kNoGrant = 3001;      // no live grant (never, expired, revoked)
inline constexpr int kFieldsNotGranted = 3002;
inline constexpr int kNotFound = 4004;     // no record for the key
inline constexpr int kUnavailable = 9999;
}  // namespace result_code

struct BaseField {
  std::string code;
  std::string name;
  std::string type;
  enum class Mask { kNone, kIdNumber, kMobile } mask = Mask::kNone;
};

// The fields of each base resource, key first (the items a base resource in
// the catalogue should list; the demo seeds them so).
const std::vector<BaseField>& BaseFields(BaseKind kind);
std::string_view BaseKindTitle(BaseKind kind);  // 人口 / 法人 / 空间

struct BaseQuery {
  BaseKind kind = BaseKind::kNone;
  std::string key;
  std::vector<std::string> fields;  // empty = every granted field
  int64_t grant_id = 0;             // 0 = the newest live grant
  std::string app;                  // a system's servicecode; "" = staff by orgs
  std::vector<std::string> orgs;
  Actor actor;
};

struct BaseAnswer {
  Grant grant;
  std::vector<std::pair<std::string, std::string>> record;  // field code -> value, item order
};

class BaseResources {
 public:
  static std::vector<Migration> Migrations();
  // `audit_key`: HMAC key of the audit rows' subject_mac (from the node secret).
  BaseResources(SqlStore& store, Clock& clock, SharingStore& sharing, std::string audit_key);

  // Errors carry result_code values: kBadKey, kNoGrant, kFieldsNotGranted
  // (naming only granted fields), kNotFound; kUnavailable for the database.
  Result<BaseAnswer> Lookup(const BaseQuery& q);
  // Lookup without holding the calling thread while the audit row commits:
  // `done` gets the same result, called only after the row's transaction
  // committed (AuditCommitter::AppendThen), on the audit writer thread — or
  // on this one, before LookupThen returns, when no row was needed (a
  // malformed key, a database failure). The HTTP route answers from it (a
  // suspended response), so its pool thread moves on to the next query.
  void LookupThen(const BaseQuery& q, std::function<void(Result<BaseAnswer>)> done);
  // True when LookupThen never waits on the database on the calling thread
  // (SQLite: the reads run on the audit writer), so an I/O thread may call it.
  bool LookupNeverWaits() const { return reads_on_writer_; }

  // Upserts rows (field code -> value, the key field required): the demo
  // seed, tests and the bench; exchange tasks write the tables directly.
  Status Put(BaseKind kind, const std::vector<std::vector<std::string>>& rows);
  // The keyed hash stored with a query's audit row, for finding them by key.
  std::string SubjectMac(std::string_view key) const;
  // Audit rows committed and the transactions they took (bench, tests).
  AuditCommitter::Counts audit_counts() { return audit_.counts(); }
  // Commits and answers the queued audit rows now, then refuses more (at
  // shutdown, while the server their answers resume still exists).
  void StopAudit() { audit_.Stop(); }
  // SQLite: query rows go to an append-only journal file first and into
  // catalogue_audit behind it (audit_journal.h). Call before the first query.
  // kConflict when another process holds the file (an admin command beside
  // a running server): the rows then go straight to the table as before.
  Status UseAuditJournal(AuditJournal::Options options);
  // Every query answered so far in catalogue_audit (before the audit page reads it).
  Status FlushAudit() { return audit_.Flush(); }
  AuditJournal* audit_journal() { return audit_.journal(); }

 private:
  // A lookup up to its audit row: the answer to give, and the row that must
  // be committed first (none for a malformed key or a database failure).
  struct Prepared {
    AuditEntry audit;
    bool audit_needed = false;
    Result<BaseAnswer> answer = Error::Internal("no answer");
  };
  // What needs no database: the kind and the key's check digits (false: `p`
  // holds the refusal, no row needed), and the row's who/what/when.
  bool Precheck(const BaseQuery& q, Prepared& p);
  // The live grant, the fields check and the record, on `sql`: fills the
  // answer and the row. Throws soci errors.
  void Resolve(soci::session& sql, const BaseQuery& q, Prepared& p);
  // Precheck, then Resolve on a pooled session (PostgreSQL, MySQL).
  Prepared Prepare(const BaseQuery& q);

  SqlStore& store_;
  Clock& clock_;
  SharingStore& sharing_;
  std::string audit_key_;
  // SQLite: a query's reads run on the audit writer (LookupThen).
  bool reads_on_writer_;
  AuditCommitter audit_;  // every outcome's row, committed before Lookup returns
};

}  // namespace tongban::catalogue
