// Clock: where tongban reads the time. Production code uses SystemClock;
// tests use FakeClock to move time forward without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tongban {

class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  // Wall-clock time: ticket expiry, signature time windows, audit records.
  virtual time_point Now() const = 0;
  // Milliseconds since the Unix epoch; the form stores and TTLs use.
  int64_t NowMillis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Now().time_since_epoch()).count();
  }
};

// The wall clock at the kernel's tick (CLOCK_REALTIME_COARSE: 1-4 ms steps,
// never ahead of the precise clock by more than that). Every store
// operation and signed call reads the time, a validation a dozen times, and
// the precise clock's ~23 ns a read was 2-3% of it; ~5 ns here. Nothing in
// tongban needs wall time finer than a tick: TTLs, time windows and audit
// stamps are in milliseconds or seconds. Durations are measured with
// std::chrono::steady_clock, not with a Clock.
class SystemClock final : public Clock {
 public:
  time_point Now() const override;
  // A process-wide instance for wiring; holds no state.
  static SystemClock& Instance();
};

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(time_point start = time_point(std::chrono::seconds(1'700'000'000)))
      : now_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch())
                    .count()) {}
  time_point Now() const override {
    return time_point(std::chrono::milliseconds(now_ms_.load(std::memory_order_relaxed)));
  }
  void Advance(std::chrono::milliseconds d) { now_ms_.fetch_add(d.count()); }
  void Set(time_point t) {
    now_ms_.store(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
  }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace tongban
