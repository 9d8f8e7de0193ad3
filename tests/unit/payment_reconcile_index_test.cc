// The statement's line index (payment/reconcile_index.h) against a plain map:
// for every line, the first line of its order is the one found and later
// lines point to it — built in batches, with a table grown on the way, in two
// halves (lines whose probe crosses out of their half placed after), and by a
// parser and a helper thread handing lines over while the vector moves.
#include "payment/reconcile_index.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tongban::payment::reconcile_index {
namespace {

// `lines` order numbers (`distinct` of them, repeats spread over the text)
// laid out in one text, as a statement's mapping.
struct Statement {
  std::string text;
  std::vector<Line> lines;

  Statement(size_t count, size_t distinct) {
    std::vector<std::pair<size_t, size_t>> at;
    for (size_t i = 0; i < count; ++i) {
      // A multiplicative walk: the repeats of an order far apart, in no order.
      std::string no = "NO";
      no += std::to_string((i * 7919) % distinct);
      no += "-X";
      at.emplace_back(text.size(), no.size());
      text += no;
      text += ',';
    }
    for (size_t i = 0; i < count; ++i) {
      Line l;
      l.order_at = static_cast<uint32_t>(at[i].first);
      l.order_len = static_cast<uint16_t>(at[i].second);
      l.line_no = static_cast<uint32_t>(i + 1);
      lines.push_back(l);
    }
  }

  // Every line's first_of_order and what Find answers, against a map.
  void ExpectIndexed(LineIndex& index) {
    std::unordered_map<std::string_view, size_t> first;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string_view no = lines[i].order_no(text.data());
      auto [it, added] = first.try_emplace(no, i);
      if (added) {
        ASSERT_EQ(lines[i].first_of_order, 0u) << "line " << i << " " << no;
      } else {
        ASSERT_EQ(lines[i].first_of_order, it->second + 1) << "line " << i << " " << no;
      }
    }
    for (const auto& [no, i] : first) {
      ASSERT_EQ(index.Find(no), &lines[i]) << no;
    }
    EXPECT_EQ(index.Find("NO-NOT-THERE"), nullptr);
  }
};

TEST(ReconcileIndexTest, BatchesGrowTheTableWhenTheLinesOutnumberTheGuess) {
  Statement s(50'000, 30'000);
  LineIndex index(s.text.data(), /*expected_lines=*/16);
  for (size_t from = 0; from < s.lines.size(); from += 1000) {
    index.Add(s.lines.data(), from, std::min(s.lines.size(), from + 1000));
  }
  index.Attach(s.lines);
  s.ExpectIndexed(index);
}

// The halves of the slots, one after the other and on two threads, after a
// first part added in batches; a table kept near its 70 % so that probes run
// into the middle and the end of the table.
TEST(ReconcileIndexTest, TwoHalvesAndTheLinesThatCrossOutOfTheirs) {
  size_t crossings = 0;
  for (bool threads : {false, true}) {
    for (size_t count : {1'000u, 11'000u, 45'000u}) {
      Statement s(count, count * 9 / 10);
      LineIndex index(s.text.data(), /*expected_lines=*/count / 2);
      const size_t head = count / 5;
      index.Add(s.lines.data(), 0, head);
      index.MakeRoomFor(s.lines.data(), head, count - head);
      std::vector<uint64_t> hashes;
      for (size_t i = head; i < count; ++i) {
        hashes.push_back(LineIndex::Hash(s.lines[i].order_no(s.text.data())));
      }
      std::array<std::vector<uint32_t>, 2> crossed;
      std::array<size_t, 2> taken{};
      auto half = [&](size_t h) {
        taken[h] = index.AddHalf(s.lines.data(), head, count, hashes.data(), h, crossed[h]);
      };
      if (threads) {
        std::thread other(half, 1);
        half(0);
        other.join();
      } else {
        half(0);
        half(1);
      }
      crossings += crossed[0].size() + crossed[1].size();
      index.PlaceCrossed(s.lines.data(), taken[0] + taken[1], crossed[0], crossed[1]);
      index.Attach(s.lines);
      s.ExpectIndexed(index);
    }
  }
  EXPECT_GT(crossings, 0u) << "no probe crossed a half: the test does not reach PlaceCrossed";
}

// A parser publishing batches into a vector that starts too small (it moves
// while the helper indexes), the helper joining at once, late, or never.
TEST(ReconcileIndexTest, AParserAndAHelperHandLinesOver) {
  for (int helper : {0, 1, 2}) {  // at once, after the parse, none
    Statement s(100'000, 60'000);
    LineIndex index(s.text.data(), /*expected_lines=*/20'000);
    std::vector<Line> lines;
    lines.reserve(1'000);
    StatementIndexing indexing(lines.data());
    std::thread helping;
    if (helper == 0) helping = std::thread([&] { indexing.HelpUntilParsed(index); });
    for (const Line& l : s.lines) {
      if (lines.size() == lines.capacity()) indexing.Grow(lines);
      lines.push_back(l);
      if ((lines.size() & (StatementIndexing::kBatch - 1)) == 0) indexing.Publish(lines.size());
    }
    indexing.Publish(lines.size());
    indexing.Finish();
    if (helper == 1) helping = std::thread([&] { indexing.HelpUntilParsed(index); });
    indexing.IndexTheRest(index);
    if (helping.joinable()) helping.join();
    index.Attach(lines);
    s.lines = std::move(lines);
    // Find's answers point into the vector the index was attached to.
    index.Attach(s.lines);
    s.ExpectIndexed(index);
  }
}

TEST(ReconcileIndexTest, SameTextComparesEveryByte) {
  EXPECT_TRUE(SameText("", ""));
  EXPECT_TRUE(SameText("P2026011012345678ABCDE", "P2026011012345678ABCDE"));
  EXPECT_FALSE(SameText("P2026011012345678ABCDE", "P2026011012345678ABCDF"));
  EXPECT_FALSE(SameText("Q2026011012345678ABCDE", "P2026011012345678ABCDE"));
  EXPECT_FALSE(SameText("ABCDEFGH", "ABCDEFGX"));
  EXPECT_FALSE(SameText("ABC", "ABCD"));
  EXPECT_FALSE(SameText("ABCDEFGHIJ", "ABCDEFGHIK"));
}

}  // namespace
}  // namespace tongban::payment::reconcile_index
