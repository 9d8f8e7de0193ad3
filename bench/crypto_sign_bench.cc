// Cost of checking a request's sign, run on every SSO call. Build optimised
// and compare each VerifySign against the baseline in the same run: a raw
// one-shot MD5 of the same bytes through EVP_Digest with implicit fetch, the
// way naive OpenSSL 3 code would do it.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <string>

#include "crypto/sign.h"

namespace tongban::crypto {
namespace {

const std::string kServicecode = "zjzwfw-app-0001";
const std::string kServicepwd = "a1b2c3d4e5f6g7h8";
const std::string kTime = "20240601120000";

void BM_BaselineMd5EvpDigestImplicitFetch(benchmark::State& state) {
  const std::string message = kServicecode + kServicepwd + kTime;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : state) {
    EVP_Digest(message.data(), message.size(), out, &len, EVP_md5(), nullptr);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_BaselineMd5EvpDigestImplicitFetch);

void BM_VerifySign(benchmark::State& state, SignType type) {
  const std::string sign = ComputeSign(type, kServicecode, kServicepwd, kTime);
  for (auto _ : state) {
    bool ok = VerifySign(type, kServicecode, kServicepwd, kTime, sign);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK_CAPTURE(BM_VerifySign, Md5, SignType::kMd5);
BENCHMARK_CAPTURE(BM_VerifySign, Sm3, SignType::kSm3);
BENCHMARK_CAPTURE(BM_VerifySign, HmacSha256, SignType::kHmacSha256);

void BM_VerifySignRejectsForgery(benchmark::State& state) {
  const std::string forged(32, '0');
  for (auto _ : state) {
    bool ok = VerifySign(SignType::kMd5, kServicecode, kServicepwd, kTime, forged);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_VerifySignRejectsForgery);

void BM_ComputeSignMd5(benchmark::State& state) {
  for (auto _ : state) {
    std::string sign = ComputeSign(SignType::kMd5, kServicecode, kServicepwd, kTime);
    benchmark::DoNotOptimize(sign);
  }
}
BENCHMARK(BM_ComputeSignMd5);

}  // namespace
}  // namespace tongban::crypto
