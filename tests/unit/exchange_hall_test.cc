// Hall data (DB51/T 1625 stage records) through the exchange: the hall resource on a real
// node (SQLite file; PostgreSQL when available), publishing idempotently by tongid, the
// intake reading a department's rows in write order, refusing with the sink's reason,
// stopping on an unavailable sink, and keeping fields outside the list.
#include <gtest/gtest.h>

#include "exchange/hall.h"
#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

using test::Env;
using test::Exec;
using test::Rows;

HallRecord Application(const std::string& tongid, const std::string& sblsh) {
  HallRecord r;
  r.tongid = tongid;
  r.stage = "SPSHENQIN";
  r.fields = {{"SBLSH", sblsh}, {"SXBM", "113301000024991243300011700001"},
              {"SXMC", "测试许可"}, {"SQRLX", "1"}, {"SQRMC", "张三"},
              {"SBSJ", "2024-03-20 09:00:00"}, {"XZQHDM", "330100000000"}};
  return r;
}

HallRecord Acceptance(const std::string& tongid, const std::string& sblsh) {
  HallRecord r;
  r.tongid = tongid;
  r.stage = "SPSHOULI";
  r.fields = {{"SBLSH", sblsh}, {"SLZTDM", "1"}, {"SLSJ", "2024-03-20 10:00:00"}, {"BSLYY", ""}};
  return r;
}

class HallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = env_.AddNode("sqlite://" + env_.dir.File("hall.db"), "510100");
    publisher_ = std::make_unique<HallPublisher>(*env_.meta, *env_.engine, *env_.nodes);
  }
  Env env_;
  Node node_;
  std::unique_ptr<HallPublisher> publisher_;
};

TEST_F(HallTest, JsonPayloadRoundTripsInOrder) {
  auto r = HallRecordFromJson(
      R"({"stage":"SPSHOULI","fields":{"SBLSH":"X1","SLZTDM":1,"BSLYY":null,"BLYJ":"好 & <ok>"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stage, "SPSHOULI");
  EXPECT_EQ(r->Field("SLZTDM"), "1");
  EXPECT_EQ(r->Field("BSLYY"), "");
  EXPECT_EQ(HallRecordJson(*r),
            R"({"stage":"SPSHOULI","fields":{"SBLSH":"X1","SLZTDM":"1","BSLYY":"","BLYJ":"好 & <ok>"}})");
  EXPECT_FALSE(HallRecordFromJson(R"({"stage":"SPSHOULI"})").ok());
  EXPECT_FALSE(HallRecordFromJson(R"({"stage":"SPSHOULI","fields":{"A":[1]}})").ok());
}

TEST_F(HallTest, PublishesRowsOnceAndKeepsUnknownFields) {
  auto resource = publisher_->EnsureResource(node_.name, kHallResourceCode);
  ASSERT_TRUE(resource.ok()) << resource.error().message;
  // Ensuring again finds the same resource (and does not recreate the table).
  auto again = publisher_->EnsureResource(node_.name, kHallResourceCode);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->id, resource->id);

  HallRecord apply = Application("hall-1", "CASE-1");
  apply.fields.emplace_back("PROJECT_CODE", "2024-330100-01");  // not a column: other_fields
  auto out = publisher_->Publish(resource->id, {apply, Acceptance("hall-2", "CASE-1")});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->applied, 2);
  EXPECT_TRUE(out->failures.empty());
  // Replaying the same records (an outbox redelivery) changes nothing.
  out = publisher_->Publish(resource->id, {apply, Acceptance("hall-2", "CASE-1")});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->applied, 0);
  EXPECT_EQ(out->unchanged, 2);

  SqlStore& node = env_.NodeStore(node_.id);
  EXPECT_EQ(Rows(node, "SELECT tongid, stage, sblsh, sxmc, slztdm, areacode, other_fields FROM "
                       "hall_stage_records ORDER BY tong_seq"),
            (std::vector<std::string>{
                "hall-1|SPSHENQIN|CASE-1|测试许可|~|330100000000|{\"PROJECT_CODE\":\"2024-330100-01\"}",
                "hall-2|SPSHOULI|CASE-1|~|1||~"}));  // no XZQHDM: areacode ""

  // An unknown stage, a missing tongid, a missing SBLSH: failures naming the cause, others move.
  HallRecord bad_stage = Acceptance("hall-3", "CASE-1");
  bad_stage.stage = "SPNOSUCH";
  HallRecord no_key = Acceptance("hall-4", "");
  out = publisher_->Publish(resource->id, {bad_stage, no_key, Acceptance("hall-5", "CASE-2")});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->applied, 1);
  ASSERT_EQ(out->failures.size(), 2u);
  std::map<size_t, std::string> why;
  for (const auto& f : out->failures) why[f.index] = f.reason;
  EXPECT_NE(why[0].find("SPNOSUCH"), std::string::npos);
  EXPECT_NE(why[1].find("sblsh"), std::string::npos);
}

TEST_F(HallTest, UnknownNodeIsNotFound) {
  auto r = publisher_->EnsureResource("QZ_000000_NOSUCH", kHallResourceCode);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kNotFound);
}

TEST_F(HallTest, IntakeReadsRowsInWriteOrderRefusesAndResumes) {
  auto resource = publisher_->EnsureResource(node_.name, kHallResourceCode);
  ASSERT_TRUE(resource.ok()) << resource.error().message;
  SqlStore& node = env_.NodeStore(node_.id);
  // The department's system writes its rows directly (as DB51 has it), other fields as JSON.
  Exec(node,
       "INSERT INTO hall_stage_records (tongid, stage, sblsh, sxmc, sbsj, other_fields) VALUES "
       "('d1', 'SPSHENQIN', 'C1', '许可', '2024-03-20 09:00:00', '{\"PROJECT_CODE\":\"P1\"}')");
  Exec(node,
       "INSERT INTO hall_stage_records (tongid, stage, sblsh, slztdm, slsj) VALUES "
       "('d2', 'SPSHOULI', 'C1', '1', '2024-03-20 10:00:00')");
  Exec(node,
       "INSERT INTO hall_stage_records (tongid, stage, sblsh, bjjgdm) VALUES "
       "('d3', 'SPBANJIE', 'C1', '9')");
  Exec(node,
       "INSERT INTO hall_stage_records (tongid, stage, sblsh, sync_status) VALUES "
       "('d4', 'SPSHOULI', 'C1', 'D')");

  HallIntake intake(*env_.tongban, env_.clock, *env_.engine);
  std::vector<HallRecord> seen;
  auto sink = [&](const HallRecord& r) -> Status {
    seen.push_back(r);
    if (r.Field("BJJGDM") == "9") return Error::InvalidArgument("BJJGDM 9 is not a result code");
    return Status::Ok();
  };
  auto pass = intake.RunOnce(resource->id, 2, sink);
  ASSERT_TRUE(pass.ok()) << pass.error().message;
  EXPECT_EQ(pass->read, 2);
  EXPECT_TRUE(pass->more);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].stage, "SPSHENQIN");
  EXPECT_EQ(seen[0].Field("SXMC"), "许可");
  EXPECT_EQ(seen[0].Field("PROJECT_CODE"), "P1");
  EXPECT_EQ(seen[1].stage, "SPSHOULI");

  pass = intake.RunOnce(resource->id, 10, sink);
  ASSERT_TRUE(pass.ok()) << pass.error().message;
  EXPECT_EQ(pass->read, 2);
  EXPECT_EQ(pass->refused, 1);
  EXPECT_EQ(pass->skipped, 1);
  EXPECT_FALSE(pass->more);
  auto refused = intake.ListRefused(resource->id);
  ASSERT_TRUE(refused.ok());
  ASSERT_EQ(refused->size(), 1u);
  EXPECT_EQ(refused->at(0).tongid, "d3");
  EXPECT_NE(refused->at(0).reason.find("BJJGDM"), std::string::npos);
  auto state = intake.GetState(resource->id);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->reported, 2);
  EXPECT_EQ(state->refused, 1);

  // A sink that cannot take records now: the cursor stays, and the row comes again.
  Exec(node,
       "INSERT INTO hall_stage_records (tongid, stage, sblsh, slztdm, slsj) VALUES "
       "('d5', 'SPSHOULI', 'C2', '1', '2024-03-21 10:00:00')");
  auto down = intake.RunOnce(resource->id, 10, [](const HallRecord&) -> Status {
    return Error::Unavailable("database down");
  });
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, errc::kUnavailable);
  EXPECT_EQ(intake.GetState(resource->id)->last_error, "database down");
  seen.clear();
  pass = intake.RunOnce(resource->id, 10, sink);
  ASSERT_TRUE(pass.ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].tongid, "d5");
  EXPECT_EQ(intake.GetState(resource->id)->last_error, "");
  // Nothing new: nothing read.
  pass = intake.RunOnce(resource->id, 10, sink);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->read, 0);
}

}  // namespace
}  // namespace tongban::exchange
