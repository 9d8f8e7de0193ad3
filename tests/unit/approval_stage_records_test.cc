// Stage records (stage_records.h): what each transition produces, the XML and
// JSON forms, and what the intake of department reports accepts and refuses.
#include "approval/stage_records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tongban::approval {
namespace {

constexpr char kImplementCode[] = "11100000000013127D3000117009000";  // 31 characters
constexpr char kNumber[] = "11100000000013127D300011700900020240315" "0001";
constexpr int64_t kRegisteredAt = 1710466200000;  // 2024-03-15 09:30:00 CST
constexpr int64_t kLaterAt = 1710900000000;       // 2024-03-20 10:00:00 CST
constexpr int64_t kLastAt = 1711091700000;        // 2024-03-22 15:15:00 CST

Matter PlanningMatter() {
  Matter m;
  m.basic_code = "000117009000";
  m.implement_code = kImplementCode;
  m.name = "建设工程规划许可证核发";
  m.type = MatterType::kLicence;
  m.orgcoding = "ORG-PLAN";
  m.division = "330100";
  m.version = 3;
  m.steps = {{"1", "承办", "undertake", "", {}},
             {"2", "审核", "review", "", {}},
             {"3", "批准", "approve", "", {}}};
  return m;
}

Case PlanningCase() {
  Case c;
  c.id = 42;
  c.number = kNumber;
  c.implement_code = kImplementCode;
  c.matter_version = 3;
  c.matter_name = "建设工程规划许可证核发";
  c.orgcoding = "ORG-PLAN";
  c.division = "330100";
  c.applicant.type = ApplicantType::kPerson;
  c.applicant.name = "张三";
  c.applicant.id_type = "10";
  c.applicant.id_number = "11010519491231002X";
  c.applicant.mobile = "13800000000";
  c.materials = {{"身份证明", MaterialForm::kPaper, 1, "", "", 0},
                 {"申请表", MaterialForm::kElectronic, 0, "ab", "application/pdf", 10}};
  c.channel = "1";
  c.state = CaseState::kInStep;
  c.registered_at_ms = kRegisteredAt;
  return c;
}

StepRecord Record(Action action, int64_t at_ms = kLaterAt) {
  StepRecord r;
  r.id = 7;
  r.case_id = 42;
  r.action = action;
  r.userid = "lisi";
  r.username = "李四";
  r.orgcoding = "ORG-WINDOW";
  r.at_ms = at_ms;
  return r;
}

StepRecord StepResult(Action action, std::string code, std::string name) {
  StepRecord r = Record(action);
  r.step_code = std::move(code);
  r.step_name = std::move(name);
  r.from_state = "in_step";
  r.to_state = "in_step";
  return r;
}

constexpr char kOrgName[] = "杭州市规划局";

std::vector<StageRecord> For(const Case& c, const StepRecord& r) {
  return StageRecordsFor(c, PlanningMatter(), r, kOrgName);
}

// The one record a transition produces (and the test fails when it is not one).
StageRecord OnlyFor(const Case& c, const StepRecord& r) {
  std::vector<StageRecord> records = For(c, r);
  EXPECT_EQ(records.size(), 1u) << ActionName(r.action);
  return records.empty() ? StageRecord{} : records.front();
}

std::string ErrorOf(std::string_view body) {
  Result<std::vector<StageRecord>> parsed = ParseStageRecords(body);
  EXPECT_FALSE(parsed.ok()) << body.substr(0, 200);
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().code, errc::kInvalidArgument) << parsed.error().message;
  return parsed.error().message;
}

// An acceptance record that the intake takes, as an XML stage node with `extra`
// fields, and as a whole document.
std::string AcceptanceNode(std::string_view extra = "", std::string_view code = "1") {
  return std::string("<SPSHOULI><SBLSH>") + kNumber + "</SBLSH><SLZTDM>" + std::string(code) +
         "</SLZTDM><SLSJ>2024-03-15 10:00:00</SLSJ>" + std::string(extra) + "</SPSHOULI>";
}

std::string AcceptanceXml(std::string_view extra = "", std::string_view code = "1") {
  return "<APPROVEDATAINFO>" + AcceptanceNode(extra, code) + "</APPROVEDATAINFO>";
}

std::string FieldsJson(std::string_view stage, std::string_view fields) {
  return std::string(R"({"stage":")") + std::string(stage) + R"(","fields":{"SBLSH":")" +
         kNumber + "\"" + (fields.empty() ? "" : ",") + std::string(fields) + "}}";
}

// ---- What each transition produces ----

TEST(StageRecordsForTest, RegistrationIsAnApplicationWithTheCaseAndMatterCodes) {
  const StageRecord r = OnlyFor(PlanningCase(), Record(Action::kRegister, kRegisteredAt));
  EXPECT_EQ(r.stage, "SPSHENQIN");
  EXPECT_EQ(r.fields.front().first, "SBLSH");
  EXPECT_EQ(r.Field("SBLSH"), kNumber);
  EXPECT_EQ(r.Field("SBLSH_SHORT"), "42");
  EXPECT_EQ(r.Field("SXBM"), kImplementCode);
  EXPECT_EQ(r.Field("SXBM_SHORT"), "000117009000");
  EXPECT_EQ(r.Field("SXMC"), "建设工程规划许可证核发");
  EXPECT_EQ(r.Field("SQRLX"), "1");
  EXPECT_EQ(r.Field("SQRMC"), "张三");
  EXPECT_EQ(r.Field("SQRZJLX"), "10");
  EXPECT_EQ(r.Field("SQRZJHM"), "11010519491231002X");
  EXPECT_EQ(r.Field("LXRXM"), "张三");
  EXPECT_EQ(r.Field("LXRSJ"), "13800000000");
  EXPECT_EQ(r.Field("SBCLQD"), "身份证明；申请表");
  EXPECT_EQ(r.Field("TJFS"), "1");
  EXPECT_EQ(r.Field("SBSJ"), "2024-03-15 09:30:00");
  EXPECT_EQ(r.Field("XZQHDM"), "330100000000");
  EXPECT_EQ(r.Field("VERSION"), "3");
}

TEST(StageRecordsForTest, LegalPersonApplicationNamesItsHandlerOrAgentAsContact) {
  Case c = PlanningCase();
  c.applicant = {};
  c.applicant.type = ApplicantType::kLegalPerson;
  c.applicant.name = "杭州某某建设有限公司";
  c.applicant.id_number = "91330100MA2AXXXX0X";
  c.applicant.contact_name = "王五";
  c.applicant.mobile = "13900000000";
  c.division = "330100000000";
  StageRecord r = OnlyFor(c, Record(Action::kRegister));
  EXPECT_EQ(r.Field("SQRLX"), "2");
  EXPECT_EQ(r.Field("SQRZJLX"), "49");  // 统一社会信用代码 when the case names no type
  EXPECT_EQ(r.Field("LXRXM"), "王五");
  EXPECT_EQ(r.Field("LXRSFZJHM"), "");
  EXPECT_EQ(r.Field("XZQHDM"), "330100000000");

  c.applicant.agent_name = "赵六";
  c.applicant.agent_id_number = "110105194912310029";
  c.applicant.agent_mobile = "13700000000";
  r = OnlyFor(c, Record(Action::kRegister));
  EXPECT_EQ(r.Field("LXRXM"), "赵六");
  EXPECT_EQ(r.Field("LXRSFZJHM"), "110105194912310029");
  EXPECT_EQ(r.Field("LXRSJ"), "13700000000");
}

TEST(StageRecordsForTest, AcceptanceCarriesTheActingOrgAndStateCodeOne) {
  StepRecord accept = Record(Action::kAccept);
  accept.opinion = "材料齐全，予以受理";
  const StageRecord r = OnlyFor(PlanningCase(), accept);
  EXPECT_EQ(r.stage, "SPSHOULI");
  EXPECT_EQ(r.Field("SBLSH"), kNumber);
  EXPECT_EQ(r.Field("SLZTDM"), "1");
  EXPECT_EQ(r.Field("SLBMMC"), kOrgName);
  EXPECT_EQ(r.Field("SLBMZZJGDM"), "ORG-WINDOW");
  EXPECT_EQ(r.Field("XZQHDM"), "330100000000");
  EXPECT_EQ(r.Field("BLRXM"), "李四");
  EXPECT_EQ(r.Field("BLRGH"), "lisi");
  EXPECT_EQ(r.Field("BSLYY"), "");
  EXPECT_EQ(r.Field("BLYJ"), "材料齐全，予以受理");
  EXPECT_EQ(r.Field("SLSJ"), "2024-03-20 10:00:00");
}

TEST(StageRecordsForTest, RefusalHasStateCodeTwoAndItsReason) {
  StepRecord refuse = Record(Action::kRefuse);
  refuse.opinion = "不属于本部门职权范围";
  const StageRecord r = OnlyFor(PlanningCase(), refuse);
  EXPECT_EQ(r.stage, "SPSHOULI");
  EXPECT_EQ(r.Field("SLZTDM"), "2");
  EXPECT_EQ(r.Field("BSLYY"), "不属于本部门职权范围");
}

TEST(StageRecordsForTest, ActingOrgFallsBackToTheCaseOrg) {
  StepRecord accept = Record(Action::kAccept);
  accept.orgcoding.clear();
  EXPECT_EQ(OnlyFor(PlanningCase(), accept).Field("SLBMZZJGDM"), "ORG-PLAN");
}

TEST(StageRecordsForTest, StepResultsAreStepRecordsWithNodeResults) {
  StepRecord agree = StepResult(Action::kAgree, "1", "承办");
  agree.opinion = "同意";
  StageRecord r = OnlyFor(PlanningCase(), agree);
  EXPECT_EQ(r.stage, "SPSHENPI");
  EXPECT_EQ(r.Field("SPHJDM"), "1");
  EXPECT_EQ(r.Field("SPHJMC"), "承办");
  EXPECT_EQ(r.Field("SPRXM"), "李四");
  EXPECT_EQ(r.Field("SPRDM"), "lisi");
  EXPECT_EQ(r.Field("SPYJ"), "同意");
  EXPECT_EQ(r.Field("SPSJ"), "2024-03-20 10:00:00");
  EXPECT_EQ(r.Field("NODERESULT"), "1");

  StepRecord disagree = StepResult(Action::kDisagree, "2", "审核");
  disagree.opinion = "图纸不符";
  EXPECT_EQ(OnlyFor(PlanningCase(), disagree).Field("NODERESULT"), "0");

  StepRecord back = StepResult(Action::kReturn, "2", "审核");
  back.opinion = "请补充现场勘查意见";
  r = OnlyFor(PlanningCase(), back);
  EXPECT_EQ(r.stage, "SPSHENPI");
  EXPECT_EQ(r.Field("NODERESULT"), "7");
}

TEST(StageRecordsForTest, TheCompletingAgreementIsTheStepThenTheCompletion) {
  Case c = PlanningCase();
  c.state = CaseState::kCompleted;
  c.completed_at_ms = kLastAt;
  c.result = CompletionResult::kApproved;
  StepRecord agree = StepResult(Action::kAgree, "3", "批准");
  agree.at_ms = kLastAt;
  agree.to_state = "completed";
  const std::vector<StageRecord> records = For(c, agree);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].stage, "SPSHENPI");
  EXPECT_EQ(records[0].Field("SPHJDM"), "3");
  EXPECT_EQ(records[0].Field("NODERESULT"), "1");
  EXPECT_EQ(records[1].stage, "SPBANJIE");
  EXPECT_EQ(records[1].Field("BJJGDM"), "6");
  EXPECT_EQ(records[1].Field("BJJGMS"), "准予许可");
  EXPECT_EQ(records[1].Field("ZFHTHYY"), "");
  EXPECT_EQ(records[1].Field("BJBMMC"), kOrgName);
  EXPECT_EQ(records[1].Field("BJBMZZJGDM"), "ORG-WINDOW");
  EXPECT_EQ(records[1].Field("XZQHDM"), "330100000000");
  EXPECT_EQ(records[1].Field("SPRXM"), "李四");
  EXPECT_EQ(records[1].Field("BJSJ"), "2024-03-22 15:15:00");
  // The single form is the convenience for the case's result.
  EXPECT_EQ(StageRecordFor(c, PlanningMatter(), agree, kOrgName).stage, "SPBANJIE");
}

TEST(StageRecordsForTest, TheCompletingDisagreementIsNotApprovedWithItsReason) {
  Case c = PlanningCase();
  c.state = CaseState::kCompleted;
  c.result = CompletionResult::kNotApproved;
  c.result_reason = "不符合城市总体规划";
  StepRecord disagree = StepResult(Action::kDisagree, "3", "批准");
  disagree.opinion = "不予批准";
  disagree.to_state = "completed";
  const std::vector<StageRecord> records = For(c, disagree);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].Field("NODERESULT"), "0");
  EXPECT_EQ(records[1].Field("BJJGDM"), "7");
  EXPECT_EQ(records[1].Field("BJJGMS"), "不予许可");
  EXPECT_EQ(records[1].Field("ZFHTHYY"), "不符合城市总体规划");
}

TEST(StageRecordsForTest, WithoutToStateACompletionAtTheRecordsTimeCounts) {
  Case c = PlanningCase();
  c.state = CaseState::kCompleted;
  c.completed_at_ms = kLastAt;
  StepRecord agree = StepResult(Action::kAgree, "3", "批准");
  agree.to_state.clear();
  agree.at_ms = kLastAt;
  EXPECT_EQ(For(c, agree).size(), 2u);
  agree.at_ms = kLaterAt;  // an earlier step of a case completed later
  EXPECT_EQ(For(c, agree).size(), 1u);
}

TEST(StageRecordsForTest, CorrectionNoticeListsTheMissingMaterials) {
  StepRecord notice = Record(Action::kRequestCorrection);
  notice.opinion = "材料不全";
  notice.detail = R"({"missing_materials":["总平面图","规划设计方案"]})";
  const StageRecord r = OnlyFor(PlanningCase(), notice);
  EXPECT_EQ(r.stage, "SPBUZHENG");
  EXPECT_EQ(r.Field("BZGZSJ"), "2024-03-20 10:00:00");
  EXPECT_EQ(r.Field("BZGZYY"), "材料不全");
  EXPECT_EQ(r.Field("BZCLQD"), "总平面图；规划设计方案");
  EXPECT_EQ(r.Field("BZSJ"), "");
}

TEST(StageRecordsForTest, ResubmissionHasItsTimeAndTheNoticeTimeWhenKnown) {
  StepRecord resubmit = Record(Action::kResubmit, kLastAt);
  resubmit.detail =
      R"({"requested_at_ms":1710900000000,"materials":[{"name":"总平面图"},"规划设计方案"]})";
  StageRecord r = OnlyFor(PlanningCase(), resubmit);
  EXPECT_EQ(r.stage, "SPBUZHENG");
  EXPECT_EQ(r.Field("BZSJ"), "2024-03-22 15:15:00");
  EXPECT_EQ(r.Field("BZGZSJ"), "2024-03-20 10:00:00");
  EXPECT_EQ(r.Field("BZCLQD"), "总平面图；规划设计方案");

  // Without the detail, the stopped clock of a case still in correction tells it.
  Case waiting = PlanningCase();
  waiting.state = CaseState::kCorrection;
  waiting.stopped_since_ms = kRegisteredAt;
  resubmit.detail.clear();
  r = OnlyFor(waiting, resubmit);
  EXPECT_EQ(r.Field("BZGZSJ"), "2024-03-15 09:30:00");
  r = OnlyFor(PlanningCase(), resubmit);
  EXPECT_EQ(r.Field("BZGZSJ"), "");
}

TEST(StageRecordsForTest, SuspensionAndResumptionAreSpecialProcedureRecords) {
  StepRecord suspend = Record(Action::kSuspend);
  suspend.opinion = "涉及重大公共利益";
  suspend.detail = R"({"suspension_kind":"听证"})";
  StageRecord r = OnlyFor(PlanningCase(), suspend);
  EXPECT_EQ(r.stage, "SPTEBIECHENGXU");
  EXPECT_EQ(r.Field("TBCXKSRQ"), "2024-03-20 10:00:00");
  EXPECT_EQ(r.Field("TBCXQDLY"), "涉及重大公共利益");
  EXPECT_EQ(r.Field("SQNR"), "听证");
  EXPECT_EQ(r.Field("TBCXJSRQ"), "");

  StepRecord resume = Record(Action::kResume, kLastAt);
  resume.opinion = "听证通过";
  resume.detail = R"({"suspension_kind":"听证","started_at_ms":1710900000000})";
  r = OnlyFor(PlanningCase(), resume);
  EXPECT_EQ(r.stage, "SPTEBIECHENGXU");
  EXPECT_EQ(r.Field("TBCXKSRQ"), "2024-03-20 10:00:00");
  EXPECT_EQ(r.Field("TBCXJSRQ"), "2024-03-22 15:15:00");
  EXPECT_EQ(r.Field("TBCXJG"), "听证通过");

  resume.detail = R"({"result":"同意继续办理"})";
  EXPECT_EQ(OnlyFor(PlanningCase(), resume).Field("TBCXJG"), "同意继续办理");
}

TEST(StageRecordsForTest, EachEndingHasItsCompletionCode) {
  struct Ending {
    Action action;
    std::optional<CompletionResult> result;
    std::string code;
    std::string description;
  };
  const std::vector<Ending> endings = {
      {Action::kComplete, std::nullopt, "6", "准予许可"},
      {Action::kComplete, CompletionResult::kForwarded, "4", "转报办结"},
      {Action::kComplete, CompletionResult::kCorrectionTimeout, "5", "补正不来办结"},
      {Action::kReturnToApplicant, std::nullopt, "1", "退回办结"},
      {Action::kVoid, std::nullopt, "2", "作废办结"},
      {Action::kVoid, CompletionResult::kVoided, "2", "作废办结"},
      {Action::kWithdraw, std::nullopt, "3", "删除办结"},
  };
  for (const Ending& e : endings) {
    Case c = PlanningCase();
    c.result = e.result;
    StepRecord r = Record(e.action);
    r.opinion = "理由";
    const StageRecord stage = OnlyFor(c, r);
    EXPECT_EQ(stage.stage, "SPBANJIE") << ActionName(e.action);
    EXPECT_EQ(stage.Field("BJJGDM"), e.code) << ActionName(e.action);
    EXPECT_EQ(stage.Field("BJJGMS"), e.description) << ActionName(e.action);
    EXPECT_EQ(stage.Field("ZFHTHYY"), e.code == "6" ? "" : "理由") << ActionName(e.action);
  }
}

TEST(StageRecordsForTest, ApprovalOfAMatterThatIsNoLicenceIsPlainCompletion) {
  Matter matter = PlanningMatter();
  matter.type = MatterType::kPublicService;
  const StageRecord r =
      StageRecordFor(PlanningCase(), matter, Record(Action::kComplete), kOrgName);
  EXPECT_EQ(r.Field("BJJGDM"), "6");
  EXPECT_EQ(r.Field("BJJGMS"), "办结");
}

TEST(StageRecordsForTest, AWithdrawalWithoutOpinionStillGivesAReason) {
  const StageRecord r = OnlyFor(PlanningCase(), Record(Action::kWithdraw));
  EXPECT_EQ(r.Field("ZFHTHYY"), "申请人撤回申请");
}

TEST(StageRecordsForTest, TransferAndRecomputeHaveNoStage) {
  for (Action action : {Action::kTransfer, Action::kRecompute}) {
    EXPECT_TRUE(For(PlanningCase(), Record(action)).empty()) << ActionName(action);
    EXPECT_EQ(StageRecordFor(PlanningCase(), PlanningMatter(), Record(action), kOrgName).stage,
              "");
  }
}

TEST(StageRecordsForTest, AReportedRecordIsPassedOnAsItCame) {
  StepRecord reported = Record(Action::kReported);
  reported.detail = FieldsJson("SPSHOULI", R"("SLZTDM":"1","SLSJ":"2024-03-15 10:00:00")");
  const std::vector<StageRecord> records = For(PlanningCase(), reported);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].stage, "SPSHOULI");
  EXPECT_EQ(records[0].Field("SLSJ"), "2024-03-15 10:00:00");
  reported.detail = "{}";
  EXPECT_TRUE(For(PlanningCase(), reported).empty());
}

TEST(StageRecordsForTest, TimesAreChinaStandardTimeAcrossMidnightAndLeapDays) {
  StepRecord accept = Record(Action::kAccept, 1710518400000);  // 2024-03-15 16:00:00 UTC
  EXPECT_EQ(OnlyFor(PlanningCase(), accept).Field("SLSJ"), "2024-03-16 00:00:00");
  accept.at_ms = 1709136005999;  // 2024-02-28 16:00:05.999 UTC
  EXPECT_EQ(OnlyFor(PlanningCase(), accept).Field("SLSJ"), "2024-02-29 00:00:05");
}

TEST(StageRecordsForTest, ValuesXmlCannotCarryAreReplacedAndLongOnesCut) {
  StepRecord agree = StepResult(Action::kAgree, "1", "承办");
  agree.opinion = std::string("同意\x01\xFF");
  EXPECT_EQ(OnlyFor(PlanningCase(), agree).Field("SPYJ"), "同意\xEF\xBF\xBD\xEF\xBF\xBD");
  std::string long_opinion;
  for (int i = 0; i < 4100; ++i) long_opinion += "意";
  agree.opinion = long_opinion;
  EXPECT_EQ(OnlyFor(PlanningCase(), agree).Field("SPYJ").size(), 4000u * 3);
}

// Every stage-producing transition gives records the intake accepts, through
// both forms, unchanged.
TEST(StageRecordsForTest, EveryRecordRoundTripsThroughXmlAndJson) {
  std::vector<StageRecord> all;
  Case c = PlanningCase();
  const auto add = [&](const StepRecord& r) {
    for (StageRecord& s : For(c, r)) all.push_back(std::move(s));
  };
  add(Record(Action::kRegister, kRegisteredAt));
  StepRecord r = Record(Action::kAccept);
  add(r);
  r = Record(Action::kRefuse);
  r.opinion = "不予受理：材料<不全> & \"格式\"不符";
  add(r);
  for (Action action : {Action::kAgree, Action::kDisagree, Action::kReturn}) {
    r = StepResult(action, "2", "审核");
    r.opinion = "意见\r\n第二行";
    add(r);
  }
  r = Record(Action::kRequestCorrection);
  r.detail = R"({"missing_materials":["图纸"]})";
  add(r);
  r = Record(Action::kResubmit);
  add(r);
  r = Record(Action::kSuspend);
  r.detail = R"({"suspension_kind":"专家评审"})";
  add(r);
  r = Record(Action::kResume);
  r.opinion = "评审通过";
  add(r);
  for (Action action : {Action::kReturnToApplicant, Action::kVoid, Action::kWithdraw,
                        Action::kComplete}) {
    r = Record(action);
    r.opinion = "原因";
    add(r);
  }
  c.result = CompletionResult::kNotApproved;
  r = StepResult(Action::kDisagree, "3", "批准");
  r.opinion = "不予批准";
  r.to_state = "completed";
  add(r);
  ASSERT_EQ(all.size(), 16u);

  for (const std::string& body : {StageRecordsXml(all), StageRecordsJson(all)}) {
    Result<std::vector<StageRecord>> parsed = ParseStageRecords(body);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->size(), all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ((*parsed)[i].stage, all[i].stage) << i;
      EXPECT_EQ((*parsed)[i].fields, all[i].fields) << i << " " << all[i].stage;
    }
  }
  for (const StageRecord& record : all) {
    for (const std::string& body : {StageRecordXml(record), StageRecordJson(record)}) {
      Result<std::vector<StageRecord>> parsed = ParseStageRecords(body);
      ASSERT_TRUE(parsed.ok()) << record.stage << ": " << parsed.error().message;
      ASSERT_EQ(parsed->size(), 1u);
      EXPECT_EQ((*parsed)[0].fields, record.fields);
    }
  }
}

// ---- The XML and JSON forms ----

StageRecord SmallRecord() {
  StageRecord r;
  r.stage = "SPSHOULI";
  r.fields = {{"SBLSH", kNumber},
              {"SLZTDM", "2"},
              {"BSLYY", "材料<不全> & \"x\" 'y'\r\n"},
              {"SLSJ", "2024-03-15 10:00:00"}};
  return r;
}

TEST(StageRecordFormsTest, XmlIsTheApproveDataInfoDocumentWithEscapedText) {
  EXPECT_EQ(StageRecordXml(SmallRecord()),
            std::string(R"(<?xml version="1.0" encoding="UTF-8"?><APPROVEDATAINFO><SPSHOULI>)") +
                "<SBLSH>" + kNumber + "</SBLSH><SLZTDM>2</SLZTDM>" +
                "<BSLYY>材料&lt;不全&gt; &amp; \"x\" 'y'&#13;\n</BSLYY>" +
                "<SLSJ>2024-03-15 10:00:00</SLSJ></SPSHOULI></APPROVEDATAINFO>");
}

TEST(StageRecordFormsTest, JsonIsStageAndFields) {
  EXPECT_EQ(StageRecordJson(SmallRecord()),
            std::string(R"({"stage":"SPSHOULI","fields":{"SBLSH":")") + kNumber +
                R"(","SLZTDM":"2","BSLYY":"材料<不全> & \"x\" 'y'\r\n",)" +
                R"("SLSJ":"2024-03-15 10:00:00"}})");
}

TEST(StageRecordFormsTest, ChineseAndSpecialCharactersSurviveBothForms) {
  const StageRecord r = SmallRecord();
  for (const std::string& body : {StageRecordXml(r), StageRecordJson(r)}) {
    Result<std::vector<StageRecord>> parsed = ParseStageRecords(body);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].Field("BSLYY"), "材料<不全> & \"x\" 'y'\r\n");
  }
}

TEST(StageRecordFormsTest, FieldOfAnAbsentNameIsEmpty) {
  EXPECT_EQ(SmallRecord().Field("SPHJDM"), "");
}

// ---- Intake: what parses ----

TEST(ParseStageRecordsTest, ReadsSeveralStagesOfPrettyPrintedXmlInOrder) {
  const std::string body = std::string("\xEF\xBB\xBF") +
                           "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                           "<APPROVEDATAINFO>\n"
                           "  <SPSHOULI>\n"
                           "    <SBLSH>DEPT-2024-000123</SBLSH>\n"
                           "    <SLZTDM>1</SLZTDM>\n"
                           "    <SLSJ>2024-03-15 10:00:00</SLSJ>\n"
                           "    <BLYJ><![CDATA[同意 <受理> & 办理]]></BLYJ>\n"
                           "    <SLHZH/>\n"
                           "  </SPSHOULI>\n"
                           "  <!-- a comment & more -->\n"
                           "  <SPSHENPI>\n"
                           "    <SBLSH>DEPT-2024-000123</SBLSH><SPHJDM>1</SPHJDM>\n"
                           "    <SPSJ>2024-03-16 11:00:00</SPSJ><SPYJ>&#x540C;&#24847;</SPYJ>\n"
                           "  </SPSHENPI>\n"
                           "</APPROVEDATAINFO>\n";
  Result<std::vector<StageRecord>> parsed = ParseStageRecords(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].stage, "SPSHOULI");
  EXPECT_EQ((*parsed)[0].Field("SBLSH"), "DEPT-2024-000123");
  EXPECT_EQ((*parsed)[0].Field("BLYJ"), "同意 <受理> & 办理");
  ASSERT_EQ((*parsed)[0].fields.size(), 5u);
  EXPECT_EQ((*parsed)[0].fields[4], (std::pair<std::string, std::string>("SLHZH", "")));
  EXPECT_EQ((*parsed)[1].stage, "SPSHENPI");
  EXPECT_EQ((*parsed)[1].Field("SPYJ"), "同意");
}

TEST(ParseStageRecordsTest, ReadsJsonObjectsAndArraysWithNumericCodesAndNulls) {
  Result<std::vector<StageRecord>> one = ParseStageRecords(
      FieldsJson("SPSHOULI", R"("SLZTDM":1,"SLSJ":"2024-03-15 10:00:00","BSLYY":null)"));
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].Field("SLZTDM"), "1");
  EXPECT_EQ((*one)[0].Field("BSLYY"), "");

  const std::string array =
      "[" + FieldsJson("SPBANJIE", R"("BJJGDM":"6","BJSJ":"2024-03-22 15:15:00")") + "," +
      FieldsJson("SPTEBIECHENGXU", R"("TBCXKSRQ":"2024-03-16 09:00:00")") + "]";
  Result<std::vector<StageRecord>> two = ParseStageRecords(array);
  ASSERT_TRUE(two.ok()) << two.error().message;
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].stage, "SPBANJIE");
  EXPECT_EQ((*two)[1].stage, "SPTEBIECHENGXU");
}

TEST(ParseStageRecordsTest, AcceptsADepartmentsOwnCaseNumbers) {
  for (const char* number : {"DEPT-2024-000123", "511A0138000000-511602000000-000-1", "x.1_2"}) {
    Result<std::vector<StageRecord>> parsed = ParseStageRecords(
        R"({"stage":"SPSHOULI","fields":{"SBLSH":")" + std::string(number) +
        R"(","SLZTDM":"1","SLSJ":"2024-03-15 10:00:00"}})");
    EXPECT_TRUE(parsed.ok()) << number << ": " << parsed.error().message;
  }
}

TEST(ParseStageRecordsTest, AFieldOfExactlyTheLimitIsAccepted) {
  std::string text;
  for (std::size_t i = 0; i < kStageFieldMaxChars; ++i) text += "审";
  Result<std::vector<StageRecord>> parsed =
      ParseStageRecords(AcceptanceXml("<BLYJ>" + text + "</BLYJ>"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ((*parsed)[0].Field("BLYJ"), text);
}

// ---- Intake: what is refused, and the message says where ----

TEST(ParseStageRecordsTest, MissingRequiredFieldsAreNamed) {
  EXPECT_EQ(ErrorOf(R"({"stage":"SPSHOULI","fields":{"SLZTDM":"1"}})"),
            "stage record 1 (SPSHOULI): SBLSH is required");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHOULI", R"("SLZTDM":"1")")),
            "stage record 1 (SPSHOULI): SLSJ is required");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHENPI", R"("SPHJDM":"","SPSJ":"2024-03-15 10:00:00")")),
            "stage record 1 (SPSHENPI): SPHJDM is required");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHENQIN", R"("SXBM":"x","SXMC":"y","SQRLX":"1",)"
                                            R"("SBSJ":"2024-03-15 10:00:00")")),
            "stage record 1 (SPSHENQIN): SQRMC is required");
  EXPECT_EQ(ErrorOf(FieldsJson("SPBANJIE", R"("BJSJ":"2024-03-15 10:00:00")")),
            "stage record 1 (SPBANJIE): BJJGDM is required");
  EXPECT_EQ(ErrorOf(FieldsJson("SPBUZHENG", "")),
            "stage record 1 (SPBUZHENG): BZGZSJ (the notice) or BZSJ (the resubmission) is "
            "required");
  EXPECT_EQ(ErrorOf(FieldsJson("SPBUZHENG", R"("BZGZSJ":"2024-03-15 10:00:00")")),
            "stage record 1 (SPBUZHENG): a correction notice needs BZGZYY or BZCLQD");
  EXPECT_EQ(ErrorOf(FieldsJson("SPTEBIECHENGXU", "")),
            "stage record 1 (SPTEBIECHENGXU): TBCXKSRQ (the start) or TBCXJSRQ (the end) is "
            "required");
}

TEST(ParseStageRecordsTest, CodeValuesAreChecked) {
  EXPECT_EQ(ErrorOf(AcceptanceXml("", "3")), "stage record 1 (SPSHOULI): SLZTDM must be 1|2");
  EXPECT_EQ(ErrorOf(FieldsJson("SPBANJIE", R"("BJJGDM":"8","BJSJ":"2024-03-15 10:00:00")")),
            "stage record 1 (SPBANJIE): BJJGDM must be 0|1|2|3|4|5|6|7");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHENPI", R"("SPHJDM":"1","SPSJ":"2024-03-15 10:00:00",)"
                                           R"("NODERESULT":"4")")),
            "stage record 1 (SPSHENPI): NODERESULT must be 0|1|7");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHENQIN", R"("SXBM":"x","SXMC":"y","SQRLX":"3","SQRMC":"z",)"
                                            R"("SBSJ":"2024-03-15 10:00:00")")),
            "stage record 1 (SPSHENQIN): SQRLX must be 1|2");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHENQIN", R"("SXBM":"x","SXMC":"y","SQRLX":"1","SQRMC":"z",)"
                                            R"("SBSJ":"2024-03-15 10:00:00","XZQHDM":"3301")")),
            "stage record 1 (SPSHENQIN): XZQHDM must have 12 (or 6) digits");
}

TEST(ParseStageRecordsTest, NegativeResultsNeedAReason) {
  EXPECT_EQ(ErrorOf(AcceptanceXml("", "2")),
            "stage record 1 (SPSHOULI): BSLYY (the reason) is required when SLZTDM is 2");
  EXPECT_TRUE(ParseStageRecords(AcceptanceXml("<BSLYY>超出职权</BSLYY>", "2")).ok());
  EXPECT_EQ(ErrorOf(FieldsJson("SPBANJIE", R"("BJJGDM":"7","BJSJ":"2024-03-15 10:00:00")")),
            "stage record 1 (SPBANJIE): ZFHTHYY (the reason) is required when BJJGDM is 7");
  EXPECT_TRUE(ParseStageRecords(FieldsJson("SPBANJIE", R"("BJJGDM":"0",)"
                                                       R"("BJSJ":"2024-03-15 10:00:00")"))
                  .ok());
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHENPI", R"("SPHJDM":"2","SPSJ":"2024-03-15 10:00:00",)"
                                           R"("NODERESULT":"7")")),
            "stage record 1 (SPSHENPI): SPYJ (the opinion) is required when NODERESULT is 7");
}

TEST(ParseStageRecordsTest, TimesMustBeRealMomentsInTheStageFormat) {
  for (const char* bad : {"2024-02-30 10:00:00", "2023-02-29 10:00:00", "2024/03/15 10:00:00",
                          "2024-03-15T10:00:00", "2024-03-15", "2024-03-15 24:00:00",
                          "2024-13-01 10:00:00", "2024-03-15 10:60:00"}) {
    EXPECT_EQ(ErrorOf("<APPROVEDATAINFO><SPSHOULI><SBLSH>N1</SBLSH><SLZTDM>1</SLZTDM><SLSJ>" +
                      std::string(bad) + "</SLSJ></SPSHOULI></APPROVEDATAINFO>"),
              "stage record 1 (SPSHOULI): SLSJ must be a time as yyyy-MM-dd HH:mm:ss")
        << bad;
  }
  EXPECT_TRUE(ParseStageRecords("<APPROVEDATAINFO><SPSHOULI><SBLSH>N1</SBLSH><SLZTDM>1</SLZTDM>"
                                "<SLSJ>2024-02-29 23:59:59</SLSJ></SPSHOULI></APPROVEDATAINFO>")
                  .ok());
  EXPECT_EQ(ErrorOf(FieldsJson("SPTEBIECHENGXU", R"("TBCXKSRQ":"2024-03-16 09:00:00",)"
                                                 R"("TBCXJSRQ":"2024-03-15 09:00:00")")),
            "stage record 1 (SPTEBIECHENGXU): TBCXJSRQ is before TBCXKSRQ");
}

TEST(ParseStageRecordsTest, CaseNumbersMustBePlainAndShort) {
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO><SPSHOULI><SBLSH>N 1</SBLSH><SLZTDM>1</SLZTDM>"
                    "<SLSJ>2024-03-15 10:00:00</SLSJ></SPSHOULI></APPROVEDATAINFO>"),
            "stage record 1 (SPSHOULI): SBLSH may hold only letters, digits, '-', '_' and '.'");
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO><SPSHOULI><SBLSH>" + std::string(65, '1') +
                    "</SBLSH><SLZTDM>1</SLZTDM><SLSJ>2024-03-15 10:00:00</SLSJ></SPSHOULI>"
                    "</APPROVEDATAINFO>"),
            "stage record 1 (SPSHOULI): SBLSH is longer than 64 characters");
}

TEST(ParseStageRecordsTest, TheFailingRecordIsCountedFromOne) {
  const std::string body = "<APPROVEDATAINFO>" + AcceptanceNode() +
                           "<SPSHOULI><SBLSH>N2</SBLSH><SLZTDM>2</SLZTDM>"
                           "<SLSJ>2024-03-15 10:00:00</SLSJ></SPSHOULI></APPROVEDATAINFO>";
  EXPECT_EQ(ErrorOf(body),
            "stage record 2 (SPSHOULI): BSLYY (the reason) is required when SLZTDM is 2");
}

TEST(ParseStageRecordsTest, UnknownStagesDuplicatesAndBadNamesAreRefused) {
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO><SPFOO><SBLSH>N1</SBLSH></SPFOO></APPROVEDATAINFO>"),
            "stage record 1: unknown stage; expected SPSHENQIN, SPSHOULI, SPSHENPI, SPBUZHENG, "
            "SPTEBIECHENGXU or SPBANJIE");
  EXPECT_EQ(ErrorOf(AcceptanceXml("<SLZTDM>1</SLZTDM>")),
            "stage record 1 (SPSHOULI): SLZTDM occurs more than once");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHOULI", R"("SLZTDM":"1","SLSJ":"2024-03-15 10:00:00",)"
                                           R"("1BAD":"x")")),
            "stage record 1 (SPSHOULI): a field name must be letters, digits and _ (at most 64), "
            "starting with a letter or _");
  EXPECT_EQ(ErrorOf(R"({"fields":{}})"), "stage record 1: \"stage\" is required");
  EXPECT_EQ(ErrorOf(R"({"stage":"SPSHOULI"})"),
            "stage record 1 (SPSHOULI): \"fields\" must be an object");
  EXPECT_EQ(ErrorOf(R"({"stage":"SPSHOULI","fields":{},"extra":1})"),
            "stage record 1: unknown member; a record has \"stage\" and \"fields\"");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHOULI", R"("SLZTDM":["1"])")),
            "stage record 1 (SPSHOULI): SLZTDM must be a string");
  // The shape of every record is read before any record's content is checked.
  EXPECT_EQ(ErrorOf(R"([{"stage":"SPSHOULI","fields":{}}, 3])"),
            "stage record 2: a stage record must be a JSON object");
  EXPECT_EQ(ErrorOf(R"([3])"), "stage record 1: a stage record must be a JSON object");
}

TEST(ParseStageRecordsTest, FieldsMustBeTextOfBoundedLength) {
  EXPECT_EQ(ErrorOf(AcceptanceXml("<BLYJ><p>同意</p></BLYJ>")),
            "stage record 1 (SPSHOULI): BLYJ holds elements; a field is text");
  EXPECT_EQ(ErrorOf(AcceptanceXml("<BLYJ>&#1;</BLYJ>")),
            "stage record 1 (SPSHOULI): BLYJ contains a control character");
  EXPECT_EQ(ErrorOf(FieldsJson("SPSHOULI", R"("SLZTDM":"1","SLSJ":"2024-03-15 10:00:00",)"
                                           R"("BLYJ":"a\u0002b")")),
            "stage record 1 (SPSHOULI): BLYJ contains a control character");
  std::string text;
  for (std::size_t i = 0; i <= kStageFieldMaxChars; ++i) text += "审";
  EXPECT_EQ(ErrorOf(AcceptanceXml("<BLYJ>" + text + "</BLYJ>")),
            "stage record 1 (SPSHOULI): BLYJ is longer than 4000 characters");
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO><SPSHOULI>文本<SBLSH>N1</SBLSH></SPSHOULI>"
                    "</APPROVEDATAINFO>"),
            "stage record 1 (SPSHOULI): text outside a field element");
}

TEST(ParseStageRecordsTest, TooManyRecordsOrFieldsAreRefused) {
  std::string body = "<APPROVEDATAINFO>";
  for (std::size_t i = 0; i <= kStageMaxRecords; ++i) {
    body += "<SPSHOULI><SBLSH>N1</SBLSH><SLZTDM>1</SLZTDM><SLSJ>2024-03-15 10:00:00</SLSJ>"
            "</SPSHOULI>";
  }
  body += "</APPROVEDATAINFO>";
  EXPECT_EQ(ErrorOf(body), "more than 200 stage records");

  std::string fields;
  for (std::size_t i = 0; i <= kStageMaxFields; ++i) {
    fields.append("<F").append(std::to_string(i)).append("/>");
  }
  EXPECT_EQ(ErrorOf(AcceptanceXml(fields)), "stage record 1 (SPSHOULI): more than 200 fields");

  std::string json = "[";
  for (std::size_t i = 0; i <= kStageMaxRecords; ++i) {
    if (i > 0) json.push_back(',');
    json.append(FieldsJson("SPSHOULI", ""));
  }
  EXPECT_EQ(ErrorOf(json + "]"), "more than 200 stage records");
}

TEST(ParseStageRecordsTest, ABodyOverOneMebibyteIsTooLarge) {
  std::string body = AcceptanceXml("<BLYJ>");
  body.resize(kStageBodyMaxBytes + 1, 'x');
  Result<std::vector<StageRecord>> parsed = ParseStageRecords(body);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, errc::kTooLarge);
}

TEST(ParseStageRecordsTest, HostileXmlIsRefusedCleanly) {
  const std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
      "<APPROVEDATAINFO><SPSHOULI><SBLSH>&lol2;</SBLSH></SPSHOULI></APPROVEDATAINFO>";
  EXPECT_EQ(ErrorOf(laughs),
            "stage records XML has a DOCTYPE; DTDs and entities are not accepted");
  const std::string external =
      "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
      "<APPROVEDATAINFO><SPSHOULI><SBLSH>&xxe;</SBLSH></SPSHOULI></APPROVEDATAINFO>";
  EXPECT_EQ(ErrorOf(external),
            "stage records XML has a DOCTYPE; DTDs and entities are not accepted");
  const std::string undeclared = AcceptanceXml("<BLYJ>&xxe;</BLYJ>");
  EXPECT_EQ(ErrorOf(undeclared),
            "stage records XML uses an undeclared entity or a malformed reference at byte " +
                std::to_string(undeclared.find('&')));
  EXPECT_NE(ErrorOf(AcceptanceXml("<BLYJ>a & b</BLYJ>")).find("malformed reference"),
            std::string::npos);

  std::string deep = "<APPROVEDATAINFO><SPSHOULI><BLYJ>";
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  for (int i = 0; i < 100000; ++i) deep += "</a>";
  deep += "</BLYJ></SPSHOULI></APPROVEDATAINFO>";
  EXPECT_EQ(ErrorOf(deep), "stage record 1 (SPSHOULI): BLYJ holds elements; a field is text");

  std::string deep_json;
  for (int i = 0; i < 10000; ++i) deep_json += "[";
  EXPECT_NE(ErrorOf(deep_json).find("stage records JSON:"), std::string::npos);
}

TEST(ParseStageRecordsTest, OtherMalformedBodiesSayWhatIsWrong) {
  EXPECT_EQ(ErrorOf(""), "stage records are empty");
  EXPECT_EQ(ErrorOf(" \n"), "stage records are empty");
  EXPECT_EQ(ErrorOf("SBLSH=1"), "stage records must be XML or JSON");
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO>\xC0\xAF</APPROVEDATAINFO>"),
            "stage records are not UTF-8");
  EXPECT_EQ(ErrorOf("<ROOT><SPSHOULI/></ROOT>"),
            "stage records XML must have the root element APPROVEDATAINFO");
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO/>"), "stage records: none given");
  EXPECT_EQ(ErrorOf("[]"), "stage records: none given");
  EXPECT_EQ(ErrorOf("<?xml version=\"1.0\" encoding=\"GBK\"?><APPROVEDATAINFO/>"),
            "stage records XML must be UTF-8");
  EXPECT_NE(ErrorOf("<APPROVEDATAINFO><SPSHOULI>").find("not well-formed"), std::string::npos);
  EXPECT_NE(ErrorOf("{\"stage\":").find("stage records JSON:"), std::string::npos);
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO>x<SPSHOULI/></APPROVEDATAINFO>"),
            "stage records XML has text between the stage records");
}

TEST(ParseStageRecordsTest, ErrorsDoNotEchoTheSendersValues) {
  const std::string secret = "110101199003074514";
  const std::string message = ErrorOf(AcceptanceXml("<SQRZJHM>" + secret + "</SQRZJHM>", secret));
  EXPECT_EQ(message.find(secret), std::string::npos) << message;
  EXPECT_EQ(ErrorOf("<APPROVEDATAINFO><" + std::string("X") + secret + "/></APPROVEDATAINFO>")
                .find(secret),
            std::string::npos);
}

}  // namespace
}  // namespace tongban::approval
