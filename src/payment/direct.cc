#include "payment/direct.h"

#include <algorithm>
#include <cstring>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"
#include "codec/xml_doc.h"

namespace tongban::payment {

namespace {

constexpr size_t kMaxBytes = 1 << 20;
constexpr size_t kMaxParams = 200;
constexpr size_t kMaxProjects = 50;
constexpr size_t kMaxValueBytes = 4000;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool ValidName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Status AddChecked(DirectRecord& record, std::string_view raw_name, std::string value) {
  std::string name = Upper(raw_name);
  if (!ValidName(name)) return Error::InvalidArgument("参数名不合法");
  if (value.size() > kMaxValueBytes) return Error::TooLarge("参数 " + name + " 过长");
  if (record.fields().size() >= kMaxParams) return Error::TooLarge("参数过多");
  return record.Add(std::move(name), std::move(value));
}

// PARAM children of `node` into `record`; PROJECT(S) children into `projects`
// when given (only REQUEST has them).
Status ReadXmlParams(const pugi::xml_node& node, DirectRecord& record,
                     std::vector<DirectRecord>* projects) {
  for (const pugi::xml_node& child : node.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      std::string_view text = child.value();
      if (text.find_first_not_of(" \t\r\n") != std::string_view::npos) {
        return Error::InvalidArgument("报文中有多余的文本");
      }
      continue;
    }
    if (child.type() != pugi::node_element) continue;  // comments, processing instructions
    std::string_view name = child.name();
    if (name == "PARAM") {
      pugi::xml_attribute attr = child.attribute("NAME");
      if (!attr) return Error::InvalidArgument("PARAM 缺少 NAME 属性");
      for (const pugi::xml_node& inner : child.children()) {
        if (inner.type() == pugi::node_element) {
          return Error::InvalidArgument("PARAM 中不能嵌套元素");
        }
      }
      TB_RETURN_IF_ERROR(AddChecked(record, attr.value(), child.text().get()));
    } else if (projects != nullptr && name == "PROJECT") {
      if (projects->size() >= kMaxProjects) return Error::TooLarge("收费项目过多");
      DirectRecord project;
      TB_RETURN_IF_ERROR(ReadXmlParams(child, project, nullptr));
      projects->push_back(std::move(project));
    } else if (projects != nullptr && name == "PROJECTS") {
      for (const pugi::xml_node& p : child.children()) {
        if (p.type() != pugi::node_element) continue;
        if (std::strcmp(p.name(), "PROJECT") != 0) {
          return Error::InvalidArgument("PROJECTS 中只能有 PROJECT");
        }
        if (projects->size() >= kMaxProjects) return Error::TooLarge("收费项目过多");
        DirectRecord project;
        TB_RETURN_IF_ERROR(ReadXmlParams(p, project, nullptr));
        projects->push_back(std::move(project));
      }
    } else {
      return Error::InvalidArgument("报文中有不认识的元素 " + codec::PrintableText(name, 64));
    }
  }
  return Status::Ok();
}

Status ReadJsonParams(const codec::Value& object, DirectRecord& record,
                      std::vector<DirectRecord>* projects) {
  for (const codec::Member& m : object.members()) {
    if (projects != nullptr && Upper(m.key) == "PROJECT") {
      if (!m.value.IsArray()) return Error::InvalidArgument("PROJECT 应为数组");
      if (m.value.size() > kMaxProjects) return Error::TooLarge("收费项目过多");
      for (const codec::Value& p : m.value.items()) {
        if (!p.IsObject()) return Error::InvalidArgument("PROJECT 的每一项应为对象");
        DirectRecord project;
        TB_RETURN_IF_ERROR(ReadJsonParams(p, project, nullptr));
        projects->push_back(std::move(project));
      }
      continue;
    }
    if (m.value.IsString() || m.value.IsInteger()) {
      TB_RETURN_IF_ERROR(AddChecked(record, m.key, m.value.ToText()));
    } else if (m.value.IsNull()) {
      TB_RETURN_IF_ERROR(AddChecked(record, m.key, ""));
    } else {
      // Doubles would lose the exact fen: money travels as a string "12.34".
      return Error::InvalidArgument("参数 " + codec::PrintableText(Upper(m.key), 64) +
                                    " 应为字符串（金额写作 \"12.34\"）");
    }
  }
  return Status::Ok();
}

Result<bool> Flag(const DirectRecord& r, std::string_view name) {
  const std::string& v = r.Get(name);
  if (v.empty() || v == "0") return false;
  if (v == "1") return true;
  return Error::InvalidArgument(std::string(name) + " 应为 0 或 1");
}

Result<int64_t> Money(const DirectRecord& r, std::string_view name, bool required) {
  const std::string& v = r.Get(name);
  if (v.empty()) {
    if (required) return Error::InvalidArgument("缺少 " + std::string(name));
    return int64_t{0};
  }
  auto fen = ParseYuan(v);
  if (!fen) return Error::InvalidArgument(std::string(name) + " 应为元，最多两位小数");
  return *fen;
}

void Put(codec::Value& record, std::string_view name, std::string value) {
  record.AppendNew(name, std::move(value));
}

codec::Value NoticeRecord(const PaymentNotice& n) {
  codec::Value r = codec::Value::Object(48);
  Put(r, "NOTICENO", n.notice_no);
  Put(r, "CHANNELNO", n.channel_no);
  Put(r, "ORIGINALNOTICENO", n.original_notice_no);
  Put(r, "REGICODE", n.regicode);
  Put(r, "ENTERCODE", n.entercode);
  Put(r, "ENTERNAME", n.entername);
  Put(r, "YWCODE", n.ywcode);
  Put(r, "PAYER", n.payer.name);
  Put(r, "PAYERSFZ", n.payer.id_number);
  Put(r, "PAYERMOBILE", n.payer.mobile);
  Put(r, "PAYEREMAIL", n.payer.email);
  Put(r, "PAYERDEFINE1", n.payer.define1);
  Put(r, "PAYERDEFINE2", n.payer.define2);
  Put(r, "ISTRUENAME", n.true_name ? "1" : "0");
  Put(r, "MAKEDATE", ChinaDate(n.made_at_ms));
  Put(r, "MAKETIME", ChinaTime(n.made_at_ms));
  Put(r, "EXPIREDPAYDATE", n.expires_at_ms ? ChinaDate(n.expires_at_ms) : "");
  Put(r, "EXPIREDPAYTIME", n.expires_at_ms ? ChinaTime(n.expires_at_ms) : "");
  Put(r, "TOTALMONEY", FormatYuan(n.total_fen));
  Put(r, "ISCOUNTOVERDUE", n.count_overdue ? "1" : "0");
  Put(r, "PRINTINFO", n.print_info);
  for (size_t i = 0; i < n.extra.size(); ++i) {
    std::string k = std::to_string(i + 1);
    Put(r, "FJ" + k, n.extra[i].name);
    Put(r, "FJCONTENT" + k, n.extra[i].content);
  }
  Put(r, "STATE", std::to_string(static_cast<int>(n.state)));
  Put(r, "STATENAME", std::string(NoticeStateChinese(n.state)));
  Put(r, "PAYMONEY", n.paid_fen ? FormatYuan(n.paid_fen) : "");
  Put(r, "OVERDUEMONEY", FormatYuan(n.late_fee_fen));
  Put(r, "PAYNO", n.pay_no);
  codec::Value& projects = r.AppendNew("PROJECT", codec::Value::Array(n.lines.size()));
  for (const NoticeLine& l : n.lines) {
    codec::Value p = codec::Value::Object(14);
    Put(p, "CHITCODE", l.chitcode);
    Put(p, "CHITNAME", l.chitname);
    Put(p, "METRICUNIT", l.metric_unit);
    Put(p, "CHCOUNT", FormatCount(l.count_milli));
    Put(p, "CHARGESTANDARD", FormatYuan(l.standard_fen));
    Put(p, "CHMONEY", FormatYuan(l.amount_fen));
    Put(p, "ISEXISTSOVERDUE", l.late_fee.enabled ? "1" : "0");
    Put(p, "MAXPAYMENT", l.late_fee.cap_fen ? FormatYuan(l.late_fee.cap_fen) : "");
    // Per-mille with up to three decimals: 500 ppm = "0.5".
    Put(p, "PAYMENTRADIO", FormatCount(l.late_fee.daily_rate_ppm));
    Put(p, "STARTCALCDATE", l.late_fee.start_date);
    Put(p, "BELONGCHITCODE", l.belong_chitcode);
    Put(p, "BELONGCHITNAME", l.belong_name);
    projects.Push(std::move(p));
  }
  return r;
}

void AppendXmlParams(const codec::Value& record, std::string* out) {
  for (const codec::Member& m : record.members()) {
    if (m.value.IsArray()) {
      for (const codec::Value& item : m.value.items()) {
        *out += "<" + m.key + ">";
        AppendXmlParams(item, out);
        *out += "</" + m.key + ">";
      }
      continue;
    }
    *out += "<PARAM NAME=\"";
    *out += m.key;
    *out += "\">";
    codec::AppendXmlText(m.value.ToText(), out);
    *out += "</PARAM>";
  }
}

}  // namespace

const std::string& DirectRecord::Get(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : fields_) {
    if (k == name) return v;
  }
  return kEmpty;
}

bool DirectRecord::Has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const auto& f) { return f.first == name; });
}

Status DirectRecord::Add(std::string name, std::string value) {
  if (Has(name)) return Error::InvalidArgument("参数 " + name + " 重复");
  fields_.emplace_back(std::move(name), std::move(value));
  return Status::Ok();
}

Result<DirectRequest> ParseDirectXml(std::string_view text) {
  pugi::xml_document doc;
  codec::ParseLimits limits;
  limits.max_bytes = kMaxBytes;
  Status loaded = codec::LoadUntrustedXml(text, limits, "request", &doc);
  if (!loaded.ok()) {
    return Error{loaded.error().code, "报文不是合法的 XML：" + loaded.error().message};
  }
  pugi::xml_node root = doc.document_element();
  if (std::strcmp(root.name(), "ROOT") != 0) return Error::InvalidArgument("报文根元素应为 ROOT");
  pugi::xml_node request;
  for (const pugi::xml_node& child : root.children()) {
    if (child.type() != pugi::node_element) continue;
    if (std::strcmp(child.name(), "REQUEST") != 0 || request) {
      return Error::InvalidArgument("ROOT 中应恰有一个 REQUEST");
    }
    request = child;
  }
  if (!request) return Error::InvalidArgument("ROOT 中应恰有一个 REQUEST");
  DirectRequest out;
  TB_RETURN_IF_ERROR(ReadXmlParams(request, out.params, &out.projects));
  return out;
}

Result<DirectRequest> ParseDirectJson(std::string_view text) {
  codec::ParseLimits limits;
  limits.max_bytes = kMaxBytes;
  limits.max_depth = 8;
  auto value = codec::ParseJson(text, limits);
  if (!value.ok()) {
    return Error{value.error().code, "报文不是合法的 JSON：" + value.error().message};
  }
  if (!value->IsObject()) return Error::InvalidArgument("报文应为 JSON 对象");
  DirectRequest out;
  TB_RETURN_IF_ERROR(ReadJsonParams(*value, out.params, &out.projects));
  return out;
}

Result<PaymentNotice> NoticeFromDirect(const DirectRequest& req) {
  const DirectRecord& r = req.params;
  PaymentNotice n;
  n.channel_no = r.Get("CHANNELNO");
  n.original_notice_no = r.Get("ORIGINALNOTICENO");
  if (n.original_notice_no.empty()) return Error::InvalidArgument("缺少 ORIGINALNOTICENO");
  const std::string& notice_no = r.Get("NOTICENO");
  if (!notice_no.empty() && notice_no != MakeNoticeNo(n.channel_no, n.original_notice_no)) {
    return Error::InvalidArgument("NOTICENO 应为 CHANNELNO + ORIGINALNOTICENO");
  }
  n.regicode = r.Get("REGICODE");
  n.entercode = r.Get("ENTERCODE");
  n.ywcode = r.Get("YWCODE");
  n.payer.name = r.Get("PAYER");
  n.payer.id_number = r.Get("PAYERSFZ");
  n.payer.mobile = r.Get("PAYERMOBILE");
  n.payer.email = r.Get("PAYEREMAIL");
  n.payer.define1 = r.Get("PAYERDEFINE1");
  n.payer.define2 = r.Get("PAYERDEFINE2");
  auto true_name = Flag(r, "ISTRUENAME");
  if (!true_name.ok()) return true_name.error();
  n.true_name = *true_name;
  auto overdue = Flag(r, "ISCOUNTOVERDUE");
  if (!overdue.ok()) return overdue.error();
  n.count_overdue = *overdue;
  const std::string& expire_date = r.Get("EXPIREDPAYDATE");
  if (!expire_date.empty()) {
    auto at = ParseChinaDateTime(expire_date, r.Get("EXPIREDPAYTIME"));
    if (!at)
      return Error::InvalidArgument("EXPIREDPAYDATE / EXPIREDPAYTIME 应为 YYYYMMDD / hhmmss");
    n.expires_at_ms = *at;
  } else if (!r.Get("EXPIREDPAYTIME").empty()) {
    return Error::InvalidArgument("有 EXPIREDPAYTIME 时应有 EXPIREDPAYDATE");
  }
  auto total = Money(r, "TOTALMONEY", false);
  if (!total.ok()) return total.error();
  n.total_fen = *total;
  n.print_info = r.Get("PRINTINFO");
  for (size_t i = 0; i < n.extra.size(); ++i) {
    std::string k = std::to_string(i + 1);
    n.extra[i] = {r.Get("FJ" + k), r.Get("FJCONTENT" + k)};
  }
  if (req.projects.empty()) return Error::InvalidArgument("缺少收费项目 PROJECT");
  int index = 0;
  for (const DirectRecord& p : req.projects) {
    ++index;
    std::string where = "第 " + std::to_string(index) + " 个 PROJECT 的 ";
    NoticeLine line;
    line.chitcode = p.Get("CHITCODE");
    if (line.chitcode.empty()) return Error::InvalidArgument(where + "CHITCODE 不能为空");
    const std::string& count = p.Get("CHCOUNT");
    if (!count.empty()) {
      auto c = ParseCount(count);
      if (!c) return Error::InvalidArgument(where + "CHCOUNT 应为正数，最多三位小数");
      line.count_milli = *c;
    }
    auto standard = Money(p, "CHARGESTANDARD", false);
    if (!standard.ok()) return Error::InvalidArgument(where + standard.error().message);
    line.standard_fen = *standard;
    auto amount = Money(p, "CHMONEY", false);
    if (!amount.ok()) return Error::InvalidArgument(where + amount.error().message);
    line.amount_fen = *amount;
    n.lines.push_back(std::move(line));
  }
  return n;
}

std::string RenderDirectXml(const DirectReply& reply) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ROOT><IS_SUCCESS CODE=\"";
  out += reply.ok ? "00" : "99";
  out += "\"/><ERRMSG>";
  codec::AppendXmlText(reply.errmsg, &out);
  out += "</ERRMSG>";
  if (reply.list) out += "<NOTICES>";
  for (const PaymentNotice& n : reply.notices) {
    out += "<NOTICE>";
    AppendXmlParams(NoticeRecord(n), &out);
    out += "</NOTICE>";
  }
  if (reply.list) out += "</NOTICES>";
  out += "</ROOT>";
  return out;
}

std::string RenderDirectJson(const DirectReply& reply) {
  codec::Value v = codec::Value::Object(4);
  v.Set("IS_SUCCESS", codec::Value::Object(1).Set("CODE", reply.ok ? "00" : "99"));
  v.Set("ERRMSG", reply.errmsg);
  if (reply.list) {
    codec::Value& list = v.Add("NOTICES", codec::Value::Array(reply.notices.size()));
    for (const PaymentNotice& n : reply.notices) list.Push(NoticeRecord(n));
  } else if (!reply.notices.empty()) {
    v.Set("NOTICE", NoticeRecord(reply.notices.front()));
  }
  return codec::RenderJson(v);
}

}  // namespace tongban::payment
