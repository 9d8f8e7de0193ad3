// Batch import of notices from TXT (tab or | separated) and .xlsx: header by
// name or Chinese label, rows of one notice grouped, every bad row reported by
// its line, and nothing stored unless every row is good — on SQLite and a
// private PostgreSQL.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "codec/xlsx.h"
#include "payment/import.h"
#include "payment/notices.h"
#include "payment/units.h"
#include "store_test_support.h"

namespace tongban::payment {
namespace {

class PaymentImportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (url.empty()) GTEST_SKIP() << why;
    auto opened = SqlStore::Open(url, 2);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sql_ = std::move(opened).value();
    auto migrations = UnitStore::Migrations();
    for (auto& m : NoticeStore::Migrations()) migrations.push_back(m);
    ASSERT_TRUE(sql_->Migrate(migrations).ok());
    clock_.Set(
        Clock::time_point(std::chrono::milliseconds(*ParseChinaDateTime("20260110", "100000"))));
    units_ = std::make_unique<UnitStore>(*sql_, clock_);
    notices_ = std::make_unique<NoticeStore>(*sql_, clock_);
    CollectingUnit u;
    u.entercode = "000368";
    u.name = "浙江省林业局";
    u.regicode = "330000";
    u.channel_no = "330001296";
    u.coordinator = u.business = u.technical = {"联系人", "", "13800138000", ""};
    u.scheme = Scheme::kBatchImport;
    auto a = units_->CreateApplication(u, "clerk");
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(units_->Submit(a->id).ok());
    for (auto stage : {ReviewStage::kFinance, ReviewStage::kEgov}) {
      ASSERT_TRUE(units_->GiveOpinion(a->id, {stage, 0, true, "20260105", "同意", "r", 0}).ok());
    }
    ChargeItem fixed{"00034002", "森林植被恢复费", "平方米", 1000, "", "", {}, true, 0};
    ChargeItem open{"00034003", "罚没收入", "次", 0, "", "", {}, true, 0};
    ASSERT_TRUE(units_->PutItem(fixed).ok());
    ASSERT_TRUE(units_->PutItem(open).ok());
  }

  // Parses, checks every row (even when the file had errors), stores only
  // when nothing is wrong; returns every error by line.
  std::vector<RowError> Import(const Result<ImportParse>& parsed) {
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    if (!parsed.ok()) return {{-1, parsed.error().message}};
    std::vector<RowError> errors = parsed->errors;
    std::vector<RowError> store_errors;
    auto stored =
        notices_->CreateBatch(parsed->rows, NoticeSource::kImport, &store_errors, !errors.empty());
    errors.insert(errors.end(), store_errors.begin(), store_errors.end());
    std::sort(errors.begin(), errors.end(),
              [](const RowError& a, const RowError& b) { return a.line < b.line; });
    return errors;
  }

  size_t Stored() {
    NoticeQuery q;
    q.entercode = "000368";
    return notices_->Search(q)->size();
  }

  store_test::TempDir dir_;
  std::unique_ptr<SqlStore> sql_;
  FakeClock clock_;
  std::unique_ptr<UnitStore> units_;
  std::unique_ptr<NoticeStore> notices_;
};

INSTANTIATE_TEST_SUITE_P(Backends, PaymentImportTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(PaymentImportTest, ATabSeparatedFileGroupsRowsIntoNotices) {
  std::string txt =
      "\xEF\xBB\xBFORIGINALNOTICENO\tPAYER\tPAYERSFZ\tCHITCODE\tCHCOUNT\tCHMONEY\r\n"
      "T1\t张三\t11010519491231002X\t00034002\t2\t\r\n"
      "T1\t张三\t11010519491231002X\t00034003\t\t5.5\r\n"
      "\r\n"
      "T2\t李四\t\t00034003\t\t100\r\n";
  auto parsed = ParseImportTxt(txt, "000368");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->rows.size(), 2u);
  EXPECT_EQ(parsed->rows[0].draft.lines.size(), 2u);
  EXPECT_TRUE(Import(parsed).empty());
  auto t1 = notices_->Get("330001296T1");
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(t1->total_fen, 2000 + 550);
  EXPECT_EQ(t1->source, NoticeSource::kImport);
  EXPECT_EQ(notices_->Get("330001296T2")->total_fen, 10000);
}

TEST_P(PaymentImportTest, APipeSeparatedFileWithChineseLabelsReads) {
  std::string txt =
      "缴款单号|缴款人|手机号码|收费项目编码|金额|缴款期限\n"
      "P1|王五|13900139000|00034003|12.34|20260131\n";
  auto parsed = ParseImportTxt(txt, "000368");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(Import(parsed).empty());
  auto p1 = notices_->Get("330001296P1");
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->payer.mobile, "13900139000");
  EXPECT_EQ(ChinaDate(p1->expires_at_ms), "20260131");
}

TEST_P(PaymentImportTest, EveryBadRowIsNamedByItsLineAndNothingIsStored) {
  std::string txt =
      "ORIGINALNOTICENO|PAYER|PAYERMOBILE|CHITCODE|CHMONEY\n"
      "G1|甲|13900139000|00034003|1.00\n"  // line 2: good
      "B1|乙|139|00034003|1.00\n"          // line 3: bad mobile (store check)
      "B2|丙||00034003|1.001\n"            // line 4: three decimals (file check)
      "G1|丁|13900139000|00034003|2.00\n"  // line 5: same notice, other payer
      "B3|戊||nope|1\n"                    // line 6: unknown item (store check)
      "|己||00034003|1\n"                  // line 7: no number
      "G2|庚||00034003|1|extra\n";         // line 8: more columns than the header
  auto errors = Import(ParseImportTxt(txt, "000368"));
  std::vector<int> lines;
  for (const RowError& e : errors) lines.push_back(e.line);
  EXPECT_EQ(lines, (std::vector<int>{3, 4, 5, 6, 7, 8}));
  EXPECT_NE(errors[0].message.find("手机"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[2].message.find("PAYER"), std::string::npos) << errors[2].message;
  EXPECT_EQ(Stored(), 0u);
}

TEST_P(PaymentImportTest, ANumberAlreadyStoredFailsTheWholeBatch) {
  ASSERT_TRUE(Import(ParseImportTxt("ORIGINALNOTICENO|PAYER|CHITCODE|CHMONEY\nD1|甲|00034003|1\n",
                                    "000368"))
                  .empty());
  auto errors = Import(ParseImportTxt(
      "ORIGINALNOTICENO|PAYER|CHITCODE|CHMONEY\nD2|乙|00034003|1\nD1|甲|00034003|1\n", "000368"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_NE(errors[0].message.find("已存在"), std::string::npos);
  EXPECT_EQ(Stored(), 1u);
}

TEST_P(PaymentImportTest, FileLevelProblemsAreRefusedWhole) {
  EXPECT_FALSE(ParseImportTxt("", "000368").ok());
  EXPECT_FALSE(ParseImportTxt("PAYER|CHITCODE\n甲|x\n", "000368").ok());  // no number column
  EXPECT_FALSE(ParseImportTxt("ORIGINALNOTICENO|CHITCODE|HACK\n", "000368").ok());
  EXPECT_FALSE(ParseImportTxt("ORIGINALNOTICENO|CHITCODE|CHITCODE\n", "000368").ok());
  EXPECT_FALSE(ParseImportTxt("ORIGINALNOTICENO|CHITCODE\n\xC0\xAF|x\n", "000368").ok());
  EXPECT_FALSE(ParseImportXlsx("not a zip", "000368").ok());
}

TEST_P(PaymentImportTest, AWorkbookWithNumberAndDateCellsReads) {
  using codec::Cell;
  codec::Sheet sheet{"缴款单", {}};
  sheet.rows.push_back({Cell::Text("缴款单号"), Cell::Text("缴款人"), Cell::Text("证件号码"),
                        Cell::Text("收费项目编码"), Cell::Text("数量"), Cell::Text("金额"),
                        Cell::Text("缴款期限")});
  // 46053 is 2026-01-31 as an Excel serial date.
  sheet.rows.push_back({Cell::Number(1001), Cell::Text("张三"), Cell::Text("91350100M000100Y43"),
                        Cell::Text("00034002"), Cell::Number(1.5), Cell{}, Cell::Number(46053)});
  sheet.rows.push_back({Cell::Number(1001), Cell::Text("张三"), Cell::Text("91350100M000100Y43"),
                        Cell::Text("00034003"), Cell{}, Cell::Number(12.34), Cell::Number(46053)});
  sheet.rows.push_back({});
  sheet.rows.push_back({Cell::Number(1002), Cell::Text("李四"), Cell{}, Cell::Text("00034003"),
                        Cell{}, Cell::Number(0.1), Cell{}});
  auto bytes = codec::WriteXlsx({sheet});
  ASSERT_TRUE(bytes.ok());
  auto parsed = ParseImportXlsx(*bytes, "000368");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(Import(parsed).empty());
  auto n = notices_->Get("3300012961001");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->total_fen, 1500 + 1234);
  EXPECT_EQ(n->payer.id_kind, PayerIdKind::kUscc);
  EXPECT_EQ(ChinaDate(n->expires_at_ms), "20260131");
  EXPECT_EQ(notices_->Get("3300012961002")->total_fen, 10);
}

}  // namespace
}  // namespace tongban::payment
