#include <gtest/gtest.h>
#include <minizip/unzip.h>
#include <minizip/zip.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "codec/xlsx.h"

namespace tongban::codec {
namespace {

// Zips are built and opened here through minizip's own file I/O (a temp file), independently of
// the in-memory streams xlsx.cc uses.
class TempPath {
 public:
  TempPath() {
    char pattern[] = "/tmp/xlsx_test_XXXXXX";
    const int fd = mkstemp(pattern);
    if (fd >= 0) close(fd);
    path_ = pattern;
  }
  ~TempPath() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Zip(const std::vector<std::pair<std::string, std::string>>& parts, int level = 6) {
  TempPath tmp;
  zipFile zip = zipOpen(tmp.path().c_str(), APPEND_STATUS_CREATE);
  EXPECT_NE(zip, nullptr);
  for (const auto& [name, content] : parts) {
    zip_fileinfo info{};
    EXPECT_EQ(zipOpenNewFileInZip(zip, name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr,
                                  Z_DEFLATED, level),
              ZIP_OK);
    EXPECT_EQ(zipWriteInFileInZip(zip, content.data(), static_cast<unsigned>(content.size())),
              ZIP_OK);
    EXPECT_EQ(zipCloseFileInZip(zip), ZIP_OK);
  }
  EXPECT_EQ(zipClose(zip, nullptr), ZIP_OK);
  return ReadFileBytes(tmp.path());
}

std::map<std::string, std::string> Unzip(const std::string& bytes) {
  TempPath tmp;
  {
    std::ofstream out(tmp.path(), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::map<std::string, std::string> parts;
  unzFile zip = unzOpen(tmp.path().c_str());
  EXPECT_NE(zip, nullptr);
  if (zip == nullptr) return parts;
  for (int rc = unzGoToFirstFile(zip); rc == UNZ_OK; rc = unzGoToNextFile(zip)) {
    char name[512];
    unz_file_info info{};
    EXPECT_EQ(unzGetCurrentFileInfo(zip, &info, name, sizeof name, nullptr, 0, nullptr, 0), UNZ_OK);
    EXPECT_EQ(unzOpenCurrentFile(zip), UNZ_OK);
    std::string content(info.uncompressed_size, '\0');
    EXPECT_EQ(unzReadCurrentFile(zip, content.data(), static_cast<unsigned>(content.size())),
              static_cast<int>(content.size()));
    EXPECT_EQ(unzCloseCurrentFile(zip), UNZ_OK);  // checks the CRC
    parts[name] = content;
  }
  unzClose(zip);
  return parts;
}

constexpr const char* kDecl = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)";
constexpr const char* kMain = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
constexpr const char* kRel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

std::string RootRels() {
  return std::string(kDecl) +
         R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
         R"(<Relationship Id="rId1" Type=")" +
         kRel + R"(/officeDocument" Target="xl/workbook.xml"/></Relationships>)";
}

std::string Workbook(const std::string& sheets) {
  return std::string(kDecl) + "<workbook xmlns=\"" + kMain + "\" xmlns:r=\"" + kRel +
         "\"><sheets>" + sheets + "</sheets></workbook>";
}

std::string WorkbookRels(const std::string& rels) {
  return std::string(kDecl) +
         R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)" +
         rels + "</Relationships>";
}

std::string Rel(const std::string& id, const std::string& type, const std::string& target) {
  return "<Relationship Id=\"" + id + "\" Type=\"" + kRel + "/" + type + "\" Target=\"" + target +
         "\"/>";
}

std::string Worksheet(const std::string& rows) {
  return std::string(kDecl) + "<worksheet xmlns=\"" + kMain + "\"><sheetData>" + rows +
         "</sheetData></worksheet>";
}

// A one-sheet workbook whose sheet part is `sheet_xml`.
std::string OneSheetWorkbook(const std::string& sheet_xml, int level = 6) {
  return Zip({{"_rels/.rels", RootRels()},
              {"xl/workbook.xml", Workbook(R"(<sheet name="S" sheetId="1" r:id="rId1"/>)")},
              {"xl/_rels/workbook.xml.rels",
               WorkbookRels(Rel("rId1", "worksheet", "worksheets/sheet1.xml"))},
              {"xl/worksheets/sheet1.xml", sheet_xml}},
             level);
}

// --- writing and reading back ---

TEST(CodecXlsxTest, ChineseTextAndNumbersRoundTrip) {
  Sheet stats{"统计",
              {{Cell::Text("部门"), Cell::Text("收件"), Cell::Text("按时办结率")},
               {Cell::Text("杭州市市场监督管理局"), Cell::Number(128), Cell::Number(0.9875)},
               {Cell::Text("西湖区行政服务中心"), Cell::Number(-3.5e-7), Cell::Number(1e21)}}};
  Sheet other{"Matters", {{Cell::Text("330100000000000000000000000001"), Cell::Boolean(true)}}};
  auto bytes = WriteXlsx({stats, other});
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(bytes->substr(0, 2), "PK");
  auto again = WriteXlsx({stats, other});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *bytes) << "the same sheets give the same bytes";
  auto read = ReadXlsx(*bytes);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].name, "统计");
  EXPECT_EQ((*read)[0].rows, stats.rows);
  EXPECT_EQ((*read)[1].name, "Matters");
  EXPECT_EQ((*read)[1].rows, other.rows);
}

TEST(CodecXlsxTest, TheWrittenFileIsAValidZipWithTheOfficeParts) {
  auto bytes = WriteXlsx({Sheet{"A", {{Cell::Text("x")}}}});
  ASSERT_TRUE(bytes.ok());
  const auto parts = Unzip(*bytes);
  for (const char* name :
       {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
        "xl/styles.xml", "xl/worksheets/sheet1.xml"}) {
    EXPECT_TRUE(parts.count(name)) << name;
  }
  EXPECT_NE(parts.at("[Content_Types].xml").find("/xl/worksheets/sheet1.xml"), std::string::npos);
}

TEST(CodecXlsxTest, GapsStayEmptyCellsAndEmptyRows) {
  Sheet sheet{"Gaps", {{Cell::Text("a"), Cell(), Cell::Number(3)}, {}, {Cell(), Cell::Text("b")}}};
  auto bytes = WriteXlsx({sheet});
  ASSERT_TRUE(bytes.ok());
  auto read = ReadXlsx(*bytes);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ((*read)[0].rows, sheet.rows);
}

TEST(CodecXlsxTest, FormulaLookingTextStaysTextWithQuotePrefix) {
  const std::vector<std::string> texts = {"=1+1", "+86 571", "-cmd|' /C calc'!A0", "@SUM(A1)"};
  Sheet sheet{"F", {}};
  for (const auto& t : texts) sheet.rows.push_back({Cell::Text(t)});
  auto bytes = WriteXlsx({sheet});
  ASSERT_TRUE(bytes.ok());
  const std::string xml = Unzip(*bytes).at("xl/worksheets/sheet1.xml");
  EXPECT_EQ(xml.find("<f>"), std::string::npos);
  EXPECT_NE(xml.find(R"(<c r="A1" t="inlineStr" s="1">)"), std::string::npos) << xml;
  EXPECT_NE(Unzip(*bytes).at("xl/styles.xml").find("quotePrefix=\"1\""), std::string::npos);
  auto read = ReadXlsx(*bytes);
  ASSERT_TRUE(read.ok());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*read)[0].rows[i][0], Cell::Text(texts[i]));
  }
}

TEST(CodecXlsxTest, MarkupAndXmlForbiddenCharactersAreEscapedOrDropped) {
  Sheet sheet{"X",
              {{Cell::Text("<a & b>\"'"),
                Cell::Text(std::string("bell\x07 nul") + '\0' + "\xEF\xBF\xBF end\xFF"),
                Cell::Text("line1\r\nline2\ttab"), Cell::Text("_x0041_ stays literal")}}};
  auto bytes = WriteXlsx({sheet});
  ASSERT_TRUE(bytes.ok());
  auto read = ReadXlsx(*bytes);
  ASSERT_TRUE(read.ok()) << read.error().message;
  const auto& row = (*read)[0].rows[0];
  EXPECT_EQ(row[0].text, "<a & b>\"'");
  EXPECT_EQ(row[1].text, "bell nul end");
  EXPECT_EQ(row[2].text, "line1\r\nline2\ttab");
  EXPECT_EQ(row[3].text, "_x0041_ stays literal");
}

TEST(CodecXlsxTest, WriterRefusesWhatExcelCannotOpen) {
  EXPECT_FALSE(WriteXlsx({}).ok());
  EXPECT_FALSE(WriteXlsx({Sheet{"a/b", {}}}).ok());
  EXPECT_FALSE(WriteXlsx({Sheet{"", {}}}).ok());
  EXPECT_FALSE(
      WriteXlsx({Sheet{"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二", {}}})
          .ok());
  EXPECT_FALSE(WriteXlsx({Sheet{"Same", {}}, Sheet{"same", {}}}).ok());
  EXPECT_FALSE(WriteXlsx({Sheet{"N", {{Cell::Number(std::nan(""))}}}}).ok());
  EXPECT_FALSE(WriteXlsx({Sheet{"L", {{Cell::Text(std::string(32768, 'x'))}}}}).ok());
  EXPECT_TRUE(WriteXlsx({Sheet{"L", {{Cell::Text(std::string(32767, 'x'))}}}}).ok());
}

TEST(CodecXlsxTest, CellReferencesNameColumnsLikeExcel) {
  EXPECT_EQ(CellReference(0, 0), "A1");
  EXPECT_EQ(CellReference(2, 25), "Z3");
  EXPECT_EQ(CellReference(0, 26), "AA1");
  EXPECT_EQ(CellReference(9, 701), "ZZ10");
  EXPECT_EQ(ColumnName(16383), "XFD");
}

// --- files as Excel and WPS save them ---

TEST(CodecXlsxTest, ReadsSharedStringsRichTextAndCachedFormulaValues) {
  const std::string shared =
      std::string(kDecl) + "<sst xmlns=\"" + kMain + "\" count=\"4\" uniqueCount=\"4\">" +
      "<si><t>办件编号</t></si>"
      "<si><r><rPr><b/></rPr><t xml:space=\"preserve\">准予 </t></r><r><t>许可</t></r>"
      "<rPh sb=\"0\" eb=\"1\"><t>ZHUN</t></rPh><phoneticPr fontId=\"1\"/></si>"
      "<si><t>a_x000D__x000A_b _x005F_x0041_</t></si>"
      "<si><t/></si></sst>";
  const std::string sheet1 = Worksheet(
      R"(<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s" s="3"><v>1</v></c></row>)"
      R"(<row r="3"><c r="B3"><f>1+1</f><v>2</v></c><c t="b"><v>1</v></c>)"
      R"(<c t="str"><f>"x"&amp;"y"</f><v>xy</v></c><c t="e"><v>#N/A</v></c><c s="2"/>)"
      R"(<c r="H3" t="s"><v>2</v></c></row><row><c><v>  42 </v></c><c t="s"><v>3</v></c></row>)");
  const std::string sheet2 =
      Worksheet(R"(<row r="2"><c r="B2" t="inlineStr"><is><t>内联</t></is></c></row>)");
  // The workbook lists the second part first, by an absolute target, as WPS does.
  const std::string bytes = Zip(
      {{"[Content_Types].xml", "<Types/>"},
       {"_rels/.rels", RootRels()},
       {"xl/workbook.xml",
        Workbook(
            R"(<sheet name="汇总" sheetId="2" r:id="rId7"/><sheet name="明细" sheetId="1" r:id="rId1"/>)")},
       {"xl/_rels/workbook.xml.rels",
        WorkbookRels(Rel("rId1", "worksheet", "worksheets/sheet1.xml") +
                     Rel("rId7", "worksheet", "/xl/worksheets/sheet2.xml") +
                     Rel("rId3", "sharedStrings", "sharedStrings.xml"))},
       {"xl/sharedStrings.xml", shared},
       {"xl/worksheets/sheet1.xml", sheet1},
       {"xl/worksheets/sheet2.xml", sheet2}});
  auto read = ReadXlsx(bytes);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].name, "汇总");
  EXPECT_EQ((*read)[0].rows, (std::vector<std::vector<Cell>>{{}, {Cell(), Cell::Text("内联")}}));
  const Sheet& s = (*read)[1];
  EXPECT_EQ(s.name, "明细");
  ASSERT_EQ(s.rows.size(), 4u);
  EXPECT_EQ(s.rows[0],
            (std::vector<Cell>{Cell::Text("办件编号"), Cell(), Cell::Text("准予 许可")}));
  EXPECT_TRUE(s.rows[1].empty());
  EXPECT_EQ(s.rows[2],
            (std::vector<Cell>{Cell(), Cell::Number(2), Cell::Boolean(true), Cell::Text("xy"),
                               Cell::Text("#N/A"), Cell(), Cell(), Cell::Text("a\r\nb _x0041_")}));
  EXPECT_EQ(s.rows[3], (std::vector<Cell>{Cell::Number(42), Cell::Text("")}));
}

TEST(CodecXlsxTest, ElementPrefixesAndOtherRelationshipPrefixesAreRead) {
  const std::string workbook =
      std::string(kDecl) + "<x:workbook xmlns:x=\"" + kMain + "\" xmlns:rel=\"" + kRel +
      "\"><x:sheets><x:sheet name=\"P\" sheetId=\"1\" rel:id=\"rId1\"/></x:sheets></x:workbook>";
  const std::string sheet = std::string(kDecl) + "<x:worksheet xmlns:x=\"" + kMain +
                            "\"><x:sheetData><x:row r=\"1\"><x:c r=\"A1\"><x:v>7</x:v></x:c>"
                            "</x:row></x:sheetData></x:worksheet>";
  const std::string bytes = Zip({{"_rels/.rels", RootRels()},
                                 {"xl/workbook.xml", workbook},
                                 {"xl/_rels/workbook.xml.rels",
                                  WorkbookRels(Rel("rId1", "worksheet", "worksheets/sheet1.xml"))},
                                 {"xl/worksheets/sheet1.xml", sheet}});
  auto read = ReadXlsx(bytes);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ((*read)[0].rows, (std::vector<std::vector<Cell>>{{Cell::Number(7)}}));
}

// --- hostile and broken input ---

TEST(CodecXlsxTest, NotAZipIsInvalidArgument) {
  auto read = ReadXlsx("this is a CSV file,really\n1,2\n");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kInvalidArgument);
  EXPECT_FALSE(ReadXlsx("").ok());
}

TEST(CodecXlsxTest, EveryTruncationIsAnErrorNotACrash) {
  auto bytes = WriteXlsx({Sheet{"T", {{Cell::Text("截断"), Cell::Number(1)}}}});
  ASSERT_TRUE(bytes.ok());
  for (std::size_t n = 0; n < bytes->size(); n += 7) {
    auto read = ReadXlsx(std::string_view(*bytes).substr(0, n));
    EXPECT_FALSE(read.ok()) << n;
  }
}

TEST(CodecXlsxTest, CorruptedBytesAreAnErrorNotACrash) {
  auto bytes = WriteXlsx({Sheet{"C", {{Cell::Text("数据"), Cell::Number(1)}}}});
  ASSERT_TRUE(bytes.ok());
  int failures = 0;
  for (std::size_t i = 0; i < bytes->size(); ++i) {
    std::string corrupt = *bytes;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
    auto read = ReadXlsx(corrupt);  // must return, one way or the other
    if (!read.ok()) ++failures;
  }
  EXPECT_GT(failures, 0);
}

TEST(CodecXlsxTest, ZipBombIsRefusedBeforeInflating) {
  // 16 MiB of the same byte deflate to about 16 KiB: a ratio near 1000.
  const std::string bomb = OneSheetWorkbook(std::string(16 << 20, ' '), 9);
  ASSERT_LT(bomb.size(), 200000u);
  auto read = ReadXlsx(bomb);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kTooLarge);
  EXPECT_NE(read.error().message.find("zip bomb"), std::string::npos) << read.error().message;
}

TEST(CodecXlsxTest, TotalInflatedSizeIsCapped) {
  auto bytes = WriteXlsx({Sheet{
      "Big", std::vector<std::vector<Cell>>(2000, {Cell::Text("一行数据"), Cell::Number(12345)})}});
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(ReadXlsx(*bytes).ok());
  XlsxLimits small;
  small.max_uncompressed_bytes = 20000;
  auto read = ReadXlsx(*bytes, small);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kTooLarge);
}

TEST(CodecXlsxTest, EntryCountAndCellCountAreCapped) {
  auto bytes = WriteXlsx({Sheet{"E", {{Cell::Number(1)}}}});
  ASSERT_TRUE(bytes.ok());
  XlsxLimits few_entries;
  few_entries.max_entries = 3;
  auto read = ReadXlsx(*bytes, few_entries);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kTooLarge);

  // One cell at the far corner makes a million empty rows before it: gaps count.
  const std::string far =
      OneSheetWorkbook(Worksheet(R"(<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>)"));
  XlsxLimits million_cells;
  million_cells.max_cells = 1'000'000;
  read = ReadXlsx(far, million_cells);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kTooLarge);
}

// review16a: 240 rows each holding one value in column XFD (2.7 KB) were padded to
// 16,384 cells a row, ~300 MB. A caller that knows its columns refuses such a value,
// naming it, before any padding; and may read its first worksheet alone.
TEST(CodecXlsxTest, AValuePastTheCallersLastColumnIsRefusedBeforeThePadding) {
  std::string rows = R"(<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c></row>)";
  for (int r = 2; r <= 240; ++r) {
    rows += "<row r=\"" + std::to_string(r) + "\"><c r=\"XFD" + std::to_string(r) +
            "\" t=\"b\"><v>1</v></c></row>";
  }
  const std::string wide = OneSheetWorkbook(Worksheet(rows));
  XlsxLimits narrow;
  narrow.max_columns = 32;
  auto read = ReadXlsx(wide, narrow);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kInvalidArgument);
  EXPECT_NE(read.error().message.find("XFD2"), std::string::npos) << read.error().message;
  EXPECT_NE(read.error().message.find("AF"), std::string::npos) << read.error().message;
  // Empty cells past it (styled blanks Excel writes) are no values: read as before.
  read = ReadXlsx(OneSheetWorkbook(Worksheet(
                      R"(<row r="1"><c r="A1"><v>1</v></c><c r="XFD1" s="3"/></row>)")),
                  narrow);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->front().rows.front().size(), 1u);
}

TEST(CodecXlsxTest, FirstSheetOnlyReadsOneWorksheet) {
  auto bytes = WriteXlsx({Sheet{"一", {{Cell::Number(1)}}}, Sheet{"二", {{Cell::Number(2)}}}});
  ASSERT_TRUE(bytes.ok());
  XlsxLimits first;
  first.first_sheet_only = true;
  auto read = ReadXlsx(*bytes, first);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ(read->front().name, "一");
  EXPECT_EQ(ReadXlsx(*bytes)->size(), 2u);
}

// A one-sheet workbook (best compression) with a shared-strings part.
std::string WorkbookWithSharedStrings(const std::string& shared, const std::string& rows) {
  return Zip({{"_rels/.rels", RootRels()},
              {"xl/workbook.xml", Workbook(R"(<sheet name="S" sheetId="1" r:id="rId1"/>)")},
              {"xl/_rels/workbook.xml.rels",
               WorkbookRels(Rel("rId1", "worksheet", "worksheets/sheet1.xml") +
                            Rel("rId2", "sharedStrings", "sharedStrings.xml"))},
              {"xl/sharedStrings.xml", shared},
              {"xl/worksheets/sheet1.xml", Worksheet(rows)}},
             9);
}

// Session 12 (review12, high): one long shared string referenced by thousands of cells was
// copied into each of them — a 3 KB upload allocated gigabytes. Its copies now count against
// max_text_bytes before they are made.
TEST(CodecXlsxTest, ASharedStringUsedByManyCellsCountsAtEveryUse) {
  // Just under 1 MiB: a part that small is not held to the zip-bomb ratio.
  constexpr std::size_t kLong = (1u << 20) - 4096;
  const std::string shared = std::string(kDecl) + "<sst xmlns=\"" + kMain + "\"><si><t>" +
                             std::string(kLong, 'x') + "</t></si></sst>";
  std::string rows;
  for (int r = 1; r <= 4000; ++r) {
    rows += "<row r=\"" + std::to_string(r) + "\"><c t=\"s\"><v>0</v></c></row>";
  }
  const std::string bytes = WorkbookWithSharedStrings(shared, rows);
  ASSERT_LT(bytes.size(), 64u << 10);  // a small upload: the string deflates to almost nothing
  auto read = ReadXlsx(bytes);  // 4000 × ~1 MiB = ~4 GiB of copies without the budget
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kTooLarge);
  EXPECT_NE(read.error().message.find("more text"), std::string::npos) << read.error().message;
  // Within the budget the same kind of workbook reads.
  XlsxLimits roomy;
  roomy.max_text_bytes = 16u << 20;
  std::string few;
  for (int r = 1; r <= 3; ++r) few += "<row><c t=\"s\"><v>0</v></c></row>";
  const std::string small = WorkbookWithSharedStrings(shared, few);
  auto ok = ReadXlsx(small, roomy);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->front().rows.size(), 3u);
  EXPECT_EQ(ok->front().rows[2][0].text.size(), kLong);
  XlsxLimits tight;
  tight.max_text_bytes = 3 * kLong;  // exactly three copies
  EXPECT_TRUE(ReadXlsx(small, tight).ok());
  tight.max_text_bytes = 3 * kLong - 1;
  auto over = ReadXlsx(small, tight);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, errc::kTooLarge);
}

// A part of tiny elements makes a DOM many times its size (each node ~40-64 bytes): the
// markup is counted against max_xml_nodes before it is parsed.
TEST(CodecXlsxTest, APartOfTinyElementsIsRefusedBeforeItIsParsed) {
  std::string junk;
  for (int i = 0; i < 200000; ++i) junk += "<x/>";
  const std::string sheet = Worksheet("<row><c><v>1</v></c></row>" + junk);
  const std::string bytes = OneSheetWorkbook(sheet, 9);
  XlsxLimits limits;
  limits.max_xml_nodes = 300000;  // 200,000 elements alone take 400,000 of it
  auto read = ReadXlsx(bytes, limits);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kTooLarge);
  EXPECT_NE(read.error().message.find("XML nodes"), std::string::npos) << read.error().message;
  limits.max_xml_nodes = 1'000'000;
  auto fine = ReadXlsx(bytes, limits);
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_EQ(fine->front().rows[0][0].number, 1);
}

TEST(CodecXlsxTest, MissingWorkbookIsInvalidArgument) {
  const std::string bytes = Zip({{"_rels/.rels", RootRels()}, {"docProps/app.xml", "<a/>"}});
  auto read = ReadXlsx(bytes);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kInvalidArgument);
  EXPECT_NE(read.error().message.find("xl/workbook.xml"), std::string::npos);
}

TEST(CodecXlsxTest, MissingSheetPartIsInvalidArgument) {
  const std::string bytes =
      Zip({{"xl/workbook.xml", Workbook(R"(<sheet name="S" sheetId="1" r:id="rId1"/>)")},
           {"xl/_rels/workbook.xml.rels",
            WorkbookRels(Rel("rId1", "worksheet", "worksheets/sheet1.xml"))}});
  auto read = ReadXlsx(bytes);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("xl/worksheets/sheet1.xml"), std::string::npos);
}

TEST(CodecXlsxTest, MalformedXmlIsInvalidArgumentNamingThePart) {
  auto read = ReadXlsx(OneSheetWorkbook(Worksheet("<row><c><v>1</v></row>")));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kInvalidArgument);
  EXPECT_NE(read.error().message.find("xl/worksheets/sheet1.xml"), std::string::npos)
      << read.error().message;
}

TEST(CodecXlsxTest, EntityExpansionIsRefused) {
  const std::string laughs =
      std::string(kDecl) +
      "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>"
      "<worksheet xmlns=\"" +
      kMain +
      "\"><sheetData><row><c t=\"inlineStr\"><is><t>&lol2;</t>"
      "</is></c></row></sheetData></worksheet>";
  auto read = ReadXlsx(OneSheetWorkbook(laughs));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, errc::kInvalidArgument);
}

TEST(CodecXlsxTest, BadCellsAreInvalidArgumentWithTheirReference) {
  for (const std::string rows : {R"(<row r="1"><c r="A0"><v>1</v></c></row>)",
                                 R"(<row r="1"><c r="AAAA1"><v>1</v></c></row>)",
                                 R"(<row r="1"><c r="A2"><v>1</v></c></row>)",
                                 R"(<row r="1"><c r="B1" t="s"><v>0</v></c></row>)",
                                 R"(<row r="1"><c r="B1"><v>12abc</v></c></row>)",
                                 R"(<row r="1"><c r="B1" t="zz"><v>1</v></c></row>)",
                                 R"(<row r="2"/><row r="1"/>)", R"(<row r="x"/>)"}) {
    auto read = ReadXlsx(OneSheetWorkbook(Worksheet(rows)));
    ASSERT_FALSE(read.ok()) << rows;
    EXPECT_EQ(read.error().code, errc::kInvalidArgument) << rows;
  }
}

}  // namespace
}  // namespace tongban::codec
