#include "catalogue/resources.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "catalogue/audit.h"
#include "catalogue/json.h"
#include "core/utf8.h"
#include "directory/validators.h"
#include "store/sql_dialect.h"

namespace tongban::catalogue {

namespace {

// LockUntilCommit class of a classification's sequence numbers ("ca" + 1).
constexpr int kSequenceLockClass = 0x6361 + 1;

constexpr const char* kResourcesV1 = R"sql(
CREATE TABLE catalogue_classifications (
  code {KEY} NOT NULL PRIMARY KEY,
  parent {KEY} NOT NULL,
  level INTEGER NOT NULL,
  name {TEXT} NOT NULL,
  updated_at BIGINT NOT NULL
){END};
CREATE INDEX catalogue_classifications_by_parent ON catalogue_classifications (parent, code);

CREATE TABLE catalogue_resources (
  id {ID},
  code {KEY} NOT NULL,
  classification {KEY} NOT NULL,
  seq BIGINT NOT NULL,
  provider_org {KEY} NOT NULL,
  base_kind {KEY} NOT NULL,
  state {KEY} NOT NULL,
  version INTEGER NOT NULL,
  published_version INTEGER NOT NULL,
  body {TEXT} NOT NULL,
  published_body {TEXT} NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){END};
CREATE UNIQUE INDEX catalogue_resources_by_code ON catalogue_resources (code);
CREATE UNIQUE INDEX catalogue_resources_by_seq ON catalogue_resources (classification, seq);
CREATE INDEX catalogue_resources_by_state ON catalogue_resources (state, classification, id);
CREATE INDEX catalogue_resources_by_provider ON catalogue_resources (provider_org, id);
CREATE INDEX catalogue_resources_by_base ON catalogue_resources (base_kind, state, id);

CREATE TABLE catalogue_resource_versions (
  resource_id BIGINT NOT NULL,
  version INTEGER NOT NULL,
  body {TEXT} NOT NULL,
  author {KEY} NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (resource_id, version)
){END};

CREATE TABLE catalogue_audit (
  id {ID},
  at BIGINT NOT NULL,
  actor {KEY} NOT NULL,
  actor_kind {KEY} NOT NULL,
  actor_org {KEY} NOT NULL,
  action {KEY} NOT NULL,
  resource_id BIGINT NOT NULL,
  application_id BIGINT NOT NULL,
  grant_id BIGINT NOT NULL,
  subject {TEXT} NOT NULL,
  subject_mac {KEY} NOT NULL,
  fields {TEXT} NOT NULL,
  outcome {KEY} NOT NULL,
  detail {TEXT} NOT NULL
){END};
CREATE INDEX catalogue_audit_by_action ON catalogue_audit (action, id);
CREATE INDEX catalogue_audit_by_actor ON catalogue_audit (actor, id);
CREATE INDEX catalogue_audit_by_mac ON catalogue_audit (subject_mac, id);
CREATE INDEX catalogue_audit_by_grant ON catalogue_audit (grant_id, id);
)sql";

// SQLite: FTS5 over our own terms. The unicode61 tokenizer keeps each CJK
// unigram/bigram we wrote as one token (ideographs are letters to it, and we
// separate terms by spaces).
constexpr const char* kSearchSqlite = R"sql(
CREATE VIRTUAL TABLE catalogue_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
)sql";
// v2: the FTS rowid is the resource id negated, so that newest first is the
// index's forward order. FTS5 answers ORDER BY rowid DESC by reading each
// term's whole doclist backwards; with a filter term as common as a top-level
// classification (a third of 100k resources) that took 5–18 ms per query,
// forward with skipping about 1 ms (docs/performance.md "Catalogue").
constexpr const char* kSearchSqliteV2 = R"sql(
CREATE VIRTUAL TABLE catalogue_fts_newest USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
INSERT INTO catalogue_fts_newest (rowid, terms) SELECT -rowid, terms FROM catalogue_fts WHERE rowid > 0;
DROP TABLE catalogue_fts;
ALTER TABLE catalogue_fts_newest RENAME TO catalogue_fts;
)sql";
// PostgreSQL and MySQL have no FTS table: v2 changes nothing there.
constexpr const char* kSearchPortableV2 =
    "UPDATE catalogue_search_terms SET resource_id = resource_id WHERE 1 = 0;";
constexpr const char* kSearchPortable = R"sql(
CREATE TABLE catalogue_search_terms (
  term {KEY} NOT NULL,
  resource_id BIGINT NOT NULL,
  PRIMARY KEY (term, resource_id)
){END};
CREATE INDEX catalogue_search_terms_by_resource ON catalogue_search_terms (resource_id);
)sql";

const std::string kWithdrawn = "withdrawn";

constexpr const char* kColumns =
    "id, code, state, version, published_version, created_at, updated_at";

struct Row {
  long long id = 0;
  std::string code, state;
  int version = 0, published_version = 0;
  long long created = 0, updated = 0;
  std::string body;
};

Result<Resource> FromRow(const Row& row) {
  Resource r;
  nlohmann::json j = nlohmann::json::parse(row.body, nullptr, false);
  if (j.is_discarded()) return Error::Internal("catalogue: resource body is not JSON");
  TB_RETURN_IF_ERROR(MetadataFromJson(j, r));
  r.id = row.id;
  r.code = row.code;
  r.state = ParseResourceState(row.state).value_or(ResourceState::kDraft);
  r.version = row.version;
  r.published_version = row.published_version;
  r.created_ms = row.created;
  r.updated_ms = row.updated;
  return r;
}

// Reads one resource; `body_column` picks the latest or the published body.
Result<Resource> LoadOne(soci::session& sql, std::string_view where, const std::string& key_text,
                         long long key_id, std::string_view body_column, std::string_view lock) {
  Row row;
  std::string query = fmt::format("SELECT {}, {} FROM catalogue_resources WHERE {}{}", kColumns,
                                  body_column, where, lock);
  if (key_text.empty()) {
    sql << query, soci::use(key_id, "k"), soci::into(row.id), soci::into(row.code),
        soci::into(row.state), soci::into(row.version), soci::into(row.published_version),
        soci::into(row.created), soci::into(row.updated), soci::into(row.body);
  } else {
    sql << query, soci::use(key_text, "k"), soci::into(row.id), soci::into(row.code),
        soci::into(row.state), soci::into(row.version), soci::into(row.published_version),
        soci::into(row.created), soci::into(row.updated), soci::into(row.body);
  }
  if (!sql.got_data() || row.body.empty()) return Error::NotFound("没有这个目录资源");
  return FromRow(row);
}

// Every row of `query`, which binds `param` as :p (or nothing when null).
Result<std::vector<Resource>> LoadMany(soci::session& sql, const std::string& query,
                                       const std::string* param) {
  Row row;
  soci::statement st(sql);
  if (param != nullptr) st.exchange(soci::use(*param, "p"));
  st.exchange(soci::into(row.id));
  st.exchange(soci::into(row.code));
  st.exchange(soci::into(row.state));
  st.exchange(soci::into(row.version));
  st.exchange(soci::into(row.published_version));
  st.exchange(soci::into(row.created));
  st.exchange(soci::into(row.updated));
  st.exchange(soci::into(row.body));
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  std::vector<Resource> out;
  if (st.execute(true)) {
    do {
      auto r = FromRow(row);
      if (!r.ok()) return std::move(r).error();
      out.push_back(std::move(*r));
    } while (st.fetch());
  }
  return out;
}

std::string SearchText(const Resource& r) {
  std::string text = r.name + " " + r.abstract_text + " " + r.provider_name + " " + r.code;
  for (const InfoItem& item : r.items) text += " " + item.name;
  return text;
}

void AuditResource(soci::session& sql, SqlDialect dialect, int64_t now, const Actor& actor,
                   std::string action, const Resource& r, std::string detail = {}) {
  AuditEntry e;
  e.at_ms = now;
  e.actor = actor.id;
  e.actor_kind = actor.kind;
  e.actor_org = actor.org;
  e.action = std::move(action);
  e.resource_id = r.id;
  e.subject = r.code;
  e.outcome = "ok";
  e.detail = std::move(detail);
  (void)WriteAudit(sql, dialect, e);
}

}  // namespace

std::vector<Migration> ResourceStore::Migrations() {
  Migration search{"catalogue_search", 1, kSearchSqlite, {}, {}};
  Migration portable = PortableMigration("catalogue_search", 1, kSearchPortable);
  search.postgres = portable.postgres;
  search.mysql = portable.mysql;
  Migration newest{"catalogue_search", 2, kSearchSqliteV2, kSearchPortableV2, kSearchPortableV2};
  return {PortableMigration("catalogue_resources", 1, kResourcesV1), std::move(search),
          std::move(newest)};
}

ResourceStore::ResourceStore(SqlStore& store, Clock& clock) : store_(store), clock_(clock) {}

// ---------------------------------------------------------------- tree

Status ResourceStore::PutClassification(const Classification& c, const Actor& actor) {
  const int level = ClassificationLevel(c.code);
  if (level == 0) {
    return Error::InvalidArgument("分类代码不正确（类 1 位、项 2 位、目 3 位、细目 1–6 位数字）");
  }
  if (c.name.empty() || c.name.size() > 200 || !IsValidUtf8(c.name)) {
    return Error::InvalidArgument("分类名称不能为空（最多 200 字节）");
  }
  const std::string parent = ClassificationParent(c.code);
  const int64_t now = clock_.NowMillis();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!parent.empty()) {
      int n = 0;
      sql << "SELECT COUNT(*) FROM catalogue_classifications WHERE code = :p", soci::use(parent),
          soci::into(n);
      if (n == 0) return Error::InvalidArgument("上级分类不存在：" + parent);
    }
    int exists = 0;
    sql << "SELECT COUNT(*) FROM catalogue_classifications WHERE code = :c", soci::use(c.code),
        soci::into(exists);
    long long at = now;
    if (exists != 0) {
      sql << "UPDATE catalogue_classifications SET name = :n, updated_at = :t WHERE code = :c",
          soci::use(c.name), soci::use(at), soci::use(c.code);
    } else {
      sql << "INSERT INTO catalogue_classifications (code, parent, level, name, updated_at) "
             "VALUES (:c, :p, :l, :n, :t)",
          soci::use(c.code), soci::use(parent), soci::use(level), soci::use(c.name), soci::use(at);
    }
    AuditEntry e;
    e.at_ms = now;
    e.actor = actor.id;
    e.actor_kind = actor.kind;
    e.actor_org = actor.org;
    e.action = "classification.put";
    e.subject = c.code;
    e.outcome = "ok";
    e.detail = c.name;
    return WriteAudit(sql, store_.dialect(), e);
  });
}

Status ResourceStore::DeleteClassification(std::string_view code_view, const Actor& actor) {
  std::string code(code_view);
  const int64_t now = clock_.NowMillis();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    int children = 0, resources = 0, exists = 0;
    sql << "SELECT COUNT(*) FROM catalogue_classifications WHERE code = :c", soci::use(code),
        soci::into(exists);
    if (exists == 0) return Error::NotFound("没有这个分类：" + code);
    sql << "SELECT COUNT(*) FROM catalogue_classifications WHERE parent = :c", soci::use(code),
        soci::into(children);
    sql << "SELECT COUNT(*) FROM catalogue_resources WHERE classification = :c", soci::use(code),
        soci::into(resources);
    if (children != 0 || resources != 0) {
      return Error::Conflict("分类下还有下级分类或资源，不能删除");
    }
    sql << "DELETE FROM catalogue_classifications WHERE code = :c", soci::use(code);
    AuditEntry e;
    e.at_ms = now;
    e.actor = actor.id;
    e.actor_kind = actor.kind;
    e.actor_org = actor.org;
    e.action = "classification.delete";
    e.subject = code;
    e.outcome = "ok";
    return WriteAudit(sql, store_.dialect(), e);
  });
}

Result<std::vector<Classification>> ResourceStore::ListClassifications() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Classification>> {
    Classification c;
    soci::statement st = (sql.prepare << "SELECT code, parent, level, name FROM "
                                         "catalogue_classifications ORDER BY code",
                          soci::into(c.code), soci::into(c.parent), soci::into(c.level),
                          soci::into(c.name));
    std::vector<Classification> out;
    if (st.execute(true)) {
      do out.push_back(c);
      while (st.fetch());
    }
    return out;
  });
}

// ---------------------------------------------------------------- resources

Result<Resource> ResourceStore::Create(Resource r, const Actor& actor) {
  TB_RETURN_IF_ERROR(ValidateResource(r));
  const int64_t now = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Resource> {
    int exists = 0;
    sql << "SELECT COUNT(*) FROM catalogue_classifications WHERE code = :c",
        soci::use(r.classification), soci::into(exists);
    if (exists == 0) return Error::InvalidArgument("分类不存在：" + r.classification);
    sql_dialect::LockUntilCommit(sql, dialect, kSequenceLockClass, r.classification);
    long long seq = 0;
    soci::indicator ind = soci::i_ok;
    sql << "SELECT MAX(seq) FROM catalogue_resources WHERE classification = :c",
        soci::use(r.classification), soci::into(seq, ind);
    seq = (ind == soci::i_ok ? seq : 0) + 1;
    if (seq > 999999) return Error::Conflict("该分类下的顺序码已用完");
    r.code = fmt::format("{}/{:06d}", r.classification, seq);
    r.state = ResourceState::kDraft;
    r.version = 1;
    r.published_version = 0;
    r.created_ms = r.updated_ms = now;
    const std::string body = MetadataToJson(r).dump();
    const std::string state(ResourceStateName(r.state));
    const std::string base(BaseKindName(r.base_kind));
    const std::string empty;
    long long at = now;
    const std::string insert =
        "INSERT INTO catalogue_resources (code, classification, seq, provider_org, base_kind, "
        "state, version, published_version, body, published_body, created_at, updated_at) "
        "VALUES (:code, :cls, :seq, :org, :base, :state, 1, 0, :body, :pb, :c, :u)";
    if (sql_dialect::HasReturning(dialect)) {
      long long id = 0;
      sql << insert + " RETURNING id", soci::use(r.code), soci::use(r.classification),
          soci::use(seq), soci::use(r.provider_org), soci::use(base), soci::use(state),
          soci::use(body), soci::use(empty), soci::use(at), soci::use(at), soci::into(id);
      r.id = id;
    } else {
      sql << insert, soci::use(r.code), soci::use(r.classification), soci::use(seq),
          soci::use(r.provider_org), soci::use(base), soci::use(state), soci::use(body),
          soci::use(empty), soci::use(at), soci::use(at);
      r.id = sql_dialect::LastInsertId(sql, dialect);
    }
    long long id = r.id;
    sql << "INSERT INTO catalogue_resource_versions (resource_id, version, body, author, "
           "created_at) VALUES (:i, 1, :b, :a, :t)",
        soci::use(id), soci::use(body), soci::use(actor.id), soci::use(at);
    AuditResource(sql, dialect, now, actor, "resource.create", r);
    return r;
  });
}

Result<Resource> ResourceStore::Update(int64_t id, Resource r, int expected_version,
                                       const Actor& actor) {
  TB_RETURN_IF_ERROR(ValidateResource(r));
  const int64_t now = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Resource> {
    auto current = LoadOne(sql, "id = :k", {}, id, "body", sql_dialect::ForUpdate(dialect));
    if (!current.ok()) return std::move(current).error();
    if (current->version != expected_version) {
      return Error::Conflict("资源已被他人修改（当前版本 " + std::to_string(current->version) +
                             "），请刷新后重试");
    }
    if (r.classification != current->classification) {
      return Error::InvalidArgument("资源代码已分配，不能改变分类；请新登记资源");
    }
    r.id = id;
    r.code = current->code;
    r.state = current->state;
    r.published_version = current->published_version;
    r.created_ms = current->created_ms;
    r.version = current->version + 1;
    r.updated_ms = now;
    if (r.release_date.empty()) r.release_date = current->release_date;
    const std::string body = MetadataToJson(r).dump();
    long long at = now, key = id;
    // base_kind stays the published version's: a draft claiming to be the 人口 or 法人
    // base resource takes effect only when an administrator publishes it.
    sql << "UPDATE catalogue_resources SET version = :v, body = :b, provider_org = :o, "
           "updated_at = :u WHERE id = :i",
        soci::use(r.version), soci::use(body), soci::use(r.provider_org), soci::use(at),
        soci::use(key);
    sql << "INSERT INTO catalogue_resource_versions (resource_id, version, body, author, "
           "created_at) VALUES (:i, :v, :b, :a, :t)",
        soci::use(key), soci::use(r.version), soci::use(body), soci::use(actor.id), soci::use(at);
    AuditResource(sql, dialect, now, actor, "resource.update", r,
                  "version " + std::to_string(r.version));
    return r;
  });
}

Result<Resource> ResourceStore::Publish(int64_t id, const Actor& actor) {
  const int64_t now = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  const std::string today = directory::TodayInChina(clock_).ToIsoString();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Resource> {
    auto r = LoadOne(sql, "id = :k", {}, id, "body", sql_dialect::ForUpdate(dialect));
    if (!r.ok()) return std::move(r).error();
    if (r->state == ResourceState::kPublished && r->published_version == r->version) {
      return Error::Conflict("该版本已发布");
    }
    if (r->release_date.empty()) r->release_date = today;
    r->state = ResourceState::kPublished;
    r->published_version = r->version;
    r->updated_ms = now;
    const std::string body = MetadataToJson(*r).dump();
    const std::string state(ResourceStateName(r->state));
    long long at = now, key = id;
    const std::string base(BaseKindName(r->base_kind));
    sql << "UPDATE catalogue_resources SET state = :s, published_version = version, body = :b, "
           "published_body = :b2, base_kind = :k, updated_at = :u WHERE id = :i",
        soci::use(state), soci::use(body), soci::use(body), soci::use(base), soci::use(at),
        soci::use(key);
    sql << "UPDATE catalogue_resource_versions SET body = :b WHERE resource_id = :i AND "
           "version = :v",
        soci::use(body), soci::use(key), soci::use(r->version);
    TB_RETURN_IF_ERROR(Index(sql, *r));
    AuditResource(sql, dialect, now, actor, "resource.publish", *r,
                  "version " + std::to_string(r->version));
    return std::move(*r);
  });
}

Result<Resource> ResourceStore::Withdraw(int64_t id, const Actor& actor) {
  const int64_t now = clock_.NowMillis();
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Resource> {
    auto r = LoadOne(sql, "id = :k", {}, id, "body", sql_dialect::ForUpdate(dialect));
    if (!r.ok()) return std::move(r).error();
    if (r->state != ResourceState::kPublished) return Error::Conflict("只有已发布的资源可以撤回");
    r->state = ResourceState::kWithdrawn;
    const std::string state(ResourceStateName(r->state));
    long long at = now, key = id;
    sql << "UPDATE catalogue_resources SET state = :s, updated_at = :u WHERE id = :i",
        soci::use(state), soci::use(at), soci::use(key);
    TB_RETURN_IF_ERROR(Unindex(sql, id));
    AuditResource(sql, dialect, now, actor, "resource.withdraw", *r);
    return std::move(*r);
  });
}

Result<Resource> ResourceStore::Get(int64_t id) {
  return store_.WithSession(
      [&](soci::session& sql) { return LoadOne(sql, "id = :k", {}, id, "body", ""); });
}

Result<Resource> ResourceStore::GetPublished(int64_t id) {
  return store_.WithSession([&](soci::session& sql) -> Result<Resource> {
    auto r = LoadOne(sql, "id = :k AND state = 'published'", {}, id, "published_body", "");
    if (r.ok()) r->version = r->published_version;
    return r;
  });
}

Result<Resource> ResourceStore::FindPublishedByCode(std::string_view code) {
  std::string key(code);
  return store_.WithSession([&](soci::session& sql) -> Result<Resource> {
    auto r = LoadOne(sql, "code = :k AND state = 'published'", key, 0, "published_body", "");
    if (r.ok()) r->version = r->published_version;
    return r;
  });
}

Result<Resource> ResourceStore::GetVersion(int64_t id, int version) {
  return store_.WithSession([&](soci::session& sql) -> Result<Resource> {
    auto r = LoadOne(sql, "id = :k", {}, id, "body", "");
    if (!r.ok()) return r;
    std::string body;
    long long key = id;
    sql << "SELECT body FROM catalogue_resource_versions WHERE resource_id = :i AND version = :v",
        soci::use(key), soci::use(version), soci::into(body);
    if (!sql.got_data()) return Error::NotFound("没有这个版本");
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) return Error::Internal("catalogue: version body is not JSON");
    TB_RETURN_IF_ERROR(MetadataFromJson(j, *r));
    r->version = version;
    return r;
  });
}

Result<std::vector<Resource>> ResourceStore::ListByProvider(std::string_view provider_org) {
  std::string org(provider_org);
  return store_.WithSession([&](soci::session& sql) {
    return LoadMany(sql,
                    fmt::format("SELECT {}, body FROM catalogue_resources WHERE provider_org = :p "
                                "ORDER BY id DESC",
                                kColumns),
                    &org);
  });
}

Result<std::vector<Resource>> ResourceStore::ListPendingReview() {
  return store_.WithSession([&](soci::session& sql) {
    return LoadMany(sql,
                    fmt::format("SELECT {}, body FROM catalogue_resources WHERE version > "
                                "published_version AND state <> :p ORDER BY id",
                                kColumns),
                    &kWithdrawn);
  });
}

Result<Resource> ResourceStore::FindBaseResource(BaseKind kind) {
  std::string base(BaseKindName(kind));
  return store_.WithSession([&](soci::session& sql) -> Result<Resource> {
    auto list = LoadMany(sql,
                         fmt::format("SELECT {}, published_body FROM catalogue_resources WHERE "
                                     "base_kind = :p AND state = 'published' ORDER BY id DESC "
                                     "LIMIT 1",
                                     kColumns),
                         &base);
    if (!list.ok()) return std::move(list).error();
    if (list->empty()) return Error::NotFound("没有发布的基础信息资源");
    return std::move(list->front());
  });
}

// ---------------------------------------------------------------- search

Status ResourceStore::Index(soci::session& sql, const Resource& r) {
  TB_RETURN_IF_ERROR(Unindex(sql, r.id));
  std::vector<std::string> terms = IndexTerms(SearchText(r));
  std::string cls = r.classification;
  while (!cls.empty()) {
    terms.push_back(ClassificationTerm(cls));
    cls = ClassificationParent(cls);
  }
  terms.push_back(ProviderTerm(r.provider_org));
  long long id = r.id;
  if (store_.dialect() == SqlDialect::kSqlite) {
    std::string joined;
    for (const std::string& t : terms) {
      if (!joined.empty()) joined += ' ';
      joined += t;
    }
    long long rowid = -id;  // newest first = forward order (kSearchSqliteV2)
    sql << "INSERT INTO catalogue_fts (rowid, terms) VALUES (:i, :t)", soci::use(rowid),
        soci::use(joined);
    return Status::Ok();
  }
  // Terms are unique per resource (IndexTerms deduplicates; the filter terms
  // have prefixes no text term has).
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  std::vector<long long> ids(terms.size(), id);
  sql << "INSERT INTO catalogue_search_terms (term, resource_id) VALUES (:t, :i)", soci::use(terms),
      soci::use(ids);
  return Status::Ok();
}

Status ResourceStore::Unindex(soci::session& sql, int64_t id_value) {
  long long id = id_value;
  if (store_.dialect() == SqlDialect::kSqlite) {
    long long rowid = -id;
    sql << "DELETE FROM catalogue_fts WHERE rowid = :i", soci::use(rowid);
  } else {
    sql << "DELETE FROM catalogue_search_terms WHERE resource_id = :i", soci::use(id);
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> ResourceStore::SearchIds(soci::session& sql,
                                                      const std::vector<std::string>& terms,
                                                      int offset, int limit) {
  std::vector<int64_t> out;
  long long id = 0;
  if (store_.dialect() == SqlDialect::kSqlite) {
    std::string match;
    for (const std::string& t : terms) {
      if (!match.empty()) match += " AND ";
      match += '"' + t + '"';  // terms hold only letters and digits: no quote inside
    }
    soci::statement st =
        (sql.prepare << "SELECT -rowid FROM catalogue_fts WHERE catalogue_fts MATCH :m "
                        "ORDER BY rowid LIMIT " +
                            std::to_string(limit) + " OFFSET " + std::to_string(offset),
         soci::use(match, "m"), soci::into(id));
    if (st.execute(true)) {
      do out.push_back(id);
      while (st.fetch());
    }
    return out;
  }
  std::string in;
  for (size_t i = 0; i < terms.size(); ++i) in += fmt::format("{}:t{}", i ? ", " : "", i);
  soci::statement st(sql);
  for (size_t i = 0; i < terms.size(); ++i) {
    st.exchange(soci::use(terms[i], fmt::format("t{}", i)));
  }
  st.exchange(soci::into(id));
  st.alloc();
  st.prepare(fmt::format(
      "SELECT resource_id FROM catalogue_search_terms WHERE term IN ({}) GROUP BY resource_id "
      "HAVING COUNT(*) = {} ORDER BY resource_id DESC LIMIT {} OFFSET {}",
      in, terms.size(), limit, offset));
  st.define_and_bind();
  if (st.execute(true)) {
    do out.push_back(id);
    while (st.fetch());
  }
  return out;
}

Result<SearchPage> ResourceStore::Search(const SearchQuery& q) {
  const int limit = std::clamp(q.limit, 1, 100);
  const int offset = std::clamp(q.offset, 0, 10000);
  if (!q.classification.empty() && ClassificationLevel(q.classification) == 0) {
    return Error::InvalidArgument("分类代码不正确");
  }
  if (q.text.size() > 200 || !IsValidUtf8(q.text)) {
    return Error::InvalidArgument("检索词最多 200 字节");
  }
  std::vector<std::string> terms = QueryTerms(q.text);
  if (!q.text.empty() && terms.empty()) return SearchPage{};  // punctuation only
  if (terms.size() > 32) terms.resize(32);
  return store_.WithSession([&](soci::session& sql) -> Result<SearchPage> {
    SearchPage page;
    std::vector<int64_t> ids;
    if (!terms.empty()) {
      if (!q.classification.empty()) terms.push_back(ClassificationTerm(q.classification));
      if (!q.provider_org.empty()) terms.push_back(ProviderTerm(q.provider_org));
      auto found = SearchIds(sql, terms, offset, limit + 1);
      if (!found.ok()) return std::move(found).error();
      ids = std::move(*found);
    } else {
      // Browse: by classification prefix (its codes are digits, so ":" sorts
      // after every code below it) and/or provider.
      std::string where = "state = 'published'";
      std::string lo = q.classification, hi = q.classification + ":";
      if (!q.classification.empty()) where += " AND classification >= :lo AND classification < :hi";
      if (!q.provider_org.empty()) where += " AND provider_org = :o";
      long long id = 0;
      soci::statement st(sql);
      if (!q.classification.empty()) {
        st.exchange(soci::use(lo, "lo"));
        st.exchange(soci::use(hi, "hi"));
      }
      if (!q.provider_org.empty()) st.exchange(soci::use(q.provider_org, "o"));
      st.exchange(soci::into(id));
      st.alloc();
      st.prepare(fmt::format("SELECT id FROM catalogue_resources WHERE {} ORDER BY id DESC "
                             "LIMIT {} OFFSET {}",
                             where, limit + 1, offset));
      st.define_and_bind();
      if (st.execute(true)) {
        do ids.push_back(id);
        while (st.fetch());
      }
    }
    if (static_cast<int>(ids.size()) > limit) {
      page.more = true;
      ids.resize(limit);
    }
    if (ids.empty()) return page;
    // One read for the page (ids are integers from the index: inlined).
    std::string in;
    for (int64_t rid : ids) in += fmt::format("{}{}", in.empty() ? "" : ", ", rid);
    // By primary key only: with a state condition SQLite may prefer the
    // (state, …) index and scan every published row.
    auto rows = LoadMany(sql,
                         fmt::format("SELECT {}, published_body FROM catalogue_resources WHERE id "
                                     "IN ({})",
                                     kColumns, in),
                         nullptr);
    if (!rows.ok()) return std::move(rows).error();
    for (int64_t rid : ids) {  // in the index's order
      for (Resource& r : *rows) {
        // A resource withdrawn meanwhile drops out.
        if (r.id != rid || r.state != ResourceState::kPublished) continue;
        r.version = r.published_version;
        page.items.push_back(std::move(r));
        break;
      }
    }
    return page;
  });
}

}  // namespace tongban::catalogue
