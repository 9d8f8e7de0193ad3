// ExchangeMeta: nodes (naming, code checks, sealed urls), resources, tasks, work orders.
#include <gtest/gtest.h>

#include "codec/xlsx.h"
#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

using test::Env;

TEST(ExchangeModelTest, NamesNodesByOurRule) {
  EXPECT_EQ(NodeName("330100", "91350100M000100Y43"), "QZ_330100_91350100M000100Y43");
  EXPECT_EQ(NodeName("330100", "12345678-8"), "QZ_330100_123456788");
}

TEST(ExchangeModelTest, MasksPasswordsInUrls) {
  EXPECT_EQ(MaskUrlPassword("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(MaskUrlPassword("mysql://u@h/db"), "mysql://u@h/db");
  EXPECT_EQ(MaskUrlPassword("odbc://DSN=x;UID=u;PWD=secret;dialect=mysql"),
            "odbc://DSN=x;UID=u;PWD=***;dialect=mysql");
  EXPECT_EQ(MaskUrlPassword("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
}

TEST(ExchangeModelTest, AcceptsOnlySafeIdentifiers) {
  EXPECT_TRUE(IsSafeIdentifier("a"));
  EXPECT_TRUE(IsSafeIdentifier("_x9"));
  EXPECT_TRUE(IsSafeIdentifier(std::string(63, 'a')));
  EXPECT_FALSE(IsSafeIdentifier(std::string(64, 'a')));
  EXPECT_FALSE(IsSafeIdentifier("9a"));
  EXPECT_FALSE(IsSafeIdentifier("A"));
  EXPECT_FALSE(IsSafeIdentifier("a;drop table x"));
  EXPECT_FALSE(IsSafeIdentifier("a\"b"));
  EXPECT_FALSE(IsSafeIdentifier(""));
}

TEST(ExchangeModelTest, RejectsDefinitionsThatCollideWithControlColumns) {
  Resource r{0, "people", "人员", TableModel::kHorizontal, 1, test::PersonFields(), {}};
  EXPECT_TRUE(ValidateResource(r).ok());
  r.fields.push_back({"tongid", "x"});
  EXPECT_FALSE(ValidateResource(r).ok());
  r.fields.back().code = "idno";
  EXPECT_FALSE(ValidateResource(r).ok());  // duplicate
  r.fields.back().code = "Bad";
  EXPECT_FALSE(ValidateResource(r).ok());
}

TEST(ExchangeMetaTest, CreatesANodeWithItsNameAndASealedUrl) {
  Env env;
  std::string url = "postgresql://dept:s3cret@127.0.0.1:5999/front";
  Node n = env.AddNode(url, "330100");
  EXPECT_EQ(n.name, "QZ_330100_91350100M000100Y43");
  EXPECT_EQ(n.backend, "postgresql");
  EXPECT_EQ(n.url_shown, "postgresql://dept:***@127.0.0.1:5999/front");
  auto listed = env.meta->ListNodes();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->at(0).url.empty());
  EXPECT_EQ(listed->at(0).contacts.size(), 1u);
  // The password is nowhere in tongban's table in clear.
  auto raw = test::Rows(*env.tongban, "SELECT url_sealed, url_shown FROM exchange_nodes");
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].find("s3cret"), std::string::npos);
  auto opened = env.meta->NodeUrl(n.id);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, url);
}

TEST(ExchangeMetaTest, AcceptsAnOrgCodeAndRefusesBadCodes) {
  Env env;
  Node ok = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100", test::kOrgCode);
  EXPECT_EQ(ok.name, "QZ_330100_123456788");
  Node n;
  n.division = "330100";
  n.dept_name = "x";
  n.url = "sqlite://" + env.dir.File("b.db");
  n.dept_code = "91350100M000100Y44";  // wrong USCC check
  EXPECT_EQ(env.meta->CreateNode(n).error().code, errc::kInvalidArgument);
  n.dept_code = "12345678-9";  // wrong org code check
  EXPECT_EQ(env.meta->CreateNode(n).error().code, errc::kInvalidArgument);
  n.dept_code = test::kUscc;
  n.division = "990100";  // no such province
  EXPECT_EQ(env.meta->CreateNode(n).error().code, errc::kInvalidArgument);
  n.division = "330100";
  n.url = "ftp://x";
  EXPECT_EQ(env.meta->CreateNode(n).error().code, errc::kInvalidArgument);
  n.url = "sqlite://" + env.dir.File("b.db");
  n.dept_code = test::kOrgCode;
  EXPECT_EQ(env.meta->CreateNode(n).error().code, errc::kAlreadyExists);
}

TEST(ExchangeMetaTest, ATaskRunsOnlyAfterItsWorkOrderIsApproved) {
  Env env;
  Node a = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100");
  Node b = env.AddNode("sqlite://" + env.dir.File("b.db"), "330200");
  Resource p = env.AddResource(a.id, "people", TableModel::kHorizontal, test::PersonFields());
  Resource s = env.AddResource(b.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task t;
  t.code = "people_sync";
  t.name = "人员同步";
  t.provider_resource_id = p.id;
  t.subscribers = {{0, s.id, {}}};
  auto task = env.meta->CreateTask(t);
  ASSERT_TRUE(task.ok()) << task.error().message;
  EXPECT_EQ(env.engine->RunTask(task->id).error().code, errc::kConflict);

  auto order = env.meta->CreateWorkOrder(task->id, {{"李四", "13900000000", ""}}, "u1");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->provider, a.name + " / people");
  EXPECT_EQ(order->consumers, b.name + " / people");
  EXPECT_EQ(order->fields, "idno,name,age,fee,born");
  // Not submitted: cannot be decided.
  EXPECT_EQ(env.meta->DecideWorkOrder(order->id, true, "admin", "").error().code, errc::kConflict);
  ASSERT_TRUE(env.meta->SubmitWorkOrder(order->id).ok());
  EXPECT_EQ(env.meta->DecideWorkOrder(order->id, false, "admin", "").error().code,
            errc::kInvalidArgument);  // a refusal needs a reason
  ASSERT_TRUE(env.meta->DecideWorkOrder(order->id, false, "admin", "字段过多").ok());
  EXPECT_EQ(env.meta->GetTask(task->id)->approved_order_id, 0);
  ASSERT_TRUE(env.meta->SubmitWorkOrder(order->id).ok());
  ASSERT_TRUE(env.meta->DecideWorkOrder(order->id, true, "admin", "").ok());
  EXPECT_EQ(env.meta->GetTask(task->id)->approved_order_id, order->id);
  EXPECT_TRUE(env.engine->RunTask(task->id).ok());

  // Changing the task withdraws the approval.
  Task changed = *env.meta->GetTask(task->id);
  changed.poll_seconds = 30;
  ASSERT_TRUE(env.meta->UpdateTask(changed).ok());
  EXPECT_EQ(env.meta->GetTask(task->id)->approved_order_id, 0);
  EXPECT_EQ(env.engine->RunTask(task->id).error().code, errc::kConflict);

  auto xlsx = env.meta->ExportWorkOrderXlsx(order->id);
  ASSERT_TRUE(xlsx.ok());
  auto sheets = codec::ReadXlsx(*xlsx);
  ASSERT_TRUE(sheets.ok());
  ASSERT_EQ(sheets->size(), 1u);
  bool saw_provider = false;
  for (const auto& row : sheets->at(0).rows) {
    if (row.size() == 2 && row[0].text == "提供方") saw_provider = row[1].text == order->provider;
  }
  EXPECT_TRUE(saw_provider);
}

TEST(ExchangeMetaTest, RefusesTasksNamingUnknownFieldsOrOperators) {
  Env env;
  Node a = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100");
  Resource p = env.AddResource(a.id, "people", TableModel::kHorizontal, test::PersonFields());
  Resource s = env.AddResource(a.id, "copy", TableModel::kHorizontal, test::PersonFields());
  Task t;
  t.code = "x";
  t.name = "x";
  t.provider_resource_id = p.id;
  t.subscribers = {{0, s.id, {{"nosuch", "name"}}}};
  EXPECT_EQ(env.meta->CreateTask(t).error().code, errc::kInvalidArgument);
  t.subscribers = {{0, s.id, {}}};
  t.filter = {{"age", "; DROP TABLE people", "1"}};
  EXPECT_EQ(env.meta->CreateTask(t).error().code, errc::kInvalidArgument);
  t.filter = {{"nosuch", "=", "1"}};
  EXPECT_EQ(env.meta->CreateTask(t).error().code, errc::kInvalidArgument);
  t.filter = {{"age", ">=", "18"}};
  EXPECT_TRUE(env.meta->CreateTask(t).ok());
  t.code = "bad code";
  EXPECT_EQ(env.meta->CreateTask(t).error().code, errc::kInvalidArgument);
}

}  // namespace
}  // namespace tongban::exchange

namespace tongban::exchange {
namespace {

// Big files sent for a resource code go to the apps of the resources subscribing to it
// through runnable tasks — approved, enabled, in their term (ExchangeMeta::SubscriberApps).
TEST(ExchangeMetaTest, SubscriberAppsOfAResourceCode) {
  Env env;
  Node a = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100");
  Node b = env.AddNode("sqlite://" + env.dir.File("b.db"), "330200");
  Node c = env.AddNode("sqlite://" + env.dir.File("c.db"), "330300");
  Resource p = env.AddResource(a.id, "licences", TableModel::kHorizontal, test::PersonFields());
  auto with_apps = [&](const Node& n, std::vector<std::string> apps) {
    return env.AddResource(n.id, "licences_copy", TableModel::kHorizontal, test::PersonFields(),
                           false, std::move(apps));
  };
  Resource sb = with_apps(b, {"court", "tax"});
  Resource sc = with_apps(c, {"tax", "police"});
  // Approved task to b; a task to c not approved yet: only b's apps.
  env.AddApprovedTask("to_b", p.id, {{0, sb.id, {}}});
  Task to_c;
  to_c.code = "to_c";
  to_c.name = "to_c";
  to_c.provider_resource_id = p.id;
  to_c.subscribers = {{0, sc.id, {}}};
  ASSERT_TRUE(env.meta->CreateTask(to_c).ok());
  auto apps = env.meta->SubscriberApps("licences");
  ASSERT_TRUE(apps.ok()) << apps.error().message;
  EXPECT_EQ(*apps, (std::vector<std::string>{"court", "tax"}));
  // A task past its term (an expired sharing grant) names nobody, enabled or
  // not (review17c: big files reached an expired grant's department).
  Task to_c_term = *env.meta->FindTask("to_c");
  ASSERT_TRUE(env.meta->EndTaskTerm(to_c_term.id).ok());
  auto order = env.meta->CreateWorkOrder(to_c_term.id, {}, "tester");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(env.meta->SubmitWorkOrder(order->id).ok());
  ASSERT_TRUE(env.meta->DecideWorkOrder(order->id, true, "admin", "").ok());
  EXPECT_EQ(*env.meta->SubscriberApps("licences"), (std::vector<std::string>{"court", "tax"}));
  Task timed;
  timed.code = "to_c_timed";
  timed.name = "to_c_timed";
  timed.provider_resource_id = p.id;
  timed.subscribers = {{0, sc.id, {}}};
  timed.runs_until_ms = env.clock.NowMillis() + 60'000;
  auto made = env.meta->CreateTask(timed);
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto timed_order = env.meta->CreateWorkOrder(made->id, {}, "tester");
  ASSERT_TRUE(env.meta->SubmitWorkOrder(timed_order->id).ok());
  ASSERT_TRUE(env.meta->DecideWorkOrder(timed_order->id, true, "admin", "").ok());
  EXPECT_EQ(*env.meta->SubscriberApps("licences"),
            (std::vector<std::string>{"court", "police", "tax"}));
  env.clock.Advance(std::chrono::minutes(1));  // the grant expires
  EXPECT_EQ(*env.meta->SubscriberApps("licences"), (std::vector<std::string>{"court", "tax"}));
  // Disabling the approved task leaves nobody; an unknown code is NotFound.
  ASSERT_TRUE(env.meta->SetTaskEnabled(env.meta->FindTask("to_b")->id, false).ok());
  EXPECT_TRUE(env.meta->SubscriberApps("licences")->empty());
  EXPECT_EQ(env.meta->SubscriberApps("nosuch").error().code, errc::kNotFound);
  // Who may send under a code: the web apps of a resource with it, on any node.
  EXPECT_TRUE(*env.meta->IsResourceApp("licences_copy", "police"));
  EXPECT_FALSE(*env.meta->IsResourceApp("licences", "police"));
  EXPECT_EQ(env.meta->IsResourceApp("nosuch", "police").error().code, errc::kNotFound);
}

// review15b: resource codes are unique per node only. A web app of node b's
// "licences_copy" sending under that code reaches the subscribers of b's
// table, never those of node c's namesake.
TEST(ExchangeMetaTest, ASenderReachesTheSubscribersOfItsOwnResourceOnly) {
  Env env;
  Node b = env.AddNode("sqlite://" + env.dir.File("b.db"), "330200");
  Node c = env.AddNode("sqlite://" + env.dir.File("c.db"), "330300");
  Node d = env.AddNode("sqlite://" + env.dir.File("d.db"), "330400");
  auto resource = [&](const Node& n, const std::string& code, std::vector<std::string> apps) {
    return env.AddResource(n.id, code, TableModel::kHorizontal, test::PersonFields(), false,
                           std::move(apps));
  };
  Resource at_b = resource(b, "people", {"deptb"});
  Resource at_c = resource(c, "people", {"deptc"});
  Resource sub_b = resource(d, "people_from_b", {"subb"});
  Resource sub_c = resource(d, "people_from_c", {"subc"});
  env.AddApprovedTask("b_out", at_b.id, {{0, sub_b.id, {}}});
  env.AddApprovedTask("c_out", at_c.id, {{0, sub_c.id, {}}});
  EXPECT_EQ(*env.meta->SubscriberApps("people", "deptb"), std::vector<std::string>{"subb"});
  EXPECT_EQ(*env.meta->SubscriberApps("people", "deptc"), std::vector<std::string>{"subc"});
  EXPECT_TRUE(env.meta->SubscriberApps("people", "stranger")->empty());
  EXPECT_EQ(*env.meta->SubscriberApps("people"), (std::vector<std::string>{"subb", "subc"}));
}

}  // namespace
}  // namespace tongban::exchange
