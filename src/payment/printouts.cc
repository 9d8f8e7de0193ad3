#include "payment/printouts.h"

#include "crypto/digest.h"
#include "doc/pdf.h"

namespace tongban::payment {

using doc::PdfPage;

namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string DateTimeText(int64_t ms) {
  std::string d = ChinaDate(ms), t = ChinaTime(ms);
  return d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2) + " " + t.substr(0, 2) + ":" +
         t.substr(2, 2) + ":" + t.substr(4, 2);
}

std::string DateText(std::string_view yyyymmdd) {
  if (yyyymmdd.size() != 8) return std::string(yyyymmdd);
  return std::string(yyyymmdd.substr(0, 4)) + "年" + std::string(yyyymmdd.substr(4, 2)) + "月" +
         std::string(yyyymmdd.substr(6, 2)) + "日";
}

// Label: value on one row, the value wrapped under the label's width.
double Field(PdfPage& p, double y, std::string_view label, std::string_view value) {
  constexpr double kLabel = 110;
  p.Text(PdfPage::kMargin, y, 11, label, true);
  return p.Wrapped(PdfPage::kMargin + kLabel, y, PdfPage::kWidth - 2 * PdfPage::kMargin - kLabel,
                   11, 18, value);
}

std::string StateText(ApplicationState s) {
  switch (s) {
    case ApplicationState::kDraft:
      return "草稿";
    case ApplicationState::kAwaitingFinance:
      return "待财政局审核";
    case ApplicationState::kAwaitingEgov:
      return "待电子政务办审核";
    case ApplicationState::kAwaitingProvince:
      return "待省级审核";
    case ApplicationState::kApproved:
      return "已通过";
    case ApplicationState::kRefused:
      return "未通过，待修改";
  }
  return "";
}

}  // namespace

std::string MaskId(std::string_view id) {
  if (id.size() <= 10) return std::string(id.size(), '*');
  return std::string(id.substr(0, 6)) + std::string(id.size() - 10, '*') +
         std::string(id.substr(id.size() - 4));
}

std::string ReceiptCheckCode(std::string_view key, const PaymentNotice& n) {
  std::string data = "tongban payment receipt v1\n" + n.notice_no + "\n" + n.pay_no + "\n" +
                     std::to_string(n.paid_fen);
  return Hex(crypto::HmacSha256(key, data)).substr(0, 16);
}

Result<std::string> PrintReceipt(const PaymentNotice& n, const Payment& pay,
                                 std::string_view check_code, std::string_view verify_url) {
  if (n.paid_fen <= 0 || n.pay_no.empty() || pay.pay_no != n.pay_no) {
    return Error::Conflict("缴款单未缴费，没有缴款凭证");
  }
  auto created = PdfPage::Create();
  if (!created.ok()) return created.error();
  PdfPage& p = **created;
  constexpr double kQr = 96;
  TB_RETURN_IF_ERROR(p.Qr(PdfPage::kWidth - PdfPage::kMargin - kQr, 40, kQr, verify_url));
  p.Text(PdfPage::kWidth - PdfPage::kMargin - kQr + 12, 40 + kQr + 10, 8, "扫码验证缴款凭证");
  p.Centred(110, 20, "电子缴款凭证", true);
  p.Centred(135, 11, n.entername);
  double y = 175;
  y = Field(p, y, "缴款单号", n.notice_no);
  y = Field(p, y, "执收单位", n.entername + "（" + n.entercode + "）");
  y = Field(p, y, "缴款人", n.payer.name);
  if (!n.payer.id_number.empty()) y = Field(p, y, "证件号码", MaskId(n.payer.id_number));
  if (!n.ywcode.empty()) y = Field(p, y, "业务编号", n.ywcode);
  y += 6;
  // Item table.
  const double left = PdfPage::kMargin, right = PdfPage::kWidth - PdfPage::kMargin;
  const double cols[] = {left, left + 80, left + 250, left + 300, left + 360, left + 420};
  p.Rule(left, y - 12, right, y - 12);
  const char* heads[] = {"项目编码", "收费项目", "单位", "数量", "标准(元)", "金额(元)"};
  for (int i = 0; i < 6; ++i) p.Text(cols[i] + 2, y + 2, 10, heads[i], true);
  y += 8;
  p.Rule(left, y, right, y);
  y += 16;
  for (const NoticeLine& l : n.lines) {
    p.Text(cols[0] + 2, y, 10, l.chitcode);
    p.Text(cols[1] + 2, y, 10, l.chitname);
    p.Text(cols[2] + 2, y, 10, l.metric_unit);
    p.Text(cols[3] + 2, y, 10, FormatCount(l.count_milli));
    p.Text(cols[4] + 2, y, 10, l.standard_fen ? FormatYuan(l.standard_fen) : "-");
    p.Text(cols[5] + 2, y, 10, FormatYuan(l.amount_fen));
    y += 18;
  }
  p.Rule(left, y - 12, right, y - 12);
  y += 6;
  y = Field(p, y, "应缴金额", FormatYuan(n.total_fen) + " 元");
  y = Field(p, y, "滞纳金", FormatYuan(n.late_fee_fen) + " 元");
  y = Field(p, y, "实缴金额", FormatYuan(n.paid_fen) + " 元");
  y = Field(p, y, "缴费时间", DateTimeText(pay.paid_at_ms));
  y = Field(p, y, "支付方式", pay.way_name.empty() ? pay.channel : pay.way_name);
  y = Field(p, y, "缴费流水号", pay.pay_no);
  y = Field(p, y, "渠道交易号", pay.trade_no);
  y = Field(p, y, "校验码", std::string(check_code));
  if (n.state == NoticeState::kPartlyRefunded || n.state == NoticeState::kRefunded) {
    y = Field(p, y, "退款",
              std::string(NoticeStateChinese(n.state)) + " " + FormatYuan(n.refunded_fen) + " 元");
  }
  y += 10;
  p.Wrapped(PdfPage::kMargin, y, PdfPage::kWidth - 2 * PdfPage::kMargin, 9, 14,
            "本凭证由统一公共支付平台生成。验证地址：" + std::string(verify_url));
  return p.Finish();
}

Result<std::string> PrintApplication(const Application& a) {
  auto created = PdfPage::Create();
  if (!created.ok()) return created.error();
  PdfPage& p = **created;
  const CollectingUnit& u = a.unit;
  p.Centred(70, 18, "统一公共支付平台接入执收单位端联系单", true);
  p.Centred(92, 10,
            "联系单编号：" + std::to_string(a.id) + "    第 " + std::to_string(a.round) +
                " 次提交    状态：" + StateText(a.state));
  double y = 125;
  y = Field(p, y, "执收单位名称", u.name);
  y = Field(p, y, "执收单位编码", u.entercode);
  y = Field(p, y, "行政区划", u.regicode);
  y = Field(p, y, "地址", u.address);
  y = Field(p, y, "渠道编号", u.channel_no);
  y = Field(
      p, y, "接入方案",
      "（" + std::to_string(static_cast<int>(u.scheme)) + "）" + std::string(SchemeName(u.scheme)));
  std::string items, areas;
  for (const std::string& c : u.charge_items) items += (items.empty() ? "" : "、") + c;
  for (const std::string& c : u.areas) areas += (areas.empty() ? "" : "、") + c;
  y = Field(p, y, "收费项目", items.empty() ? "—" : items);
  y = Field(p, y, "收费区域", areas.empty() ? "—" : areas);
  y += 4;
  for (auto [role, c] : {std::pair<const char*, const Contact*>{"协调人", &u.coordinator},
                         {"业务联系人", &u.business},
                         {"技术联系人", &u.technical}}) {
    y = Field(p, y, role,
              c->name + "  电话 " + (c->phone.empty() ? "—" : c->phone) + "  手机 " +
                  (c->mobile.empty() ? "—" : c->mobile) + "  邮箱 " +
                  (c->email.empty() ? "—" : c->email));
  }
  y += 8;
  const char* stage_names[] = {"财政局意见", "电子政务办意见", "省级审核意见"};
  for (const Opinion& o : a.opinions) {
    if (y > PdfPage::kHeight - 80) break;  // one page: the newest opinions are in the console
    p.Rule(PdfPage::kMargin, y - 12, PdfPage::kWidth - PdfPage::kMargin, y - 12);
    p.Text(PdfPage::kMargin, y + 2, 11, stage_names[static_cast<int>(o.stage)], true);
    p.Text(PdfPage::kMargin + 120, y + 2, 11,
           std::string(o.approve ? "同意" : "不同意") + "    " + DateText(o.date) + "    第 " +
               std::to_string(o.round) + " 次");
    y = p.Wrapped(PdfPage::kMargin + 12, y + 22, PdfPage::kWidth - 2 * PdfPage::kMargin - 12, 11,
                  18, o.text);
    y += 6;
  }
  return p.Finish();
}

}  // namespace tongban::payment
