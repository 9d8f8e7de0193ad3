// The 配置工单 (work order) as PDF, read back with poppler's pdftotext: the title, the state,
// provider and consumer nodes, fields, schedule, contacts and the refusal reason are there.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

namespace fs = std::filesystem;

// pdftotext's text without white space, poppler's full-width ASCII (GBK-EUC-H) folded back.
std::string PdfText(const std::string& pdf) {
  char pattern[] = "/tmp/exchange_pdf_XXXXXX";
  fs::path dir = mkdtemp(pattern);
  {
    std::ofstream out(dir / "o.pdf", std::ios::binary);
    out.write(pdf.data(), static_cast<std::streamsize>(pdf.size()));
  }
  int rc = std::system(
      ("pdftotext -enc UTF-8 '" + (dir / "o.pdf").string() + "' '" + (dir / "o.txt").string() + "'")
          .c_str());
  EXPECT_EQ(rc, 0);
  std::ifstream in(dir / "o.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  fs::remove_all(dir);
  std::string raw = ss.str(), out;
  for (size_t i = 0; i < raw.size();) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == 0xEF && i + 2 < raw.size()) {
      unsigned cp = ((c & 0x0F) << 12) | ((static_cast<unsigned char>(raw[i + 1]) & 0x3F) << 6) |
                    (static_cast<unsigned char>(raw[i + 2]) & 0x3F);
      if (cp >= 0xFF01 && cp <= 0xFF5E) {
        out.push_back(static_cast<char>(cp - 0xFF01 + 0x21));
        i += 3;
        continue;
      }
    }
    if (c == 0xE3 && i + 2 < raw.size() && raw[i + 1] == '\x80' && raw[i + 2] == '\x80') {
      i += 3;  // U+3000
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f') {
      ++i;
      continue;
    }
    out.push_back(raw[i++]);
  }
  return out;
}

TEST(ExchangeOrderPdfTest, TheOrderReadsBackFromThePdf) {
  test::Env env;
  Node a = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100");
  Node b = env.AddNode("sqlite://" + env.dir.File("b.db"), "330200");
  Resource p = env.AddResource(a.id, "people", TableModel::kHorizontal, test::PersonFields());
  Resource s = env.AddResource(b.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task t;
  t.code = "people_sync";
  t.name = "人员同步";
  t.provider_resource_id = p.id;
  t.subscribers = {{0, s.id, {}}};
  t.cron = "0 2 * * *";
  auto task = env.meta->CreateTask(t);
  ASSERT_TRUE(task.ok()) << task.error().message;
  auto order = env.meta->CreateWorkOrder(task->id, {{"李四", "13900000000", "li@example.cn"}}, "u1");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(env.meta->SubmitWorkOrder(order->id).ok());
  ASSERT_TRUE(env.meta->DecideWorkOrder(order->id, false, "admin", "字段超出共享范围").ok());

  auto pdf = env.meta->ExportWorkOrderPdf(order->id);
  ASSERT_TRUE(pdf.ok()) << pdf.error().message;
  ASSERT_TRUE(pdf->starts_with("%PDF-"));
  const std::string text = PdfText(*pdf);
  for (const std::string& want :
       {std::string("数据交换配置工单"), std::string("已退回"), a.name, b.name,
        std::string("people_sync"), std::string("人员同步"), std::string("idno,name,age,fee,born"),
        std::string("cron02***(CST)"), std::string("李四13900000000"),
        std::string("字段超出共享范围"), std::string("提供方(盖章)")}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << " not in " << text;
  }
  EXPECT_EQ(env.meta->ExportWorkOrderPdf(999).error().code, errc::kNotFound);
}

}  // namespace
}  // namespace tongban::exchange
