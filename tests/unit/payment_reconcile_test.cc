// Reconciliation on SQLite and a private PostgreSQL: a statement with every
// outcome and corrupt lines, the audited 补单, refunds, and the settlement report.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

#include "codec/xlsx.h"
#include "payment/channel_statement.h"
#include "payment/ledger.h"
#include "payment/reconcile.h"
#include "payment_channel_support.h"

namespace tongban::payment {
namespace {

class ReconcileTest : public ChannelFixture {
 protected:
  void SetUp() override {
    ChannelFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(sql_->Migrate(Reconciler::Migrations()).ok());
    reconciler_ = std::make_unique<Reconciler>(*payments_);
  }

  // Places and pays an order of a new notice; `notify` false loses the notification.
  ChannelPayment PaidOrder(const std::string& original, bool notify = true) {
    PaymentOrder o = Order(Notice(original));
    std::string body = channel_.Pay(o.order_no, "T-" + original, clock_.NowMillis());
    if (notify) {
      EXPECT_EQ(payments_->HandleNotification({"", body}).body, "success");
    }
    return *channel_.Query(o.order_no);
  }

  std::string WriteStatement(const std::vector<ChannelPayment>& lines, const std::string& tail) {
    std::string text(kStatementHeader);
    text += "\n";
    for (const ChannelPayment& p : lines) AppendStatementLine(p, text);
    text += tail;
    std::string path = dir_.File("statement.csv");
    std::ofstream(path) << text;
    return path;
  }

  std::unique_ptr<Reconciler> reconciler_;
};

INSTANTIATE_TEST_SUITE_P(Backends, ReconcileTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// A database that applied the first released schema of the runs table (its
// count column was called "lines", a reserved word in MySQL) keeps its runs
// when it is migrated, and new runs get new ids.
class ReconcileUpgradeTest : public ChannelFixture {};

INSTANTIATE_TEST_SUITE_P(Backends, ReconcileUpgradeTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(ReconcileUpgradeTest, RunsOfTheFirstReleasedSchemaSurviveTheMigration) {
  constexpr const char* kReleasedV1 = R"sql(
CREATE TABLE payment_reconcile_runs (
  id {ID},
  channel {KEY} NOT NULL,
  day {KEY} NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  lines BIGINT NOT NULL,
  bad_lines BIGINT NOT NULL,
  matched BIGINT NOT NULL,
  missing_local BIGINT NOT NULL,
  missing_channel BIGINT NOT NULL,
  amount_mismatch BIGINT NOT NULL,
  status_mismatch BIGINT NOT NULL,
  bad_sample {TEXT}
){END};
CREATE INDEX payment_reconcile_runs_by_day ON payment_reconcile_runs (channel, day, id);
CREATE TABLE payment_reconcile_items (
  id {ID},
  run_id BIGINT NOT NULL,
  outcome {KEY} NOT NULL,
  order_no {KEY} NOT NULL,
  channel_serial {KEY} NOT NULL,
  local_amount BIGINT NOT NULL,
  channel_amount BIGINT NOT NULL,
  note {TEXT},
  resolved_by {KEY} NOT NULL DEFAULT '',
  resolved_at BIGINT NOT NULL DEFAULT 0,
  resolution {TEXT}
){END};
CREATE INDEX payment_reconcile_items_by_run ON payment_reconcile_items (run_id, outcome, id);
)sql";
  ASSERT_TRUE(sql_->Migrate({PortableMigration("payment_reconcile", 1, kReleasedV1)}).ok());
  Status inserted = sql_->WithTransaction([](soci::session& sql) -> Status {
    sql << "INSERT INTO payment_reconcile_runs (channel, day, started_at, finished_at, lines, "
           "bad_lines, matched, missing_local, missing_channel, amount_mismatch, "
           "status_mismatch, bad_sample) VALUES ('sandbox', '20260109', 1, 2, 42, 1, 40, 0, 1, "
           "0, 0, 'line 3: bad')";
    return Status::Ok();
  });
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;

  Status migrated = sql_->Migrate(Reconciler::Migrations());
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  Reconciler reconciler(*payments_);
  auto runs = reconciler.ListRuns(10);
  ASSERT_TRUE(runs.ok()) << runs.error().message;
  ASSERT_EQ(runs->size(), 1u);
  const ReconcileRun old_run = (*runs)[0];
  EXPECT_EQ(old_run.lines, 42);
  EXPECT_EQ(old_run.bad_lines, 1);
  EXPECT_EQ(old_run.count(ReconcileOutcome::kMatched), 40);
  EXPECT_EQ(old_run.bad_sample, "line 3: bad");

  std::string path = dir_.File("empty.csv");
  std::ofstream(path) << kStatementHeader << "\n";
  auto fresh = reconciler.ReconcileFile("20260110", path);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_GT(fresh->id, old_run.id);
  EXPECT_EQ(reconciler.ListRuns(10)->size(), 2u);
}

TEST_P(ReconcileTest, AStatementWithEveryOutcome) {
  ChannelPayment matched = PaidOrder("A");
  ChannelPayment wrong_amount = PaidOrder("B");
  ChannelPayment omitted = PaidOrder("C");
  ChannelPayment lost = PaidOrder("D", /*notify=*/false);
  ChannelPayment refunded = PaidOrder("E");
  wrong_amount.amount_fen += 1;
  refunded.status = ChannelPaymentStatus::kRefunded;
  ChannelPayment ghost{"GHOST1", "TX-GHOST", 500, clock_.NowMillis(), ChannelPaymentStatus::kPaid};
  (void)omitted;
  std::string path = WriteStatement({matched, wrong_amount, lost, refunded, ghost},
                                    "garbled line\nA,B,1,2026,paid\n");
  auto run = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->lines, 7);
  EXPECT_EQ(run->bad_lines, 2);
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kAmountMismatch), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingChannel), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingLocal), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), 2);  // D pending here, E refunded there

  auto stored = reconciler_->GetRun(run->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->counts, run->counts);
  auto items = reconciler_->Items(run->id);
  ASSERT_TRUE(items.ok()) << items.error().message;
  EXPECT_EQ(items->size(), 5u);  // every exception, no matched rows
  auto missing_channel = reconciler_->Items(run->id, ReconcileOutcome::kMissingChannel);
  ASSERT_EQ(missing_channel->size(), 1u);
  EXPECT_EQ((*missing_channel)[0].channel_serial, "T-C");
  auto amount = reconciler_->Items(run->id, ReconcileOutcome::kAmountMismatch);
  ASSERT_EQ(amount->size(), 1u);
  EXPECT_EQ((*amount)[0].local_amount_fen + 1, (*amount)[0].channel_amount_fen);
  auto ghost_items = reconciler_->Items(run->id, ReconcileOutcome::kMissingLocal);
  ASSERT_EQ(ghost_items->size(), 1u);
  EXPECT_EQ((*ghost_items)[0].order_no, "GHOST1");
}

// A line repeated on the statement: the first is matched, each repeat is a
// status_mismatch carrying the order's amount; an unknown order listed twice is
// missing_local twice. Items come back in statement order, missing_channel last.
// Reconciling the same file again gives the same run and the same items.
TEST_P(ReconcileTest, RepeatedLinesAndARerunOfTheDay) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B");
  ChannelPayment omitted = PaidOrder("C");
  (void)omitted;
  ChannelPayment ghost{"GHOST1", "TX-GHOST", 500, clock_.NowMillis(), ChannelPaymentStatus::kPaid};
  ChannelPayment b_again = b;
  b_again.amount_fen += 7;  // a repeat with another amount is still a repeat
  const std::string path = WriteStatement({b, ghost, a, b_again, ghost, b}, "");
  auto first = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->lines, 6);
  EXPECT_EQ(first->count(ReconcileOutcome::kMatched), 2);
  EXPECT_EQ(first->count(ReconcileOutcome::kStatusMismatch), 2);
  EXPECT_EQ(first->count(ReconcileOutcome::kMissingLocal), 2);
  EXPECT_EQ(first->count(ReconcileOutcome::kMissingChannel), 1);
  auto items = reconciler_->Items(first->id);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 5u);
  const std::vector<std::pair<ReconcileOutcome, std::string>> want = {
      {ReconcileOutcome::kMissingLocal, "GHOST1"},
      {ReconcileOutcome::kStatusMismatch, b.order_no},
      {ReconcileOutcome::kMissingLocal, "GHOST1"},
      {ReconcileOutcome::kStatusMismatch, b.order_no},
      {ReconcileOutcome::kMissingChannel, omitted.order_no}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*items)[i].outcome, want[i].first) << i;
    EXPECT_EQ((*items)[i].order_no, want[i].second) << i;
  }
  EXPECT_EQ((*items)[1].note, "listed twice on the statement");
  EXPECT_EQ((*items)[1].local_amount_fen, b.amount_fen);
  EXPECT_EQ((*items)[1].channel_amount_fen, b.amount_fen + 7);

  auto second = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE(second->id, first->id);
  EXPECT_EQ(second->counts, first->counts);
  EXPECT_EQ(second->lines, first->lines);
  auto again = reconciler_->Items(second->id);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    EXPECT_EQ((*again)[i].outcome, (*items)[i].outcome) << i;
    EXPECT_EQ((*again)[i].order_no, (*items)[i].order_no) << i;
    EXPECT_EQ((*again)[i].local_amount_fen, (*items)[i].local_amount_fen) << i;
    EXPECT_EQ((*again)[i].channel_amount_fen, (*items)[i].channel_amount_fen) << i;
    EXPECT_EQ((*again)[i].note, (*items)[i].note) << i;
  }
  // The first run's items are left as they were.
  EXPECT_EQ(reconciler_->Items(first->id)->size(), 5u);
}

// Session 12 (review12b): a wrong file (another channel's or day's) is all
// lines no order claims; they are all counted, and only the first 10,000 kept
// as items (memory and the database grew with the file before).
TEST_P(ReconcileTest, AStatementOfStrangersKeepsTenThousandItemsAndCountsEveryLine) {
  ChannelPayment lost = PaidOrder("L1", /*notify=*/true);
  (void)lost;  // not on the statement: missing_channel, always kept
  std::vector<ChannelPayment> strangers;
  for (int i = 0; i < 10'050; ++i) {
    strangers.push_back({"STRANGER" + std::to_string(i), "TX-S" + std::to_string(i), 100,
                         clock_.NowMillis(), ChannelPaymentStatus::kPaid});
  }
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement(strangers, ""));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->lines, 10'050);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingLocal), 10'050);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingChannel), 1);
  auto items = reconciler_->Items(run->id);
  ASSERT_TRUE(items.ok());
  size_t local = 0, channel = 0;
  for (const auto& item : *items) {
    local += item.outcome == ReconcileOutcome::kMissingLocal;
    channel += item.outcome == ReconcileOutcome::kMissingChannel;
  }
  EXPECT_EQ(local, 10'000u);
  EXPECT_EQ(channel, 1u);
  EXPECT_EQ(items->front().order_no, "STRANGER0");  // the first lines of the statement
}

// A statement over 1 MiB (the size past which a parse could be split): line
// numbers, bad lines, a repeat far from its first line and the order of the
// items are those of one pass over the file.
TEST_P(ReconcileTest, ALargeStatementKeepsItsLineNumbersAndOrder) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B");
  ChannelPayment omitted = PaidOrder("C");
  (void)omitted;
  std::string text(kStatementHeader);
  text += "\n";
  AppendStatementLine(b, text);  // line 2
  text += "first half garbled\n";  // line 3
  // ~1.2 MB of long lines (fields of up to 64 bytes), fewer than the 10,000
  // unclaimed lines a run keeps as items.
  constexpr int kStrangers = 8'000;
  const std::string padding(48, 'x');
  for (int i = 0; i < kStrangers; ++i) {
    AppendStatementLine({"STRANGER" + std::to_string(i) + padding,
                         "TX-S" + std::to_string(i) + padding, 100,
                         clock_.NowMillis(), ChannelPaymentStatus::kPaid},
                        text);
  }
  AppendStatementLine(a, text);  // line kStrangers + 4
  text += "second half garbled\n";  // line kStrangers + 5
  ChannelPayment b_again = b;
  b_again.amount_fen += 3;
  AppendStatementLine(b_again, text);  // line kStrangers + 6
  ASSERT_GT(text.size(), size_t{1} << 20);
  const std::string path = dir_.File("halves.csv");
  std::ofstream(path) << text;

  auto run = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->lines, kStrangers + 5);
  EXPECT_EQ(run->bad_lines, 2);
  EXPECT_EQ(run->bad_sample, "line 3: 5 fields expected\nline " + std::to_string(kStrangers + 5) +
                                 ": 5 fields expected\n");
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 2);
  EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), 1);  // B listed twice
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingLocal), kStrangers);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingChannel), 1);
  auto repeats = reconciler_->Items(run->id, ReconcileOutcome::kStatusMismatch);
  ASSERT_TRUE(repeats.ok());
  ASSERT_EQ(repeats->size(), 1u);
  EXPECT_EQ((*repeats)[0].order_no, b.order_no);
  EXPECT_EQ((*repeats)[0].note, "listed twice on the statement");
  EXPECT_EQ((*repeats)[0].local_amount_fen, b.amount_fen);
  EXPECT_EQ((*repeats)[0].channel_amount_fen, b.amount_fen + 3);
  // Items in statement order: the strangers from the first half on, the
  // repeat after them, the order missing from the statement last.
  auto items = reconciler_->Items(run->id);
  ASSERT_TRUE(items.ok());
  ASSERT_FALSE(items->empty());
  EXPECT_EQ(items->front().order_no, "STRANGER0" + padding);
  EXPECT_EQ(items->back().order_no, omitted.order_no);
  EXPECT_EQ(items->size(), size_t{kStrangers} + 2);
}

// What a kept line holds: order numbers and serials of up to 64 bytes (the
// statement format's limit; a Line could keep 255), a paid time until 2106;
// beyond, the line is bad (counted and sampled), never cut short.
TEST_P(ReconcileTest, FieldsALineCannotKeepMakeItABadLine) {
  ChannelPayment a = PaidOrder("A");
  const std::string at = FormatChinaTime(clock_.NowMillis());
  std::string tail = std::string(64, 'N') + ",T,100," + at + ",paid\n";  // kept: missing_local
  tail += "LONGSERIAL," + std::string(65, 'S') + ",100," + at + ",paid\n";
  tail += "LATE,T,100,21070101000000,paid\n";
  tail += "LAST,T,100,21060101000000,paid\n";  // kept: missing_local
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({a}, tail));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->lines, 5);
  EXPECT_EQ(run->bad_lines, 2);
  EXPECT_EQ(run->bad_sample, "line 4: bad channel_serial\nline 5: bad paid_at\n");
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingLocal), 2);
}

// A repeat of a line whose amount differs from its order's reports the
// order's amount as tongban's, not the first line's.
TEST_P(ReconcileTest, ARepeatOfAnAmountMismatchCarriesTheOrdersAmount) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment wrong = a, again = a;
  wrong.amount_fen = a.amount_fen + 5;
  again.amount_fen = a.amount_fen + 7;
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({wrong, again}, ""));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->count(ReconcileOutcome::kAmountMismatch), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), 1);
  auto repeats = reconciler_->Items(run->id, ReconcileOutcome::kStatusMismatch);
  ASSERT_TRUE(repeats.ok());
  ASSERT_EQ(repeats->size(), 1u);
  EXPECT_EQ((*repeats)[0].note, "listed twice on the statement");
  EXPECT_EQ((*repeats)[0].local_amount_fen, a.amount_fen);
  EXPECT_EQ((*repeats)[0].channel_amount_fen, a.amount_fen + 7);
}

// A statement of short lines, indexed while it is parsed: `unique` strangers
// (orders tongban never placed) each listed `listings` times, and kPaid paid
// orders each listed twice (the second time with another amount) among them.
// Every paid order is matched by its first line and its second is the repeat
// whatever thread indexed which line (the ledger's helper, the two halves of
// the slots, a probe crossing from one half into the other, a slot table
// grown because the lines are shorter than their size suggested).
class ReconcileIndexTest : public ReconcileTest {
 protected:
  static constexpr int kPaid = 40;

  Result<ReconcileRun> Run(int unique, int listings) {
    std::vector<ChannelPayment> paid;
    for (int i = 0; i < kPaid; ++i) paid.push_back(PaidOrder("R" + std::to_string(i)));
    std::string text(kStatementHeader);
    text += "\n";
    const int lines = unique * listings;
    const int every = lines / kPaid;
    for (int i = 0; i < lines; ++i) {
      AppendStatementLine({"S" + std::to_string(i % unique), "T", 1, clock_.NowMillis(),
                           ChannelPaymentStatus::kPaid},
                          text);
      if (i % every == every / 2 && i / every < kPaid) AppendStatementLine(paid[i / every], text);
    }
    for (int i = kPaid - 1; i >= 0; --i) {
      ChannelPayment again = paid[i];
      again.amount_fen += 1;
      AppendStatementLine(again, text);
    }
    const std::string path = dir_.File("short.csv");
    std::ofstream(path) << text;
    auto run = reconciler_->ReconcileFile("20260110", path);
    if (!run.ok()) return run;
    EXPECT_EQ(run->lines, lines + 2 * kPaid);
    EXPECT_EQ(run->count(ReconcileOutcome::kMatched), kPaid);
    EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), kPaid);
    EXPECT_EQ(run->count(ReconcileOutcome::kAmountMismatch), 0);
    EXPECT_EQ(run->count(ReconcileOutcome::kMissingLocal), lines);
    EXPECT_EQ(run->count(ReconcileOutcome::kMissingChannel), 0);
    // The first 10,000 unclaimed lines are kept as items: the repeats, last,
    // only when the strangers leave room.
    if (lines + kPaid > 10'000) return run;
    auto repeats = reconciler_->Items(run->id, ReconcileOutcome::kStatusMismatch);
    EXPECT_TRUE(repeats.ok());
    if (repeats.ok()) {
      EXPECT_EQ(repeats->size(), size_t{kPaid});
      for (const ReconcileItem& r : *repeats) {
        EXPECT_EQ(r.note, "listed twice on the statement");
        EXPECT_EQ(r.channel_amount_fen, r.local_amount_fen + 1) << r.order_no;
      }
    }
    return run;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, ReconcileIndexTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(ReconcileIndexTest, ManyRepeatsOfAFewStrangersByTheLedger) {
  auto run = Run(/*unique=*/200, /*listings=*/40);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->source, "ledger");
}

TEST_P(ReconcileIndexTest, MoreLinesThanTheStatementsSizeSuggested) {
  auto run = Run(/*unique=*/120'000, /*listings=*/1);
  ASSERT_TRUE(run.ok()) << run.error().message;
  // Too many lines no record claimed to check one by one: the orders are read.
  EXPECT_EQ(run->source, "orders: 120000 statement lines not in the ledger");
}

// Reconciling a day downloads its statement under a name of its own and renames
// it into place: a statement file an earlier reconciliation of the same day
// still has open (mapped) is never rewritten in place (truncating a mapped file
// kills the process with SIGBUS), and no partial download is left behind.
TEST_P(ReconcileTest, ASecondDownloadOfTheDayNeverRewritesTheFileInPlace) {
  ChannelPayment a = PaidOrder("A");
  std::string text(kStatementHeader);
  text += "\n";
  AppendStatementLine(a, text);
  channel_.SetStatement(text);
  const std::string dir = dir_.File("statements");
  auto first = reconciler_->Reconcile("20260110", dir);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->count(ReconcileOutcome::kMatched), 1);
  const std::string path = dir + "/sandbox-20260110.csv";
  std::ifstream held(path, std::ios::binary);  // an earlier run's open file
  ASSERT_TRUE(held.good());
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  ChannelPayment ghost{"GHOST2", "TX-GHOST2", 500, clock_.NowMillis(),
                       ChannelPaymentStatus::kPaid};
  std::string other(kStatementHeader);  // the channel's corrected statement
  other += "\n";
  AppendStatementLine(ghost, other);
  channel_.SetStatement(other);
  auto second = reconciler_->Reconcile("20260110", dir);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->count(ReconcileOutcome::kMissingLocal), 1);
  EXPECT_EQ(second->count(ReconcileOutcome::kMissingChannel), 1);
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);  // a new file, renamed into place
  std::string kept((std::istreambuf_iterator<char>(held)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, text);  // the held file was not truncated or rewritten
  for (const std::string& to : channel_.downloaded_to()) EXPECT_NE(to, path);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);  // no .part left
}

// A statement without a final newline, with CRLF line ends, reads the same.
TEST_P(ReconcileTest, CrlfAndNoFinalNewline) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B");
  std::string text = std::string(kStatementHeader) + "\r\n";
  std::string la, lb;
  AppendStatementLine(a, la);
  AppendStatementLine(b, lb);
  la.back() = '\r';
  text += la + "\n" + lb.substr(0, lb.size() - 1);
  const std::string path = dir_.File("crlf.csv");
  std::ofstream(path) << text;
  auto run = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->lines, 2);
  EXPECT_EQ(run->bad_lines, 0);
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 2);
}

// Orders placed days before the day (outside the placement window read in
// slices) but paid on it are read too: one matched, one missing from the
// statement.
TEST_P(ReconcileTest, OrdersPlacedDaysBeforeButPaidOnTheDay) {
  clock_.Set(Clock::time_point(
      std::chrono::milliseconds(*ParseChinaDateTime("20260105", "100000"))));
  PaymentOrder early = Order(Notice("A"));
  PaymentOrder early_omitted = Order(Notice("B"));
  clock_.Set(Clock::time_point(
      std::chrono::milliseconds(*ParseChinaDateTime("20260110", "100000"))));
  for (const PaymentOrder& o : {early, early_omitted}) {
    std::string body = channel_.Pay(o.order_no, "T-" + o.order_no, clock_.NowMillis());
    ASSERT_EQ(payments_->HandleNotification({"", body}).body, "success");
  }
  ChannelPayment paid = *channel_.Query(early.order_no);
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({paid}, ""));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingChannel), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingLocal), 0);
  auto missing = reconciler_->Items(run->id, ReconcileOutcome::kMissingChannel);
  ASSERT_EQ(missing->size(), 1u);
  EXPECT_EQ((*missing)[0].order_no, early_omitted.order_no);
}

TEST_P(ReconcileTest, APaymentOutsideTheTimeWindowIsAStatusMismatch) {
  ChannelPayment p = PaidOrder("A");
  p.paid_at_ms += 11 * 60 * 1000;
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({p}, ""));
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 0);
}

TEST_P(ReconcileTest, ReissueCreditsAnOrderTheChannelConfirmsAndRecordsWhoDidIt) {
  ChannelPayment lost = PaidOrder("D", /*notify=*/false);
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({lost}, ""));
  ASSERT_TRUE(run.ok());
  auto items = reconciler_->Items(run->id, ReconcileOutcome::kStatusMismatch);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_FALSE(reconciler_->Reissue((*items)[0].id, "").ok());
  auto applied = reconciler_->Reissue((*items)[0].id, "finance1");
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(applied->outcome, ApplyOutcome::kCredited);
  auto notice = notices_->Get("330001296D");
  EXPECT_EQ(notice->state, NoticeState::kPaid);
  auto after = reconciler_->Items(run->id, ReconcileOutcome::kStatusMismatch);
  EXPECT_EQ((*after)[0].resolved_by, "finance1");
  EXPECT_NE((*after)[0].resolution.find("credited"), std::string::npos);
  auto again = reconciler_->Reissue((*items)[0].id, "finance1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kConflict);
  // Reconciled again, the day now matches.
  auto rerun = reconciler_->ReconcileFile("20260110", WriteStatement({lost}, ""));
  EXPECT_EQ(rerun->count(ReconcileOutcome::kMatched), 1);
}

TEST_P(ReconcileTest, ReissueRefusesWhatTheChannelDoesNotConfirm) {
  ChannelPayment ghost{"GHOST1", "TX", 500, clock_.NowMillis(), ChannelPaymentStatus::kPaid};
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({ghost}, ""));
  auto items = reconciler_->Items(run->id, ReconcileOutcome::kMissingLocal);
  ASSERT_EQ(items->size(), 1u);
  auto r = reconciler_->Reissue((*items)[0].id, "finance1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kNotFound);
}

TEST_P(ReconcileTest, ASecondPaymentIsRefundedThroughTheLedgerWithItsOperator) {
  PaymentNotice n = Notice("A");
  PaymentOrder first = Order(n);
  PaymentOrder second = Order(n);
  payments_->HandleNotification({"", channel_.Pay(first.order_no, "T1", clock_.NowMillis())});
  payments_->HandleNotification({"", channel_.Pay(second.order_no, "T2", clock_.NowMillis())});
  auto due = notices_->RefundsDue(10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_FALSE(reconciler_->Refund((*due)[0].pay_no, 3734, "重复缴费", "").ok());
  auto refunded = reconciler_->Refund((*due)[0].pay_no, 3734, "重复缴费", "finance1");
  ASSERT_TRUE(refunded.ok()) << refunded.error().message;
  EXPECT_EQ(refunded->state, NoticeState::kPaid);  // the credited payment stands
  EXPECT_TRUE(notices_->RefundsDue(10)->empty());
}

TEST_P(ReconcileTest, TheSettlementReportSumsEachUnitsDay) {
  PaidOrder("A");
  PaidOrder("B");
  PaymentNotice n = Notice("C", 100);
  payments_->HandleNotification({"", channel_.Pay(Order(n).order_no, "T1", clock_.NowMillis())});
  payments_->HandleNotification({"", channel_.Pay(Order(n).order_no, "T2", clock_.NowMillis())});
  auto bytes = reconciler_->SettlementReport("20260110");
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto sheets = codec::ReadXlsx(*bytes);
  ASSERT_TRUE(sheets.ok());
  ASSERT_EQ(sheets->size(), 2u);
  const auto& rows = (*sheets)[0].rows;
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows[2][0].text, "000368");
  EXPECT_EQ(rows[2][2].number, 3);
  EXPECT_EQ(rows[2][3].text, "75.68");  // 37.34 + 37.34 + 1.00
  EXPECT_EQ(rows[2][4].number, 1);
  EXPECT_EQ(rows[2][5].text, "1.00");
  EXPECT_EQ((*sheets)[1].rows.size(), 5u);  // header + 4 payments
}

}  // namespace
}  // namespace tongban::payment

namespace tongban::payment {
namespace {

namespace ledger_paths {

// A run's stored items as comparable tuples (ids and run ids aside).
using ItemKey = std::tuple<std::string, std::string, std::string, int64_t, int64_t, std::string>;
std::vector<ItemKey> Keys(const std::vector<ReconcileItem>& items) {
  std::vector<ItemKey> out;
  for (const ReconcileItem& i : items) {
    out.emplace_back(std::string(ReconcileOutcomeName(i.outcome)), i.order_no, i.channel_serial,
                     i.local_amount_fen, i.channel_amount_fen, i.note);
  }
  return out;
}

}  // namespace ledger_paths

// The day's ledger (written by the notification path, one page per payment,
// folded before the read) and the read of the orders give the same run and
// the same items for a statement with every outcome; without the ledger's
// pages the guard sends reconciliation to the orders.
TEST_P(ReconcileTest, TheLedgerAndTheOrdersGiveTheSameRun) {
  ChannelPayment matched = PaidOrder("A");
  ChannelPayment wrong_amount = PaidOrder("B");
  ChannelPayment omitted = PaidOrder("C");
  ChannelPayment lost = PaidOrder("D", /*notify=*/false);  // pending here
  ChannelPayment refunded = PaidOrder("E");
  ChannelPayment other_serial = PaidOrder("F");
  wrong_amount.amount_fen += 1;
  refunded.status = ChannelPaymentStatus::kRefunded;
  other_serial.channel_serial = "X-F";
  ChannelPayment ghost{"GHOST1", "TX-GHOST", 500, clock_.NowMillis(), ChannelPaymentStatus::kPaid};
  (void)omitted;
  std::string path =
      WriteStatement({matched, wrong_amount, lost, refunded, other_serial, ghost, matched}, "");
  auto by_ledger = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(by_ledger.ok()) << by_ledger.error().message;
  EXPECT_EQ(by_ledger->source, "ledger");
  EXPECT_EQ(by_ledger->count(ReconcileOutcome::kMatched), 1);
  EXPECT_EQ(by_ledger->count(ReconcileOutcome::kAmountMismatch), 1);
  EXPECT_EQ(by_ledger->count(ReconcileOutcome::kMissingChannel), 1);
  EXPECT_EQ(by_ledger->count(ReconcileOutcome::kMissingLocal), 1);
  // D pending here, E refunded there, F's serial, A listed twice
  EXPECT_EQ(by_ledger->count(ReconcileOutcome::kStatusMismatch), 4);

  ASSERT_TRUE(sql_->WithTransaction([](soci::session& sql) -> Status {
                    sql << "DELETE FROM payment_ledger_pages";
                    return Status::Ok();
                  }).ok());
  auto by_orders = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(by_orders.ok()) << by_orders.error().message;
  EXPECT_EQ(by_orders->source.rfind("orders: ", 0), 0u) << by_orders->source;
  EXPECT_EQ(by_orders->counts, by_ledger->counts);
  EXPECT_EQ(by_orders->lines, by_ledger->lines);
  auto a = reconciler_->Items(by_ledger->id);
  auto b = reconciler_->Items(by_orders->id);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(ledger_paths::Keys(*a), ledger_paths::Keys(*b));
  EXPECT_EQ(a->size(), 7u);  // every exception: 1 + 1 + 1 + 4
}

// A payment whose ledger record is missing (a path that marked an order paid
// without one): the day's count disagrees, the orders are read, and the run
// is still right — the unrecorded payment is matched, not missing_channel.
TEST_P(ReconcileTest, APaymentWithoutItsLedgerRecordSendsTheDayToTheOrders) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B");
  ChannelPayment omitted = PaidOrder("C");
  (void)omitted;
  ASSERT_TRUE(sql_->WithTransaction([](soci::session& sql) -> Status {
                    long long first = 0;
                    sql << "SELECT MIN(id) FROM payment_ledger_pages", soci::into(first);
                    sql << "DELETE FROM payment_ledger_pages WHERE id = :i", soci::use(first);
                    return Status::Ok();
                  }).ok());
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({a, b}, ""));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->source, "orders: the ledger holds 2 payments of the day, the orders 3");
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 2);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingChannel), 1);
  EXPECT_EQ(run->count(ReconcileOutcome::kMissingLocal), 0);
  auto missing = reconciler_->Items(run->id, ReconcileOutcome::kMissingChannel);
  ASSERT_EQ(missing->size(), 1u);
  EXPECT_EQ((*missing)[0].channel_serial, "T-C");
}

// An order marked paid by a path that wrote no ledger record at all (here a
// hand-made UPDATE): the triggers count it, so the day's count disagrees with
// the ledger and the orders are read; the payment is matched.
TEST_P(ReconcileTest, AnOrderPaidBehindTheLedgersBackSendsTheDayToTheOrders) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B", /*notify=*/false);  // pending here, paid at the channel
  const std::string order = b.order_no, serial = b.channel_serial;
  long long paid_at = b.paid_at_ms;
  ASSERT_TRUE(sql_->WithTransaction([&](soci::session& sql) -> Status {
                    sql << "UPDATE payment_orders SET state = 'paid', channel_serial = :s, "
                           "paid_at = :p, disposition = 'credited' WHERE order_no = :o",
                        soci::use(serial), soci::use(paid_at), soci::use(order);
                    return Status::Ok();
                  }).ok());
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({a, b}, ""));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->source, "orders: the ledger holds 1 payments of the day, the orders 2");
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 2);
  EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), 0);
}

// A ledger that repeats one order and lacks another holds as many records as
// the day has payments, so the count agrees; the judge sees the line claimed
// twice and the orders are read. (The pages are written as large ones, which
// the fold before reconciliation leaves as they are.)
TEST_P(ReconcileTest, AnOrderRecordedTwiceInTheLedgerSendsTheDayToTheOrders) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B");
  LedgerRecord r;
  r.order_no = a.order_no;
  r.channel_serial = a.channel_serial;
  r.amount_fen = a.amount_fen;
  r.paid_at_ms = a.paid_at_ms;
  r.disposition = "credited";
  std::string body;
  ASSERT_TRUE(AppendLedgerRecord(body, r));
  ASSERT_TRUE(AppendLedgerRecord(body, r));
  const std::string channel(payments_->channel().code());
  ASSERT_TRUE(sql_->WithTransaction([&](soci::session& sql) -> Status {
                    sql << "DELETE FROM payment_ledger_pages";
                    return AppendLedgerPageIn(*sql_, sql, channel, "20260110", 5000, body);
                  }).ok());
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({a, b}, ""));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->source, "orders: an order recorded twice in the ledger");
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 2);
  EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), 0);
}

// A whole refund recorded in tongban after the payment amends the order and
// its ledger record in the refund's transaction: a statement saying refunded
// then matches (by the ledger, and by the orders), while a payment refunded
// only at the channel stays a status_mismatch.
TEST_P(ReconcileTest, ARefundAfterThePaymentIsReflected) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B");
  auto order = payments_->GetOrder(a.order_no);
  ASSERT_TRUE(order.ok());
  auto refunded = notices_->RecordRefund(order->pay_no, order->amount_fen, "退清", "finance1");
  ASSERT_TRUE(refunded.ok()) << refunded.error().message;
  EXPECT_EQ(payments_->GetOrder(a.order_no)->disposition, "refunded");
  a.status = ChannelPaymentStatus::kRefunded;
  b.status = ChannelPaymentStatus::kRefunded;
  std::string path = WriteStatement({a, b}, "");
  auto by_ledger = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(by_ledger.ok()) << by_ledger.error().message;
  EXPECT_EQ(by_ledger->source, "ledger");
  EXPECT_EQ(by_ledger->count(ReconcileOutcome::kMatched), 1);
  EXPECT_EQ(by_ledger->count(ReconcileOutcome::kStatusMismatch), 1);
  auto items = reconciler_->Items(by_ledger->id);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].order_no, b.order_no);
  // Folded (the amendment into its payment's record), the day reads the same.
  auto again = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->source, "ledger");
  EXPECT_EQ(again->counts, by_ledger->counts);
  ASSERT_TRUE(sql_->WithTransaction([](soci::session& sql) -> Status {
                    sql << "DELETE FROM payment_ledger_pages";
                    return Status::Ok();
                  }).ok());
  auto by_orders = reconciler_->ReconcileFile("20260110", path);
  ASSERT_TRUE(by_orders.ok());
  EXPECT_NE(by_orders->source, "ledger");
  EXPECT_EQ(by_orders->counts, by_ledger->counts);
}


// A fold that read the day's small pages before a whole refund's amendment
// committed writes its folded page — the order still credited, not an
// amendment — after the amendment's page (PostgreSQL and MySQL let both run).
// The next fold must keep the amendment whatever the page order, or the day
// would read the refunded order as credited and the count guard would not see it.
TEST_P(ReconcileTest, AFoldWrittenAfterARefundsAmendmentDoesNotUndoIt) {
  ChannelPayment a = PaidOrder("A");
  ChannelPayment b = PaidOrder("B");
  auto order = payments_->GetOrder(a.order_no);
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(notices_->RecordRefund(order->pay_no, order->amount_fen, "退清", "finance1").ok());
  // The stale fold's page: A as it was when that fold read it.
  std::string channel, day;
  ASSERT_TRUE(sql_->WithTransaction([&](soci::session& sql) -> Status {
                    sql << "SELECT channel, day FROM payment_ledger_pages ORDER BY id DESC",
                        soci::into(channel), soci::into(day);
                    LedgerRecord stale;
                    stale.order_no = a.order_no;
                    stale.channel_serial = a.channel_serial;
                    stale.amount_fen = a.amount_fen;
                    stale.paid_at_ms = a.paid_at_ms;
                    stale.disposition = "credited";
                    std::string page;
                    EXPECT_TRUE(AppendLedgerRecord(page, stale));
                    return AppendLedgerPageIn(*sql_, sql, channel, day, 1, page);
                  }).ok());
  auto folded = CompactLedgerDay(*sql_, channel, day);
  ASSERT_TRUE(folded.ok()) << folded.error().message;
  EXPECT_GE(*folded, 2);
  a.status = ChannelPaymentStatus::kRefunded;
  auto run = reconciler_->ReconcileFile("20260110", WriteStatement({a, b}, ""));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->source, "ledger");
  EXPECT_EQ(run->count(ReconcileOutcome::kMatched), 2);
  EXPECT_EQ(run->count(ReconcileOutcome::kStatusMismatch), 0);
}

}  // namespace
}  // namespace tongban::payment
