// `tongban admin exchange …`: nodes, resources, tasks and their 配置工单 from the shell, on the
// same database the server uses: list them, create a resource's table on its node, approve a
// work order, run a task once.
#include <cstdio>
#include <memory>
#include <string>

#include "app/admin.h"
#include "app/exchange_wiring.h"
#include "app/node.h"
#include "exchange/ddl.h"
#include "exchange/hall.h"

namespace tongban::app {
namespace {

int Fail(const Error& error) {
  std::fprintf(stderr, "tongban admin: %s\n", error.message.c_str());
  return 1;
}

struct Exchange {
  std::unique_ptr<Node> node;
  std::unique_ptr<ExchangeWiring> wiring;
};

Result<Exchange> OpenExchange(const Config& config) {
  if (!config.exchange.enabled) {
    return Error::InvalidArgument(
        "the exchange subsystem is disabled ([exchange] enabled = false)");
  }
  auto node = Node::Open(config);
  if (!node.ok()) return std::move(node).error();
  Exchange e;
  e.node = std::move(*node);
  e.wiring = std::make_unique<ExchangeWiring>(*e.node);
  return e;
}

// Adds `exchange <name>` whose command is `body(exchange)`.
template <typename F>
CLI::App* Command(CLI::App* parent, AdminCommands& commands, const char* name, const char* help,
                  F body) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->callback([&commands, body] {
    commands.run = [body](const Config& config) {
      auto e = OpenExchange(config);
      if (!e.ok()) return Fail(e.error());
      return body(*e);
    };
  });
  return cmd;
}

}  // namespace

void RegisterExchangeAdminCommands(CLI::App& admin, AdminCommands& commands) {
  CLI::App* ex = admin.add_subcommand(
      "exchange", "数据共享交换: nodes, resources, tasks, work orders (docs/api/exchange.md)");
  ex->require_subcommand(1);

  Command(ex, commands, "nodes", "List the front-end nodes (前置机)", [](Exchange& e) {
    auto nodes = e.wiring->meta().ListNodes();
    if (!nodes.ok()) return Fail(nodes.error());
    std::printf("id\tname\tbackend\tdept_name\turl\n");
    for (const auto& n : *nodes) {
      std::printf("%lld\t%s\t%s\t%s\t%s\n", static_cast<long long>(n.id), n.name.c_str(),
                  n.backend.c_str(), n.dept_name.c_str(), n.url_shown.c_str());
    }
    return 0;
  });

  auto division = std::make_shared<std::string>();
  auto dept_code = std::make_shared<std::string>();
  auto dept_name = std::make_shared<std::string>();
  auto url = std::make_shared<std::string>();
  CLI::App* add = Command(ex, commands, "node-add", "Register a front-end node",
                          [division, dept_code, dept_name, url](Exchange& e) {
                            exchange::Node n;
                            n.division = *division;
                            n.dept_code = *dept_code;
                            n.dept_name = *dept_name;
                            n.url = *url;
                            auto created = e.wiring->meta().CreateNode(n);
                            if (!created.ok()) return Fail(created.error());
                            std::printf("node %lld %s\n", static_cast<long long>(created->id),
                                        created->name.c_str());
                            return 0;
                          });
  add->add_option("--division", *division, "GB/T 2260 division code")->required();
  add->add_option("--dept-code", *dept_code, "统一社会信用代码 or 组织机构代码")->required();
  add->add_option("--dept-name", *dept_name, "department name")->required();
  add->add_option("--url", *url,
                  "connection url (sqlite:, postgresql://, mysql://, odbc://); with a password "
                  "set TONGBAN_NODE_URL instead (argv is readable by every local user)")
      ->envname("TONGBAN_NODE_URL")
      ->required();

  Command(ex, commands, "resources", "List the resources (table definitions)", [](Exchange& e) {
    auto list = e.wiring->meta().ListResources();
    if (!list.ok()) return Fail(list.error());
    std::printf("id\tnode_id\tcode\tmodel\tfields\tname\n");
    for (const auto& r : *list) {
      std::printf("%lld\t%lld\t%s\t%s\t%zu\t%s\n", static_cast<long long>(r.id),
                  static_cast<long long>(r.node_id), r.code.c_str(),
                  std::string(exchange::TableModelName(r.model)).c_str(), r.fields.size(),
                  r.name.c_str());
    }
    return 0;
  });

  auto resource_id = std::make_shared<int64_t>(0);
  CLI::App* table = Command(ex, commands, "create-table",
                            "Create a resource's table (and change capture) on its node",
                            [resource_id](Exchange& e) {
                              auto r = e.wiring->meta().GetResource(*resource_id);
                              if (!r.ok()) return Fail(r.error());
                              auto store = e.wiring->nodes().Get(r->node_id);
                              if (!store.ok()) return Fail(store.error());
                              Status made = exchange::CreateTable(**store, *r);
                              if (!made.ok()) return Fail(made.error());
                              std::printf("created table %s\n", r->code.c_str());
                              return 0;
                            });
  table->add_option("resource", *resource_id, "resource id")->required();

  Command(ex, commands, "tasks", "List the tasks with their progress", [](Exchange& e) {
    auto tasks = e.wiring->meta().ListTasks();
    if (!tasks.ok()) return Fail(tasks.error());
    auto progress = e.wiring->engine().ListProgress(0);
    if (!progress.ok()) return Fail(progress.error());
    std::printf("id\tcode\trunnable\tsubscriber\thwm\trows_applied\trows_dead\tlast_error\n");
    const int64_t now = e.node->clock().NowMillis();
    for (const auto& t : *tasks) {
      for (const auto& s : t.subscribers) {
        exchange::Progress p;
        for (const auto& q : *progress) {
          if (q.task_id == t.id && q.subscriber_id == s.id) p = q;
        }
        std::printf("%lld\t%s\t%s\t%lld\t%lld\t%lld\t%lld\t%s\n", static_cast<long long>(t.id),
                    t.code.c_str(), t.Runnable(now) ? "yes" : "no",
                    static_cast<long long>(s.resource_id), static_cast<long long>(p.hwm),
                    static_cast<long long>(p.rows_applied), static_cast<long long>(p.rows_dead),
                    p.last_error.c_str());
      }
    }
    return 0;
  });

  Command(ex, commands, "orders", "List the 配置工单 (work orders)", [](Exchange& e) {
    auto orders = e.wiring->meta().ListWorkOrders(0);
    if (!orders.ok()) return Fail(orders.error());
    std::printf("id\ttask_id\tstate\tprovider\tapplicant\tdecided_by\n");
    for (const auto& o : *orders) {
      std::printf("%lld\t%lld\t%s\t%s\t%s\t%s\n", static_cast<long long>(o.id),
                  static_cast<long long>(o.task_id),
                  std::string(exchange::OrderStateName(o.state)).c_str(), o.provider.c_str(),
                  o.applicant.c_str(), o.decided_by.c_str());
    }
    return 0;
  });

  auto order_id = std::make_shared<int64_t>(0);
  CLI::App* approve =
      Command(ex, commands, "approve", "Approve a submitted work order (the task may then run)",
              [order_id](Exchange& e) {
                Status s = e.wiring->meta().DecideWorkOrder(*order_id, true, "cli", "");
                if (!s.ok()) return Fail(s.error());
                std::printf("work order %lld approved\n", static_cast<long long>(*order_id));
                return 0;
              });
  approve->add_option("order", *order_id, "work order id")->required();

  auto export_order = std::make_shared<int64_t>(0);
  auto export_file = std::make_shared<std::string>();
  CLI::App* order_export = Command(
      ex, commands, "order-export", "Write a 配置工单 as .pdf or .xlsx (by the file's extension)",
      [export_order, export_file](Exchange& e) {
        const bool pdf = export_file->ends_with(".pdf");
        if (!pdf && !export_file->ends_with(".xlsx")) {
          return Fail(Error::InvalidArgument("the file must end in .pdf or .xlsx"));
        }
        auto bytes = pdf ? e.wiring->meta().ExportWorkOrderPdf(*export_order)
                         : e.wiring->meta().ExportWorkOrderXlsx(*export_order);
        if (!bytes.ok()) return Fail(bytes.error());
        std::FILE* f = std::fopen(export_file->c_str(), "wb");
        if (f == nullptr ||
            std::fwrite(bytes->data(), 1, bytes->size(), f) != bytes->size()) {
          if (f != nullptr) std::fclose(f);
          return Fail(Error::Unavailable("cannot write " + *export_file));
        }
        if (std::fclose(f) != 0) return Fail(Error::Unavailable("cannot write " + *export_file));
        std::printf("work order %lld -> %s (%zu bytes)\n", static_cast<long long>(*export_order),
                    export_file->c_str(), bytes->size());
        return 0;
      });
  order_export->add_option("order", *export_order, "work order id")->required();
  order_export->add_option("file", *export_file, "output file (.pdf or .xlsx)")->required();

  Command(ex, commands, "hall",
          "Hall data (DB51/T 1625) sources read into approval: cursor, counts, refused rows",
          [](Exchange& e) {
            exchange::HallIntake intake(e.node->sql(), e.node->clock(), e.wiring->engine());
            auto states = intake.ListStates();
            if (!states.ok()) return Fail(states.error());
            std::printf("resource_id	cursor	reported	refused	last_error\n");
            for (const auto& s : *states) {
              std::printf("%lld\t%lld\t%lld\t%lld\t%s\n", static_cast<long long>(s.resource_id),
                          static_cast<long long>(s.cursor), static_cast<long long>(s.reported),
                          static_cast<long long>(s.refused), s.last_error.c_str());
            }
            for (const auto& s : *states) {
              auto refused = intake.ListRefused(s.resource_id);
              if (!refused.ok()) return Fail(refused.error());
              for (const auto& r : *refused) {
                std::printf("refused\t%lld\t%s\tv%lld\t%s\n",
                            static_cast<long long>(r.resource_id), r.tongid.c_str(),
                            static_cast<long long>(r.dataversion), r.reason.c_str());
              }
            }
            return 0;
          });

  auto task_code = std::make_shared<std::string>();
  CLI::App* run = Command(ex, commands, "run", "Run a task once until it is caught up",
                          [task_code](Exchange& e) {
                            auto task = e.wiring->meta().FindTask(*task_code);
                            if (!task.ok()) return Fail(task.error());
                            auto batches = e.wiring->engine().RunTask(task->id, 1000, {}, true);
                            if (!batches.ok()) return Fail(batches.error());
                            long long applied = 0, dead = 0, unchanged = 0;
                            for (const auto& b : *batches) {
                              applied += b.applied;
                              dead += b.dead;
                              unchanged += b.unchanged;
                            }
                            std::printf("%zu batches: %lld applied, %lld unchanged, %lld dead\n",
                                        batches->size(), applied, unchanged, dead);
                            return 0;
                          });
  run->add_option("task", *task_code, "task code")->required();
}

}  // namespace tongban::app
