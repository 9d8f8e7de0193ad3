// ExchangeMeta: the exchange's metadata in tongban's own database (module "exchange_meta"):
// nodes with their sealed connection urls, resources, tasks with subscribers, and the
// 配置工单 that let a task run. Used by the delivery engine, the runner, the API and the CLI.
// Thread-safe (every call is one SqlStore transaction or session).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "crypto/secret_box.h"
#include "exchange/model.h"
#include "store/sql_store.h"

namespace tongban::exchange {

class ExchangeMeta {
 public:
  // Every exchange table in tongban's database: these and the delivery's (progress, dead
  // letters, leases), so one Migrate call sets the subsystem up.
  static std::vector<Migration> Migrations();

  ExchangeMeta(SqlStore& store, Clock& clock, const crypto::SecretBox& box);

  // ---- Nodes ----
  // Checks the division code (GB/T 2260), the department code (USCC, GB 32100, or org code,
  // GB 11714), the url's backend; derives the name (NodeName) and seals the url.
  // AlreadyExists for a node of the same name.
  Result<Node> CreateNode(Node node);
  Result<std::vector<Node>> ListNodes();
  Result<Node> GetNode(int64_t id);  // url left empty; url_shown filled
  Result<Node> FindNodeByName(std::string_view name);
  // The connection url in clear, for opening the node. Never log it.
  Result<std::string> NodeUrl(int64_t id);

  // ---- Resources ----
  // ValidateResource, an existing node; AlreadyExists for the same code on the same node.
  Result<Resource> CreateResource(Resource resource);
  Result<std::vector<Resource>> ListResources();
  Result<Resource> GetResource(int64_t id);
  Result<Resource> FindResource(int64_t node_id, std::string_view code);
  // Who subscribes to resource `code` for big files: the web_apps of the subscriber resources
  // of the runnable tasks (Task::Runnable: enabled, approved, in their term) whose provider
  // resource has that code, sorted, each once.
  // Codes are unique per node only: with `sender`, only the resources with the code that list
  // `sender` among their web_apps count as providers (the sender's own tables, not another
  // node's namesake). NotFound when no resource has the code.
  Result<std::vector<std::string>> SubscriberApps(std::string_view code,
                                                  std::string_view sender = {});
  // Whether `app` is among the web_apps of a resource with that code (any node): the
  // provider's systems, which alone may send big files under the resource's name.
  // NotFound when no resource has the code.
  Result<bool> IsResourceApp(std::string_view code, std::string_view app);

  // ---- Tasks ----
  // Checks the provider and subscriber resources exist, mapping names real fields on both
  // sides, filter terms name provider fields with a known operator.
  Result<Task> CreateTask(Task task);
  // Replaces subscribers, filter and schedule; the task needs a new approved work order.
  Result<Task> UpdateTask(Task task);
  Result<std::vector<Task>> ListTasks();
  Result<Task> GetTask(int64_t id);
  Result<Task> FindTask(std::string_view code);
  // Conflict for enabling a task whose term (Task::runs_until_ms) has ended.
  Status SetTaskEnabled(int64_t id, bool enabled);
  // Disables the task and ends its term now (if it ends later or never): it
  // never runs again, whoever enables it. For a revoked or expired sharing grant.
  Status EndTaskTerm(int64_t id);
  // Whether the task may go on delivering as the run that read it under
  // `approved_order_id` began: still enabled, in its term, and still under that approved work
  // order (a new order may change its filter, subscribers and mapping). One
  // indexed read, made before every batch of a run, so that a disable or a
  // revoked grant (catalogue) stops a run in progress on whichever node holds it.
  Result<bool> TaskRunnable(int64_t id, int64_t approved_order_id);

  // ---- 配置工单 ----
  // A draft order describing the task as it is now.
  Result<WorkOrder> CreateWorkOrder(int64_t task_id, std::vector<Contact> contacts,
                                    std::string_view applicant);
  Status SubmitWorkOrder(int64_t order_id);
  // A platform admin's decision on a submitted order. Approval lets the task run (until
  // the task changes); refusal needs a reason. Conflict unless the order is submitted.
  Status DecideWorkOrder(int64_t order_id, bool approve, std::string_view admin,
                         std::string_view reason);
  Result<WorkOrder> GetWorkOrder(int64_t order_id);
  Result<std::vector<WorkOrder>> ListWorkOrders(int64_t task_id = 0);  // 0 = all
  // The order as an .xlsx workbook (one sheet, 附录1 field / value rows).
  Result<std::string> ExportWorkOrderXlsx(int64_t order_id);
  // The same as a one-page A4 PDF with places for the seals (order_pdf.cc, doc/pdf.h).
  Result<std::string> ExportWorkOrderPdf(int64_t order_id);

  SqlStore& store() { return store_; }
  Clock& clock() { return clock_; }

 private:
  Status CheckTask(const Task& task);
  std::string UrlContext(std::string_view node_name) const;

  SqlStore& store_;
  Clock& clock_;
  const crypto::SecretBox& box_;
};

}  // namespace tongban::exchange
