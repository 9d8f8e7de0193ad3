// Shared fixture of the channel, notification and reconciliation tests: an
// active unit with a 37.34 notice on SQLite or a private PostgreSQL, the notice
// and unit stores, the payment outbox, and LocalChannel: a Channel kept in this
// process that signs and verifies with the sandbox protocol's real code.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/url.h"
#include "payment/channel.h"
#include "payment/channel_sandbox.h"
#include "payment/notices.h"
#include "payment/notify.h"
#include "payment/notify_unit.h"
#include "payment/units.h"
#include "store/outbox.h"
#include "store_test_support.h"

namespace tongban::payment {

inline constexpr const char* kChannelKey = "channel-shared-key";

class LocalChannel final : public Channel {
 public:
  std::string_view code() const override { return "sandbox"; }
  std::string_view display_name() const override { return "沙箱通道"; }
  Result<PayInstruction> CreateOrder(const ChannelOrder& order) override {
    std::lock_guard lock(mu_);
    ChannelPayment p;
    p.order_no = order.order_no;
    p.amount_fen = order.amount_fen;
    orders_[order.order_no] = p;
    return PayInstruction{"http://channel.test/pay?order_no=" + order.order_no, "qr"};
  }
  Result<ChannelPayment> VerifyNotification(const RawNotification& raw) const override {
    return ReadSandboxPaymentForm(raw.body, kChannelKey);
  }
  NotificationAck Acknowledge(bool accepted) const override {
    return {accepted ? 200 : 400, "text/plain", accepted ? "success" : "fail"};
  }
  Result<ChannelPayment> Query(std::string_view order_no) override {
    std::lock_guard lock(mu_);
    auto it = orders_.find(std::string(order_no));
    if (it == orders_.end()) return Error::NotFound("unknown");
    return it->second;
  }
  Status DownloadStatement(std::string_view, const std::string& path) override {
    std::string text;
    {
      std::lock_guard lock(mu_);
      if (statement_.empty()) return Error::NotFound("none");
      text = statement_;
      downloaded_to_.push_back(path);
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Error::Unavailable("cannot write");
    return Status::Ok();
  }
  // What DownloadStatement writes (empty: no statement), and where it wrote.
  void SetStatement(std::string text) {
    std::lock_guard lock(mu_);
    statement_ = std::move(text);
  }
  std::vector<std::string> downloaded_to() {
    std::lock_guard lock(mu_);
    return downloaded_to_;
  }

  // The payer pays: the channel's record becomes paid; returns the signed
  // notification body it would post.
  std::string Pay(const std::string& order_no, const std::string& serial, int64_t paid_at_ms,
                  int64_t amount_override = 0) {
    std::lock_guard lock(mu_);
    ChannelPayment& p = orders_.at(order_no);
    p.status = ChannelPaymentStatus::kPaid;
    p.channel_serial = serial;
    p.paid_at_ms = paid_at_ms;
    if (amount_override != 0) p.amount_fen = amount_override;
    return http::EncodeForm(SandboxPaymentForm(p, kChannelKey));
  }

 private:
  std::mutex mu_;
  std::map<std::string, ChannelPayment> orders_;
  std::string statement_;
  std::vector<std::string> downloaded_to_;
};

class ChannelFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (url.empty()) GTEST_SKIP() << why;
    auto opened = SqlStore::Open(url, 4);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sql_ = std::move(opened).value();
    auto migrations = UnitStore::Migrations();
    for (auto& m : NoticeStore::Migrations()) migrations.push_back(m);
    for (auto& m : ChannelPayments::Migrations()) migrations.push_back(m);
    Status migrated = sql_->Migrate(migrations);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    clock_.Set(Clock::time_point(
        std::chrono::milliseconds(*ParseChinaDateTime("20260110", "100000"))));
    units_ = std::make_unique<UnitStore>(*sql_, clock_);
    notices_ = std::make_unique<NoticeStore>(*sql_, clock_);
    outbox_ = std::make_unique<Outbox>(
        *sql_, OutboxOptions{.table = "payment_outbox",
                             .base_backoff = std::chrono::milliseconds(1'000),
                             .per_destination = UnitNotifierOptions{}.batch});
    notices_->SetPaymentHook(
        [this](soci::session& tx, const PaymentNotice& n, const Payment& p) {
          return EnqueueUnitNotification(*outbox_, tx, n, p, clock_.NowMillis());
        });
    ChannelPaymentsOptions options;
    options.notify_url = "http://tongban.test/payment/channel/notify";
    options.query_after = std::chrono::seconds(60);
    options.query_backoff = std::chrono::seconds(30);
    payments_ = std::make_unique<ChannelPayments>(*sql_, channel_, *notices_, clock_,
                                                  OpenSslRandom::Instance(), options);
    Onboard();
  }

  void Onboard() {
    CollectingUnit u;
    u.entercode = "000368";
    u.name = "浙江省林业局";
    u.regicode = "330000";
    u.channel_no = "330001296";
    u.coordinator = {"张协调", "0571-88888888", "13800138000", "a@example.cn"};
    u.business = {"李业务", "", "13800138001", ""};
    u.technical = {"王技术", "0571-1", "", ""};
    u.charge_items = {"00034003"};
    u.areas = {"330000"};
    u.scheme = Scheme::kDirectConnect;
    u.notify_url = "http://unit.test/notify";
    auto a = units_->CreateApplication(u, "clerk1");
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(units_->Submit(a->id).ok());
    for (ReviewStage stage : {ReviewStage::kFinance, ReviewStage::kEgov, ReviewStage::kProvince}) {
      Opinion o;
      o.stage = stage;
      o.approve = true;
      o.date = "20260105";
      o.text = "同意";
      o.reviewer = "reviewer";
      auto given = units_->GiveOpinion(a->id, o);
      ASSERT_TRUE(given.ok()) << given.error().message;
    }
    ChargeItem item;
    item.chitcode = "00034003";
    item.name = "罚没收入";
    item.metric_unit = "次";
    ASSERT_TRUE(units_->PutItem(item).ok());
  }

  PaymentNotice Notice(const std::string& original, int64_t amount_fen = 3734) {
    PaymentNotice n;
    n.entercode = "000368";
    n.original_notice_no = original;
    n.ywcode = "YW-" + original;
    n.payer.name = "张三";
    NoticeLine line;
    line.chitcode = "00034003";
    line.amount_fen = amount_fen;
    n.lines = {line};
    auto created = notices_->Create(n, NoticeSource::kConsole);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? *created : PaymentNotice{};
  }

  PaymentOrder Order(const PaymentNotice& n) {
    auto started = payments_->StartOrder(n, n.total_fen, "http://payer.test/back");
    EXPECT_TRUE(started.ok()) << started.error().message;
    return started.ok() ? started->order : PaymentOrder{};
  }

  int64_t PendingUnitNotifications() {
    auto counts = outbox_->Counts();
    EXPECT_TRUE(counts.ok());
    return counts.ok() ? counts->pending : -1;
  }

  store_test::TempDir dir_;
  std::unique_ptr<SqlStore> sql_;
  FakeClock clock_;
  LocalChannel channel_;
  std::unique_ptr<UnitStore> units_;
  std::unique_ptr<NoticeStore> notices_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<ChannelPayments> payments_;
};

}  // namespace tongban::payment
