// The 配置工单 (work order) as a one-page PDF (doc/pdf.h), the fields of the .xlsx export.
#include <cstdio>
#include <ctime>

#include "doc/pdf.h"
#include "exchange/meta.h"

namespace tongban::exchange {

namespace {

using doc::PdfPage;

std::string StateChinese(OrderState s) {
  switch (s) {
    case OrderState::kDraft:
      return "草稿";
    case OrderState::kSubmitted:
      return "待审批";
    case OrderState::kApproved:
      return "已批准";
    case OrderState::kRefused:
      return "已退回";
  }
  return "";
}

// yyyy-MM-dd HH:mm in China Standard Time; "—" for 0.
std::string CstMinute(int64_t ms) {
  if (ms <= 0) return "—";
  const std::time_t t = static_cast<std::time_t>(ms / 1000 + 8 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min);
  return out;
}

}  // namespace

Result<std::string> ExchangeMeta::ExportWorkOrderPdf(int64_t order_id) {
  auto o = GetWorkOrder(order_id);
  if (!o.ok()) return o.error();
  auto task = GetTask(o->task_id);
  if (!task.ok()) return task.error();
  auto created = PdfPage::Create();
  if (!created.ok()) return created.error();
  PdfPage& p = **created;
  constexpr double kLabel = 100;
  const double left = PdfPage::kMargin;
  const double width = PdfPage::kWidth - 2 * PdfPage::kMargin;
  p.Centred(72, 18, "数据交换配置工单", true);
  p.Centred(94, 10, "工单编号：" + std::to_string(o->id) + "    状态：" + StateChinese(o->state));
  double y = 130;
  auto field = [&](std::string_view label, const std::string& value) {
    if (y > PdfPage::kHeight - 90) return;  // one page: the rest is in the .xlsx
    p.Rule(left, y - 13, left + width, y - 13);
    p.Text(left + 4, y + 1, 11, label, true);
    y = p.Wrapped(left + kLabel, y + 1, width - kLabel - 4, 11, 17, value.empty() ? "—" : value);
    y += 5;
  };
  field("交换任务", task->code + "  " + task->name);
  field("提供方", o->provider);
  field("使用方", o->consumers);
  field("交换资源", o->resource);
  field("交换字段", o->fields);
  field("交换频率", o->schedule);
  std::string contacts;
  for (const Contact& c : o->contacts) {
    if (!contacts.empty()) contacts += "；";
    contacts += c.name + " " + c.phone + (c.email.empty() ? "" : " " + c.email);
  }
  field("联系人", contacts);
  field("申请人", o->applicant);
  field("填报时间", CstMinute(o->created_ms));
  field("审批人", o->decided_by);
  field("审批时间", CstMinute(o->decided_ms));
  if (o->state == OrderState::kRefused) field("退回原因", o->reason);
  p.Rule(left, y - 13, left + width, y - 13);
  y += 24;
  p.Text(left, y, 11, "提供方（盖章）：", true);
  p.Text(left + width / 2, y, 11, "使用方（盖章）：", true);
  y += 60;
  p.Text(left, y, 11, "平台管理员审批：", true);
  y += 40;
  p.Wrapped(left, y, width, 9, 14,
            "本工单由数据共享交换平台生成（附录1 数据交换配置工单）；交换任务在工单批准后运行，"
            "任务变更后须重新审批。");
  return p.Finish();
}

}  // namespace tongban::exchange
