// The approval_cases row and step records in SQL, and the JSON columns
// (applicant, materials, attachments) of the case engine.
#include <cstdint>
#include <string>
#include <utility>

#include "approval/engine_internal.h"
#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"

namespace tongban::approval::engine_internal {

const char* const kCaseColumns =
    "id, number, implement_code, matter_version, matter_name, orgcoding, division, "
    "applicant_type, applicant_name, applicant_id, applicant_json, materials_json, channel, "
    "state, current_step, pending_role, pending_org, pending_user, corrections, registered_at, "
    "registered_by, accepted_at, completed_at, deadline_at, step_started_at, step_deadline_at, "
    "stopped_since, stopped_days, step_stopped_days, result, result_reason, lookup_hash, "
    "reported, revision";

void BindCaseRow(soci::details::prepare_temp_type& p, CaseRow& r) {
  p, soci::into(r.id), soci::into(r.number), soci::into(r.implement_code),
      soci::into(r.matter_version), soci::into(r.matter_name), soci::into(r.orgcoding),
      soci::into(r.division), soci::into(r.applicant_type), soci::into(r.applicant_name),
      soci::into(r.applicant_id), soci::into(r.applicant_json), soci::into(r.materials_json),
      soci::into(r.channel), soci::into(r.state), soci::into(r.current_step),
      soci::into(r.pending_role), soci::into(r.pending_org), soci::into(r.pending_user),
      soci::into(r.corrections), soci::into(r.registered_at), soci::into(r.registered_by),
      soci::into(r.accepted_at), soci::into(r.completed_at), soci::into(r.deadline_at),
      soci::into(r.step_started_at), soci::into(r.step_deadline_at), soci::into(r.stopped_since),
      soci::into(r.stopped_days), soci::into(r.step_stopped_days), soci::into(r.result),
      soci::into(r.result_reason), soci::into(r.lookup_hash), soci::into(r.reported),
      soci::into(r.revision);
}

std::vector<CaseRow> FetchCases(soci::details::prepare_temp_type p) {
  CaseRow r;
  BindCaseRow(p, r);
  soci::statement st(p);
  st.execute();
  std::vector<CaseRow> out;
  while (st.fetch()) out.push_back(r);
  return out;
}

std::optional<CaseRow> LoadCase(soci::session& sql, SqlDialect dialect, std::string_view number,
                                bool for_update) {
  std::string n(number);
  std::string query = "SELECT ";
  query.append(kCaseColumns).append(" FROM approval_cases WHERE number = :n");
  if (for_update) query.append(" ").append(sql_dialect::ForUpdate(dialect));
  std::vector<CaseRow> rows = FetchCases((sql.prepare << query, soci::use(n)));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

long long InsertCase(soci::session& sql, SqlDialect dialect, const CaseRow& r) {
  const bool returning = sql_dialect::HasReturning(dialect);
  std::string insert =
      "INSERT INTO approval_cases (number, implement_code, matter_version, matter_name, "
      "orgcoding, division, applicant_type, applicant_name, applicant_id, applicant_json, "
      "materials_json, channel, state, current_step, pending_role, pending_org, pending_user, "
      "corrections, registered_at, registered_by, accepted_at, completed_at, deadline_at, "
      "step_started_at, step_deadline_at, stopped_since, stopped_days, step_stopped_days, result, "
      "result_reason, lookup_hash, reported) VALUES (:n, :ic, :mv, :mn, :o, :dv, :at, :an, :ai, "
      ":aj, :mj, :ch, :st, :cs, :pr, :po, :pu, :co, :ra, :rb, :ac, :cp, :dl, :ss, :sd, :sn, :sdd, "
      ":ssd, :res, :rr, :lh, :rep)";
  if (returning) insert += " RETURNING id";
  long long id = 0;
  soci::details::prepare_temp_type p = (sql.prepare << insert);
  p, soci::use(r.number), soci::use(r.implement_code), soci::use(r.matter_version),
      soci::use(r.matter_name), soci::use(r.orgcoding), soci::use(r.division),
      soci::use(r.applicant_type), soci::use(r.applicant_name), soci::use(r.applicant_id),
      soci::use(r.applicant_json), soci::use(r.materials_json), soci::use(r.channel),
      soci::use(r.state), soci::use(r.current_step), soci::use(r.pending_role),
      soci::use(r.pending_org), soci::use(r.pending_user), soci::use(r.corrections),
      soci::use(r.registered_at), soci::use(r.registered_by), soci::use(r.accepted_at),
      soci::use(r.completed_at), soci::use(r.deadline_at), soci::use(r.step_started_at),
      soci::use(r.step_deadline_at), soci::use(r.stopped_since), soci::use(r.stopped_days),
      soci::use(r.step_stopped_days), soci::use(r.result), soci::use(r.result_reason),
      soci::use(r.lookup_hash), soci::use(r.reported);
  if (returning) p, soci::into(id);
  soci::statement st(p);
  st.execute(true);
  if (!returning) id = sql_dialect::LastInsertId(sql, dialect);
  return id;
}

bool UpdateCase(soci::session& sql, const CaseRow& r) {
  soci::statement st =
      (sql.prepare << "UPDATE approval_cases SET state = :state, current_step = :step, "
                      "pending_role = :prole, pending_org = :porg, pending_user = :puser, "
                      "corrections = :corr, materials_json = :mat, accepted_at = :acc, "
                      "completed_at = :comp, deadline_at = :dl, step_started_at = :sst, "
                      "step_deadline_at = :sdl, stopped_since = :ss, stopped_days = :sd, "
                      "step_stopped_days = :ssd, result = :res, result_reason = :rr, "
                      "revision = revision + 1 WHERE id = :id AND revision = :rev",
       soci::use(r.state), soci::use(r.current_step), soci::use(r.pending_role),
       soci::use(r.pending_org), soci::use(r.pending_user), soci::use(r.corrections),
       soci::use(r.materials_json), soci::use(r.accepted_at), soci::use(r.completed_at),
       soci::use(r.deadline_at), soci::use(r.step_started_at), soci::use(r.step_deadline_at),
       soci::use(r.stopped_since), soci::use(r.stopped_days), soci::use(r.step_stopped_days),
       soci::use(r.result), soci::use(r.result_reason), soci::use(r.id), soci::use(r.revision));
  st.execute(true);
  return st.get_affected_rows() == 1;
}

Case CaseRow::ToCase() const {
  Case c;
  c.id = id;
  c.number = number;
  c.implement_code = implement_code;
  c.matter_version = matter_version;
  c.matter_name = matter_name;
  c.orgcoding = orgcoding;
  c.division = division;
  c.applicant = ParseApplicant(applicant_json);
  c.materials = ParseMaterials(materials_json);
  c.channel = channel;
  c.registered_by = registered_by;
  c.state = ParseCaseState(state).value_or(CaseState::kRegistered);
  c.current_step = current_step;
  c.pending_role = pending_role;
  c.pending_org = pending_org;
  c.pending_user = pending_user;
  c.corrections = corrections;
  c.registered_at_ms = registered_at;
  c.accepted_at_ms = accepted_at;
  c.completed_at_ms = completed_at;
  c.deadline_ms = deadline_at;
  c.step_started_at_ms = step_started_at;
  c.step_deadline_ms = step_deadline_at;
  c.stopped_since_ms = stopped_since;
  c.stopped_working_days = stopped_days;
  if (result >= 0) c.result = static_cast<CompletionResult>(result);
  c.result_reason = result_reason;
  c.reported = reported != 0;
  c.revision = revision;
  return c;
}

void CaseRow::Assign(const Case& c) {
  materials_json = MaterialsJson(c.materials);
  state = std::string(CaseStateName(c.state));
  current_step = c.current_step;
  pending_role = c.pending_role;
  pending_org = c.pending_org;
  pending_user = c.pending_user;
  corrections = c.corrections;
  accepted_at = c.accepted_at_ms;
  completed_at = c.completed_at_ms;
  deadline_at = c.deadline_ms;
  step_started_at = c.step_started_at_ms;
  step_deadline_at = c.step_deadline_ms;
  stopped_since = c.stopped_since_ms;
  stopped_days = c.stopped_working_days;
  result = c.result.has_value() ? static_cast<int>(*c.result) : -1;
  result_reason = c.result_reason;
}

// ---- Prepared statements (SQLite) ----

namespace {

constexpr const char* kUpdateSql =
    "UPDATE approval_cases SET state = :state, current_step = :step, "
    "pending_role = :prole, pending_org = :porg, pending_user = :puser, "
    "corrections = :corr, materials_json = :mat, accepted_at = :acc, "
    "completed_at = :comp, deadline_at = :dl, step_started_at = :sst, "
    "step_deadline_at = :sdl, stopped_since = :ss, stopped_days = :sd, "
    "step_stopped_days = :ssd, result = :res, result_reason = :rr, "
    "revision = revision + 1 WHERE id = :id AND revision = :rev";

constexpr const char* kInsertCaseSql =
    "INSERT INTO approval_cases (number, implement_code, matter_version, matter_name, "
    "orgcoding, division, applicant_type, applicant_name, applicant_id, applicant_json, "
    "materials_json, channel, state, current_step, pending_role, pending_org, pending_user, "
    "corrections, registered_at, registered_by, accepted_at, completed_at, deadline_at, "
    "step_started_at, step_deadline_at, stopped_since, stopped_days, step_stopped_days, result, "
    "result_reason, lookup_hash, reported) VALUES (:n, :ic, :mv, :mn, :o, :dv, :at, :an, :ai, "
    ":aj, :mj, :ch, :st, :cs, :pr, :po, :pu, :co, :ra, :rb, :ac, :cp, :dl, :ss, :sd, :sn, :sdd, "
    ":ssd, :res, :rr, :lh, :rep)";

constexpr const char* kInsertStepSql =
    "INSERT INTO approval_steps (case_id, action, step_code, step_name, userid, username, "
    "orgcoding, opinion, detail, attachments, from_state, to_state, at) VALUES (:c, :a, "
    ":sc, :sn, :u, :un, :o, :op, :d, :at, :f, :t, :when)";

void BindUpdate(soci::details::prepare_temp_type& p, const CaseRow& r) {
  p, soci::use(r.state), soci::use(r.current_step), soci::use(r.pending_role),
      soci::use(r.pending_org), soci::use(r.pending_user), soci::use(r.corrections),
      soci::use(r.materials_json), soci::use(r.accepted_at), soci::use(r.completed_at),
      soci::use(r.deadline_at), soci::use(r.step_started_at), soci::use(r.step_deadline_at),
      soci::use(r.stopped_since), soci::use(r.stopped_days), soci::use(r.step_stopped_days),
      soci::use(r.result), soci::use(r.result_reason), soci::use(r.id), soci::use(r.revision);
}

void BindInsert(soci::details::prepare_temp_type& p, const CaseRow& r) {
  p, soci::use(r.number), soci::use(r.implement_code), soci::use(r.matter_version),
      soci::use(r.matter_name), soci::use(r.orgcoding), soci::use(r.division),
      soci::use(r.applicant_type), soci::use(r.applicant_name), soci::use(r.applicant_id),
      soci::use(r.applicant_json), soci::use(r.materials_json), soci::use(r.channel),
      soci::use(r.state), soci::use(r.current_step), soci::use(r.pending_role),
      soci::use(r.pending_org), soci::use(r.pending_user), soci::use(r.corrections),
      soci::use(r.registered_at), soci::use(r.registered_by), soci::use(r.accepted_at),
      soci::use(r.completed_at), soci::use(r.deadline_at), soci::use(r.step_started_at),
      soci::use(r.step_deadline_at), soci::use(r.stopped_since), soci::use(r.stopped_days),
      soci::use(r.step_stopped_days), soci::use(r.result), soci::use(r.result_reason),
      soci::use(r.lookup_hash), soci::use(r.reported);
}

// A step record in the types SOCI binds.
struct StepRow {
  long long case_id = 0, at = 0;
  std::string action, step_code, step_name, userid, username, orgcoding, opinion, detail,
      attachments, from_state, to_state;

  void Assign(const StepRecord& r) {
    case_id = r.case_id;
    at = r.at_ms;
    action = std::string(ActionName(r.action));
    step_code = r.step_code;
    step_name = r.step_name;
    userid = r.userid;
    username = r.username;
    orgcoding = r.orgcoding;
    opinion = r.opinion;
    detail = r.detail;
    attachments = StringsJson(r.attachments);
    from_state = r.from_state;
    to_state = r.to_state;
  }
};

void BindStep(soci::details::prepare_temp_type& p, const StepRow& s) {
  p, soci::use(s.case_id), soci::use(s.action), soci::use(s.step_code), soci::use(s.step_name),
      soci::use(s.userid), soci::use(s.username), soci::use(s.orgcoding), soci::use(s.opinion),
      soci::use(s.detail), soci::use(s.attachments), soci::use(s.from_state),
      soci::use(s.to_state), soci::use(s.at);
}

// The mutable columns of a transition's UPDATE, in kUpdateSql's order: the
// name, whether `a` and `b` differ in it, and its binding to `r`.
struct MutableColumn {
  const char* name;
  bool (*differs)(const CaseRow& a, const CaseRow& b);
  void (*bind)(soci::details::prepare_temp_type& p, const CaseRow& r);
};

#define TB_CASE_COLUMN(column, member)                                                  \
  MutableColumn {                                                                       \
    column, [](const CaseRow& a, const CaseRow& b) { return a.member != b.member; },    \
        [](soci::details::prepare_temp_type& p, const CaseRow& r) { p, soci::use(r.member); } \
  }
const MutableColumn kMutableColumns[] = {
    TB_CASE_COLUMN("state", state),
    TB_CASE_COLUMN("current_step", current_step),
    TB_CASE_COLUMN("pending_role", pending_role),
    TB_CASE_COLUMN("pending_org", pending_org),
    TB_CASE_COLUMN("pending_user", pending_user),
    TB_CASE_COLUMN("corrections", corrections),
    TB_CASE_COLUMN("materials_json", materials_json),
    TB_CASE_COLUMN("accepted_at", accepted_at),
    TB_CASE_COLUMN("completed_at", completed_at),
    TB_CASE_COLUMN("deadline_at", deadline_at),
    TB_CASE_COLUMN("step_started_at", step_started_at),
    TB_CASE_COLUMN("step_deadline_at", step_deadline_at),
    TB_CASE_COLUMN("stopped_since", stopped_since),
    TB_CASE_COLUMN("stopped_days", stopped_days),
    TB_CASE_COLUMN("step_stopped_days", step_stopped_days),
    TB_CASE_COLUMN("result", result),
    TB_CASE_COLUMN("result_reason", result_reason),
};
#undef TB_CASE_COLUMN
constexpr size_t kMutableCount = sizeof(kMutableColumns) / sizeof(kMutableColumns[0]);
static_assert(kMutableCount < 32, "a column set is a uint32_t");

// Which mutable columns differ between `before` and `after`, one bit each.
uint32_t ChangedColumns(const CaseRow& before, const CaseRow& after) {
  uint32_t mask = 0;
  for (size_t i = 0; i < kMutableCount; ++i) {
    if (kMutableColumns[i].differs(before, after)) mask |= 1u << i;
  }
  return mask;
}

// The UPDATE of the columns in `mask` (and the revision), guarded by the revision.
std::string NarrowUpdateSql(uint32_t mask) {
  std::string query = "UPDATE approval_cases SET ";
  for (size_t i = 0; i < kMutableCount; ++i) {
    if ((mask & (1u << i)) == 0) continue;
    query.append(kMutableColumns[i].name).append(" = :c").append(std::to_string(i)).append(", ");
  }
  query.append("revision = revision + 1 WHERE id = :id AND revision = :rev");
  return query;
}

void BindNarrowUpdate(soci::details::prepare_temp_type& p, uint32_t mask, const CaseRow& r) {
  for (size_t i = 0; i < kMutableCount; ++i) {
    if ((mask & (1u << i)) != 0) kMutableColumns[i].bind(p, r);
  }
  p, soci::use(r.id), soci::use(r.revision);
}

bool ExecuteAffectingOne(soci::statement& st) {
  st.execute(true);
  return st.get_affected_rows() == 1;
}

// A few dozen column sets occur (one per kind of transition); past this many a
// session's odd ones run the full UPDATE rather than growing the cache.
constexpr size_t kMaxNarrowStatements = 64;

constexpr const char* kNextSerialSql =
    "INSERT INTO approval_serials (implement_code, day, last_serial) VALUES (:c, :d, 1) "
    "ON CONFLICT (implement_code, day) DO UPDATE SET last_serial = last_serial + 1 "
    "RETURNING last_serial";

}  // namespace

// Members are bound by reference into the statements, so they are declared
// before them and the object never moves (held by unique_ptr).
struct CaseStatements::Prepared {
  explicit Prepared(soci::session& sql)
      : backend(sql.get_backend()),
        load(MakeLoad(sql)),
        update(Make(sql, kUpdateSql, [&](auto& p) { BindUpdate(p, write); })),
        insert(Make(sql, std::string(kInsertCaseSql) + " RETURNING id",
                    [&](auto& p) {
                      BindInsert(p, write);
                      p, soci::into(inserted_id);
                    })),
        insert_step(Make(sql, kInsertStepSql, [&](auto& p) { BindStep(p, step); })),
        next_serial(Make(sql, kNextSerialSql, [&](auto& p) {
          p, soci::use(serial_code), soci::use(serial_day), soci::into(serial);
        })) {}

  // The narrow UPDATE of `mask`, prepared on first use; null when the cache is full.
  soci::statement* Narrow(soci::session& sql, uint32_t mask) {
    auto found = narrow.find(mask);
    if (found != narrow.end()) return found->second.get();
    if (narrow.size() >= kMaxNarrowStatements) return nullptr;
    soci::details::prepare_temp_type p = (sql.prepare << NarrowUpdateSql(mask));
    BindNarrowUpdate(p, mask, write);
    return narrow.emplace(mask, std::make_unique<soci::statement>(p)).first->second.get();
  }

  template <typename Bind>
  static soci::statement Make(soci::session& sql, const std::string& query, Bind bind) {
    soci::details::prepare_temp_type p = (sql.prepare << query);
    bind(p);
    return soci::statement(p);
  }
  soci::statement MakeLoad(soci::session& sql) {
    std::string query = "SELECT ";
    query.append(kCaseColumns).append(" FROM approval_cases WHERE number = :n");
    soci::details::prepare_temp_type p = (sql.prepare << query, soci::use(number));
    BindCaseRow(p, read);
    return soci::statement(p);
  }

  soci::details::session_backend* backend;
  std::string number;
  CaseRow read;
  CaseRow write;
  long long inserted_id = 0;
  StepRow step;
  std::string serial_code, serial_day;
  int serial = 0;
  soci::statement load;
  soci::statement update;
  soci::statement insert;
  soci::statement insert_step;
  soci::statement next_serial;
  std::map<uint32_t, std::unique_ptr<soci::statement>> narrow;
};

CaseStatements::CaseStatements(SqlDialect dialect) : dialect_(dialect) {}

CaseStatements::~CaseStatements() {
  // Orphans belong to connections SqlStore replaced: finalizing them could touch
  // a closed handle, so they are let go of (a few kilobytes per reconnect).
  for (auto& orphan : orphans_) (void)orphan.release();
}

CaseStatements::Prepared* CaseStatements::For(soci::session& sql) {
  if (dialect_ != SqlDialect::kSqlite || sql.get_backend() == nullptr) return nullptr;
  std::lock_guard lock(mu_);
  std::unique_ptr<Prepared>& slot = sessions_[&sql];
  if (slot != nullptr && slot->backend != sql.get_backend()) orphans_.push_back(std::move(slot));
  if (slot == nullptr) slot = std::make_unique<Prepared>(sql);
  return slot.get();
}

void CaseStatements::Drop(soci::session& sql) {
  std::lock_guard lock(mu_);
  sessions_.erase(&sql);
}

template <typename F>
auto CaseStatements::Run(soci::session& sql, F&& f) -> decltype(f(std::declval<Prepared&>())) {
  Prepared* prepared = For(sql);
  try {
    return f(*prepared);
  } catch (...) {
    Drop(sql);  // prepared afresh next time, from a known state
    throw;
  }
}

std::optional<CaseRow> CaseStatements::Load(soci::session& sql, std::string_view number,
                                            bool for_update) {
  if (dialect_ != SqlDialect::kSqlite) return LoadCase(sql, dialect_, number, for_update);
  return Run(sql, [&](Prepared& p) -> std::optional<CaseRow> {
    p.number.assign(number);
    if (!p.load.execute(true)) return std::nullopt;
    CaseRow row = p.read;
    // Stepping to the end resets the statement, so no read stays open past COMMIT.
    while (p.load.fetch()) {
    }
    return row;
  });
}

bool CaseStatements::Update(soci::session& sql, const CaseRow& row) {
  if (dialect_ != SqlDialect::kSqlite) return UpdateCase(sql, row);
  return Run(sql, [&](Prepared& p) {
    p.write = row;
    p.update.execute(true);
    return p.update.get_affected_rows() == 1;
  });
}

bool CaseStatements::Update(soci::session& sql, const CaseRow& before, const CaseRow& after) {
  if (dialect_ != SqlDialect::kSqlite || after.id != before.id ||
      after.revision != before.revision) {
    return Update(sql, after);
  }
  return Run(sql, [&](Prepared& p) {
    soci::statement* narrow = p.Narrow(sql, ChangedColumns(before, after));
    p.write = after;
    return ExecuteAffectingOne(narrow != nullptr ? *narrow : p.update);
  });
}

int CaseStatements::NextSerial(soci::session& sql, const std::string& implement_code,
                               const std::string& day) {
  if (dialect_ != SqlDialect::kSqlite) {
    int last = 0;
    std::string code = implement_code, d = day;
    sql << "SELECT last_serial FROM approval_serials WHERE implement_code = :c AND day = :d " +
               std::string(sql_dialect::ForUpdate(dialect_)),
        soci::use(code), soci::use(d), soci::into(last);
    if (!sql.got_data()) {
      sql << "INSERT INTO approval_serials (implement_code, day, last_serial) VALUES (:c, :d, 1)",
          soci::use(code), soci::use(d);
      return 1;
    }
    int next = last + 1;
    sql << "UPDATE approval_serials SET last_serial = :s WHERE implement_code = :c AND day = :d",
        soci::use(next), soci::use(code), soci::use(d);
    return next;
  }
  return Run(sql, [&](Prepared& p) {
    p.serial_code = implement_code;
    p.serial_day = day;
    p.serial = 0;
    p.next_serial.execute(true);
    int serial = p.serial;
    // Stepping to the end resets the statement, so nothing stays open past COMMIT.
    while (p.next_serial.fetch()) {
    }
    return serial;
  });
}

long long CaseStatements::Insert(soci::session& sql, const CaseRow& row) {
  if (dialect_ != SqlDialect::kSqlite) return InsertCase(sql, dialect_, row);
  return Run(sql, [&](Prepared& p) {
    p.write = row;
    p.insert.execute(true);
    long long id = p.inserted_id;
    while (p.insert.fetch()) {
    }
    return id;
  });
}

void CaseStatements::InsertStep(soci::session& sql, const StepRecord& record) {
  if (dialect_ != SqlDialect::kSqlite) return InsertStepRecord(sql, record);
  Run(sql, [&](Prepared& p) {
    p.step.Assign(record);
    p.insert_step.execute(true);
  });
}

// ---- JSON columns ----

namespace {

std::string Text(const codec::Value& object, std::string_view key) {
  const std::string* s = object.FindString(key);
  return s != nullptr ? *s : std::string();
}

int64_t Number(const codec::Value& object, std::string_view key) {
  const codec::Value* v = object.Find(key);
  return v != nullptr && v->IsInteger() ? v->AsInteger() : 0;
}

std::string_view FormName(MaterialForm form) {
  switch (form) {
    case MaterialForm::kPaper: return "paper";
    case MaterialForm::kElectronic: return "electronic";
    case MaterialForm::kEither: return "either";
  }
  return "paper";
}

MaterialForm ParseForm(std::string_view name) {
  if (name == "electronic") return MaterialForm::kElectronic;
  if (name == "either") return MaterialForm::kEither;
  return MaterialForm::kPaper;
}

codec::Value ParseOrNull(std::string_view json) {
  if (json.empty()) return codec::Value();
  auto v = codec::ParseJson(json);
  // The engine wrote these columns itself; unreadable JSON means a damaged row,
  // and an empty value shows that without failing every list it appears in.
  return v.ok() ? std::move(v).value() : codec::Value();
}

}  // namespace

std::string ApplicantJson(const Applicant& a) {
  codec::Value v = codec::Value::Object(10);
  v.AppendNew("type", a.type == ApplicantType::kLegalPerson ? "legal_person" : "person");
  v.AppendNew("name", a.name);
  v.AppendNew("id_type", a.id_type);
  v.AppendNew("id_number", a.id_number);
  v.AppendNew("mobile", a.mobile);
  v.AppendNew("legal_representative", a.legal_representative);
  v.AppendNew("contact_name", a.contact_name);
  v.AppendNew("agent_name", a.agent_name);
  v.AppendNew("agent_id_number", a.agent_id_number);
  v.AppendNew("agent_mobile", a.agent_mobile);
  return codec::RenderJson(v);
}

Applicant ParseApplicant(std::string_view json) {
  codec::Value v = ParseOrNull(json);
  Applicant a;
  a.type = Text(v, "type") == "legal_person" ? ApplicantType::kLegalPerson : ApplicantType::kPerson;
  a.name = Text(v, "name");
  a.id_type = Text(v, "id_type");
  a.id_number = Text(v, "id_number");
  a.mobile = Text(v, "mobile");
  a.legal_representative = Text(v, "legal_representative");
  a.contact_name = Text(v, "contact_name");
  a.agent_name = Text(v, "agent_name");
  a.agent_id_number = Text(v, "agent_id_number");
  a.agent_mobile = Text(v, "agent_mobile");
  return a;
}

std::string MaterialsJson(const std::vector<CaseMaterial>& materials) {
  codec::Value list = codec::Value::Array(materials.size());
  for (const CaseMaterial& m : materials) {
    codec::Value v = codec::Value::Object(6);
    v.AppendNew("name", m.name);
    v.AppendNew("form", FormName(m.form));
    v.AppendNew("copies", m.copies);
    v.AppendNew("sha256", m.sha256);
    v.AppendNew("media_type", m.media_type);
    v.AppendNew("size", m.size);
    list.Push(std::move(v));
  }
  return codec::RenderJson(list);
}

std::vector<CaseMaterial> ParseMaterials(std::string_view json) {
  std::vector<CaseMaterial> out;
  codec::Value list = ParseOrNull(json);
  for (const codec::Value& v : list.items()) {
    CaseMaterial m;
    m.name = Text(v, "name");
    m.form = ParseForm(Text(v, "form"));
    m.copies = static_cast<int>(Number(v, "copies"));
    m.sha256 = Text(v, "sha256");
    m.media_type = Text(v, "media_type");
    m.size = Number(v, "size");
    out.push_back(std::move(m));
  }
  return out;
}

std::string StringsJson(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  codec::Value list = codec::Value::Array(items.size());
  for (const std::string& s : items) list.Push(s);
  return codec::RenderJson(list);
}

std::vector<std::string> ParseStrings(std::string_view json) {
  std::vector<std::string> out;
  codec::Value list = ParseOrNull(json);
  for (const codec::Value& v : list.items()) {
    if (v.IsString()) out.push_back(v.AsString());
  }
  return out;
}

void InsertStepRecord(soci::session& sql, const StepRecord& r) {
  long long case_id = r.case_id, at = r.at_ms;
  std::string action(ActionName(r.action));
  std::string attachments = StringsJson(r.attachments);
  sql << "INSERT INTO approval_steps (case_id, action, step_code, step_name, userid, username, "
         "orgcoding, opinion, detail, attachments, from_state, to_state, at) VALUES (:c, :a, "
         ":sc, :sn, :u, :un, :o, :op, :d, :at, :f, :t, :when)",
      soci::use(case_id), soci::use(action), soci::use(r.step_code), soci::use(r.step_name),
      soci::use(r.userid), soci::use(r.username), soci::use(r.orgcoding), soci::use(r.opinion),
      soci::use(r.detail), soci::use(attachments), soci::use(r.from_state), soci::use(r.to_state),
      soci::use(at);
}

}  // namespace tongban::approval::engine_internal
