// Activity: per-minute counts of what this node did on its hot paths (ticket
// and token validations) for the console's dashboard, without a lock or an
// allocation on the counting side. Counting is per node; the login and
// failure series come from the audit table instead, which all nodes share.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace tongban::sso {

class Activity {
 public:
  static constexpr int kMinutes = 1440;  // one day of history

  // Adds one validation in the minute of `now_ms`.
  void CountValidation(int64_t now_ms);
  // Validations in each of the `minutes` whole minutes up to the one of
  // `now_ms`, oldest first (0 for minutes without any, or older than a day).
  std::vector<int64_t> Validations(int64_t now_ms, int minutes) const;

 private:
  struct Bucket {
    std::atomic<int64_t> minute{-1};
    std::atomic<int64_t> count{0};
  };
  std::array<Bucket, kMinutes> buckets_;
};

}  // namespace tongban::sso
