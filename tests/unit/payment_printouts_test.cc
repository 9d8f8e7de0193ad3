// The receipt (电子缴款凭证) and the onboarding form (联系单) as PDF, read back
// with poppler's pdftotext: the numbers, amounts, masked ID, check code and
// every opinion are there; the check code changes with what it protects.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "payment/printouts.h"

namespace tongban::payment {
namespace {

namespace fs = std::filesystem;

// pdftotext's text without white space, with poppler's full-width forms of the
// ASCII characters (GBK-EUC-H maps them to U+FF01..U+FF5E) folded back.
std::string PdfText(const std::string& pdf) {
  char pattern[] = "/tmp/payment_pdf_XXXXXX";
  fs::path dir = mkdtemp(pattern);
  {
    std::ofstream out(dir / "p.pdf", std::ios::binary);
    out.write(pdf.data(), static_cast<std::streamsize>(pdf.size()));
  }
  int rc = std::system(
      ("pdftotext -enc UTF-8 '" + (dir / "p.pdf").string() + "' '" + (dir / "p.txt").string() + "'")
          .c_str());
  EXPECT_EQ(rc, 0);
  std::ifstream in(dir / "p.txt", std::ios::binary);
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

PaymentNotice PaidNotice() {
  PaymentNotice n;
  n.notice_no = "330001296FS0001934251";
  n.entercode = "000368";
  n.entername = "浙江省林业局";
  n.payer.name = "张三";
  n.payer.id_number = "11010519491231002X";
  n.total_fen = 3734;
  n.late_fee_fen = 3;
  n.paid_fen = 3737;
  n.pay_no = "paysim-T1";
  n.state = NoticeState::kPaid;
  NoticeLine l;
  l.chitcode = "00034002";
  l.chitname = "森林植被恢复费";
  l.metric_unit = "平方米";
  l.count_milli = 2500;
  l.standard_fen = 1000;
  l.amount_fen = 2500;
  NoticeLine m;
  m.chitcode = "00034003";
  m.chitname = "罚没收入";
  m.amount_fen = 1234;
  n.lines = {l, m};
  return n;
}

Payment ThePayment() {
  Payment p;
  p.pay_no = "paysim-T1";
  p.trade_no = "T1";
  p.channel = "paysim";
  p.way_name = "支付宝";
  p.amount_fen = 3737;
  p.paid_at_ms = *ParseChinaDateTime("20260112", "083005");
  return p;
}

TEST(Receipt, CarriesTheNoticeTheMoneyAndTheCheckCode) {
  PaymentNotice n = PaidNotice();
  std::string code = ReceiptCheckCode("key", n);
  auto pdf = PrintReceipt(n, ThePayment(), code, "https://pay.example.cn/payment/verify?x=1");
  ASSERT_TRUE(pdf.ok()) << pdf.error().message;
  EXPECT_EQ(pdf->substr(0, 5), "%PDF-");
  std::string text = PdfText(*pdf);
  for (const std::string& want :
       {std::string("电子缴款凭证"), std::string("330001296FS0001934251"),
        std::string("浙江省林业局"), std::string("张三"), std::string("110105********002X"),
        std::string("森林植被恢复费"), std::string("25.00"), std::string("12.34"),
        std::string("应缴金额37.34元"), std::string("滞纳金0.03元"), std::string("实缴金额37.37元"),
        std::string("2026-01-1208:30:05"), std::string("支付宝"), code}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  // The full ID is never printed.
  EXPECT_EQ(text.find("11010519491231002X"), std::string::npos);
}

TEST(Receipt, AnUnpaidNoticeHasNone) {
  PaymentNotice n = PaidNotice();
  n.paid_fen = 0;
  n.pay_no.clear();
  EXPECT_EQ(PrintReceipt(n, ThePayment(), "c", "u").error().code, errc::kConflict);
}

TEST(Receipt, TheCheckCodeDependsOnKeyNumberPaymentAndAmount) {
  PaymentNotice n = PaidNotice();
  const std::string code = ReceiptCheckCode("key", n);
  EXPECT_EQ(code.size(), 16u);
  EXPECT_EQ(code, ReceiptCheckCode("key", n));
  EXPECT_NE(code, ReceiptCheckCode("other key", n));
  PaymentNotice more = n;
  more.paid_fen += 1;
  EXPECT_NE(code, ReceiptCheckCode("key", more));
  PaymentNotice other = n;
  other.notice_no += "1";
  EXPECT_NE(code, ReceiptCheckCode("key", other));
  other = n;
  other.pay_no = "paysim-T2";
  EXPECT_NE(code, ReceiptCheckCode("key", other));
}

TEST(ApplicationForm, PrintsTheUnitItsContactsAndEveryOpinion) {
  Application a;
  a.id = 7;
  a.round = 2;
  a.state = ApplicationState::kApproved;
  a.unit.entercode = "000368";
  a.unit.name = "浙江省林业局";
  a.unit.regicode = "330000";
  a.unit.address = "杭州市西湖区";
  a.unit.channel_no = "330001296";
  a.unit.scheme = Scheme::kDirectConnect;
  a.unit.coordinator = {"张协调", "0571-88888888", "13800138000", "a@example.cn"};
  a.unit.business = {"李业务", "", "13800138001", ""};
  a.unit.technical = {"王技术", "", "13800138002", ""};
  a.unit.charge_items = {"00034002"};
  a.opinions = {{ReviewStage::kFinance, 1, false, "20260105", "资料不全，请补充收费依据", "f", 0},
                {ReviewStage::kFinance, 2, true, "20260108", "同意接入", "f", 0},
                {ReviewStage::kEgov, 2, true, "20260109", "同意", "e", 0},
                {ReviewStage::kProvince, 2, true, "20260110", "审核通过", "p", 0}};
  auto pdf = PrintApplication(a);
  ASSERT_TRUE(pdf.ok()) << pdf.error().message;
  std::string text = PdfText(*pdf);
  for (const char* want :
       {"统一公共支付平台接入执收单位端联系单", "浙江省林业局", "000368", "系统直连", "张协调",
        "13800138001", "王技术", "财政局意见", "不同意", "资料不全", "请补充收费依据",
        "2026年01月05日", "已通过", "同意接入", "电子政务办意见", "省级审核意见", "审核通过"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(MaskId, KeepsSixAndFour) {
  EXPECT_EQ(MaskId("11010519491231002X"), "110105********002X");
  EXPECT_EQ(MaskId("12345"), "*****");
}

}  // namespace
}  // namespace tongban::payment
