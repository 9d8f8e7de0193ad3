#include "http/metrics.h"

#include <array>
#include <atomic>
#include <mutex>
#include <vector>

#include <fmt/format.h>

namespace tongban::http {
namespace {

// Status codes counted exactly; anything else lands in the "other" slot.
constexpr std::array<int, 34> kStatuses = {100, 101, 200, 201, 202, 204, 206, 301, 302,
                                           303, 304, 307, 308, 400, 401, 403, 404, 405,
                                           406, 408, 409, 411, 412, 413, 414, 415, 416,
                                           422, 429, 431, 500, 502, 503, 504};
constexpr size_t kStatusSlots = kStatuses.size() + 1;
constexpr size_t kOtherSlot = kStatuses.size();

// Upper bounds in seconds; a fast server needs the sub-millisecond buckets.
constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
constexpr size_t kShards = 8;

constexpr std::array<uint8_t, 600> MakeSlotTable() {
  std::array<uint8_t, 600> table{};
  for (auto& slot : table) slot = static_cast<uint8_t>(kOtherSlot);
  for (size_t i = 0; i < kStatuses.size(); ++i) table[kStatuses[i]] = static_cast<uint8_t>(i);
  return table;
}
constexpr std::array<uint8_t, 600> kSlotOf = MakeSlotTable();

constexpr std::array<int64_t, kBuckets.size()> MakeBucketNanos() {
  std::array<int64_t, kBuckets.size()> out{};
  for (size_t i = 0; i < kBuckets.size(); ++i) out[i] = static_cast<int64_t>(kBuckets[i] * 1e9);
  return out;
}
constexpr std::array<int64_t, kBuckets.size()> kBucketNanos = MakeBucketNanos();

void AppendLabelValue(std::string_view v, std::string& out) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

struct Metrics::Series {
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kStatusSlots> statuses{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last = +Inf
    std::atomic<uint64_t> sum_nanos{0};
  };
  std::string label;
  std::array<Shard, kShards> shards;
};

struct Metrics::Impl {
  mutable std::mutex mu;
  std::vector<std::unique_ptr<Series>> series;
  alignas(64) std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> connections_total{0};

  Series* FindLocked(std::string_view label) const {
    for (const auto& s : series) {
      if (s->label == label) return s.get();
    }
    return nullptr;
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

Metrics::Series* Metrics::Register(std::string_view route_label) {
  std::lock_guard lock(impl_->mu);
  if (Series* existing = impl_->FindLocked(route_label)) return existing;
  auto series = std::make_unique<Series>();
  series->label = std::string(route_label);
  impl_->series.push_back(std::move(series));
  return impl_->series.back().get();
}

void Metrics::Observe(Series* series, int status, std::chrono::nanoseconds latency,
                      unsigned shard) {
  Series::Shard& s = series->shards[shard % kShards];
  size_t slot = (status >= 0 && status < 600) ? kSlotOf[status] : kOtherSlot;
  s.statuses[slot].fetch_add(1, std::memory_order_relaxed);
  int64_t nanos = latency.count() < 0 ? 0 : latency.count();
  size_t bucket = 0;
  while (bucket < kBucketNanos.size() && nanos > kBucketNanos[bucket]) ++bucket;
  s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s.sum_nanos.fetch_add(static_cast<uint64_t>(nanos), std::memory_order_relaxed);
}

void Metrics::ConnectionOpened() {
  impl_->connections_open.fetch_add(1, std::memory_order_relaxed);
  impl_->connections_total.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::ConnectionClosed() { impl_->connections_open.fetch_sub(1, std::memory_order_relaxed); }

std::string Metrics::RenderPrometheus() const {
  std::lock_guard lock(impl_->mu);
  std::string out;
  out +=
      "# HELP tongban_http_requests_total HTTP requests answered, by route label and status.\n"
      "# TYPE tongban_http_requests_total counter\n";
  for (const auto& series : impl_->series) {
    for (size_t slot = 0; slot < kStatusSlots; ++slot) {
      uint64_t n = 0;
      for (const auto& shard : series->shards) n += shard.statuses[slot].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "tongban_http_requests_total{route=\"";
      AppendLabelValue(series->label, out);
      out += "\",status=\"";
      out += slot == kOtherSlot ? std::string("other") : std::to_string(kStatuses[slot]);
      out += "\"} ";
      out += std::to_string(n);
      out += '\n';
    }
  }
  out +=
      "# HELP tongban_http_request_duration_seconds Time from a complete request to its "
      "response written.\n"
      "# TYPE tongban_http_request_duration_seconds histogram\n";
  for (const auto& series : impl_->series) {
    std::array<uint64_t, kBuckets.size() + 1> counts{};
    uint64_t sum_nanos = 0;
    for (const auto& shard : series->shards) {
      for (size_t b = 0; b < counts.size(); ++b) {
        counts[b] += shard.buckets[b].load(std::memory_order_relaxed);
      }
      sum_nanos += shard.sum_nanos.load(std::memory_order_relaxed);
    }
    uint64_t total = 0;
    for (uint64_t c : counts) total += c;
    if (total == 0) continue;
    std::string label;
    AppendLabelValue(series->label, label);
    uint64_t cumulative = 0;
    for (size_t b = 0; b < counts.size(); ++b) {
      cumulative += counts[b];
      out += fmt::format("tongban_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                         label, b < kBuckets.size() ? fmt::format("{}", kBuckets[b]) : "+Inf",
                         cumulative);
    }
    out += fmt::format("tongban_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label,
                       static_cast<double>(sum_nanos) / 1e9);
    out += fmt::format("tongban_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label,
                       total);
  }
  out += fmt::format(
      "# HELP tongban_http_connections_open Client connections open now.\n"
      "# TYPE tongban_http_connections_open gauge\n"
      "tongban_http_connections_open {}\n"
      "# HELP tongban_http_connections_total Client connections accepted.\n"
      "# TYPE tongban_http_connections_total counter\n"
      "tongban_http_connections_total {}\n",
      impl_->connections_open.load(std::memory_order_relaxed),
      impl_->connections_total.load(std::memory_order_relaxed));
  return out;
}

uint64_t Metrics::RequestCount(std::string_view route_label, int status) const {
  std::lock_guard lock(impl_->mu);
  Series* series = impl_->FindLocked(route_label);
  if (!series) return 0;
  size_t slot = (status >= 0 && status < 600) ? kSlotOf[status] : kOtherSlot;
  uint64_t n = 0;
  for (const auto& shard : series->shards) n += shard.statuses[slot].load(std::memory_order_relaxed);
  return n;
}

}  // namespace tongban::http
