// The exchange's JSON API (see api.h and docs/api/exchange.md). One route table; admin routes
// authenticate the SSO session of a platform administrator (CSRF on writes), web-access
// routes a signed call of an access resource listed in the resource's web_apps.
#include "exchange/api.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "codec/json_body.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "exchange/ddl.h"
#include "exchange/runner.h"
#include "exchange/sql_util.h"
#include "exchange/web_xml.h"
#include "sso/cas_oidc_support.h"
#include "webapi/callers.h"
#include "webapi/errors.h"
#include "webapi/mount.h"
#include "webapi/route_table.h"

namespace tongban::exchange {

namespace {

using nlohmann::json;

// Result codes of the API's error bodies beyond the HTTP statuses (docs/api/exchange.md).
constexpr int kNotLoggedIn = 4011;
constexpr int kCsrfFailed = 4031;
constexpr int kSystemRefused = 4032;

enum class Access { kAdmin, kSystem };

struct Call {
  const http::Request& request;
  http::Response& response;
  std::vector<std::string> args;
  json body;
  std::string actor;  // admin userid, or the calling app's servicecode
  bool wrote_response = false;
  std::string csrf;  // the admin session's CSRF token (for "me")
  bool xml = false;  // web access in XML (web_xml.h): body read from XML, answer written as XML
  std::string Query(std::string_view name) const { return std::string(request.ParamOr(name)); }
};

using Handler = std::function<Result<json>(ApiServices&, Call&)>;

struct Route {
  std::string method;
  std::string pattern;
  Access access;
  Handler handler;
};

int HttpStatusFor(const Error& e) {
  switch (e.code) {
    case kNotLoggedIn:
      return 401;
    case kCsrfFailed:
    case kSystemRefused:
      return 403;
    default: {
      const int generic = webapi::GenericStatus(e.code);
      return generic != 0 ? generic : 500;
    }
  }
}

void WriteError(http::Response& response, const Error& e, bool xml = false) {
  int status = HttpStatusFor(e);
  std::string message = e.message;
  if (status == 500) {
    spdlog::error("exchange api: {}", e.message);
    message = "内部错误，请查看服务器日志";
  }
  const int shown = e.code < 1000 ? status : e.code;
  if (xml) {
    json error = {{"code", shown}, {"message", message}};
    response.set_status(status);
    response.set_content_type("application/xml;charset=utf-8");
    response.set_body(JsonToWebXml(error, "error"));
    return;
  }
  webapi::WriteError(response, status, shown, message);
}

Result<int64_t> Id(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return Error::InvalidArgument("not an id: " + text);
  }
  return static_cast<int64_t>(std::stoll(text));
}

// Web access in XML: an XML body (Content-Type …/xml), format=xml, or an Accept naming XML
// and not JSON.
bool WantsXml(const http::Request& request) {
  auto has_xml = [](std::string_view v) { return v.find("xml") != std::string_view::npos; };
  if (has_xml(request.Header("Content-Type").value_or(""))) return true;
  std::string_view format = request.ParamOr("format");
  if (!format.empty()) return format == "xml";
  std::string_view accept = request.Header("Accept").value_or("");
  return has_xml(accept) && accept.find("json") == std::string_view::npos;
}

// ---- JSON conversions ----

json ContactsJson(const std::vector<Contact>& contacts) {
  json a = json::array();
  for (const Contact& c : contacts)
    a.push_back({{"name", c.name}, {"phone", c.phone}, {"email", c.email}});
  return a;
}

std::vector<Contact> ContactsFrom(const json& j) {
  std::vector<Contact> out;
  if (!j.is_array()) return out;
  for (const json& c : j) {
    if (c.is_object())
      out.push_back({c.value("name", ""), c.value("phone", ""), c.value("email", "")});
  }
  return out;
}

json NodeJson(const Node& n) {
  return {{"id", n.id},
          {"name", n.name},
          {"division", n.division},
          {"dept_code", n.dept_code},
          {"dept_name", n.dept_name},
          {"backend", n.backend},
          {"url", n.url_shown},
          {"contacts", ContactsJson(n.contacts)},
          {"created_ms", n.created_ms}};
}

json FieldJson(const Field& f) {
  return {{"code", f.code},     {"name", f.name},   {"type", FieldTypeName(f.type)},
          {"length", f.length}, {"scale", f.scale}, {"required", f.required},
          {"key", f.key}};
}

json ResourceJson(const Resource& r) {
  json fields = json::array();
  for (const Field& f : r.fields) fields.push_back(FieldJson(f));
  return {{"id", r.id},
          {"code", r.code},
          {"name", r.name},
          {"model", TableModelName(r.model)},
          {"node_id", r.node_id},
          {"fields", fields},
          {"web_apps", r.web_apps},
          {"created_ms", r.created_ms}};
}

json TaskJson(const Task& t, int64_t now_ms) {
  json subs = json::array();
  for (const Subscriber& s : t.subscribers) {
    subs.push_back({{"id", s.id}, {"resource_id", s.resource_id}, {"mapping", s.mapping}});
  }
  json filter = json::array();
  for (const FilterTerm& f : t.filter)
    filter.push_back({{"field", f.field}, {"op", f.op}, {"value", f.value}});
  return {{"id", t.id},
          {"code", t.code},
          {"name", t.name},
          {"provider_resource_id", t.provider_resource_id},
          {"subscribers", subs},
          {"filter", filter},
          {"poll_seconds", t.poll_seconds},
          {"cron", t.cron},
          {"batch_size", t.batch_size},
          {"enabled", t.enabled},
          {"approved_order_id", t.approved_order_id},
          {"runs_until_ms", t.runs_until_ms},
          {"runnable", t.Runnable(now_ms)}};
}

json OrderJson(const WorkOrder& o) {
  return {{"id", o.id},
          {"task_id", o.task_id},
          {"state", OrderStateName(o.state)},
          {"provider", o.provider},
          {"consumers", o.consumers},
          {"resource", o.resource},
          {"fields", o.fields},
          {"schedule", o.schedule},
          {"contacts", ContactsJson(o.contacts)},
          {"applicant", o.applicant},
          {"decided_by", o.decided_by},
          {"reason", o.reason},
          {"created_ms", o.created_ms},
          {"decided_ms", o.decided_ms}};
}

json ProgressJson(const Progress& p) {
  return {{"task_id", p.task_id},
          {"subscriber_id", p.subscriber_id},
          {"hwm", p.hwm},
          {"rows_applied", p.rows_applied},
          {"rows_dead", p.rows_dead},
          {"last_run_ms", p.last_run_ms},
          {"last_ok_ms", p.last_ok_ms},
          {"last_error", p.last_error},
          {"failures", p.failures},
          {"next_attempt_ms", p.next_attempt_ms}};
}

Result<Task> TaskFromBody(const json& b) {
  if (!b.is_object()) return Error::InvalidArgument("the body must be a JSON object");
  Task t;
  t.code = b.value("code", "");
  t.name = b.value("name", "");
  t.provider_resource_id = b.value("provider_resource_id", int64_t{0});
  t.poll_seconds = b.value("poll_seconds", 60);
  t.cron = b.value("cron", "");
  t.batch_size = b.value("batch_size", 1000);
  t.enabled = b.value("enabled", true);
  if (b.contains("subscribers") && b["subscribers"].is_array()) {
    for (const json& s : b["subscribers"]) {
      Subscriber sub;
      if (s.is_number_integer()) {
        sub.resource_id = s.get<int64_t>();
      } else if (s.is_object()) {
        sub.resource_id = s.value("resource_id", int64_t{0});
        if (s.contains("mapping") && s["mapping"].is_object()) {
          for (auto it = s["mapping"].begin(); it != s["mapping"].end(); ++it) {
            if (!it.value().is_string())
              return Error::InvalidArgument("mapping values must be strings");
            sub.mapping[it.key()] = it.value().get<std::string>();
          }
        }
      } else {
        return Error::InvalidArgument("a subscriber is a resource id or {resource_id, mapping}");
      }
      t.subscribers.push_back(std::move(sub));
    }
  }
  if (b.contains("filter") && b["filter"].is_array()) {
    for (const json& f : b["filter"]) {
      if (!f.is_object()) return Error::InvalidArgument("a filter term is {field, op, value}");
      std::string value = f.contains("value") && f["value"].is_string()
                              ? f["value"].get<std::string>()
                          : f.contains("value") ? f["value"].dump()
                                                : "";
      t.filter.push_back({f.value("field", ""), f.value("op", ""), value});
    }
  }
  return t;
}

// ---- Routes ----

void AddRoutes(std::vector<Route>& r) {
  auto admin = [&r](std::string method, std::string pattern, Handler h) {
    r.push_back({std::move(method), std::move(pattern), Access::kAdmin, std::move(h)});
  };

  // Who is calling, and the CSRF token the console sends back on writes.
  admin("GET", "me", [](ApiServices&, Call& c) -> Result<json> {
    return json{{"userid", c.actor}, {"csrf", c.csrf}};
  });

  // Nodes
  admin("GET", "nodes", [](ApiServices& s, Call&) -> Result<json> {
    auto nodes = s.meta.ListNodes();
    if (!nodes.ok()) return nodes.error();
    json items = json::array();
    for (const Node& n : *nodes) items.push_back(NodeJson(n));
    return json{{"items", items}};
  });
  admin("POST", "nodes", [](ApiServices& s, Call& c) -> Result<json> {
    if (!c.body.is_object()) return Error::InvalidArgument("the body must be a JSON object");
    Node n;
    n.division = c.body.value("division", "");
    n.dept_code = c.body.value("dept_code", "");
    n.dept_name = c.body.value("dept_name", "");
    n.url = c.body.value("url", "");
    n.contacts = ContactsFrom(c.body.value("contacts", json::array()));
    auto created = s.meta.CreateNode(std::move(n));
    if (!created.ok()) return created.error();
    return NodeJson(*created);
  });

  // Resources
  admin("GET", "resources", [](ApiServices& s, Call&) -> Result<json> {
    auto list = s.meta.ListResources();
    if (!list.ok()) return list.error();
    json items = json::array();
    for (const Resource& x : *list) items.push_back(ResourceJson(x));
    return json{{"items", items}};
  });
  admin("POST", "resources", [](ApiServices& s, Call& c) -> Result<json> {
    if (!c.body.is_object()) return Error::InvalidArgument("the body must be a JSON object");
    Resource res;
    res.code = c.body.value("code", "");
    res.name = c.body.value("name", "");
    res.node_id = c.body.value("node_id", int64_t{0});
    auto model = ParseTableModel(c.body.value("model", "horizontal"));
    if (!model) return Error::InvalidArgument("model must be horizontal or vertical");
    res.model = *model;
    for (const json& f : c.body.value("fields", json::array())) {
      if (!f.is_object()) return Error::InvalidArgument("a field is an object");
      Field field;
      field.code = f.value("code", "");
      field.name = f.value("name", "");
      auto type = ParseFieldType(f.value("type", "string"));
      if (!type)
        return Error::InvalidArgument("field type must be string, int, decimal, date or datetime");
      field.type = *type;
      field.length = f.value("length", 0);
      field.scale = f.value("scale", 0);
      field.required = f.value("required", false);
      field.key = f.value("key", false);
      res.fields.push_back(std::move(field));
    }
    for (const json& a : c.body.value("web_apps", json::array())) {
      if (a.is_string()) res.web_apps.push_back(a.get<std::string>());
    }
    auto created = s.meta.CreateResource(std::move(res));
    if (!created.ok()) return created.error();
    json out = ResourceJson(*created);
    if (c.body.value("create_table", false)) {
      auto node = s.nodes.Get(created->node_id);
      Status made = node.ok() ? CreateTable(**node, *created) : Status(node.error());
      out["table"] = made.ok() ? "created" : made.error().message;
    }
    return out;
  });
  admin("POST", "resources/:id/table", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    auto res = s.meta.GetResource(*id);
    if (!res.ok()) return res.error();
    auto node = s.nodes.Get(res->node_id);
    if (!node.ok()) return node.error();
    TB_RETURN_IF_ERROR(CreateTable(**node, *res));
    return json{{"table", res->code}, {"created", true}};
  });
  admin("GET", "resources/:id/ddl", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    auto res = s.meta.GetResource(*id);
    if (!res.ok()) return res.error();
    std::string backend = c.Query("backend");
    SqlDialect d = backend == "mysql"        ? SqlDialect::kMySql
                   : backend == "postgresql" ? SqlDialect::kPostgres
                                             : SqlDialect::kSqlite;
    auto statements = CreateTableStatements(*res, d);
    if (!statements.ok()) return statements.error();
    return json{{"backend", sql_dialect::Name(d)}, {"statements", *statements}};
  });

  // Tasks
  admin("GET", "tasks", [](ApiServices& s, Call&) -> Result<json> {
    auto list = s.meta.ListTasks();
    if (!list.ok()) return list.error();
    json items = json::array();
    for (const Task& t : *list) items.push_back(TaskJson(t, s.sso.clock.NowMillis()));
    return json{{"items", items}};
  });
  admin("POST", "tasks", [](ApiServices& s, Call& c) -> Result<json> {
    auto t = TaskFromBody(c.body);
    if (!t.ok()) return t.error();
    auto created = s.meta.CreateTask(std::move(*t));
    if (!created.ok()) return created.error();
    return TaskJson(*created, s.sso.clock.NowMillis());
  });
  admin("PUT", "tasks/:id", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    auto t = TaskFromBody(c.body);
    if (!t.ok()) return t.error();
    t->id = *id;
    auto updated = s.meta.UpdateTask(std::move(*t));
    if (!updated.ok()) return updated.error();
    return TaskJson(*updated, s.sso.clock.NowMillis());
  });
  admin("POST", "tasks/:id/run", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    auto batches = s.engine.RunTask(*id, 100, {}, /*force=*/true);
    if (!batches.ok()) return batches.error();
    json out = json::array();
    for (const BatchReport& b : *batches) {
      out.push_back({{"subscriber_id", b.subscriber_id},
                     {"read", b.read},
                     {"filtered", b.filtered},
                     {"applied", b.applied},
                     {"unchanged", b.unchanged},
                     {"dead", b.dead},
                     {"hwm", b.hwm_after}});
    }
    return json{{"batches", out}};
  });
  for (bool enable : {true, false}) {
    admin("POST", enable ? "tasks/:id/enable" : "tasks/:id/disable",
          [enable](ApiServices& s, Call& c) -> Result<json> {
            auto id = Id(c.args[0]);
            if (!id.ok()) return id.error();
            TB_RETURN_IF_ERROR(s.meta.SetTaskEnabled(*id, enable));
            if (enable && s.runner != nullptr) s.runner->Wake();
            return json{{"enabled", enable}};
          });
  }

  // 配置工单
  admin("GET", "orders", [](ApiServices& s, Call& c) -> Result<json> {
    int64_t task = 0;
    if (!c.Query("task").empty()) {
      auto id = Id(c.Query("task"));
      if (!id.ok()) return id.error();
      task = *id;
    }
    auto list = s.meta.ListWorkOrders(task);
    if (!list.ok()) return list.error();
    json items = json::array();
    for (const WorkOrder& o : *list) items.push_back(OrderJson(o));
    return json{{"items", items}};
  });
  admin("POST", "tasks/:id/orders", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    std::vector<Contact> contacts =
        ContactsFrom(c.body.is_object() ? c.body.value("contacts", json::array()) : json::array());
    auto o = s.meta.CreateWorkOrder(*id, std::move(contacts), c.actor);
    if (!o.ok()) return o.error();
    if (c.body.is_object() && c.body.value("submit", false)) {
      TB_RETURN_IF_ERROR(s.meta.SubmitWorkOrder(o->id));
      o->state = OrderState::kSubmitted;
    }
    return OrderJson(*o);
  });
  admin("POST", "orders/:id/submit", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    TB_RETURN_IF_ERROR(s.meta.SubmitWorkOrder(*id));
    auto o = s.meta.GetWorkOrder(*id);
    if (!o.ok()) return o.error();
    return OrderJson(*o);
  });
  for (bool approve : {true, false}) {
    admin("POST", approve ? "orders/:id/approve" : "orders/:id/refuse",
          [approve](ApiServices& s, Call& c) -> Result<json> {
            auto id = Id(c.args[0]);
            if (!id.ok()) return id.error();
            std::string reason = c.body.is_object() ? c.body.value("reason", "") : "";
            TB_RETURN_IF_ERROR(s.meta.DecideWorkOrder(*id, approve, c.actor, reason));
            if (approve && s.runner != nullptr) s.runner->Wake();
            auto o = s.meta.GetWorkOrder(*id);
            if (!o.ok()) return o.error();
            return OrderJson(*o);
          });
  }
  admin("GET", "orders/:id/xlsx", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    auto bytes = s.meta.ExportWorkOrderXlsx(*id);
    if (!bytes.ok()) return bytes.error();
    c.response.set_status(200);
    c.response.set_content_type(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    c.response.AddHeader("Content-Disposition",
                         "attachment; filename=\"work-order-" + c.args[0] + ".xlsx\"");
    c.response.set_body(std::move(*bytes));
    c.wrote_response = true;
    return json();
  });
  admin("GET", "orders/:id/pdf", [](ApiServices& s, Call& c) -> Result<json> {
    auto id = Id(c.args[0]);
    if (!id.ok()) return id.error();
    auto bytes = s.meta.ExportWorkOrderPdf(*id);
    if (!bytes.ok()) return bytes.error();
    c.response.set_status(200);
    c.response.set_content_type("application/pdf");
    c.response.AddHeader("Content-Disposition",
                         "attachment; filename=\"work-order-" + c.args[0] + ".pdf\"");
    c.response.set_body(std::move(*bytes));
    c.wrote_response = true;
    return json();
  });

  // Dead letters
  admin("GET", "dead-letters", [](ApiServices& s, Call& c) -> Result<json> {
    int64_t task = 0;
    if (!c.Query("task").empty()) {
      auto id = Id(c.Query("task"));
      if (!id.ok()) return id.error();
      task = *id;
    }
    std::string state = c.Query("state").empty() ? "open" : c.Query("state");
    if (state == "all") state.clear();
    auto list = s.engine.ListDeadLetters(task, state);
    if (!list.ok()) return list.error();
    json items = json::array();
    for (const DeadLetter& l : *list) {
      items.push_back({{"id", l.id},
                       {"task_id", l.task_id},
                       {"subscriber_id", l.subscriber_id},
                       {"tongid", l.tongid},
                       {"dataversion", l.dataversion},
                       {"payload", json::parse(l.payload, nullptr, false)},
                       {"reason", l.reason},
                       {"state", l.state},
                       {"attempts", l.attempts},
                       {"created_ms", l.created_ms}});
    }
    return json{{"items", items}};
  });
  admin("POST", "dead-letters/retry", [](ApiServices& s, Call& c) -> Result<json> {
    int64_t task = c.body.is_object() ? c.body.value("task_id", int64_t{0}) : 0;
    auto report = s.engine.RetryDeadLetters(task);
    if (!report.ok()) return report.error();
    return json{{"resolved", report->resolved},
                {"still_failing", report->still_failing},
                {"skipped", report->skipped}};
  });

  // Health: nodes (connectable, last error) and tasks (lag, rows, errors), red/yellow/green.
  admin("GET", "health", [](ApiServices& s, Call&) -> Result<json> {
    auto nodes = s.meta.ListNodes();
    if (!nodes.ok()) return nodes.error();
    json node_items = json::array();
    std::map<int64_t, bool> node_ok;
    for (const Node& n : *nodes) {
      auto store = s.nodes.Get(n.id);
      Status ping = store.ok() ? (*store)->Ping() : Status(store.error());
      s.nodes.Record(n.id, ping);
      if (!ping.ok() && ping.error().code == errc::kUnavailable) s.nodes.Drop(n.id);
      node_ok[n.id] = ping.ok();
      node_items.push_back({{"id", n.id},
                            {"name", n.name},
                            {"connectable", ping.ok()},
                            {"last_error", ping.ok() ? "" : ping.error().message},
                            {"light", ping.ok() ? "green" : "red"}});
    }
    auto tasks = s.meta.ListTasks();
    if (!tasks.ok()) return tasks.error();
    auto progress = s.engine.ListProgress(0);
    if (!progress.ok()) return progress.error();
    json task_items = json::array();
    for (const Task& t : *tasks) {
      auto provider = s.meta.GetResource(t.provider_resource_id);
      if (!provider.ok()) continue;
      std::optional<int64_t> head;
      if (node_ok[provider->node_id]) {
        auto store = s.nodes.Get(provider->node_id);
        if (store.ok()) {
          auto max = (*store)->WithSession([&](soci::session& sql) -> Result<int64_t> {
            long long v = 0;
            soci::indicator ind = soci::i_null;
            sql << "SELECT MAX(tong_seq) FROM " + QuoteIdent((*store)->dialect(), provider->code),
                soci::into(v, ind);
            return ind == soci::i_ok ? static_cast<int64_t>(v) : int64_t{0};
          });
          if (max.ok()) head = *max;
        }
      }
      json subs = json::array();
      std::string light = t.Runnable(s.sso.clock.NowMillis()) ? "green" : "grey";
      for (const Subscriber& sub : t.subscribers) {
        Progress p;
        p.task_id = t.id;
        p.subscriber_id = sub.id;
        for (const Progress& q : *progress) {
          if (q.task_id == t.id && q.subscriber_id == sub.id) p = q;
        }
        json j = ProgressJson(p);
        j["resource_id"] = sub.resource_id;
        if (head) j["lag_rows"] = std::max<int64_t>(0, *head - p.hwm);
        auto target = s.meta.GetResource(sub.resource_id);
        bool down = !node_ok[provider->node_id] || (target.ok() && !node_ok[target->node_id]);
        if (light != "grey") {
          if (p.failures > 0 || down) {
            light = "red";
          } else if (light == "green" && head && *head - p.hwm > t.batch_size) {
            light = "yellow";
          }
        }
        subs.push_back(std::move(j));
      }
      task_items.push_back(
          {{"id", t.id}, {"code", t.code}, {"light", light}, {"subscribers", subs}});
    }
    return json{{"nodes", node_items}, {"tasks", task_items}};
  });

  // ---- Web access (signed calls) ----
  auto system = [&r](std::string method, std::string pattern, Handler h) {
    r.push_back({std::move(method), std::move(pattern), Access::kSystem, std::move(h)});
  };
  // The resource a call names ("<node name>/<resource code>"), if the calling app may use it.
  struct Target {
    static Result<Resource> Find(ApiServices& s, const Call& c) {
      auto node = s.meta.FindNodeByName(c.args[0]);
      if (!node.ok()) return node.error();
      auto res = s.meta.FindResource(node->id, c.args[1]);
      if (!res.ok()) return res.error();
      if (std::find(res->web_apps.begin(), res->web_apps.end(), c.actor) == res->web_apps.end()) {
        return Error{kSystemRefused, "接入资源 " + c.actor + " 无权访问交换资源 " + res->code};
      }
      return res;
    }
  };
  system("POST", "web/:node/:resource/push", [](ApiServices& s, Call& c) -> Result<json> {
    auto res = Target::Find(s, c);
    if (!res.ok()) return res.error();
    const json& list = c.body.is_object() ? c.body["records"] : c.body;
    if (!list.is_array()) return Error::InvalidArgument("records must be an array");
    if (list.size() > 10000) return Error::TooLarge("at most 10000 records a call");
    std::vector<Record> records;
    json results = json::array();
    std::vector<int> index_of;  // records[i] came from list[index_of[i]]
    std::vector<std::string> early(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      auto rec = RecordFromJson(list[i].dump());
      if (!rec.ok()) {
        early[i] = rec.error().message;
        continue;
      }
      for (const auto& [code, value] : rec->values) {
        if (res->FindField(code) == nullptr) early[i] = "unknown field " + code;
      }
      if (!early[i].empty()) continue;
      index_of.push_back(static_cast<int>(i));
      records.push_back(std::move(*rec));
    }
    auto applied = s.engine.Push(res->id, records);
    if (!applied.ok()) return applied.error();
    std::vector<std::string> reason = early;
    for (const auto& f : applied->failures) reason[index_of[f.index]] = f.reason;
    int refused = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string tongid = list[i].is_object() ? list[i].value("tongid", "") : "";
      if (reason[i].empty()) {
        results.push_back({{"index", i}, {"tongid", tongid}, {"code", 0}, {"message", "ok"}});
      } else {
        ++refused;
        results.push_back({{"index", i}, {"tongid", tongid}, {"code", 1}, {"message", reason[i]}});
      }
    }
    if (s.runner != nullptr) s.runner->Wake();
    return json{{"code", refused == 0 ? 0 : 1},
                {"message", refused == 0 ? "ok" : "some records were refused"},
                {"applied", applied->applied},
                {"unchanged", applied->unchanged},
                {"refused", refused},
                {"results", results}};
  });
  system("GET", "web/:node/:resource/pull", [](ApiServices& s, Call& c) -> Result<json> {
    auto res = Target::Find(s, c);
    if (!res.ok()) return res.error();
    int64_t cursor = 0;
    if (!c.Query("cursor").empty()) {
      auto v = Id(c.Query("cursor"));
      if (!v.ok()) return v.error();
      cursor = *v;
    }
    int limit = 1000;
    if (!c.Query("limit").empty()) {
      auto v = Id(c.Query("limit"));
      if (!v.ok() || *v < 1 || *v > 10000) return Error::InvalidArgument("limit must be 1..10000");
      limit = static_cast<int>(*v);
    }
    int64_t next = cursor;
    auto records = s.engine.Pull(res->id, cursor, limit, &next);
    if (!records.ok()) return records.error();
    json items = json::array();
    bool vertical = c.Query("shape") == "vertical";
    for (const Record& rec : *records) {
      json j = json::parse(RecordToJson(rec));
      if (vertical) {
        json values = json::array();
        for (auto it = j["fields"].begin(); it != j["fields"].end(); ++it) {
          values.push_back({{"field_code", it.key()}, {"field_value", it.value()}});
        }
        j.erase("fields");
        j["values"] = values;
      }
      items.push_back(std::move(j));
    }
    return json{{"code", 0}, {"message", "ok"}, {"cursor", next}, {"records", items}};
  });
}

}  // namespace

struct ExchangeApi::Impl {
  explicit Impl(ApiServices s) : services(s), browser(s.sso), signed_calls(s.sso, "ExchangeApi") {
    std::vector<Route> list;
    AddRoutes(list);
    for (Route& route : list) routes.Add(std::move(route));
  }

  // The API's home beside the transfers (/exchange/api/transfers), and its old place under
  // the SSO context path, kept as an alias: there the browser sends the session cookie even
  // when its path is the context path (approval and exchange disabled set it to "/").
  static constexpr std::string_view kRoot = "/exchange/api/";
  std::string AliasPrefix() const { return services.sso.settings.context_path + "/exchange/api/"; }

  Result<std::string> Admin(const http::Request& request, std::string* csrf) {
    auto session = browser.Resume(request, kNotLoggedIn);
    if (!session.ok()) return session.error();
    auto admin = services.sso.directory.IsPlatformAdmin(session->userid);
    if (!admin.ok()) return admin.error();
    if (!*admin) return Error::PermissionDenied("需要平台管理员权限");
    if (Status csrf_ok = browser.CheckCsrf(request, *session, kCsrfFailed); !csrf_ok.ok()) {
      return csrf_ok.error();
    }
    *csrf = session->csrf;
    return session->userid;
  }

  // tongban's request signature over the API path, body_sha256 binding the body, as the
  // approval API's department calls (docs/integrate-zj.md §2a).
  Result<std::string> System(const http::Request& request, std::string_view method) {
    auto app = signed_calls.Authenticate(request, method,
                                         {.refused = kSystemRefused,
                                          .api_name = "交换接口",
                                          .body = webapi::BodyBinding::kWhenBodyPresent});
    if (!app.ok()) return app.error();
    return (*app)->servicecode;
  }

  void Handle(const http::Request& request, http::Response& response) {
    webapi::SetApiHeaders(response);
    const std::string alias = AliasPrefix();
    const std::string_view relative = request.path().substr(
        request.path().starts_with(alias) ? alias.size() : kRoot.size());
    auto found = routes.Find(request.method(), relative);
    if (!found.route) {
      webapi::WriteRouteMiss(response, found.path_known);
      return;
    }
    Run(*found.route, relative, std::move(found.args), request, response);
  }

  void Run(const Route& route, std::string_view relative, std::vector<std::string> args,
           const http::Request& request, http::Response& response) {
    Call call{request, response, std::move(args), json(), "", false, ""};
    call.xml = route.access == Access::kSystem && WantsXml(request);
    auto actor =
        route.access == Access::kAdmin ? Admin(request, &call.csrf) : System(request, relative);
    if (!actor.ok()) {
      WriteError(response, actor.error(), call.xml);
      return;
    }
    call.actor = *actor;
    if (call.xml && !request.body().empty()) {
      auto body = WebXmlToJson(request.body());
      if (!body.ok()) {
        WriteError(response, body.error(), true);
        return;
      }
      call.body = std::move(body).value();
    } else if (!request.body().empty()) {
      call.body = codec::ParseJsonBody(request.body());
      if (call.body.is_discarded()) {
        WriteError(response, Error::InvalidArgument("请求体不是合法的 JSON"));
        return;
      }
    }
    Result<json> result = Error::Internal("no answer");
    try {
      result = route.handler(services, call);
    } catch (const std::exception& e) {
      spdlog::error("exchange api {} {}: {}", route.method, route.pattern, e.what());
      WriteError(response, Error::Internal("handler failed"), call.xml);
      return;
    }
    if (!result.ok()) {
      WriteError(response, result.error(), call.xml);
      return;
    }
    if (call.wrote_response) return;
    if (call.xml) {
      response.set_status(200);
      response.set_content_type("application/xml;charset=utf-8");
      response.set_body(JsonToWebXml(*result, "result"));
      return;
    }
    response.SetJson(200, result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  ApiServices services;
  webapi::BrowserGate browser;
  webapi::SignedGate signed_calls;
  webapi::RouteTable<Route> routes;
};

ExchangeApi::ExchangeApi(ApiServices services) : impl_(std::make_unique<Impl>(services)) {}
ExchangeApi::~ExchangeApi() = default;

Status ExchangeApi::Register(http::Router& router) {
  Impl& impl = *impl_;
  for (const std::string& prefix : {std::string(Impl::kRoot), impl.AliasPrefix()}) {
    if (prefix == Impl::kRoot && impl.AliasPrefix() == Impl::kRoot) continue;
    webapi::MountOnPool(
        router, prefix,
        [&impl](const http::Request& request, http::Response& response) {
          impl.Handle(request, response);
        },
        "/exchange/api/*", {"GET", "POST", "PUT"});
  }
  return Status::Ok();
}

}  // namespace tongban::exchange
