#include "payment/units.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "directory/validators.h"
#include "payment/json_internal.h"
#include "store/sql_dialect.h"

namespace tongban::payment {

namespace {

// LockUntilCommit class of a unit's applications ("pa" + 1).
constexpr int kUnitLockClass = 0x7061 + 1;

constexpr const char* kUnitsV1 = R"sql(
CREATE TABLE payment_units (
  entercode {KEY} NOT NULL PRIMARY KEY,
  name {TEXT} NOT NULL,
  regicode {KEY} NOT NULL,
  channel_no {KEY} NOT NULL,
  app_code {KEY} NOT NULL,
  notify_url {TEXT} NOT NULL,
  scheme INTEGER NOT NULL,
  state {KEY} NOT NULL,
  body {TEXT} NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){END};
CREATE UNIQUE INDEX payment_units_by_channel ON payment_units (channel_no);
CREATE INDEX payment_units_by_app ON payment_units (app_code);

CREATE TABLE payment_applications (
  id {ID},
  entercode {KEY} NOT NULL,
  state {KEY} NOT NULL,
  round INTEGER NOT NULL,
  applicant {KEY} NOT NULL,
  body {TEXT} NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
){END};
CREATE INDEX payment_applications_by_unit ON payment_applications (entercode, id);

CREATE TABLE payment_opinions (
  id {ID},
  application_id BIGINT NOT NULL,
  stage {KEY} NOT NULL,
  round INTEGER NOT NULL,
  approve INTEGER NOT NULL,
  opinion_date {KEY} NOT NULL,
  text {TEXT} NOT NULL,
  reviewer {KEY} NOT NULL,
  at BIGINT NOT NULL
){END};
CREATE INDEX payment_opinions_by_application ON payment_opinions (application_id, id);

CREATE TABLE payment_items (
  chitcode {KEY} NOT NULL PRIMARY KEY,
  name {TEXT} NOT NULL,
  metric_unit {TEXT} NOT NULL,
  standard_fen BIGINT NOT NULL,
  belong_chitcode {KEY} NOT NULL,
  belong_name {TEXT} NOT NULL,
  late_fee_enabled INTEGER NOT NULL,
  late_fee_start {KEY} NOT NULL,
  late_fee_rate_ppm BIGINT NOT NULL,
  late_fee_cap_fen BIGINT NOT NULL,
  enabled INTEGER NOT NULL,
  updated_at BIGINT NOT NULL
){END};
)sql";

bool IsCode(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}
bool IsDigits(std::string_view s, size_t max) {
  return !s.empty() && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status ValidateContact(const Contact& c, std::string_view role) {
  std::string r(role);
  if (c.name.empty() || c.name.size() > 100 || !IsValidUtf8(c.name)) {
    return Error::InvalidArgument(r + "姓名不能为空（最多 100 字节）");
  }
  if (c.mobile.empty() && c.phone.empty()) return Error::InvalidArgument(r + "应留电话或手机");
  if (!c.mobile.empty() && !directory::IsValidMobile(c.mobile)) {
    return Error::InvalidArgument(r + "手机号码不正确");
  }
  if (c.phone.size() > 40 || !IsValidUtf8(c.phone)) return Error::InvalidArgument(r + "电话不正确");
  if (!c.email.empty() && !directory::IsValidEmail(c.email)) {
    return Error::InvalidArgument(r + "电子邮箱不正确");
  }
  return Status::Ok();
}

Application ReadApplicationRow(long long id, const std::string& state, int round,
                               const std::string& applicant, const std::string& body,
                               long long created, long long updated) {
  Application a;
  a.id = id;
  a.state = ParseApplicationState(state).value_or(ApplicationState::kDraft);
  a.round = round;
  a.applicant = applicant;
  a.unit = json_internal::UnitFromJson(nlohmann::json::parse(body, nullptr, false));
  a.created_at_ms = created;
  a.updated_at_ms = updated;
  return a;
}

Status LoadOpinions(soci::session& sql, Application& a) {
  Opinion o;
  std::string stage;
  int approve = 0;
  long long at = 0;
  long long id = a.id;
  soci::statement st =
      (sql.prepare << "SELECT stage, round, approve, opinion_date, text, reviewer, at "
                      "FROM payment_opinions WHERE application_id = :i ORDER BY id",
       soci::use(id, "i"), soci::into(stage), soci::into(o.round), soci::into(approve),
       soci::into(o.date), soci::into(o.text), soci::into(o.reviewer), soci::into(at));
  if (st.execute(true)) {
    do {
      o.stage = ParseReviewStage(stage).value_or(ReviewStage::kFinance);
      o.approve = approve != 0;
      o.at_ms = at;
      a.opinions.push_back(o);
    } while (st.fetch());
  }
  return Status::Ok();
}

Result<Application> LoadApplication(soci::session& sql, int64_t id, std::string_view lock) {
  long long i = id;
  std::string state, applicant, body;
  int round = 0;
  long long created = 0, updated = 0;
  sql << "SELECT state, round, applicant, body, created_at, updated_at FROM payment_applications "
         "WHERE id = :i" +
             std::string(lock),
      soci::use(i, "i"), soci::into(state), soci::into(round), soci::into(applicant),
      soci::into(body), soci::into(created), soci::into(updated);
  if (!sql.got_data()) return Error::NotFound("没有这份联系单");
  Application a = ReadApplicationRow(i, state, round, applicant, body, created, updated);
  TB_RETURN_IF_ERROR(LoadOpinions(sql, a));
  return a;
}

const char* kUnitColumns =
    "entercode, state, app_code, notify_url, body, created_at, updated_at FROM payment_units";

struct UnitRow {
  std::string entercode, state, app_code, notify_url, body;
  long long created = 0, updated = 0;
  CollectingUnit ToUnit() const {
    CollectingUnit u = json_internal::UnitFromJson(nlohmann::json::parse(body, nullptr, false));
    u.entercode = entercode;
    u.state = ParseUnitState(state).value_or(UnitState::kPending);
    u.app_code = app_code;
    u.notify_url = notify_url;
    u.created_at_ms = created;
    u.updated_at_ms = updated;
    return u;
  }
};

std::vector<CollectingUnit> QueryUnits(soci::session& sql, const std::string& where,
                                       const std::string& param) {
  UnitRow r;
  soci::statement st =
      (sql.prepare << std::string("SELECT ") + kUnitColumns + where + " ORDER BY entercode",
       soci::use(param, "p"), soci::into(r.entercode), soci::into(r.state), soci::into(r.app_code),
       soci::into(r.notify_url), soci::into(r.body), soci::into(r.created), soci::into(r.updated));
  std::vector<CollectingUnit> out;
  if (st.execute(true)) {
    do {
      out.push_back(r.ToUnit());
    } while (st.fetch());
  }
  return out;
}

// NOTICENO = CHANNELNO + ORIGINALNOTICENO, with nothing between them: were one
// unit's channel number a prefix of another's ("33000177" and "330001777"),
// the shorter unit could create the longer one's notice numbers
// ("33000177" + "7PE…" = "330001777" + "PE…"). So no channel number may be a
// prefix of another unit's.
// Only the approval that makes a unit (UpsertUnit) takes the lock that
// serialises the check with another node's approval: filing and amending
// check early, for the clerk's sake, and are checked again there.
Status RefuseAmbiguousChannelNo(soci::session& sql, const std::string& entercode,
                                const std::string& channel_no) {
  std::string other_unit, other_channel;
  soci::statement st = (sql.prepare << "SELECT entercode, channel_no FROM payment_units",
                        soci::into(other_unit), soci::into(other_channel));
  st.execute();
  while (st.fetch()) {
    if (other_unit == entercode || other_channel.empty()) continue;
    if (other_channel.starts_with(channel_no) || channel_no.starts_with(other_channel)) {
      return Error::Conflict("渠道编号 " + channel_no + " 与执收单位 " + other_unit + " 的渠道编号 " +
                             other_channel + " 互为前缀，缴款单号会重叠");
    }
  }
  return Status::Ok();
}

// A unit as an approved application describes it. app_code and notify_url
// are never taken from the application: they are the operator's links
// (UnitStore::SetUnitLinks), which decide whose signed calls act for the
// unit and where its payment results go.
Status UpsertUnit(soci::session& sql, SqlDialect dialect, const CollectingUnit& u,
                  UnitState state, int64_t now) {
  static const std::string kNoLink;
  // Two approvals of prefix-sharing numbers at once (two nodes) must not both pass.
  sql_dialect::LockUntilCommit(sql, dialect, kUnitLockClass, "channel numbers");
  TB_RETURN_IF_ERROR(RefuseAmbiguousChannelNo(sql, u.entercode, u.channel_no));
  std::string body = json_internal::UnitToJson(u).dump();
  std::string st(UnitStateName(state));
  long long n = now;
  int scheme = static_cast<int>(u.scheme);
  long long exists = 0;
  sql << "SELECT COUNT(*) FROM payment_units WHERE entercode = :e", soci::use(u.entercode, "e"),
      soci::into(exists);
  if (exists != 0) {
    // app_code and notify_url are the operator's settings: an application keeps them;
    // a suspension is an administrator's too, which an approved amendment does not lift.
    sql << "UPDATE payment_units SET name = :n, regicode = :r, channel_no = :c, scheme = :s, "
           "state = CASE WHEN state = 'suspended' THEN state ELSE :st END, body = :b, "
           "updated_at = :u WHERE entercode = :e",
        soci::use(u.name, "n"), soci::use(u.regicode, "r"), soci::use(u.channel_no, "c"),
        soci::use(scheme, "s"), soci::use(st, "st"), soci::use(body, "b"), soci::use(n, "u"),
        soci::use(u.entercode, "e");
  } else {
    sql << "INSERT INTO payment_units (entercode, name, regicode, channel_no, app_code, "
           "notify_url, scheme, state, body, created_at, updated_at) VALUES (:e, :n, :r, :c, "
           ":a, :nu, :s, :st, :b, :t, :u)",
        soci::use(u.entercode, "e"), soci::use(u.name, "n"), soci::use(u.regicode, "r"),
        soci::use(u.channel_no, "c"), soci::use(kNoLink, "a"), soci::use(kNoLink, "nu"),
        soci::use(scheme, "s"), soci::use(st, "st"), soci::use(body, "b"), soci::use(n, "t"),
        soci::use(n, "u");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateUnit(const CollectingUnit& u) {
  if (!IsCode(u.entercode, 20))
    return Error::InvalidArgument("执收单位编码应为 1 到 20 位字母或数字");
  if (u.name.empty() || u.name.size() > 300 || !IsValidUtf8(u.name)) {
    return Error::InvalidArgument("执收单位名称不能为空（最多 300 字节）");
  }
  if (u.regicode.size() != 6 || !directory::IsValidDivisionCode(u.regicode)) {
    return Error::InvalidArgument("行政区划代码应为 6 位 GB/T 2260 代码");
  }
  if (u.address.size() > 500 || !IsValidUtf8(u.address)) {
    return Error::InvalidArgument("地址过长");
  }
  if (!IsDigits(u.channel_no, 12)) return Error::InvalidArgument("渠道编号应为 1 到 12 位数字");
  TB_RETURN_IF_ERROR(ValidateContact(u.coordinator, "协调人"));
  TB_RETURN_IF_ERROR(ValidateContact(u.business, "业务联系人"));
  TB_RETURN_IF_ERROR(ValidateContact(u.technical, "技术联系人"));
  if (!IsValidScheme(static_cast<int>(u.scheme)))
    return Error::InvalidArgument("接入方案应为 1 到 7");
  if (u.charge_items.size() > 1000) return Error::InvalidArgument("收费项目过多");
  for (const std::string& c : u.charge_items) {
    if (!IsCode(c, 32)) return Error::InvalidArgument("收费项目编码不正确：" + c);
  }
  if (u.areas.size() > 1000) return Error::InvalidArgument("收费区域过多");
  for (const std::string& a : u.areas) {
    if (!directory::IsValidDivisionCode(a))
      return Error::InvalidArgument("收费区域代码不正确：" + a);
  }
  if (u.notify_url.size() > 500) return Error::InvalidArgument("通知地址过长");
  if (!u.orgcoding.empty() && !directory::IsValidOrgCoding(u.orgcoding)) {
    return Error::InvalidArgument("所属机构编码不正确");
  }
  return Status::Ok();
}

Status ValidateItem(const ChargeItem& item) {
  if (!IsCode(item.chitcode, 32))
    return Error::InvalidArgument("收费项目编码应为 1 到 32 位字母或数字");
  if (item.name.empty() || item.name.size() > 300 || !IsValidUtf8(item.name)) {
    return Error::InvalidArgument("收费项目名称不能为空（最多 300 字节）");
  }
  if (item.metric_unit.size() > 60 || !IsValidUtf8(item.metric_unit)) {
    return Error::InvalidArgument("计量单位过长");
  }
  if (item.standard_fen < 0) return Error::InvalidArgument("收费标准不能为负");
  if (!item.belong_chitcode.empty() && !IsCode(item.belong_chitcode, 32)) {
    return Error::InvalidArgument("归属项目编码不正确");
  }
  if (!IsValidUtf8(item.belong_name) || item.belong_name.size() > 300) {
    return Error::InvalidArgument("归属项目名称过长");
  }
  const LateFeeRule& r = item.late_fee;
  if (r.daily_rate_ppm < 0 || r.daily_rate_ppm > 1'000'000) {
    return Error::InvalidArgument("滞纳金日比例应在 0 到 1000‰ 之间");
  }
  if (r.cap_fen < 0) return Error::InvalidArgument("滞纳金上限不能为负");
  if (!r.start_date.empty() && !ParseChinaDateTime(r.start_date, "")) {
    return Error::InvalidArgument("滞纳金起算日期应为 YYYYMMDD");
  }
  if (r.enabled && r.daily_rate_ppm == 0) return Error::InvalidArgument("计滞纳金的项目应有日比例");
  return Status::Ok();
}

std::vector<Migration> UnitStore::Migrations() {
  return {PortableMigration("payment_units", 1, kUnitsV1)};
}

UnitStore::UnitStore(SqlStore& store, Clock& clock) : store_(store), clock_(clock) {}

Result<Application> UnitStore::CreateApplication(const CollectingUnit& proposal,
                                                 std::string_view applicant) {
  TB_RETURN_IF_ERROR(ValidateUnit(proposal));
  const SqlDialect dialect = store_.dialect();
  std::string who(applicant);
  return store_.WithTransaction([&](soci::session& sql) -> Result<Application> {
    sql_dialect::LockUntilCommit(sql, dialect, kUnitLockClass, proposal.entercode);
    long long open = 0;
    sql << "SELECT COUNT(*) FROM payment_applications WHERE entercode = :e AND state <> 'approved'",
        soci::use(proposal.entercode, "e"), soci::into(open);
    if (open != 0) return Error::AlreadyExists("该执收单位已有未办结的联系单");
    TB_RETURN_IF_ERROR(RefuseAmbiguousChannelNo(sql, proposal.entercode, proposal.channel_no));
    long long now = clock_.NowMillis();
    std::string body = json_internal::UnitToJson(proposal).dump();
    std::string state(ApplicationStateName(ApplicationState::kDraft));
    const std::string insert =
        "INSERT INTO payment_applications (entercode, state, round, applicant, body, created_at, "
        "updated_at) VALUES (:e, :s, 0, :a, :b, :c, :u)";
    long long id = 0;
    if (sql_dialect::HasReturning(dialect)) {
      sql << insert + " RETURNING id", soci::use(proposal.entercode, "e"), soci::use(state, "s"),
          soci::use(who, "a"), soci::use(body, "b"), soci::use(now, "c"), soci::use(now, "u"),
          soci::into(id);
    } else {
      sql << insert, soci::use(proposal.entercode, "e"), soci::use(state, "s"), soci::use(who, "a"),
          soci::use(body, "b"), soci::use(now, "c"), soci::use(now, "u");
      id = sql_dialect::LastInsertId(sql, dialect);
    }
    return LoadApplication(sql, id, "");
  });
}

Result<Application> UnitStore::AmendApplication(int64_t id, const CollectingUnit& proposal) {
  TB_RETURN_IF_ERROR(ValidateUnit(proposal));
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Application> {
    auto a = LoadApplication(sql, id, sql_dialect::ForUpdate(dialect));
    if (!a.ok()) return a;
    if (a->state != ApplicationState::kDraft && a->state != ApplicationState::kRefused) {
      return Error::Conflict("联系单审核中或已通过，不能修改");
    }
    if (proposal.entercode != a->unit.entercode) {
      return Error::InvalidArgument("联系单的执收单位编码不能修改");
    }
    TB_RETURN_IF_ERROR(RefuseAmbiguousChannelNo(sql, proposal.entercode, proposal.channel_no));
    long long now = clock_.NowMillis();
    long long i = id;
    std::string body = json_internal::UnitToJson(proposal).dump();
    std::string state(ApplicationStateName(ApplicationState::kDraft));
    sql << "UPDATE payment_applications SET body = :b, state = :s, updated_at = :u WHERE id = :i",
        soci::use(body, "b"), soci::use(state, "s"), soci::use(now, "u"), soci::use(i, "i");
    return LoadApplication(sql, id, "");
  });
}

Result<Application> UnitStore::Submit(int64_t id) {
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Application> {
    auto a = LoadApplication(sql, id, sql_dialect::ForUpdate(dialect));
    if (!a.ok()) return a;
    if (a->state != ApplicationState::kDraft && a->state != ApplicationState::kRefused) {
      return Error::Conflict("联系单已提交");
    }
    // The proposal is checked again: the rules may have changed since it was saved.
    TB_RETURN_IF_ERROR(ValidateUnit(a->unit));
    long long now = clock_.NowMillis();
    long long i = id;
    int round = a->round + 1;
    std::string state(ApplicationStateName(ApplicationState::kAwaitingFinance));
    sql << "UPDATE payment_applications SET state = :s, round = :r, updated_at = :u WHERE id = :i",
        soci::use(state, "s"), soci::use(round, "r"), soci::use(now, "u"), soci::use(i, "i");
    return LoadApplication(sql, id, "");
  });
}

Result<Application> UnitStore::GiveOpinion(int64_t id, Opinion opinion) {
  if (!ParseChinaDateTime(opinion.date, "")) return Error::InvalidArgument("意见日期应为 YYYYMMDD");
  if (opinion.text.empty() || opinion.text.size() > 3000 || !IsValidUtf8(opinion.text)) {
    return Error::InvalidArgument("意见内容不能为空（最多 1000 字）");
  }
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Application> {
    auto a = LoadApplication(sql, id, sql_dialect::ForUpdate(dialect));
    if (!a.ok()) return a;
    ApplicationState waiting_for;
    switch (opinion.stage) {
      case ReviewStage::kFinance:
        waiting_for = ApplicationState::kAwaitingFinance;
        break;
      case ReviewStage::kEgov:
        waiting_for = ApplicationState::kAwaitingEgov;
        break;
      case ReviewStage::kProvince:
        waiting_for = ApplicationState::kAwaitingProvince;
        break;
      default:
        return Error::InvalidArgument("意见环节不正确");
    }
    if (a->state != waiting_for) {
      return Error::Conflict("联系单当前不在该环节（" +
                             std::string(ApplicationStateName(a->state)) + "）");
    }
    long long now = clock_.NowMillis();
    opinion.round = a->round;
    opinion.at_ms = now;
    ApplicationState next = ApplicationState::kRefused;
    if (opinion.approve) {
      if (opinion.stage == ReviewStage::kFinance) {
        next = ApplicationState::kAwaitingEgov;
      } else if (opinion.stage == ReviewStage::kEgov && a->unit.scheme == Scheme::kDirectConnect) {
        next = ApplicationState::kAwaitingProvince;
      } else {
        next = ApplicationState::kApproved;
      }
    }
    long long i = id;
    std::string stage(ReviewStageName(opinion.stage));
    int approve = opinion.approve ? 1 : 0;
    sql << "INSERT INTO payment_opinions (application_id, stage, round, approve, opinion_date, "
           "text, reviewer, at) VALUES (:i, :s, :r, :a, :d, :t, :w, :n)",
        soci::use(i, "i"), soci::use(stage, "s"), soci::use(opinion.round, "r"),
        soci::use(approve, "a"), soci::use(opinion.date, "d"), soci::use(opinion.text, "t"),
        soci::use(opinion.reviewer, "w"), soci::use(now, "n");
    std::string state(ApplicationStateName(next));
    sql << "UPDATE payment_applications SET state = :s, updated_at = :u WHERE id = :i",
        soci::use(state, "s"), soci::use(now, "u"), soci::use(i, "i");
    if (next == ApplicationState::kApproved) {
      TB_RETURN_IF_ERROR(UpsertUnit(sql, dialect, a->unit, UnitState::kActive, now));
    }
    return LoadApplication(sql, id, "");
  });
}

Result<Application> UnitStore::GetApplication(int64_t id) {
  return store_.WithSession(
      [&](soci::session& sql) -> Result<Application> { return LoadApplication(sql, id, ""); });
}

Result<std::vector<Application>> UnitStore::ListApplications(std::string_view state,
                                                             std::string_view entercode) {
  std::string s(state), e(entercode);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Application>> {
    long long id = 0, created = 0, updated = 0;
    std::string st, applicant, body;
    int round = 0;
    // An empty filter becomes ">= ''", true of every key, so the binds stay the same.
    std::string query =
        "SELECT id, state, round, applicant, body, created_at, updated_at FROM "
        "payment_applications WHERE state " +
        std::string(s.empty() ? ">=" : "=") + " :s AND entercode " + (e.empty() ? ">=" : "=") +
        " :e ORDER BY id DESC";
    soci::statement q = (sql.prepare << query, soci::use(s, "s"), soci::use(e, "e"), soci::into(id),
                         soci::into(st), soci::into(round), soci::into(applicant), soci::into(body),
                         soci::into(created), soci::into(updated));
    std::vector<Application> out;
    if (q.execute(true)) {
      do {
        out.push_back(ReadApplicationRow(id, st, round, applicant, body, created, updated));
      } while (q.fetch());
    }
    for (Application& a : out) TB_RETURN_IF_ERROR(LoadOpinions(sql, a));
    return out;
  });
}

Result<CollectingUnit> UnitStore::GetUnit(std::string_view entercode) {
  std::string e(entercode);
  return store_.WithSession([&](soci::session& sql) -> Result<CollectingUnit> {
    auto units = QueryUnits(sql, " WHERE entercode = :p", e);
    if (units.empty()) return Error::NotFound("没有这个执收单位：" + e);
    return units.front();
  });
}

Result<CollectingUnit> UnitStore::UnitByApp(std::string_view app_code) {
  std::string a(app_code);
  if (a.empty()) return Error::NotFound("没有对接应用");
  return store_.WithSession([&](soci::session& sql) -> Result<CollectingUnit> {
    auto units = QueryUnits(sql, " WHERE app_code = :p", a);
    if (units.empty()) return Error::PermissionDenied("该应用未绑定执收单位");
    if (units.size() > 1) return Error::Conflict("该应用绑定了多个执收单位");
    return units.front();
  });
}

namespace {
// The entercodes bound to an app, kept per pooled session.
struct KeptEntercodeByApp : SqlStore::Kept {
  std::string app, entercode;
  soci::statement st;
  explicit KeptEntercodeByApp(soci::session& sql)
      : st((sql.prepare << "SELECT entercode FROM payment_units WHERE app_code = :a",
            soci::use(app, "a"), soci::into(entercode))) {}
};
}  // namespace

Result<std::string> UnitStore::EntercodeOfApp(std::string_view app_code) {
  if (app_code.empty()) return Error::NotFound("没有对接应用");
  return store_.WithSession([&](soci::session& sql) -> Result<std::string> {
    auto& q = store_.KeptFor<KeptEntercodeByApp>(
        sql, "payment.entercode_by_app",
        [](soci::session& s) { return std::make_unique<KeptEntercodeByApp>(s); });
    q.app = std::string(app_code);
    std::string first;
    int rows = 0;
    if (q.st.execute(true)) {
      do {
        if (++rows == 1) first = q.entercode;
      } while (q.st.fetch());
    }
    if (rows == 0) return Error::PermissionDenied("该应用未绑定执收单位");
    if (rows > 1) return Error::Conflict("该应用绑定了多个执收单位");
    return first;
  });
}

Result<std::vector<CollectingUnit>> UnitStore::ListUnits() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<CollectingUnit>> {
    return QueryUnits(sql, " WHERE entercode >= :p", "");  // every key is >= "";
  });
}

Status UnitStore::SetUnitState(std::string_view entercode, UnitState state) {
  if (state == UnitState::kPending) return Error::InvalidArgument("不能将单位设为待审核");
  std::string e(entercode), s(UnitStateName(state));
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long now = clock_.NowMillis();
    soci::statement st = (sql.prepare << "UPDATE payment_units SET state = :s, updated_at = :u "
                                         "WHERE entercode = :e",
                          soci::use(s, "s"), soci::use(now, "u"), soci::use(e, "e"));
    st.execute(true);
    if (st.get_affected_rows() == 0) return Error::NotFound("没有这个执收单位：" + e);
    return Status::Ok();
  });
}

Status UnitStore::SetUnitLinks(std::string_view entercode, std::string_view app_code,
                               std::string_view notify_url) {
  if (app_code.size() > 100 || notify_url.size() > 500) return Error::InvalidArgument("设置过长");
  if (!notify_url.empty() && notify_url.substr(0, 7) != "http://" &&
      notify_url.substr(0, 8) != "https://") {
    return Error::InvalidArgument("通知地址应以 http:// 或 https:// 开头");
  }
  std::string e(entercode), a(app_code), n(notify_url);
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!a.empty()) {
      // One app speaks for one unit: a second unit naming it would stop the
      // first's direct interface and sign the second's results with its key.
      sql_dialect::LockUntilCommit(sql, dialect, kUnitLockClass, "app:" + a);
      std::string holder;
      soci::indicator ind = soci::i_null;
      sql << "SELECT entercode FROM payment_units WHERE app_code = :a AND entercode <> :e",
          soci::use(a, "a"), soci::use(e, "e"), soci::into(holder, ind);
      if (sql.got_data() && ind == soci::i_ok) {
        return Error::Conflict("应用 " + a + " 已绑定执收单位 " + holder + "，一个应用只能代表一个执收单位");
      }
    }
    long long now = clock_.NowMillis();
    soci::statement st =
        (sql.prepare << "UPDATE payment_units SET app_code = :a, notify_url = :n, updated_at = :u "
                        "WHERE entercode = :e",
         soci::use(a, "a"), soci::use(n, "n"), soci::use(now, "u"), soci::use(e, "e"));
    st.execute(true);
    if (st.get_affected_rows() == 0) return Error::NotFound("没有这个执收单位：" + e);
    return Status::Ok();
  });
}

namespace {
const char* kItemColumns =
    "chitcode, name, metric_unit, standard_fen, belong_chitcode, belong_name, late_fee_enabled, "
    "late_fee_start, late_fee_rate_ppm, late_fee_cap_fen, enabled, updated_at FROM payment_items";

std::vector<ChargeItem> QueryItems(soci::session& sql, const std::string& where,
                                   const std::string& param) {
  ChargeItem it;
  long long standard = 0, rate = 0, cap = 0, updated = 0;
  int late = 0, enabled = 0;
  soci::statement st =
      (sql.prepare << std::string("SELECT ") + kItemColumns + where + " ORDER BY chitcode",
       soci::use(param, "p"), soci::into(it.chitcode), soci::into(it.name),
       soci::into(it.metric_unit), soci::into(standard), soci::into(it.belong_chitcode),
       soci::into(it.belong_name), soci::into(late), soci::into(it.late_fee.start_date),
       soci::into(rate), soci::into(cap), soci::into(enabled), soci::into(updated));
  std::vector<ChargeItem> out;
  if (st.execute(true)) {
    do {
      it.standard_fen = standard;
      it.late_fee.enabled = late != 0;
      it.late_fee.daily_rate_ppm = rate;
      it.late_fee.cap_fen = cap;
      it.enabled = enabled != 0;
      it.updated_at_ms = updated;
      out.push_back(it);
    } while (st.fetch());
  }
  return out;
}
}  // namespace

Status UnitStore::PutItem(const ChargeItem& item) {
  TB_RETURN_IF_ERROR(ValidateItem(item));
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long now = clock_.NowMillis();
    long long standard = item.standard_fen, rate = item.late_fee.daily_rate_ppm,
              cap = item.late_fee.cap_fen;
    int late = item.late_fee.enabled ? 1 : 0, enabled = item.enabled ? 1 : 0;
    sql << "DELETE FROM payment_items WHERE chitcode = :c", soci::use(item.chitcode, "c");
    sql << "INSERT INTO payment_items (chitcode, name, metric_unit, standard_fen, belong_chitcode, "
           "belong_name, late_fee_enabled, late_fee_start, late_fee_rate_ppm, late_fee_cap_fen, "
           "enabled, updated_at) VALUES (:c, :n, :m, :s, :bc, :bn, :l, :ls, :r, :cap, :e, :u)",
        soci::use(item.chitcode, "c"), soci::use(item.name, "n"), soci::use(item.metric_unit, "m"),
        soci::use(standard, "s"), soci::use(item.belong_chitcode, "bc"),
        soci::use(item.belong_name, "bn"), soci::use(late, "l"),
        soci::use(item.late_fee.start_date, "ls"), soci::use(rate, "r"), soci::use(cap, "cap"),
        soci::use(enabled, "e"), soci::use(now, "u");
    return Status::Ok();
  });
}

Result<ChargeItem> UnitStore::GetItem(std::string_view chitcode) {
  std::string c(chitcode);
  return store_.WithSession([&](soci::session& sql) -> Result<ChargeItem> {
    auto items = QueryItems(sql, " WHERE chitcode = :p", c);
    if (items.empty()) return Error::NotFound("没有这个收费项目：" + c);
    return items.front();
  });
}

Result<std::vector<ChargeItem>> UnitStore::ListItems() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<ChargeItem>> {
    return QueryItems(sql, " WHERE chitcode >= :p", "");
  });
}

}  // namespace tongban::payment
