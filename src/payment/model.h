// The records of the public payment subsystem (统一公共支付): collecting units
// (执收单位) and their onboarding applications (联系单), charge items (收费项目),
// payment notices (缴款单) and the payments credited to them. Plain values shared
// by the stores (units.h, notices.h), the channels, reconciliation and the API.
// Money is integer fen (分) everywhere; times are milliseconds since the epoch.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tongban::payment {

// ---- Roles of the payment app in the SSO directory (docs/design/payment.md) ----
inline constexpr std::string_view kAppCode = "payment";
inline constexpr std::string_view kRoleClerk = "clerk";        // a unit's clerk: its own unit only
inline constexpr std::string_view kRoleFinance = "finance";    // 财政局: opinion, all units, reports
inline constexpr std::string_view kRoleEgov = "egov";          // 电子政务办: opinion
inline constexpr std::string_view kRoleProvince = "province";  // provincial review (scheme 3)
inline constexpr std::string_view kRoleAdmin = "admin";        // platform operator: everything

// ---- Collecting units (执收单位) ----

// The seven ways of the seed's 接入方案 table.
enum class Scheme {
  kBatchImport = 1,     // 批量导入 Excel / TXT
  kManualEntry = 2,     // 手工录入 in the console
  kDirectConnect = 3,   // the unit's own system on the direct interface (provincial review)
  kLocalNonTax = 4,     // through the local 非税征管 system
  kNonTaxDirect = 5,    // using the 非税征管 system directly
  kBankCounter = 6,     // counter payment entered by the agent bank
  kPayerEntry = 7,      // the payer enters the notice, confirmed by the unit
};
bool IsValidScheme(int scheme);  // 1..7
std::string_view SchemeName(Scheme scheme);  // the Chinese name of the table

struct Contact {  // 协调人 / 业务联系人 / 技术联系人
  std::string name;
  std::string phone;   // landline, free form
  std::string mobile;  // checked like directory::IsValidMobile when present
  std::string email;
};

enum class UnitState {
  kPending,    // onboarding not yet approved: no notices
  kActive,     // may issue notices
  kSuspended,  // was active; issues nothing new, its notices stay payable
};
std::string_view UnitStateName(UnitState state);  // "pending", "active", "suspended"
std::optional<UnitState> ParseUnitState(std::string_view name);

struct CollectingUnit {
  std::string entercode;  // ENTERCODE, e.g. "000368"; [0-9A-Za-z]{1,20}
  std::string name;       // ENTERNAME
  std::string regicode;   // REGICODE: GB/T 2260 6-digit division
  std::string address;
  // CHANNELNO of the unit's notices (开票渠道, NOTICENO's prefix, e.g. "330001296");
  // not a payment channel. Digits, 1..12.
  std::string channel_no;
  Contact coordinator;  // 协调人
  Contact business;     // 业务联系人
  Contact technical;    // 技术联系人
  std::vector<std::string> charge_items;  // CHITCODEs it collects for
  std::vector<std::string> areas;         // REGICODEs where it collects
  Scheme scheme = Scheme::kManualEntry;
  UnitState state = UnitState::kPending;
  // The SSO access resource (servicecode) whose signed calls act for this unit
  // on the direct interface; "" = none.
  std::string app_code;
  // Where result notifications (GetPay_Info) go; "" = none. Used by notify*.
  std::string notify_url;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// ---- The onboarding application (接入联系单) ----

// Who gives an opinion, in order; kProvince only for Scheme::kDirectConnect.
enum class ReviewStage { kFinance, kEgov, kProvince };
std::string_view ReviewStageName(ReviewStage stage);  // "finance", "egov", "province"
std::optional<ReviewStage> ParseReviewStage(std::string_view name);

struct Opinion {
  ReviewStage stage = ReviewStage::kFinance;
  int round = 1;          // which submission it answers
  bool approve = false;   // 同意 / 不同意
  std::string date;       // YYYYMMDD, the date written on the form
  std::string text;       // the opinion as written
  std::string reviewer;   // SSO loginname of who recorded it
  int64_t at_ms = 0;
};

enum class ApplicationState {
  kDraft,             // being written or amended; not submitted
  kAwaitingFinance,   // submitted: 财政局 to give its opinion
  kAwaitingEgov,      // 电子政务办 to give its opinion
  kAwaitingProvince,  // scheme 3: provincial review
  kApproved,          // unit active (final)
  kRefused,           // an opinion refused: amend and resubmit
};
std::string_view ApplicationStateName(ApplicationState state);  // "draft", "finance", ...
std::optional<ApplicationState> ParseApplicationState(std::string_view name);

// One unit's 联系单: the unit data proposed (a snapshot that becomes the unit on
// approval), its opinions over every round (never deleted), and where it is.
struct Application {
  int64_t id = 0;
  CollectingUnit unit;  // proposed data; unit.state is ignored here
  ApplicationState state = ApplicationState::kDraft;
  int round = 0;  // submissions so far; 0 = never submitted
  std::string applicant;  // SSO loginname who created it
  std::vector<Opinion> opinions;  // in the order given
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// ---- Charge items (收费项目) and late fees (滞纳金) ----

// ISEXISTSOVERDUE / STARTCALCDATE / PAYMENTRADIO / MAXPAYMENT.
// A late fee is simple interest on a line's amount: amount × rate × days, with
// days counted from the later of start_date and the day after the notice's
// expiry date, through the payment date, both inclusive (China dates). Exact
// integer arithmetic, rounded half up to the fen once per line, then capped
// (late_fee.h has the function and the rule's reasons).
struct LateFeeRule {
  bool enabled = false;
  std::string start_date;       // YYYYMMDD; "" = the day after expiry
  int64_t daily_rate_ppm = 0;   // per day, parts per million: 0.5‰ = 500, 3% = 30000
  int64_t cap_fen = 0;          // 0 = capped at the line's amount (行政强制法 §45)
};

struct ChargeItem {
  std::string chitcode;     // CHITCODE, e.g. "00034002"
  std::string name;         // CHITNAME, e.g. 森林植被恢复费
  std::string metric_unit;  // METRICUNIT, e.g. 平方米
  int64_t standard_fen = 0; // CHARGESTANDARD per unit; 0 = set per notice line
  std::string belong_chitcode;  // BELONGCHITCODE, "" = none
  std::string belong_name;
  LateFeeRule late_fee;
  bool enabled = true;
  int64_t updated_at_ms = 0;
};

// ---- Payment notices (缴款单) ----

// 0..2 are the Jiangsu billstats codes; the wire shows the number.
enum class NoticeState {
  kUnpaid = 0,          // 未缴
  kPaid = 1,            // 已缴
  kCancelled = 2,       // 作废
  kExpired = 3,         // 已过期
  kPartlyRefunded = 4,  // 部分退款
  kRefunded = 5,        // 已退款
};
std::string_view NoticeStateName(NoticeState state);     // "unpaid", "paid", ...
std::string_view NoticeStateChinese(NoticeState state);  // 未缴, 已缴, ...
std::optional<NoticeState> ParseNoticeState(std::string_view name);  // name, Chinese or digit

enum class PayerIdKind {
  kNone,      // anonymous (ISTRUENAME 0) or not given
  kResident,  // 居民身份证, GB 11643
  kUscc,      // 统一社会信用代码, GB 32100
};

struct Payer {
  std::string name;       // PAYER
  PayerIdKind id_kind = PayerIdKind::kNone;
  std::string id_number;  // PAYERSFZ: checked by id_kind
  std::string mobile;     // PAYERMOBILE
  std::string email;      // PAYEREMAIL
  std::string define1;    // PAYERDEFINE1-2: the unit's own payer keys
  std::string define2;
};

struct NoticeLine {  // one PROJECT
  std::string chitcode;
  std::string chitname;
  std::string metric_unit;
  int64_t count_milli = 1000;  // CHCOUNT × 1000 (three decimals)
  int64_t standard_fen = 0;    // CHARGESTANDARD
  int64_t amount_fen = 0;      // CHMONEY; = count × standard rounded half up when standard > 0
  std::string belong_chitcode;
  std::string belong_name;
  LateFeeRule late_fee;        // copied from the item when the notice is made
};

struct ExtraField {  // FJn / FJCONTENTn
  std::string name;
  std::string content;
};

// Where a notice came from.
enum class NoticeSource { kDirect, kImport, kConsole, kPayer, kApproval };
std::string_view NoticeSourceName(NoticeSource source);  // "direct", "import", ...

struct PaymentNotice {
  std::string notice_no;           // NOTICENO = channel_no + original_notice_no
  std::string channel_no;          // CHANNELNO
  std::string original_notice_no;  // ORIGINALNOTICENO, the unit's own number
  std::string regicode;            // REGICODE
  std::string entercode;           // ENTERCODE
  std::string entername;           // ENTERNAME
  std::string ywcode;              // YWCODE: the unit's business reference
  Payer payer;
  bool true_name = false;          // ISTRUENAME
  int64_t made_at_ms = 0;          // MAKEDATE + MAKETIME (China time on the wire)
  int64_t expires_at_ms = 0;       // EXPIREDPAYDATE + TIME; 0 = never
  std::vector<NoticeLine> lines;
  int64_t total_fen = 0;           // TOTALMONEY = Σ line amounts (late fee not included)
  bool count_overdue = false;      // ISCOUNTOVERDUE: late fee computed at payment time
  std::string print_info;          // PRINTINFO
  std::array<ExtraField, 5> extra; // FJ1..FJ5
  NoticeState state = NoticeState::kUnpaid;
  NoticeSource source = NoticeSource::kConsole;
  int64_t paid_fen = 0;            // credited: total + late fee, 0 until paid
  int64_t late_fee_fen = 0;        // the late fee credited with the payment
  int64_t refunded_fen = 0;
  std::string pay_no;              // PAYNO of the credited payment
  std::string cancel_reason;
  int64_t updated_at_ms = 0;
  int64_t version = 0;             // bumped by every change
};

// ---- Payments (缴费记录) ----

// What became of a payment the platform learned about.
enum class PaymentDisposition {
  kCredited,  // paid the notice
  kRefundDue, // recorded, NOT credited (already paid, cancelled, expired, wrong amount): refund it
  kRefunded,  // a kRefundDue payment whose money went back
};
std::string_view PaymentDispositionName(PaymentDisposition disposition);
std::optional<PaymentDisposition> ParsePaymentDisposition(std::string_view name);

struct Payment {
  std::string pay_no;     // PAYNO: the platform's payment number (unique)
  std::string notice_no;  // NOTICENO
  std::string trade_no;   // TRADENO: the channel's serial (unique per channel)
  std::string channel;    // the payment channel's code (e.g. "paysim")
  std::string way_code;   // WAYCODE / WAYNAME: how the payer paid
  std::string way_name;
  int64_t amount_fen = 0; // PAYMONEY actually received
  int64_t paid_at_ms = 0; // PAYDATE + PAYTIME, by the channel
  PaymentDisposition disposition = PaymentDisposition::kCredited;
  std::string note;       // why it was not credited
  int64_t recorded_at_ms = 0;
};

// ---- Money and China-time helpers (model.cc) ----

// "12.34" from 1234; "-0.05" from -5. Two decimals always.
std::string FormatYuan(int64_t fen);
// "12", "12.3", "12.34" (no more than two decimals, no sign unless allow_negative,
// no exponent, at most 10^13 yuan) → fen.
std::optional<int64_t> ParseYuan(std::string_view text, bool allow_negative = false);
// "1", "1.5", "0.125" → count × 1000 (no more than three decimals, positive).
std::optional<int64_t> ParseCount(std::string_view text);
std::string FormatCount(int64_t count_milli);  // "1", "1.5", "0.125"

// China Standard Time (UTC+8) views of an epoch-ms instant.
std::string ChinaDate(int64_t ms);  // YYYYMMDD
std::string ChinaTime(int64_t ms);  // hhmmss
// YYYYMMDD + hhmmss (China time) → epoch ms; time "" = 235959 (end of day).
std::optional<int64_t> ParseChinaDateTime(std::string_view date, std::string_view time);

// NOTICENO = CHANNELNO + ORIGINALNOTICENO.
inline std::string MakeNoticeNo(std::string_view channel_no, std::string_view original) {
  std::string s(channel_no);
  s += original;
  return s;
}

}  // namespace tongban::payment
