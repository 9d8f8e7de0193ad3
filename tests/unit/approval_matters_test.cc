// The matter catalogue: code rules, CheckMatter, versions (Save, Latest,
// Version, SetEnabled, List) on SQLite and, when their servers can be started,
// PostgreSQL and MariaDB; CSV import/export all-or-nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "approval/matters.h"
#include "codec/xlsx.h"
#include "core/clock.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban::approval {
namespace {

// A USCC with correct GB 32100 and GB 11714 check characters (Hangzhou, 330100).
constexpr const char* kUscc = "113301000024991243";
constexpr const char* kOtherUscc = "11330100002499132X";

std::string ImplementCode(std::string_view uscc, std::string_view basic) {
  return std::string(uscc) + "3" + std::string(basic);
}

Matter ValidMatter(std::string basic = "000117009000") {
  Matter m;
  m.implement_code = ImplementCode(kUscc, basic);
  m.basic_code = basic;
  m.name = "建设工程规划许可证核发";
  m.type = MatterType::kLicence;
  m.orgcoding = "001";
  m.division = "330100";
  m.legal_limit = {20, TimeUnit::kWorkingDays};
  m.promised_limit = {10, TimeUnit::kWorkingDays};
  m.materials = {{"申请书", true, MaterialForm::kEither, 1, ""},
                 {"身份证明", true, MaterialForm::kPaper, 1, ""}};
  m.steps = {{"1", "承办", std::string(kRoleUndertake), "", {3, TimeUnit::kWorkingDays}},
             {"2", "审核", std::string(kRoleReview), "", {3, TimeUnit::kWorkingDays}},
             {"3", "批准", std::string(kRoleApprove), "001001", {2, TimeUnit::kWorkingDays}}};
  return m;
}

// ---------------------------------------------------------------- code rules

TEST(MatterCodes, BasicCodeIsTwelveDigitsOrUpperCaseLetters) {
  EXPECT_TRUE(CheckBasicCode("000117009000").ok());
  EXPECT_TRUE(CheckBasicCode("XK0001700900").ok());
  EXPECT_FALSE(CheckBasicCode("00011700900").ok());
  EXPECT_FALSE(CheckBasicCode("0001170090000").ok());
  EXPECT_FALSE(CheckBasicCode("xk0001700900").ok());
  EXPECT_FALSE(CheckBasicCode("00011700900-").ok());
}

TEST(MatterCodes, ImplementCodeIsAValidUsccAFlagAndABasicCode) {
  EXPECT_TRUE(CheckImplementCode(ImplementCode(kUscc, "000117009000")).ok());
  // The notes' example from integrator code.
  EXPECT_TRUE(CheckImplementCode("11100000000013127D3000117009000").ok());
  std::string bad_check = ImplementCode(kUscc, "000117009000");
  bad_check[17] = '4';  // wrong GB 32100 check character
  Status s = CheckImplementCode(bad_check);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("social credit"), std::string::npos);
  EXPECT_FALSE(CheckImplementCode(ImplementCode(kUscc, "00011700900")).ok());
  EXPECT_FALSE(CheckImplementCode(std::string(kUscc) + "-000117009000").ok());
  EXPECT_FALSE(CheckImplementCode(ImplementCode(kUscc, "00011700900a")).ok());
}

TEST(MatterCodes, DivisionIsSixDigitsOrTwelveStartingWithSix) {
  EXPECT_TRUE(CheckDivisionCode("330100").ok());
  EXPECT_TRUE(CheckDivisionCode("320508019044").ok());
  EXPECT_FALSE(CheckDivisionCode("990100").ok());  // no province 99
  EXPECT_FALSE(CheckDivisionCode("990100019044").ok());
  EXPECT_FALSE(CheckDivisionCode("320508019").ok());  // 9 digits: not a matter's
  EXPECT_FALSE(CheckDivisionCode("32050801904A").ok());
  EXPECT_FALSE(CheckDivisionCode("").ok());
}

// ---------------------------------------------------------------- CheckMatter

TEST(CheckMatter, AcceptsACompleteMatter) {
  Status s = CheckMatter(ValidMatter());
  EXPECT_TRUE(s.ok()) << s.error().message;
}

// Each case breaks one rule; the message must name the field.
TEST(CheckMatter, NamesTheFieldOfEachBrokenRule) {
  struct Case {
    const char* field;
    void (*spoil)(Matter&);
  };
  const Case cases[] = {
      {"name", [](Matter& m) { m.name.clear(); }},
      {"name",
       [](Matter& m) {
         m.name.clear();
         for (int i = 0; i < 201; ++i) m.name += "事";
       }},
      {"basic_code", [](Matter& m) { m.basic_code = "000117009001"; }},
      {"orgcoding", [](Matter& m) { m.orgcoding.clear(); }},
      {"division", [](Matter& m) { m.division = "99"; }},
      {"legal_limit", [](Matter& m) { m.legal_limit.amount = -1; }},
      {"legal_limit",
       [](Matter& m) {
         m.legal_limit = {11, TimeUnit::kYears};
       }},
      {"promised_limit", [](Matter& m) { m.promised_limit.amount = 21; }},
      {"kind", [](Matter& m) { m.kind = static_cast<CaseKind>(7); }},
      {"steps", [](Matter& m) { m.steps.clear(); }},
      {"steps", [](Matter& m) { m.steps[2].code = m.steps[0].code; }},
      {"steps", [](Matter& m) { m.steps[1].code.clear(); }},
      {"steps", [](Matter& m) { m.steps[0].role = "clerk"; }},
      {"steps", [](Matter& m) { m.steps[0].role = std::string(kRoleSupervise); }},
      {"steps", [](Matter& m) { m.steps[0].org = "01"; }},
      {"steps", [](Matter& m) { m.steps[0].limit.amount = -3; }},
      {"materials", [](Matter& m) { m.materials[1].name = m.materials[0].name; }},
      {"materials", [](Matter& m) { m.materials[0].name.clear(); }},
      {"materials", [](Matter& m) { m.materials[0].template_sha256 = "abc"; }},
  };
  for (const Case& c : cases) {
    Matter m = ValidMatter();
    c.spoil(m);
    Status s = CheckMatter(m);
    ASSERT_FALSE(s.ok()) << c.field;
    EXPECT_EQ(s.error().code, errc::kInvalidArgument);
    EXPECT_EQ(s.error().message.rfind(std::string(c.field) + ":", 0), 0u) << s.error().message;
  }
}

TEST(CheckMatter, PromisedLongerThanLegalIsFineInDifferentUnits) {
  Matter m = ValidMatter();
  m.legal_limit = {1, TimeUnit::kMonths};
  m.promised_limit = {20, TimeUnit::kWorkingDays};
  EXPECT_TRUE(CheckMatter(m).ok());
}

// ---------------------------------------------------------------- catalogue

class CatalogueTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (url.empty()) GTEST_SKIP() << why;
    auto store = SqlStore::Open(url, 4);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    Status migrated = store_->Migrate(MatterCatalogue::Migrations());
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    catalogue_ = std::make_unique<MatterCatalogue>(*store_, clock_);
  }

  store_test::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SqlStore> store_;
  std::unique_ptr<MatterCatalogue> catalogue_;
};

TEST_P(CatalogueTest, SavingWritesVersionOneThenTheNext) {
  auto first = catalogue_->Save(ValidMatter());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->updated_at_ms, clock_.NowMillis());
  Matter changed = ValidMatter();
  changed.version = 7;  // ignored: the catalogue numbers versions
  changed.promised_limit.amount = 5;
  changed.steps.pop_back();
  auto second = catalogue_->Save(changed);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->version, 2);

  auto latest = catalogue_->Latest(changed.implement_code);
  ASSERT_TRUE(latest.ok()) << latest.error().message;
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->promised_limit.amount, 5);
  EXPECT_EQ(latest->steps.size(), 2u);

  // A running case's version is still there, unchanged.
  auto v1 = catalogue_->Version(changed.implement_code, 1);
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ((*v1)->promised_limit.amount, 10);
  ASSERT_EQ((*v1)->steps.size(), 3u);
  EXPECT_EQ((*v1)->steps[2].org, "001001");
}

TEST_P(CatalogueTest, EveryFieldSurvivesTheRoundTrip) {
  Matter m = ValidMatter();
  m.item_code = ImplementCode(kUscc, "000117009000") + "01";
  m.type = MatterType::kPublicService;
  m.division = "330106001002";
  m.kind = CaseKind::kJoint;
  m.has_fee = true;
  m.online = true;
  m.guide = "地址：行政服务中心 3 楼\n收费：无";
  m.legal_limit = {2, TimeUnit::kMonths};
  m.promised_limit = {36, TimeUnit::kHours};
  m.materials[0].required = false;
  m.materials[0].form = MaterialForm::kElectronic;
  m.materials[0].copies = 0;
  m.materials[0].template_sha256 = std::string(64, 'a');
  m.steps[0].limit = {1, TimeUnit::kNaturalDays};
  ASSERT_TRUE(catalogue_->Save(m).ok());
  auto back = catalogue_->Version(m.implement_code, 1);
  ASSERT_TRUE(back.ok()) << back.error().message;
  const Matter& b = **back;
  EXPECT_EQ(b.item_code, m.item_code);
  EXPECT_EQ(b.basic_code, m.basic_code);
  EXPECT_EQ(b.name, m.name);
  EXPECT_EQ(b.type, m.type);
  EXPECT_EQ(b.division, m.division);
  EXPECT_EQ(b.kind, m.kind);
  EXPECT_TRUE(b.has_fee);
  EXPECT_TRUE(b.online);
  EXPECT_EQ(b.guide, m.guide);
  EXPECT_EQ(b.legal_limit.unit, TimeUnit::kMonths);
  EXPECT_EQ(b.promised_limit.amount, 36);
  EXPECT_EQ(b.promised_limit.unit, TimeUnit::kHours);
  ASSERT_EQ(b.materials.size(), 2u);
  EXPECT_FALSE(b.materials[0].required);
  EXPECT_EQ(b.materials[0].form, MaterialForm::kElectronic);
  EXPECT_EQ(b.materials[0].copies, 0);
  EXPECT_EQ(b.materials[0].template_sha256, std::string(64, 'a'));
  EXPECT_EQ(b.materials[1].form, MaterialForm::kPaper);
  ASSERT_EQ(b.steps.size(), 3u);
  EXPECT_EQ(b.steps[0].limit.unit, TimeUnit::kNaturalDays);
  EXPECT_EQ(b.steps[1].role, kRoleReview);
  EXPECT_EQ(b.steps[1].name, "审核");
}

TEST_P(CatalogueTest, SaveRefusesAnInvalidMatterAndWritesNothing) {
  Matter m = ValidMatter();
  m.steps.clear();
  auto saved = catalogue_->Save(m);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error().code, errc::kInvalidArgument);
  auto latest = catalogue_->Latest(m.implement_code);
  ASSERT_FALSE(latest.ok());
  EXPECT_EQ(latest.error().code, errc::kNotFound);
}

TEST_P(CatalogueTest, SaveFillsTheBasicCodeFromTheImplementCode) {
  Matter m = ValidMatter();
  m.basic_code.clear();
  auto saved = catalogue_->Save(m);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->basic_code, "000117009000");
}

TEST_P(CatalogueTest, UnknownMattersAndVersionsAreNotFound) {
  ASSERT_TRUE(catalogue_->Save(ValidMatter()).ok());
  EXPECT_EQ(catalogue_->Latest(ImplementCode(kOtherUscc, "000117009000")).error().code,
            errc::kNotFound);
  EXPECT_EQ(catalogue_->Version(ValidMatter().implement_code, 2).error().code, errc::kNotFound);
  EXPECT_EQ(catalogue_->SetEnabled(ImplementCode(kOtherUscc, "000117009000"), false).error().code,
            errc::kNotFound);
}

TEST_P(CatalogueTest, DisablingKeepsTheVersionAndListsHideIt) {
  ASSERT_TRUE(catalogue_->Save(ValidMatter("000117009000")).ok());
  ASSERT_TRUE(catalogue_->Save(ValidMatter("000117009001")).ok());
  ASSERT_TRUE(catalogue_->SetEnabled(ValidMatter("000117009000").implement_code, false).ok());
  auto latest = catalogue_->Latest(ValidMatter("000117009000").implement_code);
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->enabled);
  EXPECT_EQ(latest->version, 1);
  MatterFilter filter;
  filter.enabled_only = true;
  int64_t total = -1;
  auto enabled = catalogue_->List(filter, &total);
  ASSERT_TRUE(enabled.ok()) << enabled.error().message;
  ASSERT_EQ(enabled->size(), 1u);
  EXPECT_EQ(total, 1);
  EXPECT_EQ((*enabled)[0].basic_code, "000117009001");
  // A new version of a disabled matter carries the switch it is saved with.
  ASSERT_TRUE(catalogue_->Save(ValidMatter("000117009000")).ok());
  EXPECT_TRUE(catalogue_->Latest(ValidMatter("000117009000").implement_code)->enabled);
}

TEST_P(CatalogueTest, ListFiltersByOrgAndTextAndPages) {
  for (int i = 0; i < 5; ++i) {
    Matter m = ValidMatter("00011700900" + std::to_string(i));
    m.name = i % 2 == 0 ? "食品经营许可" + std::to_string(i) : "户籍迁移_" + std::to_string(i);
    m.orgcoding = i < 3 ? "001" : "001002";
    ASSERT_TRUE(catalogue_->Save(m).ok());
  }
  // Saving again adds a version, not a row of the list.
  ASSERT_TRUE(catalogue_->Save(ValidMatter("000117009004")).ok());

  int64_t total = 0;
  auto all = catalogue_->List({}, &total);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(total, 5);
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[4].version, 2);
  EXPECT_EQ((*all)[4].orgcoding, "001");  // the latest version's org

  MatterFilter by_org;
  by_org.orgcoding = "001002";
  auto org = catalogue_->List(by_org, &total);
  ASSERT_TRUE(org.ok());
  EXPECT_EQ(total, 1);  // 3 in 001002, then 4 moved back to 001

  MatterFilter by_text;
  by_text.text = "食品";
  auto food = catalogue_->List(by_text, &total);
  ASSERT_TRUE(food.ok());
  EXPECT_EQ(total, 2);  // 0 and 2; 4's new version has another name
  by_text.text = "_";   // a LIKE wildcard matches only itself
  auto underscore = catalogue_->List(by_text, &total);
  ASSERT_TRUE(underscore.ok());
  EXPECT_EQ(total, 2);      // 1 and 3
  by_text.text = "009003";  // part of a code
  auto code = catalogue_->List(by_text, &total);
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(code->size(), 1u);
  EXPECT_EQ((*code)[0].basic_code, "000117009003");

  MatterFilter page;
  page.offset = 2;
  page.limit = 2;
  auto second = catalogue_->List(page, &total);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(total, 5);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].basic_code, "000117009002");
}

// Two clerks saving one matter at once: every save gets its own version.
TEST_P(CatalogueTest, ConcurrentSavesGetDistinctVersions) {
  constexpr int kThreads = 4, kSaves = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int> versions;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSaves; ++i) {
        auto saved = catalogue_->Save(ValidMatter());
        if (!saved.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        versions.insert(saved->version);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(versions.size(), static_cast<size_t>(kThreads * kSaves));
  EXPECT_EQ(*versions.rbegin(), kThreads * kSaves);
}

// ---------------------------------------------------------------- CSV

constexpr const char* kHeader =
    "implement_code,name,type,orgcoding,division,legal_limit,legal_unit,promised_limit,"
    "promised_unit,kind,materials,steps\n";

std::string CsvRow(std::string_view basic, std::string_view name,
                   std::string_view steps = R"([{"code":"1","name":"承办","role":"undertake"}])") {
  auto quoted = [](std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  return ImplementCode(kUscc, basic) + "," + std::string(name) +
         ",行政许可,001,330100,20,工作日,10," + "工作日,承诺件," +
         quoted(R"([{"name":"申请书","form":"纸质","copies":"2"}])") + "," + quoted(steps) + "\n";
}

TEST_P(CatalogueTest, CsvImportSavesEveryRowAndExportReadsBack) {
  std::istringstream in(std::string(kHeader) + CsvRow("000117009000", "甲事项") + "\n" +
                        CsvRow("000117009001", "乙事项"));
  auto n = catalogue_->ImportCsv(in);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2);
  auto a = catalogue_->Latest(ImplementCode(kUscc, "000117009000"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "甲事项");
  EXPECT_EQ(a->kind, CaseKind::kPromised);
  ASSERT_EQ(a->materials.size(), 1u);
  EXPECT_EQ(a->materials[0].form, MaterialForm::kPaper);
  EXPECT_EQ(a->materials[0].copies, 2);
  EXPECT_EQ(a->steps[0].role, kRoleUndertake);

  std::ostringstream out;
  ASSERT_TRUE(catalogue_->ExportCsv(out).ok());
  std::string exported = out.str();
  EXPECT_EQ(exported.rfind("implement_code,version,basic_code,", 0), 0u) << exported;
  std::istringstream again(exported);
  auto n2 = catalogue_->ImportCsv(again);
  ASSERT_TRUE(n2.ok()) << n2.error().message;
  EXPECT_EQ(*n2, 2);
  auto a2 = catalogue_->Latest(ImplementCode(kUscc, "000117009000"));
  ASSERT_TRUE(a2.ok());
  EXPECT_EQ(a2->version, 2);
  EXPECT_EQ(a2->materials[0].copies, 2);
  EXPECT_EQ(a2->promised_limit.amount, 10);
}

// A table without the online_min_authlevel column (written before it existed)
// keeps each matter's level; a table with it sets it. A re-import of an old
// export must never drop a real-name requirement.
TEST_P(CatalogueTest, CsvImportWithoutTheLevelColumnKeepsTheMattersLevel) {
  std::istringstream first(std::string(kHeader) + CsvRow("000117009002", "须实名事项"));
  ASSERT_TRUE(catalogue_->ImportCsv(first).ok());
  const std::string code = ImplementCode(kUscc, "000117009002");
  Matter m = *catalogue_->Latest(code);
  m.online_min_authlevel = 2;
  ASSERT_TRUE(catalogue_->Save(m).ok());

  std::istringstream old_table(std::string(kHeader) + CsvRow("000117009002", "须实名事项（改）"));
  ASSERT_TRUE(catalogue_->ImportCsv(old_table).ok());
  auto kept = catalogue_->Latest(code);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->name, "须实名事项（改）");
  EXPECT_EQ(kept->online_min_authlevel, 2);

  std::string header(kHeader);
  header.insert(header.size() - 1, ",online_min_authlevel");
  std::string row = CsvRow("000117009002", "须实名事项");
  row.insert(row.size() - 1, ",0");
  std::istringstream with_column(header + row);
  ASSERT_TRUE(catalogue_->ImportCsv(with_column).ok());
  EXPECT_EQ(catalogue_->Latest(code)->online_min_authlevel, 0);
}

TEST_P(CatalogueTest, CsvExportDefusesFormulasAndImportRestoresThem) {
  Matter m = ValidMatter();
  m.guide = "=HYPERLINK(\"http://evil\")";
  ASSERT_TRUE(catalogue_->Save(m).ok());
  std::ostringstream out;
  ASSERT_TRUE(catalogue_->ExportCsv(out).ok());
  EXPECT_NE(out.str().find("'=HYPERLINK"), std::string::npos) << out.str();
  std::istringstream again(out.str());
  ASSERT_TRUE(catalogue_->ImportCsv(again).ok());
  EXPECT_EQ(catalogue_->Latest(m.implement_code)->guide, m.guide);
}

// One bad row: nothing is saved, and the error names its line and column.
TEST_P(CatalogueTest, CsvImportIsAllOrNothingAndNamesLineAndColumn) {
  struct Bad {
    std::string row;
    std::string where;
  };
  const Bad cases[] = {
      {CsvRow("000117009001", "乙", R"([{"code":"1","name":"承办","role":"clerk"}])"),
       "line 3, column steps: step 1: role"},
      {CsvRow("000117009001", "乙", "[{"), "line 3, column steps:"},
      {CsvRow("000117009001", ""), "line 3, column name:"},
      {CsvRow("00011700900", "乙"), "line 3, column implement_code:"},
      {CsvRow("000117009000", "乙"), "line 3, column implement_code: " +
                                         ImplementCode(kUscc, "000117009000") + " repeats line 2"},
  };
  for (const Bad& bad : cases) {
    std::istringstream in(std::string(kHeader) + CsvRow("000117009000", "甲") + bad.row);
    auto n = catalogue_->ImportCsv(in);
    ASSERT_FALSE(n.ok()) << bad.where;
    EXPECT_EQ(n.error().code, errc::kInvalidArgument);
    EXPECT_EQ(n.error().message.rfind(bad.where, 0), 0u) << n.error().message;
    int64_t total = -1;
    ASSERT_TRUE(catalogue_->List({}, &total).ok());
    EXPECT_EQ(total, 0) << "a failed import saved rows";
  }
}

TEST_P(CatalogueTest, CsvHeaderMustNameKnownColumnsOnceAndTheRequiredOnes) {
  for (const auto& [header, message] :
       {std::pair<std::string, std::string>{"implement_code,name,typo\n", "unknown column 'typo'"},
        {"implement_code,name,name\n", "column 'name' appears twice"},
        {"implement_code,name,type,orgcoding,division\n", "column 'steps' is missing"}}) {
    std::istringstream in(header);
    auto n = catalogue_->ImportCsv(in);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().message, "line 1: " + message);
  }
}

// ---------------------------------------------------------------- xlsx

TEST_P(CatalogueTest, XlsxExportReadsBackAsANewVersion) {
  ASSERT_TRUE(catalogue_->Save(ValidMatter("000117009000")).ok());
  ASSERT_TRUE(catalogue_->Save(ValidMatter("000117009001")).ok());
  auto bytes = catalogue_->ExportXlsx();
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto sheets = codec::ReadXlsx(*bytes);
  ASSERT_TRUE(sheets.ok()) << sheets.error().message;
  ASSERT_EQ(sheets->size(), 1u);
  const auto& rows = sheets->front().rows;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], codec::Cell::Text("implement_code"));
  EXPECT_EQ(rows[1][9], codec::Cell::Number(20));      // legal_limit, a number a sheet can sum
  EXPECT_EQ(rows[1][7], codec::Cell::Text("330100"));  // division stays text

  auto n = catalogue_->ImportXlsx(*bytes);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2);
  auto latest = catalogue_->Latest(ValidMatter("000117009001").implement_code);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->steps.size(), 3u);
  EXPECT_EQ(latest->materials[1].form, MaterialForm::kPaper);
}

// What a clerk types in Excel: numbers as numbers, Chinese names, a blank row.
TEST_P(CatalogueTest, XlsxImportReadsTypedNumbersAndNamesBadCells) {
  using codec::Cell;
  std::vector<Cell> header;
  for (const char* h : {"implement_code", "name", "type", "orgcoding", "division", "legal_limit",
                        "legal_unit", "kind", "steps"}) {
    header.push_back(Cell::Text(h));
  }
  auto row = [](std::string basic, std::string steps) {
    return std::vector<Cell>{Cell::Text(ImplementCode(kUscc, basic)),
                             Cell::Text("甲"),
                             Cell::Text("公共服务"),
                             Cell::Text("001"),
                             Cell::Number(330100),
                             Cell::Number(15),
                             Cell::Text("自然日"),
                             Cell::Number(1),
                             Cell::Text(steps)};
  };
  const std::string steps = R"([{"code":"1","name":"承办","role":"undertake"}])";
  codec::Sheet good{"事项", {header, row("000117009000", steps), {}, row("000117009001", steps)}};
  auto bytes = codec::WriteXlsx({good});
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto n = catalogue_->ImportXlsx(*bytes);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2);
  auto m = catalogue_->Latest(ImplementCode(kUscc, "000117009001"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->division, "330100");
  EXPECT_EQ(m->type, MatterType::kPublicService);
  EXPECT_EQ(m->legal_limit.amount, 15);
  EXPECT_EQ(m->legal_limit.unit, TimeUnit::kNaturalDays);
  EXPECT_EQ(m->kind, CaseKind::kImmediate);

  codec::Sheet bad{"事项", {header, row("000117009002", steps), row("000117009003", "[]")}};
  bad.rows[1][5] = Cell::Number(2.5);
  bytes = codec::WriteXlsx({bad});
  ASSERT_TRUE(bytes.ok());
  n = catalogue_->ImportXlsx(*bytes);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message.rfind("line 2, column legal_limit:", 0), 0u) << n.error().message;
  bad.rows[1][5] = Cell::Number(2);
  bytes = codec::WriteXlsx({bad});
  n = catalogue_->ImportXlsx(*bytes);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message.rfind("line 3, column steps:", 0), 0u) << n.error().message;
  EXPECT_EQ(catalogue_->Latest(ImplementCode(kUscc, "000117009002")).error().code, errc::kNotFound);

  auto not_xlsx = catalogue_->ImportXlsx("implement_code,name\n");
  ASSERT_FALSE(not_xlsx.ok());
  EXPECT_EQ(not_xlsx.error().code, errc::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogueTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tongban::approval
