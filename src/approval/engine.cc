// The case engine: registration (case number, lookup password, applicant and
// material checks) and transitions, each in one transaction that reads the
// case FOR UPDATE, judges it with state_machine.h, updates it under its
// revision, writes the step records and enqueues the stage records.
#include "approval/engine.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "approval/engine_internal.h"
#include "approval/files.h"
#include "approval/state_machine.h"
#include "codec/render.h"
#include "codec/value.h"
#include "crypto/digest.h"
#include "directory/validators.h"

namespace tongban::approval {

using engine_internal::CaseRow;
using engine_internal::kCaseColumns;
using engine_internal::kNeedPrefetch;
using engine_internal::Prefetch;

namespace {

// Lock class of the per-(implement code, day) serial lock ("sn").
constexpr int kSerialLockClass = 0x736E;
// Lock class of a caller's request key ("rk"): copies of one keyed
// registration on several nodes queue here, and the later ones find the
// first one's key row once it has committed.
constexpr int kRequestKeyLockClass = 0x726B;
constexpr int kMaxSerial = 9999;
// An applicant's online applications waiting for 受理, per matter and in all.
constexpr long long kMaxWaitingPerMatter = 5;
constexpr long long kMaxWaitingOnline = 20;
// A registration's note and a transition's opinion (the UI allows 1,000 characters).
constexpr size_t kMaxNoteBytes = 6000;
constexpr size_t kMaxRequestKeyBytes = 64;  // a UUID is 36
constexpr size_t kMaxNameChars = 100;
constexpr std::string_view kStageDestination = "exchange";

Error Stale() { return Error{code::kStale, "办件已被他人处理，请刷新"}; }
Error CaseUnknown() { return Error{code::kCaseUnknown, "办件不存在"}; }
Error LookupFailed() { return Error{code::kLookupFailed, "办件编号或查询密码不正确"}; }
Error BadApplicant(std::string field, std::string why) {
  return Error{code::kBadApplicant, "申请人信息有误：" + field + why};
}

size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// yyyyMMdd of a CST day.
std::string CompactDay(Day day) {
  std::chrono::year_month_day ymd(day);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// The promised limit, or the legal one when a matter promises nothing shorter.
TimeLimit CaseLimit(const Matter& m) {
  return m.promised_limit.amount > 0 ? m.promised_limit : m.legal_limit;
}

Status CheckName(std::string_view label, std::string_view name, bool required) {
  if (required && name.empty()) return BadApplicant(std::string(label), "不能为空");
  if (Utf8Chars(name) > kMaxNameChars) {
    return BadApplicant(std::string(label), "不能超过 100 个字");
  }
  return Status::Ok();
}

Status CheckApplicant(Applicant& a, const Clock& clock) {
  TB_RETURN_IF_ERROR(CheckName("申请人名称", a.name, true));
  TB_RETURN_IF_ERROR(CheckName("法定代表人", a.legal_representative, false));
  TB_RETURN_IF_ERROR(CheckName("经办人", a.contact_name, false));
  TB_RETURN_IF_ERROR(CheckName("代办人", a.agent_name, false));
  if (a.mobile.size() > 32 || a.agent_mobile.size() > 32) {
    return BadApplicant("联系电话", "过长");
  }
  if (a.type == ApplicantType::kPerson) {
    if (a.id_type.empty()) a.id_type = "10";
    if (a.id_type == "10") {
      if (!directory::IsValidResidentId(a.id_number, clock)) {
        return BadApplicant("证件号码", "不是有效的居民身份证号码（GB 11643 校验位）");
      }
    } else if (a.id_number.empty() || a.id_number.size() > 64) {
      return BadApplicant("证件号码", "不能为空");
    }
  } else {
    if (a.id_type.empty()) a.id_type = "49";
    if (!directory::IsValidSocialCreditCode(a.id_number)) {
      return BadApplicant("统一社会信用代码", "无效（GB 32100 校验位）");
    }
  }
  if (!a.agent_id_number.empty()) {
    if (a.agent_name.empty()) return BadApplicant("代办人姓名", "不能为空");
    if (!directory::IsValidResidentId(a.agent_id_number, clock)) {
      return BadApplicant("代办人证件号码", "不是有效的居民身份证号码（GB 11643 校验位）");
    }
  }
  return Status::Ok();
}

// Electronic materials name a stored file (its type and size come from the
// store, not the caller); paper ones record copies.
Status CheckMaterials(std::vector<CaseMaterial>& materials, const FileStore* files) {
  for (CaseMaterial& m : materials) {
    if (m.name.empty() || Utf8Chars(m.name) > 200) {
      return Error{code::kBadMaterial, "材料名称不能为空，且不超过 200 字"};
    }
    if (!m.sha256.empty() || m.form == MaterialForm::kElectronic) {
      if (files == nullptr) return Error{code::kBadMaterial, "未配置文件库，不能接收电子材料"};
      auto stat = files->Stat(m.sha256);
      if (!stat.ok()) {
        if (stat.error().code == errc::kUnavailable) return std::move(stat).error();
        return Error{code::kBadMaterial, "材料「" + m.name + "」的文件不存在，请先上传"};
      }
      m.form = MaterialForm::kElectronic;
      m.media_type = stat->media_type;
      m.size = stat->size;
    } else {
      m.form = MaterialForm::kPaper;
      if (m.copies < 0) return Error{code::kBadMaterial, "材料「" + m.name + "」份数不能为负"};
    }
  }
  return Status::Ok();
}

Status CheckAttachments(const std::vector<std::string>& attachments, const FileStore* files) {
  for (const std::string& sha : attachments) {
    if (files == nullptr) return Error{code::kBadMaterial, "未配置文件库，不能添加附件"};
    auto stat = files->Stat(sha);
    if (!stat.ok()) {
      if (stat.error().code == errc::kUnavailable) return std::move(stat).error();
      return Error{code::kBadMaterial, "附件文件不存在，请先上传"};
    }
  }
  return Status::Ok();
}

// A uniform 6-digit password: 32 random bits, rejecting the top sliver that
// would bias the low values.
std::string NewLookupPassword(Random& random) {
  constexpr uint32_t kRange = 1'000'000;
  constexpr uint32_t kLimit = UINT32_MAX - (UINT32_MAX % kRange);  // a multiple of kRange
  uint32_t v = 0;
  do {
    uint8_t b[4];
    random.Fill(b);
    v = static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
        (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } while (v >= kLimit);
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06u", v % kRange);
  return buf;
}

// Keyed by the server secret and bound to the case number, so a leaked table
// row cannot be brute-forced offline and equal passwords look unrelated.
std::string LookupHash(std::string_view key, std::string_view number, std::string_view password) {
  std::string message;
  message.reserve(number.size() + 1 + password.size());
  message.append(number).append(":").append(password);
  std::string mac = crypto::HmacSha256(key, message);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(mac.size() * 2);
  for (unsigned char c : mac) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xF]);
  }
  return hex;
}

// The lookup password of a keyed registration: derived from the server secret,
// the caller, their key and the case number rather than drawn, so that a retry
// of the same request is answered with the same password without keeping it
// anywhere. Only the server can derive it; 64 bits of the MAC modulo 10^6 is
// uniform to within 2^-44.
std::string KeyedLookupPassword(std::string_view key, std::string_view userid,
                                std::string_view request_key, std::string_view number) {
  std::string message = "request-key\n";
  message.append(userid).append("\n").append(request_key).append("\n").append(number);
  const std::string mac = crypto::HmacSha256(key, message);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(mac[static_cast<size_t>(i)]);
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06u", static_cast<unsigned>(v % 1000000));
  return buf;
}

const MatterStep* StepAt(const Matter& m, int index) {
  if (index < 0 || index >= static_cast<int>(m.steps.size())) return nullptr;
  return &m.steps[static_cast<size_t>(index)];
}

std::string StepOrg(const Matter& m, const MatterStep& step) {
  return step.org.empty() ? m.orgcoding : step.org;
}

std::string DetailJson(const Command& command, Action action, const Transition& t,
                       const Case& before) {
  codec::Value v = codec::Value::Object();
  switch (action) {
    case Action::kRequestCorrection: {
      codec::Value& list = v.Add("missing_materials", codec::Value::Array());
      for (const std::string& m : command.missing_materials) list.Push(m);
      break;
    }
    case Action::kResubmit: {
      v.Set("requested_at_ms", before.stopped_since_ms);
      codec::Value& list = v.Add("materials", codec::Value::Array());
      for (const CaseMaterial& m : command.materials) list.Push(m.name);
      break;
    }
    case Action::kSuspend:
      v.Set("suspension_kind", command.suspension_kind);
      break;
    case Action::kResume:
      v.Set("started_at_ms", before.stopped_since_ms);
      v.Set("suspension_kind", command.suspension_kind);
      v.Set("result", command.opinion);
      break;
    case Action::kTransfer:
      v.Set("to_user", command.to_user);
      v.Set("from_user", before.pending_user);
      break;
    default:
      break;
  }
  if (t.result.has_value() && (action == t.records.back())) {
    v.Set("result", static_cast<int>(*t.result));
  }
  return v.empty() ? std::string() : codec::RenderJson(v);
}

// Replaces materials of the same name, appends new ones.
void MergeMaterials(std::vector<CaseMaterial>& into, const std::vector<CaseMaterial>& fresh) {
  for (const CaseMaterial& m : fresh) {
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const CaseMaterial& old) { return old.name == m.name; });
    if (it != into.end()) {
      *it = m;
    } else {
      into.push_back(m);
    }
  }
}

}  // namespace

// ---- Caches ----

std::shared_ptr<const Matter> CaseEngine::Impl::CachedMatter(std::string_view code, int version,
                                                            Prefetch* need) {
  {
    std::lock_guard lock(mu);
    auto it = matter_cache.find({std::string(code), version});
    if (it != matter_cache.end()) return it->second;
  }
  need->implement_code = std::string(code);
  need->version = version;
  return nullptr;
}

namespace {
int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool CaseEngine::Impl::Fresh(int64_t loaded_at_ms) const {
  return SteadyMillis() - loaded_at_ms < options.calendar_ttl.count();
}

std::shared_ptr<const WorkCalendar> CaseEngine::Impl::CachedCalendar(std::string_view division,
                                                                    Prefetch* need) {
  {
    std::lock_guard lock(mu);
    auto it = calendar_cache.find(division);
    if (it != calendar_cache.end() && Fresh(it->second.second)) return it->second.first;
  }
  if (need->loaded_calendar != nullptr && need->loaded_division == division) {
    return need->loaded_calendar;
  }
  need->division = std::string(division);
  need->calendar = true;
  return nullptr;
}

Result<std::shared_ptr<const WorkCalendar>> CaseEngine::Impl::Calendar(std::string_view division) {
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu);
    auto it = calendar_cache.find(division);
    if (it != calendar_cache.end() && Fresh(it->second.second)) return it->second.first;
    generation = calendar_generation;
  }
  const int64_t loaded_at = SteadyMillis();
  auto loaded = calendars.Load(division);
  if (!loaded.ok()) return std::move(loaded).error();
  auto shared = std::make_shared<const WorkCalendar>(std::move(loaded).value());
  std::lock_guard lock(mu);
  if (generation == calendar_generation) {
    calendar_cache[std::string(division)] = {shared, loaded_at};
  }
  return shared;
}

Status CaseEngine::Impl::Load(Prefetch& need) {
  if (!need.implement_code.empty()) {
    auto matter = matters.Version(need.implement_code, need.version);
    if (!matter.ok()) return std::move(matter).error();
    std::lock_guard lock(mu);
    matter_cache[{need.implement_code, need.version}] = *matter;
  }
  if (need.calendar) {
    auto cal = Calendar(need.division);
    if (!cal.ok()) return std::move(cal).error();
    need.loaded_division = need.division;
    need.loaded_calendar = std::move(cal).value();
  }
  return Status::Ok();
}

Status CaseEngine::Impl::EnqueueStage(soci::session& sql, const Case& c, const Matter& matter,
                                      const StepRecord& record) {
  if (!options.stage_records) return Status::Ok();
  const std::string key = "case:" + c.number;
  for (const StageRecord& stage :
       StageRecordsFor(c, matter, record, OrgName(record.orgcoding))) {
    if (stage.stage.empty()) continue;
    auto id = outbox.Enqueue(sql, kStageDestination, stage.stage, StageRecordJson(stage),
                             record.at_ms, key);
    if (!id.ok()) return std::move(id).error();
  }
  return Status::Ok();
}

// ---- CaseEngine ----

CaseEngine::CaseEngine(SqlStore& store, Outbox& stage_outbox, MatterCatalogue& matters,
                       CalendarStore& calendars, Clock& clock, Random& random,
                       EngineOptions options)
    : impl_(std::make_unique<Impl>(store, stage_outbox, matters, calendars, clock, random,
                                   std::move(options))) {
  impl_->lane = std::make_unique<WriteLane>(store, "tb-approval");
}

CaseEngine::~CaseEngine() = default;

void CaseEngine::StopAsyncWrites() { impl_->lane->Stop(); }

namespace {

// Records which case each file belongs to (approval_case_files), once per
// pair: checked first, since a failed INSERT would abort a PostgreSQL
// transaction.
void LinkFiles(soci::session& sql, long long case_id, std::vector<std::string> files) {
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  for (std::string& sha : files) {
    if (sha.empty()) continue;
    long long linked = 0;
    sql << "SELECT COUNT(*) FROM approval_case_files WHERE sha256 = :s AND case_id = :c",
        soci::use(sha), soci::use(case_id), soci::into(linked);
    if (linked == 0) {
      sql << "INSERT INTO approval_case_files (sha256, case_id) VALUES (:s, :c)", soci::use(sha),
          soci::use(case_id);
    }
  }
}

}  // namespace

Result<engine_internal::RegisterPlan> CaseEngine::Impl::PlanRegistration(
    const Actor& actor, const Registration& registration) {
  Impl& im = *this;
  if (im.options.lookup_key.empty()) {
    return Error::Internal("approval: no lookup key configured (approval.lookup_key)");
  }
  if (actor.kind == Actor::Kind::kSystem) {
    return Error::PermissionDenied("部门系统不能收件登记，请报送环节数据");
  }
  if (actor.kind == Actor::Kind::kApplicant && actor.userid.empty()) {
    return Error::PermissionDenied("网上申报须先登录");
  }
  auto latest = im.matters.Current(registration.implement_code);
  if (!latest.ok()) {
    if (latest.error().code == errc::kNotFound) {
      return Error{code::kMatterUnknown, "事项不存在：" + registration.implement_code};
    }
    return std::move(latest).error();
  }
  const Matter& matter = **latest;
  if (!matter.enabled) return Error{code::kMatterUnknown, "事项已停用：" + matter.name};
  if (actor.kind == Actor::Kind::kStaff &&
      !(actor.HasRole(kRoleIntake) && actor.InOrg(matter.orgcoding))) {
    return Error{code::kNotYourStep,
                 "您无权收件：需要机构 " + matter.orgcoding + " 的「收件」角色"};
  }
  if (actor.kind == Actor::Kind::kApplicant && !matter.online) {
    return Error{code::kMatterUnknown, "该事项不支持网上申报：" + matter.name};
  }
  if (actor.kind == Actor::Kind::kApplicant && actor.authlevel < matter.online_min_authlevel) {
    return Error{code::kRealNameTooLow,
                 "该事项网上申报须实名等级 " + std::to_string(matter.online_min_authlevel) +
                     " 级及以上，您的账号为 " + std::to_string(actor.authlevel) +
                     " 级：请先完成实名认证（个人中心或政务服务窗口），或到窗口申请"};
  }
  if (registration.note.size() > kMaxNoteBytes) {
    return Error::InvalidArgument("说明（note）过长：最多 " + std::to_string(kMaxNoteBytes) +
                                  " 字节（约 2000 个汉字）");
  }
  engine_internal::RegisterPlan plan;
  plan.applicant = registration.applicant;
  TB_RETURN_IF_ERROR(CheckApplicant(plan.applicant, im.clock));
  plan.materials = registration.materials;
  TB_RETURN_IF_ERROR(CheckMaterials(plan.materials, im.options.files));

  plan.actor = actor;
  plan.note = registration.note;
  plan.now = im.clock.NowMillis();
  plan.password = NewLookupPassword(im.random);
  if (registration.request_key.size() > kMaxRequestKeyBytes ||
      !std::all_of(registration.request_key.begin(), registration.request_key.end(),
                   [](char ch) { return ch > ' ' && ch < 0x7f; })) {
    return Error::InvalidArgument("Idempotency-Key 须为 1–" + std::to_string(kMaxRequestKeyBytes) +
                                  " 个可见 ASCII 字符");
  }
  plan.request_key = registration.request_key;
  plan.request_fingerprint = registration.request_fingerprint;
  plan.day = CompactDay(DayOf(plan.now));
  plan.channel = actor.kind == Actor::Kind::kApplicant ? "1" : registration.channel;
  plan.matter = std::make_shared<const Matter>(matter);
  {
    std::lock_guard lock(im.mu);
    im.matter_cache.emplace(std::make_pair(matter.implement_code, matter.version), plan.matter);
  }
  return plan;
}

Result<Registered> CaseEngine::Impl::RegisterIn(soci::session& sql,
                                                const engine_internal::RegisterPlan& plan) {
  Impl& im = *this;
  const Actor& actor = plan.actor;
  const Matter& matter = *plan.matter;
  const Applicant& applicant = plan.applicant;
  const int64_t now = plan.now;
  const SqlDialect dialect = im.store.dialect();
  std::string code = matter.implement_code;
  if (!plan.request_key.empty()) {
    sql_dialect::LockUntilCommit(sql, dialect, kRequestKeyLockClass,
                                 actor.userid + "\n" + plan.request_key);
    std::string number, fingerprint;
    sql << "SELECT number, fingerprint FROM approval_request_keys WHERE userid = :u AND "
           "request_key = :k",
        soci::use(actor.userid), soci::use(plan.request_key), soci::into(number),
        soci::into(fingerprint);
    if (sql.got_data()) {
      if (fingerprint != plan.request_fingerprint) {
        return Error{code::kRequestKeyReused,
                     "此 Idempotency-Key 已登记办件 " + number +
                         "（另一份申请）：登记新的一件请重新打开收件页"};
      }
      auto row = engine_internal::LoadCase(sql, dialect, number, false);
      if (!row) return Error::Internal("approval: the case of a request key is gone: " + number);
      return Registered{row->ToCase(),
                        KeyedLookupPassword(im.options.lookup_key, actor.userid,
                                            plan.request_key, number),
                        true};
    }
  }
  sql_dialect::LockUntilCommit(sql, dialect, kSerialLockClass, code + plan.day);
  if (actor.kind == Actor::Kind::kApplicant) {
    // One account's online applications waiting for 受理 are few (review13:
    // one account registered 9,999 in 20 s, which spent the matter's case
    // numbers of the day — window intake too — and buried the clerks' 待办).
    // Exact per matter (the serial lock above), per account across matters
    // as exact as concurrent calls of one account allow.
    long long waiting = 0, here = 0;
    const std::string registered(CaseStateName(CaseState::kRegistered));
    sql << "SELECT COUNT(*) FROM approval_cases WHERE registered_by = :u AND state = :s",
        soci::use(actor.userid), soci::use(registered), soci::into(waiting);
    sql << "SELECT COUNT(*) FROM approval_cases WHERE registered_by = :u AND state = :s AND "
           "implement_code = :c",
        soci::use(actor.userid), soci::use(registered), soci::use(code), soci::into(here);
    if (here >= kMaxWaitingPerMatter || waiting >= kMaxWaitingOnline) {
      return Error::Conflict(
          "您已有 " + std::to_string(here >= kMaxWaitingPerMatter ? here : waiting) +
          " 件网上申报等待受理（同一事项最多 " + std::to_string(kMaxWaitingPerMatter) +
          " 件，全部最多 " + std::to_string(kMaxWaitingOnline) + " 件）：请待受理后再申报");
    }
  }
  const int serial = im.statements.NextSerial(sql, code, plan.day);
  if (serial > kMaxSerial) {  // the error rolls the count back
    return Error::Conflict("当日办件编号已用尽（" + code + " " + plan.day + "）");
  }
  char serial_text[16];  // four digits; room for any int keeps -Wformat-truncation quiet
  std::snprintf(serial_text, sizeof(serial_text), "%04d", serial);

  Case c;
  c.number = code + plan.day + serial_text;
  c.implement_code = code;
  c.matter_version = matter.version;
  c.matter_name = matter.name;
  c.orgcoding = matter.orgcoding;
  c.division = matter.division;
  c.applicant = applicant;
  c.materials = plan.materials;
  c.channel = plan.channel;
  c.state = CaseState::kRegistered;
  c.pending_role = std::string(kRoleAccept);
  c.pending_org = matter.orgcoding;
  c.registered_at_ms = now;

  CaseRow row;
  row.Assign(c);
  row.number = c.number;
  row.implement_code = code;
  row.matter_version = c.matter_version;
  row.matter_name = c.matter_name;
  row.orgcoding = c.orgcoding;
  row.division = c.division;
  row.applicant_type = applicant.type == ApplicantType::kLegalPerson ? "legal_person" : "person";
  row.applicant_name = applicant.name;
  row.applicant_id = applicant.id_number;
  row.applicant_json = engine_internal::ApplicantJson(applicant);
  row.channel = plan.channel;
  row.registered_at = now;
  row.registered_by = actor.userid;
  const std::string password =
      plan.request_key.empty()
          ? plan.password
          : KeyedLookupPassword(im.options.lookup_key, actor.userid, plan.request_key, c.number);
  row.lookup_hash = LookupHash(im.options.lookup_key, c.number, password);

  long long id = im.statements.Insert(sql, row);
  c.id = id;
  std::vector<std::string> files;
  for (const CaseMaterial& m : c.materials) files.push_back(m.sha256);
  LinkFiles(sql, id, files);

  StepRecord record;
  record.case_id = id;
  record.action = Action::kRegister;
  record.userid = actor.userid;
  record.username = actor.username;
  record.orgcoding = actor.kind == Actor::Kind::kStaff ? matter.orgcoding : "";
  record.opinion = plan.note;
  record.to_state = std::string(CaseStateName(CaseState::kRegistered));
  record.at_ms = now;
  im.statements.InsertStep(sql, record);
  TB_RETURN_IF_ERROR(im.EnqueueStage(sql, c, matter, record));
  if (!plan.request_key.empty()) {
    // Never a duplicate: a registration with this key on another node holds
    // the key's lock (above) until it commits, and its row is then read.
    sql << "INSERT INTO approval_request_keys (userid, request_key, number, fingerprint, "
           "created_at) VALUES (:u, :k, :n, :f, :t)",
        soci::use(actor.userid), soci::use(plan.request_key), soci::use(c.number),
        soci::use(plan.request_fingerprint), soci::use(static_cast<long long>(now));
  }
  return Registered{std::move(c), password};
}

Result<Registered> CaseEngine::Register(const Actor& actor, const Registration& registration) {
  Impl& im = *impl_;
  auto plan = im.PlanRegistration(actor, registration);
  if (!plan.ok()) return std::move(plan).error();
  return im.store.WithTransaction(
      [&](soci::session& sql) -> Result<Registered> { return im.RegisterIn(sql, *plan); });
}

void CaseEngine::RegisterAsync(const Actor& actor, const Registration& registration,
                               std::function<void(Result<Registered>)> done) {
  Impl& im = *impl_;
  auto plan = im.PlanRegistration(actor, registration);
  if (!plan.ok()) return done(std::move(plan).error());
  auto shared = std::make_shared<const engine_internal::RegisterPlan>(std::move(*plan));
  im.TransactAsync<Registered>(
      [&im, shared](soci::session& sql, engine_internal::Prefetch*) {
        return im.RegisterIn(sql, *shared);
      },
      std::move(done));
}

namespace {

// Applies a judged transition to `c` at `now`: state, step and pending, the
// clock (start, stop, resume with the stopped working days), the result.
void Apply(Case& c, int& step_stopped_days, const Transition& t, const Matter& matter,
           const WorkCalendar& cal, const Command& command, int64_t now) {
  // Before acceptance a correction notice stops no clock, but its time is kept
  // (stopped_since) for the resubmission's stage record.
  const bool resumes = t.clock == ClockEffect::kResume || command.action == Action::kResubmit;
  if (resumes && c.accepted_at_ms == 0) c.stopped_since_ms = 0;
  if (resumes && c.stopped_since_ms > 0) {
    int days = cal.WorkingDaysBetween(DayOf(c.stopped_since_ms), DayOf(now));
    c.stopped_working_days += days;
    step_stopped_days += days;
    c.stopped_since_ms = 0;
    c.deadline_ms = cal.Deadline(c.accepted_at_ms, CaseLimit(matter), c.stopped_working_days);
    if (const MatterStep* step = StepAt(matter, c.current_step)) {
      c.step_deadline_ms = cal.Deadline(c.step_started_at_ms, step->limit, step_stopped_days);
    }
  }
  if (t.clock == ClockEffect::kStart) {
    c.accepted_at_ms = now;
    c.stopped_working_days = 0;
    c.deadline_ms = cal.Deadline(now, CaseLimit(matter), 0);
  }
  if (t.clock == ClockEffect::kStop || command.action == Action::kRequestCorrection) {
    c.stopped_since_ms = now;
  }
  if (t.counts_correction) ++c.corrections;
  if (command.action == Action::kResubmit) MergeMaterials(c.materials, command.materials);

  c.state = t.to;
  c.current_step = t.step;
  if (t.starts_step) {
    const MatterStep* step = StepAt(matter, t.step);
    c.step_started_at_ms = now;
    step_stopped_days = 0;
    c.step_deadline_ms = step != nullptr ? cal.Deadline(now, step->limit, 0) : 0;
    c.pending_role = step != nullptr ? step->role : "";
    c.pending_org = step != nullptr ? StepOrg(matter, *step) : "";
    c.pending_user.clear();
  }
  if (command.action == Action::kTransfer) c.pending_user = command.to_user;
  if (IsFinal(t.to)) {
    c.completed_at_ms = now;
    c.pending_role.clear();
    c.pending_org.clear();
    c.pending_user.clear();
    c.stopped_since_ms = 0;
    if (t.result.has_value()) {
      c.result = t.result;
      if (NeedsReason(*t.result)) c.result_reason = command.opinion;
    } else if (t.to == CaseState::kRefused) {
      c.result_reason = command.opinion;
    }
  }
}

}  // namespace

namespace {

// Act's checks before its transaction; the command as the transaction uses it.
Result<Command> CheckCommand(const Command& command, FileStore* files) {
  if (command.opinion.size() > kMaxNoteBytes) {
    return Error::InvalidArgument("意见（opinion）过长：最多 " + std::to_string(kMaxNoteBytes) +
                                  " 字节（约 2000 个汉字）");
  }
  TB_RETURN_IF_ERROR(CheckAttachments(command.attachments, files));
  std::vector<CaseMaterial> resubmitted = command.materials;
  if (command.action == Action::kResubmit) {
    TB_RETURN_IF_ERROR(CheckMaterials(resubmitted, files));
  }
  Command checked = command;
  checked.materials = std::move(resubmitted);
  return checked;
}

}  // namespace

Result<Case> CaseEngine::Impl::ActIn(soci::session& sql, Prefetch* need, const Actor& actor,
                                     std::string_view case_number, const Command& checked) {
  Impl& im = *this;
  std::optional<CaseRow> row = im.statements.Load(sql, case_number, true);
  if (!row.has_value()) return CaseUnknown();
  if (checked.expected_revision.has_value() && *checked.expected_revision != row->revision) {
    return Stale();
  }
  Case c = row->ToCase();
  auto matter = im.CachedMatter(c.implement_code, c.matter_version, need);
  if (matter == nullptr) return Error{kNeedPrefetch, ""};
  CaseShape shape{c.state, c.current_step, static_cast<int>(matter->steps.size()), matter->kind,
                  c.reported};
  TB_RETURN_IF_ERROR(CheckState(shape, checked.action));
  TB_RETURN_IF_ERROR(CheckActor(actor, c, shape, checked.action, row->registered_by));
  Move move{checked.action, checked.opinion, checked.result, checked.to_user,
            checked.missing_materials.size()};
  auto t = Next(shape, move);
  if (!t.ok()) return std::move(t).error();
  auto cal = im.CachedCalendar(c.division, need);
  if (cal == nullptr) return Error{kNeedPrefetch, ""};

  const int64_t now = im.clock.NowMillis();
  const Case before = c;
  // The org the actor acts for: the step's, or the case's for acceptance-side duties.
  const std::string acting_org =
      actor.kind != Actor::Kind::kStaff           ? std::string()
      : DutyOf(shape, checked.action) == Duty::kStepHandler ? before.pending_org
                                                            : before.orgcoding;
  const MatterStep* acted_step = StepAt(*matter, before.current_step);
  int step_stopped_days = row->step_stopped_days;
  Apply(c, step_stopped_days, *t, *matter, *cal, checked, now);

  const CaseRow loaded = *row;
  row->Assign(c);
  row->step_stopped_days = step_stopped_days;
  if (!im.statements.Update(sql, loaded, *row)) return Stale();
  c.revision = row->revision + 1;
  std::vector<std::string> files = checked.attachments;
  if (checked.action == Action::kResubmit) {
    for (const CaseMaterial& m : checked.materials) files.push_back(m.sha256);
  }
  LinkFiles(sql, c.id, files);

  for (Action action : t->records) {
    StepRecord record;
    record.case_id = c.id;
    record.action = action;
    if (acted_step != nullptr) {
      record.step_code = acted_step->code;
      record.step_name = acted_step->name;
    }
    record.userid = actor.userid;
    record.username = actor.username;
    record.orgcoding = acting_org;
    record.opinion = checked.opinion;
    record.detail = DetailJson(checked, action, *t, before);
    if (action == checked.action) record.attachments = checked.attachments;
    record.from_state = std::string(CaseStateName(before.state));
    record.to_state = std::string(CaseStateName(c.state));
    record.at_ms = now;
    im.statements.InsertStep(sql, record);
    TB_RETURN_IF_ERROR(im.EnqueueStage(sql, c, *matter, record));
    if (im.options.on_transition) {
      TB_RETURN_IF_ERROR(im.options.on_transition(sql, before, c, record, now, cal.get()));
    }
  }
  return c;

}

Result<Case> CaseEngine::Act(const Actor& actor, std::string_view case_number,
                             const Command& command) {
  Impl& im = *impl_;
  auto checked = CheckCommand(command, im.options.files);
  if (!checked.ok()) return std::move(checked).error();
  return im.Transact<Case>([&](soci::session& sql, Prefetch* need) -> Result<Case> {
    return im.ActIn(sql, need, actor, case_number, *checked);
  });
}

void CaseEngine::ActAsync(const Actor& actor, std::string_view case_number, const Command& command,
                          std::function<void(Result<Case>)> done) {
  Impl& im = *impl_;
  auto checked = CheckCommand(command, im.options.files);
  if (!checked.ok()) return done(std::move(checked).error());
  struct Plan {
    Actor actor;
    std::string number;
    Command checked;
  };
  auto plan = std::make_shared<const Plan>(Plan{actor, std::string(case_number), std::move(*checked)});
  im.TransactAsync<Case>(
      [&im, plan](soci::session& sql, Prefetch* need) {
        return im.ActIn(sql, need, plan->actor, plan->number, plan->checked);
      },
      std::move(done));
}

Result<Case> CaseEngine::Get(std::string_view case_number) {
  Impl& im = *impl_;
  return im.store.WithSession([&](soci::session& sql) -> Result<Case> {
    auto row = im.statements.Load(sql, case_number, false);
    if (!row.has_value()) return CaseUnknown();
    return row->ToCase();
  });
}

Result<std::vector<StepRecord>> CaseEngine::History(std::string_view case_number) {
  Impl& im = *impl_;
  return im.store.WithSession([&](soci::session& sql) -> Result<std::vector<StepRecord>> {
    std::string n(case_number);
    long long case_id = 0;
    sql << "SELECT id FROM approval_cases WHERE number = :n", soci::use(n), soci::into(case_id);
    if (!sql.got_data()) return CaseUnknown();
    long long id = 0, at = 0;
    std::string action, step_code, step_name, userid, username, org, opinion, detail, attachments,
        from, to;
    soci::statement st =
        (sql.prepare << "SELECT id, action, step_code, step_name, userid, username, orgcoding, "
                        "opinion, detail, attachments, from_state, to_state, at "
                        "FROM approval_steps WHERE case_id = :c ORDER BY id",
         soci::use(case_id), soci::into(id), soci::into(action), soci::into(step_code),
         soci::into(step_name), soci::into(userid), soci::into(username), soci::into(org),
         soci::into(opinion), soci::into(detail), soci::into(attachments), soci::into(from),
         soci::into(to), soci::into(at));
    st.execute();
    std::vector<StepRecord> out;
    while (st.fetch()) {
      StepRecord r;
      r.id = id;
      r.case_id = case_id;
      r.action = ParseAction(action).value_or(Action::kReported);
      r.step_code = step_code;
      r.step_name = step_name;
      r.userid = userid;
      r.username = username;
      r.orgcoding = org;
      r.opinion = opinion;
      r.detail = detail;
      r.attachments = engine_internal::ParseStrings(attachments);
      r.from_state = from;
      r.to_state = to;
      r.at_ms = at;
      out.push_back(std::move(r));
    }
    return out;
  });
}

Result<Case> CaseEngine::Lookup(std::string_view case_number, std::string_view lookup_password) {
  Impl& im = *impl_;
  auto row = im.store.WithSession([&](soci::session& sql) -> Result<std::optional<CaseRow>> {
    return im.statements.Load(sql, case_number, false);
  });
  if (!row.ok()) return std::move(row).error();
  // The same work and the same answer whether the case exists or not: no oracle.
  std::string stored = row->has_value() ? (*row)->lookup_hash : std::string(64, '0');
  std::string given = LookupHash(im.options.lookup_key, case_number, lookup_password);
  bool match = stored.size() == given.size() &&
               CRYPTO_memcmp(stored.data(), given.data(), given.size()) == 0;
  if (!row->has_value() || !match || im.options.lookup_key.empty()) return LookupFailed();
  return (*row)->ToCase();
}

// ---- Lists ----

namespace {

// Roles a case can be pending on: intake, supervision and matter
// administration never are, so they add no index ranges.
std::vector<std::string> PendableRoles(const Actor& actor) {
  std::vector<std::string> out;
  for (const std::string& r : actor.roles) {
    if (r == kRoleIntake || r == kRoleSupervise || r == kRoleMatterAdmin || r.empty()) continue;
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

std::vector<std::string> Distinct(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const std::string& s : in) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

bool MoreUrgent(const CaseRow& a, const CaseRow& b) {
  bool a_none = a.deadline_at == 0, b_none = b.deadline_at == 0;
  if (a_none != b_none) return b_none;
  if (a.deadline_at != b.deadline_at) return a.deadline_at < b.deadline_at;
  return a.id < b.id;
}

}  // namespace

Result<std::vector<WorkItem>> CaseEngine::Todo(const Actor& actor, int64_t offset, int64_t limit,
                                               int64_t* total) {
  Impl& im = *impl_;
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = 20;
  std::vector<std::string> roles = PendableRoles(actor);
  std::vector<std::string> orgs = Distinct(actor.orgs);
  if (total != nullptr) *total = 0;
  if (actor.kind != Actor::Kind::kStaff || roles.empty() || orgs.empty()) {
    return std::vector<WorkItem>();
  }
  auto rows = im.store.WithSession([&](soci::session& sql) -> Result<std::vector<CaseRow>> {
    // One index range of approval_cases_todo per (org, role), each already in
    // deadline order: the page is a merge of their heads, whatever the table's size.
    long long want = offset + limit;
    std::string user = actor.userid;
    std::vector<CaseRow> merged;
    const std::string head = std::string("SELECT ") + kCaseColumns +
                             " FROM approval_cases WHERE pending_org = :o AND pending_role = :r "
                             "AND pending_role <> '' AND (pending_user = '' OR pending_user = :u) ";
    for (std::string& org : orgs) {
      for (std::string& role : roles) {
        auto with_deadline = engine_internal::FetchCases(
            (sql.prepare << head + "AND deadline_at > 0 ORDER BY deadline_at, id LIMIT :n",
             soci::use(org), soci::use(role), soci::use(user), soci::use(want)));
        long long missing = want - static_cast<long long>(with_deadline.size());
        merged.insert(merged.end(), with_deadline.begin(), with_deadline.end());
        if (missing > 0) {
          auto without = engine_internal::FetchCases(
              (sql.prepare << head + "AND deadline_at = 0 ORDER BY id LIMIT :n", soci::use(org),
               soci::use(role), soci::use(user), soci::use(missing)));
          merged.insert(merged.end(), without.begin(), without.end());
        }
        if (total != nullptr) {
          long long n = 0;
          sql << "SELECT COUNT(*) FROM approval_cases WHERE pending_org = :o AND "
                 "pending_role = :r AND pending_role <> '' AND (pending_user = '' OR "
                 "pending_user = :u)",
              soci::use(org), soci::use(role), soci::use(user), soci::into(n);
          *total += n;
        }
      }
    }
    std::sort(merged.begin(), merged.end(), MoreUrgent);
    if (static_cast<int64_t>(merged.size()) <= offset) return std::vector<CaseRow>();
    merged.erase(merged.begin(), merged.begin() + offset);
    if (static_cast<int64_t>(merged.size()) > limit) merged.resize(static_cast<size_t>(limit));
    return merged;
  });
  if (!rows.ok()) return std::move(rows).error();
  const int64_t now = im.clock.NowMillis();
  std::vector<WorkItem> out;
  out.reserve(rows->size());
  for (const CaseRow& r : *rows) {
    WorkItem item{r.ToCase()};
    item.case_light = CaseLight(item.case_, now);
    item.step_light = StepLight(item.case_, now);
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::vector<WorkItem>> CaseEngine::Done(const Actor& actor, int64_t offset, int64_t limit) {
  Impl& im = *impl_;
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = 20;
  if (actor.userid.empty()) return std::vector<WorkItem>();
  auto rows = im.store.WithSession([&](soci::session& sql) -> Result<std::vector<CaseRow>> {
    std::string user = actor.userid;
    long long n = limit, o = offset;
    long long case_id = 0, last = 0;
    soci::statement st =
        (sql.prepare << "SELECT case_id, MAX(id) AS last_step FROM approval_steps "
                        "WHERE userid = :u GROUP BY case_id ORDER BY last_step DESC "
                        "LIMIT :n OFFSET :o",
         soci::use(user), soci::use(n), soci::use(o), soci::into(case_id), soci::into(last));
    st.execute();
    std::vector<long long> ids;
    while (st.fetch()) ids.push_back(case_id);
    std::vector<CaseRow> out;
    for (long long& id : ids) {
      auto one = engine_internal::FetchCases(
          (sql.prepare << std::string("SELECT ") + kCaseColumns +
                              " FROM approval_cases WHERE id = :id",
           soci::use(id)));
      out.insert(out.end(), one.begin(), one.end());
    }
    return out;
  });
  if (!rows.ok()) return std::move(rows).error();
  const int64_t now = im.clock.NowMillis();
  std::vector<WorkItem> out;
  for (const CaseRow& r : *rows) {
    WorkItem item{r.ToCase()};
    item.case_light = CaseLight(item.case_, now);
    item.step_light = StepLight(item.case_, now);
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::vector<Case>> CaseEngine::Search(const CaseFilter& filter, int64_t* total) {
  Impl& im = *impl_;
  return im.store.WithSession([&](soci::session& sql) -> Result<std::vector<Case>> {
    std::string where = " WHERE 1 = 1";
    std::string state = filter.state.has_value() ? std::string(CaseStateName(*filter.state)) : "";
    long long from = filter.from_ms, to = filter.to_ms;
    long long n = filter.limit > 0 ? filter.limit : 20, o = std::max<int64_t>(filter.offset, 0);
    if (!state.empty()) where += " AND state = :state";
    if (!filter.orgcoding.empty()) where += " AND orgcoding = :org";
    if (!filter.implement_code.empty()) where += " AND implement_code = :code";
    if (!filter.applicant_id.empty()) where += " AND applicant_id = :aid";
    if (!filter.registered_by.empty()) where += " AND registered_by = :by";
    if (!filter.channel.empty()) where += " AND channel = :ch";
    if (from > 0) where += " AND registered_at >= :from";
    if (to > 0) where += " AND registered_at < :to";
    auto bind = [&](soci::details::prepare_temp_type& p) {
      if (!state.empty()) p, soci::use(state, "state");
      if (!filter.orgcoding.empty()) p, soci::use(filter.orgcoding, "org");
      if (!filter.implement_code.empty()) p, soci::use(filter.implement_code, "code");
      if (!filter.applicant_id.empty()) p, soci::use(filter.applicant_id, "aid");
      if (!filter.registered_by.empty()) p, soci::use(filter.registered_by, "by");
      if (!filter.channel.empty()) p, soci::use(filter.channel, "ch");
      if (from > 0) p, soci::use(from, "from");
      if (to > 0) p, soci::use(to, "to");
    };
    soci::details::prepare_temp_type page =
        (sql.prepare << std::string("SELECT ") + kCaseColumns + " FROM approval_cases" + where +
                            " ORDER BY id DESC LIMIT :n OFFSET :o");
    bind(page);
    page, soci::use(n, "n"), soci::use(o, "o");
    std::vector<Case> out;
    for (const CaseRow& r : engine_internal::FetchCases(page)) out.push_back(r.ToCase());
    if (total != nullptr) {
      long long count = 0;
      soci::details::prepare_temp_type q =
          (sql.prepare << "SELECT COUNT(*) FROM approval_cases" + where);
      bind(q);
      q, soci::into(count);
      soci::statement st(q);
      st.execute(true);
      *total = count;
    }
    return out;
  });
}

Result<bool> CaseEngine::StaffMayReadFile(const Actor& actor, std::string_view sha256) {
  if (actor.kind != Actor::Kind::kStaff) return false;
  if (actor.HasRole(kRoleSupervise)) return true;
  std::string sha(sha256);
  return impl_->store.WithSession([&](soci::session& sql) -> Result<bool> {
    std::string org, pending_org;
    soci::statement st =
        (sql.prepare << "SELECT c.orgcoding, c.pending_org FROM approval_case_files f "
                        "JOIN approval_cases c ON c.id = f.case_id WHERE f.sha256 = :s",
         soci::use(sha), soci::into(org), soci::into(pending_org));
    if (st.execute(true)) {
      do {
        if (actor.InOrg(org) || (!pending_org.empty() && actor.InOrg(pending_org))) return true;
      } while (st.fetch());
    }
    long long uploaded = 0;
    sql << "SELECT COUNT(*) FROM approval_uploads WHERE sha256 = :s AND userid = :u",
        soci::use(sha), soci::use(actor.userid), soci::into(uploaded);
    return uploaded > 0;
  });
}

Result<bool> CaseEngine::MayReferenceFile(const Actor& actor, std::string_view sha256) {
  if (actor.userid.empty()) return false;
  if (actor.kind == Actor::Kind::kStaff) return StaffMayReadFile(actor, sha256);
  if (actor.kind != Actor::Kind::kApplicant) return false;
  std::string sha(sha256);
  auto uploaded = impl_->store.WithSession([&](soci::session& sql) -> Result<bool> {
    long long n = 0;
    sql << "SELECT COUNT(*) FROM approval_uploads WHERE sha256 = :s AND userid = :u",
        soci::use(sha), soci::use(actor.userid), soci::into(n);
    return n > 0;
  });
  if (!uploaded.ok() || *uploaded) return uploaded;
  return ApplicantHasFile(actor.userid, sha256);
}

Result<int64_t> CaseEngine::UploadedBytesInLastDay(std::string_view userid) {
  const std::string u(userid);
  const long long since = impl_->clock.NowMillis() - 86'400'000;
  return impl_->store.WithSession([&](soci::session& sql) -> Result<int64_t> {
    // Summed in C++: SUM's type differs by database (DECIMAL on MySQL).
    long long size = 0;
    int64_t total = 0;
    soci::statement st = (sql.prepare << "SELECT size FROM approval_uploads WHERE userid = :u AND "
                                         "uploaded_at >= :t",
                          soci::use(u), soci::use(since), soci::into(size));
    if (st.execute(true)) {
      do {
        total += size;
      } while (st.fetch());
    }
    return total;
  });
}

Status CaseEngine::RecordUpload(const Actor& actor, std::string_view sha256, int64_t size) {
  if ((actor.kind != Actor::Kind::kStaff && actor.kind != Actor::Kind::kApplicant) ||
      actor.userid.empty()) {
    return Status::Ok();
  }
  std::string sha(sha256);
  const long long now = impl_->clock.NowMillis();
  return impl_->store.WithTransaction([&](soci::session& sql) -> Status {
    // Checked first: a failed INSERT would abort a PostgreSQL transaction.
    long long known = 0;
    sql << "SELECT COUNT(*) FROM approval_uploads WHERE sha256 = :s AND userid = :u",
        soci::use(sha), soci::use(actor.userid), soci::into(known);
    if (known == 0) {
      long long bytes = size;
      sql << "INSERT INTO approval_uploads (sha256, userid, uploaded_at, size) VALUES (:s, :u, :t, "
             ":n)",
          soci::use(sha), soci::use(actor.userid), soci::use(now), soci::use(bytes);
    }
    return Status::Ok();
  });
}

Result<bool> CaseEngine::ApplicantHasFile(std::string_view userid, std::string_view sha256) {
  const bool hex = sha256.size() == 64 && std::all_of(sha256.begin(), sha256.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (userid.empty() || !hex) return false;
  std::string u(userid);
  std::string pattern = "%" + std::string(sha256) + "%";  // hex: no LIKE wildcards
  return impl_->store.WithSession([&](soci::session& sql) -> Result<bool> {
    std::string materials;
    soci::statement st =
        (sql.prepare << "SELECT materials_json FROM approval_cases WHERE registered_by = :u "
                        "AND channel = '1' AND materials_json LIKE :p",
         soci::use(u, "u"), soci::use(pattern, "p"), soci::into(materials));
    if (st.execute(true)) {
      do {
        // The text may sit in a material's name: only a material's file counts.
        for (const CaseMaterial& m : engine_internal::ParseMaterials(materials)) {
          if (m.sha256 == sha256) return true;
        }
      } while (st.fetch());
    }
    return false;
  });
}

// ---- Deadlines and lights ----

Result<int64_t> CaseEngine::RecomputeDeadlines(std::string_view division) {
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.mu);
    ++im.calendar_generation;
    if (division.empty()) {
      im.calendar_cache.clear();
    } else {
      im.calendar_cache.erase(std::string(division));
    }
  }
  auto numbers = im.store.WithSession([&](soci::session& sql) -> Result<std::vector<std::string>> {
    std::string d(division);
    std::string number;
    soci::details::prepare_temp_type p =
        division.empty()
            ? (sql.prepare << "SELECT number FROM approval_cases WHERE completed_at = 0 AND "
                              "accepted_at > 0 ORDER BY id")
            : (sql.prepare << "SELECT number FROM approval_cases WHERE division = :d AND "
                              "completed_at = 0 AND accepted_at > 0 ORDER BY id",
               soci::use(d));
    p, soci::into(number);
    soci::statement st(p);
    st.execute();
    std::vector<std::string> out;
    while (st.fetch()) out.push_back(number);
    return out;
  });
  if (!numbers.ok()) return std::move(numbers).error();

  int64_t moved = 0;
  for (const std::string& number : *numbers) {
    auto changed = im.Transact<bool>([&](soci::session& sql, Prefetch* need) -> Result<bool> {
      auto row = im.statements.Load(sql, number, true);
      if (!row.has_value() || row->completed_at != 0 || row->accepted_at == 0) return false;
      auto matter = im.CachedMatter(row->implement_code, row->matter_version, need);
      if (matter == nullptr) return Error{kNeedPrefetch, ""};
      auto cal = im.CachedCalendar(row->division, need);
      if (cal == nullptr) return Error{kNeedPrefetch, ""};
      long long deadline = cal->Deadline(row->accepted_at, CaseLimit(*matter), row->stopped_days);
      long long step_deadline = row->step_deadline_at;
      const MatterStep* step = StepAt(*matter, row->current_step);
      if (step != nullptr && row->step_started_at > 0) {
        step_deadline = cal->Deadline(row->step_started_at, step->limit, row->step_stopped_days);
      }
      if (deadline == row->deadline_at && step_deadline == row->step_deadline_at) return false;
      codec::Value detail = codec::Value::Object(4);
      detail.AppendNew("deadline_from", row->deadline_at);
      detail.AppendNew("deadline_to", deadline);
      detail.AppendNew("step_deadline_from", row->step_deadline_at);
      detail.AppendNew("step_deadline_to", step_deadline);
      const CaseRow loaded = *row;
      row->deadline_at = deadline;
      row->step_deadline_at = step_deadline;
      if (!im.statements.Update(sql, loaded, *row)) return Stale();
      StepRecord record;
      record.case_id = row->id;
      record.action = Action::kRecompute;
      if (step != nullptr) {
        record.step_code = step->code;
        record.step_name = step->name;
      }
      record.opinion = "工作日历变更，时限重算";
      record.detail = codec::RenderJson(detail);
      record.from_state = row->state;
      record.to_state = row->state;
      record.at_ms = im.clock.NowMillis();
      im.statements.InsertStep(sql, record);
      return true;
    });
    if (!changed.ok()) return std::move(changed).error();
    if (*changed) ++moved;
  }
  return moved;
}

namespace {

// The instant a light is judged at: the stop for a stopped clock, the end for
// a completed case, now otherwise; 0 when the case shows no light.
int64_t JudgedAt(const Case& c, int64_t now_ms) {
  if (c.state == CaseState::kCompleted) return c.completed_at_ms;
  if (IsFinal(c.state)) return 0;
  if (c.stopped_since_ms > 0) return c.stopped_since_ms;
  return now_ms;
}

}  // namespace

Light CaseEngine::CaseLight(const Case& c, int64_t now_ms) {
  int64_t at = JudgedAt(c, now_ms);
  if (at == 0 || c.deadline_ms == 0) return Light::kNone;
  auto cal = impl_->Calendar(c.division);
  if (!cal.ok()) {
    // A light is a display hint: with the calendar unreadable, judge on the
    // weekend rule alone rather than fail the list it appears in.
    spdlog::warn("approval: calendar of division {} unavailable: {}", c.division,
                cal.error().message);
    return WorkCalendar().LightAt(c.deadline_ms, at);
  }
  return (*cal)->LightAt(c.deadline_ms, at);
}

Light CaseEngine::StepLight(const Case& c, int64_t now_ms) {
  if (IsFinal(c.state) || c.current_step < 0 || c.step_deadline_ms == 0) return Light::kNone;
  int64_t at = JudgedAt(c, now_ms);
  auto cal = impl_->Calendar(c.division);
  if (!cal.ok()) {
    spdlog::warn("approval: calendar of division {} unavailable: {}", c.division,
                cal.error().message);
    return WorkCalendar().LightAt(c.step_deadline_ms, at);
  }
  return (*cal)->LightAt(c.step_deadline_ms, at);
}

}  // namespace tongban::approval
