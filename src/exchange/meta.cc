// ExchangeMeta: nodes, resources, tasks and work orders in tongban's database.
#include "exchange/meta.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <set>

#include "codec/xlsx.h"
#include "directory/validators.h"
#include "exchange/cron.h"
#include "exchange/hall.h"
#include "exchange/sql_util.h"

namespace tongban::exchange {

namespace {

using nlohmann::json;
using sql_util::I64;
using sql_util::InsertReturningId;
using sql_util::Text;

constexpr const char* kMetaV1 = R"sql(
CREATE TABLE exchange_nodes (
  id {ID},
  name {KEY} NOT NULL UNIQUE,
  division {KEY} NOT NULL,
  dept_code {KEY} NOT NULL,
  dept_name {TEXT} NOT NULL,
  backend {KEY} NOT NULL,
  url_sealed {TEXT} NOT NULL,
  url_shown {TEXT} NOT NULL,
  contacts {TEXT} NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
){END};

CREATE TABLE exchange_resources (
  id {ID},
  node_id BIGINT NOT NULL,
  code {KEY} NOT NULL,
  name {TEXT} NOT NULL,
  model {KEY} NOT NULL,
  fields {TEXT} NOT NULL,
  web_apps {TEXT} NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  UNIQUE (node_id, code)
){END};

CREATE TABLE exchange_tasks (
  id {ID},
  code {KEY} NOT NULL UNIQUE,
  name {TEXT} NOT NULL,
  provider_resource_id BIGINT NOT NULL,
  filter {TEXT} NOT NULL,
  poll_seconds BIGINT NOT NULL,
  batch_size BIGINT NOT NULL,
  enabled BIGINT NOT NULL,
  approved_order_id BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
){END};

CREATE TABLE exchange_task_subscribers (
  id {ID},
  task_id BIGINT NOT NULL,
  resource_id BIGINT NOT NULL,
  mapping {TEXT} NOT NULL,
  UNIQUE (task_id, resource_id)
){END};

CREATE TABLE exchange_work_orders (
  id {ID},
  task_id BIGINT NOT NULL,
  state {KEY} NOT NULL,
  provider {TEXT} NOT NULL,
  consumers {TEXT} NOT NULL,
  resource {TEXT} NOT NULL,
  fields {TEXT} NOT NULL,
  schedule {TEXT} NOT NULL,
  contacts {TEXT} NOT NULL,
  applicant {KEY} NOT NULL,
  decided_by {KEY} NOT NULL,
  reason {TEXT} NOT NULL,
  created_ms BIGINT NOT NULL,
  decided_ms BIGINT NOT NULL
){END};
CREATE INDEX exchange_work_orders_by_task ON exchange_work_orders (task_id, id);

CREATE TABLE exchange_progress (
  task_id BIGINT NOT NULL,
  subscriber_id BIGINT NOT NULL,
  hwm BIGINT NOT NULL,
  rows_applied BIGINT NOT NULL,
  rows_dead BIGINT NOT NULL,
  last_run_ms BIGINT NOT NULL,
  last_ok_ms BIGINT NOT NULL,
  last_error {TEXT} NOT NULL,
  failures BIGINT NOT NULL,
  next_attempt_ms BIGINT NOT NULL,
  PRIMARY KEY (task_id, subscriber_id)
){END};

CREATE TABLE exchange_dead_letters (
  id {ID},
  task_id BIGINT NOT NULL,
  subscriber_id BIGINT NOT NULL,
  tongid {KEY} NOT NULL,
  dataversion BIGINT NOT NULL,
  payload {TEXT} NOT NULL,
  reason {TEXT} NOT NULL,
  state {KEY} NOT NULL,
  attempts BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  UNIQUE (task_id, subscriber_id, tongid, dataversion)
){END};
CREATE INDEX exchange_dead_letters_by_state ON exchange_dead_letters (state, task_id);

CREATE TABLE exchange_leases (
  task_id BIGINT NOT NULL PRIMARY KEY,
  holder {KEY} NOT NULL,
  until_ms BIGINT NOT NULL
){END};
)sql";

// v2: cron schedules for tasks.
constexpr const char* kMetaV2 = R"sql(
ALTER TABLE exchange_tasks ADD COLUMN cron {KEY} NOT NULL DEFAULT '';
)sql";

// v3: a task's term (Task::runs_until_ms), so that a sharing grant's expiry
// stops its task on every node at the next batch, not at the next sweep.
constexpr const char* kMetaV3 = R"sql(
ALTER TABLE exchange_tasks ADD COLUMN runs_until_ms BIGINT NOT NULL DEFAULT 0;
)sql";

json ContactsJson(const std::vector<Contact>& contacts) {
  json a = json::array();
  for (const Contact& c : contacts) {
    a.push_back({{"name", c.name}, {"phone", c.phone}, {"email", c.email}});
  }
  return a;
}

std::vector<Contact> ContactsFrom(const std::string& text) {
  std::vector<Contact> out;
  json a = json::parse(text, nullptr, false);
  if (!a.is_array()) return out;
  for (const json& c : a) {
    out.push_back({c.value("name", ""), c.value("phone", ""), c.value("email", "")});
  }
  return out;
}

json FieldsJson(const std::vector<Field>& fields) {
  json a = json::array();
  for (const Field& f : fields) {
    a.push_back({{"code", f.code},
                 {"name", f.name},
                 {"type", FieldTypeName(f.type)},
                 {"length", f.length},
                 {"scale", f.scale},
                 {"required", f.required},
                 {"key", f.key}});
  }
  return a;
}

std::vector<Field> FieldsFrom(const std::string& text) {
  std::vector<Field> out;
  json a = json::parse(text, nullptr, false);
  if (!a.is_array()) return out;
  for (const json& j : a) {
    Field f;
    f.code = j.value("code", "");
    f.name = j.value("name", "");
    f.type = ParseFieldType(j.value("type", "string")).value_or(FieldType::kString);
    f.length = j.value("length", 0);
    f.scale = j.value("scale", 0);
    f.required = j.value("required", false);
    f.key = j.value("key", false);
    out.push_back(std::move(f));
  }
  return out;
}

json FilterJson(const std::vector<FilterTerm>& terms) {
  json a = json::array();
  for (const FilterTerm& t : terms)
    a.push_back({{"field", t.field}, {"op", t.op}, {"value", t.value}});
  return a;
}

std::vector<FilterTerm> FilterFrom(const std::string& text) {
  std::vector<FilterTerm> out;
  json a = json::parse(text, nullptr, false);
  if (!a.is_array()) return out;
  for (const json& j : a)
    out.push_back({j.value("field", ""), j.value("op", ""), j.value("value", "")});
  return out;
}

Node NodeFrom(const soci::row& r) {
  Node n;
  n.id = I64(r, "id");
  n.name = Text(r, "name");
  n.division = Text(r, "division");
  n.dept_code = Text(r, "dept_code");
  n.dept_name = Text(r, "dept_name");
  n.backend = Text(r, "backend");
  n.url_shown = Text(r, "url_shown");
  n.contacts = ContactsFrom(Text(r, "contacts"));
  n.created_ms = I64(r, "created_ms");
  n.updated_ms = I64(r, "updated_ms");
  return n;
}

Resource ResourceFrom(const soci::row& r) {
  Resource res;
  res.id = I64(r, "id");
  res.node_id = I64(r, "node_id");
  res.code = Text(r, "code");
  res.name = Text(r, "name");
  res.model = ParseTableModel(Text(r, "model")).value_or(TableModel::kHorizontal);
  res.fields = FieldsFrom(Text(r, "fields"));
  std::string apps = Text(r, "web_apps");
  for (size_t start = 0; start < apps.size();) {
    size_t comma = apps.find(',', start);
    if (comma == std::string::npos) comma = apps.size();
    if (comma > start) res.web_apps.push_back(apps.substr(start, comma - start));
    start = comma + 1;
  }
  res.created_ms = I64(r, "created_ms");
  res.updated_ms = I64(r, "updated_ms");
  return res;
}

Task TaskFrom(const soci::row& r) {
  Task t;
  t.id = I64(r, "id");
  t.code = Text(r, "code");
  t.name = Text(r, "name");
  t.provider_resource_id = I64(r, "provider_resource_id");
  t.filter = FilterFrom(Text(r, "filter"));
  t.poll_seconds = static_cast<int>(I64(r, "poll_seconds"));
  t.cron = Text(r, "cron");
  t.batch_size = static_cast<int>(I64(r, "batch_size"));
  t.enabled = I64(r, "enabled") != 0;
  t.approved_order_id = I64(r, "approved_order_id");
  t.runs_until_ms = I64(r, "runs_until_ms");
  t.created_ms = I64(r, "created_ms");
  t.updated_ms = I64(r, "updated_ms");
  return t;
}

WorkOrder OrderFrom(const soci::row& r) {
  WorkOrder o;
  o.id = I64(r, "id");
  o.task_id = I64(r, "task_id");
  o.state = ParseOrderState(Text(r, "state")).value_or(OrderState::kDraft);
  o.provider = Text(r, "provider");
  o.consumers = Text(r, "consumers");
  o.resource = Text(r, "resource");
  o.fields = Text(r, "fields");
  o.schedule = Text(r, "schedule");
  o.contacts = ContactsFrom(Text(r, "contacts"));
  o.applicant = Text(r, "applicant");
  o.decided_by = Text(r, "decided_by");
  o.reason = Text(r, "reason");
  o.created_ms = I64(r, "created_ms");
  o.decided_ms = I64(r, "decided_ms");
  return o;
}

Status LoadSubscribers(soci::session& sql, Task& task) {
  long long id = task.id;
  soci::rowset<soci::row> rows = (sql.prepare << "SELECT id, resource_id, mapping FROM "
                                                 "exchange_task_subscribers WHERE task_id = :t "
                                                 "ORDER BY id",
                                  soci::use(id));
  task.subscribers.clear();
  for (const soci::row& r : rows) {
    Subscriber s;
    s.id = I64(r, "id");
    s.resource_id = I64(r, "resource_id");
    json m = json::parse(Text(r, "mapping"), nullptr, false);
    if (m.is_object()) {
      for (auto it = m.begin(); it != m.end(); ++it) {
        if (it.value().is_string()) s.mapping[it.key()] = it.value().get<std::string>();
      }
    }
    task.subscribers.push_back(std::move(s));
  }
  return Status::Ok();
}

Status InsertSubscribers(soci::session& sql, const Task& task) {
  long long tid = task.id;
  sql << "DELETE FROM exchange_task_subscribers WHERE task_id = :t", soci::use(tid);
  for (const Subscriber& s : task.subscribers) {
    json m = json::object();
    for (const auto& [from, to] : s.mapping) m[from] = to;
    long long rid = s.resource_id;
    std::string mapping = m.dump();
    sql << "INSERT INTO exchange_task_subscribers (task_id, resource_id, mapping) "
           "VALUES (:t, :r, :m)",
        soci::use(tid), soci::use(rid), soci::use(mapping);
  }
  return Status::Ok();
}

bool IsKnownOp(std::string_view op) {
  return op == "=" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

}  // namespace

std::vector<Migration> ExchangeMeta::Migrations() {
  std::vector<Migration> out = {PortableMigration("exchange_meta", 1, kMetaV1),
                                PortableMigration("exchange_meta", 2, kMetaV2),
                                PortableMigration("exchange_meta", 3, kMetaV3)};
  for (Migration& m : HallMigrations()) out.push_back(std::move(m));
  return out;
}

ExchangeMeta::ExchangeMeta(SqlStore& store, Clock& clock, const crypto::SecretBox& box)
    : store_(store), clock_(clock), box_(box) {}

std::string ExchangeMeta::UrlContext(std::string_view node_name) const {
  return "exchange-node-url:" + std::string(node_name);
}

// ---- Nodes ----

Result<Node> ExchangeMeta::CreateNode(Node node) {
  if (!directory::IsValidDivisionCode(node.division) ||
      (node.division.size() != 6 && node.division.size() != 12)) {
    return Error::InvalidArgument("division code must be a GB/T 2260 6- or 12-digit code");
  }
  bool uscc = node.dept_code.size() == 18 && directory::IsValidSocialCreditCode(node.dept_code);
  bool org = directory::IsValidOrganizationCode(node.dept_code);
  if (!uscc && !org) {
    return Error::InvalidArgument(
        "department code must be an 18-character 统一社会信用代码 (GB 32100) or a 9-character "
        "组织机构代码 (GB 11714) with a valid check character");
  }
  if (node.dept_name.empty()) return Error::InvalidArgument("department name is required");
  auto backend = UrlBackend(node.url);
  if (!backend.ok()) return backend.error();
  node.backend = *backend;
  node.name = NodeName(node.division, node.dept_code);
  node.url_shown = MaskUrlPassword(node.url);
  auto sealed = box_.Seal(node.url, UrlContext(node.name));
  if (!sealed.ok()) return sealed.error();
  node.created_ms = node.updated_ms = clock_.NowMillis();
  std::string contacts = ContactsJson(node.contacts).dump();
  auto id = store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    int count = 0;
    sql << "SELECT COUNT(*) FROM exchange_nodes WHERE name = :n", soci::use(node.name),
        soci::into(count);
    if (count > 0) return Error::AlreadyExists("a node named " + node.name + " exists");
    long long created = node.created_ms;
    return InsertReturningId(
        sql, store_.dialect(),
        "INSERT INTO exchange_nodes (name, division, dept_code, dept_name, backend, url_sealed, "
        "url_shown, contacts, created_ms, updated_ms) VALUES (:a, :b, :c, :d, :e, :f, :g, :h, :i, "
        ":j)",
        soci::use(node.name), soci::use(node.division), soci::use(node.dept_code),
        soci::use(node.dept_name), soci::use(node.backend), soci::use(*sealed),
        soci::use(node.url_shown), soci::use(contacts), soci::use(created), soci::use(created));
  });
  if (!id.ok()) return id.error();
  node.id = *id;
  node.url.clear();
  return node;
}

Result<std::vector<Node>> ExchangeMeta::ListNodes() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Node>> {
    std::vector<Node> out;
    soci::rowset<soci::row> rows = sql.prepare << "SELECT * FROM exchange_nodes ORDER BY id";
    for (const soci::row& r : rows) out.push_back(NodeFrom(r));
    return out;
  });
}

Result<Node> ExchangeMeta::GetNode(int64_t id) {
  return store_.WithSession([&](soci::session& sql) -> Result<Node> {
    long long i = id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_nodes WHERE id = :i", soci::use(i));
    for (const soci::row& r : rows) return NodeFrom(r);
    return Error::NotFound("no exchange node " + std::to_string(id));
  });
}

Result<Node> ExchangeMeta::FindNodeByName(std::string_view name) {
  std::string n(name);
  return store_.WithSession([&](soci::session& sql) -> Result<Node> {
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_nodes WHERE name = :n", soci::use(n));
    for (const soci::row& r : rows) return NodeFrom(r);
    return Error::NotFound("no exchange node " + n);
  });
}

Result<std::string> ExchangeMeta::NodeUrl(int64_t id) {
  auto sealed =
      store_.WithSession([&](soci::session& sql) -> Result<std::pair<std::string, std::string>> {
        long long i = id;
        soci::rowset<soci::row> rows =
            (sql.prepare << "SELECT name, url_sealed FROM exchange_nodes WHERE id = :i",
             soci::use(i));
        for (const soci::row& r : rows)
          return std::make_pair(Text(r, "name"), Text(r, "url_sealed"));
        return Error::NotFound("no exchange node " + std::to_string(id));
      });
  if (!sealed.ok()) return sealed.error();
  return box_.Open(sealed->second, UrlContext(sealed->first));
}

// ---- Resources ----

Result<Resource> ExchangeMeta::CreateResource(Resource resource) {
  TB_RETURN_IF_ERROR(ValidateResource(resource));
  auto node = GetNode(resource.node_id);
  if (!node.ok()) return node.error();
  resource.created_ms = resource.updated_ms = clock_.NowMillis();
  std::string fields = FieldsJson(resource.fields).dump();
  std::string model(TableModelName(resource.model));
  std::string apps;
  for (const std::string& a : resource.web_apps) {
    if (a.empty() || a.find(',') != std::string::npos) {
      return Error::InvalidArgument("web access app codes must be non-empty, without commas");
    }
    apps += (apps.empty() ? "" : ",") + a;
  }
  auto id = store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    int count = 0;
    long long node_id = resource.node_id;
    sql << "SELECT COUNT(*) FROM exchange_resources WHERE node_id = :n AND code = :c",
        soci::use(node_id), soci::use(resource.code), soci::into(count);
    if (count > 0) {
      return Error::AlreadyExists("resource " + resource.code + " exists on " + node->name);
    }
    long long created = resource.created_ms;
    return InsertReturningId(sql, store_.dialect(),
                             "INSERT INTO exchange_resources (node_id, code, name, model, fields, "
                             "web_apps, created_ms, updated_ms) VALUES (:a, :b, :c, :d, :e, :w, "
                             ":f, :g)",
                             soci::use(node_id), soci::use(resource.code), soci::use(resource.name),
                             soci::use(model), soci::use(fields), soci::use(apps),
                             soci::use(created), soci::use(created));
  });
  if (!id.ok()) return id.error();
  resource.id = *id;
  return resource;
}

Result<std::vector<Resource>> ExchangeMeta::ListResources() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Resource>> {
    std::vector<Resource> out;
    soci::rowset<soci::row> rows = sql.prepare << "SELECT * FROM exchange_resources ORDER BY id";
    for (const soci::row& r : rows) out.push_back(ResourceFrom(r));
    return out;
  });
}

Result<Resource> ExchangeMeta::GetResource(int64_t id) {
  return store_.WithSession([&](soci::session& sql) -> Result<Resource> {
    long long i = id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_resources WHERE id = :i", soci::use(i));
    for (const soci::row& r : rows) return ResourceFrom(r);
    return Error::NotFound("no exchange resource " + std::to_string(id));
  });
}

Result<Resource> ExchangeMeta::FindResource(int64_t node_id, std::string_view code) {
  std::string c(code);
  return store_.WithSession([&](soci::session& sql) -> Result<Resource> {
    long long n = node_id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_resources WHERE node_id = :n AND code = :c",
         soci::use(n), soci::use(c));
    for (const soci::row& r : rows) return ResourceFrom(r);
    return Error::NotFound("no exchange resource " + c);
  });
}

Result<std::vector<std::string>> ExchangeMeta::SubscriberApps(std::string_view code,
                                                              std::string_view sender) {
  auto resources = ListResources();
  if (!resources.ok()) return resources.error();
  std::set<int64_t> providers;
  std::map<int64_t, const Resource*> by_id;
  bool known = false;
  for (const Resource& r : *resources) {
    by_id[r.id] = &r;
    if (r.code != code) continue;
    known = true;
    if (sender.empty() ||
        std::find(r.web_apps.begin(), r.web_apps.end(), sender) != r.web_apps.end()) {
      providers.insert(r.id);
    }
  }
  if (!known) return Error::NotFound("no exchange resource " + std::string(code));
  auto tasks = ListTasks();
  if (!tasks.ok()) return tasks.error();
  std::set<std::string> apps;
  // A task past its term (an expired sharing grant) names no receiver, as a
  // disabled one does (review17c: files reached an expired grant's department).
  const int64_t now = clock_.NowMillis();
  for (const Task& t : *tasks) {
    if (!t.Runnable(now) || !providers.contains(t.provider_resource_id)) {
      continue;
    }
    for (const Subscriber& s : t.subscribers) {
      auto it = by_id.find(s.resource_id);
      if (it == by_id.end()) continue;
      apps.insert(it->second->web_apps.begin(), it->second->web_apps.end());
    }
  }
  return std::vector<std::string>(apps.begin(), apps.end());
}

Result<bool> ExchangeMeta::IsResourceApp(std::string_view code, std::string_view app) {
  auto resources = ListResources();
  if (!resources.ok()) return resources.error();
  bool known = false;
  for (const Resource& r : *resources) {
    if (r.code != code) continue;
    known = true;
    if (std::find(r.web_apps.begin(), r.web_apps.end(), app) != r.web_apps.end()) return true;
  }
  if (!known) return Error::NotFound("no exchange resource " + std::string(code));
  return false;
}

// ---- Tasks ----

Status ExchangeMeta::CheckTask(const Task& task) {
  if (!IsSafeIdentifier(task.code)) {
    return Error::InvalidArgument("task code must match [a-z_][a-z0-9_]{0,62}");
  }
  if (task.name.empty()) return Error::InvalidArgument("task name is required");
  if (task.runs_until_ms < 0) return Error::InvalidArgument("a task's term cannot end before 1970");
  if (task.poll_seconds < 1 || task.poll_seconds > 86400) {
    return Error::InvalidArgument("poll seconds must be 1..86400");
  }
  if (!task.cron.empty()) {
    auto cron = CronSchedule::Parse(task.cron);
    if (!cron.ok()) return cron.error();
  }
  if (task.batch_size < 1 || task.batch_size > 10000) {
    return Error::InvalidArgument("batch size must be 1..10000");
  }
  auto provider = GetResource(task.provider_resource_id);
  if (!provider.ok()) return provider.error();
  if (task.subscribers.empty()) return Error::InvalidArgument("a task needs a subscriber");
  std::set<int64_t> seen;
  for (const Subscriber& s : task.subscribers) {
    if (s.resource_id == task.provider_resource_id) {
      return Error::InvalidArgument("a subscriber cannot be the provider resource");
    }
    if (!seen.insert(s.resource_id).second) {
      return Error::InvalidArgument("a subscriber resource is listed twice");
    }
    auto target = GetResource(s.resource_id);
    if (!target.ok()) return target.error();
    for (const auto& [from, to] : s.mapping) {
      if (provider->FindField(from) == nullptr) {
        return Error::InvalidArgument("mapping names no provider field: " + from);
      }
      if (target->FindField(to) == nullptr) {
        return Error::InvalidArgument("mapping names no field of " + target->code + ": " + to);
      }
    }
  }
  for (const FilterTerm& t : task.filter) {
    if (provider->FindField(t.field) == nullptr) {
      return Error::InvalidArgument("filter names no provider field: " + t.field);
    }
    if (!IsKnownOp(t.op)) {
      return Error::InvalidArgument("filter operator must be = != < <= > >=: " + t.op);
    }
  }
  return Status::Ok();
}

Result<Task> ExchangeMeta::CreateTask(Task task) {
  TB_RETURN_IF_ERROR(CheckTask(task));
  task.created_ms = task.updated_ms = clock_.NowMillis();
  task.approved_order_id = 0;
  std::string filter = FilterJson(task.filter).dump();
  auto id = store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    int count = 0;
    sql << "SELECT COUNT(*) FROM exchange_tasks WHERE code = :c", soci::use(task.code),
        soci::into(count);
    if (count > 0) return Error::AlreadyExists("a task " + task.code + " exists");
    long long provider = task.provider_resource_id, poll = task.poll_seconds,
              batch = task.batch_size, enabled = task.enabled ? 1 : 0, zero = 0,
              created = task.created_ms, until = task.runs_until_ms;
    int64_t id = InsertReturningId(
        sql, store_.dialect(),
        "INSERT INTO exchange_tasks (code, name, provider_resource_id, filter, poll_seconds, "
        "cron, batch_size, enabled, approved_order_id, runs_until_ms, created_ms, updated_ms) "
        "VALUES (:a, :b, :c, :d, :e, :cr, :f, :g, :h, :ru, :i, :j)",
        soci::use(task.code), soci::use(task.name), soci::use(provider), soci::use(filter),
        soci::use(poll), soci::use(task.cron), soci::use(batch), soci::use(enabled),
        soci::use(zero), soci::use(until), soci::use(created), soci::use(created));
    task.id = id;
    TB_RETURN_IF_ERROR(InsertSubscribers(sql, task));
    return id;
  });
  if (!id.ok()) return id.error();
  return GetTask(*id);
}

Result<Task> ExchangeMeta::UpdateTask(Task task) {
  auto old = GetTask(task.id);
  if (!old.ok()) return old.error();
  task.code = old->code;
  task.provider_resource_id = old->provider_resource_id;
  TB_RETURN_IF_ERROR(CheckTask(task));
  std::string filter = FilterJson(task.filter).dump();
  Status done = store_.WithTransaction([&](soci::session& sql) -> Status {
    long long id = task.id, poll = task.poll_seconds, batch = task.batch_size,
              now = clock_.NowMillis();
    sql << "UPDATE exchange_tasks SET name = :n, filter = :f, poll_seconds = :p, cron = :c, "
           "batch_size = :b, approved_order_id = 0, updated_ms = :u WHERE id = :i",
        soci::use(task.name), soci::use(filter), soci::use(poll), soci::use(task.cron),
        soci::use(batch), soci::use(now),
        soci::use(id);
    // Subscribers keep their ids (and so their high-water marks) when they stay.
    std::map<int64_t, int64_t> kept;
    for (const Subscriber& s : old->subscribers) kept[s.resource_id] = s.id;
    std::set<int64_t> wanted;
    for (const Subscriber& s : task.subscribers) {
      wanted.insert(s.resource_id);
      nlohmann::json m = nlohmann::json::object();
      for (const auto& [from, to] : s.mapping) m[from] = to;
      std::string mapping = m.dump();
      long long rid = s.resource_id;
      if (kept.count(s.resource_id) != 0) {
        long long sid = kept[s.resource_id];
        sql << "UPDATE exchange_task_subscribers SET mapping = :m WHERE id = :i",
            soci::use(mapping), soci::use(sid);
      } else {
        sql << "INSERT INTO exchange_task_subscribers (task_id, resource_id, mapping) "
               "VALUES (:t, :r, :m)",
            soci::use(id), soci::use(rid), soci::use(mapping);
      }
    }
    for (const auto& [rid, sid] : kept) {
      if (wanted.count(rid) != 0) continue;
      long long s = sid;
      sql << "DELETE FROM exchange_task_subscribers WHERE id = :i", soci::use(s);
    }
    return Status::Ok();
  });
  if (!done.ok()) return done.error();
  return GetTask(task.id);
}

Result<std::vector<Task>> ExchangeMeta::ListTasks() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Task>> {
    std::vector<Task> out;
    {
      soci::rowset<soci::row> rows = sql.prepare << "SELECT * FROM exchange_tasks ORDER BY id";
      for (const soci::row& r : rows) out.push_back(TaskFrom(r));
    }
    for (Task& t : out) TB_RETURN_IF_ERROR(LoadSubscribers(sql, t));
    return out;
  });
}

Result<Task> ExchangeMeta::GetTask(int64_t id) {
  return store_.WithSession([&](soci::session& sql) -> Result<Task> {
    long long i = id;
    std::optional<Task> task;
    {
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT * FROM exchange_tasks WHERE id = :i", soci::use(i));
      for (const soci::row& r : rows) task = TaskFrom(r);
    }
    if (!task) return Error::NotFound("no exchange task " + std::to_string(id));
    TB_RETURN_IF_ERROR(LoadSubscribers(sql, *task));
    return *task;
  });
}

Result<Task> ExchangeMeta::FindTask(std::string_view code) {
  std::string c(code);
  auto id = store_.WithSession([&](soci::session& sql) -> Result<int64_t> {
    long long id = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT id FROM exchange_tasks WHERE code = :c", soci::use(c), soci::into(id, ind);
    if (!sql.got_data()) return Error::NotFound("no exchange task " + c);
    return static_cast<int64_t>(id);
  });
  if (!id.ok()) return id.error();
  return GetTask(*id);
}

Status ExchangeMeta::SetTaskEnabled(int64_t id, bool enabled) {
  const int64_t now = clock_.NowMillis();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long i = id, e = enabled ? 1 : 0, until = 0;
    sql << "SELECT runs_until_ms FROM exchange_tasks WHERE id = :i", soci::use(i),
        soci::into(until);
    if (!sql.got_data()) return Error::NotFound("no exchange task " + std::to_string(id));
    // A task whose term has ended (its sharing grant expired or was revoked)
    // stays off: enabling it would not make it run, and must not look as if it did.
    if (enabled && until != 0 && now >= until) {
      return Error::Conflict("task " + std::to_string(id) +
                             "'s term has ended (its sharing grant expired or was revoked)");
    }
    sql << "UPDATE exchange_tasks SET enabled = :e WHERE id = :i", soci::use(e), soci::use(i);
    return Status::Ok();
  });
}

Status ExchangeMeta::EndTaskTerm(int64_t id) {
  const int64_t now = clock_.NowMillis();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long i = id, at = now;
    soci::statement st =
        (sql.prepare << "UPDATE exchange_tasks SET enabled = 0, runs_until_ms = CASE WHEN "
                        "runs_until_ms = 0 OR runs_until_ms > :n THEN :n2 ELSE runs_until_ms END "
                        "WHERE id = :i",
         soci::use(at), soci::use(at), soci::use(i));
    st.execute(true);
    if (st.get_affected_rows() == 0)
      return Error::NotFound("no exchange task " + std::to_string(id));
    return Status::Ok();
  });
}

Result<bool> ExchangeMeta::TaskRunnable(int64_t id, int64_t approved_order_id) {
  const int64_t now = clock_.NowMillis();
  return store_.WithSession([&](soci::session& sql) -> Result<bool> {
    long long i = id, enabled = 0, order = 0, until = 0;
    sql << "SELECT enabled, approved_order_id, runs_until_ms FROM exchange_tasks WHERE id = :i",
        soci::use(i), soci::into(enabled), soci::into(order), soci::into(until);
    if (!sql.got_data()) return Error::NotFound("no exchange task " + std::to_string(id));
    return enabled != 0 && order != 0 && order == approved_order_id &&
           (until == 0 || now < until);
  });
}

// ---- Work orders ----

Result<WorkOrder> ExchangeMeta::CreateWorkOrder(int64_t task_id, std::vector<Contact> contacts,
                                                std::string_view applicant) {
  auto task = GetTask(task_id);
  if (!task.ok()) return task.error();
  auto provider = GetResource(task->provider_resource_id);
  if (!provider.ok()) return provider.error();
  auto provider_node = GetNode(provider->node_id);
  if (!provider_node.ok()) return provider_node.error();
  WorkOrder o;
  o.task_id = task_id;
  o.provider = provider_node->name + " / " + provider->code;
  for (const Subscriber& s : task->subscribers) {
    auto r = GetResource(s.resource_id);
    if (!r.ok()) return r.error();
    auto n = GetNode(r->node_id);
    if (!n.ok()) return n.error();
    if (!o.consumers.empty()) o.consumers += "\n";
    o.consumers += n->name + " / " + r->code;
  }
  o.resource = provider->code + " " + provider->name;
  for (const Field& f : provider->fields) {
    if (!o.fields.empty()) o.fields += ",";
    o.fields += f.code;
  }
  o.schedule = task->cron.empty() ? "every " + std::to_string(task->poll_seconds) + " s"
                                  : "cron " + task->cron + " (CST)";
  o.contacts = std::move(contacts);
  o.applicant = std::string(applicant);
  o.created_ms = clock_.NowMillis();
  std::string contacts_json = ContactsJson(o.contacts).dump();
  std::string state(OrderStateName(OrderState::kDraft));
  auto id = store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    long long t = task_id, created = o.created_ms, zero = 0;
    std::string empty;
    return InsertReturningId(
        sql, store_.dialect(),
        "INSERT INTO exchange_work_orders (task_id, state, provider, consumers, resource, fields, "
        "schedule, contacts, applicant, decided_by, reason, created_ms, decided_ms) VALUES (:a, "
        ":b, :c, :d, :e, :f, :g, :h, :i, :j, :k, :l, :m)",
        soci::use(t), soci::use(state), soci::use(o.provider), soci::use(o.consumers),
        soci::use(o.resource), soci::use(o.fields), soci::use(o.schedule), soci::use(contacts_json),
        soci::use(o.applicant), soci::use(empty), soci::use(empty), soci::use(created),
        soci::use(zero));
  });
  if (!id.ok()) return id.error();
  o.id = *id;
  return o;
}

Status ExchangeMeta::SubmitWorkOrder(int64_t order_id) {
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long i = order_id;
    soci::statement st = (sql.prepare << "UPDATE exchange_work_orders SET state = 'submitted' "
                                         "WHERE id = :i AND state IN ('draft', 'refused')",
                          soci::use(i));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return Error::Conflict("work order " + std::to_string(order_id) +
                             " is not a draft (or does not exist)");
    }
    return Status::Ok();
  });
}

Status ExchangeMeta::DecideWorkOrder(int64_t order_id, bool approve, std::string_view admin,
                                     std::string_view reason) {
  if (!approve && reason.empty()) return Error::InvalidArgument("a refusal needs a reason");
  std::string by(admin), why(reason);
  std::string state(OrderStateName(approve ? OrderState::kApproved : OrderState::kRefused));
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long i = order_id, now = clock_.NowMillis();
    soci::statement st =
        (sql.prepare << "UPDATE exchange_work_orders SET state = :s, "
                        "decided_by = :b, reason = :r, decided_ms = :d "
                        "WHERE id = :i AND state = 'submitted'",
         soci::use(state), soci::use(by), soci::use(why), soci::use(now), soci::use(i));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return Error::Conflict("work order " + std::to_string(order_id) + " is not submitted");
    }
    if (approve) {
      sql << "UPDATE exchange_tasks SET approved_order_id = :o WHERE id = (SELECT task_id FROM "
             "exchange_work_orders WHERE id = :i2)",
          soci::use(i), soci::use(i);
    }
    return Status::Ok();
  });
}

Result<WorkOrder> ExchangeMeta::GetWorkOrder(int64_t order_id) {
  return store_.WithSession([&](soci::session& sql) -> Result<WorkOrder> {
    long long i = order_id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_work_orders WHERE id = :i", soci::use(i));
    for (const soci::row& r : rows) return OrderFrom(r);
    return Error::NotFound("no work order " + std::to_string(order_id));
  });
}

Result<std::vector<WorkOrder>> ExchangeMeta::ListWorkOrders(int64_t task_id) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<WorkOrder>> {
    std::vector<WorkOrder> out;
    long long t = task_id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_work_orders WHERE :t = 0 OR task_id = :t2 "
                        "ORDER BY id",
         soci::use(t), soci::use(t));
    for (const soci::row& r : rows) out.push_back(OrderFrom(r));
    return out;
  });
}

Result<std::string> ExchangeMeta::ExportWorkOrderXlsx(int64_t order_id) {
  auto o = GetWorkOrder(order_id);
  if (!o.ok()) return o.error();
  auto task = GetTask(o->task_id);
  if (!task.ok()) return task.error();
  using codec::Cell;
  codec::Sheet sheet;
  sheet.name = "配置工单";
  auto row = [&](std::string k, std::string v) {
    sheet.rows.push_back({Cell::Text(std::move(k)), Cell::Text(std::move(v))});
  };
  row("数据交换配置工单", "");
  row("工单编号", std::to_string(o->id));
  row("交换任务", task->code + " " + task->name);
  row("状态", std::string(OrderStateName(o->state)));
  row("提供方", o->provider);
  row("使用方", o->consumers);
  row("交换资源", o->resource);
  row("交换字段", o->fields);
  row("交换频率", o->schedule);
  for (const Contact& c : o->contacts) row("联系人", c.name + " " + c.phone + " " + c.email);
  row("申请人", o->applicant);
  row("审批人", o->decided_by);
  row("审批意见", o->reason);
  return codec::WriteXlsx({sheet});
}

}  // namespace tongban::exchange
