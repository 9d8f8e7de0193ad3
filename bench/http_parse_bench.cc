// Hot-path costs of the HTTP module: request parsing into a reused Request,
// query/form decoding, routing and metrics. BM_CopyRequestBytes is the
// baseline: copying the same bytes once; report the others as ratios to it.
#include <benchmark/benchmark.h>

#include "http/metrics.h"
#include "http/request_parser.h"
#include "http/router.h"
#include "http/trusted_proxies.h"
#include "http/url.h"

namespace tongban::http {
namespace {

const std::string kBody =
    "time=20240101120000&sign=0123456789abcdef0123456789abcdef&st=ST-1a2b3c4d5e6f7a8b-ticket"
    "&datatype=json";
const std::string kRequest =
    "POST /sso/servlet/simpleauth?method=ticketValidation&servicecode=app1 HTTP/1.1\r\n"
    "Host: sso.example.gov.cn\r\n"
    "User-Agent: Apache-HttpClient/4.5.13 (Java/1.8.0_292)\r\n"
    "Accept: */*\r\n"
    "Connection: keep-alive\r\n"
    "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
    "Content-Length: " +
    std::to_string(kBody.size()) + "\r\n\r\n" + kBody;

const std::string kQuery =
    "method=synchronizeUser&servicecode=app1&time=20240101120000"
    "&sign=0123456789abcdef0123456789abcdef&username=%E5%BC%A0%E4%B8%89"
    "&orgname=%E6%B5%99%E6%B1%9F%E7%9C%81%E4%BA%BA%E6%B0%91%E6%94%BF%E5%BA%9C&datatype=json";

void BM_CopyRequestBytes(benchmark::State& state) {
  std::string copy;
  for (auto _ : state) {
    copy.assign(kRequest);
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_CopyRequestBytes);

// What a keep-alive connection does per request: Begin, Feed, Finish, with
// the Request's storage reused.
void BM_ParseRequestReused(benchmark::State& state) {
  Request request;
  RequestParser parser(request, 16 * 1024, 1024 * 1024);
  parser.SetPeer("10.1.2.3");
  TrustedProxies nobody;
  for (auto _ : state) {
    parser.Begin();
    RequestParser::State s;
    parser.Feed(kRequest, s);
    if (s != RequestParser::State::kDone || !parser.Finish(nobody).ok()) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(request.params().size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseRequestReused);

void BM_ParseQueryIntoReused(benchmark::State& state) {
  Params params;
  for (auto _ : state) {
    params.Clear();
    if (!ParseQueryInto(kQuery, ParamSource::kQuery, params).ok()) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(params.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kQuery.size()));
}
BENCHMARK(BM_ParseQueryIntoReused);

void BM_ParamsGet(benchmark::State& state) {
  auto params = ParseQuery(kQuery);
  for (auto _ : state) benchmark::DoNotOptimize(params->Get("datatype"));
}
BENCHMARK(BM_ParamsGet);

void BM_RouterFind(benchmark::State& state) {
  Router router;
  Handler noop = [](const Request&, Response&) {};
  for (const char* p : {"/healthz", "/metrics", "/sso/servlet/simpleauth", "/sso/servlet/ssoauth",
                        "/sso/servlet/organduser", "/sso/usp.do", "/sso/js.do",
                        "/sso/cas/serviceValidate", "/sso/cas/p3/serviceValidate"}) {
    router.Add("*", p, noop);
  }
  router.AddPrefix("GET", "/static/", noop);
  router.AddPrefix("GET", "/sso/oidc/", noop);
  for (auto _ : state) {
    benchmark::DoNotOptimize(router.Find("POST", "/sso/servlet/simpleauth"));
    benchmark::DoNotOptimize(router.Find("GET", "/static/css/site.css"));
  }
}
BENCHMARK(BM_RouterFind);

void BM_MetricsObserve(benchmark::State& state) {
  static Metrics metrics;
  Metrics::Series* series = metrics.Register("/sso/servlet/simpleauth");
  unsigned shard = static_cast<unsigned>(state.thread_index());
  for (auto _ : state) metrics.Observe(series, 200, std::chrono::microseconds(180), shard);
}
BENCHMARK(BM_MetricsObserve)->Threads(1)->Threads(2);

void BM_UrlEncode(benchmark::State& state) {
  const std::string url = "http://app.example.gov.cn/portal/index.jsp?from=sso&lang=zh_CN";
  for (auto _ : state) benchmark::DoNotOptimize(UrlEncode(url));
}
BENCHMARK(BM_UrlEncode);

}  // namespace
}  // namespace tongban::http
