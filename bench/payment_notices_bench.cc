// The payment notice hot path without HTTP: parsing a direct-interface create
// request (XML and JSON), and creating notices on SQLite in a temp dir (the
// transaction: unit and item reads, checks, one insert). The end-to-end rate
// through the signed HTTP interface is bench/payment_direct.py (wrk).
#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "payment/direct.h"
#include "payment/notices.h"
#include "payment/units.h"

namespace tongban::payment {
namespace {

constexpr const char* kXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ROOT><REQUEST>
  <PARAM NAME="CHANNELNO">330001296</PARAM>
  <PARAM NAME="ORIGINALNOTICENO">FS0001934251</PARAM>
  <PARAM NAME="YWCODE">YW-1</PARAM>
  <PARAM NAME="PAYER">张三</PARAM>
  <PARAM NAME="PAYERSFZ">11010519491231002X</PARAM>
  <PARAM NAME="PAYERMOBILE">13900139000</PARAM>
  <PARAM NAME="ISTRUENAME">1</PARAM>
  <PARAM NAME="EXPIREDPAYDATE">20991231</PARAM>
  <PROJECT><PARAM NAME="CHITCODE">00034002</PARAM><PARAM NAME="CHCOUNT">2.5</PARAM></PROJECT>
  <PROJECT><PARAM NAME="CHITCODE">00034003</PARAM><PARAM NAME="CHMONEY">12.34</PARAM></PROJECT>
</REQUEST></ROOT>)";

constexpr const char* kJson =
    R"({"CHANNELNO":"330001296","ORIGINALNOTICENO":"FS0001934251","YWCODE":"YW-1",)"
    R"("PAYER":"张三","PAYERSFZ":"11010519491231002X","PAYERMOBILE":"13900139000",)"
    R"("ISTRUENAME":"1","EXPIREDPAYDATE":"20991231","PROJECT":[{"CHITCODE":"00034002",)"
    R"("CHCOUNT":"2.5"},{"CHITCODE":"00034003","CHMONEY":"12.34"}]})";

void BM_ParseDirectXml(benchmark::State& state) {
  for (auto _ : state) {
    auto n = NoticeFromDirect(*ParseDirectXml(kXml));
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_ParseDirectXml);

void BM_ParseDirectJson(benchmark::State& state) {
  for (auto _ : state) {
    auto n = NoticeFromDirect(*ParseDirectJson(kJson));
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_ParseDirectJson);

void BM_CreateNoticeSqlite(benchmark::State& state) {
  std::string dir = std::filesystem::temp_directory_path() / "tongban-payment-bench-XXXXXX";
  dir = mkdtemp(dir.data());
  auto sql = SqlStore::Open("sqlite://" + dir + "/b.db", 4);
  auto migrations = UnitStore::Migrations();
  for (auto& m : NoticeStore::Migrations()) migrations.push_back(m);
  if (!sql.ok() || !(*sql)->Migrate(migrations).ok()) {
    state.SkipWithError("cannot open SQLite");
    return;
  }
  SystemClock clock;
  UnitStore units(**sql, clock);
  NoticeStore notices(**sql, clock);
  CollectingUnit u;
  u.entercode = "000368";
  u.name = "浙江省林业局";
  u.regicode = "330000";
  u.channel_no = "330001296";
  u.coordinator = u.business = u.technical = {"联系人", "", "13800138000", ""};
  u.scheme = Scheme::kDirectConnect;
  auto a = units.CreateApplication(u, "bench");
  (void)units.Submit(a->id);
  for (auto stage : {ReviewStage::kFinance, ReviewStage::kEgov, ReviewStage::kProvince}) {
    (void)units.GiveOpinion(a->id, {stage, 0, true, "20260101", "同意", "b", 0});
  }
  (void)units.PutItem({"00034002", "森林植被恢复费", "平方米", 1000, "", "", {}, true, 0});
  (void)units.PutItem({"00034003", "罚没收入", "次", 0, "", "", {}, true, 0});
  PaymentNotice draft = *NoticeFromDirect(*ParseDirectXml(kXml));
  draft.entercode = "000368";  // the API sets the calling system's unit
  int64_t i = 0;
  for (auto _ : state) {
    draft.original_notice_no = "B" + std::to_string(i++);
    auto n = notices.Create(draft, NoticeSource::kDirect);
    if (!n.ok()) {
      state.SkipWithError(n.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CreateNoticeSqlite)->UseRealTime();

}  // namespace
}  // namespace tongban::payment
