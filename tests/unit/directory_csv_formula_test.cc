// CSV injection: exports defuse cells a spreadsheet would run as formulas
// (codec::AppendCsvField, shared by the user, org and audit exports), and the
// importers read the defused values back unchanged.
#include <gtest/gtest.h>

#include <sstream>

#include "codec/csv.h"
#include "directory/csv.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

std::vector<std::string> ReadBack(const std::string& csv) {
  std::istringstream in(csv);
  internal::CsvReader reader(in);
  std::vector<std::string> fields;
  auto got = reader.Next(&fields);
  EXPECT_TRUE(got.ok() && *got);
  return fields;
}

TEST(DirectoryCsvFormulaTest, EveryFormulaStartGetsAnApostrophe) {
  std::string out;
  internal::AppendCsvRecord({"=cmd|' /C calc'!A0", "+1", "-5", "@SUM(A1)", "\tx", "plain"}, &out);
  EXPECT_EQ(out, "'=cmd|' /C calc'!A0,'+1,'-5,'@SUM(A1),'\tx,plain\r\n");
}

TEST(DirectoryCsvFormulaTest, QuotedFieldsAreDefusedInsideTheQuotes) {
  std::string out;
  internal::AppendCsvRecord({"=HYPERLINK(\"http://x\",\"y\")", "\rline"}, &out);
  EXPECT_EQ(out, "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",\"'\rline\"\r\n");
}

TEST(DirectoryCsvFormulaTest, ImportRestoresEveryValueExactly) {
  const std::vector<std::string_view> values = {"=cmd",    "'=cmd", "''-1", "'plain",
                                                "O'Brien", "-",     "",     "a,b"};
  std::string out;
  internal::AppendCsvRecord(values, &out);
  std::vector<std::string> back = ReadBack(out);
  ASSERT_EQ(back.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(back[i], values[i]) << i;
}

TEST(DirectoryCsvFormulaTest, AuditStyleAlwaysQuotedFieldsAreDefusedToo) {
  std::string out;
  codec::AppendCsvField("@evil", out, /*always_quote=*/true);
  EXPECT_EQ(out, "\"'@evil\"");
}

class DirectoryCsvExportTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "浙江省");
    AddOrg("001001", "杭州市");
  }
};

TEST_F(DirectoryCsvExportTest, UserExportDefusesFormulasAndImportsBack) {
  AddUser("formula", "001001", {{"usertitle", "=cmd|' /C calc'!A0"}, {"officeaddress", "+1"}});
  std::ostringstream users;
  ASSERT_TRUE(dir_->ExportUsers(users).ok());
  const std::string csv = users.str();
  EXPECT_NE(csv.find(",'=cmd|' /C calc'!A0,"), std::string::npos) << csv;
  EXPECT_EQ(csv.find(",=cmd"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",'+1,"), std::string::npos) << csv;

  // The export imports into a fresh directory with the original values.
  std::ostringstream orgs;
  ASSERT_TRUE(dir_->ExportOrgs(orgs).ok());
  DirectoryFixture::OpenOn("sqlite");
  std::istringstream org_in(orgs.str());
  ASSERT_TRUE(dir_->ImportOrgs(org_in).ok());
  size_t header_end = csv.find("\r\n");
  std::string rest = csv.substr(header_end + 2);
  std::string with_pwd = csv.substr(0, header_end) + ",password_hash\r\n" +
                         rest.substr(0, rest.rfind("\r\n")) + ",plain$x\r\n";
  std::istringstream user_in(with_pwd);
  auto report = dir_->ImportUsers(user_in);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->added, 1) << (report->errors.empty() ? "" : report->errors[0].message);
  auto user = dir_->GetUserByLoginname(Caller::Admin(), "formula");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ((*user)->usertitle, "=cmd|' /C calc'!A0");
  EXPECT_EQ((*user)->officeaddress, "+1");
}

}  // namespace
}  // namespace tongban::directory
