#include "http/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tongban::http {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(HttpMetrics, RegisterReturnsTheSameSeriesForTheSameLabel) {
  Metrics m;
  EXPECT_EQ(m.Register("/a"), m.Register("/a"));
  EXPECT_NE(m.Register("/a"), m.Register("/b"));
}

TEST(HttpMetrics, CountsRequestsByRouteAndStatus) {
  Metrics m;
  Metrics::Series* a = m.Register("/a");
  m.Observe(a, 200, microseconds(100), 0);
  m.Observe(a, 200, microseconds(100), 5);
  m.Observe(a, 404, microseconds(100), 1);
  EXPECT_EQ(m.RequestCount("/a", 200), 2u);
  EXPECT_EQ(m.RequestCount("/a", 404), 1u);
  EXPECT_EQ(m.RequestCount("/b", 200), 0u);
}

TEST(HttpMetrics, RendersCountersInPrometheusFormat) {
  Metrics m;
  Metrics::Series* a = m.Register("/sso/servlet/ssoauth");
  m.Observe(a, 200, microseconds(300), 0);
  m.Observe(a, 599, microseconds(300), 0);
  std::string text = m.RenderPrometheus();
  EXPECT_TRUE(Contains(text, "# TYPE tongban_http_requests_total counter\n"));
  EXPECT_TRUE(Contains(
      text, "tongban_http_requests_total{route=\"/sso/servlet/ssoauth\",status=\"200\"} 1\n"));
  EXPECT_TRUE(Contains(
      text, "tongban_http_requests_total{route=\"/sso/servlet/ssoauth\",status=\"other\"} 1\n"));
}

TEST(HttpMetrics, RendersCumulativeHistogramBuckets) {
  Metrics m;
  Metrics::Series* a = m.Register("/a");
  m.Observe(a, 200, microseconds(300), 0);   // <= 0.0005
  m.Observe(a, 200, milliseconds(3), 1);     // <= 0.005
  m.Observe(a, 200, milliseconds(20000), 2); // only +Inf
  std::string text = m.RenderPrometheus();
  EXPECT_TRUE(Contains(text, "# TYPE tongban_http_request_duration_seconds histogram\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.0025\"} 1\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_request_duration_seconds_bucket{route=\"/a\",le=\"10\"} 2\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_request_duration_seconds_count{route=\"/a\"} 3\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_request_duration_seconds_sum{route=\"/a\"} 20.0033\n"));
}

TEST(HttpMetrics, OmitsRoutesWithoutRequests) {
  Metrics m;
  m.Register("/never");
  EXPECT_FALSE(Contains(m.RenderPrometheus(), "/never"));
}

TEST(HttpMetrics, EscapesLabelValues) {
  Metrics m;
  m.Observe(m.Register("a\"b\\c"), 200, microseconds(1), 0);
  EXPECT_TRUE(Contains(m.RenderPrometheus(), "route=\"a\\\"b\\\\c\""));
}

TEST(HttpMetrics, TracksOpenConnections) {
  Metrics m;
  m.ConnectionOpened();
  m.ConnectionOpened();
  m.ConnectionClosed();
  std::string text = m.RenderPrometheus();
  EXPECT_TRUE(Contains(text, "tongban_http_connections_open 1\n"));
  EXPECT_TRUE(Contains(text, "tongban_http_connections_total 2\n"));
}

TEST(HttpMetrics, CountsEveryObservationFromConcurrentThreads) {
  Metrics m;
  Metrics::Series* a = m.Register("/a");
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) {
    threads.emplace_back([&m, a, t] {
      for (int i = 0; i < 10000; ++i) m.Observe(a, 200, microseconds(10), t);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.RequestCount("/a", 200), 40000u);
}

}  // namespace
}  // namespace tongban::http
