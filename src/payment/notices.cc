#include "payment/notices.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/utf8.h"
#include "directory/validators.h"
#include "payment/json_internal.h"
#include "payment/late_fee.h"
#include "store/sql_dialect.h"

namespace tongban::payment {

namespace {

constexpr const char* kNoticesV1 = R"sql(
CREATE TABLE payment_notices (
  notice_no {KEY} NOT NULL PRIMARY KEY,
  channel_no {KEY} NOT NULL,
  original_notice_no {KEY} NOT NULL,
  entercode {KEY} NOT NULL,
  regicode {KEY} NOT NULL,
  ywcode {KEY} NOT NULL,
  payer_name {TEXT} NOT NULL,
  payer_id {KEY} NOT NULL,
  payer_mobile {KEY} NOT NULL,
  true_name INTEGER NOT NULL,
  made_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  total_fen BIGINT NOT NULL,
  count_overdue INTEGER NOT NULL,
  state INTEGER NOT NULL,
  source {KEY} NOT NULL,
  paid_fen BIGINT NOT NULL,
  late_fee_fen BIGINT NOT NULL,
  refunded_fen BIGINT NOT NULL,
  pay_no {KEY} NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL,
  body {TEXT} NOT NULL
){END};
CREATE INDEX payment_notices_by_unit ON payment_notices (entercode, made_at);
CREATE INDEX payment_notices_by_payer_id ON payment_notices (payer_id);
CREATE INDEX payment_notices_by_mobile ON payment_notices (payer_mobile);
CREATE INDEX payment_notices_by_ywcode ON payment_notices (ywcode);
CREATE INDEX payment_notices_due ON payment_notices (state, expires_at);

CREATE TABLE payment_payments (
  pay_no {KEY} NOT NULL PRIMARY KEY,
  notice_no {KEY} NOT NULL,
  trade_no {KEY} NOT NULL,
  channel {KEY} NOT NULL,
  way_code {KEY} NOT NULL,
  way_name {TEXT} NOT NULL,
  amount_fen BIGINT NOT NULL,
  paid_at BIGINT NOT NULL,
  disposition {KEY} NOT NULL,
  note {TEXT} NOT NULL,
  recorded_at BIGINT NOT NULL
){END};
CREATE UNIQUE INDEX payment_payments_by_trade ON payment_payments (channel, trade_no);
CREATE INDEX payment_payments_by_notice ON payment_payments (notice_no);
CREATE INDEX payment_payments_by_disposition ON payment_payments (disposition, recorded_at);

CREATE TABLE payment_refunds (
  id {ID},
  pay_no {KEY} NOT NULL,
  notice_no {KEY} NOT NULL,
  amount_fen BIGINT NOT NULL,
  reason {TEXT} NOT NULL,
  operator {KEY} NOT NULL,
  at BIGINT NOT NULL
){END};
CREATE INDEX payment_refunds_by_pay ON payment_refunds (pay_no);
)sql";

bool IsNoticeCode(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
  });
}

bool TextOk(std::string_view s, size_t max) { return s.size() <= max && IsValidUtf8(s); }

// count_milli × standard / 1000, half up.
Result<int64_t> LineAmount(int64_t count_milli, int64_t standard_fen) {
  __int128 product = static_cast<__int128>(count_milli) * standard_fen;
  __int128 fen = (product + 500) / 1000;
  if (fen > static_cast<__int128>(1'000'000'000'000'000LL)) {
    return Error::InvalidArgument("金额过大");
  }
  return static_cast<int64_t>(fen);
}

// ---- Rows ----

constexpr const char* kNoticeColumns =
    "notice_no, channel_no, original_notice_no, entercode, regicode, ywcode, payer_name, "
    "payer_id, payer_mobile, true_name, made_at, expires_at, total_fen, count_overdue, state, "
    "source, paid_fen, late_fee_fen, refunded_fen, pay_no, updated_at, version, body "
    "FROM payment_notices";

struct NoticeRow {
  PaymentNotice n;
  int true_name = 0, count_overdue = 0, state = 0;
  long long made = 0, expires = 0, total = 0, paid = 0, late = 0, refunded = 0, updated = 0,
            version = 0;
  std::string source, body;

  void Bind(soci::statement& st) {
    st.exchange(soci::into(n.notice_no));
    st.exchange(soci::into(n.channel_no));
    st.exchange(soci::into(n.original_notice_no));
    st.exchange(soci::into(n.entercode));
    st.exchange(soci::into(n.regicode));
    st.exchange(soci::into(n.ywcode));
    st.exchange(soci::into(n.payer.name));
    st.exchange(soci::into(n.payer.id_number));
    st.exchange(soci::into(n.payer.mobile));
    st.exchange(soci::into(true_name));
    st.exchange(soci::into(made));
    st.exchange(soci::into(expires));
    st.exchange(soci::into(total));
    st.exchange(soci::into(count_overdue));
    st.exchange(soci::into(state));
    st.exchange(soci::into(source));
    st.exchange(soci::into(paid));
    st.exchange(soci::into(late));
    st.exchange(soci::into(refunded));
    st.exchange(soci::into(n.pay_no));
    st.exchange(soci::into(updated));
    st.exchange(soci::into(version));
    st.exchange(soci::into(body));
  }
  PaymentNotice Take() {
    PaymentNotice out = n;
    out.true_name = true_name != 0;
    out.made_at_ms = made;
    out.expires_at_ms = expires;
    out.total_fen = total;
    out.count_overdue = count_overdue != 0;
    out.state = state >= 0 && state <= 5 ? static_cast<NoticeState>(state) : NoticeState::kUnpaid;
    out.source = NoticeSource::kConsole;
    for (auto s : {NoticeSource::kDirect, NoticeSource::kImport, NoticeSource::kConsole,
                   NoticeSource::kPayer, NoticeSource::kApproval}) {
      if (NoticeSourceName(s) == source) out.source = s;
    }
    out.paid_fen = paid;
    out.late_fee_fen = late;
    out.refunded_fen = refunded;
    out.updated_at_ms = updated;
    out.version = version;
    json_internal::NoticeBodyFromJson(nlohmann::json::parse(body, nullptr, false), out);
    return out;
  }
};

// Rows of `where` (which uses :p0, :p1, ... bound to `params`).
std::vector<PaymentNotice> QueryNotices(soci::session& sql, const std::string& where,
                                        const std::vector<std::string>& params) {
  NoticeRow row;
  soci::statement st(sql);
  st.alloc();
  st.prepare(std::string("SELECT ") + kNoticeColumns + where);
  row.Bind(st);
  for (size_t i = 0; i < params.size(); ++i) {
    std::string name = "p";  // not "p" + ...: GCC 12 raises a false -Wrestrict on it
    name += std::to_string(i);
    st.exchange(soci::use(params[i], name));
  }
  st.define_and_bind();
  std::vector<PaymentNotice> out;
  if (st.execute(true)) {
    do {
      out.push_back(row.Take());
    } while (st.fetch());
  }
  return out;
}

Result<PaymentNotice> LoadNotice(soci::session& sql, std::string_view notice_no,
                                 std::string_view lock) {
  auto rows =
      QueryNotices(sql, " WHERE notice_no = :p0" + std::string(lock), {std::string(notice_no)});
  if (rows.empty()) return Error::NotFound("没有这张缴款单：" + std::string(notice_no));
  return std::move(rows.front());
}

// The INSERT of a notice row, kept per pooled session (SqlStore::KeptFor):
// compiled once per connection instead of once per notice (the create path's
// hottest statement). The members are what it is bound to.
struct KeptNoticeInsert : SqlStore::Kept {
  std::string no, ch, orig, ent, reg, yw, pn, pid, pm, src, body;
  int true_name = 0, count_overdue = 0, state = 0;
  long long made = 0, expires = 0, total = 0, updated = 0, version = 0;
  soci::statement st;
  explicit KeptNoticeInsert(soci::session& sql)
      : st((sql.prepare
                << "INSERT INTO payment_notices (notice_no, channel_no, original_notice_no, "
                   "entercode, regicode, ywcode, payer_name, payer_id, payer_mobile, true_name, "
                   "made_at, expires_at, total_fen, count_overdue, state, source, paid_fen, "
                   "late_fee_fen, refunded_fen, pay_no, updated_at, version, body) VALUES (:no, "
                   ":ch, :orig, :ent, :reg, :yw, :pn, :pid, :pm, :tn, :made, :exp, :tot, :co, "
                   ":st, :src, 0, 0, 0, '', :upd, :ver, :body)",
            soci::use(no, "no"), soci::use(ch, "ch"), soci::use(orig, "orig"),
            soci::use(ent, "ent"), soci::use(reg, "reg"), soci::use(yw, "yw"),
            soci::use(pn, "pn"), soci::use(pid, "pid"), soci::use(pm, "pm"),
            soci::use(true_name, "tn"), soci::use(made, "made"), soci::use(expires, "exp"),
            soci::use(total, "tot"), soci::use(count_overdue, "co"), soci::use(state, "st"),
            soci::use(src, "src"), soci::use(updated, "upd"), soci::use(version, "ver"),
            soci::use(body, "body"))) {}
};

void InsertNotice(SqlStore& store, soci::session& sql, const PaymentNotice& n) {
  auto& k = store.KeptFor<KeptNoticeInsert>(sql, "payment.notice_insert", [](soci::session& s) {
    return std::make_unique<KeptNoticeInsert>(s);
  });
  k.body = json_internal::NoticeBodyToJson(n).dump();
  k.no = n.notice_no;
  k.ch = n.channel_no;
  k.orig = n.original_notice_no;
  k.ent = n.entercode;
  k.reg = n.regicode;
  k.yw = n.ywcode;
  k.pn = n.payer.name;
  k.pid = n.payer.id_number;
  k.pm = n.payer.mobile;
  k.src = std::string(NoticeSourceName(n.source));
  k.true_name = n.true_name ? 1 : 0;
  k.count_overdue = n.count_overdue ? 1 : 0;
  k.state = static_cast<int>(n.state);
  k.made = n.made_at_ms;
  k.expires = n.expires_at_ms;
  k.total = n.total_fen;
  k.updated = n.updated_at_ms;
  k.version = n.version;
  k.st.execute(true);
}

// Writes the changed state and money columns (and the body, for the cancel
// reason) of a notice read FOR UPDATE in this transaction; `n.version` is the
// version read, and the row must still have it.
struct KeptNoticeUpdate : SqlStore::Kept {
  std::string pay_no, body, notice_no;
  int state = 0;
  long long paid = 0, late = 0, refunded = 0, upd = 0, old_version = 0, new_version = 0;
  soci::statement st;
  explicit KeptNoticeUpdate(soci::session& sql)
      : st((sql.prepare << "UPDATE payment_notices SET state = :st, paid_fen = :paid, "
                           "late_fee_fen = :late, refunded_fen = :ref, pay_no = :pay, updated_at "
                           "= :upd, version = :nv, body = :body WHERE notice_no = :no AND "
                           "version = :ov",
            soci::use(state, "st"), soci::use(paid, "paid"), soci::use(late, "late"),
            soci::use(refunded, "ref"), soci::use(pay_no, "pay"), soci::use(upd, "upd"),
            soci::use(new_version, "nv"), soci::use(body, "body"), soci::use(notice_no, "no"),
            soci::use(old_version, "ov"))) {}
};

// The same without the body: for changes that touch only the columns (a
// payment credited: state, paid, late fee, PAYNO), so that the notice's JSON
// body is neither rendered again nor rewritten (issue 18: the notification lane).
struct KeptNoticeColumnsUpdate : SqlStore::Kept {
  std::string pay_no, notice_no;
  int state = 0;
  long long paid = 0, late = 0, refunded = 0, upd = 0, old_version = 0, new_version = 0;
  soci::statement st;
  explicit KeptNoticeColumnsUpdate(soci::session& sql)
      : st((sql.prepare << "UPDATE payment_notices SET state = :st, paid_fen = :paid, "
                           "late_fee_fen = :late, refunded_fen = :ref, pay_no = :pay, updated_at "
                           "= :upd, version = :nv WHERE notice_no = :no AND version = :ov",
            soci::use(state, "st"), soci::use(paid, "paid"), soci::use(late, "late"),
            soci::use(refunded, "ref"), soci::use(pay_no, "pay"), soci::use(upd, "upd"),
            soci::use(new_version, "nv"), soci::use(notice_no, "no"),
            soci::use(old_version, "ov"))) {}
};

enum class NoticeBody { kChanged, kUnchanged };

template <typename Kept>
Status RunNoticeUpdate(Kept& k, PaymentNotice& n, int64_t now) {
  k.state = static_cast<int>(n.state);
  k.paid = n.paid_fen;
  k.late = n.late_fee_fen;
  k.refunded = n.refunded_fen;
  k.pay_no = n.pay_no;
  k.upd = now;
  k.old_version = n.version;
  k.new_version = n.version + 1;
  k.notice_no = n.notice_no;
  k.st.execute(true);
  if (k.st.get_affected_rows() != 1) return Error::Conflict("缴款单已被同时修改，请重试");
  n.version = k.new_version;
  n.updated_at_ms = now;
  return Status::Ok();
}

// `body`: kUnchanged only when nothing NoticeBodyToJson renders was changed
// since the row was read (the body column is then left as it is).
Status UpdateNotice(SqlStore& store, soci::session& sql, PaymentNotice& n, int64_t now,
                    NoticeBody body = NoticeBody::kChanged) {
  if (body == NoticeBody::kUnchanged) {
    auto& k = store.KeptFor<KeptNoticeColumnsUpdate>(
        sql, "payment.notice_columns_update",
        [](soci::session& s) { return std::make_unique<KeptNoticeColumnsUpdate>(s); });
    return RunNoticeUpdate(k, n, now);
  }
  auto& k = store.KeptFor<KeptNoticeUpdate>(sql, "payment.notice_update", [](soci::session& s) {
    return std::make_unique<KeptNoticeUpdate>(s);
  });
  k.body = json_internal::NoticeBodyToJson(n).dump();
  return RunNoticeUpdate(k, n, now);
}

// The INSERT of a payment row, kept per pooled session.
struct KeptPaymentInsert : SqlStore::Kept {
  std::string pay_no, notice_no, trade_no, channel, way_code, way_name, disposition, note;
  long long amount = 0, paid = 0, recorded = 0;
  soci::statement st;
  explicit KeptPaymentInsert(soci::session& sql)
      : st((sql.prepare << "INSERT INTO payment_payments (pay_no, notice_no, trade_no, channel, "
                           "way_code, way_name, amount_fen, paid_at, disposition, note, "
                           "recorded_at) VALUES (:p, :n, :t, :c, :wc, :wn, :a, :pa, :d, :note, :r)",
            soci::use(pay_no, "p"), soci::use(notice_no, "n"), soci::use(trade_no, "t"),
            soci::use(channel, "c"), soci::use(way_code, "wc"), soci::use(way_name, "wn"),
            soci::use(amount, "a"), soci::use(paid, "pa"), soci::use(disposition, "d"),
            soci::use(note, "note"), soci::use(recorded, "r"))) {}
};

constexpr const char* kPaymentColumns =
    "pay_no, notice_no, trade_no, channel, way_code, way_name, amount_fen, paid_at, disposition, "
    "note, recorded_at FROM payment_payments";

// One payment_payments row as a statement reads it (kPaymentColumns order).
struct PaymentRow {
  Payment p;
  long long amount = 0, paid = 0, recorded = 0;
  std::string disposition;

  void Bind(soci::statement& st) {
    st.exchange(soci::into(p.pay_no));
    st.exchange(soci::into(p.notice_no));
    st.exchange(soci::into(p.trade_no));
    st.exchange(soci::into(p.channel));
    st.exchange(soci::into(p.way_code));
    st.exchange(soci::into(p.way_name));
    st.exchange(soci::into(amount));
    st.exchange(soci::into(paid));
    st.exchange(soci::into(disposition));
    st.exchange(soci::into(p.note));
    st.exchange(soci::into(recorded));
  }
  Payment Take() const {
    Payment copy = p;
    copy.amount_fen = amount;
    copy.paid_at_ms = paid;
    copy.recorded_at_ms = recorded;
    copy.disposition =
        ParsePaymentDisposition(disposition).value_or(PaymentDisposition::kRefundDue);
    return copy;
  }
};

std::vector<Payment> QueryPayments(soci::session& sql, const std::string& where,
                                   const std::vector<std::string>& params) {
  PaymentRow row;
  soci::statement st(sql);
  st.alloc();
  st.prepare(std::string("SELECT ") + kPaymentColumns + where);
  row.Bind(st);
  for (size_t i = 0; i < params.size(); ++i) {
    std::string name = "p";  // not "p" + ...: GCC 12 raises a false -Wrestrict on it
    name += std::to_string(i);
    st.exchange(soci::use(params[i], name));
  }
  st.define_and_bind();
  std::vector<Payment> out;
  if (st.execute(true)) {
    do {
      out.push_back(row.Take());
    } while (st.fetch());
  }
  return out;
}

// The two reads of a channel payment (RecordPaymentIn), kept per pooled
// session like the writes: has this payment been recorded, and the notice
// (FOR UPDATE where the database has it).
struct KeptPaymentSeen : SqlStore::Kept {
  std::string pay_no, channel, trade_no;
  PaymentRow row;
  soci::statement st;
  explicit KeptPaymentSeen(soci::session& sql) : st(sql) {
    st.alloc();
    st.prepare(std::string("SELECT ") + kPaymentColumns +
               " WHERE pay_no = :p0 OR (channel = :p1 AND trade_no = :p2)");
    row.Bind(st);
    st.exchange(soci::use(pay_no, "p0"));
    st.exchange(soci::use(channel, "p1"));
    st.exchange(soci::use(trade_no, "p2"));
    st.define_and_bind();
  }
  // The first row, read to the end (the statement is reset: no read left open).
  std::optional<Payment> Run() {
    std::optional<Payment> first;
    st.execute(false);
    while (st.fetch()) {
      if (!first) first = row.Take();
    }
    return first;
  }
};

struct KeptNoticeForUpdate : SqlStore::Kept {
  std::string notice_no;
  NoticeRow row;
  soci::statement st;
  KeptNoticeForUpdate(soci::session& sql, std::string_view lock) : st(sql) {
    st.alloc();
    st.prepare(std::string("SELECT ") + kNoticeColumns + " WHERE notice_no = :p0" +
               std::string(lock));
    row.Bind(st);
    st.exchange(soci::use(notice_no, "p0"));
    st.define_and_bind();
  }
  Result<PaymentNotice> Run() {
    std::optional<PaymentNotice> found;
    st.execute(false);
    while (st.fetch()) found = row.Take();
    if (!found) return Error::NotFound("没有这张缴款单：" + notice_no);
    return std::move(*found);
  }
};

// Why a payment cannot be credited to `n`, or "" when it can.
std::string WhyNotCredited(const PaymentNotice& n, const Payment& p) {
  switch (n.state) {
    case NoticeState::kUnpaid:
      break;
    case NoticeState::kExpired:
      // Paid in time, learned of after the sweep: the payer did nothing wrong.
      if (p.paid_at_ms <= n.expires_at_ms) break;
      return "缴款单已过期";
    case NoticeState::kCancelled:
      return "缴款单已作废";
    default:
      return "缴款单已缴费（重复缴费）";
  }
  if (n.expires_at_ms != 0 && !n.count_overdue && p.paid_at_ms > n.expires_at_ms) {
    return "缴费时缴款单已过期";
  }
  int64_t due = AmountDueFen(n, p.paid_at_ms);
  if (p.amount_fen != due) {
    return "金额不符：应缴 " + FormatYuan(due) + " 元，实缴 " + FormatYuan(p.amount_fen) + " 元";
  }
  return "";
}

}  // namespace

Result<PaymentNotice> CompleteNotice(PaymentNotice n, const CollectingUnit& unit,
                                     const std::function<const ChargeItem*(std::string_view)>& item,
                                     int64_t now_ms) {
  if (unit.state != UnitState::kActive) {
    return Error::PermissionDenied("执收单位 " + unit.entercode + " 未开通或已暂停");
  }
  if (n.entercode.empty()) n.entercode = unit.entercode;
  if (n.entercode != unit.entercode) return Error::InvalidArgument("执收单位编码不符");
  if (n.channel_no.empty()) n.channel_no = unit.channel_no;
  if (n.channel_no != unit.channel_no) {
    return Error::InvalidArgument("渠道编号 CHANNELNO 与执收单位登记的不符");
  }
  if (n.regicode.empty()) n.regicode = unit.regicode;
  if (!directory::IsValidDivisionCode(n.regicode)) {
    return Error::InvalidArgument("行政区划代码 REGICODE 不正确");
  }
  n.entername = unit.name;
  if (!IsNoticeCode(n.original_notice_no, 30)) {
    return Error::InvalidArgument("原缴款单号 ORIGINALNOTICENO 应为 1 到 30 位字母、数字或 -");
  }
  n.notice_no = MakeNoticeNo(n.channel_no, n.original_notice_no);
  if (!TextOk(n.ywcode, 64)) return Error::InvalidArgument("业务编号 YWCODE 过长");

  Payer& p = n.payer;
  if (p.name.empty() || !TextOk(p.name, 300)) {
    return Error::InvalidArgument("缴款人 PAYER 不能为空（最多 300 字节）");
  }
  if (!p.id_number.empty() && p.id_kind == PayerIdKind::kNone) {
    // The kind follows from the shape: an ID card has a birth date, a USCC letters.
    p.id_kind = directory::IsValidSocialCreditCode(p.id_number) ? PayerIdKind::kUscc
                                                                : PayerIdKind::kResident;
  }
  if (p.id_kind == PayerIdKind::kResident) {
    std::string upper = p.id_number;
    if (!upper.empty() && upper.back() == 'x') upper.back() = 'X';
    directory::CivilDate today;
    std::string d = ChinaDate(now_ms);
    today.year = std::stoi(d.substr(0, 4));
    today.month = std::stoi(d.substr(4, 2));
    today.day = std::stoi(d.substr(6, 2));
    auto parsed = directory::ParseResidentId(upper, today);
    if (!parsed.ok())
      return Error::InvalidArgument("缴款人身份证号码不正确：" + parsed.error().message);
    p.id_number = parsed->id;
  } else if (p.id_kind == PayerIdKind::kUscc) {
    if (!directory::IsValidSocialCreditCode(p.id_number)) {
      return Error::InvalidArgument("缴款人统一社会信用代码不正确");
    }
  }
  if (n.true_name && p.id_kind == PayerIdKind::kNone) {
    return Error::InvalidArgument("实名缴款单应有缴款人证件号码");
  }
  if (!p.mobile.empty() && !directory::IsValidMobile(p.mobile)) {
    return Error::InvalidArgument("缴款人手机号码不正确");
  }
  if (!p.email.empty() && !directory::IsValidEmail(p.email)) {
    return Error::InvalidArgument("缴款人电子邮箱不正确");
  }
  if (!TextOk(p.define1, 100) || !TextOk(p.define2, 100)) {
    return Error::InvalidArgument("缴款人自定义项过长");
  }

  if (n.lines.empty() || n.lines.size() > 50) {
    return Error::InvalidArgument("缴款单应有 1 到 50 个收费项目");
  }
  int64_t total = 0;
  int index = 0;
  for (NoticeLine& line : n.lines) {
    ++index;
    std::string where = "第 " + std::to_string(index) + " 个收费项目";
    const ChargeItem* it = item(line.chitcode);
    if (it == nullptr || !it->enabled) {
      return Error::InvalidArgument(where + "：没有这个收费项目或已停用：" + line.chitcode);
    }
    if (!unit.charge_items.empty() && std::find(unit.charge_items.begin(), unit.charge_items.end(),
                                                line.chitcode) == unit.charge_items.end()) {
      return Error::InvalidArgument(where + "：执收单位未登记收费项目 " + line.chitcode);
    }
    if (line.count_milli <= 0 || line.count_milli > 1'000'000'000'000LL) {
      return Error::InvalidArgument(where + "：数量应大于 0");
    }
    line.chitname = it->name;
    line.metric_unit = it->metric_unit;
    line.belong_chitcode = it->belong_chitcode;
    line.belong_name = it->belong_name;
    line.late_fee = it->late_fee;
    if (it->standard_fen > 0) {
      if (line.standard_fen != 0 && line.standard_fen != it->standard_fen) {
        return Error::InvalidArgument(where + "：收费标准与项目登记的不符");
      }
      line.standard_fen = it->standard_fen;
      auto amount = LineAmount(line.count_milli, line.standard_fen);
      if (!amount.ok()) return Error::InvalidArgument(where + "：" + amount.error().message);
      if (line.amount_fen != 0 && line.amount_fen != *amount) {
        return Error::InvalidArgument(where + "：金额应为 数量 × 标准 = " + FormatYuan(*amount));
      }
      line.amount_fen = *amount;
    } else {
      if (line.standard_fen < 0) return Error::InvalidArgument(where + "：收费标准不能为负");
      if (line.amount_fen <= 0) return Error::InvalidArgument(where + "：金额应大于 0");
    }
    if (line.amount_fen > 1'000'000'000'000LL) return Error::InvalidArgument(where + "：金额过大");
    total += line.amount_fen;
  }
  if (n.total_fen != 0 && n.total_fen != total) {
    return Error::InvalidArgument("合计金额 TOTALMONEY 应为各项之和 " + FormatYuan(total));
  }
  n.total_fen = total;
  if (n.expires_at_ms != 0 && n.expires_at_ms <= now_ms) {
    return Error::InvalidArgument("缴款期限应晚于现在");
  }
  if (!TextOk(n.print_info, 2000)) return Error::InvalidArgument("打印信息 PRINTINFO 过长");
  for (const ExtraField& f : n.extra) {
    if (!TextOk(f.name, 100) || !TextOk(f.content, 1000)) {
      return Error::InvalidArgument("附加信息 FJ 过长");
    }
  }
  n.made_at_ms = now_ms;
  n.updated_at_ms = now_ms;
  n.state = NoticeState::kUnpaid;
  n.paid_fen = n.late_fee_fen = n.refunded_fen = 0;
  n.pay_no.clear();
  n.cancel_reason.clear();
  n.version = 1;
  return n;
}

// A refund's own number (the caller's, made once per intended refund): a
// repeat of the same request — a double click, a retry after a timeout whose
// first attempt committed — finds it and refunds nothing more (review12).
constexpr const char* kNoticesV2 = R"sql(
ALTER TABLE payment_refunds ADD COLUMN refund_no {KEY};
CREATE UNIQUE INDEX payment_refunds_by_no ON payment_refunds (refund_no);
)sql";

std::vector<Migration> NoticeStore::Migrations() {
  return {PortableMigration("payment_notices", 1, kNoticesV1),
          PortableMigration("payment_notices", 2, kNoticesV2)};
}

// The last parsed body of each unit: the body is the row's JSON, read in the
// transaction every time; its parse is reused only when the text read is
// byte for byte the text parsed, so a changed unit is never seen stale.
struct ParsedUnitBodies {
  std::mutex mu;
  std::unordered_map<std::string, std::pair<std::string, CollectingUnit>> parsed;
};

NoticeStore::NoticeStore(SqlStore& store, Clock& clock)
    : store_(store), clock_(clock), unit_bodies_(std::make_shared<ParsedUnitBodies>()) {}

namespace {

// The unit and the items a batch of drafts needs, read in the transaction.
struct Catalogue {
  SqlStore& store;
  ParsedUnitBodies& bodies;
  std::unordered_map<std::string, CollectingUnit> units;
  std::unordered_map<std::string, std::optional<ChargeItem>> items;
};

// The unit's row by entercode, kept per pooled session.
struct KeptUnitQuery : SqlStore::Kept {
  std::string entercode, state, body, app, url;
  soci::statement st;
  explicit KeptUnitQuery(soci::session& sql)
      : st((sql.prepare << "SELECT state, body, app_code, notify_url FROM payment_units WHERE "
                           "entercode = :e",
            soci::use(entercode, "e"), soci::into(state), soci::into(body), soci::into(app),
            soci::into(url))) {}
};

// An item's row by chitcode, kept per pooled session.
struct KeptItemQuery : SqlStore::Kept {
  std::string chitcode;
  ChargeItem item;
  long long standard = 0, rate = 0, cap = 0;
  int late = 0, enabled = 0;
  soci::statement st;
  explicit KeptItemQuery(soci::session& sql)
      : st((sql.prepare << "SELECT name, metric_unit, standard_fen, belong_chitcode, belong_name, "
                           "late_fee_enabled, late_fee_start, late_fee_rate_ppm, "
                           "late_fee_cap_fen, enabled FROM payment_items WHERE chitcode = :c",
            soci::use(chitcode, "c"), soci::into(item.name), soci::into(item.metric_unit),
            soci::into(standard), soci::into(item.belong_chitcode), soci::into(item.belong_name),
            soci::into(late), soci::into(item.late_fee.start_date), soci::into(rate),
            soci::into(cap), soci::into(enabled))) {}
};

Result<const CollectingUnit*> UnitFor(soci::session& sql, Catalogue& c, const std::string& code) {
  auto it = c.units.find(code);
  if (it != c.units.end()) return &it->second;
  auto& q = c.store.KeptFor<KeptUnitQuery>(sql, "payment.unit_by_entercode", [](soci::session& s) {
    return std::make_unique<KeptUnitQuery>(s);
  });
  q.entercode = code;
  bool found_row = q.st.execute(true);
  if (found_row) {
    while (q.st.fetch()) {  // read to the end: a kept SELECT holds nothing open past its use
    }
  }
  if (!found_row) return Error::InvalidArgument("没有这个执收单位：" + code);
  CollectingUnit u;
  bool have = false;
  {
    std::lock_guard lock(c.bodies.mu);
    auto found = c.bodies.parsed.find(code);
    if (found != c.bodies.parsed.end() && found->second.first == q.body) {
      u = found->second.second;
      have = true;
    }
  }
  if (!have) {
    u = json_internal::UnitFromJson(nlohmann::json::parse(q.body, nullptr, false));
    std::lock_guard lock(c.bodies.mu);
    if (c.bodies.parsed.size() >= 4096) c.bodies.parsed.clear();  // bounded; refilled on use
    c.bodies.parsed.insert_or_assign(code, std::make_pair(q.body, u));
  }
  u.entercode = code;
  u.state = ParseUnitState(q.state).value_or(UnitState::kPending);
  u.app_code = q.app;
  u.notify_url = q.url;
  return &c.units.emplace(code, std::move(u)).first->second;
}

const ChargeItem* ItemFor(soci::session& sql, Catalogue& c, std::string_view code) {
  std::string key(code);
  auto it = c.items.find(key);
  if (it != c.items.end()) return it->second ? &*it->second : nullptr;
  auto& q = c.store.KeptFor<KeptItemQuery>(sql, "payment.item_by_chitcode", [](soci::session& s) {
    return std::make_unique<KeptItemQuery>(s);
  });
  q.chitcode = key;
  bool found_row = q.st.execute(true);
  if (found_row) {
    while (q.st.fetch()) {  // read to the end (the key is unique: no second row)
    }
  }
  if (!found_row) {
    c.items.emplace(key, std::nullopt);
    return nullptr;
  }
  ChargeItem item = q.item;
  item.chitcode = key;
  item.standard_fen = q.standard;
  item.late_fee.enabled = q.late != 0;
  item.late_fee.daily_rate_ppm = q.rate;
  item.late_fee.cap_fen = q.cap;
  item.enabled = q.enabled != 0;
  auto& slot = c.items[key];
  slot = std::move(item);
  return &*slot;
}

Result<PaymentNotice> CompleteIn(soci::session& sql, Catalogue& c, const PaymentNotice& draft,
                                 int64_t now) {
  auto unit = UnitFor(sql, c, draft.entercode);
  if (!unit.ok()) return unit.error();
  return CompleteNotice(
      draft, **unit, [&](std::string_view code) { return ItemFor(sql, c, code); }, now);
}

bool NoticeExists(soci::session& sql, const std::string& notice_no) {
  long long n = 0;
  sql << "SELECT COUNT(*) FROM payment_notices WHERE notice_no = :n", soci::use(notice_no, "n"),
      soci::into(n);
  return n != 0;
}

}  // namespace

Result<PaymentNotice> NoticeStore::Create(PaymentNotice draft, NoticeSource source,
                                          const AlsoWithNotice& also) {
  bool companion_failed = false;
  Result<PaymentNotice> created =
      store_.WithTransaction([&](soci::session& sql) -> Result<PaymentNotice> {
        Catalogue c{store_, *unit_bodies_, {}, {}};
        auto n = CompleteIn(sql, c, draft, clock_.NowMillis());
        if (!n.ok()) return n;
        n->source = source;
        InsertNotice(store_, sql, *n);
        if (also) {
          Status companion = also(sql, *n);
          if (!companion.ok()) {
            companion_failed = true;
            return companion.error();
          }
        }
        return n;
      });
  // A taken NOTICENO (the insert's conflict), not the companion's own refusal.
  if (!created.ok() && created.error().code == errc::kConflict && !companion_failed) {
    return Error::AlreadyExists("缴款单号已存在：" +
                                MakeNoticeNo(draft.channel_no, draft.original_notice_no));
  }
  return created;
}

Result<std::vector<PaymentNotice>> NoticeStore::CreateBatch(const std::vector<BatchRow>& rows,
                                                            NoticeSource source,
                                                            std::vector<RowError>* errors,
                                                            bool check_only) {
  errors->clear();
  if (rows.empty()) return Error::InvalidArgument("导入文件中没有缴款单");
  if (rows.size() > 100'000) return Error::InvalidArgument("一次最多导入 100000 张缴款单");
  Result<std::vector<PaymentNotice>> out =
      store_.WithTransaction([&](soci::session& sql) -> Result<std::vector<PaymentNotice>> {
        Catalogue c{store_, *unit_bodies_, {}, {}};
        const int64_t now = clock_.NowMillis();
        std::vector<PaymentNotice> done;
        std::unordered_map<std::string, int> seen;  // NOTICENO → line
        for (const BatchRow& row : rows) {
          auto n = CompleteIn(sql, c, row.draft, now);
          if (!n.ok()) {
            errors->push_back({row.line, n.error().message});
            continue;
          }
          auto [at, fresh] = seen.emplace(n->notice_no, row.line);
          if (!fresh) {
            errors->push_back({row.line, "缴款单号 " + n->notice_no + " 与第 " +
                                             std::to_string(at->second) + " 行重复"});
            continue;
          }
          if (NoticeExists(sql, n->notice_no)) {
            errors->push_back({row.line, "缴款单号已存在：" + n->notice_no});
            continue;
          }
          n->source = source;
          done.push_back(std::move(*n));
        }
        if (!errors->empty()) {
          return Error::InvalidArgument(std::to_string(errors->size()) + " 行有错误，全部未导入");
        }
        if (check_only) return done;
        for (const PaymentNotice& n : done) InsertNotice(store_, sql, n);
        return done;
      });
  if (!out.ok() && errors->empty()) {
    // A write failed after every row checked (a concurrent insert of the same
    // number): still nothing was imported.
    errors->push_back({0, out.error().message});
  }
  return out;
}

Result<PaymentNotice> NoticeStore::Get(std::string_view notice_no) {
  return store_.WithSession(
      [&](soci::session& sql) -> Result<PaymentNotice> { return LoadNotice(sql, notice_no, ""); });
}

Result<std::vector<PaymentNotice>> NoticeStore::Search(const NoticeQuery& q) {
  if (q.limit < 1 || q.limit > 1000) return Error::InvalidArgument("limit 应在 1 到 1000 之间");
  if (q.offset < 0) return Error::InvalidArgument("offset 不能为负");
  std::string where = " WHERE 1 = 1";
  std::vector<std::string> params;
  auto add = [&](const char* column, const std::string& value, const char* op = " = ") {
    where += std::string(" AND ") + column + op + ":p" + std::to_string(params.size());
    params.push_back(value);
  };
  if (!q.entercode.empty()) add("entercode", q.entercode);
  if (!q.notice_no.empty()) add("notice_no", q.notice_no);
  if (!q.ywcode.empty()) add("ywcode", q.ywcode);
  if (!q.payer_id.empty()) add("payer_id", q.payer_id);
  if (!q.payer_mobile.empty()) add("payer_mobile", q.payer_mobile);
  if (!q.regicode.empty()) add("regicode", q.regicode);
  // Integers are written into the SQL: they are ours, not the caller's text.
  if (q.state) where += " AND state = " + std::to_string(static_cast<int>(*q.state));
  if (q.made_from_ms > 0) where += " AND made_at >= " + std::to_string(q.made_from_ms);
  if (q.made_to_ms > 0) where += " AND made_at < " + std::to_string(q.made_to_ms);
  where += " ORDER BY made_at DESC, notice_no LIMIT " + std::to_string(q.limit) + " OFFSET " +
           std::to_string(q.offset);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<PaymentNotice>> {
    auto rows = QueryNotices(sql, where, params);
    if (!q.payer_email.empty()) {
      std::erase_if(rows, [&](const PaymentNotice& n) { return n.payer.email != q.payer_email; });
    }
    return rows;
  });
}

Result<PaymentNotice> NoticeStore::Cancel(std::string_view notice_no, std::string_view reason,
                                          std::string_view entercode) {
  if (reason.empty() || !TextOk(reason, 500)) {
    return Error::InvalidArgument("作废原因不能为空（最多 500 字节）");
  }
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<PaymentNotice> {
    auto n = LoadNotice(sql, notice_no, sql_dialect::ForUpdate(dialect));
    if (!n.ok()) return n;
    if (!entercode.empty() && n->entercode != entercode) {
      return Error::NotFound("没有这张缴款单：" + std::string(notice_no));
    }
    if (n->state != NoticeState::kUnpaid) {
      return Error::Conflict("缴款单" + std::string(NoticeStateChinese(n->state)) + "，不能作废");
    }
    n->state = NoticeState::kCancelled;
    n->cancel_reason = std::string(reason);
    TB_RETURN_IF_ERROR(UpdateNotice(store_, sql, *n, clock_.NowMillis()));
    return n;
  });
}

Result<int> NoticeStore::CancelCaseNoticesIn(soci::session& tx, std::string_view case_number,
                                              std::string_view reason) {
  const SqlDialect dialect = store_.dialect();
  std::vector<std::string> numbers;
  {
    std::string ywcode(case_number);
    std::string source(NoticeSourceName(NoticeSource::kApproval));
    soci::rowset<std::string> rows =
        (tx.prepare << "SELECT notice_no FROM payment_notices WHERE ywcode = :y AND source = :s "
                       "AND state = 0",
         soci::use(ywcode, "y"), soci::use(source, "s"));
    numbers.assign(rows.begin(), rows.end());
  }
  int cancelled = 0;
  for (const std::string& number : numbers) {
    auto n = LoadNotice(tx, number, sql_dialect::ForUpdate(dialect));
    if (!n.ok()) return n.error();
    if (n->state != NoticeState::kUnpaid) continue;  // paid meanwhile: a refund's matter
    n->state = NoticeState::kCancelled;
    n->cancel_reason = std::string(reason);
    TB_RETURN_IF_ERROR(UpdateNotice(store_, tx, *n, clock_.NowMillis()));
    ++cancelled;
  }
  return cancelled;
}

Result<int64_t> NoticeStore::ExpireDue() {
  return store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
    long long now = clock_.NowMillis();
    soci::statement st =
        (sql.prepare << "UPDATE payment_notices SET state = 3, updated_at = :n, version = "
                        "version + 1 WHERE state = 0 AND expires_at > 0 AND expires_at < :n2 "
                        "AND count_overdue = 0",
         soci::use(now, "n"), soci::use(now, "n2"));
    st.execute(true);
    return static_cast<int64_t>(st.get_affected_rows());
  });
}

Result<PaymentOutcome> NoticeStore::RecordPayment(Payment p, const AlsoInTransaction& also) {
  return store_.WithTransaction([&](soci::session& sql) -> Result<PaymentOutcome> {
    return RecordPaymentIn(sql, std::move(p), also);
  });
}

Result<PaymentOutcome> NoticeStore::RecordPaymentIn(soci::session& sql, Payment p,
                                                    const AlsoInTransaction& also) {
  if (p.channel.empty() || p.trade_no.empty() || !TextOk(p.channel, 64) ||
      !TextOk(p.trade_no, 128)) {
    return Error::InvalidArgument("缴费记录应有渠道和交易流水号");
  }
  if (p.amount_fen <= 0) return Error::InvalidArgument("缴费金额应大于 0");
  if (p.pay_no.empty()) p.pay_no = p.channel + "-" + p.trade_no;
  if (!TextOk(p.pay_no, 200)) return Error::InvalidArgument("缴费流水号过长");
  const SqlDialect dialect = store_.dialect();
  {
    // Serialises payments of one notice on every database, also when the notice
    // row does not exist (nothing to lock FOR UPDATE).
    sql_dialect::LockUntilCommit(sql, dialect, 0x706e, p.notice_no);
    auto& seen_query = store_.KeptFor<KeptPaymentSeen>(sql, "payment.payment_seen",
                                                       [](soci::session& s) {
                                                         return std::make_unique<KeptPaymentSeen>(s);
                                                       });
    seen_query.pay_no = p.pay_no;
    seen_query.channel = p.channel;
    seen_query.trade_no = p.trade_no;
    std::optional<Payment> seen = seen_query.Run();
    auto& notice_query = store_.KeptFor<KeptNoticeForUpdate>(
        sql, "payment.notice_for_update", [dialect](soci::session& s) {
          return std::make_unique<KeptNoticeForUpdate>(s, sql_dialect::ForUpdate(dialect));
        });
    notice_query.notice_no = p.notice_no;
    auto notice = notice_query.Run();
    if (!notice.ok()) return notice.error();
    if (seen) {
      PaymentOutcome repeat{std::move(*seen), std::move(*notice), true};
      if (also) TB_RETURN_IF_ERROR(also(sql, repeat));
      return repeat;
    }
    const int64_t now = clock_.NowMillis();
    p.recorded_at_ms = now;
    std::string why = WhyNotCredited(*notice, p);
    if (why.empty()) {
      p.disposition = PaymentDisposition::kCredited;
      p.note.clear();
      notice->state = NoticeState::kPaid;
      notice->paid_fen = p.amount_fen;
      notice->late_fee_fen = p.amount_fen - notice->total_fen;
      notice->pay_no = p.pay_no;
      // Columns only: a payment changes nothing of the body.
      TB_RETURN_IF_ERROR(UpdateNotice(store_, sql, *notice, now, NoticeBody::kUnchanged));
    } else {
      p.disposition = PaymentDisposition::kRefundDue;
      p.note = why;
    }
    auto& k = store_.KeptFor<KeptPaymentInsert>(sql, "payment.payment_insert",
                                                [](soci::session& s) {
                                                  return std::make_unique<KeptPaymentInsert>(s);
                                                });
    k.pay_no = p.pay_no;
    k.notice_no = p.notice_no;
    k.trade_no = p.trade_no;
    k.channel = p.channel;
    k.way_code = p.way_code;
    k.way_name = p.way_name;
    k.amount = p.amount_fen;
    k.paid = p.paid_at_ms;
    k.disposition.assign(PaymentDispositionName(p.disposition));
    k.note = p.note;
    k.recorded = now;
    k.st.execute(true);
    if (payment_hook_) TB_RETURN_IF_ERROR(payment_hook_(sql, *notice, p));
    PaymentOutcome outcome{p, std::move(*notice), false};
    if (also) TB_RETURN_IF_ERROR(also(sql, outcome));
    return outcome;
  }
}

Result<PaymentNotice> NoticeStore::RecordRefund(std::string_view pay_no, int64_t amount_fen,
                                                std::string_view reason,
                                                std::string_view operator_name,
                                                std::string_view refund_no) {
  if (amount_fen <= 0) return Error::InvalidArgument("退款金额应大于 0");
  if (reason.empty() || !TextOk(reason, 500)) return Error::InvalidArgument("退款原因不能为空");
  if (!refund_no.empty() && !IsNoticeCode(refund_no, 64)) {
    return Error::InvalidArgument("refund_no 应为 1-64 位字母、数字或 -");
  }
  const SqlDialect dialect = store_.dialect();
  std::string pay(pay_no), why(reason), who(operator_name), key(refund_no);
  auto recorded = store_.WithTransaction([&](soci::session& sql) -> Result<PaymentNotice> {
    auto payments = QueryPayments(
        sql, " WHERE pay_no = :p0" + std::string(sql_dialect::ForUpdate(dialect)), {pay});
    if (payments.empty()) return Error::NotFound("没有这笔缴费：" + pay);
    Payment& p = payments.front();
    auto n = LoadNotice(sql, p.notice_no, sql_dialect::ForUpdate(dialect));
    if (!n.ok()) return n;
    if (!key.empty()) {
      // Read after the payment's row lock: a repeat running beside the first
      // waits for it and finds its row (the unique index catches the rest).
      std::string had_pay;
      long long had_amount = 0;
      sql << "SELECT pay_no, amount_fen FROM payment_refunds WHERE refund_no = :k",
          soci::use(key, "k"), soci::into(had_pay), soci::into(had_amount);
      if (sql.got_data()) {
        if (had_pay != pay || had_amount != amount_fen) {
          return Error::Conflict("退款单号 " + key + " 已用于另一笔退款");
        }
        return n;  // already recorded: nothing more
      }
    }
    const long long now = clock_.NowMillis();
    if (p.disposition == PaymentDisposition::kRefunded) {
      return Error::Conflict("这笔缴费已退款");
    }
    if (p.disposition == PaymentDisposition::kRefundDue) {
      if (amount_fen != p.amount_fen) {
        return Error::InvalidArgument("未入账的缴费应全额退回 " + FormatYuan(p.amount_fen) + " 元");
      }
      std::string d(PaymentDispositionName(PaymentDisposition::kRefunded));
      sql << "UPDATE payment_payments SET disposition = :d WHERE pay_no = :p", soci::use(d, "d"),
          soci::use(pay, "p");
    } else {
      if (n->state != NoticeState::kPaid && n->state != NoticeState::kPartlyRefunded) {
        return Error::Conflict("缴款单" + std::string(NoticeStateChinese(n->state)) + "，不能退款");
      }
      if (amount_fen > n->paid_fen - n->refunded_fen) {  // no sum: it could overflow
        return Error::InvalidArgument("退款合计不能超过实缴金额 " + FormatYuan(n->paid_fen) +
                                      " 元");
      }
      n->refunded_fen += amount_fen;
      n->state =
          n->refunded_fen == n->paid_fen ? NoticeState::kRefunded : NoticeState::kPartlyRefunded;
      TB_RETURN_IF_ERROR(UpdateNotice(store_, sql, *n, now));
    }
    const bool whole = p.disposition == PaymentDisposition::kRefundDue ||
                       (n->state == NoticeState::kRefunded && n->pay_no == p.pay_no);
    if (whole && refund_hook_) TB_RETURN_IF_ERROR(refund_hook_(sql, p));
    long long amount = amount_fen;
    soci::indicator key_given = key.empty() ? soci::i_null : soci::i_ok;
    sql << "INSERT INTO payment_refunds (pay_no, notice_no, amount_fen, reason, operator, at, "
           "refund_no) VALUES (:p, :n, :a, :r, :o, :t, :k)",
        soci::use(pay, "p"), soci::use(p.notice_no, "n"), soci::use(amount, "a"),
        soci::use(why, "r"), soci::use(who, "o"), soci::use(now, "t"),
        soci::use(key, key_given, "k");
    return n;
  });
  if (!recorded.ok() && recorded.error().code == errc::kConflict && !key.empty() &&
      (recorded.error().message.find("payment_refunds_by_no") != std::string::npos ||
       recorded.error().message.find("refund_no") != std::string::npos)) {
    // Two repeats committed at once on a database whose snapshot hid the
    // first from the second: the unique index (SQLite names its column,
    // PostgreSQL and MySQL the index) refused the second.
    return Error::Conflict("退款单号 " + key + " 的退款已在处理，请刷新后查看");
  }
  return recorded;
}

Result<std::vector<Payment>> NoticeStore::PaymentsOf(std::string_view notice_no) {
  std::string n(notice_no);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Payment>> {
    return QueryPayments(sql, " WHERE notice_no = :p0 ORDER BY recorded_at, pay_no", {n});
  });
}

Result<Payment> NoticeStore::GetPayment(std::string_view pay_no) {
  std::string p(pay_no);
  return store_.WithSession([&](soci::session& sql) -> Result<Payment> {
    auto rows = QueryPayments(sql, " WHERE pay_no = :p0", {p});
    if (rows.empty()) return Error::NotFound("没有这笔缴费：" + p);
    return rows.front();
  });
}

Result<std::vector<Payment>> NoticeStore::RefundsDue(int limit) {
  if (limit < 1 || limit > 10000) return Error::InvalidArgument("limit 应在 1 到 10000 之间");
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Payment>> {
    return QueryPayments(
        sql, " WHERE disposition = :p0 ORDER BY recorded_at, pay_no LIMIT " + std::to_string(limit),
        {std::string(PaymentDispositionName(PaymentDisposition::kRefundDue))});
  });
}

}  // namespace tongban::payment
