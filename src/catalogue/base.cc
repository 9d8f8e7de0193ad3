#include "catalogue/base.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>

#include "catalogue/audit.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "directory/validators.h"

namespace tongban::catalogue {

namespace {

// How far each audit journal file's rows are loaded (audit_journal.h): a row
// per file epoch.
constexpr const char* kBaseV3 = R"sql(
CREATE TABLE catalogue_audit_journal (
  epoch {KEY} NOT NULL PRIMARY KEY,
  pos BIGINT NOT NULL
){END};
)sql";

constexpr const char* kBaseV1 = R"sql(
CREATE TABLE catalogue_base_persons (
  id_number {KEY} NOT NULL PRIMARY KEY,
  name {TEXT} NOT NULL,
  gender {TEXT} NOT NULL,
  birth_date {TEXT} NOT NULL,
  nation {TEXT} NOT NULL,
  address {TEXT} NOT NULL,
  mobile {TEXT} NOT NULL,
  division {TEXT} NOT NULL
){END};
CREATE TABLE catalogue_base_legal_persons (
  uscc {KEY} NOT NULL PRIMARY KEY,
  name {TEXT} NOT NULL,
  legal_rep {TEXT} NOT NULL,
  legal_rep_id {TEXT} NOT NULL,
  reg_capital {TEXT} NOT NULL,
  established {TEXT} NOT NULL,
  address {TEXT} NOT NULL,
  status {TEXT} NOT NULL,
  mobile {TEXT} NOT NULL,
  division {TEXT} NOT NULL
){END};
CREATE TABLE catalogue_base_places (
  division_code {KEY} NOT NULL PRIMARY KEY,
  name {TEXT} NOT NULL,
  level {TEXT} NOT NULL,
  parent {TEXT} NOT NULL,
  full_name {TEXT} NOT NULL,
  lng {TEXT} NOT NULL,
  lat {TEXT} NOT NULL
){END};
)sql";

// v2 (SQLite): the three tables WITHOUT ROWID, so a lookup by key is one
// B-tree descent to the leaf that holds the row, not a descent of the
// primary-key index and then one of the rowid table (two leaf pages read per
// lookup; docs/performance.md, issue 17 session 10). The rows are copied in
// key order. PostgreSQL and MySQL keep v1: InnoDB already stores the rows in
// the primary key's B-tree; on PostgreSQL a covering index would double the
// table for the one heap page a lookup reads.
std::string WithoutRowidV2() {
  struct Table {
    const char* name;
    const char* columns;
  };
  const Table tables[] = {
      {"catalogue_base_persons",
       "id_number TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, gender TEXT NOT NULL, "
       "birth_date TEXT NOT NULL, nation TEXT NOT NULL, address TEXT NOT NULL, "
       "mobile TEXT NOT NULL, division TEXT NOT NULL"},
      {"catalogue_base_legal_persons",
       "uscc TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, legal_rep TEXT NOT NULL, "
       "legal_rep_id TEXT NOT NULL, reg_capital TEXT NOT NULL, established TEXT NOT NULL, "
       "address TEXT NOT NULL, status TEXT NOT NULL, mobile TEXT NOT NULL, "
       "division TEXT NOT NULL"},
      {"catalogue_base_places",
       "division_code TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL, "
       "parent TEXT NOT NULL, full_name TEXT NOT NULL, lng TEXT NOT NULL, lat TEXT NOT NULL"},
  };
  std::string out;
  for (const Table& t : tables) {
    const std::string_view key = std::string_view(t.columns).substr(
        0, std::string_view(t.columns).find(' '));
    out += fmt::format(
        "CREATE TABLE {0}_v2 ({1}) WITHOUT ROWID;\n"
        "INSERT INTO {0}_v2 SELECT * FROM {0} ORDER BY {2};\n"
        "DROP TABLE {0};\n"
        "ALTER TABLE {0}_v2 RENAME TO {0};\n",
        t.name, t.columns, key);
  }
  return out;
}

using M = BaseField::Mask;

const std::vector<BaseField> kPerson = {
    {"id_number", "公民身份号码", "C", M::kIdNumber},
    {"name", "姓名", "C", M::kNone},
    {"gender", "性别", "C", M::kNone},
    {"birth_date", "出生日期", "D", M::kNone},
    {"nation", "民族", "C", M::kNone},
    {"address", "住址", "C", M::kNone},
    {"mobile", "手机号码", "C", M::kMobile},
    {"division", "户籍地行政区划", "C", M::kNone},
};
const std::vector<BaseField> kLegalPerson = {
    {"uscc", "统一社会信用代码", "C", M::kNone},
    {"name", "名称", "C", M::kNone},
    {"legal_rep", "法定代表人", "C", M::kNone},
    {"legal_rep_id", "法定代表人身份号码", "C", M::kIdNumber},
    {"reg_capital", "注册资本（万元）", "N", M::kNone},
    {"established", "成立日期", "D", M::kNone},
    {"address", "住所", "C", M::kNone},
    {"status", "登记状态", "C", M::kNone},
    {"mobile", "联系电话", "C", M::kMobile},
    {"division", "登记机关行政区划", "C", M::kNone},
};
const std::vector<BaseField> kPlace = {
    {"division_code", "行政区划代码", "C", M::kNone},
    {"name", "名称", "C", M::kNone},
    {"level", "级别", "C", M::kNone},
    {"parent", "上级区划代码", "C", M::kNone},
    {"full_name", "全称", "C", M::kNone},
    {"lng", "经度", "F", M::kNone},
    {"lat", "纬度", "F", M::kNone},
};
const std::vector<BaseField> kNoFields;

std::string_view TableOf(BaseKind kind) {
  switch (kind) {
    case BaseKind::kPerson:
      return "catalogue_base_persons";
    case BaseKind::kLegalPerson:
      return "catalogue_base_legal_persons";
    case BaseKind::kPlace:
      return "catalogue_base_places";
    default:
      return {};
  }
}

std::string Masked(const BaseField& f, const std::string& value) {
  switch (f.mask) {
    case M::kIdNumber:
      return MaskIdNumber(value);
    case M::kMobile:
      return MaskMobile(value);
    default:
      return value;
  }
}

// The indexed read of one record by its key, every column (whatever was
// asked, so found and not found cost the same work), kept prepared per pooled
// session (SqlStore::KeptFor).
struct KeptRecordRead : SqlStore::Kept {
  std::string key;
  std::vector<std::string> values;
  std::vector<soci::indicator> nulls;
  soci::statement st;
  KeptRecordRead(soci::session& sql, BaseKind kind, const std::vector<BaseField>& fields)
      : values(fields.size()), nulls(fields.size()), st(sql) {
    std::string columns;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) columns += ", ";
      columns += fields[i].code;
      st.exchange(soci::into(values[i], nulls[i]));
    }
    st.exchange(soci::use(key, "k"));
    st.alloc();
    st.prepare(fmt::format("SELECT {} FROM {} WHERE {} = :k", columns, TableOf(kind),
                           fields[0].code));
    st.define_and_bind();
  }
  // The record's values in field order, or nothing; reads to the end.
  std::vector<std::string> Run() {
    std::vector<std::string> out;
    if (st.execute(true)) {
      do {
        if (out.empty()) {
          out = values;
          for (size_t i = 0; i < out.size(); ++i) {
            if (nulls[i] == soci::i_null) out[i].clear();
          }
        }
      } while (st.fetch());
    }
    return out;
  }
};

std::string_view RecordReadKey(BaseKind kind) {
  switch (kind) {
    case BaseKind::kPerson:
      return "catalogue.base_read.person";
    case BaseKind::kLegalPerson:
      return "catalogue.base_read.legal_person";
    default:
      return "catalogue.base_read.place";
  }
}

}  // namespace

const std::vector<BaseField>& BaseFields(BaseKind kind) {
  switch (kind) {
    case BaseKind::kPerson:
      return kPerson;
    case BaseKind::kLegalPerson:
      return kLegalPerson;
    case BaseKind::kPlace:
      return kPlace;
    default:
      return kNoFields;
  }
}

std::string_view BaseKindTitle(BaseKind kind) {
  switch (kind) {
    case BaseKind::kPerson:
      return "人口";
    case BaseKind::kLegalPerson:
      return "法人";
    case BaseKind::kPlace:
      return "空间";
    default:
      return "";
  }
}

std::vector<Migration> BaseResources::Migrations() {
  // PostgreSQL and MySQL: nothing to change (see WithoutRowidV2).
  return {PortableMigration("catalogue_base", 1, kBaseV1),
          Migration{"catalogue_base", 2, WithoutRowidV2(), "SELECT 1", "DO 0"},
          PortableMigration("catalogue_base", 3, kBaseV3)};
}

BaseResources::BaseResources(SqlStore& store, Clock& clock, SharingStore& sharing,
                             std::string audit_key)
    : store_(store),
      clock_(clock),
      sharing_(sharing),
      audit_key_(std::move(audit_key)),
      reads_on_writer_(store.dialect() == SqlDialect::kSqlite),
      audit_(store) {}

Status BaseResources::UseAuditJournal(AuditJournal::Options options) {
  auto journal = AuditJournal::Open(store_, std::move(options));
  if (!journal.ok()) return std::move(journal).error();
  audit_.UseJournal(std::move(journal).value());
  return Status::Ok();
}

std::string BaseResources::SubjectMac(std::string_view key) const {
  return crypto::HexEncode(crypto::HmacSha256(audit_key_, key)).substr(0, 32);
}

bool BaseResources::Precheck(const BaseQuery& q, Prepared& p) {
  const std::vector<BaseField>& fields = BaseFields(q.kind);
  if (fields.empty()) {
    p.answer = Error{result_code::kBadRequest, "没有这项基础信息资源服务"};
    return false;
  }
  bool key_ok = false;
  switch (q.kind) {
    case BaseKind::kPerson:
      key_ok = directory::IsValidResidentId(q.key, clock_);
      break;
    case BaseKind::kLegalPerson:
      key_ok = directory::IsValidSocialCreditCode(q.key);
      break;
    case BaseKind::kPlace:
      key_ok = q.key.size() == 6 && directory::IsValidDivisionCode(q.key);
      break;
    default:
      break;
  }
  if (!key_ok) {
    p.answer = Error{result_code::kBadKey, fmt::format("{}不正确（校验位或格式）", fields[0].name)};
    return false;
  }
  AuditEntry& audit = p.audit;
  audit.at_ms = clock_.NowMillis();
  audit.actor = q.actor.id;
  audit.actor_kind = q.actor.kind;
  audit.actor_org = q.actor.org;
  audit.action = fmt::format("base.query.{}", BaseKindName(q.kind));
  audit.subject = fields[0].mask == M::kIdNumber ? MaskIdNumber(q.key) : q.key;
  audit.subject_mac = SubjectMac(q.key);
  audit.fields = JoinFields(q.fields);
  return true;
}

void BaseResources::Resolve(soci::session& sql, const BaseQuery& q, Prepared& p) {
  const std::vector<BaseField>& fields = BaseFields(q.kind);
  AuditEntry& audit = p.audit;
  // The row to commit before the answer (or refusal) may leave.
  auto audited = [&](std::string outcome, std::string detail, Result<BaseAnswer> answer) {
    audit.outcome = std::move(outcome);
    audit.detail = std::move(detail);
    p.audit_needed = true;
    p.answer = std::move(answer);
  };
  // The live grant, then the record — read only once the grant allows the
  // fields asked for.
  Result<Grant> grant = sharing_.LiveGrant(sql, q.kind, q.app, q.orgs, q.grant_id);
  if (!grant.ok()) {
    if (grant.error().code != errc::kPermissionDenied) {
      p.audit_needed = false;
      p.answer = std::move(grant).error();
      return;
    }
    return audited("denied", "no live grant", Error{result_code::kNoGrant, grant.error().message});
  }
  audit.grant_id = grant->id;
  audit.resource_id = grant->resource_id;
  const std::vector<std::string>& wanted = q.fields.empty() ? grant->fields : q.fields;
  const bool allowed = std::all_of(wanted.begin(), wanted.end(),
                                   [&](const std::string& f) { return grant->Allows(f); });
  if (!allowed) {
    // Names only what the grant allows: nothing about fields not granted.
    return audited("denied", "fields outside the grant",
                   Error{result_code::kFieldsNotGranted,
                         "请求的信息项超出授权范围；本授权可查询：" + JoinFields(grant->fields)});
  }
  audit.fields = JoinFields(wanted);
  auto& read = store_.KeptFor<KeptRecordRead>(sql, RecordReadKey(q.kind), [&](soci::session& s) {
    return std::make_unique<KeptRecordRead>(s, q.kind, fields);
  });
  read.key = q.key;
  const std::vector<std::string> row = read.Run();
  if (row.empty()) return audited("not_found", "", Error{result_code::kNotFound, "查无此记录"});
  std::string detail = grant->unmasked ? "unmasked" : "";
  BaseAnswer answer;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (std::find(wanted.begin(), wanted.end(), fields[i].code) == wanted.end()) continue;
    answer.record.emplace_back(fields[i].code, grant->unmasked ? row[i]
                                                               : Masked(fields[i], row[i]));
  }
  answer.grant = std::move(*grant);
  audited("ok", std::move(detail), std::move(answer));
}

BaseResources::Prepared BaseResources::Prepare(const BaseQuery& q) {
  Prepared p;
  if (!Precheck(q, p)) return p;
  auto read = store_.WithSession([&](soci::session& sql) -> Status {
    Resolve(sql, q, p);
    return Status::Ok();
  });
  if (!read.ok()) {
    p.audit_needed = false;
    p.answer = std::move(read).error();
  }
  return p;
}

Result<BaseAnswer> BaseResources::Lookup(const BaseQuery& q) {
  if (reads_on_writer_) {
    std::promise<Result<BaseAnswer>> answered;
    LookupThen(q, [&answered](Result<BaseAnswer> a) { answered.set_value(std::move(a)); });
    return answered.get_future().get();
  }
  Prepared p = Prepare(q);
  // Shared with concurrent queries' rows, committed before we go on.
  if (p.audit_needed) TB_RETURN_IF_ERROR(audit_.Append(std::move(p.audit)));
  return std::move(p.answer);
}

void BaseResources::LookupThen(const BaseQuery& q, std::function<void(Result<BaseAnswer>)> done) {
  if (reads_on_writer_) {
    // SQLite: the reads run on the audit writer, in its batch's transaction
    // (AuditCommitter::AppendMadeThen), where the pages stay cached between
    // queries; a pool session's cache is dropped by every audit commit.
    auto p = std::make_shared<Prepared>();
    if (!Precheck(q, *p)) return done(std::move(p->answer));
    AuditEntry start = p->audit;
    auto make = [this, p, q](soci::session& sql, AuditEntry& row) {
      Resolve(sql, q, *p);
      row = p->audit;
      return p->audit_needed;
    };
    audit_.AppendMadeThen(std::move(start), std::move(make),
                          [p, done = std::move(done)](Status committed) {
                            if (!committed.ok()) return done(std::move(committed).error());
                            done(std::move(p->answer));
                          });
    return;
  }
  auto p = std::make_shared<Prepared>(Prepare(q));
  if (!p->audit_needed) return done(std::move(p->answer));
  AuditEntry row = std::move(p->audit);
  audit_.AppendThen(std::move(row), [p, done = std::move(done)](Status committed) {
    if (!committed.ok()) return done(std::move(committed).error());
    done(std::move(p->answer));
  });
}

Status BaseResources::Put(BaseKind kind, const std::vector<std::vector<std::string>>& rows) {
  const std::vector<BaseField>& fields = BaseFields(kind);
  if (fields.empty()) return Error::InvalidArgument("unknown base kind");
  std::vector<std::vector<std::string>> columns(fields.size());
  for (const auto& row : rows) {
    if (row.size() != fields.size() || row[0].empty()) {
      return Error::InvalidArgument("base row: " + std::to_string(fields.size()) + " values");
    }
    for (size_t i = 0; i < fields.size(); ++i) columns[i].push_back(row[i]);
  }
  if (rows.empty()) return Status::Ok();
  std::string names, params;
  for (size_t i = 0; i < fields.size(); ++i) {
    names += fmt::format("{}{}", i ? ", " : "", fields[i].code);
    params += fmt::format("{}:v{}", i ? ", " : "", i);
  }
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    sql << fmt::format("DELETE FROM {} WHERE {} = :k", TableOf(kind), fields[0].code),
        soci::use(columns[0], "k");
    soci::statement st(sql);
    for (size_t i = 0; i < fields.size(); ++i) {
      st.exchange(soci::use(columns[i], fmt::format("v{}", i)));
    }
    st.alloc();
    st.prepare(fmt::format("INSERT INTO {} ({}) VALUES ({})", TableOf(kind), names, params));
    st.define_and_bind();
    st.execute(true);
    return Status::Ok();
  });
}

}  // namespace tongban::catalogue
