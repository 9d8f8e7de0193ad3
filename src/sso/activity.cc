#include "sso/activity.h"

#include <algorithm>

namespace tongban::sso {

namespace {
constexpr int64_t kMinuteMs = 60'000;
}  // namespace

void Activity::CountValidation(int64_t now_ms) {
  const int64_t minute = now_ms / kMinuteMs;
  Bucket& bucket = buckets_[static_cast<size_t>(minute % kMinutes)];
  int64_t seen = bucket.minute.load(std::memory_order_acquire);
  // The first count of a new minute takes the bucket over from the minute a
  // day ago; a count racing with that takeover may be lost, which a chart
  // can afford and a lock on the validation path cannot.
  if (seen != minute && bucket.minute.compare_exchange_strong(seen, minute)) {
    bucket.count.store(0, std::memory_order_relaxed);
  }
  bucket.count.fetch_add(1, std::memory_order_relaxed);
}

std::vector<int64_t> Activity::Validations(int64_t now_ms, int minutes) const {
  minutes = std::clamp(minutes, 0, kMinutes);
  std::vector<int64_t> out(static_cast<size_t>(minutes), 0);
  const int64_t last = now_ms / kMinuteMs;
  for (int i = 0; i < minutes; ++i) {
    const int64_t minute = last - (minutes - 1 - i);
    const Bucket& bucket = buckets_[static_cast<size_t>(minute % kMinutes)];
    if (bucket.minute.load(std::memory_order_acquire) == minute) {
      out[static_cast<size_t>(i)] = bucket.count.load(std::memory_order_relaxed);
    }
  }
  return out;
}

}  // namespace tongban::sso
