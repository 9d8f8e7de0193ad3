// The records of the exchange subsystem (数据共享交换): front-end nodes (前置机), resources
// (table definitions, horizontal or vertical), tasks (provider → subscribers) and their
// 配置工单 (work orders), plus the exchanged record itself. Plain values shared by the
// metadata store (meta.h), the DDL (ddl.h), the delivery engine (delivery.h) and the API.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::exchange {

// The directory app whose "admin" role holds the exchange console (platform admins).
inline constexpr std::string_view kAppCode = "exchange";

// ---- Nodes (交换节点 / 前置机) ----

struct Contact {
  std::string name;
  std::string phone;
  std::string email;
};

struct Node {
  int64_t id = 0;
  std::string name;       // QZ_<division>_<department code>, derived (NodeName)
  std::string division;   // GB/T 2260 6- or 12-digit division code
  std::string dept_code;  // 18-char USCC (GB 32100) or 9-char org code (GB 11714)
  std::string dept_name;  // 部门名称
  std::string backend;    // "sqlite", "postgresql", "mysql", "odbc": from the url's scheme
  std::string url;        // the connection url in clear: set on create, never listed or logged
  std::string url_shown;  // the url with its password replaced by "***", for display
  std::vector<Contact> contacts;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Our naming rule (the spec's own rule was lost): "QZ_" + division + "_" + department code,
// the code upper-cased with any '-' removed.
std::string NodeName(std::string_view division, std::string_view dept_code);
// The url with the password part (user:pass@ or PWD=…;) masked, safe to show and log.
std::string MaskUrlPassword(std::string_view url);
// "sqlite", "postgresql", "mysql" or "odbc" for a url SqlStore::Open accepts; InvalidArgument
// otherwise.
Result<std::string> UrlBackend(std::string_view url);

// ---- Resources (交换资源) ----

enum class FieldType { kString, kInt, kDecimal, kDate, kDateTime };
std::string_view FieldTypeName(FieldType type);  // "string", "int", "decimal", "date", "datetime"
std::optional<FieldType> ParseFieldType(std::string_view name);

struct Field {
  std::string code;  // column name: [a-z_][a-z0-9_]{0,62}
  std::string name;  // display name
  FieldType type = FieldType::kString;
  int length = 0;  // string: characters (0 = unbounded text); decimal: total digits (0 = 18)
  int scale = 0;   // decimal only: digits after the point (default 2 when length is 0)
  bool required = false;
  bool key = false;  // part of the business key (record_key in the vertical model)
};

enum class TableModel { kHorizontal, kVertical };   // 横表 / 纵表
std::string_view TableModelName(TableModel model);  // "horizontal", "vertical"
std::optional<TableModel> ParseTableModel(std::string_view name);

struct Resource {
  int64_t id = 0;
  std::string code;  // also the table name on its node: [a-z_][a-z0-9_]{0,62}
  std::string name;
  TableModel model = TableModel::kHorizontal;
  int64_t node_id = 0;  // the node whose table this is
  std::vector<Field> fields;
  // Servicecodes of the access resources (directory apps) allowed to push records into this
  // table and pull its changes over web access (web 接入); empty = none.
  std::vector<std::string> web_apps;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  const Field* FindField(std::string_view code) const;
};

// [a-z_][a-z0-9_]{0,62}: the only identifiers that ever reach generated SQL.
bool IsSafeIdentifier(std::string_view identifier);
// The checks a definition must pass before it is stored or turned into DDL: safe, unique
// codes that do not collide with the control columns, at least one field, sane lengths.
Status ValidateResource(const Resource& resource);

// ---- Tasks (交换任务) ----

// One comparison of a filter: field op value, with op one of = != < <= > >=. Filters are
// evaluated by tongban on the values read, never spliced into SQL.
struct FilterTerm {
  std::string field;
  std::string op;
  std::string value;
};

struct Subscriber {
  int64_t id = 0;
  int64_t resource_id = 0;  // the subscriber's resource (its node and table)
  // provider field code -> subscriber field code; empty = the same codes.
  std::map<std::string, std::string> mapping;
};

struct Task {
  int64_t id = 0;
  std::string code;  // unique, [a-z_][a-z0-9_]{0,62}
  std::string name;
  int64_t provider_resource_id = 0;
  std::vector<Subscriber> subscribers;
  std::vector<FilterTerm> filter;  // all terms must hold (AND)
  int poll_seconds = 60;
  // A five-field cron expression (cron.h, China Standard Time); "" = every poll_seconds.
  // With a cron the task runs at each matching minute, then until caught up.
  std::string cron;
  int batch_size = 1000;
  bool enabled = true;
  // The approved work order that lets this task run; 0 = none (never approved, or the
  // task changed since).
  int64_t approved_order_id = 0;
  // The end of the task's term (ms since the epoch; 0 = none): a task made for a
  // sharing grant (catalogue) runs only until the grant expires, and a revoked
  // grant ends it at once. Past it the task never runs again, enabled or not.
  int64_t runs_until_ms = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  bool InTerm(int64_t now_ms) const { return runs_until_ms == 0 || now_ms < runs_until_ms; }
  // Enabled, approved and in its term: what a run, by schedule or by hand, needs.
  bool Runnable(int64_t now_ms) const {
    return enabled && approved_order_id != 0 && InTerm(now_ms);
  }
};

// ---- 配置工单 (work orders) ----

enum class OrderState { kDraft, kSubmitted, kApproved, kRefused };
std::string_view OrderStateName(OrderState state);  // "draft", "submitted", "approved", "refused"
std::optional<OrderState> ParseOrderState(std::string_view name);

struct WorkOrder {
  int64_t id = 0;
  int64_t task_id = 0;
  OrderState state = OrderState::kDraft;
  // What the order asks for, frozen when it is created from the task: provider node and
  // resource, consumers, fields, schedule.
  std::string provider;   // "QZ_… / resource code"
  std::string consumers;  // one "QZ_… / resource code" per line
  std::string resource;   // resource code and name
  std::string fields;     // field codes, comma-separated
  std::string schedule;   // "every 60 s"
  std::vector<Contact> contacts;
  std::string applicant;   // who drafted it (userid)
  std::string decided_by;  // the platform admin who approved or refused
  std::string reason;      // the refusal reason
  int64_t created_ms = 0;
  int64_t decided_ms = 0;
};

// ---- The exchanged record ----

// Control columns of both models (gov-domain-notes §3); tong_seq is ours: the monotone
// change sequence the delivery's high-water mark runs over.
inline constexpr std::string_view kControlColumns[] = {"tongid",      "sync_status", "dataversion",
                                                       "create_time", "tong_time",   "xk_lydw",
                                                       "xk_lydwdm",   "areacode",    "tong_seq"};
inline constexpr std::string_view kVerticalColumns[] = {"resource_code", "record_key", "field_code",
                                                        "field_value"};

// One business record as it travels: a horizontal row, or a vertical record pivoted.
struct Record {
  std::string tongid;
  char sync_status = 'I';  // I / U / D
  int64_t dataversion = 1;
  int64_t create_time = 0;
  std::string xk_lydw;
  std::string xk_lydwdm;
  std::string areacode;
  int64_t seq = 0;  // the provider's tong_seq (the high-water mark's unit)
  std::map<std::string, std::optional<std::string>> values;  // field code -> value (nullopt = NULL)
};

}  // namespace tongban::exchange
