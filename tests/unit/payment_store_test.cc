// The payment stores on SQLite in a temp dir, a private PostgreSQL and MariaDB (skipped
// with the reason when it cannot be started): the 联系单 workflow with every
// opinion kept, charge items, notice creation checks, every notice state
// transition, never-paid-twice, refunds and the all-or-nothing batch.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "payment/case_fees.h"
#include "payment/late_fee.h"
#include "payment/notices.h"
#include "payment/units.h"
#include "store_test_support.h"

namespace tongban::payment {
namespace {

constexpr const char* kResidentId = "11010519491231002X";
constexpr const char* kUscc = "91350100M000100Y43";

CollectingUnit SampleUnit(std::string entercode = "000368", Scheme scheme = Scheme::kBatchImport) {
  CollectingUnit u;
  u.entercode = std::move(entercode);
  u.name = "浙江省林业局";
  u.regicode = "330000";
  u.address = "杭州市西湖区";
  u.channel_no = "330001296";
  u.coordinator = {"张协调", "0571-88888888", "13800138000", "a@example.cn"};
  u.business = {"李业务", "", "13800138001", ""};
  u.technical = {"王技术", "0571-1", "", ""};
  u.charge_items = {"00034002", "00034003"};
  u.areas = {"330000"};
  u.scheme = scheme;
  return u;
}

// prefix + i (not "literal" + std::string: GCC 12 raises a false -Wrestrict on it).
std::string Numbered(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

Opinion Approve(ReviewStage stage, bool approve = true) {
  Opinion o;
  o.stage = stage;
  o.approve = approve;
  o.date = "20260105";
  o.text = approve ? "同意" : "资料不全";
  o.reviewer = "reviewer";
  return o;
}

class PaymentStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (url.empty()) GTEST_SKIP() << why;
    auto opened = SqlStore::Open(url, 2);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sql_ = std::move(opened).value();
    auto migrations = UnitStore::Migrations();
    for (auto& m : NoticeStore::Migrations()) migrations.push_back(m);
    Status migrated = sql_->Migrate(migrations);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    // 2026-01-10 10:00 China time.
    clock_.Set(
        Clock::time_point(std::chrono::milliseconds(*ParseChinaDateTime("20260110", "100000"))));
    units_ = std::make_unique<UnitStore>(*sql_, clock_);
    notices_ = std::make_unique<NoticeStore>(*sql_, clock_);
  }

  // An active unit with two items: a fixed 10.00 per 平方米 with 0.5‰ late fee,
  // and one priced per notice.
  void Onboard() {
    auto a = units_->CreateApplication(SampleUnit(), "clerk1");
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(units_->Submit(a->id).ok());
    ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance)).ok());
    ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov)).ok());
    ChargeItem fixed;
    fixed.chitcode = "00034002";
    fixed.name = "森林植被恢复费";
    fixed.metric_unit = "平方米";
    fixed.standard_fen = 1000;
    fixed.late_fee = {true, "", 500, 0};
    ASSERT_TRUE(units_->PutItem(fixed).ok());
    ChargeItem open;
    open.chitcode = "00034003";
    open.name = "罚没收入";
    open.metric_unit = "次";
    ASSERT_TRUE(units_->PutItem(open).ok());
  }

  PaymentNotice Draft(std::string original = "FS0001934251") {
    PaymentNotice n;
    n.entercode = "000368";
    n.original_notice_no = std::move(original);
    n.ywcode = "YW-1";
    n.payer.name = "张三";
    n.payer.id_number = kResidentId;
    n.payer.mobile = "13900139000";
    n.true_name = true;
    n.expires_at_ms = *ParseChinaDateTime("20260120", "235959");
    NoticeLine a;
    a.chitcode = "00034002";
    a.count_milli = 2500;  // 2.5 平方米 × 10.00 = 25.00
    NoticeLine b;
    b.chitcode = "00034003";
    b.amount_fen = 1234;
    n.lines = {a, b};
    return n;
  }

  PaymentNotice Created(std::string original = "FS0001934251") {
    auto n = notices_->Create(Draft(std::move(original)), NoticeSource::kConsole);
    EXPECT_TRUE(n.ok()) << n.error().message;
    return n.ok() ? *n : PaymentNotice{};
  }

  Payment Pay(const PaymentNotice& n, std::string trade, int64_t amount, int64_t at_ms = 0) {
    Payment p;
    p.notice_no = n.notice_no;
    p.channel = "paysim";
    p.trade_no = std::move(trade);
    p.way_code = "01";
    p.way_name = "支付宝";
    p.amount_fen = amount;
    p.paid_at_ms = at_ms != 0 ? at_ms : clock_.NowMillis();
    return p;
  }

  store_test::TempDir dir_;
  std::unique_ptr<SqlStore> sql_;
  FakeClock clock_;
  std::unique_ptr<UnitStore> units_;
  std::unique_ptr<NoticeStore> notices_;
};

INSTANTIATE_TEST_SUITE_P(Backends, PaymentStoreTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

// ---- 联系单 ----

TEST_P(PaymentStoreTest, AnApplicationPassesFinanceThenEgovAndActivatesTheUnit) {
  auto a = units_->CreateApplication(SampleUnit(), "clerk1");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->state, ApplicationState::kDraft);
  EXPECT_EQ(units_->GetUnit("000368").error().code, errc::kNotFound);
  // Opinions before submission are refused.
  EXPECT_EQ(units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance)).error().code,
            errc::kConflict);
  auto s = units_->Submit(a->id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state, ApplicationState::kAwaitingFinance);
  EXPECT_EQ(s->round, 1);
  // The 电子政务办 cannot go first.
  EXPECT_EQ(units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov)).error().code, errc::kConflict);
  auto f = units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->state, ApplicationState::kAwaitingEgov);
  auto e = units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, ApplicationState::kApproved);
  ASSERT_EQ(e->opinions.size(), 2u);
  EXPECT_EQ(e->opinions[0].stage, ReviewStage::kFinance);
  EXPECT_EQ(e->opinions[1].text, "同意");
  auto unit = units_->GetUnit("000368");
  ASSERT_TRUE(unit.ok());
  EXPECT_EQ(unit->state, UnitState::kActive);
  EXPECT_EQ(unit->coordinator.name, "张协调");
  EXPECT_EQ(unit->scheme, Scheme::kBatchImport);
}

TEST_P(PaymentStoreTest, DirectConnectionAlsoNeedsTheProvincialReview) {
  auto a = units_->CreateApplication(SampleUnit("000369", Scheme::kDirectConnect), "clerk1");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(units_->Submit(a->id).ok());
  ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance)).ok());
  auto e = units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, ApplicationState::kAwaitingProvince);
  EXPECT_EQ(units_->GetUnit("000369").error().code, errc::kNotFound);
  auto p = units_->GiveOpinion(a->id, Approve(ReviewStage::kProvince));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, ApplicationState::kApproved);
  EXPECT_TRUE(units_->GetUnit("000369").ok());
}

TEST_P(PaymentStoreTest, ARefusedApplicationIsAmendedAndResubmittedKeepingEveryOpinion) {
  auto a = units_->CreateApplication(SampleUnit(), "clerk1");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(units_->Submit(a->id).ok());
  ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance)).ok());
  auto refused = units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov, false));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->state, ApplicationState::kRefused);
  // No second application while this one is open.
  EXPECT_EQ(units_->CreateApplication(SampleUnit(), "clerk1").error().code, errc::kAlreadyExists);
  CollectingUnit amended = SampleUnit();
  amended.address = "杭州市上城区";
  auto changed = units_->AmendApplication(a->id, amended);
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(changed->state, ApplicationState::kDraft);
  CollectingUnit renamed = amended;
  renamed.entercode = "999";
  EXPECT_EQ(units_->AmendApplication(a->id, renamed).error().code, errc::kInvalidArgument);
  auto again = units_->Submit(a->id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->round, 2);
  EXPECT_EQ(units_->AmendApplication(a->id, amended).error().code, errc::kConflict);
  ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance)).ok());
  auto done = units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov));
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->opinions.size(), 4u);
  EXPECT_FALSE(done->opinions[1].approve);
  EXPECT_EQ(done->opinions[1].round, 1);
  EXPECT_EQ(done->opinions[3].round, 2);
  EXPECT_EQ(units_->GetUnit("000368")->address, "杭州市上城区");
}

TEST_P(PaymentStoreTest, BadUnitDataIsRefusedWithTheField) {
  CollectingUnit u = SampleUnit();
  u.regicode = "999999";
  EXPECT_EQ(units_->CreateApplication(u, "x").error().code, errc::kInvalidArgument);
  u = SampleUnit();
  u.business.mobile = "123";
  auto bad = units_->CreateApplication(u, "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("业务联系人"), std::string::npos);
  u = SampleUnit();
  u.scheme = static_cast<Scheme>(8);
  EXPECT_FALSE(units_->CreateApplication(u, "x").ok());
}

TEST_P(PaymentStoreTest, UnitsAreSuspendedAndLinkedToAnApp) {
  Onboard();
  ASSERT_TRUE(units_->SetUnitLinks("000368", "forestry", "http://127.0.0.1:9/notify").ok());
  auto byapp = units_->UnitByApp("forestry");
  ASSERT_TRUE(byapp.ok());
  EXPECT_EQ(byapp->entercode, "000368");
  EXPECT_EQ(units_->UnitByApp("other").error().code, errc::kPermissionDenied);
  ASSERT_TRUE(units_->SetUnitState("000368", UnitState::kSuspended).ok());
  auto n = notices_->Create(Draft(), NoticeSource::kConsole);
  EXPECT_EQ(n.error().code, errc::kPermissionDenied);
  EXPECT_EQ(units_->SetUnitState("nope", UnitState::kActive).error().code, errc::kNotFound);
}

// Session 14 (review14): NOTICENO = CHANNELNO + ORIGINALNOTICENO with no
// separator, so a unit whose channel number was a prefix of another's could
// create the other's notice numbers.
TEST_P(PaymentStoreTest, AChannelNumberMayNotBeAPrefixOfAnotherUnits) {
  // Filed before the first unit exists: refused when it is approved.
  CollectingUnit early = SampleUnit("000777");
  early.channel_no = "3300012967";
  auto filed = units_->CreateApplication(early, "clerk2");
  ASSERT_TRUE(filed.ok()) << filed.error().message;
  Onboard();  // 000368, channel 330001296
  ASSERT_TRUE(units_->Submit(filed->id).ok());
  ASSERT_TRUE(units_->GiveOpinion(filed->id, Approve(ReviewStage::kFinance)).ok());
  auto approved = units_->GiveOpinion(filed->id, Approve(ReviewStage::kEgov));
  ASSERT_FALSE(approved.ok());
  EXPECT_EQ(approved.error().code, errc::kConflict);
  EXPECT_NE(approved.error().message.find("000368"), std::string::npos) << approved.error().message;
  EXPECT_EQ(units_->GetUnit("000777").error().code, errc::kNotFound);

  // Filed after: refused at once, longer or shorter.
  for (const char* channel : {"33000129", "3300012961", "3"}) {
    CollectingUnit u = SampleUnit("000778");
    u.channel_no = channel;
    auto a = units_->CreateApplication(u, "clerk3");
    ASSERT_FALSE(a.ok()) << channel;
    EXPECT_EQ(a.error().code, errc::kConflict) << channel;
  }
  CollectingUnit fine = SampleUnit("000779");
  fine.channel_no = "330001297";
  EXPECT_TRUE(units_->CreateApplication(fine, "clerk3").ok());
  // An amendment of the unit itself keeps its own number.
  CollectingUnit again = SampleUnit();
  auto amend = units_->CreateApplication(again, "clerk1");
  ASSERT_TRUE(amend.ok()) << amend.error().message;
}

// review14: a clerk's application named another unit's app and its own
// notification address, which the approval wrote into the new unit.
TEST_P(PaymentStoreTest, AnApplicationNeverSetsTheUnitsAppOrNotificationAddress) {
  CollectingUnit u = SampleUnit();
  u.app_code = "someone-elses-app";
  u.notify_url = "http://10.0.0.9/notify";
  auto a = units_->CreateApplication(u, "clerk1");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(units_->Submit(a->id).ok());
  ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance)).ok());
  ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov)).ok());
  auto unit = units_->GetUnit("000368");
  ASSERT_TRUE(unit.ok());
  EXPECT_EQ(unit->app_code, "");
  EXPECT_EQ(unit->notify_url, "");
  EXPECT_EQ(units_->UnitByApp("someone-elses-app").error().code, errc::kPermissionDenied);
}

TEST_P(PaymentStoreTest, AnAppSpeaksForOneUnitOnly) {
  Onboard();
  CollectingUnit other = SampleUnit("000777");
  other.channel_no = "330001297";
  auto a = units_->CreateApplication(other, "clerk2");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(units_->Submit(a->id).ok());
  ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kFinance)).ok());
  ASSERT_TRUE(units_->GiveOpinion(a->id, Approve(ReviewStage::kEgov)).ok());
  ASSERT_TRUE(units_->SetUnitLinks("000368", "forestry", "").ok());
  auto taken = units_->SetUnitLinks("000777", "forestry", "");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, errc::kConflict);
  // The holder may set its own links again; another app is fine.
  EXPECT_TRUE(units_->SetUnitLinks("000368", "forestry", "http://10.0.0.8/n").ok());
  EXPECT_TRUE(units_->SetUnitLinks("000777", "water", "").ok());
  EXPECT_EQ(units_->UnitByApp("forestry")->entercode, "000368");
}

// ---- Notices ----

TEST_P(PaymentStoreTest, ANoticeIsCompletedFromItsUnitAndItems) {
  Onboard();
  PaymentNotice n = Created();
  EXPECT_EQ(n.notice_no, "330001296FS0001934251");
  EXPECT_EQ(n.channel_no, "330001296");
  EXPECT_EQ(n.regicode, "330000");
  EXPECT_EQ(n.entername, "浙江省林业局");
  EXPECT_EQ(n.lines[0].amount_fen, 2500);
  EXPECT_EQ(n.lines[0].chitname, "森林植被恢复费");
  EXPECT_TRUE(n.lines[0].late_fee.enabled);
  EXPECT_EQ(n.total_fen, 2500 + 1234);
  EXPECT_EQ(n.payer.id_kind, PayerIdKind::kResident);
  auto back = notices_->Get(n.notice_no);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->total_fen, n.total_fen);
  EXPECT_EQ(back->lines.size(), 2u);
  EXPECT_EQ(back->lines[0].count_milli, 2500);
  EXPECT_EQ(back->state, NoticeState::kUnpaid);
  EXPECT_EQ(back->ywcode, "YW-1");
  EXPECT_EQ(notices_->Create(Draft(), NoticeSource::kConsole).error().code, errc::kAlreadyExists);
}

// review15d: a payer entry's confirmation stores its notice and closes the
// entry in one transaction: the entry's write failing (another clerk refused
// it meanwhile) takes the notice back; succeeding, both are there.
TEST_P(PaymentStoreTest, ANoticeAndItsCompanionWriteCommitTogether) {
  Onboard();
  auto refused = notices_->Create(Draft(), NoticeSource::kPayer,
                                  [](soci::session&, const PaymentNotice&) -> Status {
                                    return Error::Conflict("这条自助录入已处理过");
                                  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::kConflict);
  EXPECT_EQ(notices_->Get("330001296FS0001934251").error().code, errc::kNotFound);
  std::string seen;
  auto made = notices_->Create(Draft(), NoticeSource::kPayer,
                               [&](soci::session& sql, const PaymentNotice& n) -> Status {
                                 int rows = 0;
                                 sql << "SELECT COUNT(*) FROM payment_notices WHERE notice_no = :n",
                                     soci::use(n.notice_no), soci::into(rows);
                                 seen = n.notice_no + " " + std::to_string(rows);
                                 return Status::Ok();
                               });
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(seen, "330001296FS0001934251 1");  // stored before the companion runs
  EXPECT_TRUE(notices_->Get("330001296FS0001934251").ok());
}

TEST_P(PaymentStoreTest, NoticeChecksNameTheFieldAtFault) {
  Onboard();
  struct Case {
    const char* want;
    std::function<void(PaymentNotice&)> spoil;
  };
  std::vector<Case> cases = {
      {"身份证", [](PaymentNotice& n) { n.payer.id_number = "110105194912310021"; }},
      {"统一社会信用代码",
       [](PaymentNotice& n) {
         n.payer.id_kind = PayerIdKind::kUscc;
         n.payer.id_number = "91350100M000100Y44";
       }},
      {"实名", [](PaymentNotice& n) { n.payer.id_number.clear(); }},
      {"手机", [](PaymentNotice& n) { n.payer.mobile = "1234"; }},
      // assign, not = "1": GCC 12 raises a false -Wrestrict on the short literal.
      {"CHANNELNO", [](PaymentNotice& n) { n.channel_no.assign(1, '1'); }},
      {"ORIGINALNOTICENO", [](PaymentNotice& n) { n.original_notice_no = "a b"; }},
      {"没有这个收费项目", [](PaymentNotice& n) { n.lines[0].chitcode = "nope"; }},
      {"金额应为", [](PaymentNotice& n) { n.lines[0].amount_fen = 1; }},
      {"金额应大于 0", [](PaymentNotice& n) { n.lines[1].amount_fen = 0; }},
      {"TOTALMONEY", [](PaymentNotice& n) { n.total_fen = 1; }},
      {"缴款期限", [](PaymentNotice& n) { n.expires_at_ms = 1; }},
      {"1 到 50", [](PaymentNotice& n) { n.lines.clear(); }},
  };
  for (const Case& c : cases) {
    PaymentNotice d = Draft();
    c.spoil(d);
    auto r = notices_->Create(d, NoticeSource::kConsole);
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_NE(r.error().message.find(c.want), std::string::npos)
        << c.want << " vs " << r.error().message;
  }
  PaymentNotice company = Draft("C1");
  company.payer.id_number = kUscc;
  auto ok = notices_->Create(company, NoticeSource::kConsole);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->payer.id_kind, PayerIdKind::kUscc);
}

TEST_P(PaymentStoreTest, APaymentOfTheExactAmountPaysTheNotice) {
  Onboard();
  PaymentNotice n = Created();
  auto out = notices_->RecordPayment(Pay(n, "T1", n.total_fen));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->repeated);
  EXPECT_EQ(out->payment.disposition, PaymentDisposition::kCredited);
  EXPECT_EQ(out->payment.pay_no, "paysim-T1");
  EXPECT_EQ(out->notice.state, NoticeState::kPaid);
  auto back = notices_->Get(n.notice_no);
  EXPECT_EQ(back->state, NoticeState::kPaid);
  EXPECT_EQ(back->paid_fen, n.total_fen);
  EXPECT_EQ(back->pay_no, "paysim-T1");
}

TEST_P(PaymentStoreTest, TheSameNotificationTwiceIsOnePayment) {
  Onboard();
  PaymentNotice n = Created();
  ASSERT_TRUE(notices_->RecordPayment(Pay(n, "T1", n.total_fen)).ok());
  auto again = notices_->RecordPayment(Pay(n, "T1", n.total_fen));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->repeated);
  EXPECT_EQ(again->payment.disposition, PaymentDisposition::kCredited);
  EXPECT_EQ(notices_->PaymentsOf(n.notice_no)->size(), 1u);
}

TEST_P(PaymentStoreTest, ASecondPaymentIsRecordedForRefundAndNeverCredited) {
  Onboard();
  PaymentNotice n = Created();
  int hook_calls = 0;
  notices_->SetPaymentHook([&](soci::session&, const PaymentNotice&, const Payment&) {
    ++hook_calls;
    return Status::Ok();
  });
  ASSERT_TRUE(notices_->RecordPayment(Pay(n, "T1", n.total_fen)).ok());
  auto second = notices_->RecordPayment(Pay(n, "T2", n.total_fen));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->payment.disposition, PaymentDisposition::kRefundDue);
  EXPECT_NE(second->payment.note.find("重复缴费"), std::string::npos);
  auto back = notices_->Get(n.notice_no);
  EXPECT_EQ(back->paid_fen, n.total_fen);
  EXPECT_EQ(back->pay_no, "paysim-T1");
  EXPECT_EQ(notices_->PaymentsOf(n.notice_no)->size(), 2u);
  auto due = notices_->RefundsDue(10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].trade_no, "T2");
  EXPECT_EQ(hook_calls, 2);
}

TEST_P(PaymentStoreTest, AFailingHookRollsThePaymentBack) {
  Onboard();
  PaymentNotice n = Created();
  notices_->SetPaymentHook([](soci::session&, const PaymentNotice&, const Payment&) -> Status {
    return Error::Unavailable("outbox down");
  });
  EXPECT_FALSE(notices_->RecordPayment(Pay(n, "T1", n.total_fen)).ok());
  EXPECT_EQ(notices_->Get(n.notice_no)->state, NoticeState::kUnpaid);
  EXPECT_TRUE(notices_->PaymentsOf(n.notice_no)->empty());
}

TEST_P(PaymentStoreTest, ConcurrentPaymentsCreditExactlyOne) {
  Onboard();
  PaymentNotice n = Created();
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (!notices_->RecordPayment(Pay(n, Numbered("C", i), n.total_fen)).ok()) ++errors;
    });
  }
  for (auto& t : threads) t.join();
  auto payments = notices_->PaymentsOf(n.notice_no);
  ASSERT_TRUE(payments.ok());
  int credited = 0;
  for (const Payment& p : *payments) credited += p.disposition == PaymentDisposition::kCredited;
  EXPECT_EQ(credited, 1);
  EXPECT_EQ(payments->size() + static_cast<size_t>(errors.load()), 8u);
}

TEST_P(PaymentStoreTest, AWrongAmountIsNotCredited) {
  Onboard();
  PaymentNotice n = Created();
  auto out = notices_->RecordPayment(Pay(n, "T1", n.total_fen - 1));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->payment.disposition, PaymentDisposition::kRefundDue);
  EXPECT_NE(out->payment.note.find("金额不符"), std::string::npos);
  EXPECT_EQ(out->notice.state, NoticeState::kUnpaid);
  // The right amount afterwards still pays it.
  EXPECT_EQ(notices_->RecordPayment(Pay(n, "T2", n.total_fen))->payment.disposition,
            PaymentDisposition::kCredited);
}

TEST_P(PaymentStoreTest, APaymentForAnUnknownNoticeIsNotFound) {
  Payment p;
  p.notice_no = "nope";
  p.channel = "paysim";
  p.trade_no = "T";
  p.amount_fen = 1;
  EXPECT_EQ(notices_->RecordPayment(p).error().code, errc::kNotFound);
}

TEST_P(PaymentStoreTest, CancelledNoticesAreNotPaidAndOnlyUnpaidOnesCancel) {
  Onboard();
  PaymentNotice n = Created();
  EXPECT_EQ(notices_->Cancel(n.notice_no, "录入错误", "other").error().code, errc::kNotFound);
  EXPECT_EQ(notices_->Cancel(n.notice_no, "", "").error().code, errc::kInvalidArgument);
  auto c = notices_->Cancel(n.notice_no, "录入错误", "000368");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->state, NoticeState::kCancelled);
  EXPECT_EQ(notices_->Get(n.notice_no)->cancel_reason, "录入错误");
  EXPECT_EQ(notices_->Cancel(n.notice_no, "again", "").error().code, errc::kConflict);
  auto late = notices_->RecordPayment(Pay(n, "T1", n.total_fen));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->payment.disposition, PaymentDisposition::kRefundDue);
  EXPECT_EQ(notices_->Get(n.notice_no)->state, NoticeState::kCancelled);
  PaymentNotice paid = Created("P2");
  ASSERT_TRUE(notices_->RecordPayment(Pay(paid, "T9", paid.total_fen)).ok());
  EXPECT_EQ(notices_->Cancel(paid.notice_no, "x", "").error().code, errc::kConflict);
}

TEST_P(PaymentStoreTest, ExpiryPassesUnpaidNoticesExceptThoseCountingLateFees) {
  Onboard();
  PaymentNotice plain = Created("E1");
  PaymentNotice d = Draft("E2");
  d.count_overdue = true;
  PaymentNotice overdue = *notices_->Create(d, NoticeSource::kConsole);
  EXPECT_EQ(*notices_->ExpireDue(), 0);
  clock_.Set(
      Clock::time_point(std::chrono::milliseconds(*ParseChinaDateTime("20260122", "090000"))));
  EXPECT_EQ(*notices_->ExpireDue(), 1);
  EXPECT_EQ(notices_->Get(plain.notice_no)->state, NoticeState::kExpired);
  EXPECT_EQ(notices_->Get(overdue.notice_no)->state, NoticeState::kUnpaid);
  EXPECT_EQ(notices_->Cancel(plain.notice_no, "x", "").error().code, errc::kConflict);
  // A payment made after expiry is not credited.
  auto late = notices_->RecordPayment(Pay(plain, "L1", plain.total_fen));
  EXPECT_EQ(late->payment.disposition, PaymentDisposition::kRefundDue);
  // The overdue one is paid with its late fee: 2 days × 0.5‰ × 25.00 = 0.025 → 0.03.
  int64_t now = clock_.NowMillis();
  EXPECT_EQ(AmountDueFen(overdue, now), overdue.total_fen + 3);
  auto without_fee = notices_->RecordPayment(Pay(overdue, "O1", overdue.total_fen));
  EXPECT_EQ(without_fee->payment.disposition, PaymentDisposition::kRefundDue);
  auto with_fee = notices_->RecordPayment(Pay(overdue, "O2", overdue.total_fen + 3));
  ASSERT_TRUE(with_fee.ok());
  EXPECT_EQ(with_fee->payment.disposition, PaymentDisposition::kCredited);
  EXPECT_EQ(with_fee->notice.late_fee_fen, 3);
}

TEST_P(PaymentStoreTest, APaymentMadeBeforeExpiryButReportedAfterTheSweepIsCredited) {
  Onboard();
  PaymentNotice n = Created();
  int64_t paid_in_time = n.expires_at_ms - 1000;
  clock_.Set(Clock::time_point(std::chrono::milliseconds(n.expires_at_ms + 60'000)));
  EXPECT_EQ(*notices_->ExpireDue(), 1);
  auto out = notices_->RecordPayment(Pay(n, "T1", n.total_fen, paid_in_time));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->payment.disposition, PaymentDisposition::kCredited);
  EXPECT_EQ(out->notice.state, NoticeState::kPaid);
}

TEST_P(PaymentStoreTest, RefundsMovePaidToPartlyRefundedToRefunded) {
  Onboard();
  PaymentNotice n = Created();
  ASSERT_TRUE(notices_->RecordPayment(Pay(n, "T1", n.total_fen)).ok());
  auto part = notices_->RecordRefund("paysim-T1", 1000, "多收", "finance1");
  ASSERT_TRUE(part.ok()) << part.error().message;
  EXPECT_EQ(part->state, NoticeState::kPartlyRefunded);
  EXPECT_EQ(notices_->RecordRefund("paysim-T1", n.total_fen, "x", "f").error().code,
            errc::kInvalidArgument);
  auto rest = notices_->RecordRefund("paysim-T1", n.total_fen - 1000, "退清", "finance1");
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->state, NoticeState::kRefunded);
  EXPECT_EQ(rest->refunded_fen, n.total_fen);
  EXPECT_FALSE(notices_->RecordRefund("paysim-T1", 1, "x", "f").ok());
  EXPECT_EQ(notices_->RecordRefund("nope", 1, "x", "f").error().code, errc::kNotFound);
  // A refunded notice is never paid again either.
  EXPECT_EQ(notices_->RecordPayment(Pay(n, "T3", n.total_fen))->payment.disposition,
            PaymentDisposition::kRefundDue);
}

// Session 12 (review12): a refund's own number makes a repeat harmless.
TEST_P(PaymentStoreTest, ARefundNumberSentAgainRefundsNothingMore) {
  Onboard();
  PaymentNotice n = Created();
  ASSERT_TRUE(notices_->RecordPayment(Pay(n, "T1", n.total_fen)).ok());
  for (int i = 0; i < 3; ++i) {  // a double click and a retry
    auto r = notices_->RecordRefund("paysim-T1", 1000, "多收", "finance1", "RF-1");
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
    EXPECT_EQ(r->refunded_fen, 1000) << i;
  }
  auto other_amount = notices_->RecordRefund("paysim-T1", 500, "多收", "finance1", "RF-1");
  ASSERT_FALSE(other_amount.ok());
  EXPECT_EQ(other_amount.error().code, errc::kConflict);
  EXPECT_NE(other_amount.error().message.find("已用于另一笔退款"), std::string::npos);
  EXPECT_EQ(notices_->RecordRefund("paysim-T1", 1, "x", "f", "bad_no").error().code,
            errc::kInvalidArgument);
  auto rest = notices_->RecordRefund("paysim-T1", n.total_fen - 1000, "退清", "f", "RF-2");
  ASSERT_TRUE(rest.ok()) << rest.error().message;
  EXPECT_EQ(rest->state, NoticeState::kRefunded);
  // A refused refund under a new number keeps its own reason.
  auto more = notices_->RecordRefund("paysim-T1", 1, "x", "f", "RF-3");
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().message.find("退款单号"), std::string::npos) << more.error().message;
}

TEST_P(PaymentStoreTest, ARefundDuePaymentIsReturnedWholeAndLeavesTheNoticeAlone) {
  Onboard();
  PaymentNotice n = Created();
  ASSERT_TRUE(notices_->RecordPayment(Pay(n, "T1", n.total_fen)).ok());
  ASSERT_TRUE(notices_->RecordPayment(Pay(n, "T2", 500)).ok());
  EXPECT_EQ(notices_->RecordRefund("paysim-T2", 100, "x", "f").error().code,
            errc::kInvalidArgument);
  auto r = notices_->RecordRefund("paysim-T2", 500, "重复缴费退回", "finance1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, NoticeState::kPaid);
  EXPECT_EQ(notices_->GetPayment("paysim-T2")->disposition, PaymentDisposition::kRefunded);
  EXPECT_TRUE(notices_->RefundsDue(10)->empty());
  EXPECT_EQ(notices_->RecordRefund("paysim-T2", 500, "x", "f").error().code, errc::kConflict);
}

TEST_P(PaymentStoreTest, ABatchWithOneBadRowImportsNothingAndNamesEveryBadLine) {
  Onboard();
  std::vector<BatchRow> rows;
  for (int i = 0; i < 5; ++i) rows.push_back({i + 2, Draft(Numbered("B", i))});
  rows[2].draft.payer.mobile = "bad";
  rows[4].draft.original_notice_no = "B0";  // the same number as line 2
  std::vector<RowError> errors;
  auto out = notices_->CreateBatch(rows, NoticeSource::kImport, &errors);
  ASSERT_FALSE(out.ok());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 4);
  EXPECT_NE(errors[0].message.find("手机"), std::string::npos);
  EXPECT_EQ(errors[1].line, 6);
  EXPECT_NE(errors[1].message.find("第 2 行重复"), std::string::npos);
  NoticeQuery all;
  all.entercode = "000368";
  EXPECT_TRUE(notices_->Search(all)->empty());
  rows[2].draft.payer.mobile = "13900139000";
  rows[4].draft.original_notice_no = "B4";
  auto good = notices_->CreateBatch(rows, NoticeSource::kImport, &errors);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->size(), 5u);
  EXPECT_EQ(notices_->Search(all)->size(), 5u);
  // The same batch again: every row already exists, nothing changes.
  EXPECT_FALSE(notices_->CreateBatch(rows, NoticeSource::kImport, &errors).ok());
  EXPECT_EQ(errors.size(), 5u);
}

TEST_P(PaymentStoreTest, SearchFiltersByPayerUnitStateAndBusinessCode) {
  Onboard();
  PaymentNotice a = Created("S1");
  PaymentNotice d = Draft("S2");
  d.payer.id_number = kUscc;
  d.payer.mobile = "13700137000";
  d.ywcode = "CASE-9";
  PaymentNotice b = *notices_->Create(d, NoticeSource::kApproval);
  NoticeQuery q;
  q.payer_id = kResidentId;
  EXPECT_EQ(notices_->Search(q)->size(), 1u);
  q = {};
  q.payer_mobile = "13700137000";
  EXPECT_EQ(notices_->Search(q)->front().notice_no, b.notice_no);
  q = {};
  q.ywcode = "CASE-9";
  EXPECT_EQ(notices_->Search(q)->front().source, NoticeSource::kApproval);
  ASSERT_TRUE(notices_->Cancel(a.notice_no, "x", "").ok());
  q = {};
  q.state = NoticeState::kCancelled;
  EXPECT_EQ(notices_->Search(q)->size(), 1u);
  q = {};
  q.entercode = "other";
  EXPECT_TRUE(notices_->Search(q)->empty());
  q = {};
  q.limit = 0;
  EXPECT_FALSE(notices_->Search(q).ok());
}

// ---- The approval seam ----

TEST_P(PaymentStoreTest, ACaseRaisesOneNoticePerSequenceAndReadsThemBack) {
  Onboard();
  CaseFee fee;
  fee.case_number = "113301000024991243300011700900012026010100001";
  fee.matter_name = "建设工程规划许可证核发";
  fee.entercode = "000368";
  fee.payer.name = "张三";
  fee.payer.id_number = kResidentId;
  fee.number_key = "node secret";
  NoticeLine l;
  l.chitcode = "00034002";
  l.count_milli = 3000;
  fee.lines = {l};
  auto n = RaiseCaseNotice(*notices_, fee);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->ywcode, fee.case_number);
  EXPECT_EQ(n->source, NoticeSource::kApproval);
  EXPECT_EQ(n->total_fen, 3000);
  EXPECT_TRUE(n->true_name);
  EXPECT_EQ(n->extra[0].content, fee.case_number);
  EXPECT_EQ(n->original_notice_no, CaseOriginalNoticeNo(fee.number_key, fee.case_number, 1));
  // review16d: keyed, so the case number alone (predictable) does not give it.
  EXPECT_NE(n->original_notice_no, CaseOriginalNoticeNo("another key", fee.case_number, 1));
  EXPECT_EQ(n->original_notice_no.substr(2, 20),
            crypto::HexEncode(crypto::HmacSha256("node secret", fee.case_number)).substr(0, 20));
  EXPECT_EQ(RaiseCaseNotice(*notices_, fee).error().code, errc::kAlreadyExists);
  fee.sequence = 2;
  ASSERT_TRUE(RaiseCaseNotice(*notices_, fee).ok());
  // A unit's own notice with the same YWCODE is not the case's.
  PaymentNotice own = Draft("OWN1");
  own.ywcode = fee.case_number;
  ASSERT_TRUE(notices_->Create(own, NoticeSource::kDirect).ok());
  auto listed = CaseNotices(*notices_, fee.case_number);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  fee.sequence = 100;
  EXPECT_EQ(RaiseCaseNotice(*notices_, fee).error().code, errc::kInvalidArgument);
  // review14: a number some other notice already holds is not "raised before".
  fee.sequence = 3;
  PaymentNotice squat = Draft(CaseOriginalNoticeNo(fee.number_key, fee.case_number, 3));
  ASSERT_TRUE(notices_->Create(squat, NoticeSource::kConsole).ok());
  auto held = RaiseCaseNotice(*notices_, fee);
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().code, errc::kConflict);
}

}  // namespace
}  // namespace tongban::payment
