// The statement's lines as reconciliation keeps them, and their index by
// order number, built while the statement is parsed: the parser publishes
// lines in batches; the ledger's thread, once its pages are read, indexes
// them as they come; when the parse is over the rest is indexed in the two
// halves of the slot table by both threads at once. Internal to
// reconcile.cc; a header of its own so that the index is tested directly
// (tests/unit/payment_statement_index_test.cc).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <climits>
#include <cstring>
#include <iterator>
#include <mutex>
#include <string_view>
#include <vector>

#include "payment/channel.h"
#include "payment/channel_statement.h"

namespace tongban::payment::reconcile_index {

// Equal texts, compared inline 8 bytes at a time: order numbers and serials
// are short, and a million calls to memcmp (through the PLT) were ~7 % of a
// reconciliation.
inline bool SameText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  size_t n = a.size();
  for (; n >= 8; p += 8, q += 8, n -= 8) {
    uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, q, 8);
    if (x != y) return false;
  }
  for (; n > 0; ++p, ++q, --n) {
    if (*p != *q) return false;
  }
  return true;
}

// A good line of the statement, in 32 bytes aligned to 32 (a million lines
// are walked in random order: each in one cache line, and a third less
// memory to fault in and miss than the 48 bytes before). The texts are
// offsets into the mapped statement (< 4 GiB, checked when mapped) of at most
// 255 bytes; the paid time in whole seconds (a statement gives no more) since
// 1970-01-01 00:00 China time, until 2106.
struct alignas(32) Line {
  uint32_t order_at = 0, serial_at = 0;
  uint8_t order_len = 0, serial_len = 0;
  uint8_t status = 0;  // ChannelPaymentStatus
  bool found = false;  // an order of the day claimed this line
  uint32_t line_no = 0;
  uint32_t first_of_order = 0;  // index + 1 of an earlier line of the same order, 0 = none
  uint32_t paid_at_s = 0;
  int64_t amount_fen = 0;

  static constexpr size_t kMaxText = 0xff;
  // Whether a statement's paid time (ms) can be kept.
  static bool PaidAtFits(int64_t ms) {
    const int64_t local = ms + kChinaOffsetMs;
    return local >= 0 && local % 1000 == 0 && local / 1000 <= int64_t{UINT32_MAX};
  }
  void set_paid_at_ms(int64_t ms) { paid_at_s = static_cast<uint32_t>((ms + kChinaOffsetMs) / 1000); }
  int64_t paid_at_ms() const { return int64_t{paid_at_s} * 1000 - kChinaOffsetMs; }

  std::string_view order_no(const char* base) const { return {base + order_at, order_len}; }
  std::string_view serial(const char* base) const { return {base + serial_at, serial_len}; }
  ChannelPaymentStatus payment_status() const { return static_cast<ChannelPaymentStatus>(status); }
};
static_assert(sizeof(Line) == 32);

// Open addressing over the statement's lines by order number: one slot array
// (a power of two, at most 70 % full) of the hash's top 32 bits and the line's
// index + 1. The first line of an order is the one found; later ones point to
// it. Lines are added in statement order, a batch at a time, while the
// statement is still being parsed (by whichever thread is free: the ledger's
// once its pages are read, then the parser's).
class LineIndex {
 public:
  LineIndex(const char* base, size_t expected_lines) : base_(base) {
    size_t size = 16;
    while (size < expected_lines + expected_lines / 2 + expected_lines / 8) size <<= 1;
    mask_ = size - 1;
    slots_.assign(size, 0);
  }

  // Adds lines[from, to) (every line before `from` added already). `lines` is
  // where the lines are now: they may have moved since the last call, never
  // during one. Calls must not overlap.
  void Add(Line* lines, size_t from, size_t to) {
    lines_ = lines;
    hashes_.resize(to - from);
    for (size_t i = from; i < to; ++i) hashes_[i - from] = Hash(lines[i].order_no(base_));
    constexpr size_t kAhead = 16;  // the slot a few lines on is fetched while this one is placed
    for (size_t i = from; i < to; ++i) {
      if ((used_ + 1) * 10 > slots_.size() * 7) Grow(i);
      if (i + kAhead < to) __builtin_prefetch(&slots_[hashes_[i + kAhead - from] & mask_]);
      used_ += Place(lines, i, hashes_[i - from]) == Placed::kSlot ? 1 : 0;
    }
  }

  // The lines' final place (after the last Add).
  void Attach(std::vector<Line>& lines) { lines_ = lines.data(); }

  // Before `more` lines are added in halves: grown now if they could fill the
  // slots past 70 % (AddHalf cannot grow), `placed` lines being in already.
  void MakeRoomFor(Line* lines, size_t placed, size_t more) {
    lines_ = lines;
    while ((used_ + more) * 10 > slots_.size() * 7) Grow(placed);
  }

  // Adds those of lines[from, to) whose slot falls in half `half` of the
  // slots (0 or 1), reading and writing only that half: two threads can each
  // add one half at once. `hashes[i - from]` is line i's Hash. A line whose
  // probe reaches the end of its half is left in `crossed` (in line order)
  // for PlaceCrossed, as is every later line of its order (their probe walks
  // the same taken slots). Returns the slots taken.
  size_t AddHalf(Line* lines, size_t from, size_t to, const uint64_t* hashes, size_t half,
                 std::vector<uint32_t>& crossed) {
    const size_t half_size = slots_.size() / 2, lo = half * half_size, hi = lo + half_size;
    constexpr size_t kAhead = 32;  // lines: about half of them this half's
    size_t taken = 0;
    for (size_t i = from; i < to; ++i) {
      if (i + kAhead < to) {
        const size_t ahead = hashes[i + kAhead - from] & mask_;
        if (ahead >= lo && ahead < hi) __builtin_prefetch(&slots_[ahead]);
      }
      const uint64_t h = hashes[i - from];
      const size_t at = h & mask_;
      if (at < lo || at >= hi) continue;
      switch (Place(lines, i, h, hi)) {
        case Placed::kSlot:
          ++taken;
          break;
        case Placed::kCrossed:
          crossed.push_back(static_cast<uint32_t>(i));
          break;
        case Placed::kRepeat:
          break;
      }
    }
    return taken;
  }

  // After both halves: their slots counted, and the lines they left placed in
  // line order across the whole table.
  void PlaceCrossed(Line* lines, size_t taken, const std::vector<uint32_t>& a,
                    const std::vector<uint32_t>& b) {
    lines_ = lines;
    used_ += taken;
    std::vector<uint32_t> crossed;
    std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(crossed));
    for (uint32_t i : crossed) {
      used_ += Place(lines, i, Hash(lines[i].order_no(base_))) == Placed::kSlot ? 1 : 0;
    }
  }

  const char* base() const { return base_; }

  Line* Find(std::string_view order_no) { return Find(order_no, Hash(order_no)); }

  // Both the slot (low bits) and the tag (high bits) come from it: every input
  // byte reaches both through the multiplications and the final mix. Inlined
  // 8 bytes at a time: std::hash (murmur, a call) was ~6 % of a reconciliation
  // hashing 2M order numbers.
  static uint64_t Hash(std::string_view s) {
    const char* p = s.data();
    size_t n = s.size();
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    auto mix = [&](uint64_t w) {
      h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
      h ^= h >> 31;
    };
    for (; n >= 8; p += 8, n -= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      mix(w);
    }
    if (n > 0) {
      uint64_t w = 0;
      for (size_t i = 0; i < n; ++i) w |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
      mix(w);
    }
    h = (h ^ (h >> 32)) * 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
  }
  // For a batch of lookups (the ledger's records), each step a few records
  // after the one before, so that no step waits on memory: the slot fetched,
  // then the line it most likely names, then that line's text, then
  // Find(order_no, hash). Each step reads only what the one before fetched.
  void PrefetchSlot(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }
  void PrefetchLine(uint64_t h) const {
    const uint64_t slot = slots_[h & mask_];
    if (slot == 0) return;
    __builtin_prefetch(&lines_[(slot & 0xffffffffu) - 1]);  // one cache line (alignas(32))
  }
  void PrefetchText(uint64_t h) const {
    const uint64_t slot = slots_[h & mask_];
    if (slot == 0) return;
    __builtin_prefetch(base_ + lines_[(slot & 0xffffffffu) - 1].order_at);
  }
  const Line& first_of(const Line& l) const {
    return l.first_of_order == 0 ? l : lines_[l.first_of_order - 1];
  }

  Line* Find(std::string_view order_no, uint64_t h) {
    const uint64_t tag = h >> 32;
    for (size_t at = h & mask_;; at = (at + 1) & mask_) {
      const uint64_t slot = slots_[at];
      if (slot == 0) return nullptr;
      if ((slot >> 32) != tag) continue;
      Line& l = lines_[(slot & 0xffffffffu) - 1];
      if (SameText(l.order_no(base_), order_no)) return &l;
    }
  }

 private:
  enum class Placed { kSlot, kRepeat, kCrossed };

  // Line i placed by probing from its hash's slot: kSlot when it is the first
  // of its order (a slot taken), kRepeat when an earlier line of its order
  // holds one (first_of_order set). With `stop` (AddHalf's end of its half)
  // the probe ends there instead of wrapping: kCrossed, nothing written.
  static constexpr size_t kNoStop = ~size_t{0};
  Placed Place(Line* lines, size_t i, uint64_t h, size_t stop = kNoStop) {
    Line& l = lines[i];
    const uint64_t tag = h >> 32;
    const std::string_view order_no = l.order_no(base_);
    for (size_t at = h & mask_;;) {
      const uint64_t slot = slots_[at];
      if (slot == 0) {
        slots_[at] = (tag << 32) | (i + 1);
        return Placed::kSlot;
      }
      if ((slot >> 32) == tag &&
          SameText(lines[(slot & 0xffffffffu) - 1].order_no(base_), order_no)) {
        l.first_of_order = static_cast<uint32_t>(slot & 0xffffffffu);
        return Placed::kRepeat;
      }
      if (++at == stop) return Placed::kCrossed;
      at &= mask_;
    }
  }

  // Twice the slots, the first `placed` lines' orders placed again (in order,
  // so the first line of an order keeps its slot). Only when the statement
  // has many more lines than its size suggested.
  void Grow(size_t placed) {
    slots_.assign(slots_.size() * 2, 0);
    mask_ = slots_.size() - 1;
    for (size_t i = 0; i < placed; ++i) {
      if (lines_[i].first_of_order != 0) continue;
      const uint64_t h = Hash(lines_[i].order_no(base_));
      for (size_t at = h & mask_;; at = (at + 1) & mask_) {
        if (slots_[at] == 0) {
          slots_[at] = ((h >> 32) << 32) | (i + 1);
          break;
        }
      }
    }
  }

  Line* lines_ = nullptr;
  const char* base_;
  std::vector<uint64_t> slots_;
  std::vector<uint64_t> hashes_;  // of the batch being added
  size_t mask_ = 0;
  size_t used_ = 0;  // slots taken
};

// The hand-over of parsed lines from the parser to whichever thread indexes
// them: the parser publishes how many lines are parsed every kBatch lines,
// and moves them (growing the vector) only while no batch is being indexed.
class StatementIndexing {
 public:
  static constexpr size_t kBatch = 8192;  // a power of two

  explicit StatementIndexing(Line* lines) : lines_(lines) {}

  // The parser's side.
  void Grow(std::vector<Line>& lines) {
    std::lock_guard hold(index_mu_);
    lines.reserve(lines.capacity() * 2 + kBatch);
    lines_ = lines.data();
  }
  void Publish(size_t parsed) {
    {
      std::lock_guard hold(wake_mu_);
      parsed_ = parsed;
    }
    more_.notify_one();
  }
  // No more lines (also when the parse was abandoned). Idempotent.
  void Finish() {
    over_now_.store(true, std::memory_order_relaxed);
    {
      std::lock_guard hold(wake_mu_);
      over_ = true;
    }
    more_.notify_all();
  }

  // The helper's side: indexes batches as they are published; once the parse
  // is over, takes a half of the rest if the parser has not taken both.
  void HelpUntilParsed(LineIndex& index) {
    for (;;) {
      size_t parsed = 0;
      {
        std::unique_lock hold(wake_mu_);
        more_.wait(hold, [&] { return over_ || parsed_ > indexed_seen_; });
        if (over_) break;
        parsed = parsed_;
      }
      indexed_seen_ = IndexUpTo(index, parsed);
    }
    TakeHalves(index);
  }

  // The parser's side once the parse is over: the lines not yet indexed, in
  // the two halves of the slots (the helper takes one when it is free), then
  // the lines whose probe crossed out of their half.
  void IndexTheRest(LineIndex& index) {
    TakeHalves(index);
    {
      std::unique_lock hold(wake_mu_);
      more_.wait(hold, [&] { return halves_done_ == 2; });
    }
    std::lock_guard hold(index_mu_);
    index.PlaceCrossed(lines_, taken_[0] + taken_[1], crossed_[0], crossed_[1]);
    indexed_ = tail_to_;
  }

 private:
  // Indexes batches until `parsed` lines are; returns how many are.
  size_t IndexUpTo(LineIndex& index, size_t parsed) {
    for (;;) {
      std::lock_guard hold(index_mu_);
      // Once the parse is over the rest goes in halves (TakeHalves), and the
      // parser must not wait for this loop to let go of the lock.
      if (indexed_ >= parsed || over_now_.load(std::memory_order_relaxed)) return indexed_;
      const size_t to = std::min(parsed, indexed_ + kBatch);
      index.Add(lines_, indexed_, to);
      indexed_ = to;
    }
  }

  // The lines left when the parse ended: their hashes in chunks, then the
  // slots' two halves, as many of each as this thread finds free (the other
  // thread may come late or never).
  void TakeHalves(LineIndex& index) {
    {
      std::lock_guard hold(index_mu_);
      if (!tail_set_) {
        std::lock_guard parsed(wake_mu_);
        tail_from_ = indexed_;
        tail_to_ = parsed_;
        index.MakeRoomFor(lines_, tail_from_, tail_to_ - tail_from_);
        tail_hashes_.resize(tail_to_ - tail_from_);
        chunks_ = (tail_to_ - tail_from_ + kChunk - 1) / kChunk;
        tail_set_ = true;
      }
    }
    for (size_t c; (c = next_chunk_.fetch_add(1)) < chunks_;) {
      const size_t from = tail_from_ + c * kChunk, to = std::min(tail_to_, from + kChunk);
      for (size_t i = from; i < to; ++i) {
        tail_hashes_[i - tail_from_] = LineIndex::Hash(lines_[i].order_no(index.base()));
      }
      Done(chunks_hashed_);
    }
    for (size_t half; (half = next_half_.fetch_add(1)) < 2;) {
      {
        std::unique_lock hold(wake_mu_);
        more_.wait(hold, [&] { return chunks_hashed_ == chunks_; });
      }
      try {
        taken_[half] = index.AddHalf(lines_, tail_from_, tail_to_, tail_hashes_.data(), half,
                                     crossed_[half]);
      } catch (...) {
        // Counted anyway, or the parser would wait for this half for good;
        // the exception reaches the caller (the helper's through its future).
        Done(halves_done_);
        throw;
      }
      Done(halves_done_);
    }
  }

  void Done(size_t& count) {
    {
      std::lock_guard hold(wake_mu_);
      ++count;
    }
    more_.notify_all();
  }

  std::mutex index_mu_;  // held while a batch is indexed or the lines move
  Line* lines_;          // under index_mu_
  size_t indexed_ = 0;   // under index_mu_

  // The lines left when the parse ended: set once under index_mu_, read by
  // both threads after they took it.
  static constexpr size_t kChunk = 65536;
  bool tail_set_ = false;
  size_t tail_from_ = 0, tail_to_ = 0, chunks_ = 0;
  std::vector<uint64_t> tail_hashes_;  // each chunk's own until chunks_hashed_ == chunks_
  std::atomic<size_t> next_chunk_{0}, next_half_{0};
  std::array<size_t, 2> taken_{};                  // each half's own
  std::array<std::vector<uint32_t>, 2> crossed_;  // each half's own

  std::atomic<bool> over_now_{false};  // over_, read without the lock

  std::mutex wake_mu_;
  std::condition_variable more_;
  size_t parsed_ = 0;        // under wake_mu_
  bool over_ = false;        // under wake_mu_
  size_t chunks_hashed_ = 0;  // under wake_mu_
  size_t halves_done_ = 0;   // under wake_mu_
  size_t indexed_seen_ = 0;  // the helper's own
};

}  // namespace tongban::payment::reconcile_index
