// SharingStore and BaseResources on SQLite, PostgreSQL and MariaDB:
// applications with their checks, the provider's decision (fewer fields,
// refusal with a reason), grants to exactly the approved fields, revocation
// and expiry taking effect on the next lookup, exchange-mode grants through
// the ExchangeLink, masked answers, refusals that name nothing not granted,
// not-found, and the audit trail of every step.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "catalogue/audit.h"
#include "catalogue_test_support.h"

namespace {

using namespace catalogue_test;
using std::chrono::hours;

const std::string kKnown = "11010519491231002X";
const std::string kMobile = "13800138000";

class CatalogueSharingTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    person = db.Published(PersonResource());
    ASSERT_TRUE(db.base->Put(BaseKind::kPerson, {{kKnown, "张三", "男", "1949-12-31", "汉族",
                                                  "北京市朝阳区演示路 1 号", kMobile, "110105"}})
                    .ok());
  }

  Application Apply(std::vector<std::string> fields, const std::string& app = "") {
    NewApplication req{person.id, "办理户籍迁移时核验身份", "《户口登记条例》第十条", fields, app, 0};
    auto a = db.sharing->Apply(Applicant(), req, "001004");
    EXPECT_TRUE(a.ok()) << a.error().message;
    return a.ok() ? *a : Application{};
  }

  Grant Approve(const Application& a, std::vector<std::string> fields, bool unmasked = false) {
    Decision d{true, std::move(fields), unmasked, 0, ""};
    auto decided = db.sharing->Decide(Provider(), a.id, d);
    EXPECT_TRUE(decided.ok()) << decided.error().message;
    auto g = db.sharing->GetGrant(decided.ok() ? decided->grant_id : 0);
    EXPECT_TRUE(g.ok());
    return g.ok() ? *g : Grant{};
  }

  Result<BaseAnswer> Query(std::string key, std::vector<std::string> fields,
                           std::string app = "", int64_t grant = 0) {
    BaseQuery q;
    q.kind = BaseKind::kPerson;
    q.key = std::move(key);
    q.fields = std::move(fields);
    q.app = app;
    q.orgs = {"001004"};
    q.grant_id = grant;
    q.actor = {app.empty() ? "user-1" : app, app.empty() ? "staff" : "system", "001004"};
    return db.base->Lookup(q);
  }

  Resource person;
};

TEST_P(CatalogueSharingTest, ApplicationsAreCheckedBeforeTheyReachTheProvider) {
  NewApplication req{person.id, "用途", "依据", {"name", "religion"}, "", 0};
  auto unknown_field = db.sharing->Apply(Applicant(), req, "");
  EXPECT_EQ(unknown_field.error().code, errc::kInvalidArgument);
  req.fields = {"name"};
  req.purpose = "";
  EXPECT_EQ(db.sharing->Apply(Applicant(), req, "").error().code, errc::kInvalidArgument);
  req.purpose = "用途";
  req.app = "othersys";
  EXPECT_EQ(db.sharing->Apply(Applicant(), req, "009").error().code, errc::kInvalidArgument);
  Resource closed = PlainResource("涉密名录", "摘要");
  closed.share_type = ShareType::kNone;
  closed.share_condition = "涉及国家秘密";
  closed = db.Published(closed);
  NewApplication none{closed.id, "用途", "依据", {"org_name"}, "", 0};
  EXPECT_EQ(db.sharing->Apply(Applicant(), none, "").error().code, errc::kPermissionDenied);
  Resource draft = PlainResource("草稿", "摘要");
  auto created = db.resources->Create(draft, db.admin);
  NewApplication unpublished{created->id, "用途", "依据", {"org_name"}, "", 0};
  EXPECT_EQ(db.sharing->Apply(Applicant(), unpublished, "").error().code, errc::kNotFound);
}

TEST_P(CatalogueSharingTest, OnlyTheProvidersOrgDecidesAndOnlyOnce) {
  Application a = Apply({"name", "mobile"});
  Decision approve{true, {}, false, 0, ""};
  EXPECT_EQ(db.sharing->Decide(Provider("001009"), a.id, approve).error().code, errc::kNotFound);
  EXPECT_EQ(db.sharing->Decide(Applicant(), a.id, approve).error().code, errc::kNotFound);
  Decision wider{true, {"name", "address"}, false, 0, ""};
  EXPECT_EQ(db.sharing->Decide(Provider(), a.id, wider).error().code, errc::kInvalidArgument);
  Decision refuse{false, {}, false, 0, ""};
  EXPECT_EQ(db.sharing->Decide(Provider(), a.id, refuse).error().code, errc::kInvalidArgument);
  Decision past{true, {}, false, db.clock.NowMillis() - 1, ""};
  EXPECT_EQ(db.sharing->Decide(Provider(), a.id, past).error().code, errc::kInvalidArgument);
  refuse.reason = "用途与申请依据不符";
  auto refused = db.sharing->Decide(Provider(), a.id, refuse);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->state, ApplicationState::kRefused);
  EXPECT_EQ(refused->reason, "用途与申请依据不符");
  EXPECT_EQ(refused->grant_id, 0);
  EXPECT_EQ(db.sharing->Decide(Provider(), a.id, approve).error().code, errc::kConflict);
  auto mine = db.sharing->MyApplications(Applicant());
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->front().state, ApplicationState::kRefused);
  // Another org's staff cannot read it.
  EXPECT_EQ(db.sharing->GetApplication(Applicant("001009"), a.id).error().code, errc::kNotFound);
}

TEST_P(CatalogueSharingTest, AGrantAnswersExactlyTheApprovedFieldsMasked) {
  Application a = Apply({"name", "mobile", "address", "id_number"});
  Grant g = Approve(a, {"id_number", "name", "mobile"});
  EXPECT_EQ(g.fields, (std::vector<std::string>{"id_number", "mobile", "name"}));
  EXPECT_EQ(g.grantee_org, "001004");
  auto all = Query(kKnown, {});
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->record.size(), 3u);
  EXPECT_EQ(all->record[0], (std::pair<std::string, std::string>{"id_number", "110105********002X"}));
  EXPECT_EQ(all->record[1], (std::pair<std::string, std::string>{"name", "张三"}));
  EXPECT_EQ(all->record[2], (std::pair<std::string, std::string>{"mobile", "138****8000"}));
  EXPECT_EQ(all->grant.id, g.id);
  auto one = Query(kKnown, {"name"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->record.size(), 1u);
  // Asked for a field outside the grant: refused, naming granted fields only.
  auto outside = Query(kKnown, {"name", "address"});
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code, result_code::kFieldsNotGranted);
  EXPECT_EQ(outside.error().message.find("address"), std::string::npos);
  EXPECT_EQ(outside.error().message.find("住址"), std::string::npos);
  auto nonexistent = Query(kKnown, {"religion"});
  EXPECT_EQ(nonexistent.error().code, result_code::kFieldsNotGranted);
  EXPECT_EQ(nonexistent.error().message.find("religion"), std::string::npos);
}

TEST_P(CatalogueSharingTest, UnmaskedGrantsShowIdNumbersAndMobiles) {
  Grant g = Approve(Apply({"id_number", "mobile"}), {}, true);
  EXPECT_TRUE(g.unmasked);
  auto answer = Query(kKnown, {});
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->record[0].second, kKnown);
  EXPECT_EQ(answer->record[1].second, kMobile);
}

TEST_P(CatalogueSharingTest, UnknownKeysAreNotFoundAndBadKeysAreRefused) {
  Approve(Apply({"name"}), {});
  auto missing = Query(ResidentId("11010519800101123"), {});
  EXPECT_EQ(missing.error().code, result_code::kNotFound);
  std::string bad = kKnown;
  bad.back() = '1';
  EXPECT_EQ(Query(bad, {}).error().code, result_code::kBadKey);
}

TEST_P(CatalogueSharingTest, NoGrantNoAnswerAndNoExistenceOracle) {
  // Without a grant, known and unknown keys get the same refusal.
  auto known = Query(kKnown, {});
  auto unknown = Query(ResidentId("11010519800101123"), {});
  EXPECT_EQ(known.error().code, result_code::kNoGrant);
  EXPECT_EQ(unknown.error().code, result_code::kNoGrant);
  EXPECT_EQ(known.error().message, unknown.error().message);
  // A grant for staff of the org does not serve a department system.
  Approve(Apply({"name"}), {});
  EXPECT_TRUE(Query(kKnown, {}).ok());
  EXPECT_EQ(Query(kKnown, {}, "deptsys").error().code, result_code::kNoGrant);
}

TEST_P(CatalogueSharingTest, SystemGrantsServeOnlyTheirSystem) {
  Grant g = Approve(Apply({"name"}, "deptsys"), {});
  EXPECT_EQ(g.grantee_app, "deptsys");
  EXPECT_TRUE(Query(kKnown, {}, "deptsys").ok());
  EXPECT_EQ(Query(kKnown, {}, "othersys").error().code, result_code::kNoGrant);
  EXPECT_EQ(Query(kKnown, {}, "deptsys", g.id + 100).error().code, result_code::kNoGrant);
  EXPECT_TRUE(Query(kKnown, {}, "deptsys", g.id).ok());
}

TEST_P(CatalogueSharingTest, RevocationAndExpiryStopTheNextLookup) {
  Grant g = Approve(Apply({"name"}), {});
  ASSERT_TRUE(Query(kKnown, {}).ok());
  EXPECT_EQ(db.sharing->Revoke(Applicant("001009"), g.id, "无关").error().code, errc::kNotFound);
  EXPECT_EQ(db.sharing->Revoke(Provider(), g.id, "").error().code, errc::kInvalidArgument);
  auto revoked = db.sharing->Revoke(Provider(), g.id, "申请用途已完成");
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  EXPECT_EQ(Query(kKnown, {}).error().code, result_code::kNoGrant);
  EXPECT_EQ(db.sharing->Revoke(Provider(), g.id, "再次").error().code, errc::kConflict);

  Application again = Apply({"name"});
  Decision d{true, {}, false, db.clock.NowMillis() + 3'600'000, ""};
  ASSERT_TRUE(db.sharing->Decide(Provider(), again.id, d).ok());
  ASSERT_TRUE(Query(kKnown, {}).ok());
  db.clock.Advance(hours(1));
  EXPECT_EQ(Query(kKnown, {}).error().code, result_code::kNoGrant);
}

// review15b: a resource registered with another department's exchange
// resource is never approved into a task (nor is a subscriber resource that
// stopped being the applicant's since the application); a table nobody can
// be shown to own (no web_apps) gets its task, whose 工单 waits for the
// platform administrator. Ownership is the exact org: a parent org's staff
// do not own its departments' tables (review15c).
TEST_P(CatalogueSharingTest, AnExchangeGrantRunsOnlyBetweenTheTwoDepartmentsOwnTables) {
  Resource r = PlainResource("纳税信用交换", "纳税");
  r.share_mode = ShareMode::kExchange;
  r.exchange_resource_id = 21;  // 001009's table, registered by 001003
  r = db.Published(r);
  std::map<int64_t, std::vector<std::string>> owners{{21, {"001009"}}, {22, {"001004"}}};
  std::vector<bool> created;
  db.sharing->SetExchangeLink(
      {[&](int64_t, int64_t, const std::vector<std::string>&, std::string_view, std::string_view,
           bool approve, int64_t) -> Result<int64_t> {
         created.push_back(approve);
         return static_cast<int64_t>(created.size());
       },
       [&](int64_t) -> Status { return Status::Ok(); },
       [&](int64_t resource) -> Result<std::vector<std::string>> { return owners[resource]; }});
  auto a = db.sharing->Apply(Applicant(), {r.id, "用途", "依据", {"org_name"}, "", 22}, "");
  ASSERT_TRUE(a.ok()) << a.error().message;
  Decision approve{true, {}, false, 0, ""};
  EXPECT_EQ(db.sharing->Decide(Provider("001003"), a->id, approve).error().code,
            errc::kPermissionDenied);
  owners[21] = {"001"};  // a parent org's system: not the department's own
  EXPECT_EQ(db.sharing->Decide(Provider("001003"), a->id, approve).error().code,
            errc::kPermissionDenied);
  owners[21] = {"001003"};
  owners[22] = {"001009"};  // the applicant's table changed hands meanwhile
  EXPECT_EQ(db.sharing->Decide(Provider("001003"), a->id, approve).error().code,
            errc::kPermissionDenied);
  EXPECT_TRUE(created.empty());
  owners[22] = {"001004"};
  ASSERT_TRUE(db.sharing->Decide(Provider("001003"), a->id, approve).ok());
  EXPECT_EQ(created, std::vector<bool>{true});
  // A table without web_apps: the task is made, its order waits for the administrator.
  owners[23] = {};
  auto b = db.sharing->Apply(Applicant(), {r.id, "用途", "依据", {"org_name"}, "", 23}, "");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(db.sharing->Decide(Provider("001003"), b->id, approve).ok());
  EXPECT_EQ(created, (std::vector<bool>{true, false}));
}

// review15b: a provider's staff member holding the user role too cannot
// approve their own application.
TEST_P(CatalogueSharingTest, NobodyDecidesTheirOwnApplication) {
  Resource r = db.Published(PlainResource("婚姻登记信息", "婚姻", "102001", "001002"));
  Party both{{"prov-1", "staff", "001002"}, {"001002"}, false, true};
  auto a = db.sharing->Apply(both, {r.id, "用途", "依据", {"org_name"}, "", 0}, "");
  ASSERT_TRUE(a.ok()) << a.error().message;
  Decision approve{true, {}, false, 0, ""};
  EXPECT_EQ(db.sharing->Decide(both, a->id, approve).error().code, errc::kPermissionDenied);
  Party colleague{{"prov-2", "staff", "001002"}, {"001002"}, false, true};
  EXPECT_TRUE(db.sharing->Decide(colleague, a->id, approve).ok());
}

TEST_P(CatalogueSharingTest, ExchangeModeGrantsMakeAndStopATask) {
  Resource r = PlainResource("社会组织年检结果", "年检");
  r.share_mode = ShareMode::kExchange;
  r.exchange_resource_id = 7;
  r = db.Published(r);
  NewApplication req{r.id, "用途", "依据", {"org_name"}, "", 0};
  EXPECT_EQ(db.sharing->Apply(Applicant(), req, "").error().code, errc::kInvalidArgument);
  req.subscriber_resource_id = 9;
  auto a = db.sharing->Apply(Applicant(), req, "");
  ASSERT_TRUE(a.ok());
  Decision approve{true, {}, false, 0, ""};
  // No exchange on this node: a clear refusal, nothing decided.
  EXPECT_EQ(db.sharing->Decide(Provider("001003"), a->id, approve).error().code,
            errc::kUnavailable);
  std::vector<std::string> calls;
  std::vector<int64_t> terms;  // each task's runs_until_ms
  int64_t next_task = 42;
  db.sharing->SetExchangeLink(
      {[&](int64_t provider, int64_t subscriber, const std::vector<std::string>& fields,
           std::string_view code, std::string_view, bool approve,
           int64_t runs_until_ms) -> Result<int64_t> {
         calls.push_back(fmt::format("create {} {} {} {}{}", provider, subscriber,
                                     JoinFields(fields), code, approve ? "" : " (waits)"));
         terms.push_back(runs_until_ms);
         return next_task++;
       },
       [&](int64_t task) -> Status {
         calls.push_back("stop " + std::to_string(task));
         return Status::Ok();
       },
       [&](int64_t resource) -> Result<std::vector<std::string>> {
         if (resource == 7) return std::vector<std::string>{"001003"};
         if (resource == 9) return std::vector<std::string>{"001009", "001004"};
         if (resource == 11) return std::vector<std::string>{"001004001"};  // a department below
         return Error::NotFound("no such resource");
       }});
  // review15b: the rows go only into the applicant's own table.
  NewApplication elsewhere = req;
  elsewhere.subscriber_resource_id = 11;
  EXPECT_EQ(db.sharing->Apply(Applicant(), elsewhere, "").error().code, errc::kPermissionDenied);
  elsewhere.subscriber_resource_id = 13;
  EXPECT_EQ(db.sharing->Apply(Applicant(), elsewhere, "").error().code, errc::kInvalidArgument);
  auto decided = db.sharing->Decide(Provider("001003"), a->id, approve);
  ASSERT_TRUE(decided.ok()) << decided.error().message;
  auto g = db.sharing->GetGrant(decided->grant_id);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->kind, GrantKind::kExchange);
  EXPECT_EQ(g->exchange_task_id, 42);
  // The task's term is the grant's: its expiry stops it on every node at the
  // next batch, before any sweep.
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms.back(), g->expires_ms);
  ASSERT_TRUE(db.sharing->Revoke(Provider("001003"), g->id, "停止").ok());
  EXPECT_EQ(calls, (std::vector<std::string>{
                       fmt::format("create 7 9 org_name cat_grant_app{}", a->id), "stop 42"}));
  // The revoked grant's task is not stopped again by the sweep.
  EXPECT_EQ(*db.sharing->StopExpiredTasks(), 0);

  // An exchange grant that expires: the sweep stops its task, once.
  auto b = db.sharing->Apply(Applicant(), req, "");
  ASSERT_TRUE(b.ok());
  Decision short_lived{true, {}, false, db.clock.NowMillis() + 3'600'000, ""};
  ASSERT_TRUE(db.sharing->Decide(Provider("001003"), b->id, short_lived).ok());
  EXPECT_EQ(terms.back(), short_lived.expires_ms);
  EXPECT_EQ(*db.sharing->StopExpiredTasks(), 0);
  db.clock.Advance(hours(1));
  EXPECT_EQ(*db.sharing->StopExpiredTasks(), 1);
  EXPECT_EQ(calls.back(), "stop 43");
  EXPECT_EQ(*db.sharing->StopExpiredTasks(), 0);
}

TEST_P(CatalogueSharingTest, EveryStepAndEveryQueryIsAudited) {
  Application a = Apply({"name"});
  Grant g = Approve(a, {});
  ASSERT_TRUE(Query(kKnown, {}).ok());
  ASSERT_FALSE(Query(ResidentId("11010519800101123"), {}).ok());
  ASSERT_FALSE(Query(kKnown, {"mobile"}).ok());
  ASSERT_TRUE(db.sharing->Revoke(Provider(), g.id, "结束").ok());
  ASSERT_FALSE(Query(kKnown, {}).ok());
  auto audit = ListAudit(db.store(), {});
  ASSERT_TRUE(audit.ok());
  std::vector<std::string> steps;
  for (const AuditEntry& e : *audit) {
    if (e.action.starts_with("resource.") || e.action.starts_with("classification.")) continue;
    steps.push_back(e.action + " " + e.outcome);
  }
  EXPECT_EQ(steps, (std::vector<std::string>{
                       "base.query.person denied", "grant.revoke ok", "base.query.person denied",
                       "base.query.person not_found", "base.query.person ok",
                       "application.approve ok", "application.create ok"}));
  const AuditEntry& ok = (*audit)[4];
  EXPECT_EQ(ok.grant_id, g.id);
  EXPECT_EQ(ok.actor, "user-1");
  EXPECT_EQ(ok.fields, "name");
  EXPECT_EQ(ok.subject, "110105********002X");  // never the key in clear
  EXPECT_EQ(ok.subject_mac, db.base->SubjectMac(kKnown));
  auto by_key = ListAudit(db.store(), [&] {
    AuditFilter f;
    f.subject_mac = db.base->SubjectMac(kKnown);
    return f;
  }());
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(by_key->size(), 3u);
}

// Concurrent queries share audit commits (AuditCommitter): every one that
// returned has its own row, whatever batch it rode in.
TEST_P(CatalogueSharingTest, ConcurrentQueriesEachHaveTheirAuditRowWhenAnswered) {
  Grant g = Approve(Apply({"name"}), {});
  constexpr int kThreads = 4, kEach = 15;
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        BaseQuery q;
        q.kind = BaseKind::kPerson;
        q.key = kKnown;
        q.orgs = {"001004"};
        q.actor = {fmt::format("user-{}", t), "staff", "001004"};
        if (db.base->Lookup(q).ok()) ++answered;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(answered.load(), kThreads * kEach);
  auto counts = db.base->audit_counts();
  EXPECT_EQ(counts.rows, kThreads * kEach);
  EXPECT_GE(counts.commits, 1);
  EXPECT_LE(counts.commits, counts.rows);
  AuditFilter f;
  f.grant_id = g.id;
  f.limit = 500;
  auto rows = ListAudit(db.store(), f);
  ASSERT_TRUE(rows.ok());
  std::map<std::string, int> per_actor;
  for (const AuditEntry& e : *rows) {
    if (e.action == "base.query.person" && e.outcome == "ok") ++per_actor[e.actor];
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_actor[fmt::format("user-{}", t)], kEach);
}

// No audit row, no answer: a query whose row cannot be committed fails.
TEST_P(CatalogueSharingTest, AQueryWhoseAuditRowFailsIsNotAnswered) {
  Approve(Apply({"name"}), {});
  ASSERT_TRUE(Query(kKnown, {}).ok());
  ASSERT_TRUE(db.store()
                  .WithSession([](soci::session& sql) -> Status {
                    sql << "DROP TABLE catalogue_audit";
                    return Status::Ok();
                  })
                  .ok());
  auto refused = Query(kKnown, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().code, result_code::kOk);
}

// The HTTP route's way (LookupThen): callers that do not wait for the commit
// queue their rows behind one under way; each answer comes only once its own
// row is committed — the callback finds it in the table, read from another
// pooled session.
TEST_P(CatalogueSharingTest, LookupThenAnswersOnlyAfterItsOwnAuditRowIsCommitted) {
  Grant g = Approve(Apply({"name"}), {});
  constexpr int kThreads = 3, kEach = 12;
  std::atomic<int> answered{0}, row_missing{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        BaseQuery q;
        q.kind = BaseKind::kPerson;
        q.key = kKnown;
        q.orgs = {"001004"};
        const std::string actor = fmt::format("then-{}-{}", t, i);
        q.actor = {actor, "staff", "001004"};
        db.base->LookupThen(q, [&, actor](Result<BaseAnswer> a) {
          AuditFilter f;
          f.actor = actor;
          auto rows = ListAudit(db.store(), f);
          if (!rows.ok() || rows->size() != 1 || (*rows)[0].outcome != "ok") ++row_missing;
          if (a.ok()) ++answered;
          std::lock_guard lock(mu);
          cv.notify_all();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return answered.load() + row_missing.load() >= kThreads * kEach; });
  EXPECT_EQ(answered.load(), kThreads * kEach);
  EXPECT_EQ(row_missing.load(), 0);
  lock.unlock();
  // One more, waited for: the writer has counted every batch before it.
  BaseQuery last;
  last.kind = BaseKind::kPerson;
  last.key = kKnown;
  last.orgs = {"001004"};
  last.actor = {"then-last", "staff", "001004"};
  ASSERT_TRUE(db.base->Lookup(last).ok());
  auto counts = db.base->audit_counts();
  EXPECT_EQ(counts.rows, kThreads * kEach + 1);
  EXPECT_LE(counts.commits, counts.rows);
  (void)g;
}

// One caller's row the database refuses fails that caller's query only: the
// batch it shared is committed again row by row. And a caller's hostile text
// (NUL, invalid UTF-8, megabytes) is stored tamed instead of failing a batch.
TEST_P(CatalogueSharingTest, ARefusedAuditRowFailsOnlyItsOwnQuery) {
  const bool sqlite = db.store().dialect() == SqlDialect::kSqlite;
  ASSERT_TRUE(db.store()
                  .WithSession([sqlite](soci::session& sql) -> Status {
                    if (sqlite) {
                      sql << "CREATE TRIGGER audit_refuse BEFORE INSERT ON catalogue_audit "
                             "WHEN NEW.actor = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END";
                    } else {
                      sql << "ALTER TABLE catalogue_audit ADD CONSTRAINT audit_refuse "
                             "CHECK (actor <> 'refused')";
                    }
                    return Status::Ok();
                  })
                  .ok());
  auto entry = [](const std::string& actor) {
    AuditEntry e;
    e.at_ms = 1;
    e.actor = actor;
    e.actor_kind = "system";
    e.action = "base.query";
    e.outcome = "ok";
    return e;
  };
  AuditCommitter committer(db.store());
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Status> results;
  auto keep = [&](std::string who) {
    return [&, who](Status s) {
      std::lock_guard lock(mu);
      results[who] = s;
      cv.notify_all();
    };
  };
  committer.AppendThen(entry("first"), [&](Status first) {
    keep("first")(first);
    // Queued while the writer is still busy with the first batch: these three
    // share the next.
    committer.AppendThen(entry("good"), keep("good"));
    committer.AppendThen(entry("refused"), keep("refused"));
    AuditEntry hostile = entry("hostile");
    hostile.fields = std::string("name\0\xff\xfe", 7) + std::string(100'000, 'x');
    committer.AppendThen(hostile, keep("hostile"));
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return results.size() == 4; }));
  }
  EXPECT_TRUE(results["first"].ok());
  EXPECT_TRUE(results["good"].ok()) << results["good"].error().message;
  EXPECT_FALSE(results["refused"].ok());
  EXPECT_TRUE(results["hostile"].ok()) << results["hostile"].error().message;
  for (const char* who : {"good", "hostile", "refused"}) {
    AuditFilter f;
    f.actor = who;
    auto rows = ListAudit(db.store(), f);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    EXPECT_EQ(rows->size(), std::string(who) == "refused" ? 0u : 1u) << who;
    if (std::string(who) == "hostile" && rows->size() == 1) {
      const std::string& stored = (*rows)[0].fields;
      EXPECT_TRUE(stored.starts_with("name??")) << stored.substr(0, 20);
      EXPECT_LE(stored.size(), 2'010u);
    }
  }
  // Counted once the writer is past that batch: a row appended and waited
  // for after it.
  ASSERT_TRUE(committer.Append(entry("last")).ok());
  EXPECT_EQ(committer.counts().rows, 4);
}

// No audit row, no answer, on the LookupThen path too: the callback gets the
// commit's error instead of the record.
TEST_P(CatalogueSharingTest, LookupThenGivesNoAnswerWhenItsAuditRowFails) {
  Approve(Apply({"name"}), {});
  ASSERT_TRUE(db.store()
                  .WithSession([](soci::session& sql) -> Status {
                    sql << "DROP TABLE catalogue_audit";
                    return Status::Ok();
                  })
                  .ok());
  BaseQuery q;
  q.kind = BaseKind::kPerson;
  q.key = kKnown;
  q.orgs = {"001004"};
  q.actor = {"user-1", "staff", "001004"};
  std::promise<Result<BaseAnswer>> got;
  db.base->LookupThen(q, [&](Result<BaseAnswer> a) { got.set_value(std::move(a)); });
  auto answer = got.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_FALSE(answer.get().ok());
}

// Rows from several threads that queue while the writer is busy go out in one
// transaction: the first row's callback (on the writer) holds the writer until
// the others are queued, from threads that return at once, without waiting
// for or running a commit themselves.
TEST_P(CatalogueSharingTest, AuditRowsOfManyThreadsShareOneCommit) {
  auto entry = [](const std::string& actor) {
    AuditEntry e;
    e.at_ms = 1;
    e.actor = actor;
    e.actor_kind = "system";
    e.action = "base.query";
    e.outcome = "ok";
    return e;
  };
  AuditCommitter committer(db.store());
  constexpr int kThreads = 4, kEach = 5;
  std::mutex mu;
  std::condition_variable cv;
  bool queued = false;
  int committed = 0;
  std::set<std::thread::id> callback_threads;
  auto count = [&](Status s) {
    std::lock_guard lock(mu);
    if (s.ok()) ++committed;
    callback_threads.insert(std::this_thread::get_id());
    cv.notify_all();
  };
  committer.AppendThen(entry("first"), [&](Status s) {
    count(s);
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return queued; });
  });
  {
    // The writer is inside the first row's callback before the others queue:
    // otherwise it may take "first" and theirs as one batch (two commits).
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return committed == 1; }));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) committer.AppendThen(entry(fmt::format("t{}", t)), count);
    });
  }
  for (std::thread& t : threads) t.join();  // returned without waiting for a commit
  {
    std::lock_guard lock(mu);
    queued = true;
    cv.notify_all();
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return committed == 1 + kThreads * kEach; }));
    EXPECT_EQ(callback_threads.size(), 1u);  // all on the writer
    EXPECT_EQ(callback_threads.count(std::this_thread::get_id()), 0u);
  }
  ASSERT_TRUE(committer.Append(entry("last")).ok());  // counted once it returns
  auto counts = committer.counts();
  EXPECT_EQ(counts.rows, 2 + kThreads * kEach);
  EXPECT_EQ(counts.commits, 3);
}

// Stop (at shutdown, before the server goes): rows already queued are
// committed and answered before it returns; a row after it is refused, its
// caller told at once; a second Stop (and the destructor) does nothing more.
TEST_P(CatalogueSharingTest, AuditStopAnswersWhatWasQueuedAndRefusesMore) {
  AuditEntry e;
  e.at_ms = 1;
  e.actor = "stop";
  e.actor_kind = "system";
  e.action = "base.query";
  e.outcome = "ok";
  AuditCommitter committer(db.store());
  std::mutex mu;
  std::vector<bool> answers;
  for (int i = 0; i < 3; ++i) {
    committer.AppendThen(e, [&](Status s) {
      std::lock_guard lock(mu);
      answers.push_back(s.ok());
    });
  }
  committer.Stop();
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(answers, std::vector<bool>({true, true, true}));
  }
  bool refused = false;
  committer.AppendThen(e, [&](Status s) { refused = !s.ok(); });
  EXPECT_TRUE(refused);
  EXPECT_FALSE(committer.Append(e).ok());
  committer.Stop();
  EXPECT_EQ(committer.counts().rows, 3);
}

// SQLite: a query's grant is read by the audit writer, in the transaction of
// its audit row. A revocation committed after the query was queued but before
// its row is written refuses it (before session 10 the grant was read before
// queueing, and the query was answered). The writer is held at its BEGIN by a
// write transaction of the test's own, inside which the grant is revoked.
TEST_P(CatalogueSharingTest, ARevocationCommittedWhileAQueryIsQueuedRefusesIt) {
  if (db.store().dialect() != SqlDialect::kSqlite) GTEST_SKIP() << "reads on the writer: SQLite";
  Grant g = Approve(Apply({"name"}), {});
  ASSERT_TRUE(Query(kKnown, {}).ok());
  SqlStore::Lease held = db.store().Acquire();
  *held << "BEGIN IMMEDIATE";
  BaseQuery q;
  q.kind = BaseKind::kPerson;
  q.key = kKnown;
  q.orgs = {"001004"};
  q.actor = {"queued", "staff", "001004"};
  std::promise<Result<BaseAnswer>> got;
  db.base->LookupThen(q, [&](Result<BaseAnswer> a) { got.set_value(std::move(a)); });
  long long id = g.id, at = db.clock.NowMillis();
  *held << "UPDATE catalogue_grants SET revoked_at = :t WHERE id = :i", soci::use(at),
      soci::use(id);
  *held << "COMMIT";
  auto answer = got.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto a = answer.get();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, result_code::kNoGrant);
  AuditFilter f;
  f.actor = "queued";
  auto rows = ListAudit(db.store(), f);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].outcome, "denied");
}

// Every outcome of a lookup made on the writer has its row, with the grant
// it ran under: ok, not found, fields outside the grant, no grant.
TEST_P(CatalogueSharingTest, EveryOutcomeOfALookupHasItsRowWithItsGrant) {
  Grant g = Approve(Apply({"name"}), {});
  ASSERT_TRUE(Query(kKnown, {"name"}).ok());
  EXPECT_EQ(Query(ResidentId("11010519800101001"), {}).error().code, result_code::kNotFound);
  EXPECT_EQ(Query(kKnown, {"mobile"}).error().code, result_code::kFieldsNotGranted);
  EXPECT_EQ(Query(kKnown, {}, "other-app").error().code, result_code::kNoGrant);
  AuditFilter f;
  f.action_prefix = "base.query";
  auto rows = ListAudit(db.store(), f);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[3].outcome, "ok");
  EXPECT_EQ((*rows)[3].grant_id, g.id);
  EXPECT_EQ((*rows)[3].fields, "name");
  EXPECT_EQ((*rows)[2].outcome, "not_found");
  EXPECT_EQ((*rows)[2].grant_id, g.id);
  EXPECT_EQ((*rows)[1].outcome, "denied");
  EXPECT_EQ((*rows)[1].grant_id, g.id);
  EXPECT_EQ((*rows)[0].outcome, "denied");
  EXPECT_EQ((*rows)[0].grant_id, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogueSharingTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
